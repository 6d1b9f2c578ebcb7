"""Every use linvt-hf makes of transformers' private (underscore) API, in one place.

transformers changes its private API without notice, so each use below says why no public way exists, and
tests/test_upstream.py checks each against the installed transformers: when one of them moves, that test fails and
names it, before a user meets the breakage. Remove an entry when a public way appears (or when the redesign of the
processor and model, which subclass the backbone's classes, makes it unnecessary).

Two kinds of use:

- **Calls** (functions here): the only code in linvt-hf that calls a private transformers function or touches a
  private attribute.
- **Overridden private hooks** (`OVERRIDDEN_PRIVATE_HOOKS`): private methods that transformers calls on our
  subclasses and that we override. They have to live in the subclasses; the table lists them with the parameters we
  rely on, and the test checks that transformers still defines and calls them that way.

Extension points that transformers documents for model, processor and pipeline authors despite their underscore
(`PreTrainedModel._init_weights`, `_no_split_modules`, `_supports_sdpa` and the other capability flags,
`Pipeline._sanitize_parameters` / `_forward`, ...) are not listed: they are the public contract of those classes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

import transformers
from transformers import PreTrainedConfig
from transformers.processing_utils import ProcessorMixin
from transformers.video_processing_utils import VideoProcessorMixin

# class -> {method name: parameter names (after self) that our override takes and transformers passes}.
OVERRIDDEN_PRIVATE_HOOKS: dict[str, dict[str, tuple[str, ...]]] = {
    # `apply_chat_template` collects a chat's images and videos through this hook and, by default, decodes videos
    # with transformers' own loaders (dropping the per-item sampling options); LinVTProcessor overrides it to keep
    # each video item with its options for LinVTVideoProcessor. No public parameter of apply_chat_template does this.
    "transformers.processing_utils.ProcessorMixin": {
        "_multimodal_inputs_from_conversations": ("conversations", "audio_loading_params", "load_audio_from_video"),
    },
    # `generate` validates model kwargs against `forward`'s signature, which cannot list the image-LLM's own
    # arguments that LinVT's forward passes through; and it builds position ids (Qwen's M-RoPE) through the image-LLM's
    # own hook, which LinVT's models forward to with the video inputs hidden.
    "transformers.generation.utils.GenerationMixin": {
        "_validate_model_kwargs": ("model_kwargs",),
        "_prepare_position_ids_for_generation": ("inputs_tensor", "model_kwargs"),
    },
}


def merge_processor_kwargs(processor: ProcessorMixin, **kwargs: Any) -> dict[str, Any]:
    """`processor._merge_kwargs`: a call's kwargs split by modality (`text_kwargs`, `images_kwargs`,
    `videos_kwargs`, ...) on top of the processor's defaults and its tokenizer's init kwargs.

    Why private: ProcessorMixin exposes the split only inside `__call__`; LinVTProcessor needs it to tokenise with
    offsets (for the question mask) and to send video kwargs to its own video processor.
    """
    return processor._merge_kwargs(tokenizer_init_kwargs=processor.tokenizer.init_kwargs, **kwargs)


def video_processor_class_check_fails_without_torchvision() -> bool:
    """Whether transformers still cannot check a processor's video processor argument without torchvision.

    `ProcessorMixin.check_argument_for_proper_class` looks the expected base class up by name in transformers' top-level
    namespace, which exports `VideoProcessorMixin` only when torchvision is installed: without it, every processor that
    has a video processor (Qwen2VLProcessor, InternVLProcessor, ...) fails to build.
    """
    return not hasattr(transformers, "VideoProcessorMixin")


def check_video_processor_argument(processor: ProcessorMixin, argument_name: str, argument: Any) -> type:
    """`ProcessorMixin.check_argument_for_proper_class`, with a video processor checked against
    `VideoProcessorMixin` itself (see `video_processor_class_check_fails_without_torchvision`)."""
    if "video_processor" in argument_name:
        if not isinstance(argument, VideoProcessorMixin):
            raise TypeError(
                f"Received a {type(argument).__name__} for argument {argument_name}, but a VideoProcessorMixin was "
                "expected."
            )
        return VideoProcessorMixin
    return ProcessorMixin.check_argument_for_proper_class(processor, argument_name, argument)


@contextlib.contextmanager
def video_processor_check(processor_class: type[ProcessorMixin]) -> Iterator[None]:
    """Let a backbone processor class (not ours to subclass here) be built without torchvision: its
    `check_argument_for_proper_class` is `check_video_processor_argument` for the duration.

    Why: there is no public way to build e.g. a `Qwen2VLProcessor` with a video processor when torchvision is
    missing (see `video_processor_class_check_fails_without_torchvision`), and LinVT never needs torchvision.
    """
    if not video_processor_class_check_fails_without_torchvision() or (
        "check_argument_for_proper_class" in vars(processor_class)
    ):
        yield
        return
    processor_class.check_argument_for_proper_class = check_video_processor_argument
    try:
        yield
    finally:
        del processor_class.check_argument_for_proper_class


def pipeline_generate_kwargs(pipeline: Any, generate_kwargs: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """`pipeline._prepare_generate_kwargs`: the call's generation parameters on top of those given at init, plus the
    pipeline's defaults (`_default_generation_config`, e.g. `max_new_tokens`) for what neither the user nor the
    model's generation config set.

    Why private: it is how every transformers pipeline that calls `generate` merges these (and it changed between
    releases); there is no public equivalent, and re-implementing it would drift from what `pipeline(...)` users expect.
    """
    return pipeline._prepare_generate_kwargs(generate_kwargs, **overrides)


def image_llm_position_ids(image_llm: Any, inputs_tensor: Any, model_kwargs: dict[str, Any]) -> Any:
    """`image_llm._prepare_position_ids_for_generation`: the position ids `generate` starts from, as the image-LLM
    builds them (Qwen's 3D M-RoPE positions, positions that skip left padding).

    Why private: `generate` builds positions only through this hook of the model it runs; LinVT's models run the
    image-LLM inside, so their own hook (see `OVERRIDDEN_PRIVATE_HOOKS`) has to call the image-LLM's.
    """
    return image_llm._prepare_position_ids_for_generation(inputs_tensor, model_kwargs)


def implementations(configs: Iterable[PreTrainedConfig]) -> list[tuple[PreTrainedConfig, str | None, str | None]]:
    """`(config, attention implementation, experts implementation)` of each config, as set on it (`None` when unset).

    Why private: `PreTrainedConfig` stores an explicitly set implementation only in `_attn_implementation_internal`
    (and `_experts_implementation_internal`); the public-looking `_attn_implementation` property resolves defaults.
    """
    return [
        (
            config,
            getattr(config, "_attn_implementation_internal", None),
            getattr(config, "_experts_implementation_internal", None),
        )
        for config in configs
    ]


def restore_implementations(kept: list[tuple[PreTrainedConfig, str | None, str | None]]) -> None:
    """Put back the implementations `implementations` read (PreTrainedConfig's init resets sub-configs' to the
    top-level one, which would change a live image-LLM's attention when LinVT composes its config around it)."""
    for config, attn, experts in kept:
        config._attn_implementation_internal = attn
        config._experts_implementation_internal = experts


def explicit_attn_implementation(config: PreTrainedConfig) -> str | None:
    """The attention implementation set on `config` by the caller (the Auto classes put `attn_implementation=`
    there), `None` when unset; see `implementations` for why this is private."""
    return getattr(config, "_attn_implementation_internal", None)


__all__ = [
    "OVERRIDDEN_PRIVATE_HOOKS",
    "check_video_processor_argument",
    "explicit_attn_implementation",
    "image_llm_position_ids",
    "implementations",
    "merge_processor_kwargs",
    "pipeline_generate_kwargs",
    "restore_implementations",
    "video_processor_check",
    "video_processor_class_check_fails_without_torchvision",
]
