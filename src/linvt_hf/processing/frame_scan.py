"""Every decodable frame of a video, once, in order, for whole-video passes such as shot detection.

`stream_video` decodes the frames a *sampler* asks for, trusting the container's frame count. A whole-video pass
needs what the file really holds: `FrameScan` decodes packet by packet until the stream ends (a container that
declares too few frames loses none, one that declares too many ends early without an error), skips packets the
decoder refuses (a corrupt stretch) instead of aborting, and names every frame it could not read.

Frames are placed on the frame grid of `linvt_hf.processing.sampling` (index i = the frame on screen at i / fps),
as `load_video` places them, so results index the same frames the sampler does:

- a grid position no decoded frame falls on, inside the previous frame's display time (variable frame rate), shows
  that frame again: nothing is missing;
- a grid position left empty because frames could not be decoded also shows the previous frame (the sampler's
  rule), and is listed in `unreadable`;
- a decoded frame whose position was already taken (shown for less than a grid step) is counted in `skipped`;
- frames the container declares after the last decodable one are listed in `unreadable` too, past `num_frames`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import av
import numpy as np

from .errors import VideoDecodeError
from .video_io import (
    DecodedVideo,
    Size,
    VideoInput,
    _check_path,
    _Converter,
    _is_decoded_frames,
    _open_stream,
    _progress_bar,
    _rotation,
    _seconds,
    restamp_in_display_order,
    stream_video,
)

# A container without a frame count (Matroska, MPEG-TS) estimates it from duration x rate: this many frames of
# difference are rounding, not frames missing.
ESTIMATE_SLACK_FRAMES = 2


@dataclass
class FrameScanReport:
    """What a `FrameScan` found, complete once its iteration has ended.

    Attributes:
        num_frames: frames yielded: grid positions 0 .. num_frames - 1, each exactly once.
        declared_frames: the frame count the container declares (or estimates); None for decoded frames.
        decoded_frames: frames the decoder returned.
        skipped: decoded frames not yielded because their grid position was taken (variable frame rate).
        failed_packets: packets the decoder refused.
        unreadable: half-open grid ranges `(start, end)` of frames that could not be decoded; inside
            `[0, num_frames)` they show the previous decodable frame, beyond it the container declared frames the
            stream does not hold.
        notes: one sentence per problem found, naming the frames.
    """

    num_frames: int = 0
    declared_frames: int | None = None
    decoded_frames: int = 0
    skipped: int = 0
    failed_packets: int = 0
    unreadable: list[tuple[int, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class FrameScan:
    """Iterate over chunks (`DecodedVideo`, frames uint8 [<= chunk_size, H, W, 3]) of every decodable frame.

    Memory is bounded by one chunk whatever the video's length. `report` is complete after the iteration.

    Args:
        video: a path, URL, bytes or file object (decoded frames are passed through `stream_video` unchanged).
        size: output size, as `load_video`'s `size`.
        chunk_size: frames per chunk.
        progress: show a progress bar on stderr (tqdm), counted against the declared frame count.
        interpolation: swscale interpolation, as `load_video`'s.

    Raises:
        FileNotFoundError: a path that does not exist (when built).
        VideoDecodeError: on iteration, the source cannot be opened, has no video stream, or no frame of it can be
            decoded.
    """

    def __init__(
        self,
        video: VideoInput,
        *,
        size: Size | None = None,
        chunk_size: int = 64,
        progress: bool = False,
        interpolation: str = "bicubic",
    ) -> None:
        if not _is_decoded_frames(video):
            _check_path(video)
        self.video = video
        self.size = size
        self.chunk_size = chunk_size
        self.progress = progress
        self.interpolation = interpolation
        self.report = FrameScanReport()
        self.metadata: Any = None
        self._last_error = ""

    def __iter__(self) -> Iterator[DecodedVideo]:
        if _is_decoded_frames(self.video):
            for chunk in stream_video(self.video, size=self.size, chunk_size=self.chunk_size):
                self.metadata = chunk.metadata
                self.report.num_frames += len(chunk)
                self.report.decoded_frames += len(chunk)
                yield chunk
            return
        yield from self._scan_container()

    def _scan_container(self) -> Iterator[DecodedVideo]:
        report = self.report
        with _open_stream(self.video, None) as opened:
            report.declared_frames = opened.total_frames
            grid = _Grid(opened)
            bar = _progress_bar(opened.total_frames, opened.source, self.progress)
            buffer: list[tuple[int, np.ndarray, float]] = []
            convert = None
            try:
                for index, frame in grid.frames(self._decoded(opened, grid)):
                    if convert is None:
                        self.metadata = opened.metadata(_rotation(frame))
                        convert = _Converter(self.metadata, self.size, None, self.interpolation)
                    buffer.append((index, convert(frame), _seconds(frame, opened, opened.stream.time_base, index)))
                    bar.update(1)
                    if len(buffer) == self.chunk_size:
                        yield self._chunk(buffer)
                        buffer = []
                if buffer:
                    yield self._chunk(buffer)
            finally:
                bar.close()
            if grid.count == 0:
                raise VideoDecodeError(opened.source, "the video stream has no decodable frames")
            report.num_frames, report.skipped = grid.count, grid.skipped
            report.unreadable = grid.unreadable
            exact = opened.stream.frames > 0
            shortfall = report.declared_frames - grid.count
            if shortfall > (0 if exact else ESTIMATE_SLACK_FRAMES) and report.decoded_frames < report.declared_frames:
                report.unreadable.append((grid.count, report.declared_frames))
            if report.failed_packets:
                report.notes.append(f"{report.failed_packets} packet(s) could not be decoded ({self._last_error})")
            for start, end in report.unreadable:
                where = "after the last decodable frame" if start >= grid.count else "shown as the frame before"
                report.notes.append(f"frames {start}-{end - 1} could not be decoded ({where})")
            if grid.count > report.declared_frames + (0 if exact else ESTIMATE_SLACK_FRAMES):
                report.notes.append(
                    f"the container declares {report.declared_frames} frames; the stream holds {grid.count}"
                )

    def _decoded(self, opened: Any, grid: _Grid) -> Iterator[Any]:
        """Decoded frames in presentation order; packets the decoder refuses are counted and skipped."""
        packets = opened.container.demux(opened.stream)
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                return
            except av.error.FFmpegError as error:  # the demuxer cannot go on: the stream ends here
                self._last_error = f"reading stopped: {error}"
                self.report.failed_packets += 1
                return
            if packet.size and packet.pts is not None:
                grid.expect(packet.pts)
            try:
                frames = packet.decode()
            except av.error.FFmpegError as error:
                self.report.failed_packets += 1
                self._last_error = str(error)
                continue
            for frame in frames:
                self.report.decoded_frames += 1
                yield frame

    def _chunk(self, buffer: list[tuple[int, np.ndarray, float]]) -> DecodedVideo:
        return DecodedVideo(
            frames=np.stack([image for _, image, _ in buffer]),
            frame_indices=np.array([index for index, _, _ in buffer], dtype=np.int64),
            timestamps=np.array([seconds for _, _, seconds in buffer], dtype=np.float64),
            metadata=self.metadata,
        )


class _Grid:
    """Places decoded frames on the frame grid (see the module docstring): yields `(index, frame)` for every grid
    position from 0 on, exactly once.

    A position left empty is unreadable when a packet was demuxed for it (its frame never came out of the decoder);
    one no packet starts at is the previous frame still on screen (variable frame rate). Only the positions of
    packets not yet passed are held (the decoder's delay), so memory stays flat in the video's length.
    """

    def __init__(self, opened: Any) -> None:
        self._opened = opened
        self._timed = opened.origin is not None
        self.count = 0  # next grid position to fill
        self.skipped = 0
        self.unreadable: list[tuple[int, int]] = []
        self._decoded = 0
        self._pending: set[int] = set()  # grid positions of demuxed packets not yet reached

    def expect(self, pts: int) -> None:
        """A packet with this presentation time was demuxed."""
        if self._timed:
            position = self._position(pts)
            if position >= self.count:
                self._pending.add(position)

    def frames(self, decoded: Iterator[Any]) -> Iterator[tuple[int, Any]]:
        previous = None  # the last frame decoded: the one on screen until the next
        for frame in restamp_in_display_order(decoded):
            index = self._decoded if not self._timed or frame.pts is None else self._position(frame.pts)
            self._decoded += 1
            if index < self.count:
                self.skipped += 1
                previous = frame
                continue
            if index > self.count:
                for position in range(self.count, index):
                    if position in self._pending:
                        self._mark(position)
                    yield position, previous if previous is not None else frame
            yield index, frame
            self.count = index + 1
            self._pending = {position for position in self._pending if position >= self.count}
            previous = frame

    def _position(self, pts: int) -> int:
        fps, time_base, origin = self._opened.fps, self._opened.stream.time_base, self._opened.origin
        return math.floor((pts - origin) * time_base * fps + 0.5)

    def _mark(self, position: int) -> None:
        if self.unreadable and self.unreadable[-1][1] == position:
            self.unreadable[-1] = (self.unreadable[-1][0], position + 1)
        else:
            self.unreadable.append((position, position + 1))
