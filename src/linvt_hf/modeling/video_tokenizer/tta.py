"""TTA, text-conditioned token aggregation (paper Sec. 3.2.2): scale-specific query sets, the question condition and
the linear aggregation layer.

Each query set's learnable queries go through L decoder layers (self-attention among the queries, cross-attention to
its scale's visual features, cross-attention to the question's token embeddings, MLP); then the linear aggregation
layer turns them into one attention map per query over the pooled visual tokens, with no value projection, output
projection or residual. `TTA` returns those maps spread back over SVR's selected RAW tokens: convex weights, so that
each video token is a convex combination of input tokens. How MTP's scales map to query sets (single, Multi-A/B/C) is
in `multiscale.py`; the temporal prior in `temporal_prior.py`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from ..configuration_linvt import LinVTConfig
from .base import trunc_normal_
from .layers import FeedForward, MultiHeadAttention
from .multiscale import KeySet, multiscale_variant
from .svr import SVROutput
from .temporal_prior import TemporalPrior, selected_times


@dataclass
class ProjectedKeys:
    """One query set's projections of its visual keys: `layers`, per decoder layer the visual cross-attention's keys
    and values `([B, heads, G, head_dim], [B, heads, G, head_dim])`; `aggregation`, the aggregation layer's keys
    `[B, heads, G, head_dim]`."""

    layers: list[tuple[torch.Tensor, torch.Tensor]]
    aggregation: torch.Tensor


@dataclass
class TTAKeys:
    """What TTA computes before it reads the question (`TTA.prepare`): each query set's `KeySet` and `ProjectedKeys`."""

    key_sets: list[KeySet]
    projected: list[ProjectedKeys]


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
        visual_keys_values: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """`queries` `[B, Q, d]`, `visual` `[B, G, d]` + `visual_mask` `[B, G]`, `text` `[B, M, d]` + `[B, M]`;
        `visual_keys_values`: `visual_attn.project_keys_values(visual)` computed before (it reads no question)."""
        queries = queries + self.dropout(self.self_attn(self.self_norm(queries)))
        visual_out = self.visual_attn(
            self.visual_norm(queries), visual, key_mask=visual_mask, projected=visual_keys_values
        )
        queries = queries + self.dropout(visual_out)
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

    def project_keys(self, keys: torch.Tensor) -> torch.Tensor:
        """The keys `[B, G, d]` projected and split into heads, `[B, heads, G, head_dim]`."""
        return self.k_proj(self.key_norm(keys)).unflatten(-1, (self.num_heads, self.head_dim)).transpose(1, 2)

    def weights(
        self,
        queries: torch.Tensor,
        keys: torch.Tensor,
        key_mask: torch.Tensor,
        key_bias: torch.Tensor | None,
        projected_keys: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Attention map `[B, Q, G]` in float32: non-negative, rows sum to 1, zero on masked keys. `key_bias`
        (`[B, Q, G]` or broadcastable) is added to every head's logits; `projected_keys` is `project_keys(keys)`
        computed before."""
        q = self.q_proj(self.query_norm(queries)).unflatten(-1, (self.num_heads, self.head_dim)).transpose(1, 2)
        k = projected_keys if projected_keys is not None else self.project_keys(keys)
        logits = (q.float() @ k.float().transpose(-1, -2)) / math.sqrt(self.head_dim)  # [B, h, Q, G]
        if key_bias is not None:
            logits = logits + key_bias.float()[:, None]
        logits = logits.masked_fill(~key_mask[:, None, None, :], float("-inf"))
        return logits.softmax(dim=-1).mean(dim=1)


class QuerySet(nn.Module):
    """One scale-specific query set: learnable queries, their L decoder layers and the linear aggregation layer (one
    scale of Multi-C, or the one set of the other variants), with its own temporal prior when that is on."""

    def __init__(self, config: LinVTConfig, num_queries: int) -> None:
        super().__init__()
        self.queries = nn.Parameter(torch.zeros(num_queries, config.hidden_size))
        self.layers = nn.ModuleList(TTADecoderLayer(config) for _ in range(config.num_tta_layers))
        self.aggregation = LinearAggregation(config)
        self.temporal_prior = TemporalPrior(num_queries, config.temporal_prior) if config.temporal_prior > 0 else None

    def init_own_parameters(self, std: float) -> None:
        trunc_normal_(self.queries, std)

    def project_visual(self, visual: torch.Tensor) -> ProjectedKeys:
        """What the query set computes from its visual features `[B, G, d]` alone (no question): each decoder layer's
        cross-attention keys and values, and the aggregation layer's keys."""
        return ProjectedKeys(
            layers=[layer.visual_attn.project_keys_values(visual) for layer in self.layers],
            aggregation=self.aggregation.project_keys(visual),
        )

    def forward(
        self,
        visual: torch.Tensor,
        visual_mask: torch.Tensor,
        key_bias: torch.Tensor | None,
        text: torch.Tensor | None,
        text_mask: torch.Tensor | None,
        key_time: torch.Tensor | None = None,
        projected: ProjectedKeys | None = None,
    ) -> torch.Tensor:
        """Visual features `[B, G, d]` -> aggregation weights `[B, Q, G]` (float32). `key_bias` `[B, G]` is added
        to every query's logits; `key_time` `[B, G]` (relative time in [0, 1]) feeds the temporal prior;
        `projected` is `project_visual(visual)` computed before."""
        projected = projected if projected is not None else self.project_visual(visual)
        queries = self.queries[None].expand(visual.shape[0], -1, -1).to(visual.dtype)
        for layer, keys_values in zip(self.layers, projected.layers):
            queries = layer(queries, visual, visual_mask, text, text_mask, visual_keys_values=keys_values)
        bias = None if key_bias is None else key_bias.float()[:, None, :]
        if self.temporal_prior is not None and key_time is not None:
            prior = self.temporal_prior(key_time)
            bias = prior if bias is None else bias + prior
        return self.aggregation.weights(queries, visual, visual_mask, bias, projected_keys=projected.aggregation)


class TextCondition(nn.Module):
    """The question condition of TTA: LLM-space token embeddings `[B, M, D]` -> `[B, M + 1, d]` plus mask.

    A learned null token is always appended, so a video with no question (or a fully padded one) still has a
    key to attend to, and batching videos with and without questions gives the same result as running them alone.
    """

    def __init__(self, config: LinVTConfig, input_size: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(input_size, eps=config.layer_norm_eps)
        self.proj = nn.Linear(input_size, config.hidden_size)
        self.null_token = nn.Parameter(torch.zeros(1, 1, config.hidden_size))

    def init_own_parameters(self, std: float) -> None:
        trunc_normal_(self.null_token, std)

    def forward(
        self, batch_size: int, text_embeds: torch.Tensor | None, text_mask: torch.Tensor | None, dtype: torch.dtype
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The question's keys `[B, M + 1, d]` in `dtype` and their mask `[B, M + 1]` (`[B, 1, d]` without one)."""
        null = self.null_token.to(dtype).expand(batch_size, 1, -1)
        if text_embeds is None:
            return null, torch.ones(batch_size, 1, dtype=torch.bool, device=null.device)
        text = self.proj(self.norm(text_embeds.to(self.proj.weight.dtype))).to(dtype)
        if text_mask is None:
            text_mask = torch.ones(text.shape[:2], dtype=torch.bool, device=text.device)
        mask = torch.cat([text_mask.bool(), torch.ones_like(text_mask[:, :1], dtype=torch.bool)], dim=1)
        return torch.cat([text, null], dim=1), mask


class TTA(nn.Module):
    """Text-conditioned token aggregation over SVR's output: returns convex weights over the selected raw tokens.

    Submodules: `text` (`TextCondition`, None without `text_condition`), `query_sets` (one `QuerySet` per entry of
    `config.query_set_sizes`) and `multiscale` (the variant that maps MTP's scales to the query sets).
    """

    def __init__(self, config: LinVTConfig, input_size: int) -> None:
        super().__init__()
        self.config = config
        self.text = TextCondition(config, input_size) if config.text_condition else None
        self.query_sets = nn.ModuleList(QuerySet(config, n) for n in config.query_set_sizes)
        self.multiscale = multiscale_variant(config)

    def forward(
        self,
        svr: SVROutput,
        frame_mask: torch.Tensor,
        clip_ids: torch.Tensor | None,
        text_embeds: torch.Tensor | None,
        text_mask: torch.Tensor | None,
    ) -> torch.Tensor:
        """Weights `[B, num_video_tokens, K]` over SVR's K selected tokens (float32, rows >= 0 summing to 1).

        `frame_mask` `[B, T]` and `clip_ids` `[B, T]` time the selected tokens for the temporal prior; `text_embeds`
        `[B, M, D]` with `text_mask` `[B, M]` is the question.
        """
        return self.aggregate(self.prepare(svr, frame_mask, clip_ids), svr, text_embeds, text_mask)

    def prepare(self, svr: SVROutput, frame_mask: torch.Tensor, clip_ids: torch.Tensor | None) -> TTAKeys:
        """TTA's question-independent part: each query set's keys (MTP's windows, their score bias and time) and
        their projections in every decoder layer's visual cross-attention and in the aggregation layer."""
        times = None
        if self.config.temporal_prior > 0:
            times = selected_times(self.config.temporal_prior_clocks, frame_mask, clip_ids, svr.selection.frame_index)
        key_sets = self.multiscale.key_sets(svr.scales, svr.features, svr.score_bias, times)
        projected = [query_set.project_visual(keys.features) for query_set, keys in zip(self.query_sets, key_sets)]
        return TTAKeys(key_sets=key_sets, projected=projected)

    def aggregate(
        self, keys: TTAKeys, svr: SVROutput, text_embeds: torch.Tensor | None, text_mask: torch.Tensor | None
    ) -> torch.Tensor:
        """The weights (as `forward`) from `prepare`'s keys and the question."""
        text, text_key_mask = None, None
        if self.text is not None:
            text, text_key_mask = self.text(svr.features.shape[0], text_embeds, text_mask, svr.features.dtype)
        maps = [
            query_set(key_set.features, key_set.mask, key_set.bias, text, text_key_mask, key_set.time, projected)
            for query_set, key_set, projected in zip(self.query_sets, keys.key_sets, keys.projected)
        ]
        return self.multiscale.combine(svr.scales, maps)
