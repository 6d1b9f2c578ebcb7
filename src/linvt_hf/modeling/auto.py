"""The LinVT model family of each supported image-LLM, by the image-LLM's model type."""

from __future__ import annotations

from .internvl import LinVTInternVLForConditionalGeneration
from .llava_onevision import LinVTLlavaOnevisionForConditionalGeneration
from .modeling_linvt import LinVTForConditionalGeneration
from .qwen2_vl import LinVTQwen2_5_VLForConditionalGeneration, LinVTQwen2VLForConditionalGeneration

LINVT_MODEL_CLASSES: dict[str, type[LinVTForConditionalGeneration]] = {
    "qwen2_vl": LinVTQwen2VLForConditionalGeneration,
    "qwen2_5_vl": LinVTQwen2_5_VLForConditionalGeneration,
    "internvl": LinVTInternVLForConditionalGeneration,
    "llava_onevision": LinVTLlavaOnevisionForConditionalGeneration,
}


def linvt_class_for(image_llm_model_type: str) -> type[LinVTForConditionalGeneration]:
    """The LinVT model class that wraps an image-LLM of this model type (e.g. "qwen2_vl")."""
    try:
        return LINVT_MODEL_CLASSES[image_llm_model_type]
    except KeyError:
        raise ValueError(
            f"no LinVT family for image-LLMs of model type {image_llm_model_type!r}; supported: "
            f"{sorted(LINVT_MODEL_CLASSES)}"
        ) from None


__all__ = ["LINVT_MODEL_CLASSES", "linvt_class_for"]
