"""Models: the Linear Video Tokenizer and the LinVT-wrapped backbone families."""

from .configuration_linvt import LinVTConfig
from .tokenizer import LinearVideoTokenizer, LinearVideoTokenizerOutput

__all__ = ["LinVTConfig", "LinearVideoTokenizer", "LinearVideoTokenizerOutput"]
