"""HD sources against their decode floor: how far the decoder's own skipping takes shot detection, and its cost.

Shot detection reads every frame at 48x27, so decoding every frame is its floor; for a 1280x720 source that floor
is the decoder's. This measures the decoder's own shortcuts on an HD video of real scenes (the sample videos,
ping-pong looped at 1280x720) joined by cuts, dissolves and fades every 5-15 s, encoded by x264 at its default
preset ("medium": B-frames and the loop filter, as most HD files have): FFmpeg's `skip_loop_filter=all` (no
deblocking), `skip_frame=NONREF` (non-reference frames not decoded) and both. For each: frames decoded and
frames/s at 48x27 (rounds interleaved, best and median), the 48x27 frames' difference from a full decode, and the
fast AutoShot path's cuts on those frames (`--detector`; F1 against the truth, and whether they equal the full
decode's). linvt_hf's own reader (`stream_video`) is timed alongside. With frames skipped, the cheap pass and
AutoShot's 100-frame windows no longer see every frame, so no F1 is given there.

    python benchmarks/bench_hd_decoding.py                 # 2-minute 720p video, ~10 minutes on 2 cores
    python benchmarks/bench_hd_decoding.py --smoke         # seconds, for CI

Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import VideoReformatter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _transitions  # noqa: E402
from _shared import machine  # noqa: E402

from linvt_hf.processing.shots import ShotDetector  # noqa: E402
from linvt_hf.processing.video_io import load_video, stream_video  # noqa: E402

VIDEOS = ROOT / "tests" / "data" / "videos"
SHORTCUTS = {  # name: (FFmpeg decoder options, skip_frame)
    "full decode": ({}, None),
    "skip_loop_filter=all": ({"skip_loop_filter": "all"}, None),
    "skip_frame=NONREF": ({}, "NONREF"),
    "both": ({"skip_loop_filter": "all"}, "NONREF"),
}


def decode(path: Path, options: dict[str, str], skip_frame: str | None) -> tuple[np.ndarray, float]:
    """Every frame the decoder gives with these shortcuts, at 48x27 RGB `[N, 27, 48, 3]`, and the seconds taken
    (threaded decoding, as linvt_hf's reader)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        stream.codec_context.options = dict(options)
        if skip_frame is not None:
            stream.codec_context.skip_frame = skip_frame
        reformatter, frames = VideoReformatter(), []
        start = time.perf_counter()
        for frame in container.decode(stream):
            frames.append(reformatter.reformat(frame, width=48, height=27, format="rgb24", interpolation="AREA")
                          .to_ndarray())
        seconds = time.perf_counter() - start
    return np.stack(frames), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="a few seconds of a small video (CI)")
    parser.add_argument("--minutes", type=float, default=2.0, help="video length (2)")
    parser.add_argument("--size", default="720,1280", help="height,width of the source (720,1280)")
    parser.add_argument("--preset", default="medium", help="x264 preset of the source (medium)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds (3)")
    parser.add_argument("--detector", default="autoshot", help="shot detector on the decoded frames (autoshot)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.smoke:
        args.minutes, args.size, args.rounds, args.detector = 0.1, "72,128", 1, "histogram"
    height, width = (int(value) for value in args.size.split(","))
    print(f"Machine: {machine()}")
    real = [load_video(path, size=(height, width)).frames for path in sorted(VIDEOS.glob("*.mp4"))]
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory() as workdir:
        path = Path(workdir) / "hd.mp4"
        spans = _transitions.write_long_video(path, args.minutes, rng, real, shot_seconds=(5.0, 15.0),
                                              preset=args.preset)
        seconds: dict[str, list[float]] = {name: [] for name in ["linvt_hf stream_video", *SHORTCUTS]}
        frames: dict[str, np.ndarray] = {}
        for _ in range(args.rounds):
            start = time.perf_counter()
            count = sum(len(chunk) for chunk in stream_video(path, size=(27, 48), chunk_size=128))
            seconds["linvt_hf stream_video"].append(time.perf_counter() - start)
            for name, (options, skip_frame) in SHORTCUTS.items():
                frames[name], elapsed = decode(path, options, skip_frame)
                seconds[name].append(elapsed)
        size_mb = path.stat().st_size / 2**20
        print(f"\n### {width}x{height} x264 {args.preset!r}, {args.minutes:g} min at 30 fps ({count} frames, "
              f"{size_mb:.0f} MB), {len(spans)} transitions; {args.rounds} interleaved rounds\n")
        print("| decoder | frames decoded | frames/s best / median | x full decode time (median) | 48x27 difference "
              f"from full decode, mean / max | {args.detector} F1 vs truth | cuts equal full decode's |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
        detector = ShotDetector(args.detector, cache=False)
        reference = frames["full decode"]
        baseline = statistics.median(seconds["full decode"])
        reference_cuts = None
        for name, times in seconds.items():
            got = frames.get(name)
            decoded = count if got is None else len(got)
            best, median = min(times), statistics.median(times)
            difference, f1, equal = "-", "-", "-"
            if got is not None and len(got) == len(reference):
                delta = np.abs(got.astype(np.int16) - reference.astype(np.int16))
                difference = f"{delta.mean():.2f} / {delta.max()}"
                cuts = [first for first, _ in detector(got).shots[1:]]
                f1 = f"{_transitions.f1(*_transitions.match_spans(cuts, [tuple(s) for s in spans])):.3f}"
                reference_cuts = cuts if name == "full decode" else reference_cuts
                equal = "yes" if cuts == reference_cuts else f"no ({len(cuts)} cuts vs {len(reference_cuts)})"
            elif got is not None:
                difference = f"{len(reference) - len(got)} frames not decoded"
            print(f"| {name} | {decoded} | {decoded / best:.0f} / {decoded / median:.0f} | {median / baseline:.2f} "
                  f"| {difference} | {f1} | {equal} |", flush=True)


if __name__ == "__main__":
    main()
