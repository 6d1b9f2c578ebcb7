"""Where one AutoShot window's time goes on this CPU: torch.profiler over a 100-frame window, by operator.

    python benchmarks/bench_autoshot_profile.py                # bfloat16 and float32, 1 thread
    python benchmarks/bench_autoshot_profile.py --threads 2 --rows 8
    python benchmarks/bench_autoshot_profile.py --smoke        # one window, for CI

Prints, per precision, the milliseconds a window spends in each operator (self time, the top --rows) and the share
of the convolutions; the frames are random (the time does not depend on them).
"""

from __future__ import annotations

import argparse
import sys

import torch

from linvt_hf.processing.autoshot import AutoShot
from linvt_hf.processing.autoshot.network import FRAME_HEIGHT, FRAME_WIDTH, WINDOW_LENGTH, precision_context

from _shared import machine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1)")
    parser.add_argument("--windows", type=int, default=5, help="windows profiled, after 3 warm-up ones (5)")
    parser.add_argument("--rows", type=int, default=6, help="operators listed (6)")
    parser.add_argument("--smoke", action="store_true", help="one window (CI)")
    args = parser.parse_args()
    if args.smoke:
        args.windows = 1
    torch.set_num_threads(args.threads)
    model = AutoShot.from_pretrained()
    window = torch.randint(0, 256, (1, WINDOW_LENGTH, FRAME_HEIGHT, FRAME_WIDTH, 3), dtype=torch.uint8)
    print(f"Machine: {machine()}")
    for precision in ("bfloat16", "float32"):
        with torch.inference_mode(), precision_context(precision, "cpu"):
            for _ in range(3):
                model(window)
            with torch.profiler.profile() as profile:
                for _ in range(args.windows):
                    model(window)
        events = sorted(profile.key_averages(), key=lambda event: event.self_cpu_time_total, reverse=True)
        total = sum(event.self_cpu_time_total for event in events) / args.windows / 1000
        convolution = sum(event.self_cpu_time_total for event in events if "convolution" in event.key)
        print(f"\n{precision}, {args.threads} thread(s): {total:.0f} ms a window, convolutions "
              f"{convolution / args.windows / 1000 / total:.0%}\n")
        print("| operator | ms a window (self) | share |")
        print("| --- | ---: | ---: |")
        for event in events[: args.rows]:
            milliseconds = event.self_cpu_time_total / args.windows / 1000
            print(f"| {event.key} | {milliseconds:.1f} | {milliseconds / total:.0%} |")


if __name__ == "__main__":
    sys.exit(main())
