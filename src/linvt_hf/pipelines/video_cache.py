"""`VideoContextCache`: the pipeline's memory of videos it encoded, so that a second question skips decoding and
encoding (only TTA and the LLM run; see `linvt_hf.modeling.video_context`).

An entry is keyed by the model (the object itself, its dtype and device), the video's content (a file's path and a
hash of its bytes, an array's hash) and every setting that shapes the frames (the video processor's settings, the
call's and the video's own options): a key never matches a video decoded with other settings or encoded by another
model. Entries are evicted least recently used first, beyond `max_entries` or `max_bytes`. A video that cannot be
fingerprinted (a URL, a file object, a stream) is never cached.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import uuid
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..modeling.video_context import LinVTVideoContext
from ..processing.video_processor import VIDEO_OPTIONS

DEFAULT_MAX_ENTRIES = 16
DEFAULT_MAX_BYTES = 512 * 1024**2
_HASH_CHUNK = 1 << 20


@dataclass
class CachedVideo:
    """One video as the model saw it: its context (`[1 video]`) and the processor's per-video outputs other than the
    pixels (`video_frame_mask`, `video_grid_thw`, timestamps, frame indices, ..., each `[1, ...]`)."""

    context: LinVTVideoContext
    video_inputs: dict[str, torch.Tensor]

    def nbytes(self) -> int:
        tensors = sum(value.numel() * value.element_size() for value in self.video_inputs.values())
        return self.context.nbytes() + tensors


class VideoContextCache:
    """A bounded LRU cache of encoded videos (`CachedVideo`), shared by the calls of a pipeline (or several).

    Args:
        max_entries (`int`, defaults to 16): most videos kept.
        max_bytes (`int`, defaults to 512 MiB): most bytes of tensors kept (an entry larger than this is not kept).

    Attributes:
        hits, misses (`int`): lookups answered and not answered since the last `clear()`.
    """

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        for name, value in (("max_entries", max_entries), ("max_bytes", max_bytes)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple, tuple[CachedVideo, int]] = OrderedDict()
        self._model_tokens: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._file_hashes: dict[tuple, str] = {}
        self._lock = threading.Lock()
        self.nbytes = 0
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Forget every video (and the counters). Call it after changing a model's weights in place."""
        with self._lock:
            self._entries.clear()
            self._file_hashes.clear()
            self.nbytes = 0
            self.hits = self.misses = 0

    def get(self, key: tuple) -> CachedVideo | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return found[0]

    def put(self, key: tuple, entry: CachedVideo) -> None:
        size = entry.nbytes()
        if size > self.max_bytes:
            return
        with self._lock:
            if key in self._entries:
                self.nbytes -= self._entries.pop(key)[1]
            self._entries[key] = (entry, size)
            self.nbytes += size
            while len(self._entries) > self.max_entries or self.nbytes > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self.nbytes -= dropped

    # ------------------------------------------------------------------ keys
    def key(self, model: torch.nn.Module, source: Any, settings: dict[str, Any]) -> tuple | None:
        """The key of video `source` encoded by `model` with `settings` (everything that shapes its frames), or None
        when the video cannot be fingerprinted (it is then never cached)."""
        content = self.fingerprint(source)
        if content is None:
            return None
        return (self.model_token(model), content, _settings_fingerprint(settings))

    def model_token(self, model: torch.nn.Module) -> tuple:
        """An id of the model object that no other model ever gets (unlike `id()`, which is reused once it is freed),
        with its dtype and device."""
        with self._lock:
            token = self._model_tokens.get(model)
            if token is None:
                token = self._model_tokens[model] = uuid.uuid4().hex
        parameter = next(model.parameters(), None)
        where = (str(parameter.dtype), str(parameter.device)) if parameter is not None else ()
        return (token, *where)

    def fingerprint(self, source: Any) -> str | None:
        """A hash of the video's content: a local file (path and bytes), an array or tensor of frames, bytes, a list of
        frames or image files; None for anything else (URLs, file objects)."""
        if isinstance(source, (str, os.PathLike)):
            path = os.fspath(source)
            if "://" in path or not os.path.isfile(path):
                return None
            return "file:" + os.path.abspath(path) + ":" + self._file_hash(path)
        if isinstance(source, (bytes, bytearray)):
            return "bytes:" + hashlib.blake2b(bytes(source), digest_size=16).hexdigest()
        if isinstance(source, torch.Tensor):
            source = source.detach().cpu().numpy()
        if isinstance(source, np.ndarray):
            array = np.ascontiguousarray(source)
            digest = hashlib.blake2b(array.view(np.uint8).reshape(-1), digest_size=16)
            digest.update(f"{array.shape}{array.dtype}".encode())
            return "array:" + digest.hexdigest()
        if isinstance(source, (list, tuple)) and source:
            parts = [self._frame_fingerprint(item) for item in source]
            if any(part is None for part in parts):
                return None
            return "frames:" + hashlib.blake2b("|".join(parts).encode(), digest_size=16).hexdigest()
        return None

    def _frame_fingerprint(self, item: Any) -> str | None:
        if hasattr(item, "tobytes") and hasattr(item, "mode") and hasattr(item, "size"):  # a PIL image
            digest = hashlib.blake2b(item.tobytes(), digest_size=16)
            digest.update(f"{item.mode}{item.size}".encode())
            return digest.hexdigest()
        if isinstance(item, (list, tuple)):
            return None
        return self.fingerprint(item)

    def _file_hash(self, path: str) -> str:
        """blake2b of the file's bytes, computed once per (path, size, modification time, inode)."""
        stat = os.stat(path)
        memo = (os.path.abspath(path), stat.st_size, stat.st_mtime_ns, stat.st_ino)
        with self._lock:
            known = self._file_hashes.get(memo)
        if known is not None:
            return known
        digest = hashlib.blake2b(digest_size=16)
        with open(path, "rb") as file:
            for chunk in iter(lambda: file.read(_HASH_CHUNK), b""):
                digest.update(chunk)
        with self._lock:
            self._file_hashes[memo] = digest.hexdigest()
        return digest.hexdigest()


def _settings_fingerprint(settings: dict[str, Any]) -> str:
    """The settings as one canonical string (values that are not JSON by their `repr`)."""
    return json.dumps(settings, sort_keys=True, default=repr)


def video_items(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The `{"type": "video", ...}` content items of chat messages, in order."""
    return [
        item
        for message in messages
        if isinstance(message.get("content"), list)
        for item in message["content"]
        if isinstance(item, dict) and item.get("type") == "video"
    ]


def has_images(messages: list[dict[str, Any]]) -> bool:
    return any(
        isinstance(item, dict) and item.get("type") == "image"
        for message in messages
        if isinstance(message.get("content"), list)
        for item in message["content"]
    )


def item_source(item: dict[str, Any]) -> Any:
    """The video of a chat content item (`video`, `path` or `url`)."""
    return next((item[key] for key in ("video", "path", "url") if key in item), None)


def item_options(item: dict[str, Any]) -> dict[str, Any]:
    """The video options a chat content item sets for its own video."""
    return {key: value for key, value in item.items() if key in VIDEO_OPTIONS}


__all__ = ["CachedVideo", "VideoContextCache", "has_images", "item_options", "item_source", "video_items"]
