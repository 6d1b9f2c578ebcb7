"""The two training stages of LinVT (paper Sec. 3.3): what is trained, what stays frozen.

- Stage 1, video-language alignment: only LinVT (and the contrastive loss's temperature) learn; the image-LLM,
  vision encoder, projector and LLM alike, is frozen. With the contrastive term off, `LinVTTrainer` freezes the
  temperature too (no forward uses it then).
- Stage 2, video instruction tuning: LoRA on the LLM's linear layers, LinVT fully trainable, the vision encoder and
  projector frozen. LinVT is saved with the adapter (`modules_to_save`), and `merge_stage2` folds the LoRA weights
  back into a plain `LinVTForConditionalGeneration`.
"""

from __future__ import annotations

import copy
import re

from peft import LoraConfig, PeftModel, get_peft_model
from torch import nn

from ..family import family_of
from ..modeling.modeling_linvt import LinVTForConditionalGeneration

VIDEO_TOKENIZER_MODULE = "video_tokenizer"
DEFAULT_LORA = dict(r=16, lora_alpha=32, lora_dropout=0.05)


def prepare_stage1(model: LinVTForConditionalGeneration) -> LinVTForConditionalGeneration:
    """Freeze everything but the video tokenizer and `model.video_text_logit_scale` (in place; returns `model`).

    `LinVTTrainer(contrastive_weight=0)` freezes `video_text_logit_scale` again: only the contrastive term uses it."""
    model.requires_grad_(False)
    model.video_tokenizer.requires_grad_(True)
    model.video_text_logit_scale.requires_grad_(True)
    return model


def language_model(model: LinVTForConditionalGeneration) -> nn.Module:
    """The image-LLM's language model (the decoder stack, without the LM head), where its family declares it."""
    return model.get_submodule(language_model_prefix(model))


def language_model_prefix(model: LinVTForConditionalGeneration) -> str:
    """The module path of the language model inside `model`, e.g. `"model.language_model"` (its family's
    `LinVTFamily.language_model`)."""
    return family_of(model).language_model


def language_model_linear_names(model: LinVTForConditionalGeneration) -> list[str]:
    """Module paths of every `nn.Linear` inside the language model (attention q/k/v/o and the MLP projections)."""
    prefix = language_model_prefix(model) + "."
    return [name for name, module in model.named_modules() if name.startswith(prefix) and isinstance(module, nn.Linear)]


def lora_target_modules(model: LinVTForConditionalGeneration) -> str:
    """A PEFT `target_modules` regex that matches the language model's linear layers and nothing else.

    Paths, not bare names: the vision towers have `q_proj`/`k_proj`/... layers too (SigLIP, InternViT).
    """
    return linear_layers_regex(model, language_model(model))


def linear_layers_regex(model: nn.Module, part: nn.Module) -> str:
    """A PEFT `target_modules` regex for the `nn.Linear` layers inside `part`, a submodule of `model` (e.g. a bare
    image-LLM's language model), by their paths in `model`."""
    prefix = next(name for name, module in model.named_modules() if module is part)
    leaves = sorted({name.rsplit(".", 1)[-1] for name, m in part.named_modules() if isinstance(m, nn.Linear) and name})
    if not leaves:
        raise ValueError(f"no nn.Linear found under {prefix!r}")
    return rf"{re.escape(prefix)}\..*\.({'|'.join(map(re.escape, leaves))})"


def prepare_stage2(model: LinVTForConditionalGeneration, lora_config: LoraConfig | None = None) -> PeftModel:
    r"""
    Wrap `model` for stage 2: LoRA adapters on the LLM's linear layers, LinVT trainable and saved with the adapter,
    everything else (vision encoder, projector, embeddings, LM head, the contrastive temperature) frozen.

    Args:
        model (`LinVTForConditionalGeneration`): typically the stage-1 result.
        lora_config (`peft.LoraConfig`, *optional*): defaults to r=16, alpha=32, dropout=0.05. Its `target_modules`,
            when None, become the LLM's linear layers (`lora_target_modules`); given ones must all lie inside the LLM.
            `"video_tokenizer"` is added to `modules_to_save`.

    Returns:
        `peft.PeftModel` whose `save_pretrained` writes the adapter and LinVT's weights.
    """
    config = copy.deepcopy(lora_config) if lora_config is not None else LoraConfig(**DEFAULT_LORA)
    if config.target_modules is None:
        config.target_modules = lora_target_modules(model)
    config.modules_to_save = sorted({*(config.modules_to_save or []), VIDEO_TOKENIZER_MODULE})
    peft_model = get_peft_model(model, config)
    _check_lora_inside_llm(peft_model)
    return peft_model


def _check_lora_inside_llm(peft_model: PeftModel) -> None:
    base = peft_model.get_base_model()
    prefix = language_model_prefix(base) + "."
    outside = [
        name
        for name, module in base.named_modules()
        if hasattr(module, "lora_A") and not name.startswith(prefix) and f"{VIDEO_TOKENIZER_MODULE}." not in name
    ]
    if outside:
        raise ValueError(f"LoRA must only touch the LLM's layers, but target_modules matched {outside[:5]}")


def merge_stage2(peft_model: PeftModel) -> LinVTForConditionalGeneration:
    """Merge the LoRA weights into the LLM and return the plain LinVT model (with the trained LinVT), ready for
    `save_pretrained` / `from_pretrained`."""
    model = peft_model.merge_and_unload()
    if not isinstance(model, LinVTForConditionalGeneration):
        raise TypeError(f"expected a LinVT model under the adapter, got {type(model).__name__}")
    return model


__all__ = [
    "DEFAULT_LORA",
    "language_model",
    "language_model_linear_names",
    "lora_target_modules",
    "merge_stage2",
    "prepare_stage1",
    "prepare_stage2",
]
