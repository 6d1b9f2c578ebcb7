"""From an image-LLM to a LinVT model, and LinVT-only checkpoints (the video tokenizer's weights alone).

Saving and loading a whole LinVT model is transformers' own `save_pretrained` / `from_pretrained` /
`push_to_hub`. What is LinVT's own goes through an explicit API:

- `from_backbone(image_llm, ...)`: a LinVT model from an image-LLM checkpoint (its weights load under their own
  names) or a loaded image-LLM, with a fresh video tokenizer or a trained one;
- `save_video_tokenizer(dir)` / `push_video_tokenizer_to_hub(repo)`: the video tokenizer alone (a few hundred MB
  instead of the image-LLM's GB), its config naming the image-LLM it was trained on;
- `from_video_tokenizer(dir_or_repo)`: that image-LLM with the saved video tokenizer on top; it also reads the
  LinVT-only checkpoints of linvt-hf 0.1 (`config.json` with `"linvt_only": true` and `linvt.safetensors`).
"""

from __future__ import annotations

import copy
import os
from typing import Any

import torch
from huggingface_hub.errors import HFValidationError
from huggingface_hub.utils import validate_repo_id
from safetensors.torch import load_file
from torch import nn
from transformers import AutoConfig, PreTrainedModel
from transformers.utils import cached_file

from .configuration_linvt import LinVTConfig
from .contrastive import INITIAL_LOGIT_SCALE
from .video_tokenizer import build_video_tokenizer, convert_legacy_state_dict, video_tokenizer_class

# from_pretrained arguments that locate files (used for every file read here).
HUB_KWARGS = ("cache_dir", "force_download", "local_files_only", "proxies", "token", "revision", "subfolder")
LEGACY_LINVT_WEIGHTS = "linvt.safetensors"
LEGACY_PREFIX = "linvt."


def is_hub_repo_id(name: str | None) -> bool:
    """Whether `name` reads as a Hub repo id (`org/name`) rather than a local folder."""
    if not name or os.path.isdir(name) or name.count("/") != 1:
        return False
    try:
        validate_repo_id(name)
    except HFValidationError:
        return False
    return True


def hub_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {key: kwargs[key] for key in HUB_KWARGS if key in kwargs}


def image_llm_class_of(cls: type) -> type[PreTrainedModel]:
    """The image-LLM's own head class that a LinVT family class extends (its first non-LinVT PreTrainedModel base)."""
    from .modeling_linvt import LinVTForConditionalGeneration

    for base in cls.__mro__[1:]:
        if issubclass(base, PreTrainedModel) and not issubclass(base, LinVTForConditionalGeneration):
            return base
    raise TypeError(f"{cls.__name__} extends no image-LLM class: call from_backbone on a LinVT family class")


def optional_file(source: str, filename: str, **kwargs: Any) -> str | None:
    """The local path of `filename` in a folder or Hub repo (downloaded if need be), or None when it has none."""
    try:
        return cached_file(source, filename, **kwargs)
    except OSError:  # what transformers raises for a file the folder or repo does not hold
        return None


def legacy_family_config(source: str | os.PathLike, **kwargs: Any) -> Any | None:
    """The family config of a linvt-hf 0.1 LinVT-only checkpoint (it holds `linvt.safetensors`), None otherwise."""
    if optional_file(os.fspath(source), LEGACY_LINVT_WEIGHTS, **kwargs) is None:
        return None
    return AutoConfig.from_pretrained(os.fspath(source), **kwargs)


def load_video_tokenizer(source: str | os.PathLike | PreTrainedModel, **kwargs: Any) -> PreTrainedModel:
    """A saved video tokenizer (`save_video_tokenizer`'s folder or Hub repo), or a linvt-hf 0.1 LinVT-only
    checkpoint's, ready to go on top of its image-LLM. A model object is returned as it is."""
    if isinstance(source, PreTrainedModel):
        return source
    source = os.fspath(source)
    family_config = legacy_family_config(source, **hub_kwargs(kwargs))
    if family_config is None:
        config = LinVTConfig.from_pretrained(source, **hub_kwargs(kwargs))
        # Mismatched shapes are let through to be reported with the other problems, by name.
        kwargs = {**kwargs, "output_loading_info": True, "ignore_mismatched_sizes": True}
        tokenizer, info = video_tokenizer_class(config).from_pretrained(source, config=config, **kwargs)
        check_complete(info, source)
        return tokenizer
    config = copy.deepcopy(family_config.video_tokenizer_config)
    config.image_llm_name_or_path = family_config.image_llm_name_or_path
    legacy = optional_file(source, LEGACY_LINVT_WEIGHTS, **hub_kwargs(kwargs))
    state = {k[len(LEGACY_PREFIX):]: v for k, v in load_file(legacy).items() if k.startswith(LEGACY_PREFIX)}
    tokenizer = build_video_tokenizer(config)
    missing, unexpected = tokenizer.load_state_dict(convert_legacy_state_dict(state), strict=False)
    if missing or unexpected:
        raise ValueError(
            f"the LinVT weights in {legacy} do not match the video tokenizer its config describes (missing keys: "
            f"{sorted(missing)}; unexpected keys: {sorted(unexpected)})"
        )
    return tokenizer


