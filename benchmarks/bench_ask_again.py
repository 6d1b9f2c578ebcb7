"""Ask again without re-encoding: time to first token of a second question about the same video against the first.

SVR never reads the question, so a video encoded once up to TTA (`encode_video_context`: the vision encoder, SVR's
scores, top-k, MTP) serves every later question, which then costs only TTA and the LLM. For each family and frame
count T, in a fresh subprocess, at the widths of `bench_native_vs_linvt.py` (Qwen2-VL-2B, InternVL3-1B; random
weights, reduced depths `--llm-layers` / `--vision-layers`, LinVT's default configuration at full size):

- first question: from the frames, as asked without a context (`LinVTProcessor` on the frames, then
  `generate(max_new_tokens=1)`); timed on two different questions, the faster counts;
- the context: `processor(videos=...)` and `encode_video_context` once (what the first question leaves behind);
- second question: the prompt built without the video (`processor.encoded_video_prompts`) and
  `generate(video_context=..., max_new_tokens=1)`; best of `--repeats`. Its first token is checked against the
  same question asked from the frames (`same_first_token`).

The ratio second / first is the time to first token of a follow-up question relative to asking from scratch. Forward
hooks time the vision encoder and the LLM inside each (CPU time, steadier than wall time on a shared machine), so that
both are also estimated at the released depths (the vision and LLM times scaled linearly in depth, as
`bench_native_vs_linvt.py` does; LinVT, TTA and the rest as measured).

    python benchmarks/bench_ask_again.py                       # T = 16 / 64 / 256, both families
    python benchmarks/bench_ask_again.py --frames 64 --families qwen2_vl --device cuda --model-size qwen2-vl-7b
    python benchmarks/bench_ask_again.py --smoke               # seconds; what CI runs
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from _shared import machine, run_child
from bench_native_vs_linvt import (
    BACKBONE_NAMES,
    IMAGE_LLM_CONFIGS,
    MODEL_SIZES,
    apply_model_size,
    build,
    cast_pixels,
    linvt_inputs,
    synchronize,
)

QUESTIONS = (
    "What happens in this video? Describe the main events in order.",
    "Which colours dominate the scene, and does the camera move?",
)


def measure(family: str, frames: int, size: int, llm_layers: int, vision_layers: int, dtype: str, device: str,
            model_size: str | None, smoke: bool, repeats: int, threads: int | None) -> dict:
    """Child process: build, warm up on 2 frames, then time the first and the second question on T frames."""
    import numpy as np
    import torch

    import bench_native_vs_linvt as native

    if threads:
        torch.set_num_threads(threads)
    top, processor = build(family, "linvt", size, llm_layers, vision_layers, dtype, smoke, device, model_size)
    torch_dtype = getattr(torch, dtype)
    rng = np.random.default_rng(0)

    timers = native.Timers(native.timed_modules(family, top, "linvt"), device)

    def timed(fn: Any) -> tuple[Any, float, float, dict]:
        timers.reset()
        synchronize(device)
        wall, cpu = time.perf_counter(), time.process_time()
        with torch.inference_mode():
            result = fn()
        synchronize(device)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        modules = timers.results() if timers.first_start is not None else {}
        return result, wall, cpu, modules

    llm_full, vision_full = native.MODEL_SIZES[native.resolve_model_size(family, model_size)]["depth"]

    def full_depth_cpu(run: tuple) -> float:
        """The run's CPU time with its vision encoder and LLM times scaled to the released depths."""
        modules = run[3]
        return (
            run[2]
            + modules.get("vision_cpu_s", 0.0) * (vision_full / vision_layers - 1)
            + modules.get("llm_cpu_s", 0.0) * (llm_full / llm_layers - 1)
        )

    def from_scratch(video: Any, question: str) -> Any:
        inputs, _ = linvt_inputs(processor, video, question)
        inputs = {k: v.to(device) for k, v in cast_pixels(inputs, torch_dtype).items()}
        return top.generate(**inputs, max_new_tokens=1, do_sample=False)[0, -1].item()

    def encode(video: Any) -> Any:
        inputs = processor(videos=[video], return_tensors="pt", num_frames=len(video), max_frames=len(video))
        inputs = {k: v.to(device) for k, v in cast_pixels(dict(inputs), torch_dtype).items()}
        count = processor.video_token_counts(inputs["video_frame_mask"].cpu())[0]
        return top.encode_video_context(**inputs), count

    def ask_again(context: Any, count: int, question: str) -> Any:
        content = [{"type": "video", "path": "video"}, {"type": "text", "text": question}]
        messages = [{"role": "user", "content": content}]
        text = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        prompt = processor.encoded_video_prompts(text, [count], return_tensors="pt")
        prompt = {k: v.to(device) for k, v in prompt.items()}
        return top.generate(**prompt, video_context=context, max_new_tokens=1, do_sample=False)[0, -1].item()

    warm = rng.integers(0, 256, (2, size, size, 3), dtype=np.uint8)  # warm-up: every path once
    from_scratch(warm, QUESTIONS[0])
    ask_again(*encode(warm), QUESTIONS[1])
    video = rng.integers(0, 256, (frames, size, size, 3), dtype=np.uint8)
    first = [timed(lambda q=q: from_scratch(video, q)) for q in QUESTIONS]
    (context, count), encode_s, encode_cpu_s, _ = timed(lambda: encode(video))
    second = [timed(lambda: ask_again(context, count, QUESTIONS[1])) for _ in range(repeats)]
    best_first, best_second = min(first, key=lambda r: r[1]), min(second, key=lambda r: r[1])
    return {
        "family": family, "frames": frames, "size": size, "dtype": dtype, "device": device,
        "model_size": model_size or native.DEFAULT_MODEL_SIZE[family], "llm_layers": llm_layers,
        "vision_layers": vision_layers,
        "first_s": best_first[1], "first_cpu_s": best_first[2],
        "encode_context_s": encode_s, "encode_context_cpu_s": encode_cpu_s,
        "second_s": best_second[1], "second_cpu_s": best_second[2],
        "first_llm_cpu_s": best_first[3].get("llm_cpu_s"), "first_vision_cpu_s": best_first[3].get("vision_cpu_s"),
        "second_llm_cpu_s": best_second[3].get("llm_cpu_s"),
        "first_full_depth_cpu_s": full_depth_cpu(best_first), "second_full_depth_cpu_s": full_depth_cpu(best_second),
        "full_depth": [llm_full, vision_full],
        "context_mib": context.nbytes() / 2**20,
        "same_first_token": second[0][0] == first[1][0],
    }


