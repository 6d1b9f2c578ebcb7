"""Video decoding with PyAV: probing, sampled loading with keyframe seeking, and bounded-memory streaming.

All entry points accept the same inputs (`VideoInput`):

* a path (`str` or `os.PathLike`), or a URL (`http://`, `https://`, `rtsp://`, ... anything FFmpeg can open);
* the encoded file as `bytes`/`bytearray`/`memoryview`, or a readable (preferably seekable) binary file object
  positioned at the start of the video, which is left open;
* frames already decoded (no frame rate: pass `fps_hint` to sample them by `fps` or by time, otherwise
  `metadata.fps` and `metadata.duration` are None and the returned timestamps are NaN):

  - a numpy array [T, H, W, 3] or grayscale [T, H, W] / [T, H, W, 1]; a torch tensor the same, or [T, 3, H, W]
    (channels-last wins when both readings are possible);
  - one frame as an array or tensor [H, W, 3], [H, W, 1] or [H, W] (a torch tensor [3, H, W] too): a 3-D input is
    one frame when its last dimension is 1 or 3, otherwise a grayscale video [T, H, W] (so a grayscale video
    exactly 1 or 3 pixels wide must be given as [T, H, W, 1]);
  - a list (or tuple) of frames of one size: PIL images, [H, W, 3] / [H, W, 1] / [H, W] arrays or tensors, or
    paths of image files (see `linvt_hf.processing.inputs.IMAGE_EXTENSIONS`), which are read only when sampled.

  Pixel values are uint8, or floating point in [0, 1] (scaled by 255 and rounded). Floating-point frames with any
  value outside [0, 1] (e.g. 0..255 floats) or any NaN or infinity are refused with a ValueError that says what was
  found: they are never clipped.

Frames come back as uint8 RGB [T, H, W, 3], upright: the stream's display rotation (a display matrix, e.g. from a
phone held vertically) is applied, as FFmpeg's command line does by default.

"Frame index" follows `linvt_hf.processing.sampling`: index i is the frame on screen at `i / fps` seconds from the
start of the stream, with half a frame period of tolerance for timestamp jitter. For constant-frame-rate video this is
exactly the i-th decoded frame. For variable-frame-rate video it indexes a regular grid at the average rate: a frame
that stays on screen over several grid points can be returned for each of them, and a frame shown for less than a
grid step can be skipped; `timestamps` always hold the true presentation times of the returned frames.
"""

from __future__ import annotations

import heapq
import io
import math
import os
import sys
import warnings
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Union

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from .errors import VideoDecodeError, describe_source
from .inputs import is_image_path, is_url
from .sampling import check_count, check_rate, check_sampling_options, sample_frame_indices


if TYPE_CHECKING:
    import PIL.Image
    import torch

# `size` of `load_video`: exact (height, width), the shorter side, or a function of the upright source size.
Size = tuple[int, int] | int | Callable[[int, int], tuple[int, int]]

VideoInput = Union[
    str,
    os.PathLike,
    bytes,
    bytearray,
    memoryview,
    BinaryIO,
    np.ndarray,
    "torch.Tensor",
    Sequence["PIL.Image.Image"],
    Sequence[np.ndarray],
]

# (open, read) timeouts in seconds for network sources, so that an unreachable host fails instead of hanging.
URL_TIMEOUT = (15.0, 30.0)
# A seek (demuxer seek + decoder flush + refilling the threads' pipeline) costs about as much as decoding this many
# frames; below that, decoding forward is cheaper.
_SEEK_COST_FRAMES = 8
# Without a keyframe index we cannot know whether a seek helps; only seek over gaps longer than this many seconds.
_BLIND_SEEK_SECONDS = 10.0
# How many missing trailing frames are blamed on an inexact frame count rather than on a truncated file.
_END_SLACK_FRAMES = 2
# Decoded frames whose pts are put back in increasing order together (`restamp_in_display_order`): a demuxer's
# misplaced pts may be up to this many frames minus one away from their frame.
PTS_REORDER_WINDOW = 4

# FFmpeg's text-mode "video" codecs: its tty/bin/xbin/idf demuxers open files by extension (.txt, .nfo, .diz, .bin,
# ...) as text and render the characters as frames. Such a file holds no video.
_TEXT_CODECS = frozenset({"ansi", "bintext", "xbin", "idf"})
_NOT_A_VIDEO = "not a readable video: FFmpeg recognises no container with a video stream in it"

_INTERPOLATIONS = ("fast_bilinear", "bilinear", "bicubic", "area", "point", "lanczos", "gauss", "spline")


@dataclass(frozen=True)
class VideoMetadata:
    """What is known about a video source.

    Attributes:
        source: path or URL, or a short description of in-memory input.
        fps: average frame rate, None when unknown (pre-decoded frames without `fps_hint`).
        duration: length in seconds, None when unknown.
        total_frames: number of frames (exact for most containers; estimated from duration x fps for formats
            without a frame count, such as Matroska/WebM).
        width, height: size of the upright frames in pixels (display rotation applied, before any resize).
        rotation: display rotation of the stream in degrees counter-clockwise (0, 90, 180 or 270); already undone
            in the frames returned.
        codec, pix_fmt: FFmpeg's names for the stream's codec and pixel format (None for pre-decoded input).
    """

    source: str
    fps: float | None
    duration: float | None
    total_frames: int
    width: int
    height: int
    rotation: int
    codec: str | None
    pix_fmt: str | None


