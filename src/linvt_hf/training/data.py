"""Loading video instruction data (LLaVA / VideoChat2 style JSON or JSONL) into one `datasets.Dataset` schema.

Every record becomes `{"id", "video", "images", "conversations", "task"}`:

- `images`: the record's image paths, in order: `"image"` may name one image or, as in LLaVA-OneVision's
  multi-image data, a list of them (`[]` when there is none).
- `conversations`: a list of `{"from": "human" | "gpt" | "system", "value": str}` turns. The first human turn holds
  the `<video>` marker where the video goes and one `<image>` marker per image; the markers are prepended when the
  record names a video (images) but its text has none. A video record without images whose text marks the video
  with a single `<image>` (as some public video-instruction sets do) gets that marker read as `<video>`.
- `task`: `"caption"` for caption records (`{"id", "video", "caption"}`, turned into a one-turn conversation with a
  fixed prompt, `CAPTION_PROMPT`), `"instruction"` for everything else. The collator marks the caption tokens of
  `"caption"` records for stage 1's contrastive loss.

Accepted record shapes: `"conversations"` with `from`/`value` (LLaVA, VideoChatGPT) or `role`/`content` turns,
`"QA": [{"i", "q", "a"}, ...]` (VideoChat2), and `"caption"`; records already in the schema above (`"images"`,
`"task"`) load unchanged. Videos and images are paths (relative to the collator's `video_root`) or URLs; nothing is
decoded here, the collator does that lazily.

Records come from JSON / JSONL files, a `datasets.Dataset` or a list of dicts. A JSONL line that is not a JSON object
stops loading with an error naming the file and the line, or, with `skip_malformed=True`, is skipped and counted.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import datasets
from datasets.exceptions import DatasetGenerationError
from transformers.utils import logging

logger = logging.get_logger(__name__)

VIDEO_MARKER = "<video>"
IMAGE_MARKER = "<image>"
CAPTION_PROMPT = "Describe the video briefly."
TASKS = ("caption", "instruction")
MAX_LINES_NAMED = 5  # malformed lines named in a message; the rest are only counted

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
    data_files: str
    | os.PathLike
    | Sequence[str | os.PathLike]
    | Mapping[str, Any]
    | datasets.Dataset
    | Sequence[Mapping[str, Any]],
    split: str = "train",
    caption_prompt: str = CAPTION_PROMPT,
    cache_dir: str | None = None,
    skip_malformed: bool = False,
    return_num_malformed: bool = False,
) -> datasets.Dataset | tuple[datasets.Dataset, int]:
    r"""
    Load instruction data (QA, captions, image QA; files may mix kinds) into one normalised dataset.

    Args:
        data_files (`str`, `list[str]`, `dict`, `datasets.Dataset` or `list[dict]`): JSON / JSONL files (a dict maps
            split names to files, or is a `datasets.DatasetDict`), a `datasets.Dataset` of records, or the records
            themselves as a list of dicts. All go through the same normalisation.
        split (`str`, defaults to `"train"`): the split to return when `data_files` is a dict.
        caption_prompt (`str`): the user turn that caption records get (after the `<video>` marker).
        cache_dir (`str`, *optional*): the `datasets` cache folder.
        skip_malformed (`bool`, defaults to `False`): skip JSONL lines that are not JSON objects (logging their
            count and line numbers per file) instead of raising.
        return_num_malformed (`bool`, defaults to `False`): also return the number of lines skipped.

    Returns:
        `datasets.Dataset` with columns `id`, `video`, `images`, `conversations`, `task` (see the module docstring),
        or `(dataset, num_malformed_lines)` with `return_num_malformed=True`.

    Raises:
        ValueError: a JSONL line that is not a JSON object (naming the file and the 1-based line) unless
            `skip_malformed` (then: a file with no record left), a JSON array file that does not parse (naming its
            line and column), an empty file, a record with neither
            `conversations`, `QA` nor `caption`, a conversation that does not start with a human turn or does not
            alternate human/gpt, a number of video (image) markers other than the number of videos (images),
            markers outside the first human turn, or an `image` that is neither a path nor a list of paths.
        TypeError: `data_files` of another type, or a list that mixes paths and records.
    """
    if isinstance(data_files, Mapping):
        if split not in data_files:
            raise ValueError(f"split {split!r} not in data_files (splits: {sorted(data_files)})")
        data_files = data_files[split]
    if isinstance(data_files, datasets.Dataset):
        dataset, num_malformed = _normalise_dataset(data_files, caption_prompt, "the given datasets.Dataset"), 0
    elif _is_record_list(data_files):
        dataset, num_malformed = _normalise_records(data_files, caption_prompt), 0
    else:
        dataset, num_malformed = _load_files(_file_list(data_files), caption_prompt, cache_dir, skip_malformed)
    return (dataset, num_malformed) if return_num_malformed else dataset


def _is_record_list(data_files: Any) -> bool:
    """Whether `data_files` is a non-empty list of records (dicts) rather than of paths."""
    return (
        isinstance(data_files, Sequence)
        and not isinstance(data_files, (str, bytes))
        and len(data_files) > 0
        and isinstance(data_files[0], Mapping)
    )


def _file_list(data_files: Any) -> list[str]:
    """`data_files` as a non-empty list of paths."""
    if isinstance(data_files, (str, os.PathLike)):
        data_files = [data_files]
    if not isinstance(data_files, Sequence) or isinstance(data_files, bytes):
        raise TypeError(
            "data_files must be a path, a list of paths, a dict of splits, a datasets.Dataset or a list of dicts; "
            f"got {type(data_files).__name__}"
        )
    for index, item in enumerate(data_files):
        if not isinstance(item, (str, os.PathLike)):
            raise TypeError(f"data_files[{index}] is a {type(item).__name__}; expected a path (or all items dicts)")
    if not data_files:
        raise ValueError("data_files is empty")
    return [os.fspath(f) for f in data_files]


def _normalise_records(records: Sequence[Mapping[str, Any]], caption_prompt: str) -> datasets.Dataset:
    """A list of records (already in memory), normalised into the `FEATURES` schema."""
    rows = []
    for index, record in enumerate(records):
        if not isinstance(record, Mapping):
            raise TypeError(f"data_files[{index}] is a {type(record).__name__}; expected a dict (or all items paths)")
        rows.append(_normalise_record(dict(record), index, caption_prompt, "the given records"))
    return datasets.Dataset.from_list(rows, features=FEATURES)


def _normalise_dataset(raw: datasets.Dataset, caption_prompt: str, source: str) -> datasets.Dataset:
    return raw.map(
        _normalise_record,
        with_indices=True,
        fn_kwargs={"caption_prompt": caption_prompt, "source": source},
        remove_columns=raw.column_names,
        features=FEATURES,
        desc=f"normalising {os.path.basename(source)}",
    )


def _load_files(
    files: list[str], caption_prompt: str, cache_dir: str | None, skip_malformed: bool
) -> tuple[datasets.Dataset, int]:
    """The files' records, normalised and concatenated, and the number of malformed lines skipped."""
    parts, num_malformed = [], 0
    for path in files:
        raw, skipped = _read_json_file(path, cache_dir, skip_malformed)
        parts.append(_normalise_dataset(raw, caption_prompt, path))
        num_malformed += skipped
    dataset = parts[0] if len(parts) == 1 else datasets.concatenate_datasets(parts)
    return dataset, num_malformed


