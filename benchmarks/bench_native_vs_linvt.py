"""The backbone's own video path against LinVT on the same backbone and the same frames, for a range of frame counts.

For each family (Qwen2-VL, InternVL) and each frame count T, two paths run on identical frames:

- native: the image-LLM's own video input, all of its visual tokens go to the LLM (Qwen2-VL: `pixel_values_videos`
  with `video_grid_thw`, one temporal patch per two frames; InternVL: the frames as images, `Frame{i}: <img>...</img>`
  as InternVL's own processor writes a video);
- LinVT: `LinVT*ForConditionalGeneration` on the same image-LLM (same weights), the video becomes 112 tokens.

Measured per (family, T, path), each in a fresh subprocess so its peak RSS is its own: the LLM input length, time to
first token (`generate(max_new_tokens=1)` wall time: input preparation, prefill and picking the first token), the
prefill inside that same `generate` call (from the vision encoder's start to the end of the model's forward: the
vision encoder, LinVT and the LLM over the whole prompt; transformers' Qwen2-VL `generate` runs the vision encoder
just before the forward, the LinVT models inside it), and the time in each of those modules (forward hooks). Peak RSS
is the process's high-water mark from after the model is built (Linux `clear_refs`), so it holds the weights, the
inputs and the activations, not the construction. A short 2-frame warm-up runs first; runs under 20 s are repeated
(`--repeats`) and the fastest counts. Models are built from configs with random weights at the real
widths of Qwen2-VL-2B and InternVL3-1B and reduced depths (`--llm-layers`, `--vision-layers`); LinVT uses its default
configuration (L = 4, d = 896, top-k = 2048, 112 tokens) at full size. The full-depth column extrapolates the measured
vision and LLM times linearly in depth (their layers are identical); LinVT's time is taken as measured.

Inputs go through `LinVTProcessor` (the LinVT prompt, frames, question mask); the native prompt is the same chat
text with the video block written the backbone's native way, tokenized by the same tokenizer, and the native pixel
tensors are the processor's own. The tokenizer is the offline test tokenizer of `linvt_hf.testing` (the backbone's
special tokens, a small vocabulary), with the embedding table at the real vocabulary size.

    python benchmarks/bench_native_vs_linvt.py                    # full run (27 min on 2 shared cores)
    python benchmarks/bench_native_vs_linvt.py --frames 8 32 --families qwen2_vl
    python benchmarks/bench_native_vs_linvt.py --smoke            # seconds; what CI runs
    python benchmarks/bench_native_vs_linvt.py --device cuda --model-size qwen2-vl-7b --frames 16 64 256

On a GPU (`--device cuda`), the model is built on the device, module times are taken between CUDA synchronisations
and the peak device memory (`torch.cuda.max_memory_allocated`) is reported too. `--model-size` sets a released
backbone's widths and depths (random weights: nothing is downloaded).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

from _shared import current_rss_gib, fast_random_init, machine, reset_peak_rss, run_child

QUESTION = "What happens in this video? Describe the main events in order."
BACKBONE_NAMES = {"qwen2_vl": "Qwen2-VL-2B", "internvl": "InternVL3-1B"}
# Released backbones' widths and depths (their config.json values; random weights here). `depth` is (LLM layers,
# vision layers): what `--model-size` builds, and what the reduced-depth runs extrapolate to.
MODEL_SIZES = {
    "qwen2-vl-2b": dict(
        family="qwen2_vl", depth=(28, 32), tie_word_embeddings=True,
        text=dict(vocab_size=151936, hidden_size=1536, intermediate_size=8960, num_attention_heads=12,
                  num_key_value_heads=2),
        vision=dict(embed_dim=1280, hidden_size=1536, mlp_ratio=4, num_heads=16),
    ),
    "qwen2-vl-7b": dict(
        family="qwen2_vl", depth=(28, 32), tie_word_embeddings=False,
        text=dict(vocab_size=152064, hidden_size=3584, intermediate_size=18944, num_attention_heads=28,
                  num_key_value_heads=4),
        vision=dict(embed_dim=1280, hidden_size=3584, mlp_ratio=4, num_heads=16),
    ),
    "internvl3-1b": dict(
        family="internvl", depth=(24, 24), tie_word_embeddings=True,
        text=dict(vocab_size=151674, hidden_size=896, intermediate_size=4864, num_attention_heads=14,
                  num_key_value_heads=2),
        vision=dict(hidden_size=1024, intermediate_size=4096, num_attention_heads=16),
    ),
    "internvl3-8b": dict(
        family="internvl", depth=(28, 24), tie_word_embeddings=False,
        text=dict(vocab_size=151674, hidden_size=3584, intermediate_size=18944, num_attention_heads=28,
                  num_key_value_heads=4),
        vision=dict(hidden_size=1024, intermediate_size=4096, num_attention_heads=16),
    ),
}
# The widths each family runs at without --model-size (at the reduced depths of --llm-layers / --vision-layers).
DEFAULT_MODEL_SIZE = {"qwen2_vl": "qwen2-vl-2b", "internvl": "internvl3-1b"}
SMOKE_TEXT = dict(vocab_size=1024, hidden_size=64, intermediate_size=128, num_attention_heads=4, num_key_value_heads=2)
SMOKE_LINVT = dict(hidden_size=32, num_attention_heads=4, num_layers=1, top_k_tokens=64)


# ---------------------------------------------------------------------------------------------------- model configs
def qwen2_vl_config(
    tokenizer: Any, size: int, llm_layers: int, vision_layers: int, smoke: bool, model_size: str = "qwen2-vl-2b"
) -> dict:
    """`model_size`'s widths (Qwen2-VL-2B: LLM 1536, vision 1280) at `llm_layers` / `vision_layers`."""
    ids = tokenizer.convert_tokens_to_ids
    widths = MODEL_SIZES[model_size]
    text, vision = dict(widths["text"]), dict(widths["vision"])
    tie = widths["tie_word_embeddings"]
    if smoke:
        text, vision = dict(SMOKE_TEXT), dict(embed_dim=32, hidden_size=64, mlp_ratio=2, num_heads=2)
    head_dim = text["hidden_size"] // text["num_attention_heads"]
    section = [head_dim // 8, 3 * head_dim // 16, 3 * head_dim // 16]  # 16/24/24 for head_dim 128, as released
    text.update(
        num_hidden_layers=llm_layers, max_position_embeddings=65536, tie_word_embeddings=tie,
        rope_parameters={"rope_type": "default", "mrope_section": section, "rope_theta": 1e6},
        bos_token_id=ids("<|endoftext|>"), eos_token_id=ids("<|im_end|>"), pad_token_id=tokenizer.pad_token_id,
    )
    vision.update(depth=vision_layers, patch_size=14, spatial_merge_size=2, temporal_patch_size=2)
    return dict(
        model_type="qwen2_vl", text_config=text, vision_config=vision, tie_word_embeddings=tie,
        image_token_id=ids("<|image_pad|>"), video_token_id=ids("<|video_pad|>"),
        vision_start_token_id=ids("<|vision_start|>"), vision_end_token_id=ids("<|vision_end|>"),
    )


def internvl_config(
    tokenizer: Any, size: int, llm_layers: int, vision_layers: int, smoke: bool, model_size: str = "internvl3-1b"
) -> dict:
    """`model_size`'s widths (InternVL3-1B: InternViT-300M 1024, Qwen2.5-0.5B 896) at `llm_layers` /
    `vision_layers`, `size`-pixel tiles."""
    ids = tokenizer.convert_tokens_to_ids
    widths = MODEL_SIZES[model_size]
    text, vision = dict(widths["text"]), dict(widths["vision"])
    tie = widths["tie_word_embeddings"]
    if smoke:
        text, vision = dict(SMOKE_TEXT), dict(hidden_size=32, intermediate_size=64, num_attention_heads=2)
    text.update(
        model_type="qwen2", num_hidden_layers=llm_layers, max_position_embeddings=131072, rope_theta=1e6,
        bos_token_id=ids("<|endoftext|>"), eos_token_id=ids("<|im_end|>"), pad_token_id=tokenizer.pad_token_id,
    )
    vision.update(num_hidden_layers=vision_layers, image_size=[size, size], patch_size=[14, 14])
    return dict(
        model_type="internvl", text_config=text, vision_config=vision, tie_word_embeddings=tie,
        image_token_id=ids("<IMG_CONTEXT>"), image_seq_length=native_tokens_per_step("internvl", size),
        downsample_ratio=0.5,
    )


IMAGE_LLM_CONFIGS = {"qwen2_vl": qwen2_vl_config, "internvl": internvl_config}


def native_tokens_per_step(family: str, size: int) -> int:
    """LLM tokens of one native time step at `size` x `size` pixels: a temporal patch of two frames for Qwen2-VL
    (14-pixel patches merged 2x2), one frame for InternVL (14-pixel patches, pixel shuffle 0.5)."""
    return (size // 28) ** 2


def resolve_model_size(family: str, model_size: str | None) -> str:
    """`model_size` (checked against `family`), or the family's default widths."""
    if model_size is None:
        return DEFAULT_MODEL_SIZE[family]
    if MODEL_SIZES[model_size]["family"] != family:
        raise ValueError(f"--model-size {model_size} is a {MODEL_SIZES[model_size]['family']} backbone, not {family}")
    return model_size


def apply_model_size(args: argparse.Namespace) -> None:
    """`--model-size`: the released backbone's family and (outside smoke runs, which keep their tiny widths and
    depths) its LLM and vision depths, set on `args`."""
    if args.model_size is not None:
        args.families = [MODEL_SIZES[args.model_size]["family"]]
        if not args.smoke:
            args.llm_layers, args.vision_layers = MODEL_SIZES[args.model_size]["depth"]


def synchronize(device: str) -> None:
    """Wait for the device's queued work (CUDA), so that wall times cover it."""
    import torch

    if str(device).startswith("cuda"):
        torch.cuda.synchronize(device)


def build(family: str, path: str, size: int, llm_layers: int, vision_layers: int, dtype: str, smoke: bool,
          device: str = "cpu", model_size: str | None = None):
    """The model that generates (`path="linvt"`: the LinVT model; `"native"`: the image-LLM alone, the class the
    LinVT model extends with the same config, without the video tokenizer), built on `device` in `dtype` at
    `model_size`'s widths, and the family's LinVT processor for `size`-pixel frames."""
    import torch
    from transformers import AutoConfig

    from linvt_hf import FAMILIES, LinVTConfig
    from linvt_hf.modeling.checkpoints import image_llm_class_of
    from linvt_hf.testing.tiny_processors import make_tiny_linvt_processor

    linvt = LinVTConfig(**SMOKE_LINVT) if smoke else LinVTConfig()
    processor = make_tiny_linvt_processor(family, num_video_tokens=linvt.num_video_tokens, min_frames=1)
    video_processor = processor.video_processor
    if family == "qwen2_vl":
        video_processor.size = {"shortest_edge": size * size, "longest_edge": size * size}
    else:
        video_processor.size = {"height": size, "width": size}
    model_class = FAMILIES[family].for_generation_class
    model_size = resolve_model_size(family, model_size)
    values = IMAGE_LLM_CONFIGS[family](processor.tokenizer, size, llm_layers, vision_layers, smoke, model_size)
    image_llm_config = AutoConfig.for_model(**values)
    config = model_class.config_class.from_image_llm_config(
        image_llm_config, video_tokenizer_config=linvt, video_token_id=processor.video_token_id
    )
    torch.manual_seed(0)
    default = torch.get_default_dtype()
    torch.set_default_dtype(getattr(torch, dtype))  # weights are created in `dtype`: no float32 copy raises the peak
    try:
        with fast_random_init(), torch.device(device):
            if path == "linvt":
                model = model_class(config)
            else:
                model = image_llm_class_of(model_class)(image_llm_config)
            model = model.to(getattr(torch, dtype)).eval()
    finally:
        torch.set_default_dtype(default)
    return model, processor


# ---------------------------------------------------------------------------------------------------- inputs
def linvt_inputs(processor: Any, frames: Any, question: str = QUESTION) -> tuple[dict, str]:
    """LinVTProcessor's inputs for one video and the question, and the chat text they were made from."""
    messages = [{"role": "user", "content": [{"type": "video", "video": frames}, {"type": "text", "text": question}]}]
    # max_frames too: the processor clamps a frame count to [min_frames, max_frames] (max_frames defaults to 64).
    options = {"num_frames": len(frames), "max_frames": len(frames)}
    kwargs = dict(add_generation_prompt=True, processor_kwargs=options)
    text = processor.apply_chat_template(messages, tokenize=False, **kwargs)
    inputs = processor.apply_chat_template(messages, tokenize=True, return_dict=True, return_tensors="pt", **kwargs)
    kept = int(inputs["video_frame_mask"].sum()) * processor.video_processor.frames_per_step  # Qwen: frame pairs
    if kept != len(frames):
        raise RuntimeError(f"the processor kept {kept} of {len(frames)} frames")
    return dict(inputs), text


def native_inputs(family: str, processor: Any, image_llm: Any, inputs: dict, text: str) -> dict:
    """The image-LLM's own inputs for the same frames: every visual token of every frame goes to the LLM. `text` is
    the chat text before placeholder expansion (one `<|video_pad|>` / `<video>` per video)."""
    import torch

    tokenizer = processor.tokenizer
    if family == "qwen2_vl":
        steps, height, width = inputs["video_grid_thw"][0].tolist()
        count = steps * height * width // 4
        native_text = text.replace("<|video_pad|>", "<|video_pad|>" * count, 1)
        ids = tokenizer(native_text, return_tensors="pt", add_special_tokens=False)
        types = torch.zeros_like(ids["input_ids"])
        types[ids["input_ids"] == image_llm.config.video_token_id] = 2
        return dict(
            input_ids=ids["input_ids"], attention_mask=ids["attention_mask"], mm_token_type_ids=types,
            pixel_values_videos=inputs["pixel_values_videos"], video_grid_thw=inputs["video_grid_thw"],
        )
    pixels = inputs["pixel_values_videos"]
    per_frame = image_llm.config.image_seq_length
    frames_text = "\n".join(f"Frame{i + 1}: <img>{'<IMG_CONTEXT>' * per_frame}</img>" for i in range(pixels.shape[0]))
    native_text = text.replace("<video>", frames_text, 1)  # InternVLProcessor's video layout
    ids = tokenizer(native_text, return_tensors="pt", add_special_tokens=False)
    return dict(input_ids=ids["input_ids"], attention_mask=ids["attention_mask"], pixel_values=pixels)


def cast_pixels(inputs: dict, dtype: Any) -> dict:
    """Float pixel tensors in the model's dtype (as `BatchFeature.to(dtype)` does)."""
    return {k: v.to(dtype) if torch_is_float(v) else v for k, v in inputs.items()}


def torch_is_float(value: Any) -> bool:
    return hasattr(value, "is_floating_point") and value.is_floating_point()


# ---------------------------------------------------------------------------------------------------- timing
def clocks() -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process, all threads). On a shared machine the CPU time is the steadier
    measure of work: waiting for a core inflates wall time but not CPU time."""
    return time.perf_counter(), time.process_time()


class Timers:
    """Wall and CPU time spent inside given modules' forwards (forward pre-hook / hook pairs), summed over calls, and
    the span from the first timed module's start to the last end of the `"prefill"` module (the generating model's
    forward). The span is the prefill: transformers' Qwen2-VL `generate` runs the vision encoder before the model's
    forward, the LinVT models run it inside."""

    def __init__(self, modules: dict[str, Any], device: str = "cpu") -> None:
        self.names = list(modules)
        self.device = device
        self.reset()
        for name, module in modules.items():
            module.register_forward_pre_hook(self._start(name))
            module.register_forward_hook(self._stop(name))

    def _start(self, name: str):
        def hook(*_: Any) -> None:
            synchronize(self.device)
            self._started[name] = clocks()
            if self.first_start is None:
                self.first_start = self._started[name]

        return hook

    def _stop(self, name: str):
        def hook(*_: Any) -> None:
            synchronize(self.device)
            now, begun = clocks(), self._started.pop(name)
            self.wall[name] += now[0] - begun[0]
            self.cpu[name] += now[1] - begun[1]
            if name == "prefill":
                self.prefill_end = now

        return hook

    def reset(self) -> None:
        self.wall = dict.fromkeys(self.names, 0.0)
        self.cpu = dict.fromkeys(self.names, 0.0)
        self._started: dict[str, tuple[float, float]] = {}
        self.first_start: tuple[float, float] | None = None
        self.prefill_end = (0.0, 0.0)

    def results(self) -> dict[str, float]:
        """`{name}_s` wall and `{name}_cpu_s` CPU seconds per module, `prefill` being the span described above."""
        wall = {**self.wall, "prefill": self.prefill_end[0] - self.first_start[0]}
        cpu = {**self.cpu, "prefill": self.prefill_end[1] - self.first_start[1]}
        for times in (wall, cpu):
            times["vision"] += times.pop("projector", 0.0)
        return {**{f"{k}_s": v for k, v in wall.items()}, **{f"{k}_cpu_s": v for k, v in cpu.items()}}


def timed_modules(family: str, top: Any, path: str) -> dict[str, Any]:
    """The modules to time: the generating model (prefill), vision encoder (+ projector), LinVT, the LLM."""
    inner = top.model
    modules = {"prefill": top, "llm": inner.language_model}
    if family == "qwen2_vl":
        modules["vision"] = inner.visual
    else:
        modules["vision"], modules["projector"] = inner.vision_tower, inner.multi_modal_projector
    if path == "linvt":
        modules["linvt"] = top.video_tokenizer
    return modules


def generate_once(top: Any, inputs: dict, timers: Timers) -> dict[str, float]:
    """One `generate(max_new_tokens=1)`: its wall and CPU time (`ttft_s`, `ttft_cpu_s`) and each timed module's."""
    import torch

    timers.reset()
    synchronize(timers.device)
    start = clocks()
    with torch.inference_mode():
        top.generate(**inputs, max_new_tokens=1, do_sample=False)
    synchronize(timers.device)
    end = clocks()
    return {"ttft_s": end[0] - start[0], "ttft_cpu_s": end[1] - start[1], **timers.results()}


