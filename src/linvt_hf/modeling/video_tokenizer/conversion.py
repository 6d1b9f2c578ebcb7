"""Loading weights saved by linvt-hf 0.1, whose tokenizer had other parameter names (`tokenizer/` package).

0.1 kept SVR's scoring network as `scorer`, TTA's parts flat on the tokenizer (`text`, `aggregators`,
`scale_embedding`) and the baselines under `baseline`; the redesign nests them as the paper does: `svr`, and `tta`
with `text`, `query_sets` and `multiscale`. The numbers are unchanged: the same weights give the same outputs.
"""

from __future__ import annotations

import re
from typing import TypeVar

# (regex, replacement) on a key relative to the tokenizer's root, applied in order; each applies at most once.
LEGACY_STATE_DICT_RENAMES: list[tuple[str, str]] = [
    (r"^scorer\.", "svr."),
    (r"^text\.", "tta.text."),
    (r"^aggregators\.", "tta.query_sets."),
    (r"^scale_embedding$", "tta.multiscale.scale_embedding"),
    (r"^baseline\.", ""),
]

Value = TypeVar("Value")


def legacy_renames(prefix: str = "") -> list[tuple[str, str]]:
    """`LEGACY_STATE_DICT_RENAMES` for keys under `prefix` (e.g. "video_tokenizer."; the prefix is kept)."""
    escaped = re.escape(prefix)
    return [(f"^{escaped}{pattern[1:]}", prefix + replacement) for pattern, replacement in LEGACY_STATE_DICT_RENAMES]


def convert_legacy_key(key: str, prefix: str = "") -> str:
    """One key of a 0.1 state dict in today's name (keys already in today's names, or not under `prefix`, stay)."""
    for pattern, replacement in legacy_renames(prefix):
        key, count = re.subn(pattern, replacement, key)
        if count:
            return key
    return key


def convert_legacy_state_dict(state_dict: dict[str, Value], prefix: str = "") -> dict[str, Value]:
    """A copy of `state_dict` with linvt-hf 0.1 tokenizer keys renamed (`LEGACY_STATE_DICT_RENAMES`), values untouched.

    Keys are relative to the tokenizer's root, or under `prefix` (e.g. a whole model's "video_tokenizer."). Idempotent.

    Raises:
        ValueError: two keys would get the same name (a mix of old and new names for one parameter).
    """
    converted: dict[str, Value] = {}
    for key, value in state_dict.items():
        new_key = convert_legacy_key(key, prefix)
        if new_key in converted:
            raise ValueError(f"state dict key {key!r} becomes {new_key!r}, which another key already has")
        converted[new_key] = value
    return converted