@dataclass
class DecodedVideo:
    """Decoded frames and where they come from.

    Attributes:
        frames: uint8 [T, H, W, 3], RGB.
        frame_indices: int64 [T], index of each frame in the source video (see the module docstring).
        timestamps: float64 [T], presentation time of each frame in seconds from the start of the stream (NaN
            when the frame rate is unknown).
        metadata: the source's `VideoMetadata`.
    """

    frames: np.ndarray
    frame_indices: np.ndarray
    timestamps: np.ndarray
    metadata: VideoMetadata

    def __len__(self) -> int:
        return len(self.frames)


def probe_video(video: VideoInput, *, fps_hint: float | None = None) -> VideoMetadata:
    """Read a video's metadata without decoding it (only its first frame, which carries the display rotation).

    Args:
        video: any `VideoInput`.
        fps_hint: frame rate to assume when the source declares none (pre-decoded frames).

    Raises:
        FileNotFoundError: a path that does not exist.
        VideoDecodeError: the source cannot be opened or decoded, has no video stream (e.g. a text file) or no frames.
        ValueError: pre-decoded frames of an unsupported shape or dtype, non-finite, or floats outside [0, 1]; a
            bad `fps_hint` (TypeError for a wrong type).
    """
    fps_hint = check_rate("fps_hint", fps_hint)
    if _is_decoded_frames(video):
        return _array_metadata(_frame_source(video), video, fps_hint)
    _check_path(video)
    with _open_stream(video, threads=None, fps_hint=fps_hint) as opened, _decode_errors(opened.source):
        first = next(_FrameReader(opened).read(np.zeros(1, dtype=np.int64)))[1]
        return opened.metadata(_rotation(first))


def load_video(
    video: VideoInput,
    *,
    num_frames: int | None = None,
    fps: float | None = None,
    min_frames: int = 1,
    max_frames: int | None = None,
    start: float | None = None,
    end: float | None = None,
    shots: Sequence[tuple[int, int]] | None = None,
    size: Size | None = None,
    max_side: int | None = None,
    threads: int | None = None,
    fps_hint: float | None = None,
    indices: Sequence[int] | np.ndarray | None = None,
    interpolation: str = "bicubic",
    progress: bool = False,
) -> DecodedVideo:
    """Decode the sampled frames of a video.

    With neither `num_frames` nor `fps`, every frame is returned. Sampling arguments are those of
    `sample_frame_indices` (uniform segment centres, fps-based counts, `[start, end)` in seconds, shot-aware
    allocation; never more frames than exist, never duplicated). Sparse requests seek to the keyframe before each
    wanted frame and decode forward from there; dense requests decode sequentially. The choice is made per gap
    between wanted frames, from the container's keyframe index.

    Resizing happens in the decoder's colour conversion (FFmpeg's swscale), so full-resolution RGB frames are never
    materialised. The default "bicubic" is what FFmpeg's command line uses for `-s WxH`, which is how AutoShot and
    TransNetV2 prepare their 48x27 inputs; swscale widens the filter when downscaling, so it does not alias.

    Args:
        video: any `VideoInput`.
        num_frames, fps, min_frames, max_frames, start, end, shots: see `sample_frame_indices`.
        size: `(height, width)` to resize to exactly, or an int for the length of the shorter side (aspect ratio
            kept), or a function `(height, width) -> (height, width)` called once with the upright source size
            (e.g. to pick a decode size from the video's own size). Applies to the upright frames.
        max_side: upper bound on the longer side (aspect ratio kept); frames are only ever shrunk by it. Cannot be
            combined with an exact `(height, width)` size or a size function.
        threads: decoder threads (None or 0: FFmpeg picks from the CPU count).
        fps_hint: frame rate to assume when the source declares none (pre-decoded frames); ignored otherwise.
        indices: decode exactly these frame indices (strictly increasing, within the video) instead of sampling;
            cannot be combined with the sampling arguments.
        interpolation: swscale filter: "bicubic", "bilinear", "area", "lanczos", "fast_bilinear", "point", ...
        progress: show a progress bar (tqdm when installed).

    Returns:
        `DecodedVideo` with frames uint8 [T, H, W, 3].

    Raises:
        FileNotFoundError: a path that does not exist.
        VideoDecodeError: the source cannot be opened or decoded (corrupt, truncated, unreachable URL), has no
            video stream (e.g. a text file) or no frames.
        TypeError: an argument of the wrong type, such as `num_frames=2.5` (the message names the argument).
        ValueError: invalid arguments, NaN or infinite ones included (the message names the argument and value);
            pre-decoded frames of an unsupported shape or dtype, non-finite, or floats outside [0, 1].

    Warns:
        UserWarning: packets the decoder refused as invalid data (a corrupt stretch) were skipped; the message names
            the sampled frames shown as the frame before in their place.
    """
    chunks = stream_video(
        video,
        chunk_size=None,  # one chunk, allocated once
        num_frames=num_frames,
        fps=fps,
        min_frames=min_frames,
        max_frames=max_frames,
        start=start,
        end=end,
        shots=shots,
        size=size,
        max_side=max_side,
        threads=threads,
        fps_hint=fps_hint,
        indices=indices,
        interpolation=interpolation,
        progress=progress,
    )
    try:
        return next(chunks)
    finally:
        chunks.close()  # closes the container now rather than when the generator is collected


