"""The LinVT processor of Qwen3-VL: Qwen3-VL's processor plus LinVT's video processing.

Frames are resized as Qwen3-VL resizes an image (`smart_resize`, 16-pixel patches merged 2x2) and laid out as its
video patches (temporal patches of two frames, `video_grid_thw`), as for Qwen2-VL. Qwen3-VL's own video prompt writes
a timestamp and vision markers per temporal patch; LinVT's video tokens are a summary of the whole video, so a video
expands to `num_video_tokens` `<|video_pad|>` tokens inside the one pair of vision markers its chat template writes.
"""

from __future__ import annotations

from typing import Any

from transformers import Qwen2VLImageProcessorPil, Qwen3VLProcessor
from transformers.processing_utils import ProcessorMixin

from .processor import LinVTProcessorMixin
from .qwen2_vl import QWEN_CHAT_TEMPLATE, QWEN_FRAME_LAYOUT


class LinVTQwen3VLProcessor(LinVTProcessorMixin, Qwen3VLProcessor):
    r"""
    Qwen3-VL's processor with LinVT's video processing (see `LinVTProcessorMixin` for the outputs).

    Args:
        image_processor, tokenizer, chat_template: Qwen3-VL's.
        video_processor (`LinVTVideoProcessor`, *optional*): built from the image processor when None.
        num_video_tokens (`int`, defaults to 112): video tokens per video.
        video_tokens_per_frame (`int`, *optional*): for the baseline tokenizers, tokens per time step instead.
    """

    frame_layout = QWEN_FRAME_LAYOUT

    def get_text_with_replacements(
        self,
        text: list[str],
        images_replacements: list[str] = (),
        videos_replacements: list[str] = (),
        audio_replacements: list[str] = (),
    ) -> tuple[list[str], list[dict[str, Any]]]:
        """`ProcessorMixin`'s placeholder expansion. (Qwen3-VL's own, from transformers 5.25 on, first folds the chat
        template's `<|vision_start|><|video_pad|><|vision_end|>` into a bare `<|video_pad|>`, because its per-patch
        video prompt writes markers itself; LinVT's tokens stay inside the template's markers, on every release.)"""
        return ProcessorMixin.get_text_with_replacements(
            self, text, list(images_replacements), list(videos_replacements), list(audio_replacements)
        )


def tiny_processor_parts() -> dict[str, Any]:
    """What a Qwen3-VL processor at toy sizes needs besides its tokenizer (for tests): 16-pixel patches merged 2x2,
    at most 2x2 merged tokens per image (or per temporal patch of a video)."""
    return dict(
        image_processor=Qwen2VLImageProcessorPil(
            min_pixels=32 * 32, max_pixels=64 * 64, patch_size=16, merge_size=2,
            image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5],
        ),
        chat_template=QWEN_CHAT_TEMPLATE,
        special_tokens=("<|vision_start|>", "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>"),
        named_tokens={},
        init_kwargs={},
    )


__all__ = ["LinVTQwen3VLProcessor"]
