"""What every conversion shares: reading an original checkpoint folder, renaming its keys by a table, building the
transformers model from the translated config, and writing it with `save_pretrained`.

A conversion never guesses: a key that no rule of its table matches, a key the transformers model expects and
does not get, or a weight that cannot be represented in the target layout is an error naming it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file
from transformers import PreTrainedConfig, PreTrainedModel

# Tokenizer files copied unchanged from the original folder (whichever exist).
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.json",
    "merges.txt",
    "tokenizer.model",
)


class ConversionError(ValueError):
    """An original checkpoint that a conversion cannot turn into the target layout exactly."""


class UnrecognizedKeysError(ConversionError):
    """Keys of the original checkpoint that no rule of the conversion's key table matches."""

    def __init__(self, layout: str, keys: Sequence[str]) -> None:
        self.layout, self.keys = layout, list(keys)
        shown = ", ".join(self.keys[:20]) + (f", ... ({len(self.keys)} in all)" if len(self.keys) > 20 else "")
        super().__init__(f"{layout}: {len(self.keys)} key(s) of the checkpoint are not in its key table: {shown}")


class DestinationNotEmptyError(ConversionError):
    """The output folder exists and holds files; nothing is written over them without `overwrite=True`."""


@dataclass(frozen=True)
class KeyRule:
    """One row of a key table: original keys matching `pattern` (a full-match regex) become `targets` (templates for
    `re.Match.expand`). With several targets, `split(tensor)` returns one tensor per target (e.g. a fused qkv)."""

    pattern: str
    targets: tuple[str, ...]
    split: Callable[[torch.Tensor], Sequence[torch.Tensor]] | None = None

    def apply(self, key: str, tensor: torch.Tensor) -> dict[str, torch.Tensor] | None:
        match = re.fullmatch(self.pattern, key)
        if match is None:
            return None
        if self.split is None:
            if len(self.targets) != 1:
                raise ValueError(f"key rule {self.pattern!r}: several targets need a split function")
            return {match.expand(self.targets[0]): tensor}
        parts = list(self.split(tensor))
        if len(parts) != len(self.targets):
            raise ValueError(f"key rule {self.pattern!r}: {len(parts)} tensors for {len(self.targets)} targets")
        return {match.expand(target): part.contiguous() for target, part in zip(self.targets, parts)}


def rule(pattern: str, *targets: str, split: Callable[[torch.Tensor], Sequence[torch.Tensor]] | None = None) -> KeyRule:
    return KeyRule(pattern, tuple(targets), split)


def rename_keys(state_dict: dict[str, torch.Tensor], rules: Iterable[KeyRule], layout: str) -> dict[str, torch.Tensor]:
    """Apply the key table (first matching rule wins); raises `UnrecognizedKeysError` naming every unmatched key."""
    rules = list(rules)
    converted: dict[str, torch.Tensor] = {}
    unmatched: list[str] = []
    for key, tensor in state_dict.items():
        for key_rule in rules:
            out = key_rule.apply(key, tensor)
            if out is not None:
                duplicates = sorted(k for k in out if k in converted)
                if duplicates:
                    raise ConversionError(f"{layout}: key {key!r} maps onto {duplicates}, already written by another")
                converted.update(out)
                break
        else:
            unmatched.append(key)
    if unmatched:
        raise UnrecognizedKeysError(layout, sorted(unmatched))
    return converted


def split_rows(*sizes: int) -> Callable[[torch.Tensor], Sequence[torch.Tensor]]:
    """Split a fused weight [sum(sizes), in] (or bias [sum(sizes)]) along its first dimension."""

    def split(tensor: torch.Tensor) -> Sequence[torch.Tensor]:
        if tensor.shape[0] != sum(sizes):
            raise ConversionError(f"fused weight of shape {tuple(tensor.shape)} does not split into rows {sizes}")
        return torch.split(tensor, list(sizes), dim=0)

    return split


@dataclass
class OriginalCheckpoint:
    """An original checkpoint folder: its `config.json` and its weights (all shards)."""

    path: Path
    config: dict[str, Any]
    state_dict: dict[str, torch.Tensor]


