"""The video tokenizers by name (`LinVTConfig.video_tokenizer_type`): LinVT and the paper's baselines, or your own."""

from __future__ import annotations

from ..configuration_linvt import LinVTConfig
from .base import VideoTokenizer
from .baselines import AverageVideoTokenizer, LlamaVidVideoTokenizer
from .linear_video_tokenizer import LinearVideoTokenizer

VIDEO_TOKENIZERS: dict[str, type[VideoTokenizer]] = {
    "linvt": LinearVideoTokenizer,
    "avg": AverageVideoTokenizer,
    "llama_vid": LlamaVidVideoTokenizer,
}


def register_video_tokenizer(name: str, cls: type[VideoTokenizer], exist_ok: bool = False) -> None:
    """Make `cls` the video tokenizer of `LinVTConfig(video_tokenizer_type=name)`.

    Raises:
        TypeError: `name` is not a string, or `cls` is not a `VideoTokenizer` subclass.
        ValueError: `name` is empty, or already taken and `exist_ok` is False.
    """
    if not isinstance(name, str):
        raise TypeError(f"a video tokenizer name must be a str, got {type(name).__name__}")
    if not name:
        raise ValueError("a video tokenizer name must not be empty")
    if not (isinstance(cls, type) and issubclass(cls, VideoTokenizer)):
        raise TypeError(
            f"video tokenizer {name!r} must be a subclass of linvt_hf.modeling.video_tokenizer.VideoTokenizer, got "
            f"{cls!r}"
        )
    if name in VIDEO_TOKENIZERS and VIDEO_TOKENIZERS[name] is not cls and not exist_ok:
        raise ValueError(
            f"video tokenizer {name!r} is already registered ({VIDEO_TOKENIZERS[name].__name__}); pass exist_ok=True "
            "to replace it"
        )
    VIDEO_TOKENIZERS[name] = cls


def video_tokenizer_class(config: LinVTConfig) -> type[VideoTokenizer]:
    """The class registered for `config.video_tokenizer_type` (its `num_output_tokens(config, T)` sizes prompts).

    Raises:
        ValueError: no video tokenizer is registered under that name (the message lists the known ones).
    """
    name = config.video_tokenizer_type
    if name not in VIDEO_TOKENIZERS:
        raise ValueError(
            f"unknown video_tokenizer_type {name!r}; known: {sorted(VIDEO_TOKENIZERS)} (register_video_tokenizer adds "
            "one)"
        )
    return VIDEO_TOKENIZERS[name]


def build_video_tokenizer(config: LinVTConfig, input_size: int | None = None) -> VideoTokenizer:
    """The video tokenizer of `config.video_tokenizer_type`, freshly initialised, for visual tokens of width
    `input_size` (D, the LLM's hidden size; defaults to `config.input_size`)."""
    return video_tokenizer_class(config)(config, input_size)
