"""Registration of linvt-hf's classes with transformers' Auto classes (run on `import linvt_hf`).

After it, `AutoConfig`, `AutoModel`, `AutoModelForImageTextToText` and `AutoProcessor` load saved LinVT models and
processors by their model type, with no `trust_remote_code`, and `transformers.pipeline` knows the
"video-question-answering" and "video-text-to-text" tasks.
"""

from __future__ import annotations

from transformers import AutoConfig, AutoModel, AutoModelForImageTextToText

from .modeling import LinVTConfig
from .modeling.auto import LINVT_MODEL_CLASSES
from .pipelines import register_pipelines
from .processing import register_processor_auto_classes


def register_auto_classes() -> None:
    """Register every LinVT config, model and the processor; safe to call more than once."""
    AutoConfig.register(LinVTConfig.model_type, LinVTConfig, exist_ok=True)
    register_processor_auto_classes(LinVTConfig)
    for model_class in LINVT_MODEL_CLASSES.values():
        config_class = model_class.config_class
        AutoConfig.register(config_class.model_type, config_class, exist_ok=True)
        AutoModel.register(config_class, model_class, exist_ok=True)
        AutoModelForImageTextToText.register(config_class, model_class, exist_ok=True)
        register_processor_auto_classes(config_class)
    register_pipelines()  # pipeline("video-question-answering" | "video-text-to-text", model=...)