def load_original(path: str | os.PathLike) -> OriginalCheckpoint:
    """Read `config.json` and the weights: the shards of model.safetensors.index.json, else model*.safetensors,
    else pytorch_model*.bin (loaded with weights_only)."""
    folder = Path(path)
    if not folder.is_dir():
        raise FileNotFoundError(f"original checkpoint folder {str(folder)!r} does not exist")
    config_file = folder / "config.json"
    if not config_file.is_file():
        raise FileNotFoundError(f"{str(folder)!r} has no config.json: not a checkpoint folder")
    config = json.loads(config_file.read_text(encoding="utf-8"))
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
        files = [folder / name for name in sorted(set(weight_map.values()))]
    else:
        files = sorted(folder.glob("model*.safetensors"))
    state_dict: dict[str, torch.Tensor] = {}
    if files:
        for file in files:
            state_dict.update(load_file(file))
    else:
        files = sorted(folder.glob("pytorch_model*.bin"))
        if not files:
            raise FileNotFoundError(f"{str(folder)!r} has no weights (*.safetensors or pytorch_model*.bin)")
        for file in files:
            state_dict.update(torch.load(file, map_location="cpu", weights_only=True))
    return OriginalCheckpoint(folder, config, state_dict)


def find_token_ids(folder: str | os.PathLike, tokens: Iterable[str]) -> dict[str, int | None]:
    """The ids of `tokens` among the added tokens of the tokenizer files in `folder` (None where absent), read from
    tokenizer.json, tokenizer_config.json and added_tokens.json without loading a tokenizer class."""
    folder, tokens = Path(folder), list(tokens)
    found: dict[str, int] = {}
    tokenizer_json = folder / "tokenizer.json"
    if tokenizer_json.is_file():
        data = json.loads(tokenizer_json.read_text(encoding="utf-8"))
        found.update({entry["content"]: int(entry["id"]) for entry in data.get("added_tokens", [])})
        vocab = (data.get("model") or {}).get("vocab")
        if isinstance(vocab, dict):
            found.update({token: int(vocab[token]) for token in tokens if token in vocab and token not in found})
    config_json = folder / "tokenizer_config.json"
    if config_json.is_file():
        decoder = json.loads(config_json.read_text(encoding="utf-8")).get("added_tokens_decoder", {})
        found.update({entry["content"]: int(i) for i, entry in decoder.items()})
    added_json = folder / "added_tokens.json"
    if added_json.is_file():
        found.update({token: int(i) for token, i in json.loads(added_json.read_text(encoding="utf-8")).items()})
    return {token: found.get(token) for token in tokens}


@dataclass
class ConversionReport:
    """What a conversion did: the target model type, how many tensors it wrote, the original config fields it did
    not carry over (training flags, paths), and any notes (e.g. an explicitly allowed loss)."""

    layout: str
    model_type: str
    destination: Path
    num_tensors: int = 0
    ignored_config_fields: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"converted {self.layout} -> {self.model_type} ({self.num_tensors} tensors) in {self.destination}"]
        if self.ignored_config_fields:
            lines.append("original config fields not carried over: " + ", ".join(self.ignored_config_fields))
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)


def check_destination(destination: str | os.PathLike, overwrite: bool) -> Path:
    """The output folder: refused when it exists, is not a folder, or is not empty (unless `overwrite`)."""
    destination = Path(destination)
    if destination.exists() and not destination.is_dir():
        raise DestinationNotEmptyError(f"output {str(destination)!r} exists and is not a folder")
    if destination.is_dir() and any(destination.iterdir()) and not overwrite:
        raise DestinationNotEmptyError(
            f"output folder {str(destination)!r} is not empty; choose another folder or pass overwrite=True "
            "(--overwrite), which replaces its contents"
        )
    return destination


