"""linvt-hf: the Linear Video Tokenizer (LinVT, arXiv 2412.05185) for Hugging Face transformers.

Importing the package registers its classes with transformers' Auto classes.
"""

from .modeling import LinearVideoTokenizer, LinearVideoTokenizerOutput, LinVTConfig
from .processing import (
    AutoShot,
    DecodedVideo,
    LinVTProcessor,
    LinVTVideoProcessor,
    ShotDetection,
    ShotDetector,
    VideoDecodeError,
    VideoMetadata,
    detect_shots,
    load_video,
    probe_video,
    register_processor_auto_classes,
    sample_frame_indices,
    stream_video,
)

__version__ = "0.1.0"

register_processor_auto_classes()

__all__ = [
    "AutoShot",
    "DecodedVideo",
    "LinVTConfig",
    "LinVTProcessor",
    "LinVTVideoProcessor",
    "LinearVideoTokenizer",
    "LinearVideoTokenizerOutput",
    "ShotDetection",
    "ShotDetector",
    "VideoDecodeError",
    "VideoMetadata",
    "detect_shots",
    "load_video",
    "probe_video",
    "sample_frame_indices",
    "stream_video",
]
