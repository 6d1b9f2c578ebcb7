"""Offline helpers for tests, examples and benchmarks: tiny processors and tiny random LinVT models (no Hub access)."""

from .tiny_models import IMAGE_LLM_CONFIGS, make_tiny, tiny_linvt_config
from .tiny_processors import (
    BACKBONES,
    make_tiny_image_processor,
    make_tiny_linvt_processor,
    make_tiny_processor,
    make_tiny_tokenizer,
)

__all__ = [
    "BACKBONES",
    "IMAGE_LLM_CONFIGS",
    "make_tiny",
    "make_tiny_image_processor",
    "make_tiny_linvt_processor",
    "make_tiny_processor",
    "make_tiny_tokenizer",
    "tiny_linvt_config",
]
