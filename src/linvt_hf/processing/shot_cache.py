"""The shot cache: a video file's shots, kept on disk so that a second question about it does not detect again.

An entry is keyed by the SHA-256 of the video's whole content (read in blocks, never held in memory: a file changed
anywhere, even by one byte with its size and modification time kept, is a different key) and by every detector
setting that can change the result (detector, threshold, the AutoShot weights' SHA-256, the histogram detector's
constants, the package version). Only files and encoded bytes are cached; URLs, file objects and decoded frames are
not.

Where: `LINVT_SHOT_CACHE` (a folder), else `$XDG_CACHE_HOME/linvt-hf/shots` (default `~/.cache/linvt-hf/shots`),
the folder convention huggingface_hub follows. Off: `LINVT_DISABLE_SHOT_CACHE=1`, or `cache=False` where a
detector is built. Size: at most `LINVT_SHOT_CACHE_MAX_BYTES` (default 256 MB; an entry is a few bytes a frame);
the least recently used entries go first. Entries are written to a temporary file and moved into place with
`os.replace`, so concurrent writers never leave a partial entry; an unreadable entry counts as a miss and is removed.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

CACHE_ENV_VAR = "LINVT_SHOT_CACHE"
DISABLE_ENV_VAR = "LINVT_DISABLE_SHOT_CACHE"
MAX_BYTES_ENV_VAR = "LINVT_SHOT_CACHE_MAX_BYTES"
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
# Bumped whenever an entry's layout changes, or what the reader and detectors give for the same file (2: frames
# whose pts a demuxer misordered are placed in display order; 3: AutoShot's convolutions run channels-last, which
# moves their probabilities by float rounding; 4: its spatial convolutions run per frame and its undilated temporal
# ones on oneDNN, which moves float32's by rounding): older entries then simply miss.
CACHE_FORMAT = 4
_SUFFIX = ".npz"
_READ_BLOCK = 1 << 20


def shot_cache_dir() -> Path:
    """The cache folder: LINVT_SHOT_CACHE, else $XDG_CACHE_HOME/linvt-hf/shots (default ~/.cache/linvt-hf/shots)."""
    explicit = os.environ.get(CACHE_ENV_VAR)
    if explicit:
        return Path(explicit).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser() / "linvt-hf" / "shots"


def clear_shot_cache(folder: str | os.PathLike | None = None) -> int:
    """Remove every cached shot detection. Returns the number of entries removed.

    Args:
        folder: the cache folder (default `shot_cache_dir()`); only the cache's own entry files are removed.
    """
    return ShotCache(folder).clear()


def content_sha256(video: Any) -> str | None:
    """SHA-256 (hex) of a video file's or encoded bytes' whole content, read in 1 MB blocks; None for inputs the
    cache does not handle (URLs, file objects, decoded frames)."""
    from .video_io import is_url

    digest = hashlib.sha256()
    if isinstance(video, (bytes, bytearray, memoryview)):
        digest.update(video)
        return digest.hexdigest()
    if not isinstance(video, (str, os.PathLike)) or is_url(video):
        return None
    with open(video, "rb") as file:
        for block in iter(lambda: file.read(_READ_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


class ShotCache:
    """Shot detections on disk, keyed by video content and detector settings, bounded in size (LRU).

    Args:
        folder: where entries live (default `shot_cache_dir()`).
        max_bytes: size bound of all entries together (default LINVT_SHOT_CACHE_MAX_BYTES, else 256 MB).
    """

    def __init__(self, folder: str | os.PathLike | None = None, max_bytes: int | None = None) -> None:
        self.folder = Path(folder).expanduser() if folder is not None else shot_cache_dir()
        if max_bytes is None:
            text = os.environ.get(MAX_BYTES_ENV_VAR) or str(DEFAULT_MAX_BYTES)
            try:
                max_bytes = int(text)
            except ValueError:
                raise ValueError(f"{MAX_BYTES_ENV_VAR} must be a number of bytes, got {text!r}") from None
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
        self.max_bytes = max_bytes

    @staticmethod
    def enabled_by_default() -> bool:
        """False when LINVT_DISABLE_SHOT_CACHE is set to a true value (1, true, yes, on)."""
        return os.environ.get(DISABLE_ENV_VAR, "").strip().lower() not in ("1", "true", "yes", "on")

    @staticmethod
    def key(content: str, settings: Mapping[str, Any]) -> str:
        """The entry name for a video's content hash and the detector settings (JSON-serialisable values)."""
        text = json.dumps({"format": CACHE_FORMAT, "content": content, "settings": settings}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored detection fields, or None on a miss (an unreadable entry is removed and misses)."""
        path = self.folder / (key + _SUFFIX)
        try:
            with np.load(path, allow_pickle=False) as stored:
                fields = json.loads(str(stored["meta"]))
                for name in fields.pop("arrays"):
                    fields[name] = stored["array_" + name]
        except FileNotFoundError:
            return None
        except Exception:  # noqa: BLE001 - a damaged entry (partial copy, other format) is a miss, never an error
            path.unlink(missing_ok=True)
            return None
        for name in ("shots", "unreadable"):
            if name in fields:
                fields[name] = [tuple(int(x) for x in pair) for pair in fields[name]]
        try:
            os.utime(path)  # most recently used: evicted last
        except OSError:
            pass
        return fields

    def put(self, key: str, fields: Mapping[str, Any]) -> None:
        """Store a detection's fields (numpy arrays as arrays, the rest as JSON), then evict the least recently used
        entries beyond `max_bytes`. Written atomically (a temporary file in the folder, then os.replace)."""
        arrays = {name: value for name, value in fields.items() if isinstance(value, np.ndarray)}
        meta = {name: value for name, value in fields.items() if name not in arrays}
        meta["arrays"] = sorted(arrays)
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            meta=np.array(json.dumps(meta, default=_plain)),
            **{"array_" + name: value for name, value in arrays.items()},
        )
        self.folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=_SUFFIX)
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(buffer.getvalue())
            os.replace(temporary, self.folder / (key + _SUFFIX))
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        self.evict()

    def entries(self) -> list[Path]:
        """The entry files, least recently used first."""
        if not self.folder.is_dir():
            return []
        found = []
        for path in self.folder.glob("*" + _SUFFIX):
            if path.name.startswith(".tmp-"):
                continue
            try:
                found.append((path.stat().st_mtime_ns, path))
            except FileNotFoundError:  # removed by another process meanwhile
                continue
        return [path for _, path in sorted(found)]

    def evict(self) -> int:
        """Remove the least recently used entries until all together fit `max_bytes`. Returns how many went."""
        entries = self.entries()
        sizes = []
        for path in entries:
            try:
                sizes.append(path.stat().st_size)
            except FileNotFoundError:
                sizes.append(0)
        total, removed = sum(sizes), 0
        for path, size in zip(entries, sizes):
            if total <= self.max_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size
            removed += 1
        return removed

    def clear(self) -> int:
        """Remove every entry (and stale temporary files). Returns the number of entries removed."""
        entries = self.entries()
        for path in entries:
            path.unlink(missing_ok=True)
        if self.folder.is_dir():
            for path in self.folder.glob(".tmp-*" + _SUFFIX):
                path.unlink(missing_ok=True)
        return len(entries)


def _plain(value: Any) -> Any:
    """JSON form of numpy scalars and tuples inside a detection's fields."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot store a {type(value).__name__} in the shot cache")
