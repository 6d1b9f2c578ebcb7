"""A LinVT backbone family in one declaration, and the one call that registers it.

A family is one modeling file (its config, `LinVT<Family>Model` and `LinVT<Family>ForConditionalGeneration`, each
extending the image-LLM's own transformers class), one processing file (`LinVT<Family>Processor`, extending the
image-LLM's processor) and one `register_family(LinVTFamily(...))` call (in `linvt_hf/families.py`). Registering makes
the family known to transformers' Auto classes (`AutoConfig`, `AutoModel`, `AutoModelForImageTextToText`,
`AutoProcessor`, `AutoVideoProcessor`), to its checkpoint loading (the image-LLM's original weight layout, and
linvt-hf 0.1's), to `LinVTForConditionalGeneration.from_backbone` / `LinVTProcessor.from_backbone` (by the image-LLM's
model type), to the training stages (which modules are the LLM) and to `linvt_hf.testing.make_tiny`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from transformers import (
    AutoConfig,
    AutoImageProcessor,
    AutoModel,
    AutoModelForImageTextToText,
    AutoProcessor,
    PreTrainedModel,
)
from transformers.conversion_mapping import register_checkpoint_conversion_mapping

from .modeling.auto import register_linvt_class
from .modeling.video_tokenizer import LEGACY_STATE_DICT_RENAMES
from .processing.processor import register_linvt_processor
from .processing.video_processor import LinVTVideoProcessor
from .upstream import AutoVideoProcessor, register_legacy_renamings

# The backends AutoVideoProcessor may be asked for; LinVTVideoProcessor (numpy + PIL) serves each.
VIDEO_PROCESSOR_BACKENDS = ("torchvision", "pil")


@dataclass(frozen=True)
class LinVTFamily:
    r"""
    Everything linvt-hf knows about one backbone family.

    Attributes:
        image_llm_model_type (`str`): the image-LLM's model type, e.g. `"qwen2_vl"` (what `from_backbone` reads off
            a checkpoint to choose the family).
        config_class, model_class, for_generation_class, processor_class: the family's classes.
        language_model (`str`): the module path of the LLM (the decoder stack) in `for_generation_class`, e.g.
            `"model.language_model"`: stage 2 puts LoRA on its linear layers.
        vision_modules (`tuple[str, ...]`): the module paths of the vision encoder and projector (frozen in both
            stages).
        tiny_image_llm_config (`Callable`): `(processor, text_config) -> dict`, the image-LLM config at toy sizes
            for `make_tiny` (offline tests), given the tiny processor and the tiny LLM's config.
        tiny_processor_parts (`Callable`): `() -> dict` with the processor's image processor at toy sizes, chat
            template, special tokens and init arguments, for `make_tiny`.
        checkpoint_conversions (`dict[str, list]`): per LinVT class name, the renames from the image-LLM's original
            checkpoint layout (what the Hub holds) to its module layout.
        legacy_renames (`dict[str, str]`): regex -> replacement from linvt-hf 0.1's weight names of the image-LLM.
        image_processor_class (`type`, *optional*): the family's own image processor, for an image-LLM whose
            transformers image processor needs torchvision (Molmo2's); `AutoImageProcessor` loads it from a saved
            LinVT processor.
    """

    image_llm_model_type: str
    config_class: type
    model_class: type[PreTrainedModel]
    for_generation_class: type[PreTrainedModel]
    processor_class: type
    language_model: str
    vision_modules: tuple[str, ...]
    tiny_image_llm_config: Callable[..., dict[str, Any]]
    tiny_processor_parts: Callable[[], dict[str, Any]]
    checkpoint_conversions: dict[str, list] = field(default_factory=dict)
    legacy_renames: dict[str, str] = field(default_factory=dict)
    image_processor_class: type | None = None


FAMILIES: dict[str, LinVTFamily] = {}


def register_family(family: LinVTFamily) -> None:
    """Make `family` known everywhere it is needed (see the module docstring). Registering it again is harmless."""
    config_class = family.config_class
    AutoConfig.register(config_class.model_type, config_class, exist_ok=True)
    AutoModel.register(config_class, family.model_class, exist_ok=True)
    AutoModelForImageTextToText.register(config_class, family.for_generation_class, exist_ok=True)
    AutoProcessor.register(config_class, family.processor_class, exist_ok=True)
    AutoVideoProcessor.register(
        config_class,
        video_processor_classes={backend: LinVTVideoProcessor for backend in VIDEO_PROCESSOR_BACKENDS},
        exist_ok=True,
    )
    if family.image_processor_class is not None:
        AutoImageProcessor.register(
            config_class,
            image_processor_classes={backend: family.image_processor_class for backend in VIDEO_PROCESSOR_BACKENDS},
            exist_ok=True,
        )
    for class_name, conversions in family.checkpoint_conversions.items():
        register_checkpoint_conversion_mapping(class_name, conversions, overwrite=True)
    register_legacy_renamings(family.legacy_renames)
    register_linvt_class(family.image_llm_model_type, family.for_generation_class, exist_ok=True)
    register_linvt_processor(family.image_llm_model_type, family.processor_class)
    FAMILIES[family.image_llm_model_type] = family


def register_legacy_video_tokenizer_renamings() -> None:
    """linvt-hf 0.1's names of LinVT's weights (`linvt.*`, with the tokenizer's old inner names) in today's."""
    target = "model.video_tokenizer."
    renames = {r"^linvt\." + pattern[1:]: target + replacement for pattern, replacement in LEGACY_STATE_DICT_RENAMES}
    renames[r"^linvt\."] = target
    register_legacy_renamings(renames)


def family_of(model_or_config: Any) -> LinVTFamily:
    """The family of a LinVT model (possibly PEFT-wrapped) or config.

    Raises:
        ValueError: it is not a LinVT family's (names the registered ones).
    """
    config = getattr(model_or_config, "config", model_or_config)
    for family in FAMILIES.values():
        if isinstance(config, family.config_class):
            return family
    raise ValueError(
        f"{type(model_or_config).__name__} is not a LinVT family's model or config; registered families: "
        f"{sorted(FAMILIES)}"
    )


__all__ = ["FAMILIES", "LinVTFamily", "family_of", "register_family"]