def stream_video(
    video: VideoInput,
    *,
    chunk_size: int | None = 64,
    num_frames: int | None = None,
    fps: float | None = None,
    min_frames: int = 1,
    max_frames: int | None = None,
    start: float | None = None,
    end: float | None = None,
    shots: Sequence[tuple[int, int]] | None = None,
    size: Size | None = None,
    max_side: int | None = None,
    threads: int | None = None,
    fps_hint: float | None = None,
    indices: Sequence[int] | np.ndarray | None = None,
    interpolation: str = "bicubic",
    progress: bool = False,
) -> Iterator[DecodedVideo]:
    """Decode the same frames as `load_video`, in order, in chunks of at most `chunk_size` frames.

    Memory stays bounded by one chunk (plus the decoder's own buffers) whatever the video's length, which suits
    whole-video passes such as shot detection. Concatenating the chunks gives exactly `load_video`'s result.
    Arguments are checked, and a missing file reported, when this is called; decoding starts on iteration, and the
    container is closed when the iterator is exhausted or discarded.

    Args:
        chunk_size: frames per chunk (None: a single chunk with every frame).
        other arguments: see `load_video`.

    Yields:
        `DecodedVideo` chunks with frames uint8 [<= chunk_size, H, W, 3].
    """
    check_count("chunk_size", chunk_size)
    check_count("threads", threads, minimum=0)
    fps_hint = check_rate("fps_hint", fps_hint)
    check_sampling_options(
        num_frames=num_frames, fps=fps, min_frames=min_frames, max_frames=max_frames, start=start, end=end
    )
    _check_resize_arguments(size, max_side, interpolation)
    sampling = dict(
        num_frames=num_frames,
        fps=fps,
        min_frames=min_frames,
        max_frames=max_frames,
        start=start,
        end=end,
        shots=shots,
    )
    resize = dict(size=size, max_side=max_side, interpolation=interpolation)
    if indices is not None:
        given = [name for name in ("num_frames", "fps", "start", "end", "shots") if sampling[name] is not None]
        if given:
            raise ValueError(f"indices cannot be combined with {', '.join(given)}")
        sampling = {"indices": indices}
    if _is_decoded_frames(video):
        frames = _frame_source(video)
        if fps_hint is None and (fps is not None or start is not None or end is not None):
            raise ValueError("fps_hint is required to sample pre-decoded frames by fps or by time (start/end)")
        selected = _select_indices(frames.count, fps_hint, sampling)
        return _array_chunks(frames, video, selected, fps_hint, chunk_size, resize)
    _check_path(video)
    return _decoded_chunks(video, sampling, resize, chunk_size, threads, fps_hint, progress)


def _select_indices(total_frames: int, video_fps: float | None, sampling: dict[str, Any]) -> np.ndarray:
    """The frame indices to decode: explicit `indices` (validated) or `sample_frame_indices`. int64 [N]."""
    if "indices" not in sampling:
        return sample_frame_indices(total_frames, video_fps=video_fps, **sampling)
    indices = np.asarray(sampling["indices"]).reshape(-1)
    if indices.size == 0:
        raise ValueError("indices must not be empty")
    if indices.dtype.kind not in "iu":
        raise TypeError(f"indices must be integer frame indices, got dtype {indices.dtype}")
    indices = indices.astype(np.int64)
    if indices.min() < 0 or indices.max() >= total_frames:
        raise ValueError(f"indices must lie in [0, {total_frames}), got {indices.min()}..{indices.max()}")
    if np.any(np.diff(indices) <= 0):
        raise ValueError("indices must be strictly increasing")
    return indices


# ----------------------------------------------------------------------------------------------------------------
# Decoding from a container


@dataclass
class _OpenStream:
    """An open container's video stream and its timing, as known before decoding."""

    container: Any
    stream: Any
    source: str
    fps: float | None
    origin: int | None  # pts (in stream time base) of frame index 0; None: index frames by decode order
    total_frames: int
    duration: float | None

    def metadata(self, rotation: int) -> VideoMetadata:
        context = self.stream.codec_context
        width, height = context.width, context.height
        if rotation % 180:
            width, height = height, width
        return VideoMetadata(
            source=self.source,
            fps=self.fps,
            duration=self.duration,
            total_frames=self.total_frames,
            width=width,
            height=height,
            rotation=rotation,
            codec=context.name,
            pix_fmt=context.pix_fmt,
        )


@contextmanager
def _open_stream(video: VideoInput, threads: int | None, fps_hint: float | None = None) -> Iterator[_OpenStream]:
    """Open `video` with PyAV and yield its first video stream, set up for multi-threaded decoding."""
    source = _source_name(video)
    start = video.tell() if _is_file_object(video) else None
    with _open_container(video) as container:
        stream = _video_stream(container, video)
        counted = None if _declares_length(container, stream) else _count_packets(container, stream)
        if counted is None:
            yield _stream_timing(container, stream, source, fps_hint, threads)
            return
    # Counting consumed the input and not every input can seek back (raw streams, pipes): open it again.
    if start is not None:
        video.seek(start)
    with _open_container(video) as container:
        stream = _video_stream(container, video)
        yield _stream_timing(container, stream, source, fps_hint, threads, counted)


def _open_container(video: VideoInput) -> Any:
    try:
        if isinstance(video, (bytes, bytearray, memoryview)):
            return av.open(io.BytesIO(bytes(video)), mode="r")
        if is_url(video):
            return av.open(os.fspath(video), mode="r", timeout=URL_TIMEOUT)
        if isinstance(video, (str, os.PathLike)):
            return av.open(os.fspath(video), mode="r")
        if _is_file_object(video):
            return av.open(video, mode="r")
    except av.error.FFmpegError as error:
        kind = "could not open the URL" if is_url(video) else _NOT_A_VIDEO
        raise VideoDecodeError(_error_source(video), f"{kind} ({_ffmpeg_message(error)})") from error
    raise TypeError(f"unsupported video input of type {type(video).__name__}")


