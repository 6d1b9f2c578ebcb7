"""LinVT's own cost on long videos: time and peak memory of one forward pass, per frame count and dtype.

Each measurement runs in a fresh subprocess so that its peak resident memory (ru_maxrss) is its own. The input is
random `[1, T, N, D]` visual tokens (N = 256 tokens per frame, D = 3584, Qwen2-VL-7B's width, by default) and a
20-token question, through the paper's default configuration (L = 4, top-k = 2048, queries 64/32/16).

    python benchmarks/bench_tokenizer.py --frames 64 256 1024 --dtypes bfloat16 float32
    python benchmarks/bench_tokenizer.py --smoke          # seconds; what CI runs
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from _shared import machine


def measure(frames: int, tokens: int, hidden: int, dtype: str, smoke: bool, threads: int | None) -> dict:
    """Runs in the child process: build LinVT, run one forward pass, report time and memory."""
    import resource

    import torch

    from linvt_hf import LinVTConfig
    from linvt_hf.modeling.video_tokenizer import build_video_tokenizer

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    config = LinVTConfig(hidden_size=64, num_attention_heads=4, num_layers=1, top_k_tokens=256) if smoke else LinVTConfig()
    torch_dtype = getattr(torch, dtype)
    tokenizer = build_video_tokenizer(config, input_size=hidden).to(torch_dtype).eval()
    visual = torch.randn(1, frames, tokens, hidden, dtype=torch_dtype)
    question = torch.randn(1, 20, hidden, dtype=torch_dtype)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    with torch.inference_mode():
        out = tokenizer(visual, text_embeds=question)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "frames": frames,
        "tokens_per_frame": tokens,
        "hidden": hidden,
        "dtype": dtype,
        "seconds": seconds,
        "input_gib": visual.numel() * visual.element_size() / 2**30,
        "peak_rss_gib": peak / 2**20,
        "rss_before_forward_gib": before / 2**20,
        "video_tokens": list(out.video_tokens.shape),
        "parameters_m": sum(p.numel() for p in tokenizer.parameters()) / 1e6,
        "finite": bool(torch.isfinite(out.video_tokens).all()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, nargs="+", default=[64, 256, 1024])
    parser.add_argument("--dtypes", nargs="+", default=["bfloat16", "float32"])
    parser.add_argument("--tokens-per-frame", type=int, default=256)
    parser.add_argument("--hidden", type=int, default=3584)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--smoke", action="store_true", help="tiny config and sizes, finishes in seconds")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        print(json.dumps(measure(**json.loads(args.child))))
        return 0
    if args.smoke:
        args.frames, args.dtypes, args.tokens_per_frame, args.hidden = [4, 16], ["float32"], 16, 64

    rows = []
    for dtype in args.dtypes:
        for frames in args.frames:
            spec = dict(
                frames=frames, tokens=args.tokens_per_frame, hidden=args.hidden, dtype=dtype, smoke=args.smoke,
                threads=args.threads,
            )
            result = subprocess.run(
                [sys.executable, __file__, "--child", json.dumps(spec)], capture_output=True, text=True
            )
            if result.returncode != 0:
                print(result.stderr, file=sys.stderr)
                rows.append({**spec, "error": result.stderr.strip().splitlines()[-1] if result.stderr else "failed"})
                continue
            rows.append(json.loads(result.stdout.strip().splitlines()[-1]))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)

    print(f"Machine: {machine()}; date: {time.strftime('%Y-%m-%d')}")
    print()
    print("| frames T | tokens/frame N | D | dtype | input (GiB) | forward (s) | peak RSS (GiB) | output |")
    print("|---:|---:|---:|---|---:|---:|---:|---|")
    for row in rows:
        if "error" in row:
            print(f"| {row['frames']} | {row['tokens']} | {row['hidden']} | {row['dtype']} | | failed: {row['error']} | | |")
            continue
        print(
            f"| {row['frames']} | {row['tokens_per_frame']} | {row['hidden']} | {row['dtype']} | "
            f"{row['input_gib']:.2f} | {row['seconds']:.1f} | {row['peak_rss_gib']:.2f} | "
            f"{'x'.join(map(str, row['video_tokens']))}{'' if row['finite'] else ' (NON-FINITE)'} |"
        )
    return 1 if any("error" in row or not row.get("finite", False) for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
