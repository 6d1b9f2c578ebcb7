"""TTA, text-conditioned token aggregation (paper Sec. 3.2.2).

Learnable queries go through L decoder layers (self-attention among the queries of one scale, cross-attention to
that scale's visual features, cross-attention to the question's token embeddings, MLP) and then the linear
aggregation layer turns them into one attention map per query over the RAW pooled visual tokens: each output token
is a convex combination of input tokens, with no value projection, output projection or residual.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from linvt_hf import LinVTConfig
from .layers import FeedForward, MultiHeadAttention


class TTADecoderLayer(nn.Module):
    """Pre-norm decoder layer on the queries `[B, Q, d]`."""

    def __init__(self, config: LinVTConfig) -> None:
        super().__init__()
        d, heads, eps = config.hidden_size, config.num_attention_heads, config.layer_norm_eps
        self.self_norm = nn.LayerNorm(d, eps=eps)
        self.self_attn = MultiHeadAttention(d, heads, config.attention_dropout)
        self.visual_norm = nn.LayerNorm(d, eps=eps)
        self.visual_attn = MultiHeadAttention(d, heads, config.attention_dropout)
        if config.text_condition:
            self.text_norm = nn.LayerNorm(d, eps=eps)
            self.text_attn = MultiHeadAttention(d, heads, config.attention_dropout)
        else:
            self.text_norm = self.text_attn = None
        self.mlp_norm = nn.LayerNorm(d, eps=eps)
        self.mlp = FeedForward(d, config.mlp_ratio, config.hidden_dropout)
        self.dropout = nn.Dropout(config.hidden_dropout)

    def forward(
        self,
        queries: torch.Tensor,
        visual: torch.Tensor,
        visual_mask: torch.Tensor,
        text: torch.Tensor | None,
        text_mask: torch.Tensor | None,
    ) -> torch.Tensor:
        """`queries` `[B, Q, d]`, `visual` `[B, G, d]` + `visual_mask` `[B, G]`, `text` `[B, M, d]` + `[B, M]`."""
        queries = queries + self.dropout(self.self_attn(self.self_norm(queries)))
        queries = queries + self.dropout(self.visual_attn(self.visual_norm(queries), visual, key_mask=visual_mask))
        if self.text_attn is not None and text is not None:
            queries = queries + self.dropout(self.text_attn(self.text_norm(queries), text, key_mask=text_mask))
        return queries + self.dropout(self.mlp(self.mlp_norm(queries)))


class LinearAggregation(nn.Module):
    """The linear aggregation layer: one convex attention map per query over the raw tokens.

    `W = mean_over_heads softmax(Wq q . Wk k / sqrt(d_head) + bias)`, output `W @ raw`. Merging the heads by their
    mean keeps each row a probability vector, so every output token is a weighted average of whole input tokens.
    """

    def __init__(self, config: LinVTConfig) -> None:
        super().__init__()
        d = config.hidden_size
        self.num_heads = config.num_attention_heads
        self.head_dim = d // self.num_heads
        self.query_norm = nn.LayerNorm(d, eps=config.layer_norm_eps)
        self.key_norm = nn.LayerNorm(d, eps=config.layer_norm_eps)
        self.q_proj = nn.Linear(d, d)
        self.k_proj = nn.Linear(d, d)

    def weights(
        self, queries: torch.Tensor, keys: torch.Tensor, key_mask: torch.Tensor, key_bias: torch.Tensor | None
    ) -> torch.Tensor:
        """Attention map `[B, Q, G]` in float32: non-negative, rows sum to 1, zero on masked keys. `key_bias`
        (`[B, Q, G]` or broadcastable) is added to every head's logits."""
        q = self.q_proj(self.query_norm(queries)).unflatten(-1, (self.num_heads, self.head_dim)).transpose(1, 2)
        k = self.k_proj(self.key_norm(keys)).unflatten(-1, (self.num_heads, self.head_dim)).transpose(1, 2)
        logits = (q.float() @ k.float().transpose(-1, -2)) / math.sqrt(self.head_dim)  # [B, h, Q, G]
        if key_bias is not None:
            logits = logits + key_bias.float()[:, None]
        logits = logits.masked_fill(~key_mask[:, None, None, :], float("-inf"))
        return logits.softmax(dim=-1).mean(dim=1)


class TemporalPrior(nn.Module):
    """A learnable temporal prior on the aggregation logits (`LinVTConfig.temporal_prior`; not in the paper).

    Query j of Q is anchored at the centre of the j-th of Q equal segments of the video; a key at relative time t
    gets the logit bias `-s * (Q * (t - anchor_j))^2 / 2`, with the strength s >= 0 learned (it can fall to 0).
    """

    def __init__(self, num_queries: int, strength: float) -> None:
        super().__init__()
        self.num_queries = num_queries
        self.initial_strength = float(strength)
        self.strength = nn.Parameter(torch.tensor(self.initial_strength))

    def forward(self, key_time: torch.Tensor) -> torch.Tensor:
        """`key_time` `[B, G]` in [0, 1] -> logit bias `[B, Q, G]` (float32)."""
        q = self.num_queries
        anchors = (torch.arange(q, device=key_time.device, dtype=torch.float32) + 0.5) / q
        distance = (key_time.float()[:, None, :] - anchors[None, :, None]) * q
        return -0.5 * self.strength.float().clamp(min=0.0) * distance.square()


