"""LinVT's own cost as the number of frames grows: time and peak memory of one forward pass, its linear fit in T, and
its share of the vision encoder's time on the same frames.

LinVT runs alone in its default configuration (L = 4, d = 896, top-k = 2048, queries 64/32/16, text condition on) at
D = 3584 (the LLM width of Qwen2-VL-7B and InternVL3-8B) on random `[1, T, N, D]` frame tokens with N = 256 tokens per
frame (one 448x448 frame after InternViT and the 0.5 pixel shuffle, or one Qwen2-VL temporal patch at 448x448) and a
20-token question. From `--long-from` frames on, `temporal_window` is set (the long-video setting: temporal attention
sees only nearby frames). Each frame count runs in a fresh subprocess, so its peak RSS (ru_maxrss) is its own.

The vision encoder's time per frame is measured on the same machine and dtype: InternViT-300M (InternVL3-8B's
encoder: width 1024, 16 heads, 448x448 frames, then the pixel shuffle and the MLP projector to D) with 2 layers,
hooks splitting the encoder layers from the rest; the released 24 layers are extrapolated from the time per layer.
LinVT's share is its time over that full-depth vision time for the same T frames. Times are wall and CPU seconds
(all threads; steadier than wall time on a shared machine); short runs are repeated and the best counts.

    python benchmarks/bench_linvt_scaling.py                      # full run (32 min on 2 shared cores)
    python benchmarks/bench_linvt_scaling.py --frames 64 256 1024
    python benchmarks/bench_linvt_scaling.py --smoke              # seconds; what CI runs
    python benchmarks/bench_linvt_scaling.py --device cuda --model-size qwen2-vl-7b --frames 64 256 1024

`--model-size` picks the released backbone whose widths are used (random weights, nothing downloaded):
`internvl3-8b` (the default: InternViT-300M, 24 layers, D = 3584) or `qwen2-vl-7b` (Qwen2-VL-7B's ViT: width 1280,
32 layers, merger to D = 3584; a LinVT step is a temporal patch of two frames, so T frames give LinVT T / 2 steps of
N tokens). On a GPU (`--device cuda`) everything is built on the device, times are taken between CUDA
synchronisations and the peak device memory is reported.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

from _shared import current_rss_gib, fast_random_init, machine, reset_peak_rss, run_child

QUESTION_TOKENS = 20
# The released backbones whose vision encoder (and LLM width D) can be used: its family, D, encoder depth and the
# frames per LinVT step (Qwen2-VL: a temporal patch of two frames).
MODEL_SIZES = {
    "internvl3-8b": dict(vision="internvit", hidden=3584, vision_depth=24, frames_per_step=1),
    "qwen2-vl-7b": dict(vision="qwen2_vl", hidden=3584, vision_depth=32, frames_per_step=2),
}
DEFAULT_MODEL_SIZE = "internvl3-8b"
VISION_NAMES = {"internvit": "InternViT-300M", "qwen2_vl": "Qwen2-VL ViT"}


def synchronize(device: str) -> None:
    """Wait for the device's queued work (CUDA), so that wall times cover it."""
    import torch

    if str(device).startswith("cuda"):
        torch.cuda.synchronize(device)


def peak_device_gib(device: str) -> float | None:
    import torch

    return torch.cuda.max_memory_allocated(device) / 2**30 if str(device).startswith("cuda") else None


