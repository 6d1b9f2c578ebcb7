"""Data: the synthetic video QA set (and, with training, loaders for instruction data)."""

from .synthetic import SINGLE_FRAME_TYPES, TIME_ONLY_TYPES, VideoSpec, generate_synthetic_video_qa

__all__ = ["SINGLE_FRAME_TYPES", "TIME_ONLY_TYPES", "VideoSpec", "generate_synthetic_video_qa"]