def frame_clock(frame_mask: torch.Tensor) -> torch.Tensor:
    """Relative time in [0, 1] of each frame, counted over the valid frames: `frame_mask` `[B, T]` -> `[B, T]`."""
    position = (frame_mask.long().cumsum(1) - 1).float()
    return position / (frame_mask.sum(1, keepdim=True) - 1).clamp(min=1)


def shot_clock(frame_mask: torch.Tensor, clip_ids: torch.Tensor | None) -> torch.Tensor:
    """Relative time in (0, 1) of each frame in which every shot gets an equal share: `[B, T]` -> `[B, T]`.

    A shot is a run of consecutive valid frames with equal `clip_ids` (padding frames in between are skipped). Frame
    p of the n frames of shot s, of S shots, is at `(s + (p + 0.5) / n) / S`. Without `clip_ids`, one shot. Values
    at padding frames are meaningless (those frames are never selected).
    """
    b, t = frame_mask.shape
    steps = torch.arange(t, device=frame_mask.device)
    if clip_ids is None:
        clip_ids = torch.zeros(b, t, dtype=torch.long, device=frame_mask.device)
    # Index of the last valid frame strictly before each frame (-1: none).
    last_valid = torch.where(frame_mask, steps, -1).cummax(1).values
    previous = torch.cat([torch.full_like(last_valid[:, :1], -1), last_valid[:, :-1]], dim=1)
    starts = frame_mask & ((previous < 0) | (clip_ids != clip_ids.gather(1, previous.clamp(min=0))))
    shot = (starts.long().cumsum(1) - 1).clamp(min=0)  # [B, T] shot rank of each frame
    valid = frame_mask.long()
    length = torch.zeros(b, t, dtype=torch.long, device=frame_mask.device).scatter_add(1, shot, valid)
    count = valid.cumsum(1) - 1  # valid frames before each frame
    first = torch.where(starts, count, 0)
    start_count = torch.zeros_like(length).scatter_add(1, shot, first)  # valid frames before each shot starts
    within = (count - start_count.gather(1, shot)).float()
    num_shots = starts.sum(1, keepdim=True).clamp(min=1).float()
    return (shot.float() + (within + 0.5) / length.gather(1, shot).clamp(min=1).float()) / num_shots


class QueryAggregator(nn.Module):
    """One query set with its decoder and linear aggregation layer (one scale of Multi-C, or the single set)."""

    def __init__(self, config: LinVTConfig, num_queries: int) -> None:
        super().__init__()
        self.queries = nn.Parameter(torch.zeros(num_queries, config.hidden_size))
        self.layers = nn.ModuleList(TTADecoderLayer(config) for _ in range(config.num_tta_layers))
        self.aggregation = LinearAggregation(config)
        self.temporal_prior = TemporalPrior(num_queries, config.temporal_prior) if config.temporal_prior > 0 else None

    def forward(
        self,
        visual: torch.Tensor,
        visual_mask: torch.Tensor,
        key_bias: torch.Tensor | None,
        text: torch.Tensor | None,
        text_mask: torch.Tensor | None,
        key_time: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Visual features `[B, G, d]` -> aggregation weights `[B, Q, G]` (float32). `key_bias` `[B, G]` is added
        to every query's logits; `key_time` `[B, G]` (relative time in [0, 1]) feeds the temporal prior."""
        queries = self.queries[None].expand(visual.shape[0], -1, -1).to(visual.dtype)
        for layer in self.layers:
            queries = layer(queries, visual, visual_mask, text, text_mask)
        bias = None if key_bias is None else key_bias.float()[:, None, :]
        if self.temporal_prior is not None and key_time is not None:
            prior = self.temporal_prior(key_time)
            bias = prior if bias is None else bias + prior
        return self.aggregation.weights(queries, visual, visual_mask, bias)


class TextConditioner(nn.Module):
    """Embeds the question for TTA: LLM-space token embeddings `[B, M, D]` -> `[B, M + 1, d]` plus mask.

    A learned null token is always appended, so a video with no question (or a fully padded one) still has a
    key to attend to, and batching videos with and without questions gives the same result as running them alone.
    """

    def __init__(self, config: LinVTConfig, input_size: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(input_size, eps=config.layer_norm_eps)
        self.proj = nn.Linear(input_size, config.hidden_size)
        self.null_token = nn.Parameter(torch.zeros(1, 1, config.hidden_size))

    def forward(
        self, batch_size: int, text_embeds: torch.Tensor | None, text_mask: torch.Tensor | None, dtype: torch.dtype
    ) -> tuple[torch.Tensor, torch.Tensor]:
        null = self.null_token.to(dtype).expand(batch_size, 1, -1)
        if text_embeds is None:
            return null, torch.ones(batch_size, 1, dtype=torch.bool, device=null.device)
        text = self.proj(self.norm(text_embeds.to(self.proj.weight.dtype))).to(dtype)
        if text_mask is None:
            text_mask = torch.ones(text.shape[:2], dtype=torch.bool, device=text.device)
        mask = torch.cat([text_mask.bool(), torch.ones_like(text_mask[:, :1], dtype=torch.bool)], dim=1)
        return torch.cat([text, null], dim=1), mask
