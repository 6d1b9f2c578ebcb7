"""What every LinVT family's config adds to its image-LLM's config.

A LinVT family config IS its image-LLM's config class (e.g. `LinVTQwen2VLConfig(Qwen2VLConfig)`), so every field of
the image-LLM (vision and text sub-configs, token ids, dtype, attention implementation) is saved, loaded and
propagated by transformers itself, plus:

- `video_tokenizer_config`: the video tokenizer's settings (`LinVTConfig`), a sub-config;
- `image_llm_name_or_path`: the image-LLM checkpoint the model was built from (the model card names it);
- `vision_chunk_size`: frames (Qwen: temporal patches) per vision-encoder call.

Configs saved by linvt-hf 0.1 (the image-LLM's config nested as `image_llm_config`, LinVT's settings flattened next
to it) load unchanged: `__post_init__` reads that layout (see `read_legacy_layout`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from huggingface_hub.dataclasses import strict
from transformers import PreTrainedConfig

from .configuration_linvt import LinVTConfig

# Keys of a saved config that describe the file, not the model; never copied between layouts.
_FILE_KEYS = ("model_type", "architectures", "transformers_version", "_name_or_path", "auto_map")
# Keys linvt-hf 0.1 wrote that no longer mean anything (the LinVT-only marker: see `from_video_tokenizer`).
_DROPPED_LEGACY_KEYS = ("linvt_only",)


@strict
class LinVTImageLLMConfig(PreTrainedConfig):
    r"""
    Base of the LinVT family configs; a family config subclasses this and its image-LLM's config class, e.g.
    `class LinVTQwen2VLConfig(LinVTImageLLMConfig, Qwen2VLConfig)`.

    Args:
        video_tokenizer_config (`dict` or `LinVTConfig`, *optional*):
            The video tokenizer's settings; the paper's defaults when None. Its `input_size` is set to the LLM's
            hidden size.
        image_llm_name_or_path (`str`, *optional*):
            Hub id or folder of the image-LLM checkpoint the model was built from (`from_backbone` records it).
        vision_chunk_size (`int`, *optional*, defaults to 16):
            Frames (Qwen2-VL: temporal patches) per vision-encoder call, so that a long video never holds every
            frame's vision activations at once.
    """

    video_tokenizer_config: dict | PreTrainedConfig | None = None
    image_llm_name_or_path: str | None = None
    vision_chunk_size: int = 16

    def __post_init__(self, **kwargs: Any) -> None:
        kwargs = self.read_legacy_layout(kwargs)
        super().__post_init__(**kwargs)
        if self.vision_chunk_size < 1:
            raise ValueError(f"vision_chunk_size must be >= 1, got {self.vision_chunk_size}")
        hidden_size = self.get_text_config(decoder=True).hidden_size
        if self.video_tokenizer_config.input_size is None:
            self.video_tokenizer_config.input_size = hidden_size
        elif self.video_tokenizer_config.input_size != hidden_size:
            raise ValueError(
                f"video_tokenizer_config.input_size is {self.video_tokenizer_config.input_size} but the LLM's hidden "
                f"size is {hidden_size}: the video tokens must have the LLM's width"
            )

    @classmethod
    def sub_configs_with_video_tokenizer(cls, image_llm_config_class: type[PreTrainedConfig]) -> dict[str, Any]:
        """The image-LLM config's `sub_configs_defaults` plus the video tokenizer's."""
        from transformers.configuration_utils import SubConfigSpec

        return {
            **image_llm_config_class.sub_configs_defaults,
            "video_tokenizer_config": SubConfigSpec(config_class=LinVTConfig),
        }

    def read_legacy_layout(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Take a linvt-hf 0.1 config apart: the image-LLM's fields from `image_llm_config`, LinVT's flattened
        settings into `video_tokenizer_config`. Returns the kwargs left for `PreTrainedConfig`."""
        legacy = kwargs.pop("image_llm_config", None)
        for key in _DROPPED_LEGACY_KEYS:
            kwargs.pop(key, None)
        if legacy is None:
            return kwargs
        if isinstance(legacy, PreTrainedConfig):
            legacy = legacy.to_dict()
        own = {field.name for field in dataclasses.fields(self)}
        for key, value in legacy.items():
            if key in own and key not in _FILE_KEYS:
                setattr(self, key, value)
            elif key not in _FILE_KEYS:
                kwargs.setdefault(key, value)
        tokenizer_keys = {f.name for f in dataclasses.fields(LinVTConfig)} - {f.name for f in dataclasses.fields(PreTrainedConfig)}
        tokenizer_keys |= {"tokenizer_type"}  # its 0.1 name of video_tokenizer_type
        settings = {key: kwargs.pop(key) for key in list(kwargs) if key in tokenizer_keys}
        if self.video_tokenizer_config is None:
            self.video_tokenizer_config = settings
        return kwargs

    @classmethod
    def from_image_llm_config(
        cls,
        image_llm_config: PreTrainedConfig,
        video_tokenizer_config: LinVTConfig | dict | None = None,
        **kwargs: Any,
    ) -> LinVTImageLLMConfig:
        """This family's config for an image-LLM's config (e.g. a `Qwen2VLConfig`), with LinVT's settings.

        Raises:
            TypeError: `image_llm_config` is not this family's image-LLM config.
        """
        expected = cls.image_llm_config_class()
        if not isinstance(image_llm_config, expected):
            raise TypeError(
                f"{cls.__name__} extends a {expected.__name__}, got a {type(image_llm_config).__name__} (model type "
                f"{image_llm_config.model_type!r})"
            )
        values = {k: v for k, v in image_llm_config.to_dict().items() if k not in _FILE_KEYS}
        return cls(**{**values, "video_tokenizer_config": video_tokenizer_config, **kwargs})

    def check_added_video_token(self, family: str, token: str) -> None:
        """For a family whose tokenizers have no video token (the LinVT processor adds `token`): `video_token_id`,
        when set, is a token of its own inside the LLM's vocabulary.

        Raises:
            ValueError: it is the image token's id, or outside the vocabulary (named with what to do).
        """
        if self.video_token_id is None:
            return
        vocab_size = self.get_text_config(decoder=True).vocab_size
        if self.video_token_id == self.image_token_id:
            raise ValueError(
                f"{family}: video_token_id {self.video_token_id} is the image token's id; videos need a token of their "
                f"own ({token!r}, which the LinVT processor of this family adds to the tokenizer)"
            )
        if not 0 <= self.video_token_id < vocab_size:
            raise ValueError(
                f"{family}: video_token_id {self.video_token_id} is outside the LLM's vocabulary (vocab_size "
                f"{vocab_size}); resize the image-LLM's token embeddings to the LinVT processor's tokenizer "
                "(model.resize_token_embeddings(len(processor.tokenizer))) and pass the resized model to from_backbone"
            )

    @classmethod
    def from_dict(cls, config_dict: dict[str, Any], **kwargs: Any) -> PreTrainedConfig:
        """transformers' `from_dict`, refusing another model's config (what `from_pretrained` of another family's
        checkpoint reads), which transformers would only warn about before failing on mismatched weights.

        Raises:
            ValueError: `config_dict` is of another model type than this family's or its image-LLM's.
        """
        model_type = config_dict.get("model_type")
        image_llm_type = cls.image_llm_config_class().model_type
        if model_type not in (None, cls.model_type, image_llm_type):
            raise ValueError(
                f"{cls.__name__} ({cls.model_type}) cannot load a {model_type!r} checkpoint: load it with its own "
                f"class (AutoModelForImageTextToText picks it), or build this family's model from a {image_llm_type!r}"
                " image-LLM with from_backbone"
            )
        return super().from_dict(config_dict, **kwargs)

    @classmethod
    def image_llm_config_class(cls) -> type[PreTrainedConfig]:
        """The image-LLM's own config class that this family config extends."""
        return next(
            base
            for base in cls.__mro__[1:]
            if issubclass(base, PreTrainedConfig) and not issubclass(base, LinVTImageLLMConfig)
        )

    @property
    def num_video_tokens(self) -> int:
        """Video tokens per video of the LinVT tokenizer (`video_tokenizer_config.num_video_tokens`, 112 by default)."""
        return self.video_tokenizer_config.num_video_tokens


__all__ = ["LinVTImageLLMConfig"]