def _read_json_file(path: str, cache_dir: str | None, skip_malformed: bool) -> tuple[datasets.Dataset, int]:
    """One JSON / JSONL file (or anything else the `datasets` JSON reader takes: a glob, a URL) as a raw dataset,
    and the number of malformed lines skipped.

    The `datasets` JSON reader does the work; only when it fails on a local file is the file scanned line by line,
    to name the malformed line or, with `skip_malformed`, to read the other lines.
    """
    local = os.path.isfile(path)
    if local and _first_byte(path) is None:
        raise ValueError(f"{path} is empty: it holds no records")
    try:
        return datasets.load_dataset("json", data_files=path, split="train", cache_dir=cache_dir), 0
    except (ValueError, DatasetGenerationError) as error:
        if not local:
            raise
        count, named = _malformed_lines(path, error, skip_malformed)
    lines = ", ".join(str(line) for line, _ in named) + (", ..." if count > len(named) else "")
    logger.warning(f"skipping {count} malformed line(s) of {path} (lines {lines}); line {named[0][0]}: {named[0][1]}")
    stat = os.stat(path)
    raw = datasets.Dataset.from_generator(
        _json_objects,
        gen_kwargs={"path": path, "stamp": (stat.st_size, stat.st_mtime_ns)},  # the stamp keys the cache
        cache_dir=cache_dir,
    )
    return raw, count


def _malformed_lines(path: str, error: Exception, skip_malformed: bool) -> tuple[int, list[tuple[int, str]]]:
    """After the JSON reader failed on `path` with `error`: the number of malformed JSONL lines and the first few
    (1-based line, why). Raises a ValueError naming the first one unless `skip_malformed` (or when no line is left),
    and re-raises `error` when the file has no malformed line (the failure was something else)."""
    if _first_byte(path) == b"[":  # one JSON array, not JSON lines
        _raise_json_document_error(path, error)
        raise error
    count, named, num_records = _scan_json_lines(path)
    if not count:
        raise error
    line, reason = named[0]
    if not skip_malformed:
        raise ValueError(
            f"{path}, line {line}: {reason} ({count} malformed line(s) in the file; skip_malformed=True skips them)"
        ) from error
    if not num_records:
        raise ValueError(f"{path}: no record left after skipping its {count} malformed line(s) (line {line}: {reason})")
    return count, named


def _first_byte(path: str) -> bytes | None:
    """The file's first non-whitespace byte (None when it has none)."""
    with open(path, "rb") as handle:
        for line in handle:
            if line.strip():
                return line.lstrip()[:1]
    return None