def _video_stream(container: Any, video: VideoInput) -> Any:
    if not container.streams.video:
        kinds = ", ".join(s.type for s in container.streams) or "none"
        raise VideoDecodeError(_error_source(video), f"no video stream (streams found: {kinds})")
    stream = container.streams.video[0]
    if stream.codec_context.name in _TEXT_CODECS:
        raise VideoDecodeError(
            _error_source(video),
            f"no video stream: FFmpeg's {container.format.name!r} demuxer reads the file as text, only to draw its "
            f"characters as pictures (codec {stream.codec_context.name!r}); give a video file",
        )
    return stream


def _declares_length(container: Any, stream: Any) -> bool:
    """Whether the container gives a frame count, or a duration and a rate to derive it from."""
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return stream.frames > 0 or bool(rate and (stream.duration or container.duration))


def _count_packets(container: Any, stream: Any) -> int:
    """Frame count by demuxing (no decoding), for inputs that declare neither a count nor a duration."""
    return sum(1 for packet in container.demux(stream) if packet.size)


def _stream_timing(
    container: Any, stream: Any, source: str, fps_hint: float | None, threads: int | None, counted: int | None = None
) -> _OpenStream:
    stream.thread_type = "AUTO"
    stream.codec_context.thread_count = threads or 0
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    fps = float(rate) if rate else fps_hint
    time_base = stream.time_base
    duration = None
    if stream.duration and time_base:
        duration = float(stream.duration * time_base)
    elif container.duration:
        duration = container.duration / av.time_base
    total = counted or stream.frames
    if total <= 0 and duration and fps:
        total = round(duration * fps)
    if total <= 0:
        raise VideoDecodeError(source, "the video stream has no frames")
    if duration is None and fps:
        duration = total / fps
    origin = stream.start_time if (rate and time_base) else None
    return _OpenStream(container, stream, source, fps, origin, total, duration)


def keyframe_index(stream: Any) -> Any | None:
    """The demuxer's keyframe index of `stream` (PyAV >= 17), or None with an older PyAV (e.g. the av<16 that
    lmms-eval pins): then seeking is decided as for a container whose index stops early (a blind seek when the
    target is far enough ahead), and the frames are the same."""
    return getattr(stream, "index_entries", None)


def restamp_in_display_order(frames: Iterator[Any], window: int = PTS_REORDER_WINDOW) -> Iterator[Any]:
    """The same decoded frames, in the same order, with their pts handed out again in increasing order within each
    `window` consecutive frames.

    Why: a decoder returns frames in display order, so their pts should increase, and for a correct stream this
    changes nothing. Some demuxers guess pts wrongly: in an AVI with packed B-frames (DivX/Xvid) the frames come out
    in display order stamped 1, 2, 3, 5, 4, 6, 8, 7, ...; placed by those pts, frames would swap places and leave
    gaps that look undecodable. FFmpeg's own fix (best_effort_timestamp, which PyAV does not expose) falls back to
    the packets' dts, which are off by the decoder's delay in some containers; sorting keeps the stream's own
    times. A pts below the last one handed out is a jump back in the stream's clock (a discontinuity), not a
    misorder: such a frame keeps its own. Frames without a pts pass through untouched.
    """
    held: deque[Any] = deque()
    stamps: list[int] = []  # a heap of the held frames' pts
    last = None  # the pts of the last frame handed out
    for frame in frames:
        held.append(frame)
        if frame.pts is not None:
            heapq.heappush(stamps, frame.pts)
        if len(held) == window:
            last = _next_stamp(held[0], stamps, last)
            yield held.popleft()
    for frame in held:
        last = _next_stamp(frame, stamps, last)
        yield frame


def _next_stamp(frame: Any, stamps: list[int], last: int | None) -> int | None:
    """Gives `frame` the lowest held pts (see `restamp_in_display_order`) and returns its pts."""
    if frame.pts is None:
        return last
    if last is not None and stamps[0] < last:
        stamps.remove(frame.pts)
        heapq.heapify(stamps)
    else:
        frame.pts = heapq.heappop(stamps)
    return frame.pts


