"""Offline helpers for tests: tiny processors of the supported backbones (no Hub access)."""

from .tiny_processors import (
    BACKBONES,
    make_tiny_image_processor,
    make_tiny_linvt_processor,
    make_tiny_processor,
    make_tiny_tokenizer,
)


__all__ = [
    "BACKBONES",
    "make_tiny_image_processor",
    "make_tiny_linvt_processor",
    "make_tiny_processor",
    "make_tiny_tokenizer",
]
