"""Extracting images and videos from chat messages (the `apply_chat_template` conversation format).

A message's `content` is a string or a list of items: `{"type": "text", "text": ...}`,
`{"type": "image", "image" | "url" | "path" | "base64": ...}` and
`{"type": "video", "video" | "path" | "url": ..., **sampling options}` where the options are any of
`video_processor.LinVTVideoOptions` (e.g. `"num_frames"`, `"fps"`, `"start"`, `"end"` in seconds).
"""

from __future__ import annotations

from typing import Any

from .video_processor import VIDEO_SOURCE_KEYS, split_video_spec


IMAGE_SOURCE_KEYS = ("image", "url", "path", "base64")


def extract_visuals(conversation: list[dict[str, Any]]) -> tuple[list[Any], list[dict[str, Any]]]:
    """The images and videos of one conversation, in the order the chat template writes their placeholders.

    Args:
        conversation: a list of messages `{"role": ..., "content": str | list[dict]}`.

    Returns:
        `tuple`: (images, videos). Images are their sources; videos are spec dicts `{"video": source, **options}`
        that `LinVTVideoProcessor` understands.

    Raises:
        ValueError: a video item without a source, or with unknown or out-of-range options, naming the message and
            the item.
        TypeError: a video item option of the wrong type (e.g. `"num_frames": "8"`), naming the message and the item.
    """
    images: list[Any] = []
    videos: list[dict[str, Any]] = []
    for message_index, message in enumerate(conversation):
        content = message.get("content")
        if not isinstance(content, (list, tuple)):
            continue
        for item_index, item in enumerate(content):
            kind = item.get("type") if isinstance(item, dict) else None
            if kind == "image":
                images.extend(item[key] for key in IMAGE_SOURCE_KEYS if key in item)
            elif kind == "video":
                videos.append(_video_spec(item, message_index, item_index))
    return images, videos


def _video_spec(item: dict[str, Any], message_index: int, item_index: int) -> dict[str, Any]:
    where = f"message {message_index}, content item {item_index}"
    if not any(item.get(key) is not None for key in VIDEO_SOURCE_KEYS):
        raise ValueError(
            f"video content item ({where}) has no video: give one of {VIDEO_SOURCE_KEYS}, got keys {sorted(item)}"
        )
    try:
        source, options = split_video_spec(item)
    except (TypeError, ValueError) as error:
        raise type(error)(f"video content item ({where}): {error}") from None
    return {"video": source, **options}


__all__ = ["IMAGE_SOURCE_KEYS", "extract_visuals"]
