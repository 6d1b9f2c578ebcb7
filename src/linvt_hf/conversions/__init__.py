"""Conversions from the original checkpoint layouts of the paper's image-LLMs into transformers' native layouts,
from which a LinVT model is built with `from_backbone` (docs/conversions.md).

- `internvl2`: InternVL2's remote-code `InternVLChatModel` (1B: Qwen2; 2B/8B/26B: InternLM2)
  -> `InternVLForConditionalGeneration`
- `llava_next_aquila`: LLaVA-NeXT's `LlavaQwenForCausalLM` (Aquila-VL-2B, LLaVA-OneVision)
  -> `LlavaOnevisionForConditionalGeneration`
- `mipha`: Mipha's `MiphaPhiForCausalLM` (LLaVA-Phi code; SigLIP + Phi-2 or Phi-1.5) -> `LlavaForConditionalGeneration`
- `xgenmm`: xGen-MM (BLIP-3)'s remote-code `XGenMMModelForConditionalGeneration` (SigLIP + Perceiver + Phi-3)
  -> linvt-hf's own `XGenMMForConditionalGeneration`
- `molmo`: Molmo (v1)'s remote-code `MolmoForCausalLM` (allenai/Molmo-7B-D-0924: CLIP + attention pooling + Qwen2)
  -> linvt-hf's own `MolmoForConditionalGeneration`
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from . import internvl2, llava_next_aquila, mipha, molmo, xgenmm
from .core import ConversionError, ConversionReport, DestinationNotEmptyError, UnrecognizedKeysError

CONVERSIONS: dict[str, Callable[..., ConversionReport]] = {
    internvl2.LAYOUT: internvl2.convert,
    llava_next_aquila.LAYOUT: llava_next_aquila.convert,
    mipha.LAYOUT: mipha.convert,
    molmo.LAYOUT: molmo.convert,
    xgenmm.LAYOUT: xgenmm.convert,
}


def convert_checkpoint(
    layout: str, source: str | os.PathLike, destination: str | os.PathLike, overwrite: bool = False, **options: Any
) -> ConversionReport:
    """Convert the original checkpoint folder `source` of `layout` (a key of `CONVERSIONS`) into the transformers
    model folder `destination` (refused when not empty, unless `overwrite=True`). `options` go to the layout's
    `convert` (e.g. `image_token_id`, `drop_lm_head_bias`)."""
    if layout not in CONVERSIONS:
        raise ValueError(f"unknown checkpoint layout {layout!r}; choose one of {sorted(CONVERSIONS)}")
    return CONVERSIONS[layout](source, destination, overwrite=overwrite, **options)


__all__ = [
    "CONVERSIONS",
    "ConversionError",
    "ConversionReport",
    "DestinationNotEmptyError",
    "UnrecognizedKeysError",
    "convert_checkpoint",
]
