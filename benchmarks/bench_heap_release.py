"""AutoShot's heap release (linvt_hf.processing.autoshot.heap): time and memory of the float32 fast path on a long
video with the release asked every N windows (0: never), and, for comparison, never asked but with glibc's mmap
threshold pinned through the environment (MALLOC_MMAP_THRESHOLD_=131072, which stops glibc from raising it).

The video is the first one `bench_autoshot.py --sections long --seed S` writes (320x240, 30 fps, real scenes joined
by cuts, dissolves and fades). Each run is a fresh process; rounds are interleaved. Memory: the highest resident
memory in each quarter of the run, sampled every second (flat memory: four equal numbers), and the peak.

    python benchmarks/bench_heap_release.py --minutes 60 --seed 6 --every 0 1 8 --rounds 2 --pinned
    python benchmarks/bench_heap_release.py --smoke    # seconds, for CI

Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import _transitions  # noqa: E402
from _shared import machine  # noqa: E402

PINNED = {"MALLOC_MMAP_THRESHOLD_": "131072"}


def child(spec: dict) -> dict:
    """One detection (float32 fast path, shot cache off) with the release every `spec["every"]` windows."""
    from _shared import RssTrace, peak_rss_gib, reset_peak_rss

    from linvt_hf.processing.autoshot import heap
    from linvt_hf.processing.shots import ShotDetector

    heap.RELEASE_EVERY_WINDOWS = spec["every"]
    detector = ShotDetector("autoshot", precision="float32", cache=False)
    detector(np.zeros((1, 27, 48, 3), dtype=np.uint8))  # loads the model outside the measurement
    reset_peak_rss()
    trace = RssTrace(1.0)
    start = time.perf_counter()
    detection = detector(spec["path"])
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "frames": detection.num_frames, "quarters": trace.stop(), "peak": peak_rss_gib()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=60, help="video length (60)")
    parser.add_argument("--seed", type=int, default=6, help="the video's seed, as bench_autoshot's (6)")
    parser.add_argument("--every", type=int, nargs="+", default=[0, 1, 8], help="release every N windows; 0: never")
    parser.add_argument("--pinned", action="store_true", help="also: never, with the mmap threshold pinned")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--smoke", action="store_true", help="a few seconds of small video (CI)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    size = (48, 64) if args.smoke else (240, 320)
    if args.smoke:
        args.minutes, args.rounds = 0.05, 1
    settings = [("never" if n == 0 else "every window" if n == 1 else f"every {n} windows", n, {}) for n in args.every]
    settings += [("never, mmap threshold pinned", 0, PINNED)] if args.pinned else []
    print(f"Machine: {machine()}\n")
    print("| release | round | seconds | RSS peak (GiB) | RSS by quarter of the run (GiB) | load average |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    from linvt_hf.processing.video_io import load_video

    real = [load_video(path, size=size).frames for path in sorted((ROOT / "tests/data/videos").glob("*.mp4"))]
    with tempfile.TemporaryDirectory() as workdir:
        path = Path(workdir) / "long.mp4"
        _transitions.write_long_video(path, args.minutes, np.random.default_rng(args.seed), real)
        for round_index in range(args.rounds):
            for name, every, environment in settings:
                spec = json.dumps({"path": str(path), "every": every})
                result = subprocess.run([sys.executable, __file__, "--child", spec], capture_output=True, text=True,
                                        env={**os.environ, **environment})
                if result.returncode != 0:
                    print(f"| {name} | {round_index + 1} | {result.stderr.strip().splitlines()[-1]} | | | |")
                    continue
                row = json.loads(result.stdout.strip().splitlines()[-1])
                quarters = " / ".join(f"{value:.2f}" for value in row["quarters"])
                print(f"| {name} | {round_index + 1} | {row['seconds']:.1f} | {row['peak']:.2f} | {quarters} "
                      f"| {os.getloadavg()[0]:.1f} |", flush=True)


if __name__ == "__main__":
    main()
