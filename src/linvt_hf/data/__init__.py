"""Data: the synthetic video QA set (and, with training, loaders for instruction data)."""

from .synthetic import (
    FRAME_QUESTIONS,
    IMAGE_TYPES,
    SINGLE_FRAME_TYPES,
    TIME_ONLY_TYPES,
    FrameState,
    VideoSpec,
    frame_states,
    generate_synthetic_video_qa,
)

__all__ = [
    "FRAME_QUESTIONS",
    "IMAGE_TYPES",
    "SINGLE_FRAME_TYPES",
    "TIME_ONLY_TYPES",
    "FrameState",
    "VideoSpec",
    "frame_states",
    "generate_synthetic_video_qa",
]
