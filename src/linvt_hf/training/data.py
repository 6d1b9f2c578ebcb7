"""Loading video instruction data (LLaVA / VideoChat2 style JSON or JSONL) into one `datasets.Dataset` schema.

Every record becomes `{"id", "video", "images", "conversations", "task"}`:

- `images`: the record's image paths, in order: `"image"` may name one image or, as in LLaVA-OneVision's
  multi-image data, a list of them (`[]` when there is none).
- `conversations`: a list of `{"from": "human" | "gpt" | "system", "value": str}` turns. The first human turn holds
  the `<video>` marker where the video goes and one `<image>` marker per image; the markers are prepended when the
  record names a video (images) but its text has none.
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
        "images": datasets.List(datasets.Value("string")),
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
        `datasets.Dataset` with columns `id`, `video`, `images`, `conversations`, `task` (see the module docstring).

    Raises:
        ValueError: a record with neither `conversations`, `QA` nor `caption`, a conversation that does not start with
            a human turn or does not alternate human/gpt, more than one video marker, a number of image markers
            other than the number of images, markers outside the first human turn, or an `image` that is neither a
            path nor a list of paths.
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
    video, images = record.get("video"), _image_paths(record.get("image"), where)
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
        _place_markers(turns, VIDEO_MARKER, 1, where)
    if images:
        _place_markers(turns, IMAGE_MARKER, len(images), where)
    return {
        "id": None if record.get("id") is None else str(record["id"]),
        "video": video,
        "images": images,
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


def _image_paths(image: Any, where: str) -> list[str]:
    """`image` as a list of paths: None -> [], one path -> [path], a list of paths as it is."""
    if image is None:
        return []
    if isinstance(image, str):
        return [image]
    if isinstance(image, Sequence) and image and all(isinstance(path, str) for path in image):
        return list(image)
    raise ValueError(f"{where}: 'image' must be a path or a non-empty list of paths, got {image!r}")


def _place_markers(turns: list[dict[str, str]], marker: str, count: int, where: str) -> None:
    """Check there are exactly `count` `marker`s, all in the first human turn; prepend them there when there are
    none."""
    counts = [t["value"].count(marker) for t in turns]
    first_human = next(i for i, t in enumerate(turns) if t["from"] == "human")
    if sum(counts) == 0:
        turns[first_human]["value"] = f"{marker}\n" * count + turns[first_human]["value"]
    elif counts[first_human] != count or sum(counts) != count:
        raise ValueError(
            f"{where}: expected {count} {marker} marker(s), all in the first human turn; found {counts} per turn"
        )


__all__ = ["CAPTION_PROMPT", "FEATURES", "IMAGE_MARKER", "VIDEO_MARKER", "load_video_instruction_data"]
