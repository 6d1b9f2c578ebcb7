"""linvt-hf: the Linear Video Tokenizer (LinVT, arXiv 2412.05185) for Hugging Face transformers.

Importing the package registers its classes with transformers' Auto classes.
"""

from .modeling import (
    LinearVideoTokenizer,
    LinearVideoTokenizerOutput,
    LinVTConfig,
    LinVTForConditionalGeneration,
    LinVTImageLLMConfig,
    LinVTInternVLConfig,
    LinVTInternVLForConditionalGeneration,
    LinVTLlavaOnevisionConfig,
    LinVTLlavaOnevisionForConditionalGeneration,
    LinVTQwen2_5_VLConfig,
    LinVTQwen2_5_VLForConditionalGeneration,
    LinVTQwen2VLConfig,
    LinVTQwen2VLForConditionalGeneration,
)
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
    sample_frame_indices,
    stream_video,
)

from . import assets  # noqa: F401  (linvt_hf.assets.demo_model_path(), as the demo model card writes it)
from .assets import demo_model_path
from .registration import register_auto_classes

__version__ = "0.1.0"

register_auto_classes()

__all__ = [
    "AutoShot",
    "DecodedVideo",
    "LinVTConfig",
    "LinVTForConditionalGeneration",
    "LinVTImageLLMConfig",
    "LinVTInternVLConfig",
    "LinVTInternVLForConditionalGeneration",
    "LinVTLlavaOnevisionConfig",
    "LinVTLlavaOnevisionForConditionalGeneration",
    "LinVTQwen2VLConfig",
    "LinVTQwen2VLForConditionalGeneration",
    "LinVTQwen2_5_VLConfig",
    "LinVTQwen2_5_VLForConditionalGeneration",
    "LinVTProcessor",
    "LinVTVideoProcessor",
    "LinearVideoTokenizer",
    "LinearVideoTokenizerOutput",
    "ShotDetection",
    "ShotDetector",
    "VideoDecodeError",
    "VideoMetadata",
    "demo_model_path",
    "detect_shots",
    "load_video",
    "probe_video",
    "sample_frame_indices",
    "stream_video",
]
