"""The video tokenizers: LinVT (SVR -> TTA -> convex weights over the raw tokens, paper Sec. 3.2) and the paper's
baselines, behind one interface and one registry keyed by `LinVTConfig.video_tokenizer_type`.

- `svr.py`: SVR (significance scoring, top-k selection) and `mtp.py`: MTP, multi-scale token pooling.
- `tta.py`: TTA (scale-specific query sets, the question condition, the linear aggregation layer).
- `multiscale.py`: single / Multi-A / Multi-B / Multi-C, how scales map to query sets.
- `temporal_prior.py`: the temporal prior and its clocks.
- `baselines.py`: `AverageVideoTokenizer` ("avg"), `LlamaVidVideoTokenizer` ("llama_vid").
- `context.py`: `VideoTokenizerContext`, what a tokenizer computes before it reads the question.
- `registry.py`: `VIDEO_TOKENIZERS`, `register_video_tokenizer`, `build_video_tokenizer`, `video_tokenizer_class`.
- `conversion.py`: loading weights saved under linvt-hf 0.1's parameter names.
"""

from .base import VideoTokenizer, init_video_tokenizer_weights
from .context import VideoTokenizerContext
from .baselines import AverageVideoTokenizer, LlamaVidVideoTokenizer
from .conversion import LEGACY_STATE_DICT_RENAMES, convert_legacy_state_dict, legacy_renames
from .linear_video_tokenizer import LinearVideoTokenizer
from .outputs import LinearVideoTokenizerOutput
from .registry import VIDEO_TOKENIZERS, build_video_tokenizer, register_video_tokenizer, video_tokenizer_class
from .svr import SVR, SVROutput
from .tta import TTA

__all__ = [
    "LEGACY_STATE_DICT_RENAMES",
    "SVR",
    "SVROutput",
    "TTA",
    "VIDEO_TOKENIZERS",
    "AverageVideoTokenizer",
    "LinearVideoTokenizer",
    "LinearVideoTokenizerOutput",
    "LlamaVidVideoTokenizer",
    "VideoTokenizer",
    "VideoTokenizerContext",
    "build_video_tokenizer",
    "convert_legacy_state_dict",
    "init_video_tokenizer_weights",
    "legacy_renames",
    "register_video_tokenizer",
    "video_tokenizer_class",
]