class _FrameReader:
    """Finds the decoded frame for each wanted index, decoding forward or seeking, whichever is cheaper."""

    def __init__(self, opened: _OpenStream) -> None:
        self._opened = opened
        self._container, self._stream = opened.container, opened.stream
        self._seekable = opened.origin is not None
        self._keyframes = keyframe_index(self._stream) if self._seekable else None
        if self._keyframes is not None and len(self._keyframes) <= 1 and "matroska" in self._container.format.name:
            # The Matroska demuxer loads its index (cues) on the first seek; seeking to the start is exact here.
            try:
                self._container.seek(opened.origin, stream=self._stream, backward=True)
            except av.error.FFmpegError:
                self._seekable = False
        self._decoded = 0  # frames decoded since the last (re)start, for decode-order indexing
        self._last_seek = -1  # never seek twice for one target: an inexact index could make us loop
        self.refused: set[Any] = set()  # packets (by pts) the decoder refused as invalid data, skipped
        self.refused_error = ""
        self.substituted: list[int] = []  # wanted indices shown as another frame while packets were refused

    def read(self, targets: np.ndarray) -> Iterator[tuple[int, Any]]:
        """Yield `(index, av.VideoFrame)` for every index of `targets` (sorted, unique), in order."""
        wanted = [int(t) for t in targets]
        i, previous = 0, None  # previous: (index, frame) of the last decoded frame
        decoded = self._start(wanted[0], at_beginning=True)
        while decoded is not None:
            restart = None
            for index, frame in decoded:
                while i < len(wanted) and wanted[i] < index:
                    # The wanted time falls between the previous frame and this one: the previous one is on screen.
                    if self.refused:
                        self.substituted.append(wanted[i])
                    yield wanted[i], (previous[1] if previous else frame)
                    i += 1
                if i < len(wanted) and wanted[i] == index:
                    yield wanted[i], frame
                    i += 1
                previous = (index, frame)
                if i == len(wanted):
                    return
                if wanted[i] > self._last_seek and self._worth_seeking(index, wanted[i]):
                    restart = wanted[i]
                    break
            decoded = None if restart is None else self._start(restart)
            if restart is not None:
                previous = None
        yield from self._past_the_end(wanted[i:], previous)

    def _start(self, target: int, at_beginning: bool = False) -> Iterator[tuple[int, Any]] | None:
        """Begin decoding at the keyframe before `target` (or at the start of the stream)."""
        if at_beginning and not self._worth_seeking(-1, target):
            return self._indexed(self._decode())
        self._last_seek = target
        back = 0
        step = max(1, round(1 / float(self._stream.time_base)))  # one second
        while True:
            position = self._pts(target) - back
            self._container.seek(max(position, self._opened.origin), stream=self._stream, backward=True)
            decoded = self._indexed(self._decode())
            first = next(decoded, None)
            # A seek can land after the target (inexact index, open GOP) or past the last frame: step back.
            if (first is not None and first[0] <= target) or position <= self._opened.origin:
                return decoded if first is None else chain([first], decoded)
            back = max(2 * back, step)

    def _decode(self) -> Iterator[Any]:
        """Decoded frames from the current position; packets the decoder refuses as invalid data are counted and
        skipped (the frames around them still decode), not fatal."""
        for packet in self._container.demux(self._stream):
            try:
                frames = packet.decode()
            except av.error.InvalidDataError as error:
                self.refused.add(packet.pts if packet.pts is not None else ("position", packet.pos))
                self.refused_error = _ffmpeg_message(error)
                continue
            yield from frames

    def _indexed(self, frames: Iterator[Any]) -> Iterator[tuple[int, Any]]:
        self._decoded = 0
        for frame in restamp_in_display_order(frames):
            yield self._index(frame), frame
            self._decoded += 1

    def _index(self, frame: Any) -> int:
        if not self._seekable or frame.pts is None:
            return self._decoded
        seconds = (frame.pts - self._opened.origin) * self._stream.time_base
        return math.floor(seconds * self._opened.fps + 0.5)

    def _pts(self, index: int) -> int:
        return self._opened.origin + math.floor(index / self._opened.fps / self._stream.time_base)

    def _worth_seeking(self, position: int, target: int) -> bool:
        """Whether seeking to `target` saves decoding, being at frame `position`."""
        if not self._seekable or target - position <= _SEEK_COST_FRAMES:
            return False
        target_pts = self._pts(target)
        entries = 0 if self._keyframes is None else len(self._keyframes)
        if entries == 0 or self._keyframes[entries - 1].timestamp < target_pts:
            # The index (if any) stops before the target, as in MPEG-TS where it grows while reading.
            return target - position > _BLIND_SEEK_SECONDS * self._opened.fps
        entry = self._keyframes.search_timestamp(target_pts, backward=True)
        if entry < 0:
            return False
        keyframe_pts = self._keyframes[entry].timestamp
        keyframe = (keyframe_pts - self._opened.origin) * self._stream.time_base * self._opened.fps
        return keyframe > position + _SEEK_COST_FRAMES

    def _past_the_end(self, missing: list[int], previous: tuple[int, Any] | None) -> Iterator[tuple[int, Any]]:
        """The stream ended before the last wanted frames: tolerate an inexact frame count, not a truncated file."""
        source = self._opened.source
        if previous is None:
            raise VideoDecodeError(source, "the video stream has no decodable frames")
        if missing and missing[-1] - previous[0] > _END_SLACK_FRAMES:
            raise VideoDecodeError(
                source,
                f"the stream ends at frame {previous[0]} but frame {missing[-1]} was expected "
                f"(total_frames={self._opened.total_frames}): the file is truncated or corrupt",
            )
        for index in missing:
            yield index, previous[1]


def _decoded_chunks(
    video: VideoInput,
    sampling: dict[str, Any],
    resize: dict[str, Any],
    chunk_size: int | None,
    threads: int | None,
    fps_hint: float | None,
    progress: bool,
) -> Iterator[DecodedVideo]:
    with _open_stream(video, threads, fps_hint) as opened:
        indices = _select_indices(opened.total_frames, opened.fps, sampling)
        reader = _FrameReader(opened)
        frames = reader.read(indices)
        bar = _progress_bar(len(indices), opened.source, progress)
        try:
            with _decode_errors(opened.source):
                produced = 0
                for chunk in _chunks(frames, len(indices), chunk_size, opened, resize, bar):
                    produced += len(chunk)
                    if produced == len(indices) and reader.refused:  # every frame read: name what was not
                        _warn_refused(video, reader)
                    yield chunk
        finally:
            bar.close()