def measure_linvt(frames: int, tokens: int, hidden: int, dtype: str, temporal_window: int | None, smoke: bool,
                  threads: int | None, repeats: int = 3, device: str = "cpu", frames_per_step: int = 1) -> dict:
    """Child process: LinVT's forward on `[1, frames / frames_per_step, tokens, hidden]` on `device`; its time, peak
    RSS (and device memory) and output shape."""
    import torch

    from linvt_hf import LinVTConfig
    from linvt_hf.modeling.video_tokenizer import build_video_tokenizer

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    settings = dict(hidden_size=64, num_attention_heads=4, num_layers=1, top_k_tokens=256) if smoke else {}
    config = LinVTConfig(temporal_window=temporal_window, **settings)
    torch_dtype = getattr(torch, dtype)
    torch.set_default_dtype(torch_dtype)  # weights created in `dtype`: no float32 copy raises the peak
    with fast_random_init(), torch.device(device):
        tokenizer = build_video_tokenizer(config, input_size=hidden).to(torch_dtype).eval()
    torch.set_default_dtype(torch.float32)
    question = torch.randn(1, QUESTION_TOKENS, hidden, dtype=torch_dtype, device=device)
    with torch.inference_mode():  # warm-up on 4 frames
        tokenizer(torch.randn(1, 4, tokens, hidden, dtype=torch_dtype, device=device), text_embeds=question)
    peak_reset = reset_peak_rss()
    if str(device).startswith("cuda"):
        torch.cuda.reset_peak_memory_stats(device)
    visual = torch.randn(1, max(frames // frames_per_step, 1), tokens, hidden, dtype=torch_dtype, device=device)
    before = current_rss_gib()
    times, cpu_times = [], []
    while len(times) < repeats and sum(times) < 20:  # short runs are repeated; the best counts
        synchronize(device)
        start, cpu_start = time.perf_counter(), time.process_time()
        with torch.inference_mode():
            out = tokenizer(visual, text_embeds=question)
        synchronize(device)
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    return {
        "kind": "linvt", "frames": frames, "tokens_per_frame": tokens, "hidden": hidden, "dtype": dtype,
        "temporal_window": temporal_window, "seconds": min(times), "cpu_seconds": min(cpu_times), "runs": len(times),
        "input_gib": visual.numel() * visual.element_size() / 2**30,
        "rss_before_forward_gib": before, "peak_reset_after_build": peak_reset,
        "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "peak_device_gib": peak_device_gib(device), "device": device, "steps": visual.shape[1],
        "video_tokens": list(out.video_tokens.shape), "finite": bool(torch.isfinite(out.video_tokens).all()),
        "parameters_m": sum(p.numel() for p in tokenizer.parameters()) / 1e6,
    }


def vision_model(layers: int, hidden: int, size: int, smoke: bool):
    """InternVL's vision tower + pixel shuffle + projector at InternViT-300M's width and `layers` layers."""
    from transformers import InternVLConfig, InternVLModel

    vision = dict(hidden_size=1024, intermediate_size=4096, num_attention_heads=16)
    if smoke:
        vision = dict(hidden_size=32, intermediate_size=64, num_attention_heads=2)
    text = dict(model_type="qwen2", vocab_size=128, hidden_size=hidden, intermediate_size=64, num_hidden_layers=1,
                num_attention_heads=4, num_key_value_heads=4)  # the LLM is never run
    config = InternVLConfig(
        vision_config=dict(num_hidden_layers=layers, image_size=[size, size], patch_size=[14, 14], **vision),
        text_config=text, downsample_ratio=0.5, image_seq_length=(size // 28) ** 2,
    )
    return InternVLModel(config)


def qwen2_vl_vision_model(layers: int, hidden: int, smoke: bool):
    """Qwen2-VL's vision transformer (patch embedding, `layers` blocks, the 2x2 merger to `hidden`) at Qwen2-VL-7B's
    width (1280, 16 heads)."""
    from transformers.models.qwen2_vl.configuration_qwen2_vl import Qwen2VLVisionConfig
    from transformers.models.qwen2_vl.modeling_qwen2_vl import Qwen2VisionTransformerPretrainedModel

    vision = dict(embed_dim=32, num_heads=2, mlp_ratio=2) if smoke else dict(embed_dim=1280, num_heads=16, mlp_ratio=4)
    config = Qwen2VLVisionConfig(
        depth=layers, hidden_size=hidden, patch_size=14, spatial_merge_size=2, temporal_patch_size=2, **vision
    )
    return Qwen2VisionTransformerPretrainedModel(config)


class VisionPath:
    """One backbone's vision path as the benchmark runs it: `layers` (the encoder blocks, hooked) and `encode(frames)`
    (pixels of `frames` frames -> their LLM tokens)."""

    def __init__(self, kind: str, layers: int, hidden: int, size: int, smoke: bool, dtype, device: str) -> None:
        import torch

        self.kind, self.size, self.dtype, self.device = kind, size, dtype, device
        if kind == "qwen2_vl":
            self.model = qwen2_vl_vision_model(layers, hidden, smoke)
            self.layers = self.model.blocks
        else:
            self.model = vision_model(layers, hidden, size, smoke)
            self.layers = self.model.vision_tower.encoder.layer
        self.model = self.model.to(device=device, dtype=dtype).eval()
        self.torch = torch

    def pixels(self, frames: int):
        """Random pixels of `frames` frames in the path's input layout."""
        torch = self.torch
        if self.kind == "qwen2_vl":  # flattened 2 x 14 x 14 patches of each temporal patch, as Qwen's processor gives
            steps, side = max(frames // 2, 1), self.size // 14
            return torch.randn(steps * side * side, 3 * 2 * 14 * 14, dtype=self.dtype, device=self.device)
        return torch.randn(frames, 3, self.size, self.size, dtype=self.dtype, device=self.device)

    def encode(self, pixels):
        """The LLM tokens of the frames: `[steps * N, D]` (Qwen2-VL) or `[frames, N, D]` (InternVL)."""
        if self.kind == "qwen2_vl":
            side = self.size // 14
            grid = self.torch.tensor([[pixels.shape[0] // (side * side), side, side]], device=self.device)
            return self.model(pixels, grid_thw=grid).pooler_output
        return self.model.get_image_features(pixels, return_dict=True).pooler_output


def measure_vision(frames: int, hidden: int, size: int, dtype: str, smoke: bool, threads: int | None,
                   layers: int = 2, repeats: int = 3, device: str = "cpu", vision: str = "internvit",
                   vision_depth: int = 24) -> dict:
    """Child process: wall and CPU seconds per frame of the vision path (vision tower, pixel shuffle, projector) with
    `layers` encoder layers, split into the encoder layers (hooks) and the rest, and extrapolated to the released
    depth. The best of `repeats` calls on `frames` frames counts."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    torch_dtype = getattr(torch, dtype)
    torch.set_default_dtype(torch_dtype)
    with fast_random_init(), torch.device(device):
        path = VisionPath(vision, layers, hidden, size, smoke, torch_dtype, device)
    torch.set_default_dtype(torch.float32)
    in_layers = [0.0, 0.0]
    started: list[tuple[float, float]] = []

    def layer_start(*_) -> None:
        synchronize(device)
        started.append((time.perf_counter(), time.process_time()))

    def layer_end(*_) -> None:
        synchronize(device)
        add_elapsed(in_layers, started.pop())

    for layer in path.layers:
        layer.register_forward_pre_hook(layer_start)
        layer.register_forward_hook(layer_end)
    pixels = path.pixels(frames)
    best = None
    with torch.inference_mode():
        path.encode(path.pixels(2))  # warm-up
        if str(device).startswith("cuda"):
            torch.cuda.reset_peak_memory_stats(device)
        for _ in range(repeats):
            in_layers[:] = [0.0, 0.0]
            synchronize(device)
            start = (time.perf_counter(), time.process_time())
            tokens = path.encode(pixels)
            synchronize(device)
            total = (time.perf_counter() - start[0], time.process_time() - start[1])
            if best is None or total[0] < best[0][0]:
                best = (total, tuple(in_layers))
    (wall, cpu), (layers_wall, layers_cpu) = best
    return {
        "kind": "vision", "vision": vision, "frames": frames, "size": size, "dtype": dtype, "device": device,
        "tokens_per_frame": tokens.shape[-2] if vision != "qwen2_vl" else tokens.shape[0] // max(frames // 2, 1),
        "layers_measured": layers, "vision_depth": vision_depth, "peak_device_gib": peak_device_gib(device),
        "seconds_per_frame_per_layer": layers_wall / layers / frames,
        "seconds_per_frame_rest": (wall - layers_wall) / frames,
        "seconds_per_frame_full_depth": ((wall - layers_wall) + layers_wall * vision_depth / layers) / frames,
        "cpu_seconds_per_frame_full_depth": ((cpu - layers_cpu) + layers_cpu * vision_depth / layers) / frames,
        "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
    }


def add_elapsed(totals: list[float], started: tuple[float, float]) -> None:
    """Add the wall and CPU seconds since `started` to `totals`."""
    totals[0] += time.perf_counter() - started[0]
    totals[1] += time.process_time() - started[1]


def linear_fit(x: list[float], y: list[float]) -> tuple[float, float, float]:
    """Least-squares `y = slope * x + intercept` and its R^2."""
    import numpy as np

    slope, intercept = np.polyfit(np.asarray(x, float), np.asarray(y, float), 1)
    predicted = slope * np.asarray(x, float) + intercept
    residual = float(((np.asarray(y) - predicted) ** 2).sum())
    total = float(((np.asarray(y) - np.mean(y)) ** 2).sum())
    return float(slope), float(intercept), 1.0 - residual / total if total > 0 else 1.0


def print_report(rows: list[dict], vision: dict) -> dict | None:
    """The table, the linear fits and LinVT's share of the vision time; returns the fits."""
    per_frame = {clock: vision.get(f"{clock}seconds_per_frame_full_depth") for clock in ("", "cpu_")}
    print("| frames T | tokens T x N | temporal_window | forward (s) | forward CPU (s) | ms per frame | "
          "peak RSS (GiB) | RSS before forward (GiB) | vision encoder on T frames, est. (s) | LinVT / vision (wall) | "
          "LinVT / vision (CPU) | output |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for row in rows:
        if "error" in row:
            window = row.get("temporal_window") or ""
            print(f"| {row['frames']} | | {window} | failed: {row['error']} | | | | | | | | |")
            continue
        shares = [share(row, vision, clock) for clock in ("", "cpu_")]
        vision_s = "" if per_frame[""] is None else f"{per_frame[''] * row['frames']:.1f}"
        print(
            f"| {row['frames']} | {row['frames'] * row['tokens_per_frame']} | {row['temporal_window'] or 'none'} | "
            f"{row['seconds']:.2f} | {row['cpu_seconds']:.2f} | {1000 * row['seconds'] / row['frames']:.1f} | "
            f"{row['peak_rss_gib']:.2f} | {row['rss_before_forward_gib']:.2f} | {vision_s} | "
            + " | ".join("" if value is None else f"{100 * value:.1f}%" for value in shares)
            + f" | {'x'.join(map(str, row['video_tokens']))}{'' if row['finite'] else ' (NON-FINITE)'} |"
        )
    if "error" in vision:
        print(f"\nVision encoder: failed: {vision['error']}")
    else:
        print(
            f"\nVision encoder ({VISION_NAMES[vision.get('vision', 'internvit')]} width, "
            f"{vision['size']}x{vision['size']} frames, "
            f"{vision['tokens_per_frame']} tokens per LinVT step after the projector (a step: one frame, two for "
            f"Qwen2-VL), measured with "
            f"{vision['layers_measured']} layers): {1000 * vision['seconds_per_frame_per_layer']:.1f} ms per frame per "
            f"layer + {1000 * vision['seconds_per_frame_rest']:.1f} ms per frame outside the layers; "
            f"{1000 * vision['seconds_per_frame_full_depth']:.0f} ms per frame at the released "
            f"{vision.get('vision_depth', 24)} "
            f"layers (extrapolated; {1000 * vision['cpu_seconds_per_frame_full_depth']:.0f} CPU ms)."
        )
    good = [row for row in rows if "error" not in row]
    if len(good) < 3:
        return None
    frames = [row["frames"] for row in good]
    fits = {
        "time": linear_fit(frames, [row["seconds"] for row in good]),
        "cpu_time": linear_fit(frames, [row["cpu_seconds"] for row in good]),
        "memory": linear_fit(frames, [row["peak_rss_gib"] for row in good]),
    }
    print(f"\nLinear fits over T = {frames}:")
    for name, unit in (("time", "wall"), ("cpu_time", "CPU")):
        slope, intercept, r2 = fits[name]
        print(f"- {unit} time = {1000 * slope:.1f} ms x T + {intercept:.2f} s (R^2 = {r2:.4f})")
    slope, intercept, r2 = fits["memory"]
    print(f"- peak RSS = {1024 * slope:.2f} MiB x T + {intercept:.2f} GiB (R^2 = {r2:.4f})")
    return fits


def share(row: dict, vision: dict, clock: str) -> float | None:
    """LinVT's time over the (extrapolated) vision encoder's time on the same frames; `clock` "" wall, "cpu_" CPU."""
    per_frame = vision.get(f"{clock}seconds_per_frame_full_depth")
    return None if not per_frame else row[f"{clock}seconds"] / (per_frame * row["frames"])


def plot(rows: list[dict], vision: dict, fits: dict, path: Path) -> None:
    """Time and peak memory against T with their linear fits, and LinVT's share of the vision time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    good = [row for row in rows if "error" not in row]
    frames = np.array([row["frames"] for row in good], float)
    line = np.linspace(0, frames.max() * 1.02, 50)
    long = [row for row in good if row["temporal_window"]]
    figure, axes = plt.subplots(1, 3, figsize=(17, 5))
    panels = (
        (axes[0], "seconds", fits["time"], "wall", "o"),
        (axes[0], "cpu_seconds", fits["cpu_time"], "CPU", "^"),
        (axes[1], "peak_rss_gib", fits["memory"], "peak RSS", "o"),
    )
    for axis, key, fit, label, marker in panels:
        points = axis.plot(frames, [row[key] for row in good], marker, label=f"{label}, measured")
        axis.plot(line, fit[0] * line + fit[1], "--", color=points[0].get_color(),
                  label=f"{label}, linear fit (R$^2$ = {fit[2]:.4f})")
        if long:
            axis.plot([r["frames"] for r in long], [r[key] for r in long], "s", mfc="none", ms=12, color="gray")
    for axis in axes[:2]:
        axis.set_xlabel(f"frames T ({good[0]['tokens_per_frame']} tokens each)")
        axis.grid(True, alpha=0.3)
    if long:
        label = f"temporal_window = {long[0]['temporal_window']}"
        axes[1].plot([], [], "s", mfc="none", ms=12, color="gray", label=label)
    axes[0].legend(fontsize=8)
    axes[1].legend(fontsize=8)
    axes[0].set_ylabel("seconds (CPU: both cores summed)")
    axes[1].set_ylabel("GiB")
    axes[0].set_title(f"LinVT forward time, default config, D = {good[0]['hidden']}, {good[0]['dtype']}")
    axes[1].set_title("peak RSS of the process (weights + input + activations)")
    if "error" not in vision:
        for clock, marker, label in (("", "o-", "wall"), ("cpu_", "^-", "CPU")):
            axes[2].plot(frames, [100 * share(row, vision, clock) for row in good], marker, label=label)
        axes[2].set_ylim(bottom=0)
        axes[2].legend(fontsize=8)
    axes[2].set_xscale("log", base=2)
    axes[2].set_xlabel("frames T")
    axes[2].set_ylabel("%")
    name = VISION_NAMES[vision.get("vision", "internvit")]
    axes[2].set_title(f"LinVT / vision encoder time ({name}, {vision.get('vision_depth', 24)} layers, est.)")
    axes[2].grid(True, alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, nargs="+", default=[64, 128, 256, 512, 1024, 2048])
    parser.add_argument("--long-from", type=int, default=2048, help="set temporal_window from this many frames on")
    parser.add_argument("--temporal-window", type=int, default=64)
    parser.add_argument("--tokens-per-frame", type=int, default=256)
    parser.add_argument("--hidden", type=int, default=3584)
    parser.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float16", "float32"])
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    parser.add_argument("--model-size", default=DEFAULT_MODEL_SIZE, choices=sorted(MODEL_SIZES),
                        help="the released backbone whose vision encoder and LLM width D are used (sets --hidden)")
    parser.add_argument("--vision-frames", type=int, default=8, help="frames per vision encoder call")
    parser.add_argument("--size", type=int, default=448, help="frame side for the vision encoder")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json-out", type=Path, default=None)
    parser.add_argument("--plot", type=Path, default=None, help="PNG path (full runs: benchmarks/linvt_scaling.png)")
    parser.add_argument("--smoke", action="store_true", help="tiny config and sizes, finishes in seconds")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        spec = json.loads(args.child)
        kind = spec.pop("kind")
        print(json.dumps((measure_linvt if kind == "linvt" else measure_vision)(**spec)))
        return 0
    if args.smoke:
        args.frames, args.long_from, args.temporal_window = [4, 16], 16, 4  # short and windowed
        args.tokens_per_frame, args.hidden, args.size, args.vision_frames = 16, 64, 56, 2
    elif args.plot is None:
        args.plot = Path(__file__).with_name("linvt_scaling.png")

    preset = MODEL_SIZES[args.model_size]
    if not args.smoke:
        args.hidden = preset["hidden"]
    common = dict(dtype=args.dtype, smoke=args.smoke, threads=args.threads, device=args.device)
    vision_spec = dict(kind="vision", frames=args.vision_frames, hidden=args.hidden, size=args.size,
                       vision=preset["vision"], vision_depth=preset["vision_depth"], **common)
    vision = run_child(__file__, vision_spec, args.timeout)
    print(json.dumps(vision), file=sys.stderr, flush=True)
    rows = []
    for frames in args.frames:
        window = args.temporal_window if frames >= args.long_from else None
        spec = dict(frames=frames, tokens=args.tokens_per_frame, hidden=args.hidden, temporal_window=window,
                    frames_per_step=preset["frames_per_step"], **common)
        rows.append(run_child(__file__, {"kind": "linvt", **spec}, args.timeout))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)

    print(f"Machine: {machine()}; date: {time.strftime('%Y-%m-%d')}")
    print(f"{args.model_size} widths; LinVT default configuration, D = {args.hidden}, N = {args.tokens_per_frame}, "
          f"{args.dtype} on {args.device}"
          f"{' (smoke sizes)' if args.smoke else ''}\n")
    fits = print_report(rows, vision)
    if args.json_out:
        args.json_out.write_text(json.dumps({"linvt": rows, "vision": vision, "fits": fits}, indent=1))
    if args.plot and fits:
        plot(rows, vision, fits, args.plot)
        print(f"\nPlot: {args.plot}")
    return 1 if any("error" in row or not row.get("finite", False) for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
