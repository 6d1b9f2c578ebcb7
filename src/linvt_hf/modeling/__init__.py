"""Models: the video tokenizer (LinVT and the baselines) and the LinVT families, each extending its image-LLM's
transformers classes. Nothing here imports linvt_hf.processing."""

from .auto import linvt_class_for
from .configuration_family import LinVTImageLLMConfig
from .configuration_linvt import LinVTConfig
from .internvl import LinVTInternVLConfig, LinVTInternVLForConditionalGeneration, LinVTInternVLModel
from .llava import LinVTLlavaConfig, LinVTLlavaForConditionalGeneration, LinVTLlavaModel
from .llava_onevision import (
    LinVTLlavaOnevisionConfig,
    LinVTLlavaOnevisionForConditionalGeneration,
    LinVTLlavaOnevisionModel,
)
from .modeling_linvt import (
    LINVT_VIDEO_INPUTS,
    LinVTCausalLMOutputWithPast,
    LinVTForConditionalGeneration,
    LinVTModel,
    LinVTModelOutputWithPast,
    LinVTVideoFeatures,
)
from .qwen2_vl import (
    LinVTQwen2_5_VLConfig,
    LinVTQwen2_5_VLForConditionalGeneration,
    LinVTQwen2_5_VLModel,
    LinVTQwen2VLConfig,
    LinVTQwen2VLForConditionalGeneration,
    LinVTQwen2VLModel,
)
from .molmo import (
    LinVTMolmoConfig,
    LinVTMolmoForConditionalGeneration,
    LinVTMolmoModel,
    MolmoConfig,
    MolmoForConditionalGeneration,
    MolmoModel,
)
from .molmo2 import LinVTMolmo2Config, LinVTMolmo2ForConditionalGeneration, LinVTMolmo2Model
from .qwen3_vl import LinVTQwen3VLConfig, LinVTQwen3VLForConditionalGeneration, LinVTQwen3VLModel
from .qwen3_vl_moe import LinVTQwen3VLMoeConfig, LinVTQwen3VLMoeForConditionalGeneration, LinVTQwen3VLMoeModel
from .smolvlm import LinVTSmolVLMConfig, LinVTSmolVLMForConditionalGeneration, LinVTSmolVLMModel
from .video_context import LinVTVideoContext
from .xgenmm import (
    LinVTXGenMMConfig,
    LinVTXGenMMForConditionalGeneration,
    LinVTXGenMMModel,
    XGenMMConfig,
    XGenMMForConditionalGeneration,
    XGenMMModel,
)
from .video_tokenizer import (
    AverageVideoTokenizer,
    LinearVideoTokenizer,
    LinearVideoTokenizerOutput,
    LlamaVidVideoTokenizer,
    VideoTokenizer,
    VideoTokenizerContext,
    build_video_tokenizer,
    register_video_tokenizer,
)

__all__ = [
    "LINVT_VIDEO_INPUTS",
    "AverageVideoTokenizer",
    "LinVTCausalLMOutputWithPast",
    "LinVTConfig",
    "LinVTForConditionalGeneration",
    "LinVTImageLLMConfig",
    "LinVTInternVLConfig",
    "LinVTInternVLForConditionalGeneration",
    "LinVTInternVLModel",
    "LinVTLlavaConfig",
    "LinVTLlavaForConditionalGeneration",
    "LinVTLlavaModel",
    "LinVTLlavaOnevisionConfig",
    "LinVTLlavaOnevisionForConditionalGeneration",
    "LinVTLlavaOnevisionModel",
    "LinVTModel",
    "LinVTModelOutputWithPast",
    "LinVTQwen2VLConfig",
    "LinVTQwen2VLForConditionalGeneration",
    "LinVTQwen2VLModel",
    "LinVTQwen2_5_VLConfig",
    "LinVTQwen2_5_VLForConditionalGeneration",
    "LinVTQwen2_5_VLModel",
    "LinVTQwen3VLConfig",
    "LinVTQwen3VLForConditionalGeneration",
    "LinVTQwen3VLModel",
    "LinVTQwen3VLMoeConfig",
    "LinVTQwen3VLMoeForConditionalGeneration",
    "LinVTQwen3VLMoeModel",
    "LinVTMolmoConfig",
    "LinVTMolmoForConditionalGeneration",
    "LinVTMolmoModel",
    "LinVTMolmo2Config",
    "LinVTMolmo2ForConditionalGeneration",
    "LinVTMolmo2Model",
    "LinVTSmolVLMConfig",
    "LinVTSmolVLMForConditionalGeneration",
    "LinVTSmolVLMModel",
    "LinVTVideoContext",
    "LinVTVideoFeatures",
    "LinVTXGenMMConfig",
    "LinVTXGenMMForConditionalGeneration",
    "LinVTXGenMMModel",
    "LinearVideoTokenizer",
    "LinearVideoTokenizerOutput",
    "LlamaVidVideoTokenizer",
    "VideoTokenizer",
    "VideoTokenizerContext",
    "MolmoConfig",
    "MolmoForConditionalGeneration",
    "MolmoModel",
    "XGenMMConfig",
    "XGenMMForConditionalGeneration",
    "XGenMMModel",
    "build_video_tokenizer",
    "linvt_class_for",
    "register_video_tokenizer",
]
