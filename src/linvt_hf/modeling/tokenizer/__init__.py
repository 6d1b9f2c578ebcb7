"""The Linear Video Tokenizer: SVR (significance scoring, top-k selection, MTP) and TTA, plus baselines."""

from .linear_video_tokenizer import LinearVideoTokenizer, LinearVideoTokenizerOutput

__all__ = ["LinearVideoTokenizer", "LinearVideoTokenizerOutput"]