def measure(family: str, path: str, frames: int, size: int, llm_layers: int, vision_layers: int, dtype: str,
            smoke: bool, repeats: int, threads: int | None, device: str = "cpu", model_size: str | None = None) -> dict:
    """Runs in the child process: build, warm up on 2 frames, then time `generate(max_new_tokens=1)` on T frames."""
    import numpy as np
    import torch

    if threads:
        torch.set_num_threads(threads)
    model_size = resolve_model_size(family, model_size)
    top, processor = build(family, path, size, llm_layers, vision_layers, dtype, smoke, device, model_size)
    rss_model = current_rss_gib()
    peak_reset = reset_peak_rss()
    on_gpu = str(device).startswith("cuda")
    if on_gpu:
        torch.cuda.reset_peak_memory_stats(device)
    timers = Timers(timed_modules(family, top, path), device)
    rng = np.random.default_rng(0)

    def prepare(count: int) -> dict:
        video = rng.integers(0, 256, (count, size, size, 3), dtype=np.uint8)
        inputs, text = linvt_inputs(processor, video)
        if path == "native":
            inputs = native_inputs(family, processor, top, inputs, text)
        return {k: v.to(device) for k, v in cast_pixels(inputs, getattr(torch, dtype)).items()}

    generate_once(top, prepare(2), timers)  # warm-up
    inputs = prepare(frames)
    runs = []
    for _ in range(repeats):
        runs.append(generate_once(top, inputs, timers))
        if runs[-1]["ttft_s"] > 15:
            break  # long runs are timed once
    best = min(runs, key=lambda run: run["ttft_s"])
    return {
        "family": family, "path": path, "frames": frames, "size": size, "dtype": dtype,
        "llm_input_length": int(inputs["input_ids"].shape[1]),
        **best,
        "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, "rss_model_gib": rss_model,
        "peak_reset_after_build": peak_reset,
        "peak_device_gib": torch.cuda.max_memory_allocated(device) / 2**30 if on_gpu else None,
        "device": device, "model_size": model_size,
        "runs": len(runs), "llm_layers": llm_layers, "vision_layers": vision_layers,
    }


