"""The LinVT processor of SmolVLM / SmolVLM2: SmolVLM's processor plus LinVT's video processing.

Frames are resized to SmolVLM's `max_image_size` square (its global image view, no tiling) and given as images. A
video expands to `num_video_tokens` `<video>` tokens inside the markers SmolVLM puts around an image
(`<fake_token_around_image><global-img>` ... `<fake_token_around_image>`), instead of SmolVLM's own video prompt (an
intro line and every frame as an image with its timestamp). SmolVLM's tokenizers may lack a `<video>` token: the
processor then adds it as a special token to a copy of its tokenizer (its id is the tokenizer's former length, which
the model's `from_backbone` reads the same way). transformers' SmolVLMProcessor requires the `num2words` package.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from transformers import SmolVLMImageProcessorPil, SmolVLMProcessor
from transformers.image_utils import make_flat_list_of_images

from .processor import DEFAULT_NUM_VIDEO_TOKENS, ChatTurns, LinVTProcessorMixin, with_video_token
from .video_processor import FrameLayout, LinVTVideoProcessor

SMOLVLM_VIDEO_TOKEN = "<video>"


class LinVTSmolVLMProcessor(LinVTProcessorMixin, SmolVLMProcessor):
    r"""
    SmolVLM's processor with LinVT's video processing (see `LinVTProcessorMixin` for the outputs).

    Args:
        image_processor, tokenizer, chat_template, image_seq_len: SmolVLM's.
        video_processor (`LinVTVideoProcessor`, *optional*): built from the image processor when None.
        num_video_tokens (`int`, defaults to 112): video tokens per video.
        video_tokens_per_frame (`int`, *optional*): for the baseline tokenizers, tokens per time step instead.
    """

    frame_layout = FrameLayout(resize="fixed", output="frames", square_size_key="max_image_size")
    # SmolVLM's conversation format: "<|im_start|>User: ...<end_of_utterance>\nAssistant: ...".
    chat_turns = ChatTurns(turn_start="User:", user_role="", turn_end="<end_of_utterance>")

    def __init__(
        self,
        image_processor: Any = None,
        tokenizer: Any = None,
        video_processor: LinVTVideoProcessor | None = None,
        image_seq_len: int = 169,
        chat_template: str | None = None,
        num_video_tokens: int = DEFAULT_NUM_VIDEO_TOKENS,
        video_tokens_per_frame: int | None = None,
        **kwargs: Any,
    ) -> None:
        # The image-LLM processor's own arguments are listed above so that `save_pretrained` keeps them.
        tokenizer = with_video_token(tokenizer, getattr(tokenizer, "video_token", None) or SMOLVLM_VIDEO_TOKEN)
        super().__init__(
            image_processor,
            tokenizer,
            video_processor,
            chat_template=chat_template,
            num_video_tokens=num_video_tokens,
            video_tokens_per_frame=video_tokens_per_frame,
            image_seq_len=image_seq_len,
            **kwargs,
        )

    def __call__(
        self, images: Any = None, text: str | list[str] | None = None, videos: Any = None, **kwargs: Any
    ) -> Any:
        """`LinVTProcessorMixin.__call__`, with the images grouped by prompt as SmolVLM's image processor takes them
        (its `pixel_values` are `[prompts, max images per prompt, 3, S, S]`): images given as one list, in
        placeholder order across the batch, go to the prompts whose `<image>` placeholders they fill."""
        if images is not None and text is not None:
            images = self.images_by_prompt(images, [text] if isinstance(text, str) else list(text))
        return super().__call__(images=images, text=text, videos=videos, **kwargs)

    def images_by_prompt(self, images: Any, texts: list[Any]) -> Any:
        """`images` as one list per prompt of `texts`, by their `<image>` counts; as given when the counts do not add
        up (the placeholder check then names the mismatch)."""
        flat = make_flat_list_of_images(self.image_processor.fetch_images(images))
        counts = [sample.count(self.image_token) if isinstance(sample, str) else 0 for sample in texts]
        if sum(counts) != len(flat):
            return images
        starts = np.cumsum([0, *counts])
        return [list(flat[start:end]) for start, end in zip(starts[:-1], starts[1:])]

    def video_replacement(self, count: int) -> str:
        return f"{self.fake_image_token}{self.global_image_token}{self.video_token * count}{self.fake_image_token}"


# SmolVLM2's chat template, with videos (transformers' `DEFAULT_CHAT_TEMPLATE` of processing_smolvlm, 5.25).
SMOLVLM_CHAT_TEMPLATE = (
    "<|im_start|>{% for message in messages %}{{message['role'] | capitalize}}"
    "{% if message['content'] is string %}{{': ' + message['content']}}"
    "{% else %}{% if message['content'][0]['type'] == 'image' %}{{':'}}{% else %}{{': '}}{% endif %}"
    "{% for line in message['content'] %}{% if line['type'] == 'text' %}{{line['text']}}"
    "{% elif line['type'] == 'image' %}{{ '<image>' }}{% elif line['type'] == 'video' %}{{ '<video>' }}{% endif %}"
    "{% endfor %}{% endif %}<end_of_utterance>\n{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}"
)


def tiny_processor_parts() -> dict[str, Any]:
    """What a SmolVLM processor at toy sizes needs besides its tokenizer (for tests): images resized to at most 64
    pixels and tiled into 32x32 crops plus the 32x32 global view, 4 tokens each (`image_seq_len=4`)."""
    rows_cols = tuple(f"<row_{r}_col_{c}>" for r in range(1, 4) for c in range(1, 4))
    return dict(
        image_processor=SmolVLMImageProcessorPil(
            size={"longest_edge": 64}, max_image_size={"longest_edge": 32}, do_image_splitting=True,
            image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5],
        ),
        chat_template=SMOLVLM_CHAT_TEMPLATE,
        special_tokens=("<fake_token_around_image>", "<image>", "<global-img>", "<end_of_utterance>",
                        SMOLVLM_VIDEO_TOKEN, *rows_cols),
        named_tokens={},
        init_kwargs={"image_seq_len": 4},
    )


__all__ = ["LinVTSmolVLMProcessor"]
