"""Video input: decoding and frame sampling, shot segmentation (AutoShot) and the LinVT processor.

Nothing here imports linvt_hf.modeling.
"""

from .autoshot import AutoShot, find_autoshot_weights
from .errors import VideoDecodeError
from .processor import LinVTProcessor, register_processor_auto_classes
from .sampling import sample_frame_indices
from .shots import ShotDetection, ShotDetector, detect_shots, shot_ids
from .video_io import DecodedVideo, VideoMetadata, load_video, probe_video, stream_video
from .video_processor import LinVTVideoProcessor

__all__ = [
    "AutoShot",
    "DecodedVideo",
    "LinVTProcessor",
    "LinVTVideoProcessor",
    "ShotDetection",
    "ShotDetector",
    "VideoDecodeError",
    "VideoMetadata",
    "detect_shots",
    "find_autoshot_weights",
    "load_video",
    "probe_video",
    "register_processor_auto_classes",
    "sample_frame_indices",
    "shot_ids",
    "stream_video",
]
