"""xGen-MM (BLIP-3): linvt-hf's transformers port (`configuration_xgenmm`, `modeling_xgenmm`, model type `xgenmm`,
registered with the Auto classes on import) and the LinVT family on it (`linvt`)."""

from transformers import AutoConfig, AutoModel, AutoModelForImageTextToText

from .configuration_xgenmm import XGenMMConfig
from .linvt import (
    XGENMM_VIDEO_TOKEN,
    LinVTXGenMMConfig,
    LinVTXGenMMForConditionalGeneration,
    LinVTXGenMMModel,
    tiny_image_llm_config,
)
from .modeling_xgenmm import XGenMMForConditionalGeneration, XGenMMModel, XGenMMPreTrainedModel

AutoConfig.register(XGenMMConfig.model_type, XGenMMConfig, exist_ok=True)
AutoModel.register(XGenMMConfig, XGenMMModel, exist_ok=True)
AutoModelForImageTextToText.register(XGenMMConfig, XGenMMForConditionalGeneration, exist_ok=True)

__all__ = [
    "XGENMM_VIDEO_TOKEN",
    "LinVTXGenMMConfig",
    "LinVTXGenMMForConditionalGeneration",
    "LinVTXGenMMModel",
    "XGenMMConfig",
    "XGenMMForConditionalGeneration",
    "XGenMMModel",
    "XGenMMPreTrainedModel",
    "tiny_image_llm_config",
]
