"""AutoShot's probabilities on the two sample videos, saved, and two saved runs compared: the A/B check that a change
to the network (or to torch) leaves its numbers alone, or by how much it moves them.

    python benchmarks/autoshot_outputs.py save before.npz --threads 1     # with the code (PYTHONPATH) to compare
    python benchmarks/autoshot_outputs.py save after.npz --threads 1
    python benchmarks/autoshot_outputs.py compare before.npz after.npz

`save` runs `AutoShot.predict_transitions` over the sample videos' 252 frames at 48x27 in float32 and bfloat16, with
1 and 4 windows a forward pass, on `--threads` torch threads; `compare` prints a Markdown table of the largest
difference per run and whether the two are bit for bit equal.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from linvt_hf.processing.autoshot import AutoShot
from linvt_hf.processing.video_io import load_video

VIDEOS = Path(__file__).resolve().parents[1] / "tests" / "data" / "videos"


def save(path: Path, threads: int) -> None:
    torch.set_num_threads(threads)
    model = AutoShot.from_pretrained()
    frames = np.concatenate([load_video(video, size=(27, 48)).frames for video in sorted(VIDEOS.glob("*.mp4"))])
    runs = {
        f"{precision}, batch_size={batch_size}, {threads} thread(s)": model.predict_transitions(
            frames, batch_size=batch_size, precision=precision
        )
        for precision in ("float32", "bfloat16")
        for batch_size in (1, 4)
    }
    np.savez(path, **runs)
    print(f"{len(runs)} runs of {len(frames)} frames saved to {path}")


def compare(first: Path, second: Path) -> None:
    a, b = np.load(first), np.load(second)
    if sorted(a.files) != sorted(b.files):
        raise ValueError(f"{first} and {second} hold different runs: {sorted(a.files)} vs {sorted(b.files)}")
    print(f"| run | largest difference, {first.name} vs {second.name} | bit for bit equal |")
    print("| --- | ---: | --- |")
    for name in a.files:
        print(f"| {name} | {float(np.abs(a[name] - b[name]).max()):.2e} | {np.array_equal(a[name], b[name])} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    saving = commands.add_parser("save", help="run AutoShot and save its probabilities")
    saving.add_argument("path", type=Path)
    saving.add_argument("--threads", type=int, default=1, help="torch threads (1)")
    comparing = commands.add_parser("compare", help="compare two saved runs")
    comparing.add_argument("first", type=Path)
    comparing.add_argument("second", type=Path)
    args = parser.parse_args()
    if args.command == "save":
        save(args.path, args.threads)
    else:
        compare(args.first, args.second)


if __name__ == "__main__":
    sys.exit(main())
