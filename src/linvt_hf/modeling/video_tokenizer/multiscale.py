"""How MTP's scales map to TTA's query sets (paper Sec. 3.2.2 and Tab. 5): single, Multi-A, Multi-B, Multi-C.

A variant tells SVR which MTP windows to pool at (`windows`), gives each query set its keys (`key_sets`: pooled
features, mask, score bias and time of the windows it attends over) and turns the query sets' attention maps over
windows back into weights over the selected tokens (`combine`).

- single: one query set of `sum(num_queries)` over the selected tokens themselves (window 1).
- Multi-A: MTP after TTA: one set of `num_queries[0]` over the selected tokens, its output rows then averaged down to
  each scale's count.
- Multi-B: MTP before TTA, one query set of `sum(num_queries)` over the windows of all scales together; a learned
  scale embedding tells the scales apart.
- Multi-C (the paper's choice): one query set per scale, each over its own scale's windows.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..configuration_linvt import LinVTConfig
from .base import trunc_normal_
from .mtp import PooledScale


@dataclass
class KeySet:
    """What one query set attends over: `features` `[B, G, d]`, `mask` `[B, G]` (True for a real window), `bias`
    `[B, G]` (log-sigmoid scores, or None) and `time` `[B, G]` (relative time for the temporal prior, or None)."""

    features: torch.Tensor
    mask: torch.Tensor
    bias: torch.Tensor | None
    time: torch.Tensor | None


def pool(values: torch.Tensor | None, *scales: PooledScale) -> torch.Tensor | None:
    """Per-token `values` `[B, K]` averaged over each scale's windows, concatenated `[B, sum G]` (None stays None)."""
    return None if values is None else torch.cat([scale.pool(values) for scale in scales], dim=1)


def time_of(times: list[torch.Tensor] | None, query_set: int) -> torch.Tensor | None:
    """The relative time `[B, K]` of the selected tokens on `query_set`'s clock (None without the temporal prior)."""
    return None if times is None else times[query_set]


class MultiscaleVariant(nn.Module):
    """Base of the variants. `windows(config)` lists MTP's windows; `key_sets` and `combine` are described above."""

    def __init__(self, config: LinVTConfig) -> None:
        super().__init__()
        self.config = config

    @staticmethod
    def windows(config: LinVTConfig) -> list[int]:
        """MTP's window of each scale that this variant reads: all of `pooling_windows`."""
        return list(config.pooling_windows)


class SingleScale(MultiscaleVariant):
    """One query set over the selected tokens (window 1, no MTP before TTA)."""

    @staticmethod
    def windows(config: LinVTConfig) -> list[int]:
        return [1]

    def key_sets(
        self,
        scales: list[PooledScale],
        features: torch.Tensor,
        bias: torch.Tensor | None,
        times: list[torch.Tensor] | None,
    ) -> list[KeySet]:
        """The selected tokens' own features `[B, K, d]` as the keys of the one query set."""
        scale = scales[0]
        return [KeySet(features, scale.mask, pool(bias, scale), pool(time_of(times, 0), scale))]

    def combine(self, scales: list[PooledScale], maps: list[torch.Tensor]) -> torch.Tensor:
        """The one map `[B, Q, K]` is already over the selected tokens."""
        return scales[0].token_weights(maps[0])


class MultiA(SingleScale):
    """MTP after TTA: the `num_queries[0]` output rows averaged in consecutive runs down to each scale's count."""

    def combine(self, scales: list[PooledScale], maps: list[torch.Tensor]) -> torch.Tensor:
        """`[B, num_queries[0], K]` -> `[B, sum(num_queries), K]`."""
        weights = super().combine(scales, maps)
        first = self.config.num_queries[0]
        pooled = [weights.unflatten(1, (q, first // q)).mean(2) for q in self.config.num_queries]
        return torch.cat(pooled, dim=1)


class MultiB(MultiscaleVariant):
    """One query set over the windows of all scales together; `scale_embedding` `[num_scales, d]` is added to each
    scale's pooled features so that the queries can tell the scales apart."""

    def __init__(self, config: LinVTConfig) -> None:
        super().__init__(config)
        self.scale_embedding = nn.Parameter(torch.zeros(len(config.num_queries), config.hidden_size))

    def init_own_parameters(self, std: float) -> None:
        trunc_normal_(self.scale_embedding, std)

    def key_sets(
        self,
        scales: list[PooledScale],
        features: torch.Tensor,
        bias: torch.Tensor | None,
        times: list[torch.Tensor] | None,
    ) -> list[KeySet]:
        """One key set: the windows of every scale, concatenated `[B, sum G, d]`."""
        pooled = [
            scale.pool(features) + self.scale_embedding[i].to(features.dtype) for i, scale in enumerate(scales)
        ]
        masks = torch.cat([scale.mask for scale in scales], dim=1)
        return [KeySet(torch.cat(pooled, dim=1), masks, pool(bias, *scales), pool(time_of(times, 0), *scales))]

    def combine(self, scales: list[PooledScale], maps: list[torch.Tensor]) -> torch.Tensor:
        """The joint map `[B, Q, sum G]` split per scale, spread onto the tokens and summed: `[B, Q, K]`."""
        splits = maps[0].split([scale.num_groups for scale in scales], dim=2)
        return sum(scale.token_weights(w) for scale, w in zip(scales, splits))


class MultiC(MultiscaleVariant):
    """One query set per scale, over that scale's windows."""

    def key_sets(
        self,
        scales: list[PooledScale],
        features: torch.Tensor,
        bias: torch.Tensor | None,
        times: list[torch.Tensor] | None,
    ) -> list[KeySet]:
        """Key set i: scale i's pooled features `[B, G_i, d]`."""
        return [
            KeySet(scale.pool(features), scale.mask, pool(bias, scale), pool(time_of(times, i), scale))
            for i, scale in enumerate(scales)
        ]

    def combine(self, scales: list[PooledScale], maps: list[torch.Tensor]) -> torch.Tensor:
        """Each scale's map spread onto the tokens, the query sets one after the other: `[B, sum(num_queries), K]`."""
        return torch.cat([scale.token_weights(w) for scale, w in zip(scales, maps)], dim=1)


MULTISCALE_VARIANTS: dict[str, type[MultiscaleVariant]] = {
    "single": SingleScale,
    "multi_a": MultiA,
    "multi_b": MultiB,
    "multi_c": MultiC,
}


def multiscale_variant(config: LinVTConfig) -> MultiscaleVariant:
    """The variant module of `config.multiscale`."""
    return MULTISCALE_VARIANTS[config.multiscale](config)


def mtp_windows(config: LinVTConfig) -> list[int]:
    """MTP's windows that SVR pools at: those the multiscale variant reads, or every scale's for the "SVR only"
    ablation (`use_tta=False`), whose segment pooling averages each scale."""
    if not config.use_tta:
        return list(config.pooling_windows)
    return MULTISCALE_VARIANTS[config.multiscale].windows(config)