def _raise_json_document_error(path: str, error: Exception) -> None:
    """Raise a ValueError naming the line and column where the JSON document `path` stops parsing, if it does."""
    with open(path, "rb") as handle:
        try:
            json.load(handle)
        except json.JSONDecodeError as bad:
            raise ValueError(
                f"{path}, line {bad.lineno}, column {bad.colno}: invalid JSON ({bad.msg}); a JSON array cannot be "
                "read in part (skip_malformed applies to JSONL only): fix the file"
            ) from error
        except UnicodeDecodeError as bad:
            raise ValueError(f"{path}: not UTF-8 text ({bad})") from error


def _parse_line(line: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """A JSONL line as `(record, None)`, `(None, why)` when it is not a JSON object, `(None, None)` when blank."""
    line = line.rstrip()  # columns then count from the line's start, as in an editor
    if not line:
        return None, None
    try:
        value = json.loads(line)
    except json.JSONDecodeError as error:
        return None, f"invalid JSON ({error.msg} at column {error.colno})"
    except UnicodeDecodeError as error:
        return None, f"not UTF-8 text ({error})"
    if not isinstance(value, dict):
        return None, f"expected a JSON object, got a JSON {type(value).__name__}"
    return value, None


def _scan_json_lines(path: str) -> tuple[int, list[tuple[int, str]], int]:
    """The number of malformed lines of a JSONL file, the first `MAX_LINES_NAMED` of them (1-based, why), and the
    number of records (well-formed lines)."""
    count, named, num_records = 0, [], 0
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            record, problem = _parse_line(line)
            num_records += record is not None
            if problem is not None:
                count += 1
                if len(named) < MAX_LINES_NAMED:
                    named.append((number, problem))
    return count, named, num_records


def _json_objects(path: str, stamp: tuple[int, int]) -> Iterator[dict[str, Any]]:
    """The records of a JSONL file, malformed and blank lines left out. `stamp` only keys the `datasets` cache."""
    with open(path, "rb") as handle:
        for line in handle:
            record = _parse_line(line)[0]
            if record is not None:
                yield record


def _normalise_record(record: dict[str, Any], index: int, caption_prompt: str, source: str) -> dict[str, Any]:
    where = f"record {record.get('id')!r} (row {index}) of {source}"
    video, images = record.get("video"), _record_images(record, where)
    if video is not None and not isinstance(video, str):
        raise ValueError(f"{where}: 'video' must be a path or URL string, got {type(video).__name__}")
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
    if record.get("task") in TASKS:  # a record already in the schema keeps its kind
        task = record["task"]
    _check_roles(turns, where)
    if video is not None and not images:
        _image_marker_as_video(turns)
    _place_markers(turns, VIDEO_MARKER, 0 if video is None else 1, where)
    _place_markers(turns, IMAGE_MARKER, len(images), where)
    return {
        "id": None if record.get("id") is None else str(record["id"]),
        "video": video,
        "images": images,
        "conversations": turns,
        "task": task,
    }


def _record_images(record: Mapping[str, Any], where: str) -> list[str]:
    """The record's image paths: from `image` (one or a list), or from `images` (a normalised record's list)."""
    if record.get("image") is not None or record.get("images") is None:
        return _image_paths(record.get("image"), where)
    images = record["images"]
    if isinstance(images, str) or not all(isinstance(path, str) for path in images):
        raise ValueError(f"{where}: 'images' must be a list of paths, got {images!r}")
    return list(images)


def _image_marker_as_video(turns: list[dict[str, str]]) -> None:
    """A video record without images whose text has no `<video>` but one `<image>` marker: that marker stands for
    the video (as in some public video-instruction sets), so it becomes `<video>`."""
    if any(VIDEO_MARKER in t["value"] for t in turns):
        return
    holders = [t for t in turns if IMAGE_MARKER in t["value"]]
    if len(holders) == 1 and holders[0]["value"].count(IMAGE_MARKER) == 1:
        holders[0]["value"] = holders[0]["value"].replace(IMAGE_MARKER, VIDEO_MARKER)


def _turn(turn: Mapping[str, Any], where: str) -> dict[str, str]:
    # Either key pair; a table that mixes both fills the other pair with None.
    role = turn.get("from") if turn.get("from") is not None else turn.get("role")
    value = turn.get("value") if turn.get("value") is not None else turn.get("content")
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
    none (`count` 0: there must be none)."""
    counts = [t["value"].count(marker) for t in turns]
    first_human = next(i for i, t in enumerate(turns) if t["from"] == "human")
    if sum(counts) == 0:
        turns[first_human]["value"] = f"{marker}\n" * count + turns[first_human]["value"]
    elif counts[first_human] != count or sum(counts) != count:
        raise ValueError(
            f"{where}: expected {count} {marker} marker(s), all in the first human turn; found {counts} per turn"
        )


__all__ = ["CAPTION_PROMPT", "FEATURES", "IMAGE_MARKER", "VIDEO_MARKER", "load_video_instruction_data"]