def full_depth_prefill(row: dict, clock: str = "") -> float:
    """Prefill time (`clock=""` wall, `"cpu"` CPU) extrapolated to the released depths: the vision and LLM times scale
    with their layer counts (their patch embedding / projector and embedding are scaled too, so this overestimates
    both paths by the same amount), LinVT and the rest are kept as measured."""
    suffix = f"_{clock}_s" if clock else "_s"
    llm_full, vision_full = full_depth(row)
    vision, llm, linvt = row["vision" + suffix], row["llm" + suffix], row.get("linvt" + suffix, 0.0)
    other = row["prefill" + suffix] - vision - llm - linvt
    return vision * vision_full / row["vision_layers"] + llm * llm_full / row["llm_layers"] + linvt + other


def full_depth(row: dict) -> tuple[int, int]:
    """(LLM layers, vision layers) of the released backbone whose widths `row` ran at."""
    return MODEL_SIZES[row.get("model_size") or DEFAULT_MODEL_SIZE[row["family"]]]["depth"]


def above_model(row: dict) -> float:
    """Peak RSS above the built model's RSS (inputs and activations), GiB."""
    return row["peak_rss_gib"] - row["rss_model_gib"]


def full_depth_llm_side(row: dict) -> float:
    """CPU seconds of what LinVT changes, at the released LLM depth: LinVT plus the LLM over the prompt (the vision
    encoder, the same frames through the same encoder on both paths, left out)."""
    llm_full = full_depth(row)[0]
    return row.get("linvt_cpu_s", 0.0) + row["llm_cpu_s"] * llm_full / row["llm_layers"]


