"""The private transformers API linvt-hf relies on (linvt_hf/upstream.py), checked against the installed release.

Each test fails with a message naming the private name when transformers changes it: that is the signal to adapt
linvt_hf/upstream.py (or to drop a workaround that upstream made unnecessary).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pathlib

import pytest
import transformers

from linvt_hf import upstream
from linvt_hf.processing.video_processor import LinVTVideoProcessor
from linvt_hf.testing import make_tiny_processor

PACKAGE = pathlib.Path(upstream.__file__).parent


def _resolve(dotted: str) -> type:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize(
    ("owner", "hook", "parameters"),
    [(owner, hook, params) for owner, hooks in upstream.OVERRIDDEN_PRIVATE_HOOKS.items() for hook, params in hooks.items()],
)
def test_overridden_private_hooks_still_exist_with_our_parameters(owner, hook, parameters):
    method = getattr(_resolve(owner), hook, None)
    assert method is not None, f"transformers {transformers.__version__} removed {owner}.{hook}, which linvt-hf overrides"
    names = [p for p in inspect.signature(method).parameters if p != "self"]
    assert tuple(names[: len(parameters)]) == parameters, (
        f"{owner}.{hook} now takes {names}; linvt-hf's override expects {list(parameters)}"
    )


def test_overridden_hooks_are_still_called_by_transformers():
    """The hooks are only worth overriding while transformers' public methods call them."""
    from transformers.processing_utils import ProcessorMixin

    source = inspect.getsource(ProcessorMixin.apply_chat_template)
    assert "_multimodal_inputs_from_conversations" in source, "apply_chat_template no longer collects media this way"


def test_merge_processor_kwargs_splits_by_modality():
    processor = make_tiny_processor("qwen2_vl")
    merged = upstream.merge_processor_kwargs(processor, padding=True, num_frames=4, return_tensors="pt")
    for key in ("text_kwargs", "images_kwargs", "videos_kwargs"):
        assert key in merged, f"ProcessorMixin._merge_kwargs no longer returns {key!r}"
    assert merged["text_kwargs"]["padding"] is True
    assert merged["videos_kwargs"]["num_frames"] == 4
    assert "return_mm_token_type_ids" in merged, "ProcessorMixin._merge_kwargs no longer returns return_mm_token_type_ids"


def test_video_processor_workaround_is_still_needed_without_torchvision():
    """transformers cannot build a processor with a video processor without torchvision; when it can, the
    workaround in upstream.video_processor_check (and check_video_processor_argument) should go."""
    if transformers.is_torchvision_available():
        pytest.skip("torchvision is installed: the upstream class check works")
    processor = make_tiny_processor("qwen2_vl")
    parts = (processor.image_processor, processor.tokenizer, processor.video_processor)
    assert upstream.video_processor_class_check_fails_without_torchvision()
    with pytest.raises((AttributeError, ValueError, TypeError)):
        type(processor)(*parts)  # what transformers does on its own
    with upstream.video_processor_check(type(processor)):
        built = type(processor)(*parts)
    assert isinstance(built.video_processor, LinVTVideoProcessor)
    assert "check_argument_for_proper_class" not in vars(type(processor)), "the class must be left as it was"


def test_check_video_processor_argument_refuses_other_types():
    processor = make_tiny_processor("qwen2_vl")
    with pytest.raises(TypeError, match="VideoProcessorMixin"):
        upstream.check_video_processor_argument(processor, "video_processor", processor.image_processor)


def test_legacy_renamings_load_old_layouts_and_are_not_written_by_fresh_saves(tmp_path):
    """linvt-hf 0.1's weight names are registered under transformers' "legacy" conversion mapping: applied at load,
    after a model's own renames, and not written back when a model built from scratch is saved."""
    from safetensors import safe_open
    from transformers.conversion_mapping import get_checkpoint_conversion_mapping

    from linvt_hf.testing import make_tiny

    legacy = get_checkpoint_conversion_mapping(upstream.LEGACY_MAPPING_KEY)
    assert legacy is not None, 'transformers no longer has a "legacy" conversion mapping'
    patterns = {p for t in legacy for p in t.source_patterns}
    assert r"^linvt\." in patterns and r"^image_llm\.model\." in patterns
    model, _ = make_tiny("qwen2_vl")
    model.save_pretrained(tmp_path)
    with safe_open(tmp_path / "model.safetensors", "pt") as weights:
        keys = list(weights.keys())
    assert any(k.startswith("model.video_tokenizer.") for k in keys)
    assert not any(k.startswith(("linvt.", "image_llm.")) for k in keys), "a fresh model was saved in 0.1's layout"


def test_register_legacy_renamings_is_idempotent():
    from transformers.conversion_mapping import get_checkpoint_conversion_mapping

    before = len(get_checkpoint_conversion_mapping(upstream.LEGACY_MAPPING_KEY))
    upstream.register_legacy_renamings({r"^linvt\.": "model.video_tokenizer."})
    assert len(get_checkpoint_conversion_mapping(upstream.LEGACY_MAPPING_KEY)) == before


def test_no_private_transformers_api_outside_upstream():
    """Calls of transformers' private API live in upstream.py only (overridden hooks are listed there)."""
    hooks = {hook for hooks in upstream.OVERRIDDEN_PRIVATE_HOOKS.values() for hook in hooks}
    private_calls = {"_merge_kwargs", "_process_images", "_check_special_mm_tokens", "_upload_modified_files",
                     "_get_files_timestamps", "_attn_implementation_internal", "_experts_implementation_internal",
                     "_prepare_generate_kwargs", "_prepare_position_ids_for_generation", "_validate_model_kwargs",
                     "_resolve_subprocessors", "_get_arguments_from_pretrained"}
    found = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "upstream.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in private_calls | hooks:
                is_own_override_call = node.attr in hooks and isinstance(node.value, ast.Call)  # super()._hook(...)
                if not is_own_override_call:
                    found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: .{node.attr}")
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("transformers"):
                found += [f"{path.relative_to(PACKAGE)}:{node.lineno}: import {a.name}" for a in node.names
                          if a.name.startswith("_")]
    assert not found, "private transformers API outside linvt_hf/upstream.py:\n" + "\n".join(found)
