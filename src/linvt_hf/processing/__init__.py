"""Video input: decoding and frame sampling, shot segmentation (AutoShot), the video processor, and each family's
LinVT processor (extending the image-LLM's own processor).

Nothing here imports linvt_hf.modeling.
"""

from .autoshot import AutoShot, UntrustedWeightsError, find_autoshot_weights
from .errors import VideoDecodeError
from .internvl import LinVTInternVLProcessor
from .llava import LLAVA_CHAT_TEMPLATE, LinVTLlavaProcessor
from .llava_onevision import LinVTLlavaOnevisionProcessor
from .molmo import MOLMO_CHAT_TEMPLATE, LinVTMolmoProcessor, MolmoImageProcessor, MolmoProcessor
from .molmo2 import LinVTMolmo2ImageProcessor, LinVTMolmo2Processor
from .processor import LinVTProcessor, LinVTProcessorMixin
from .qwen2_vl import LinVTQwen2_5_VLProcessor, LinVTQwen2VLProcessor
from .qwen3_vl import LinVTQwen3VLProcessor
from .sampling import sample_frame_indices
from .shot_cache import ShotCache, clear_shot_cache
from .shots import ShotDetection, ShotDetector, detect_shots, shot_ids
from .smolvlm import LinVTSmolVLMProcessor
from .video_io import DecodedVideo, VideoMetadata, load_video, probe_video, stream_video
from .video_processor import LinVTVideoOptions, LinVTVideoProcessor
from .xgenmm import XGENMM_CHAT_TEMPLATE, LinVTXGenMMProcessor, XGenMMProcessor

__all__ = [
    "LLAVA_CHAT_TEMPLATE",
    "AutoShot",
    "DecodedVideo",
    "LinVTInternVLProcessor",
    "LinVTLlavaOnevisionProcessor",
    "LinVTLlavaProcessor",
    "LinVTProcessor",
    "LinVTProcessorMixin",
    "LinVTQwen2VLProcessor",
    "LinVTQwen2_5_VLProcessor",
    "LinVTQwen3VLProcessor",
    "LinVTMolmoProcessor",
    "LinVTMolmo2ImageProcessor",
    "LinVTMolmo2Processor",
    "LinVTSmolVLMProcessor",
    "LinVTVideoOptions",
    "LinVTVideoProcessor",
    "LinVTXGenMMProcessor",
    "ShotCache",
    "ShotDetection",
    "ShotDetector",
    "UntrustedWeightsError",
    "VideoDecodeError",
    "VideoMetadata",
    "MOLMO_CHAT_TEMPLATE",
    "MolmoImageProcessor",
    "MolmoProcessor",
    "XGENMM_CHAT_TEMPLATE",
    "XGenMMProcessor",
    "clear_shot_cache",
    "detect_shots",
    "find_autoshot_weights",
    "load_video",
    "probe_video",
    "sample_frame_indices",
    "shot_ids",
    "stream_video",
]
