"""Registration of linvt-hf's classes with transformers (run on `import linvt_hf`).

After it, the Auto classes load saved LinVT models, processors and video tokenizers by their model type with no
`trust_remote_code` (each family: `linvt_hf.families`), linvt-hf 0.1's saved processors still load through
`AutoProcessor` (`"processor_class": "LinVTProcessor"`), and `transformers.pipeline` knows the
"video-question-answering" and "video-text-to-text" tasks.
"""

from __future__ import annotations

from transformers import AutoConfig, AutoModel, AutoProcessor

from .families import register_families
from .modeling import LinVTConfig, LinearVideoTokenizer
from .pipelines import register_pipelines
from .processing import LinVTProcessor


def register_auto_classes() -> None:
    """Register every LinVT class; safe to call more than once."""
    AutoConfig.register(LinVTConfig.model_type, LinVTConfig, exist_ok=True)
    AutoModel.register(LinVTConfig, LinearVideoTokenizer, exist_ok=True)  # a saved video tokenizer
    # linvt-hf 0.1 saved every family's processor as "LinVTProcessor"; `LinVTProcessor.from_pretrained` reads them.
    AutoProcessor.register(LinVTConfig, LinVTProcessor, exist_ok=True)
    register_families()
    register_pipelines()  # pipeline("video-question-answering" | "video-text-to-text", model=...)
