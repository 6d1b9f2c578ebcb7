"""Does decoding in a second thread, while AutoShot's windows run, make the fast path faster on this machine?

The fast path (`shot_detector="autoshot"`) decodes every frame at 48x27 and runs AutoShot's windows on the way.
This runs the same fast path (`WindowedAutoShot` over `FrameScan`'s chunks, bfloat16 where the CPU computes it
natively) on one long video two ways: in turn (the decoder and the windows one after the other, `ShotDetector`'s
default) and with the decoder in a background thread a bounded queue ahead of the windows
(`linvt_hf.processing.prefetch.prefetched`, as `ShotDetector(decode_ahead=8)` runs it), each with torch on 1 and
on all cores.
Also the scan alone, and the lower bound no schedule on this many cores can beat: (scan CPU seconds + the windows'
CPU seconds) / cores, where the windows' CPU seconds are the in-turn run's minus the scan's. The "detector" section
times `ShotDetector("autoshot")` end to end with `decode_ahead` 0 and 8, in interleaved rounds.

    python benchmarks/bench_decode_overlap.py                 # a 60-minute 320x240 video, about 10 minutes
    python benchmarks/bench_decode_overlap.py --minutes 10 --sections detector
    taskset -c 0 python benchmarks/bench_decode_overlap.py --minutes 10 --sections detector   # one core
    python benchmarks/bench_decode_overlap.py --device cuda    # AutoShot on a GPU (the decoder stays on the CPU)
    python benchmarks/bench_decode_overlap.py --smoke          # a 6-second video, for CI

Prints a Markdown table; the video is the long-video section's kind (benchmarks/_transitions.py).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]

from linvt_hf.processing.autoshot import AutoShot  # noqa: E402
from linvt_hf.processing.autoshot.network import DEFAULT_THRESHOLD, resolve_precision  # noqa: E402
from linvt_hf.processing.frame_scan import FrameScan  # noqa: E402
from linvt_hf.processing.prefetch import PREFETCH_DEPTH, prefetched  # noqa: E402
from linvt_hf.processing.shot_candidates import WindowedAutoShot  # noqa: E402
from linvt_hf.processing.shots import SHOT_CHUNK_FRAMES, ShotDetector  # noqa: E402
from linvt_hf.processing.video_io import load_video  # noqa: E402

import _transitions  # noqa: E402
from _shared import machine  # noqa: E402


def frames_of(path: Path) -> Iterator[np.ndarray]:
    return (chunk.frames for chunk in FrameScan(path, size=(27, 48), chunk_size=SHOT_CHUNK_FRAMES))


def timed(run) -> tuple[float, float, object]:
    start, cpu_start = time.perf_counter(), time.process_time()
    result = run()
    return time.perf_counter() - start, time.process_time() - cpu_start, result


def usable_cores() -> int:
    """The cores this process may run on (`taskset` limits them; os.cpu_count does not see that)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def overlap(path: Path, model: AutoShot, precision: str, cores: int) -> None:
    """The fast path in turn and prefetched, torch on 1 and on all cores, against the scan alone."""
    scan_seconds, scan_cpu, frames = timed(lambda: sum(len(chunk) for chunk in frames_of(path)))
    print("| run | torch threads | seconds | CPU seconds (cores busy) | x scan time | windows run |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    print(f"| scan only | - | {scan_seconds:.1f} | {scan_cpu:.1f} ({scan_cpu / scan_seconds:.2f}) | 1.00 | - |")
    in_turn_cpu = None
    for threads in sorted({1, cores}):
        torch.set_num_threads(threads)
        runs = (("in turn", lambda: frames_of(path)), ("prefetch", lambda: prefetched(frames_of(path))))
        for name, chunks in runs:
            detector = WindowedAutoShot(model, DEFAULT_THRESHOLD, precision=precision)
            seconds, cpu, scores = timed(lambda: detector.run(chunks()))
            if name == "in turn" and threads == cores:
                in_turn_cpu = cpu
            print(f"| {name} | {threads} | {seconds:.1f} | {cpu:.1f} ({cpu / seconds:.2f}) "
                  f"| {seconds / scan_seconds:.2f} | {len(scores.windows_run)} |", flush=True)
    bound = in_turn_cpu / cores
    print(f"\nLower bound on {cores} cores (the in-turn run's CPU seconds / cores, torch on {cores} threads): "
          f"{bound:.1f} s = {bound / scan_seconds:.2f}x the scan time")


def shot_detector(path: Path, rounds: int, cores: int, device: str) -> None:
    """`ShotDetector("autoshot")` end to end with decode_ahead 0 and PREFETCH_DEPTH, in interleaved rounds."""
    torch.set_num_threads(cores)
    detectors = {
        ahead: ShotDetector("autoshot", cache=False, decode_ahead=ahead, device=device) for ahead in (0, PREFETCH_DEPTH)
    }
    for detector in detectors.values():
        detector(np.zeros((1, 27, 48, 3), np.uint8))  # loads the model outside the timing
    print(f"\n`ShotDetector(\"autoshot\", decode_ahead=N)` on {device}, torch on {cores} threads, {rounds} interleaved "
          "rounds:\n")
    print("| round | decode_ahead | seconds | CPU seconds (cores busy) | shots |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for round_index in range(rounds):
        for ahead, detector in detectors.items():
            seconds, cpu, detection = timed(lambda: detector(path))
            print(f"| {round_index + 1} | {ahead} | {seconds:.2f} | {cpu:.2f} ({cpu / seconds:.2f}) "
                  f"| {len(detection.shots)} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="length of the video (60)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sections", default="overlap,detector", help="overlap, detector (both)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds of the detector section (2)")
    parser.add_argument("--device", default="cpu", help="torch device AutoShot runs on (cpu; e.g. cuda)")
    parser.add_argument("--smoke", action="store_true", help="a 6-second video (CI)")
    args = parser.parse_args()
    if args.smoke:
        args.minutes, args.rounds = 0.1, 1
    cores = usable_cores()
    model = AutoShot.from_pretrained(device=args.device)
    precision = resolve_precision("auto", args.device)
    print(f"Machine: {machine()}; {cores} usable core(s); AutoShot on {args.device} in {precision}")
    real = [load_video(path, size=(240, 320)).frames for path in sorted((ROOT / "tests/data/videos").glob("*.mp4"))]
    with tempfile.TemporaryDirectory() as workdir:
        path = Path(workdir) / "long.mp4"
        spans = _transitions.write_long_video(path, args.minutes, np.random.default_rng(args.seed), real)
        WindowedAutoShot(model, DEFAULT_THRESHOLD, precision=precision).run([np.zeros((1, 27, 48, 3), np.uint8)])
        print(f"\n{args.minutes:g}-minute 320x240 video: {len(spans)} transitions\n")
        sections = set(args.sections.split(","))
        if "overlap" in sections:
            overlap(path, model, precision, cores)
        if "detector" in sections:
            shot_detector(path, args.rounds, cores, args.device)


if __name__ == "__main__":
    sys.exit(main())
