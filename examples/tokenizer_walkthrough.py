"""LinVT on its own: per-frame tokens in, a fixed number of video tokens out, and what it looked at.

    python examples/tokenizer_walkthrough.py [--frames 32] [--tokens-per-frame 64] [--hidden 256]

Builds a small LinVT, feeds it random per-frame tokens for two videos of different lengths in one padded batch,
and prints the output size (fixed, whatever the length), which frames fed the top-k selection, and checks the
paper's linearity principle numerically: every video token equals its aggregation weights times the raw tokens.
Then it runs the paper's Sec. 3.2 by hand, `tokenizer.svr` (scoring, top-k, MTP) then `tokenizer.tta` (query sets,
question, linear aggregation), and checks that the forward is exactly that: TTA's weights @ SVR's raw tokens.
"""

from __future__ import annotations

import argparse

import torch

from linvt_hf import LinVTConfig
from linvt_hf.modeling.video_tokenizer import build_video_tokenizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--tokens-per-frame", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=256, help="D, the LLM width of the frame tokens")
    args = parser.parse_args()

    torch.manual_seed(0)
    config = LinVTConfig(hidden_size=128, num_layers=2, top_k_tokens=512)  # the paper: 896 wide (D=3584), L=4, k=2048
    tokenizer = build_video_tokenizer(config, input_size=args.hidden).eval()  # a LinearVideoTokenizer

    t, n, d = args.frames, args.tokens_per_frame, args.hidden
    frames = torch.randn(2, t, n, d)
    frame_mask = torch.ones(2, t, dtype=torch.bool)
    frame_mask[1, t // 2 :] = False  # the second video is half as long
    clip_ids = (torch.arange(t) // max(t // 4, 1)).expand(2, t)  # four shots each
    question = torch.randn(2, 6, d)

    with torch.inference_mode():
        out = tokenizer(frames, frame_mask=frame_mask, text_embeds=question, clip_ids=clip_ids,
                        output_aggregation_weights=True)

    print(f"input: 2 videos, {t} and {t // 2} frames x {n} tokens x D={d}")
    print(f"output: {tuple(out.video_tokens.shape)} video tokens (sum of queries {config.num_queries})")
    frame_of_token, _ = out.selected_positions()
    for video in range(2):
        kept = frame_of_token[video][out.selected_mask[video]]
        print(f"video {video}: kept {kept.numel()} tokens; per frame:", torch.bincount(kept, minlength=t).tolist())
    selected = out.selected_indices.clamp(min=0)
    raw = frames.flatten(1, 2).gather(1, selected[..., None].expand(-1, -1, d))
    rebuilt = out.aggregation_weights @ raw
    print("video tokens == weights @ raw selected tokens:", torch.allclose(rebuilt, out.video_tokens, atol=1e-5))
    print("weights are convex:", bool((out.aggregation_weights >= 0).all()),
          f"row sums in [{out.aggregation_weights.sum(-1).min():.6f}, {out.aggregation_weights.sum(-1).max():.6f}]")

    with torch.inference_mode():
        svr = tokenizer.svr(frames, frame_mask, clip_ids)  # significance scores, top-k selection, MTP scales
        weights = tokenizer.tta(svr, frame_mask, clip_ids, question, None)  # convex weights over the kept tokens
        by_hand = weights @ svr.selection.gather(frames)
    print(f"SVR kept {svr.selection.indices.shape[1]} tokens per video, MTP scales of "
          f"{[scale.num_groups for scale in svr.scales]} windows; TTA query sets of {config.query_set_sizes} queries")
    print("forward == TTA's weights @ SVR's raw tokens:", torch.equal(by_hand, out.video_tokens))


if __name__ == "__main__":
    main()
