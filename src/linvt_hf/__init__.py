"""linvt-hf: the Linear Video Tokenizer (LinVT, arXiv 2412.05185) for Hugging Face transformers."""

from .modeling import LinearVideoTokenizer, LinearVideoTokenizerOutput, LinVTConfig

__version__ = "0.1.0"

__all__ = ["LinVTConfig", "LinearVideoTokenizer", "LinearVideoTokenizerOutput"]
