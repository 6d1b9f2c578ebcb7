"""`linvt-hf demo VIDEO`: read a real video, run LinVT on stand-in frame tokens, show what it kept and produced.

The stand-in for a backbone's vision encoder and projector is a fixed random linear embedding of 16x16-pixel
patches (seeded), so the demo needs no model weights; LinVT itself is freshly initialised. What it shows is the
mechanics: frames sampled, shots found, how many tokens each frame contributed to top-k, which frames and patches
each video token averages over, and that every video token is a convex combination of frame tokens.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from ..modeling import LinearVideoTokenizer, LinVTConfig
from ..processing.video_io import load_video

PATCH = 16


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run LinVT on a real video with stand-in frame tokens and print what it selected",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("video", help="path or URL of a video file")
    parser.add_argument("--num-frames", type=int, default=16, help="frames sampled uniformly (default 16)")
    parser.add_argument("--image-size", type=int, default=224, help="frames are resized to this square size (224)")
    parser.add_argument("--hidden", type=int, default=512, help="width D of the stand-in frame tokens (512)")
    parser.add_argument("--top-k", type=int, default=512, help="tokens kept by SVR's top-k selection (512)")
    parser.add_argument("--layers", type=int, default=2, help="layers L of SVR and TTA (2; the paper uses 4)")
    parser.add_argument("--question", default="What happens in this video?", help="text that conditions TTA")
    parser.add_argument(
        "--shots",
        choices=["autoshot", "autoshot_full", "histogram", "none"],
        default="autoshot",
        help="shot detector (autoshot)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.set_defaults(func=run)


def patch_tokens(frames: np.ndarray, dim: int, seed: int) -> torch.Tensor:
    """Stand-in frame tokens: uint8 frames `[T, H, W, 3]` -> `[T, (H/16)*(W/16), dim]` by a fixed random embedding."""
    t, h, w, _ = frames.shape
    pixels = torch.from_numpy(frames).float().div(255.0).sub(0.5)
    patches = pixels.reshape(t, h // PATCH, PATCH, w // PATCH, PATCH, 3).permute(0, 1, 3, 2, 4, 5)
    patches = patches.reshape(t, (h // PATCH) * (w // PATCH), PATCH * PATCH * 3)
    generator = torch.Generator().manual_seed(seed)
    embedding = torch.randn(PATCH * PATCH * 3, dim, generator=generator) / (PATCH * PATCH * 3) ** 0.5
    return patches @ embedding


def text_tokens(question: str, dim: int, seed: int) -> torch.Tensor:
    """Stand-in question embeddings `[1, len(words), dim]`: one fixed random vector per word."""
    words = question.lower().split() or ["?"]
    vectors = []
    for word in words:
        generator = torch.Generator().manual_seed(seed + sum(ord(c) * 31**i for i, c in enumerate(word)) % 2**31)
        vectors.append(torch.randn(dim, generator=generator))
    return torch.stack(vectors)[None]


def clip_ids_for(frame_indices: np.ndarray, shots: list[tuple[int, int]]) -> torch.Tensor:
    """Shot index of each sampled frame, `[1, T]`."""
    starts = np.array([start for start, _ in shots])
    return torch.from_numpy(np.searchsorted(starts, frame_indices, side="right") - 1).long()[None]


def run(args: argparse.Namespace) -> int:
    if args.image_size % PATCH:
        raise ValueError(f"--image-size must be a multiple of {PATCH}, got {args.image_size}")
    started = time.perf_counter()
    video = load_video(args.video, num_frames=args.num_frames, size=(args.image_size, args.image_size))
    meta = video.metadata
    print(f"video      {meta.source}")
    print(
        f"           {meta.width}x{meta.height}, {meta.total_frames} frames, "
        f"{meta.fps or 0:.2f} fps, {meta.duration or 0:.2f} s, codec {meta.codec}"
    )
    shots = detect_video_shots(args.video, args.shots, meta.total_frames)
    print(f"shots      {len(shots)}: " + ", ".join(f"[{a}, {b})" for a, b in shots[:8]) + (" ..." if len(shots) > 8 else ""))
    times = ", ".join(f"{t:.2f}" for t in video.timestamps)
    print(f"sampled    {len(video.frame_indices)} frames at {args.image_size}x{args.image_size}; t = {times} s")

    torch.manual_seed(args.seed)
    tokens = patch_tokens(video.frames, args.hidden, args.seed)[None]  # [1, T, N, D]
    question = text_tokens(args.question, args.hidden, args.seed)
    clip_ids = clip_ids_for(video.frame_indices, shots)
    config = LinVTConfig(
        hidden_size=256, num_attention_heads=8, num_layers=args.layers, top_k_tokens=args.top_k, num_queries=[64, 32, 16]
    )
    tokenizer = LinearVideoTokenizer(config, input_size=args.hidden).eval()
    with torch.inference_mode():
        out = tokenizer(tokens, text_embeds=question, clip_ids=clip_ids, output_aggregation_weights=True)

    t, n = out.num_frames, out.tokens_per_frame
    print(f"frame tokens  [1, {t}, {n}, {args.hidden}] = {t * n} tokens (stand-in patch embeddings, 16x16 patches)")
    kept = int(out.selected_mask.sum())
    print(f"SVR top-k     kept {kept} of {t * n} tokens ({100 * kept / (t * n):.1f}%), in temporal order")
    frames, _ = out.selected_positions()
    per_frame = torch.bincount(frames[0][out.selected_mask[0]], minlength=t).tolist()
    print("  per frame   " + " ".join(f"{count:3d}" for count in per_frame))
    dense = out.dense_aggregation_weights()[0]  # [Q, T, N]
    print(f"TTA output    video tokens {list(out.video_tokens.shape)}  (scales {config.num_queries}, question-conditioned)")
    row_sums = dense.flatten(1).sum(-1)
    print(
        f"linearity     every video token is a convex combination of frame tokens: weights >= 0 "
        f"({bool((dense >= 0).all())}), sums in [{row_sums.min():.6f}, {row_sums.max():.6f}]"
    )
    offset = 0
    for scale, count in enumerate(config.num_queries):
        frame_mass = dense[offset].sum(-1)
        top = frame_mass.topk(min(3, t))
        spread = ", ".join(f"frame {int(i)} ({float(v):.2f})" for v, i in zip(top.values, top.indices))
        print(f"  scale {scale} token 0 draws most on: {spread}")
        offset += count
    print(f"done in {time.perf_counter() - started:.1f} s")
    return 0


def detect_video_shots(video: str, detector: str, total_frames: int) -> list[tuple[int, int]]:
    """Shots of the whole video as half-open frame ranges (one shot when detection is off)."""
    if detector == "none":
        return [(0, total_frames)]
    from ..processing.shots import detect_shots

    return detect_shots(video, detector=detector)
