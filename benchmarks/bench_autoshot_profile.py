"""Where one AutoShot window's time goes on this CPU: torch.profiler over a 100-frame window, by operator.

    python benchmarks/bench_autoshot_profile.py                # bfloat16 and float32, 1 thread
    python benchmarks/bench_autoshot_profile.py --threads 2 --rows 8
    python benchmarks/bench_autoshot_profile.py --precisions bfloat16 --shapes --rows 12   # each convolution's rate
    python benchmarks/bench_autoshot_profile.py --smoke        # one window, for CI

Prints, per precision, the milliseconds a window spends in each operator (self time, the top --rows) and the share
of the convolutions; the frames are random (the time does not depend on them). With --shapes, rows are split by
input shape, and each convolution's rate is given in multiply-accumulates a second (output positions x output
channels x input channels x kernel size, over its self time).
"""

from __future__ import annotations

import argparse
import sys

import torch

from linvt_hf.processing.autoshot import AutoShot
from linvt_hf.processing.autoshot.network import FRAME_HEIGHT, FRAME_WIDTH, WINDOW_LENGTH, precision_context

from _shared import machine


# Operators that only dispatch to a convolution kernel (their self time is not the convolution's).
DISPATCH_ONLY = {"aten::conv3d", "aten::convolution", "aten::_convolution"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1)")
    parser.add_argument("--windows", type=int, default=5, help="windows profiled, after 3 warm-up ones (5)")
    parser.add_argument("--rows", type=int, default=6, help="operators listed (6)")
    parser.add_argument("--precisions", default="bfloat16,float32", help="bfloat16, float32 (both)")
    parser.add_argument("--shapes", action="store_true", help="split rows by input shape, with convolution rates")
    parser.add_argument("--smoke", action="store_true", help="one window (CI)")
    args = parser.parse_args()
    if args.smoke:
        args.windows = 1
    torch.set_num_threads(args.threads)
    model = AutoShot.from_pretrained()
    window = torch.randint(0, 256, (1, WINDOW_LENGTH, FRAME_HEIGHT, FRAME_WIDTH, 3), dtype=torch.uint8)
    print(f"Machine: {machine()}")
    for precision in args.precisions.split(","):
        with torch.inference_mode(), precision_context(precision, "cpu"):
            for _ in range(3):
                model(window)
            with torch.profiler.profile(record_shapes=args.shapes) as profile:
                for _ in range(args.windows):
                    model(window)
        averages = profile.key_averages(group_by_input_shape=args.shapes)
        events = sorted(averages, key=lambda event: event.self_cpu_time_total, reverse=True)
        total = sum(event.self_cpu_time_total for event in events) / args.windows / 1000
        convolution = sum(event.self_cpu_time_total for event in events if "convolution" in event.key)
        print(f"\n{precision}, {args.threads} thread(s): {total:.0f} ms a window, convolutions "
              f"{convolution / args.windows / 1000 / total:.0%}\n")
        if not args.shapes:
            print("| operator | ms a window (self) | share |")
            print("| --- | ---: | ---: |")
        else:
            print("| operator | input, weight | calls a window | ms a window (self) | share | GMAC/s |")
            print("| --- | --- | ---: | ---: | ---: | ---: |")
        for event in events[: args.rows]:
            milliseconds = event.self_cpu_time_total / args.windows / 1000
            if not args.shapes:
                print(f"| {event.key} | {milliseconds:.1f} | {milliseconds / total:.0%} |")
                continue
            shapes = [shape for shape in event.input_shapes if shape][:2]
            calls = event.count / args.windows
            rate = ""
            if "conv" in event.key and event.key not in DISPATCH_ONLY and len(shapes) == 2 and len(shapes[1]) == 5:
                (batch, _, frames, height, width), weight = shapes
                macs = batch * frames * height * width * weight[0] * weight[1] * weight[2] * weight[3] * weight[4]
                rate = f"{calls * macs / (milliseconds / 1000) / 1e9:.0f}"
            print(f"| {event.key} | {', '.join(str(list(shape)) for shape in shapes)} | {calls:g} "
                  f"| {milliseconds:.1f} | {milliseconds / total:.0%} | {rate} |")


if __name__ == "__main__":
    sys.exit(main())