def check_complete(info: dict[str, Any], source: str) -> None:
    """Raise unless `from_pretrained`'s loading info says every weight of the saved video tokenizer was there, and
    nothing else: a trained tokenizer missing weights would run with freshly initialised ones.

    Raises:
        ValueError: names the checkpoint and the missing, unexpected or mismatched keys.
    """
    problems = {
        "missing keys": sorted(info.get("missing_keys", ())),
        "unexpected keys": sorted(info.get("unexpected_keys", ())),
        "mismatched shapes": sorted(
            f"{key} {tuple(saved)} in the file, {tuple(expected)} in the model"
            for key, saved, expected, *_ in info.get("mismatched_keys", ())
        ),
    }
    if any(problems.values()):
        details = "; ".join(
            f"{len(keys)} {name}: {keys[:8]}{' ...' if len(keys) > 8 else ''}"
            for name, keys in problems.items()
            if keys
        )
        raise ValueError(
            f"the video tokenizer weights in {source} do not match the video tokenizer its config.json describes "
            f"({details})"
        )


def graft_image_llm(cls: type, image_llm: PreTrainedModel, config: Any) -> PreTrainedModel:
    """A LinVT model made of a loaded image-LLM's own modules (shared, not copied) and a fresh video tokenizer on its
    embeddings' device and dtype. The skeleton is built on the meta device, so nothing is allocated twice."""
    with torch.device("meta"):
        model = cls(config)
    for name, child in image_llm.named_children():
        if name != "model":
            setattr(model, name, child)
    inner = image_llm.model
    for name, child in inner.named_children():
        setattr(model.model, name, child)
    for name, parameter in inner.named_parameters(recurse=False):
        setattr(model.model, name, parameter)
    for name, buffer in inner.named_buffers(recurse=False):
        model.model.register_buffer(name, buffer)
    embeddings = image_llm.get_input_embeddings().weight
    model.model.video_tokenizer = build_video_tokenizer(config.video_tokenizer_config).to(
        embeddings.device, embeddings.dtype
    )
    model.video_text_logit_scale = nn.Parameter(
        torch.tensor(INITIAL_LOGIT_SCALE, device=embeddings.device, dtype=embeddings.dtype)
    )
    model.generation_config = copy.deepcopy(image_llm.generation_config)
    return model.train(image_llm.training)


def check_video_tokenizer_target(model: Any, for_hub: bool) -> str:
    """The image-LLM a LinVT-only checkpoint of `model` would load onto; raises `ValueError` (before anything is
    written or created) when there is none, or, for the Hub, when it is not a Hub repo id."""
    name = model.config.image_llm_name_or_path
    if not name:
        raise ValueError(
            "a LinVT-only checkpoint loads onto the image-LLM its config names, but config.image_llm_name_or_path is "
            "not set: set it to the image-LLM's Hub id or folder (from_backbone does), or save the whole model"
        )
    if for_hub and not is_hub_repo_id(name):
        where = "a folder on this machine" if os.path.isdir(name) else "not a Hub repo id ('org/name')"
        raise ValueError(
            f"config.image_llm_name_or_path is {name!r}, {where}: a LinVT-only checkpoint on the Hub loads onto the "
            "image-LLM it names, which nobody else could load from there. Set model.config.image_llm_name_or_path to "
            "the Hub id of the image-LLM LinVT was trained on before pushing, or push the whole model"
        )
    return name


__all__ = [
    "HUB_KWARGS",
    "check_complete",
    "check_video_tokenizer_target",
    "graft_image_llm",
    "hub_kwargs",
    "legacy_family_config",
    "image_llm_class_of",
    "is_hub_repo_id",
    "load_video_tokenizer",
]