def _warn_refused(video: VideoInput, reader: _FrameReader) -> None:
    """Warn that packets were refused (a corrupt stretch), naming the sampled frames shown in their place."""
    substituted = reader.substituted
    shown = ", ".join(map(str, substituted[:10])) + (" ..." if len(substituted) > 10 else "")
    warnings.warn(
        f"video {describe_source(video)}: {len(reader.refused)} packet(s) could not be decoded "
        f"({reader.refused_error}); "
        + (f"frames {shown} show the frame before" if substituted else "no sampled frame fell among them"),
        UserWarning,
        stacklevel=4,
    )


@contextmanager
def _decode_errors(source: str) -> Iterator[None]:
    """Report FFmpeg failures while decoding as `VideoDecodeError`."""
    try:
        yield
    except av.error.FFmpegError as error:
        raise VideoDecodeError(source, f"decoding failed ({_ffmpeg_message(error)})") from error


def _chunks(
    frames: Iterator[tuple[int, Any]],
    count: int,
    chunk_size: int | None,
    opened: _OpenStream,
    resize: dict[str, Any],
    bar: Any,
) -> Iterator[DecodedVideo]:
    """Convert decoded frames to RGB arrays and group them into `DecodedVideo` chunks."""
    chunk_size = chunk_size or count
    metadata = convert = None
    time_base = opened.stream.time_base
    for chunk_start in range(0, count, chunk_size):
        size = min(chunk_size, count - chunk_start)
        indices = np.empty(size, dtype=np.int64)
        times = np.empty(size, dtype=np.float64)
        out = None
        for k in range(size):
            index, frame = next(frames)
            if convert is None:
                metadata = opened.metadata(_rotation(frame))
                convert = _Converter(metadata, **resize)
            image = convert(frame)
            if out is None:
                out = np.empty((size, *image.shape), dtype=np.uint8)
            out[k] = image
            indices[k] = index
            times[k] = _seconds(frame, opened, time_base, index)
            bar.update(1)
        yield DecodedVideo(frames=out, frame_indices=indices, timestamps=times, metadata=metadata)


def _seconds(frame: Any, opened: _OpenStream, time_base: Fraction | None, index: int) -> float:
    if frame.pts is not None and time_base and opened.origin is not None:
        return float((frame.pts - opened.origin) * time_base)
    return index / opened.fps if opened.fps else math.nan


def _rotation(frame: Any) -> int:
    """The frame's display rotation, counter-clockwise, snapped to a multiple of 90 degrees in [0, 360)."""
    return (round(frame.rotation / 90) % 4) * 90


class _Converter:
    """av.VideoFrame -> upright uint8 RGB [H, W, 3] at the requested size, resized inside swscale."""

    def __init__(self, metadata: VideoMetadata, size: Any, max_side: int | None, interpolation: str) -> None:
        self._height, self._width = output_size(metadata.height, metadata.width, size=size, max_side=max_side)
        self._turns = metadata.rotation // 90
        self._interpolation = interpolation.upper()
        # One reformatter keeps its swscale context between frames; `frame.to_ndarray(width=...)` builds a new one
        # per frame, which costs more than the conversion itself for small outputs.
        self._reformatter = VideoReformatter()

    def __call__(self, frame: Any) -> np.ndarray:
        # The decoded frame is stored rotated: resize it to the rotated target, then turn it upright.
        width, height = (self._height, self._width) if self._turns % 2 else (self._width, self._height)
        rgb = self._reformatter.reformat(
            frame, width=width, height=height, format="rgb24", interpolation=self._interpolation
        )
        image = rgb.to_ndarray()
        return np.rot90(image, self._turns) if self._turns else image


def output_size(
    height: int,
    width: int,
    *,
    size: tuple[int, int] | int | Callable[[int, int], tuple[int, int]] | None = None,
    max_side: int | None = None,
) -> tuple[int, int]:
    """Size `(height, width)` of frames after `load_video`'s `size` and `max_side` rules (see there)."""
    if callable(size):
        return _check_size_pair(f"size({height}, {width})", size(height, width))
    if isinstance(size, tuple):
        return int(size[0]), int(size[1])
    if size is not None:
        scale = size / min(height, width)
        height, width = max(1, round(height * scale)), max(1, round(width * scale))
    if max_side is not None and max(height, width) > max_side:
        scale = max_side / max(height, width)
        height, width = max(1, round(height * scale)), max(1, round(width * scale))
    return height, width


# ----------------------------------------------------------------------------------------------------------------
# Frames already decoded


def _is_decoded_frames(video: Any) -> bool:
    if isinstance(video, np.ndarray):
        return True
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(video, torch.Tensor):
        return True
    return isinstance(video, (list, tuple))


# Pre-decoded frames are checked up front and converted to uint8 RGB only when taken (`take(indices)` -> uint8
# [N, H, W, 3]), so that sampling a few frames of a long array or a long list of images never converts (nor, for
# image files, reads) the others.


class _ArrayFrames:
    """A numpy array or torch tensor of frames (see the module docstring for the layouts)."""

    def __init__(self, video: Any) -> None:
        array = video if isinstance(video, np.ndarray) else _tensor_to_numpy(video)
        self._frames = _frame_axes(array)  # a view [T, H, W, C], C in (1, 3)
        if len(self._frames) == 0:
            raise ValueError("video: no frames (the first dimension is 0)")
        _check_pixel_values(self._frames, "video: frames")
        self.count, self.height, self.width = self._frames.shape[:3]

    def take(self, indices: np.ndarray) -> np.ndarray:
        return _rgb(_to_uint8(self._frames[indices]))


