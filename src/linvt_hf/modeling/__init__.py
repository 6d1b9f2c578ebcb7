"""Models: the Linear Video Tokenizer and the LinVT-wrapped image-LLM families."""

from .auto import LINVT_MODEL_CLASSES, linvt_class_for
from .configuration_linvt import LinVTConfig, LinVTImageLLMConfig
from .internvl import LinVTInternVLConfig, LinVTInternVLForConditionalGeneration
from .llava_onevision import LinVTLlavaOnevisionConfig, LinVTLlavaOnevisionForConditionalGeneration
from .modeling_linvt import LinVTCausalLMOutputWithPast, LinVTForConditionalGeneration, LinVTPreTrainedModel
from .qwen2_vl import (
    LinVTQwen2_5_VLConfig,
    LinVTQwen2_5_VLForConditionalGeneration,
    LinVTQwen2VLConfig,
    LinVTQwen2VLForConditionalGeneration,
)
from .tokenizer import LinearVideoTokenizer, LinearVideoTokenizerOutput

__all__ = [
    "LINVT_MODEL_CLASSES",
    "LinVTCausalLMOutputWithPast",
    "LinVTConfig",
    "LinVTForConditionalGeneration",
    "LinVTImageLLMConfig",
    "LinVTInternVLConfig",
    "LinVTInternVLForConditionalGeneration",
    "LinVTLlavaOnevisionConfig",
    "LinVTLlavaOnevisionForConditionalGeneration",
    "LinVTPreTrainedModel",
    "LinVTQwen2VLConfig",
    "LinVTQwen2VLForConditionalGeneration",
    "LinVTQwen2_5_VLConfig",
    "LinVTQwen2_5_VLForConditionalGeneration",
    "LinearVideoTokenizer",
    "LinearVideoTokenizerOutput",
    "linvt_class_for",
]
