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
from collections.abc import Iterator
from typing import Any

import transformers
from transformers.conversion_mapping import get_checkpoint_conversion_mapping, register_checkpoint_conversion_mapping
from transformers.core_model_loading import WeightRenaming

# The class itself: the top-level `transformers.AutoVideoProcessor` is a placeholder that raises without torchvision
# (its module path is public; only the top-level export is gated).
from transformers.models.auto.video_processing_auto import AutoVideoProcessor
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


LEGACY_MAPPING_KEY = "legacy"


def register_legacy_renamings(renames: dict[str, str]) -> None:
    """Load old checkpoint layouts (regex -> replacement on weight names) with every `from_pretrained`.

    Why private: transformers applies its conversion mapping named "legacy" after every model's own renames and,
    unlike a model's own, never writes it back on a save of a fresh model (only a checkpoint loaded through it is
    saved in its old layout again). That is what loading linvt-hf 0.1's checkpoints needs; the name "legacy" and this
    behaviour are transformers' convention, not a documented API (`register_checkpoint_conversion_mapping` is public).
    """
    existing = get_checkpoint_conversion_mapping(LEGACY_MAPPING_KEY) or []
    known = {tuple(t.source_patterns) for t in existing}
    added = [
        WeightRenaming(source_patterns=pattern, target_patterns=target)
        for pattern, target in renames.items()
        if (pattern,) not in known
    ]
    if added:
        register_checkpoint_conversion_mapping(LEGACY_MAPPING_KEY, [*existing, *added], overwrite=True)


__all__ = [
    "AutoVideoProcessor",
    "LEGACY_MAPPING_KEY",
    "OVERRIDDEN_PRIVATE_HOOKS",
    "check_video_processor_argument",
    "merge_processor_kwargs",
    "pipeline_generate_kwargs",
    "register_legacy_renamings",
    "video_processor_check",
    "video_processor_class_check_fails_without_torchvision",
]
