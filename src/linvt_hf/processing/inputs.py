"""What counts as one video: the rules shared by `load_video`, the video processor (`make_video_list`) and the
video question answering pipeline, so that all three read an input the same way. No heavy imports (PyAV, torch).

* An array or tensor with 4 dimensions is one video `[T, H, W, C]` (a torch tensor may also be `[T, C, H, W]`);
  with 5 dimensions, a batch of videos.
* An array or tensor with 2 or 3 dimensions is one video as well (see `video_io` for how it is read): a single frame
  `[H, W, 3]` / `[H, W, 1]` / `[H, W]` (a torch tensor `[3, H, W]` too), or a grayscale video `[T, H, W]` when the
  last dimension is neither 1 nor 3.
* A list (or tuple) whose items are all *frames* is one video made of those frames. A frame is a PIL image, a 2-D or
  3-D array or tensor, or the path of an image file: a local path (`str` or `os.PathLike`, not a URL) whose
  extension is one of `IMAGE_EXTENSIONS`, compared case-insensitively.
* Any other list is a batch: each item is a video (or, nested, a batch of its own). A list that holds image paths
  next to items that are not frames (video paths, URLs, spec dicts) is ambiguous and refused: put each video's frame
  paths in a list of their own, e.g. `["clip.mp4", ["f0.jpg", "f1.jpg"]]`.
"""

from __future__ import annotations

import os
import re
from typing import Any

# Still-image formats PIL reads. GIF is left out on purpose: a .gif is usually an animation, which FFmpeg decodes
# as a video.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")

_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.\-]*://")


def is_url(value: Any) -> bool:
    """A `str` / `os.PathLike` that starts with a URL scheme (`http://`, `rtsp://`, ...)."""
    return isinstance(value, (str, os.PathLike)) and bool(_URL.match(os.fspath(value)))


def is_image_path(value: Any) -> bool:
    """A local path (not a URL) whose extension is one of `IMAGE_EXTENSIONS`."""
    if not isinstance(value, (str, os.PathLike)) or is_url(value):
        return False
    return os.path.splitext(os.fspath(value))[1].lower() in IMAGE_EXTENSIONS


def is_frame(item: Any) -> bool:
    """One frame of a video given as a list: a PIL image, a 2-D / 3-D array or tensor, or an image path."""
    if hasattr(item, "getbands"):  # PIL.Image.Image, without importing PIL here
        return True
    if is_image_path(item):
        return True
    return getattr(item, "ndim", None) in (2, 3)


def is_frame_list(value: Any) -> bool:
    """Whether `value` is a non-empty list or tuple of frames, i.e. the frames of ONE video (see the module docstring).

    Raises:
        ValueError: the list holds image paths next to items that are not frames (video paths, URLs, dicts, ...);
            the message names the first of each.
    """
    if not isinstance(value, (list, tuple)) or len(value) == 0:
        return False
    frames = [is_frame(item) for item in value]
    if all(frames):
        return True
    images = [index for index, item in enumerate(value) if is_image_path(item)]
    if images:
        other = frames.index(False)
        image = os.fspath(value[images[0]])
        raise ValueError(
            f"a list holding image paths is read as the frames of one video, but item {other} "
            f"({_describe(value[other])}) is not a frame (item {images[0]} is the image {image!r}); to give several "
            "videos, put each video's frame paths in a list of their own, e.g. ['clip.mp4', ['f0.jpg', 'f1.jpg']]. "
            f"Image extensions: {', '.join(IMAGE_EXTENSIONS)}"
        )
    return False


def _describe(item: Any) -> str:
    if isinstance(item, (str, os.PathLike)):
        return repr(os.fspath(item))
    return type(item).__name__


__all__ = ["IMAGE_EXTENSIONS", "is_frame", "is_frame_list", "is_image_path", "is_url"]
