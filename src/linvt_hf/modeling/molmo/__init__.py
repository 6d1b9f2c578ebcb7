"""Molmo (v1, allenai's Molmo-7B-D): linvt-hf's transformers port (`configuration_molmo`, `modeling_molmo`, model type
`molmo`, registered with the Auto classes on import) and the LinVT family on it (`linvt`)."""

from transformers import AutoConfig, AutoModel, AutoModelForImageTextToText

from .configuration_molmo import MolmoConfig
from .linvt import (
    MOLMO_VIDEO_TOKEN,
    LinVTMolmoConfig,
    LinVTMolmoForConditionalGeneration,
    LinVTMolmoModel,
    tiny_image_llm_config,
)
from .modeling_molmo import MolmoForConditionalGeneration, MolmoModel, MolmoPreTrainedModel

AutoConfig.register(MolmoConfig.model_type, MolmoConfig, exist_ok=True)
AutoModel.register(MolmoConfig, MolmoModel, exist_ok=True)
AutoModelForImageTextToText.register(MolmoConfig, MolmoForConditionalGeneration, exist_ok=True)

__all__ = [
    "MOLMO_VIDEO_TOKEN",
    "LinVTMolmoConfig",
    "LinVTMolmoForConditionalGeneration",
    "LinVTMolmoModel",
    "MolmoConfig",
    "MolmoForConditionalGeneration",
    "MolmoModel",
    "MolmoPreTrainedModel",
    "tiny_image_llm_config",
]
