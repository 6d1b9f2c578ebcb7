"""The LinVT processors of Qwen2-VL and Qwen2.5-VL: Qwen's processors plus LinVT's video processing.

Frames are resized as Qwen resizes an image (`smart_resize` within its pixel budget) and laid out as Qwen's video
patches (temporal patches of two frames, `video_grid_thw`); Qwen's chat template writes the vision markers around
the video placeholder, so a video expands to `num_video_tokens` `<|video_pad|>` tokens.
"""

from __future__ import annotations

from typing import Any

from transformers import Qwen2_5_VLProcessor, Qwen2VLImageProcessorPil, Qwen2VLProcessor

from .processor import LinVTProcessorMixin
from .video_processor import QWEN_PATCH_KEYS, FrameLayout

QWEN_FRAME_LAYOUT = FrameLayout(
    resize="smart", output="patches", image_processor_keys=FrameLayout.image_processor_keys + QWEN_PATCH_KEYS
)


class LinVTQwen2VLProcessor(LinVTProcessorMixin, Qwen2VLProcessor):
    r"""
    Qwen2-VL's processor with LinVT's video processing (see `LinVTProcessorMixin` for the outputs).

    Args:
        image_processor, tokenizer, chat_template: Qwen2-VL's.
        video_processor (`LinVTVideoProcessor`, *optional*): built from the image processor when None.
        num_video_tokens (`int`, defaults to 112): video tokens per video.
        video_tokens_per_frame (`int`, *optional*): for the baseline tokenizers, tokens per time step instead.
    """

    frame_layout = QWEN_FRAME_LAYOUT


class LinVTQwen2_5_VLProcessor(LinVTProcessorMixin, Qwen2_5_VLProcessor):
    r"""Qwen2.5-VL's processor with LinVT's video processing (as `LinVTQwen2VLProcessor`)."""

    frame_layout = QWEN_FRAME_LAYOUT


QWEN_CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}"
    "{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}"
    "{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}"
    "{% endif %}{% endfor %}<|im_end|>\n"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def tiny_processor_parts() -> dict[str, Any]:
    """What a Qwen2-VL processor at toy sizes needs besides its tokenizer (for tests): 14-pixel patches merged 2x2,
    at most 3x3 merged tokens per image (or per temporal patch of a video)."""
    return dict(
        image_processor=Qwen2VLImageProcessorPil(min_pixels=28 * 28, max_pixels=84 * 84, patch_size=14, merge_size=2),
        chat_template=QWEN_CHAT_TEMPLATE,
        special_tokens=("<|vision_start|>", "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>"),
        named_tokens={},
        init_kwargs={},
    )


__all__ = ["LinVTQwen2VLProcessor", "LinVTQwen2_5_VLProcessor"]