# ---------------------------------------------------------------------------------------------------- driver
def crossover(rows: list[dict], key: Any) -> int | None:
    """The smallest T from which LinVT's `key` is below the native path's at every larger measured T."""
    by_t: dict[int, dict[str, float]] = {}
    for row in rows:
        if "error" not in row:
            by_t.setdefault(row["frames"], {})[row["path"]] = key(row)
        else:
            by_t.setdefault(row["frames"], {})[row["path"]] = float("inf")  # failed = did not fit
    winning = None
    for t in sorted(by_t, reverse=True):
        values = by_t[t]
        if "native" not in values or "linvt" not in values or values["linvt"] >= values["native"]:
            break
        winning = t
    return winning


def fmt(value: float | None, digits: int = 2) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def print_tables(rows: list[dict]) -> None:
    """Per family: a row per (T, path), then the ratios and crossovers."""
    for family in dict.fromkeys(row["family"] for row in rows):
        mine = [row for row in rows if row["family"] == family]
        sizes = sorted({row["model_size"] for row in mine if row.get("model_size")})
        print(f"\n### {', '.join(sizes) or BACKBONE_NAMES[family]} widths ({family})\n")
        print(
            "| frames T | path | LLM input length | TTFT (s) | prefill (s) | prefill CPU (s) | vision CPU (s) | "
            "LinVT CPU (s) | LLM CPU (s) | prefill at full depth, est. (CPU s) | peak RSS (GiB) | "
            "peak RSS above the model (GiB) |"
        )
        print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for row in mine:
            if "error" in row:
                print(f"| {row['frames']} | {row['path']} | | failed: {row['error']} | | | | | | | | |")
                continue
            print(
                f"| {row['frames']} | {row['path']} | {row['llm_input_length']} | {fmt(row['ttft_s'])} | "
                f"{fmt(row['prefill_s'])} | {fmt(row['prefill_cpu_s'])} | {fmt(row['vision_cpu_s'])} | "
                f"{fmt(row.get('linvt_cpu_s'))} | {fmt(row['llm_cpu_s'])} | {fmt(full_depth_prefill(row, 'cpu'), 1)} | "
                f"{fmt(row['peak_rss_gib'])} | {fmt(above_model(row))} |"
            )
        on_device = [row for row in mine if row.get("peak_device_gib") is not None]
        if on_device:
            print("\nPeak device memory (GiB): " + "; ".join(
                f"T = {row['frames']} {row['path']}: {row['peak_device_gib']:.2f}" for row in on_device
            ))
        print_ratios(mine)


