"""The LinVT processor of LLaVA-OneVision (and Aquila-VL): its processor plus LinVT's video processing.

Frames are resized to the base resolution (no anyres patches) and given as images; a video expands to
`num_video_tokens` `<video>` tokens.
"""

from __future__ import annotations

from typing import Any

from transformers import LlavaOnevisionImageProcessorPil, LlavaOnevisionProcessor
from transformers.image_utils import IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD

from .processor import DEFAULT_NUM_VIDEO_TOKENS, LinVTProcessorMixin
from .video_processor import FrameLayout, LinVTVideoProcessor


class LinVTLlavaOnevisionProcessor(LinVTProcessorMixin, LlavaOnevisionProcessor):
    r"""
    LLaVA-OneVision's processor with LinVT's video processing (see `LinVTProcessorMixin` for the outputs).

    Args:
        image_processor, tokenizer, chat_template, num_image_tokens, vision_feature_select_strategy, image_token,
            video_token, vision_aspect_ratio: LLaVA-OneVision's.
        video_processor (`LinVTVideoProcessor`, *optional*): built from the image processor when None.
        num_video_tokens (`int`, defaults to 112): video tokens per video.
        video_tokens_per_frame (`int`, *optional*): for the baseline tokenizers, tokens per time step instead.
    """

    frame_layout = FrameLayout(resize="fixed", output="frames")

    def __init__(
        self,
        image_processor: Any = None,
        tokenizer: Any = None,
        video_processor: LinVTVideoProcessor | None = None,
        num_image_tokens: int | None = None,
        vision_feature_select_strategy: str | None = None,
        chat_template: str | None = None,
        image_token: str = "<image>",
        video_token: str = "<video>",
        vision_aspect_ratio: str = "anyres_max_9",
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
            num_image_tokens=num_image_tokens,
            vision_feature_select_strategy=vision_feature_select_strategy,
            image_token=image_token,
            video_token=video_token,
            vision_aspect_ratio=vision_aspect_ratio,
            **kwargs,
        )


LLAVA_ONEVISION_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + ' ' }}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}{{ '<image>' }}{% endfor %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'video') %}{{ '<video>' }}{% endfor %}"
    "{% if message['role'] != 'assistant' %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ '\n' + content['text'] }}"
    "{% endfor %}"
    "{% else %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}"
    "{% generation %}{{ '\n' + content['text'] }}{% endgeneration %}{% endfor %}"
    "{% endif %}"
    "{{ '<|im_end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def tiny_processor_parts() -> dict[str, Any]:
    """What a LLaVA-OneVision processor at toy sizes needs besides its tokenizer (for tests): 28x28 base
    resolution, 2x2 patches of 14 -> 4 tokens per image patch (`num_image_tokens=4`)."""
    named = {"image_token": "<image>", "video_token": "<video>"}
    return dict(
        image_processor=LlavaOnevisionImageProcessorPil(
            size={"height": 28, "width": 28}, image_grid_pinpoints=[[28, 28], [28, 56], [56, 28], [56, 56]],
            image_mean=IMAGENET_STANDARD_MEAN, image_std=IMAGENET_STANDARD_STD,
        ),
        chat_template=LLAVA_ONEVISION_CHAT_TEMPLATE,
        special_tokens=tuple(named.values()),
        named_tokens=named,
        init_kwargs={"num_image_tokens": 4, "vision_feature_select_strategy": "full"},
    )


__all__ = ["LinVTLlavaOnevisionProcessor"]