class _ListFrames:
    """A list of frames: PIL images, [H, W, 3] / [H, W, 1] / [H, W] arrays or tensors, or image file paths."""

    def __init__(self, items: Sequence[Any]) -> None:
        if len(items) == 0:
            raise ValueError("video: empty list of frames")
        self._items = list(items)
        shapes = [_item_shape(item, index) for index, item in enumerate(self._items)]
        if len(set(shapes)) > 1:
            first = shapes[0]
            other = next(index for index, shape in enumerate(shapes) if shape != first)
            raise ValueError(
                f"video: all frames must have the same shape, got {first} for frame 0 and {shapes[other]} for "
                f"frame {other}"
            )
        self.count = len(self._items)
        self.height, self.width = shapes[0][:2]

    def take(self, indices: np.ndarray) -> np.ndarray:
        return np.stack([_item_rgb(self._items[int(index)], int(index)) for index in indices])


_FrameSource = _ArrayFrames | _ListFrames


def _frame_source(video: Any) -> _FrameSource:
    return _ListFrames(video) if isinstance(video, (list, tuple)) else _ArrayFrames(video)


def _frame_axes(array: np.ndarray) -> np.ndarray:
    """A view of `array` as [T, H, W, C], C in (1, 3).

    A 2-D array is one grayscale frame; a 3-D array is one frame when its last dimension is 1 or 3 (channels),
    otherwise a grayscale video [T, H, W]; a 4-D array is [T, H, W, C].
    """
    if array.ndim == 2:
        return array[None, :, :, None]
    if array.ndim == 3:
        return array[None] if array.shape[-1] in (1, 3) else array[..., None]
    if array.ndim != 4 or array.shape[-1] not in (1, 3):
        raise ValueError(
            "video: expected frames [T, H, W, 3] or [T, H, W] (or one frame [H, W, 3] / [H, W]), got an array of "
            f"shape {tuple(array.shape)}"
        )
    return array


def _tensor_to_numpy(tensor: "torch.Tensor") -> np.ndarray:
    """A torch tensor as a numpy array, channels last: [T, 3, H, W] -> [T, H, W, 3], one frame [3, H, W] ->
    [H, W, 3] (when the last dimension is not a channel count itself)."""
    tensor = tensor.detach().cpu()
    if tensor.ndim == 4 and tensor.shape[-1] not in (1, 3) and tensor.shape[1] in (1, 3):
        tensor = tensor.permute(0, 2, 3, 1)
    elif tensor.ndim == 3 and tensor.shape[-1] not in (1, 3) and tensor.shape[0] == 3:
        tensor = tensor.permute(1, 2, 0)
    if tensor.is_floating_point():
        tensor = tensor.float()
    return tensor.numpy()


def _check_pixel_values(array: np.ndarray, what: str) -> None:
    """uint8, or floating point, finite and in [0, 1]; `what` names the frames in the error.

    Raises:
        ValueError: another dtype, NaN or infinite values, or floats outside [0, 1] (the message gives the range
            found: frames of 0..255 floats must be divided by 255 or given as uint8).
    """
    if array.dtype == np.uint8:
        return
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"{what} must be uint8, or floating point in [0, 1], got dtype {array.dtype}")
    # min and max propagate NaN and need no temporary the size of the frames.
    low, high = float(array.min()), float(array.max())
    if math.isnan(low) or math.isnan(high):
        raise ValueError(f"{what} hold NaN values; floating-point frames must be finite, in [0, 1]")
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(
            f"{what} hold infinite values (range [{low}, {high}]); floating-point frames must be finite, in [0, 1]"
        )
    if low < 0.0 or high > 1.0:
        raise ValueError(
            f"{what} are floating point with values in [{low:g}, {high:g}], outside [0, 1]: floating-point frames "
            "are read as 0 = black .. 1 = white; divide 0..255 values by 255, or pass uint8"
        )


def _to_uint8(array: np.ndarray) -> np.ndarray:
    """uint8 [..., C] from pixel values that passed `_check_pixel_values` (floats scaled by 255 and rounded)."""
    if array.dtype == np.uint8:
        return array
    return np.rint(array * 255.0).astype(np.uint8)


def _rgb(array: np.ndarray) -> np.ndarray:
    """[..., 1] grayscale repeated to [..., 3]; RGB as is."""
    return np.repeat(array, 3, axis=-1) if array.shape[-1] == 1 else array


def _item_shape(item: Any, index: int) -> tuple[int, int, int]:
    """(H, W, C) of one frame of a list, checked; image files are opened lazily (header only)."""
    if is_image_path(item):
        with _open_image(item, index) as image:
            return image.height, image.width, 3
    if hasattr(item, "getbands"):
        return item.height, item.width, 3
    array = _item_array(item, index)
    _check_pixel_values(array, f"video: frame {index}")
    return array.shape


def _item_rgb(item: Any, index: int) -> np.ndarray:
    """One frame of a list as uint8 RGB [H, W, 3]."""
    if is_image_path(item):
        with _open_image(item, index) as image:
            return np.asarray(image.convert("RGB"))
    if hasattr(item, "getbands"):
        return np.asarray(item.convert("RGB"))
    return _rgb(_to_uint8(_item_array(item, index)))


def _item_array(item: Any, index: int) -> np.ndarray:
    """An array or tensor frame of a list as [H, W, C], C in (1, 3)."""
    torch = sys.modules.get("torch")
    array = _tensor_to_numpy(item) if torch is not None and isinstance(item, torch.Tensor) else np.asarray(item)
    if array.ndim == 2:
        return array[..., None]
    if array.ndim != 3 or array.shape[-1] not in (1, 3):
        raise ValueError(
            f"video: frame {index} must be an image [H, W, 3] or [H, W] (or a PIL image, or an image file path), "
            f"got {type(item).__name__} of shape {tuple(array.shape)}"
        )
    return array