def print_ratios(rows: list[dict]) -> None:
    """Native / LinVT ratios per T and the frame count from which LinVT wins, per metric."""
    pairs: dict[int, dict[str, dict]] = {}
    for row in rows:
        pairs.setdefault(row["frames"], {})[row["path"]] = row
    print("\n| frames T | tokens native/LinVT | TTFT native/LinVT | prefill native/LinVT | prefill CPU native/LinVT | "
          "full-depth prefill CPU native/LinVT (est.) | LLM side (LinVT + LLM) at full LLM depth native/LinVT (est.) | "
          "peak RSS native/LinVT | peak RSS above the model native/LinVT |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for t, pair in sorted(pairs.items()):
        native, linvt = pair.get("native", {}), pair.get("linvt", {})
        if "error" in native or "error" in linvt or not native or not linvt:
            print(f"| {t} | n/a | n/a | n/a | n/a | n/a | n/a | n/a | n/a |")
            continue
        print(
            f"| {t} | {native['llm_input_length'] / linvt['llm_input_length']:.2f} | "
            f"{native['ttft_s'] / linvt['ttft_s']:.2f} | {native['prefill_s'] / linvt['prefill_s']:.2f} | "
            f"{native['prefill_cpu_s'] / linvt['prefill_cpu_s']:.2f} | "
            f"{full_depth_prefill(native, 'cpu') / full_depth_prefill(linvt, 'cpu'):.2f} | "
            f"{full_depth_llm_side(native) / full_depth_llm_side(linvt):.1f} | "
            f"{native['peak_rss_gib'] / linvt['peak_rss_gib']:.2f} | "
            f"{above_model(native) / above_model(linvt):.2f} |"
        )
    metrics = {
        "LLM input length": lambda r: r["llm_input_length"], "TTFT": lambda r: r["ttft_s"],
        "prefill": lambda r: r["prefill_s"], "prefill CPU": lambda r: r["prefill_cpu_s"],
        "full-depth prefill CPU (est.)": lambda r: full_depth_prefill(r, "cpu"),
        "LLM side at full LLM depth (est.)": full_depth_llm_side,
        "peak RSS": lambda r: r["peak_rss_gib"],
        "peak RSS above the model": above_model,
    }
    found = {name: crossover(rows, key) for name, key in metrics.items()}
    print("\nLinVT smaller/faster from T = " + "; ".join(
        f"{name}: {'never in this range' if t is None else t}" for name, t in found.items()
    ))


def plot(rows: list[dict], path: Path) -> None:
    """LLM input length, prefill wall time and prefill CPU time against T, both paths, one column per family."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    families = list(dict.fromkeys(row["family"] for row in rows))
    figure, axes = plt.subplots(3, len(families), figsize=(6.5 * len(families), 12), squeeze=False)
    for column, family in enumerate(families):
        top, wall, cpu = (axes[row][column] for row in range(3))
        for path_name, color in (("native", "tab:red"), ("linvt", "tab:blue")):
            mine = [r for r in rows if r["family"] == family and r["path"] == path_name and "error" not in r]
            t = [r["frames"] for r in mine]
            label = "native video input" if path_name == "native" else "LinVT (112 video tokens)"
            top.plot(t, [r["llm_input_length"] for r in mine], "o-", color=color, label=label)
            wall.plot(t, [r["prefill_s"] for r in mine], "o-", color=color, label=f"{label}, measured")
            wall.plot(t, [full_depth_prefill(r) for r in mine], "o--", color=color, alpha=0.5,
                      label=f"{label}, at full depth (est.)")
            cpu.plot(t, [r["prefill_cpu_s"] for r in mine], "o-", color=color, label=f"{label}, measured")
            cpu.plot(t, [full_depth_prefill(r, "cpu") for r in mine], "o--", color=color, alpha=0.5,
                     label=f"{label}, at full depth (est.)")
            cpu.plot(t, [full_depth_llm_side(r) for r in mine], "x:", color=color,
                     label=f"{label}, LinVT + LLM only, full LLM depth (est.)")
        top.set_title(f"{BACKBONE_NAMES[family]} widths: LLM input length")
        wall.set_title("prefill wall time (vision encoder + LinVT + LLM)")
        cpu.set_title("prefill CPU time (steadier on a shared machine)")
        top.set_ylabel("tokens into the LLM")
        wall.set_ylabel("seconds")
        cpu.set_ylabel("CPU seconds")
        for axis in (top, wall, cpu):
            axis.set_xscale("log", base=2)
            axis.set_yscale("log")
            axis.set_xlabel("frames T")
            axis.grid(True, which="both", alpha=0.3)
            axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def load_rows(paths: list[Path]) -> list[dict]:
    """Rows saved by --json-out, merged by (family, frames, path), later files winning; sorted for the tables."""
    merged = {}
    for path in paths:
        for row in json.loads(path.read_text()):
            merged[row["family"], row["frames"], row["path"]] = row
    order = {family: i for i, family in enumerate(IMAGE_LLM_CONFIGS)}
    return sorted(merged.values(), key=lambda r: (order[r["family"]], r["frames"], r["path"] != "native"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--families", nargs="+", default=["qwen2_vl", "internvl"], choices=sorted(IMAGE_LLM_CONFIGS))
    parser.add_argument("--frames", type=int, nargs="+", default=[8, 16, 32, 64, 128, 256])
    parser.add_argument("--size", type=int, default=224, help="frame side in pixels (a multiple of 28)")
    parser.add_argument("--llm-layers", type=int, default=2)
    parser.add_argument("--vision-layers", type=int, default=1)
    parser.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float16", "float32"])
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    parser.add_argument("--model-size", default=None, choices=sorted(MODEL_SIZES),
                        help="a released backbone's widths and depths (overrides --llm-layers / --vision-layers; "
                        "--families defaults to its family)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement (the best counts); runs over "
                        "20 s are done once")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per measurement before it counts as failed")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json-out", type=Path, default=None, help="also write the rows as JSON here")
    parser.add_argument("--plot", type=Path, default=None, help="write the PNG here (full runs: "
                        "benchmarks/native_vs_linvt.png unless given)")
    parser.add_argument("--load-json", type=Path, nargs="+", default=None, help="print the tables (and plot) from "
                        "rows saved by --json-out instead of measuring; a later file's row replaces an earlier one's")
    parser.add_argument("--smoke", action="store_true", help="tiny widths and sizes, finishes in seconds")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        print(json.dumps(measure(**json.loads(args.child))))
        return 0
    apply_model_size(args)
    if args.smoke:
        args.frames, args.size, args.repeats = [4], 56, 1
    elif args.plot is None:
        args.plot = Path(__file__).with_name("native_vs_linvt.png")

    rows = load_rows(args.load_json) if args.load_json else []
    for family in [] if args.load_json else args.families:
        for frames in args.frames:
            for path in ("native", "linvt"):
                spec = dict(
                    family=family, path=path, frames=frames, size=args.size, llm_layers=args.llm_layers,
                    vision_layers=args.vision_layers, dtype=args.dtype, smoke=args.smoke, repeats=args.repeats,
                    threads=args.threads, device=args.device, model_size=args.model_size,
                )
                rows.append(run_child(__file__, spec, args.timeout))
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)

    print(f"Machine: {machine()}; date: {time.strftime('%Y-%m-%d')}")
    print(f"Frames {args.size}x{args.size}, {args.dtype} on {args.device}, LLM layers {args.llm_layers}, vision layers "
          f"{args.vision_layers}{' (smoke sizes)' if args.smoke else ''}")
    print_tables(rows)
    if args.json_out:
        args.json_out.write_text(json.dumps(rows, indent=1))
    if args.plot:
        plot(rows, args.plot)
        print(f"\nPlot: {args.plot}")
    return 1 if all("error" in row for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
