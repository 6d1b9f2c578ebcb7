"""The LinVT processor of InternVL: InternVL's processor plus LinVT's video processing.

Frames are resized to InternVL's base tile (no tiling) and given as images; InternVL's chat template writes a bare
`<video>`, which LinVT expands to `num_video_tokens` `<video>` tokens inside the `<img>` ... `</img>` markers the LLM
knows (InternVL's `<video>` token is the placeholder, so video positions stay distinct from image positions).
"""

from __future__ import annotations

from typing import Any

from transformers import GotOcr2ImageProcessorPil, InternVLProcessor

from .processor import DEFAULT_NUM_VIDEO_TOKENS, LinVTProcessorMixin
from .video_processor import FrameLayout, LinVTVideoProcessor


class LinVTInternVLProcessor(LinVTProcessorMixin, InternVLProcessor):
    r"""
    InternVL's processor with LinVT's video processing (see `LinVTProcessorMixin` for the outputs).

    Args:
        image_processor, tokenizer, chat_template, image_seq_length: InternVL's.
        video_processor (`LinVTVideoProcessor`, *optional*): built from the image processor when None.
        num_video_tokens (`int`, defaults to 112): video tokens per video.
        video_tokens_per_frame (`int`, *optional*): for the baseline tokenizers, tokens per time step instead.
    """

    frame_layout = FrameLayout(resize="fixed", output="frames")
    dropped_image_outputs = ("num_patches",)

    def __init__(
        self,
        image_processor: Any = None,
        tokenizer: Any = None,
        video_processor: LinVTVideoProcessor | None = None,
        image_seq_length: int = 256,
        chat_template: str | None = None,
        num_video_tokens: int = DEFAULT_NUM_VIDEO_TOKENS,
        video_tokens_per_frame: int | None = None,
        **kwargs: Any,
    ) -> None:
        # The image-LLM processor's own arguments are listed above so that `save_pretrained` keeps them.
        super().__init__(
            image_processor,
            tokenizer,
            video_processor,
            chat_template=chat_template,
            num_video_tokens=num_video_tokens,
            video_tokens_per_frame=video_tokens_per_frame,
            image_seq_length=image_seq_length,
            **kwargs,
        )

    def video_replacement(self, count: int) -> str:
        return f"{self.start_image_token}{self.video_token * count}{self.end_image_token}"


INTERNVL_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' }}"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' %}{{ '<IMG_CONTEXT>\n' }}"
    "{% elif content['type'] == 'video' %}{{ '<video>\n' }}"
    "{% elif content['type'] == 'text' %}{{ content['text'] }}"
    "{% endif %}{% endfor %}{% endif %}"
    "{{ '<|im_end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def tiny_processor_parts() -> dict[str, Any]:
    """What an InternVL processor at toy sizes needs besides its tokenizer (for tests): 56x56 tiles, 4x4 patches of
    14, pixel shuffle 0.5 -> 4 tokens per tile (`image_seq_length=4`)."""
    named = {"start_image_token": "<img>", "end_image_token": "</img>", "context_image_token": "<IMG_CONTEXT>",
             "video_token": "<video>"}
    return dict(
        image_processor=GotOcr2ImageProcessorPil(
            size={"height": 56, "width": 56}, crop_to_patches=False, min_patches=1, max_patches=4,
            image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225],
        ),
        chat_template=INTERNVL_CHAT_TEMPLATE,
        special_tokens=tuple(named.values()),
        named_tokens=named,
        init_kwargs={"image_seq_length": 4},
    )


__all__ = ["LinVTInternVLProcessor"]