def _open_image(path: Any, index: int) -> PIL.Image.Image:
    """PIL's lazy open of frame `index`'s image file, with errors that name the file."""
    from PIL import Image, UnidentifiedImageError

    name = os.fspath(path)
    if not os.path.isfile(name):
        raise FileNotFoundError(f"video: frame {index}: image file not found: {name!r}")
    try:
        return Image.open(name)
    except (UnidentifiedImageError, OSError) as error:
        raise ValueError(f"video: frame {index}: {name!r} is not an image file PIL can read ({error})") from error


def _array_metadata(frames: _FrameSource, video: Any, fps_hint: float | None) -> VideoMetadata:
    return VideoMetadata(
        source=_source_name(video),
        fps=fps_hint,
        duration=frames.count / fps_hint if fps_hint else None,
        total_frames=frames.count,
        width=frames.width,
        height=frames.height,
        rotation=0,
        codec=None,
        pix_fmt=None,
    )


def _array_chunks(
    frames: _FrameSource,
    video: Any,
    indices: np.ndarray,
    fps_hint: float | None,
    chunk_size: int | None,
    resize: dict[str, Any],
) -> Iterator[DecodedVideo]:
    metadata = _array_metadata(frames, video, fps_hint)
    height, width = output_size(metadata.height, metadata.width, size=resize["size"], max_side=resize["max_side"])
    interpolation = resize["interpolation"].upper()
    reformatter = VideoReformatter()
    chunk_size = chunk_size or len(indices)
    for chunk_start in range(0, len(indices), chunk_size):
        chunk = indices[chunk_start : chunk_start + chunk_size]
        selected = frames.take(chunk)
        if (height, width) != selected.shape[1:3]:
            selected = np.stack([_resize_rgb(reformatter, f, height, width, interpolation) for f in selected])
        times = chunk / fps_hint if fps_hint else np.full(len(chunk), np.nan)
        yield DecodedVideo(
            frames=np.ascontiguousarray(selected),
            frame_indices=chunk.astype(np.int64),
            timestamps=times.astype(np.float64),
            metadata=metadata,
        )


def _resize_rgb(
    reformatter: VideoReformatter, image: np.ndarray, height: int, width: int, interpolation: str
) -> np.ndarray:
    """Resize one uint8 RGB [H, W, 3] image with swscale, like decoded frames are."""
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
    return reformatter.reformat(frame, width=width, height=height, interpolation=interpolation).to_ndarray()


# ----------------------------------------------------------------------------------------------------------------
# Helpers


def _check_path(video: Any) -> None:
    if isinstance(video, (str, os.PathLike)) and not is_url(video) and not Path(video).exists():
        raise FileNotFoundError(f"video file not found: {os.fspath(video)!r}")


def _is_file_object(video: Any) -> bool:
    return hasattr(video, "read") and not isinstance(video, (str, bytes, bytearray, memoryview, os.PathLike))


def _error_source(video: Any) -> Any:
    """What `VideoDecodeError` should name: the path for paths, the object itself otherwise."""
    return os.fspath(video) if isinstance(video, (str, os.PathLike)) else video


def _source_name(video: Any) -> str:
    if isinstance(video, (str, os.PathLike)):
        return os.fspath(video)
    if isinstance(video, (list, tuple)):
        return f"<{type(video).__name__} of {len(video)} frames>"
    return describe_source(video)


def _ffmpeg_message(error: Exception) -> str:
    return getattr(error, "strerror", None) or str(error)


def _check_resize_arguments(size: Any, max_side: Any, interpolation: Any) -> None:
    if isinstance(size, tuple) or callable(size):
        if isinstance(size, tuple):
            _check_size_pair("size", size)
        if max_side is not None:
            raise ValueError("max_side cannot be combined with an exact size=(height, width) or a size function")
    elif size is not None:
        check_count("size", size)
    check_count("max_side", max_side)
    if not isinstance(interpolation, str) or interpolation.lower() not in _INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {_INTERPOLATIONS}, got {interpolation!r}")


def _check_size_pair(name: str, size: Any) -> tuple[int, int]:
    """`(height, width)` of two positive ints, else a TypeError / ValueError naming `name` and the value."""
    if not isinstance(size, tuple) or len(size) != 2:
        raise ValueError(f"{name} must be (height, width) with positive values, or an int, got {size!r}")
    check_count(f"{name} height", size[0])
    check_count(f"{name} width", size[1])
    return int(size[0]), int(size[1])


class _StderrProgress:
    """Minimal progress line for when tqdm is not installed."""

    def __init__(self, total: int, description: str) -> None:
        self._total, self._done, self._description = total, 0, description
        self._step = max(1, total // 100)

    def update(self, count: int) -> None:
        self._done += count
        if self._done % self._step == 0 or self._done == self._total:
            sys.stderr.write(f"\r{self._description}: {self._done}/{self._total} frames")
            sys.stderr.flush()

    def close(self) -> None:
        sys.stderr.write("\n")


class _NoProgress:
    def update(self, count: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int, source: str, enabled: bool) -> Any:
    if not enabled:
        return _NoProgress()
    description = f"decoding {Path(source).name if len(source) < 200 else 'video'}"
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _StderrProgress(total, description)
    return tqdm(total=total, desc=description, unit="frame")
