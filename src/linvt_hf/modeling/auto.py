"""Which LinVT family wraps an image-LLM of a given model type: filled by `linvt_hf.family.register_family`."""

from __future__ import annotations

from typing import Any

# image-LLM model type (e.g. "qwen2_vl") -> that family's LinVT ForConditionalGeneration class.
_LINVT_CLASSES: dict[str, type] = {}


def register_linvt_class(image_llm_model_type: str, model_class: type, exist_ok: bool = False) -> None:
    """Let `LinVTForConditionalGeneration.from_backbone` find `model_class` for image-LLMs of this model type."""
    if not exist_ok and _LINVT_CLASSES.get(image_llm_model_type, model_class) is not model_class:
        raise ValueError(f"a LinVT family for {image_llm_model_type!r} is registered already")
    _LINVT_CLASSES[image_llm_model_type] = model_class


def linvt_class_for(image_llm_model_type: str) -> Any:
    """The LinVT model class that wraps an image-LLM of this model type (e.g. "qwen2_vl").

    Raises:
        ValueError: no LinVT family is registered for it (names the ones that are).
    """
    try:
        return _LINVT_CLASSES[image_llm_model_type]
    except KeyError:
        raise ValueError(
            f"no LinVT family for image-LLMs of model type {image_llm_model_type!r}; registered: "
            f"{sorted(_LINVT_CLASSES)}"
        ) from None


def registered_image_llm_types() -> list[str]:
    return sorted(_LINVT_CLASSES)


__all__ = ["linvt_class_for", "register_linvt_class", "registered_image_llm_types"]