def build_and_save(
    model_class: type[PreTrainedModel],
    config: PreTrainedConfig,
    state_dict: dict[str, torch.Tensor],
    original: OriginalCheckpoint,
    destination: str | os.PathLike,
    overwrite: bool,
    report: ConversionReport,
    architecture: str | None = None,
) -> ConversionReport:
    """Put `state_dict` into `model_class(config)` (every key it expects, nothing else, shapes checked), then write
    it with `save_pretrained` plus the original tokenizer files, into a temporary folder moved into place at the end
    (a failed conversion leaves no half-written output). `architecture`: the class name the config records, where
    `model_class` only writes the weights of that transformers class (plus what it adds)."""
    destination = check_destination(destination, overwrite)
    source = original.path.resolve()
    if destination.resolve() == source or destination.resolve() in source.parents:
        raise DestinationNotEmptyError(f"output folder {str(destination)!r} holds the original checkpoint itself")
    with torch.device("meta"):
        model = model_class(config)
    expected = model.state_dict()
    tie_sources = model.get_expanded_tied_weights_keys(all_submodels=True)  # tied key -> the key it shares
    tied = set(tie_sources)
    missing = sorted(set(expected) - set(state_dict) - tied)
    unexpected = sorted(set(state_dict) - set(expected))
    if missing or unexpected:
        raise ConversionError(
            f"{report.layout}: the converted weights do not fit {model_class.__name__}: missing {missing[:20]}, "
            f"unexpected {unexpected[:20]}"
        )
    for key in sorted(set(state_dict) & tied):  # a tied head saved anyway must be the embedding itself
        shared = tie_sources[key]
        if shared in state_dict and not torch.equal(state_dict[key], state_dict[shared]):
            raise ConversionError(
                f"{report.layout}: {key} differs from {shared}, but the converted config ties them "
                "(tie_word_embeddings=True); this checkpoint's head is not tied"
            )
        report.notes.append(f"{key} equals {shared} (tied weights): saved once")
    wrong = [
        f"{key}: {tuple(tensor.shape)} vs {tuple(expected[key].shape)}"
        for key, tensor in state_dict.items()
        if tuple(tensor.shape) != tuple(expected[key].shape)
    ]
    if wrong:
        raise ConversionError(f"{report.layout}: converted weights of the wrong shape: {wrong[:20]}")
    state_dict = {key: value for key, value in state_dict.items() if key not in tied}  # equal to their sources
    model.load_state_dict(state_dict, strict=False, assign=True)
    model.tie_weights()
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.converting-", dir=destination.parent))
    try:
        model.save_pretrained(staging)
        if architecture is not None:
            model.config.architectures = [architecture]
            model.config.save_pretrained(staging)
        for name in TOKENIZER_FILES:
            if (original.path / name).is_file():
                shutil.copy2(original.path / name, staging / name)
        if destination.exists():
            shutil.rmtree(destination)
        staging.rename(destination)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    report.num_tensors = len(state_dict)
    report.destination = destination
    return report


def config_fields(values: dict[str, Any], accepted: Iterable[str]) -> tuple[dict[str, Any], list[str]]:
    """Split an original config dict into the fields `accepted` and the names of the others."""
    accepted = set(accepted)
    kept = {key: value for key, value in values.items() if key in accepted}
    return kept, sorted(key for key in values if key not in accepted)


def take_rotary_buffers(
    state_dict: dict[str, torch.Tensor], text_config: PreTrainedConfig, layout: str
) -> list[str]:
    """Remove the rotary inverse frequencies older checkpoints saved (`*rotary_emb.inv_freq`): transformers recomputes
    them from the config. Each must equal 1 / theta^(2i / dim) for the converted config's rope theta, else the
    checkpoint used other frequencies and is refused. Returns notes for the report."""
    keys = [key for key in state_dict if key.endswith("rotary_emb.inv_freq")]
    if not keys:
        return []
    parameters = getattr(text_config, "rope_parameters", None) or {}
    theta = parameters.get("rope_theta", getattr(text_config, "rope_theta", None))
    for key in keys:
        saved = state_dict.pop(key).double()
        dim = 2 * saved.shape[0]
        expected = 1.0 / (float(theta) ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim))
        if not torch.allclose(saved, expected, rtol=1e-3, atol=0.0):
            raise ConversionError(
                f"{layout}: {key} holds rotary frequencies other than those of rope theta {theta} (the config's); "
                "transformers would recompute different ones"
            )
    return [f"{len(keys)} saved rotary_emb.inv_freq buffer(s) equal transformers' recomputed ones: not written"]


def torch_dtype_of(original: dict[str, Any]) -> str | None:
    value = original.get("torch_dtype") or original.get("dtype")
    return value if isinstance(value, str) else None


__all__ = [
    "ConversionError",
    "ConversionReport",
    "DestinationNotEmptyError",
    "KeyRule",
    "OriginalCheckpoint",
    "UnrecognizedKeysError",
    "build_and_save",
    "check_destination",
    "config_fields",
    "find_token_ids",
    "load_original",
    "rename_keys",
    "rule",
    "split_rows",
    "take_rotary_buffers",
]
