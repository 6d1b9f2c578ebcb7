"""The package's exception types for video input."""

from __future__ import annotations


class VideoDecodeError(ValueError):
    """A video source could not be decoded: corrupt or truncated data, no video stream, or no frames.

    The message always names the source and the reason. It is a ValueError, so callers that treat bad input
    generically keep working.
    """

    def __init__(self, source: object, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"cannot decode video {describe_source(source)}: {reason}")


def describe_source(source: object) -> str:
    """A short, human-readable name for a video source (path, URL, bytes, file object or array)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return f"<{len(source)} bytes>"
    name = getattr(source, "name", None)
    if name is not None and not isinstance(source, (str,)):
        return repr(str(name))
    shape = getattr(source, "shape", None)
    if shape is not None:
        return f"<{type(source).__name__} of shape {tuple(shape)}>"
    text = str(source)
    return repr(text if len(text) <= 200 else text[:197] + "...")
