"""Offline helpers for tests, examples and benchmarks: tiny processors and tiny random LinVT models (no Hub access)."""

from .tiny_models import make_tiny, tiny_image_llm_config, tiny_linvt_config, tiny_text_config
from .tiny_processors import (
    BACKBONES,
    make_tiny_image_processor,
    make_tiny_linvt_processor,
    make_tiny_processor,
    make_tiny_tokenizer,
    tiny_processor_parts,
)

__all__ = [
    "BACKBONES",
    "make_tiny",
    "make_tiny_image_processor",
    "make_tiny_linvt_processor",
    "make_tiny_processor",
    "make_tiny_tokenizer",
    "tiny_image_llm_config",
    "tiny_linvt_config",
    "tiny_processor_parts",
    "tiny_text_config",
]
