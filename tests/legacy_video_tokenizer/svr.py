"""SVR, the spatio-temporal visual token refiner (paper Sec. 3.2.1): significance scoring and top-k selection.

Multi-scale token pooling (MTP), SVR's third step, is in `mtp.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from linvt_hf import LinVTConfig
from .layers import FeedForward, MultiHeadAttention, chunked_apply, sinusoidal_embedding


class SpatioTemporalLayer(nn.Module):
    """One factorised layer: self-attention within each frame, then across frames at each spatial index, then MLP.

    Pre-norm residual blocks on `[B, T, N, d]`. The temporal attention never lets a query see padding frames and,
    with `temporal_window`, only frames at most that far away, so its cost stays linear in T for long videos.
    """

    def __init__(self, config: LinVTConfig) -> None:
        super().__init__()
        d, eps = config.hidden_size, config.layer_norm_eps
        self.chunk_size = config.chunk_size
        self.temporal_window = config.temporal_window
        self.spatial_norm = nn.LayerNorm(d, eps=eps)
        self.spatial_attn = MultiHeadAttention(d, config.num_attention_heads, config.attention_dropout)
        self.temporal_norm = nn.LayerNorm(d, eps=eps)
        self.temporal_attn = MultiHeadAttention(d, config.num_attention_heads, config.attention_dropout)
        self.mlp_norm = nn.LayerNorm(d, eps=eps)
        self.mlp = FeedForward(d, config.mlp_ratio, config.hidden_dropout)
        self.dropout = nn.Dropout(config.hidden_dropout)

    def _spatial(self, x: torch.Tensor) -> torch.Tensor:
        return self.spatial_attn(self.spatial_norm(x))

    def _temporal(self, x: torch.Tensor, key_mask: torch.Tensor) -> torch.Tensor:
        """`x` `[S, T, d]` temporal sequences, `key_mask` `[S, T]`; the window mask is built per chunk."""
        mask = key_mask[:, None, None, :]
        t = x.shape[1]
        if self.temporal_window is not None and self.temporal_window + 1 < t:
            steps = torch.arange(t, device=x.device)
            window = (steps[:, None] - steps[None, :]).abs() <= self.temporal_window
            mask = mask & window
            # Only padding frames can be left with no key; give them every key so their (ignored) output is finite.
            mask = mask | ~mask.any(-1, keepdim=True)
        return self.temporal_attn(self.temporal_norm(x), attn_mask=mask)

    def _mlp(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.mlp_norm(x))

    def forward(self, hidden: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
        """`hidden` `[B, T, N, d]`, `frame_mask` `[B, T]` bool -> `[B, T, N, d]`."""
        b, t, n, d = hidden.shape
        frames = hidden.reshape(b * t, n, d)
        frames = frames + self.dropout(chunked_apply(self._spatial, (frames,), n, self.chunk_size))

        # [B*T, N, d] -> [B*N, T, d]: one temporal sequence per spatial index.
        sequences = frames.view(b, t, n, d).transpose(1, 2).reshape(b * n, t, d)
        key_mask = frame_mask[:, None, :].expand(b, n, t).reshape(b * n, t)
        attended = chunked_apply(self._temporal, (sequences, key_mask), t, self.chunk_size)
        sequences = sequences + self.dropout(attended)

        tokens = sequences.view(b, n, t, d).transpose(1, 2).reshape(b * t * n, d)
        tokens = tokens + self.dropout(chunked_apply(self._mlp, (tokens,), 1, self.chunk_size))
        return tokens.view(b, t, n, d)


class SignificanceScorer(nn.Module):
    """Spatio-temporal significance scoring: L factorised layers over the `T x N` grid and a one-score head.

    Raw tokens `[B, T, N, D]` are normalised and projected to the internal width d, given sinusoidal positions for
    the frame (counted over valid frames only, so padding never shifts them), the spatial index and the shot,
    refined, and scored. Returns the refined features `[B, T, N, d]` (TTA attends over them) and the scores
    `[B, T, N]` (float32).
    """

    def __init__(self, config: LinVTConfig, input_size: int) -> None:
        super().__init__()
        d = config.hidden_size
        self.input_norm = nn.LayerNorm(input_size, eps=config.layer_norm_eps)
        self.input_proj = nn.Linear(input_size, d)
        self.time_proj = nn.Linear(d, d, bias=False)
        self.space_proj = nn.Linear(d, d, bias=False)
        self.clip_proj = nn.Linear(d, d, bias=False) if config.use_clip_embedding else None
        # Without SVR (the "TTA only" ablation) tokens are only embedded with their positions, never refined.
        num_layers = config.num_svr_layers if config.use_svr else 0
        self.layers = nn.ModuleList(SpatioTemporalLayer(config) for _ in range(num_layers))
        self.output_norm = nn.LayerNorm(d, eps=config.layer_norm_eps)
        self.score_head = nn.Linear(d, 1)
        self.gradient_checkpointing = False

    def forward(
        self, visual_tokens: torch.Tensor, frame_mask: torch.Tensor, clip_ids: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        b, t, n, _ = visual_tokens.shape
        d = self.input_proj.out_features
        if not bool(frame_mask.all()):
            # Whatever the caller left in padding frames (even NaN) must not reach the attention values.
            visual_tokens = visual_tokens.masked_fill(~frame_mask[:, :, None, None], 0.0)
        hidden = self.input_proj(self.input_norm(visual_tokens))
        frame_position = frame_mask.long().cumsum(1) - 1  # [B, T]
        positions = self.time_proj(sinusoidal_embedding(frame_position, d).to(hidden.dtype))[:, :, None]
        spatial_index = torch.arange(n, device=hidden.device)
        positions = positions + self.space_proj(sinusoidal_embedding(spatial_index, d).to(hidden.dtype))
        if self.clip_proj is not None and clip_ids is not None:
            positions = positions + self.clip_proj(sinusoidal_embedding(clip_ids, d).to(hidden.dtype))[:, :, None]
        hidden = hidden + positions
        for layer in self.layers:
            if self.gradient_checkpointing and self.training:
                checkpoint_fn = getattr(self, "_gradient_checkpointing_func", None) or (
                    lambda f, *a: checkpoint(f, *a, use_reentrant=False)
                )
                hidden = checkpoint_fn(layer.__call__, hidden, frame_mask)
            else:
                hidden = layer(hidden, frame_mask)
        scores = self.score_head(self.output_norm(hidden)).squeeze(-1).float()
        return hidden, scores


@dataclass
class TopKSelection:
    """The output of top-k selection, in temporal-then-spatial order.

    indices: `[B, K]` flat positions `t * N + n` in the input grid, -1 where `mask` is False.
    mask: `[B, K]` bool, True for a selected token (a video with fewer valid tokens keeps fewer).
    frame_index: `[B, K]` frame `t` of each selected token (0 where masked).
    """

    indices: torch.Tensor
    mask: torch.Tensor
    frame_index: torch.Tensor

    def gather(self, grid: torch.Tensor) -> torch.Tensor:
        """Pick the selected entries of `grid` `[B, T, N, ...]` -> `[B, K, ...]` (masked rows hold position 0)."""
        b, t, n = grid.shape[:3]
        flat = grid.reshape(b, t * n, *grid.shape[3:])
        index = self.indices.clamp(min=0)
        index = index.view(*index.shape, *([1] * (flat.dim() - 2))).expand(-1, -1, *flat.shape[2:])
        return flat.gather(1, index)


def select_top_k(scores: torch.Tensor, frame_mask: torch.Tensor, k: int, min_per_frame: int = 0) -> TopKSelection:
    """Keep the `k` highest-scoring tokens of each video (all of them if it has fewer), never from padding frames.

    `scores` `[B, T, N]`, `frame_mask` `[B, T]`. With `min_per_frame` m > 0, each of a video's T' valid frames
    first keeps its own `min(m, k // T')` best tokens and the rest of the budget goes to the best remaining ones.
    Selected tokens come back sorted by position, i.e. in temporal order, then spatial order within a frame.
    """
    b, t, n = scores.shape
    total = t * n
    valid = frame_mask[:, :, None].expand(b, t, n).reshape(b, total)
    ranked = scores.detach()
    if min_per_frame > 0:
        quota = (k // frame_mask.sum(1).clamp(min=1)).clamp(max=min_per_frame)  # [B]
        rank_in_frame = ranked.argsort(dim=2, descending=True).argsort(dim=2)  # [B, T, N], 0 = best of its frame
        # A frame's reserved tokens (at most k in all) outrank every other token, so top-k always keeps them.
        ranked = ranked.masked_fill(rank_in_frame < quota[:, None, None], float("inf"))
    flat = ranked.reshape(b, total).masked_fill(~valid, float("-inf"))
    kept = min(k, total)
    _, top = flat.topk(kept, dim=1, sorted=False)
    num_valid = valid.sum(1)  # [B]
    keep_count = num_valid.clamp(max=k)  # [B]
    # topk puts -inf (padding) last only when sorted, so re-check validity of what it picked.
    picked_valid = valid.gather(1, top)
    top = torch.where(picked_valid, top, torch.full_like(top, total))
    top, _ = top.sort(dim=1)
    width = int(keep_count.max())
    top = top[:, :width]
    mask = top < total
    indices = torch.where(mask, top, torch.full_like(top, -1))
    frame_index = torch.where(mask, top // n, torch.zeros_like(top))
    return TopKSelection(indices=indices, mask=mask, frame_index=frame_index)


def score_log_weights(scores: torch.Tensor) -> torch.Tensor:
    """log-sigmoid of significance scores: the bias added to TTA's aggregation logits (keeps the output convex)."""
    return F.logsigmoid(scores)
