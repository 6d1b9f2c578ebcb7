"""Sampled-frame decoding speed: linvt_hf's `load_video` against transformers' `load_video(backend="pyav")`.

Both are asked for the same 16 frames: transformers' default uniform indices (`arange(16) * total // 16`), passed to
ours through `indices=`, and the pixels are checked to be identical. Rows for our own segment-centre sampling, for
decord when it is importable, and for a whole-video pass at AutoShot's 48x27 are added for context.

    python benchmarks/bench_decoding.py            # real clip + 4-minute and 10-minute generated videos
    python benchmarks/bench_decoding.py --smoke    # a few seconds, for CI

Generated videos (320x240, 25 fps, a keyframe every 100 frames, x264 "veryfast" with B-frames) are cached in
--workdir. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np


ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from video_factory import make_video  # noqa: E402

from linvt_hf.processing.video_io import load_video, probe_video, stream_video  # noqa: E402


NUM_FRAMES = 16
REAL_VIDEO = ROOT / "tests" / "data" / "videos" / "bigbuckbunny.mp4"


def transformers_indices(total_frames: int, num_frames: int = NUM_FRAMES) -> np.ndarray:
    """The frames transformers' `default_sample_indices_fn` picks for `num_frames`."""
    return np.arange(num_frames, dtype=np.int64) * total_frames // num_frames


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    """Median wall time of `repeats` calls, and the last result."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def generated_video(workdir: Path, seconds: int, size: tuple[int, int] = (240, 320), gop: int = 100) -> Path:
    path = workdir / f"bench_{seconds}s_{size[1]}x{size[0]}_gop{gop}.mp4"
    if not path.exists():
        start = time.perf_counter()
        partial = path.with_suffix(".partial.mp4")
        make_video(partial, seconds * 25, size=size, fps=25, gop=gop, cuts=range(250, seconds * 25, 250))
        partial.rename(path)
        print(f"generated {path.name} in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return path


def decord_reader() -> Callable[[Path, np.ndarray], np.ndarray] | None:
    try:
        import decord
    except ImportError:
        return None

    def read(path: Path, indices: np.ndarray) -> np.ndarray:
        return decord.VideoReader(str(path)).get_batch(indices.tolist()).asnumpy()

    return read


def bench_video(path: Path, label: str, repeats: int, full_pass: bool) -> list[dict[str, object]]:
    from transformers.video_utils import load_video as hf_load_video

    meta = probe_video(path)
    indices = transformers_indices(meta.total_frames)
    rows = []

    hf_time, (hf_frames, _) = timed(lambda: hf_load_video(str(path), num_frames=NUM_FRAMES, backend="pyav"), repeats)
    rows.append(dict(method='transformers `load_video(backend="pyav", num_frames=16)`', time=hf_time, same="reference"))

    ours_time, ours = timed(lambda: load_video(path, indices=indices), repeats)
    same = "identical" if np.array_equal(ours.frames, hf_frames) else "DIFFERENT"
    rows.append(dict(method="linvt_hf `load_video(indices=<same 16>)`", time=ours_time, same=same))

    own_time, _ = timed(lambda: load_video(path, num_frames=NUM_FRAMES), repeats)
    rows.append(dict(method="linvt_hf `load_video(num_frames=16)` (segment centres)", time=own_time, same="n/a"))

    small_time, _ = timed(lambda: load_video(path, indices=indices, size=224), repeats)
    rows.append(dict(method="linvt_hf `load_video(indices=<same 16>, size=224)`", time=small_time, same="n/a"))

    read_decord = decord_reader()
    if read_decord is not None:
        decord_time, decord_frames = timed(lambda: read_decord(path, indices), repeats)
        same = "identical" if np.array_equal(decord_frames, hf_frames) else "differs (own decoder build)"
        rows.append(dict(method="decord `VideoReader.get_batch` (same 16)", time=decord_time, same=same))

    if full_pass:
        all_time, _ = timed(lambda: sum(len(c) for c in stream_video(path, size=(27, 48), chunk_size=256)), 1)
        rows.append(
            dict(
                method=f"linvt_hf `stream_video(size=(27, 48))`, all {meta.total_frames} frames",
                time=all_time,
                same=f"{meta.total_frames / all_time:.0f} frames/s",
                speedup=None,  # a different job: every frame, resized
            )
        )

    description = f"{label} ({meta.width}x{meta.height}, {meta.total_frames} frames, {meta.duration:.0f} s)"
    for row in rows:
        row["video"] = description
        row.setdefault("speedup", hf_time / row["time"])
    return rows


def machine_line() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import av
    import transformers

    return (
        f"{os.cpu_count()} cores, {cpu}; Python {platform.python_version()}, PyAV {av.__version__} "
        f"(FFmpeg libavcodec {'.'.join(map(str, av.library_versions['libavcodec']))}), "
        f"transformers {transformers.__version__}, numpy {np.__version__}"
    )


def markdown(rows: list[dict[str, object]]) -> str:
    lines = [
        "| video | method | time (s, median) | speed-up vs transformers | output |",
        "|---|---|---:|---:|---|",
    ]
    for row in rows:
        speedup = "n/a" if row["speedup"] is None else f"{row['speedup']:.1f}x"
        lines.append(f"| {row['video']} | {row['method']} | {row['time']:.3f} | {speedup} | {row['same']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="tiny run (a few seconds) for CI")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per measurement (default 3, smoke 1)")
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "linvt_bench", help="cache for generated videos"
    )
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    repeats = args.repeats or (1 if args.smoke else 3)

    if args.smoke:
        videos = [(REAL_VIDEO, "bigbuckbunny.mp4 (real)"), (generated_video(args.workdir, 20, (120, 160)), "generated")]
    else:
        videos = [
            (REAL_VIDEO, "bigbuckbunny.mp4 (real)"),
            (generated_video(args.workdir, 240), "generated 4 min"),
            (generated_video(args.workdir, 600), "generated 10 min"),
        ]
    rows = []
    for path, label in videos:
        rows.extend(bench_video(path, label, repeats, full_pass=not args.smoke))

    print(f"Machine: {machine_line()}\n")
    print(markdown(rows))
    mismatches = [row for row in rows if row["same"] == "DIFFERENT"]
    return 1 if mismatches else 0


if __name__ == "__main__":
    raise SystemExit(main())