def print_table(rows: list[dict]) -> None:
    print("| backbone widths | frames T | first question TTFT (s) | encode once (s) | second question TTFT (s) | "
          "second / first | second / first, CPU time | second / first, CPU time at the released depths (est.) | "
          "context (MiB) | same first token |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for row in rows:
        name = BACKBONE_NAMES.get(row["family"], row["family"])
        if "error" in row:
            print(f"| {name} | {row['frames']} | failed: {row['error']} | | | | | | | |")
            continue
        print(
            f"| {row['model_size']} ({name if row['model_size'] == name else row['family']}) | {row['frames']} | "
            f"{row['first_s']:.3f} | {row['encode_context_s']:.3f} | {row['second_s']:.3f} | "
            f"{row['second_s'] / row['first_s']:.3f} | {row['second_cpu_s'] / row['first_cpu_s']:.3f} | "
            f"{row['second_full_depth_cpu_s'] / row['first_full_depth_cpu_s']:.3f} | "
            f"{row['context_mib']:.1f} | {row['same_first_token']} |"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--families", nargs="+", default=["qwen2_vl", "internvl"], choices=sorted(IMAGE_LLM_CONFIGS))
    parser.add_argument("--frames", type=int, nargs="+", default=[16, 64, 256])
    parser.add_argument("--size", type=int, default=224, help="frame side in pixels (a multiple of 28)")
    parser.add_argument("--llm-layers", type=int, default=2)
    parser.add_argument("--vision-layers", type=int, default=1)
    parser.add_argument("--model-size", default=None, choices=sorted(MODEL_SIZES),
                        help="a released backbone's widths and depths (overrides --llm-layers / --vision-layers)")
    parser.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float16", "float32"])
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of the second question (the best counts)")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json-out", default=None, help="also write the rows as JSON here")
    parser.add_argument("--smoke", action="store_true", help="tiny widths and sizes, finishes in seconds")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        print(json.dumps(measure(**json.loads(args.child))))
        return 0
    apply_model_size(args)
    if args.smoke:
        args.frames, args.size, args.repeats = [4], 56, 1
        args.families = args.families if args.model_size else ["qwen2_vl"]
    rows = []
    for family in args.families:
        for frames in args.frames:
            spec = dict(
                family=family, frames=frames, size=args.size, llm_layers=args.llm_layers,
                vision_layers=args.vision_layers, dtype=args.dtype, device=args.device, model_size=args.model_size,
                smoke=args.smoke, repeats=args.repeats, threads=args.threads,
            )
            # (A smoke run measures in this process: one interpreter start less for CI.)
            rows.append(measure(**spec) if args.smoke else run_child(__file__, spec, args.timeout))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    print(f"Machine: {machine()}; date: {time.strftime('%Y-%m-%d')}")
    print(f"Frames {args.size}x{args.size}, {args.dtype} on {args.device}, "
          f"{args.model_size or f'LLM layers {args.llm_layers}, vision layers {args.vision_layers}'}"
          f"{' (smoke sizes)' if args.smoke else ''}\n")
    print_table(rows)
    if args.json_out:
        with open(args.json_out, "w") as handle:
            json.dump(rows, handle, indent=1)
    failed = [row for row in rows if "error" in row or not row["same_first_token"]]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
