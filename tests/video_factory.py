"""Deterministic synthetic videos for tests and benchmarks, written with PyAV.

Every frame shows:

* a flat background whose colour identifies the shot (a new shot starts at each index in `cuts`),
* a square that moves a few pixels per frame in a contrasting colour (so consecutive frames differ),
* when the frame is large enough (width >= 4 * `code_bits`, height >= 24), a bar along the bottom that spells the
  frame index in binary, one black/white column per bit, most significant bit first. `read_frame_code` reads it back
  from a decoded RGB frame, which lets tests check *which* source frame a decoder returned.

The same arguments always give the same file content (x264 is deterministic for a given build and settings).
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


# Saturated, mutually distant colours: adjacent shots never share a background.
SHOT_COLOURS = np.array(
    [
        (200, 30, 30),
        (30, 170, 40),
        (40, 60, 210),
        (220, 200, 30),
        (170, 40, 190),
        (30, 190, 200),
        (240, 130, 20),
        (110, 110, 110),
    ],
    dtype=np.uint8,
)

# VFR frame durations, in units of 1 / (4 * fps): the average over the cycle is exactly 1 / fps.
_VFR_TICKS = (1, 1, 10)


def shot_ids(num_frames: int, cuts: Sequence[int] = ()) -> np.ndarray:
    """Shot number of every frame: `cuts` are the indices of the first frame of each new shot. int64 [num_frames]."""
    ids = np.zeros(num_frames, dtype=np.int64)
    for cut in sorted(set(int(c) for c in cuts)):
        if not 0 < cut < num_frames:
            raise ValueError(f"cuts must lie in (0, num_frames={num_frames}), got {cut}")
        ids[cut:] += 1
    return ids


def render_frame(index: int, shot: int, height: int, width: int, code_bits: int = 10) -> np.ndarray:
    """The RGB content of frame `index` of shot `shot`: uint8 [height, width, 3]."""
    background = SHOT_COLOURS[shot % len(SHOT_COLOURS)]
    frame = np.empty((height, width, 3), dtype=np.uint8)
    frame[:] = background

    side = max(1, min(height, width) // 4)
    travel = max(1, width - side)
    x = (3 * index) % travel
    y = max(0, (height - side) // 3)
    frame[y : y + side, x : x + side] = 255 - background

    if has_frame_code(height, width, code_bits):
        bar = max(4, height // 4)
        col = width // code_bits
        for bit in range(code_bits):
            on = (index >> (code_bits - 1 - bit)) & 1
            frame[height - bar :, bit * col : (bit + 1) * col] = 255 if on else 0
    return frame


def has_frame_code(height: int, width: int, code_bits: int = 10) -> bool:
    """Whether `render_frame` draws the binary frame-index bar at this size."""
    return width >= 4 * code_bits and height >= 24


def read_frame_code(frame: np.ndarray, code_bits: int = 10) -> int:
    """Read back the frame index drawn by `render_frame` from a decoded RGB frame uint8 [H, W, 3]."""
    height, width = frame.shape[:2]
    if not has_frame_code(height, width, code_bits):
        raise ValueError(f"a {height}x{width} frame carries no frame code")
    bar = max(4, height // 4)
    col = width // code_bits
    luma = frame.astype(np.float32).mean(axis=-1)
    value = 0
    for bit in range(code_bits):
        # The centre of each cell only: chroma subsampling and the codec blur cell edges.
        rows = slice(height - bar + bar // 4, height - bar // 4)
        cols = slice(bit * col + col // 4, (bit + 1) * col - col // 4)
        value = (value << 1) | int(luma[rows, cols].mean() > 127)
    return value


def vfr_times(num_frames: int, fps: float) -> np.ndarray:
    """Presentation times (seconds) of the frames of a `vfr=True` video. float64 [num_frames]."""
    ticks = np.concatenate([[0], np.cumsum([_VFR_TICKS[i % len(_VFR_TICKS)] for i in range(num_frames - 1)])])
    return ticks / (4 * fps)


def make_video(
    path: str | Path,
    num_frames: int,
    size: tuple[int, int] = (64, 96),
    fps: float = 25,
    cuts: Sequence[int] = (),
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    gop: int | None = None,
    vfr: bool = False,
    rotation: int = 0,
    bframes: int | None = None,
    preset: str = "veryfast",
    code_bits: int = 10,
    faststart: bool = False,
    lossless: bool = False,
    misordered_pts: bool = False,
) -> Path:
    """Write a synthetic video and return its path.

    Args:
        path: output file; the container format follows the extension (.mp4, .mkv, .webm, .avi ...).
        num_frames: number of frames; 0 writes a video stream without any frame.
        size: (height, width) of the frames.
        fps: frame rate. With `vfr=True` it is the average rate.
        cuts: indices of the first frame of each new shot (each shot gets its own background colour).
        codec: encoder name (libx264, libx265, mpeg4, ffv1, libvpx-vp9, ...).
        pix_fmt: pixel format given to the encoder (yuv420p, gray, yuv420p10le, ...). Note that FFmpeg's H.264
            decoder returns 4:0:0 streams as yuv420p; use codec="ffv1" (.mkv) for a stream that decodes as gray.
        gop: keyframe interval in frames (None: the encoder's default).
        vfr: write variable-frame-rate timestamps (durations cycle through 0.25, 0.25 and 2.5 frame periods; see
            `vfr_times`).
        rotation: display rotation in degrees, counter-clockwise, stored as the stream's display matrix (the
            frames themselves are stored unrotated). PyAV reads it back as `VideoFrame.rotation`.
        bframes: maximum consecutive B-frames for x264/x265 (None: the preset's default).
        preset: x264/x265 preset.
        code_bits: width in bits of the frame-index bar.
        faststart: for .mp4, put the index (moov) in front of the data, like streaming-ready files.
        lossless: x264 at qp 0, so that every decode gives back exactly the frames written. x264 here is not
            deterministic from one encode to the next (measured: a few of 300 encodes of the same frames differ,
            one thread or several), so tests that compare two separately written files need it.
        misordered_pts: store the frames in display order but stamp them as FFmpeg's AVI demuxer stamps DivX files
            with packed B-frames: every third frame's pts swapped with the next one's (pts 1, 3, 2, 4, 6, 5, ...),
            the dts in order. For encoders that do not reorder frames (mpeg4, the default's B-frames off, ...).
    """
    path = Path(path)
    height, width = size
    ids = shot_ids(num_frames, cuts)
    rate = Fraction(fps).limit_denominator(1001)
    if lossless and codec != "libx264":
        raise ValueError(f"lossless=True is for libx264, not {codec!r}")
    if misordered_pts and (vfr or (codec in ("libx264", "libx265") and bframes != 0)):
        raise ValueError("misordered_pts=True needs constant-rate frames in display order (vfr=False, bframes=0)")
    options: dict[str, str] = {"qp": "0"} if lossless else {}
    if codec in ("libx264", "libx265"):
        options["preset"] = preset
        if bframes is not None:
            options["bf" if codec == "libx264" else "x265-params"] = (
                str(bframes) if codec == "libx264" else f"bframes={bframes}"
            )
    container_options = {"movflags": "faststart"} if faststart and path.suffix == ".mp4" else {}

    with av.open(str(path), mode="w", options=container_options) as container:
        stream = container.add_stream(codec, rate=rate, options=options)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        if gop is not None:
            stream.codec_context.gop_size = gop
            if codec == "libx264":
                # Fixed keyframe interval: no scene-cut keyframes, so tests know where keyframes are.
                stream.codec_context.options = {**options, "sc_threshold": "0", "keyint_min": str(gop)}
        if vfr:
            stream.codec_context.time_base = Fraction(1, 1) / (rate * 4)
            stream.time_base = stream.codec_context.time_base
        if rotation:
            stream.set_display_rotation(rotation)
        times = vfr_times(num_frames, float(rate)) if vfr else None
        # PyAV writes the header lazily, on the first packet; a zero-frame file needs it written explicitly.
        container.start_encoding()
        for index in range(num_frames):
            image = render_frame(index, int(ids[index]), height, width, code_bits)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format=pix_fmt)
            if vfr:
                frame.pts = int(round(times[index] * rate * 4))
                frame.time_base = stream.codec_context.time_base
            else:
                frame.pts = index
                frame.time_base = 1 / rate
            container.mux(_misordered(stream.encode(frame)) if misordered_pts else stream.encode(frame))
        container.mux(_misordered(stream.encode(None)) if misordered_pts else stream.encode(None))
    return path


def _misordered(packets: list[av.Packet]) -> list[av.Packet]:
    """Restamp packets (in decode = display order, pts in frames) as `make_video(misordered_pts=True)` describes."""
    for packet in packets:
        index = packet.dts
        packet.pts = index + 1 + {0: 0, 1: 1, 2: -1}[index % 3]
    return packets


def make_audio_only(path: str | Path, seconds: float = 0.5, sample_rate: int = 8000) -> Path:
    """Write a file with a single audio stream (a sine tone) and no video stream."""
    path = Path(path)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("pcm_s16le", rate=sample_rate, layout="mono")
        samples = int(seconds * sample_rate)
        tone = (np.sin(np.arange(samples) * 2 * np.pi * 440 / sample_rate) * 8000).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(tone[None, :], format="s16", layout="mono")
        frame.sample_rate = sample_rate
        frame.pts = 0
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path
