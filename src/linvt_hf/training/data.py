"""Loading video instruction data (LLaVA / VideoChat2 style JSON or JSONL) into one `datasets.Dataset` schema.

Every record becomes `{"id", "video", "image", "conversations", "task"}`:

- `conversations`: a list of `{"from": "human" | "gpt" | "system", "value": str}` turns. The first human turn holds
  the `<video>` (or `<image>`) marker where the video (image) goes; one is prepended when the record names a video
  (image) but its text has no marker.
- `task`: `"caption"` for caption records (`{"id", "video", "caption"}`, turned into a one-turn conversation with a
  fixed prompt, `CAPTION_PROMPT`), `"instruction"` for everything else. The collator marks the caption tokens of
  `"caption"` records for stage 1's contrastive loss.

Accepted record shapes: `"conversations"` with `from`/`value` (LLaVA, VideoChatGPT) or `role`/`content` turns,
`"QA": [{"i", "q", "a"}, ...]` (VideoChat2), and `"caption"`. Videos and images are paths (relative to the
collator's `video_root`) or URLs; nothing is decoded here, the collator does that lazily.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import datasets

VIDEO_MARKER = "<video>"
IMAGE_MARKER = "<image>"
CAPTION_PROMPT = "Describe the video briefly."

ROLE_ALIASES = {"human": "human", "user": "human", "gpt": "gpt", "assistant": "gpt", "system": "system"}

FEATURES = datasets.Features(
    {
        "id": datasets.Value("string"),
        "video": datasets.Value("string"),
        "image": datasets.Value("string"),
        "conversations": datasets.List({"from": datasets.Value("string"), "value": datasets.Value("string")}),
        "task": datasets.Value("string"),
    }
)


def load_video_instruction_data(
    data_files: str | os.PathLike | Sequence[str | os.PathLike] | Mapping[str, Any],
    split: str = "train",
    caption_prompt: str = CAPTION_PROMPT,
    cache_dir: str | None = None,
) -> datasets.Dataset:
    r"""
    Load JSON / JSONL instruction data (QA, captions, image QA; files may mix kinds) into one normalised dataset.

    Args:
        data_files (`str`, `list[str]` or `dict[str, str | list[str]]`): the files; a dict maps split names to files.
        split (`str`, defaults to `"train"`): the split to return when `data_files` is a dict.
        caption_prompt (`str`): the user turn that caption records get (after the `<video>` marker).
        cache_dir (`str`, *optional*): the `datasets` cache folder.

    Returns:
        `datasets.Dataset` with columns `id`, `video`, `image`, `conversations`, `task` (see the module docstring).

    Raises:
        ValueError: a record with neither `conversations`, `QA` nor `caption`, a conversation that does not start with
            a human turn or does not alternate human/gpt, or more than one video / image marker.
    """
    if isinstance(data_files, Mapping):
        if split not in data_files:
            raise ValueError(f"split {split!r} not in data_files (splits: {sorted(data_files)})")
        data_files = data_files[split]
    if isinstance(data_files, (str, os.PathLike)):
        data_files = [data_files]
    files = [os.fspath(f) for f in data_files]
    if not files:
        raise ValueError("data_files is empty")
    parts = []
    for path in files:
        raw = datasets.load_dataset("json", data_files=path, split="train", cache_dir=cache_dir)
        parts.append(
            raw.map(
                _normalise_record,
                fn_kwargs={"caption_prompt": caption_prompt, "source": path},
                remove_columns=raw.column_names,
                features=FEATURES,
                desc=f"normalising {os.path.basename(path)}",
            )
        )
    return parts[0] if len(parts) == 1 else datasets.concatenate_datasets(parts)


def _normalise_record(record: dict[str, Any], caption_prompt: str, source: str) -> dict[str, Any]:
    where = f"record {record.get('id')!r} of {source}"
    video, image = record.get("video"), record.get("image")
    if record.get("conversations") is not None:
        turns, task = [_turn(t, where) for t in record["conversations"]], "instruction"
    elif record.get("QA") is not None:
        turns, task = _videochat2_turns(record["QA"]), "instruction"
    elif record.get("caption") is not None:
        turns = [
            {"from": "human", "value": f"{VIDEO_MARKER}\n{caption_prompt}"},
            {"from": "gpt", "value": record["caption"]},
        ]
        task = "caption"
    else:
        raise ValueError(f"{where} has no 'conversations', 'QA' or 'caption'")
    _check_roles(turns, where)
    if video is not None:
        _place_marker(turns, VIDEO_MARKER, where)
    if image is not None:
        _place_marker(turns, IMAGE_MARKER, where)
    return {
        "id": None if record.get("id") is None else str(record["id"]),
        "video": video,
        "image": image,
        "conversations": turns,
        "task": task,
    }


def _turn(turn: Mapping[str, Any], where: str) -> dict[str, str]:
    role = turn.get("from", turn.get("role"))
    value = turn.get("value", turn.get("content"))
    if role not in ROLE_ALIASES or not isinstance(value, str):
        raise ValueError(f"{where}: a turn needs 'from' (human/gpt/system) and a string 'value', got {dict(turn)}")
    return {"from": ROLE_ALIASES[role], "value": value}


def _videochat2_turns(qa: Sequence[Mapping[str, str]]) -> list[dict[str, str]]:
    turns = []
    for item in qa:
        question = "\n".join(part for part in (item.get("i", ""), item.get("q", "")) if part)
        turns += [{"from": "human", "value": question}, {"from": "gpt", "value": item.get("a", "")}]
    return turns


def _check_roles(turns: list[dict[str, str]], where: str) -> None:
    dialogue = [t["from"] for t in turns if t["from"] != "system"]
    expected = ["human", "gpt"] * (len(dialogue) // 2)
    if not dialogue or len(dialogue) % 2 or dialogue != expected:
        raise ValueError(f"{where}: turns must alternate human/gpt, from human to gpt; got {dialogue}")


def _place_marker(turns: list[dict[str, str]], marker: str, where: str) -> None:
    """Check there is at most one `marker`, in the first human turn; prepend it there when there is none."""
    counts = [t["value"].count(marker) for t in turns]
    first_human = next(i for i, t in enumerate(turns) if t["from"] == "human")
    if sum(counts) > 1 or (sum(counts) == 1 and counts[first_human] != 1):
        raise ValueError(f"{where}: expected one {marker} marker, in the first human turn; found {counts} per turn")
    if sum(counts) == 0:
        turns[first_human]["value"] = f"{marker}\n{turns[first_human]['value']}"


__all__ = ["CAPTION_PROMPT", "FEATURES", "IMAGE_MARKER", "VIDEO_MARKER", "load_video_instruction_data"]
