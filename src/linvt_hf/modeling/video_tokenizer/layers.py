"""Building blocks of the video tokenizers: multi-head attention on SDPA, the MLP, sinusoidal positions, chunking,
and the identity-initialised linear layer of the LLaMA-VID baseline."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class MultiHeadAttention(nn.Module):
    """Multi-head attention on `torch.nn.functional.scaled_dot_product_attention` (fused, memory-efficient kernels).

    Inputs are `[S, L_q, d]` queries and `[S, L_k, d]` keys/values, with `S` independent sequences. `key_mask` is a
    boolean `[S, L_k]` (True = may be attended to); `attn_mask` a boolean `[L_q, L_k]` shared by all sequences.
    Every query row must keep at least one key.
    """

    def __init__(self, hidden_size: int, num_heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = hidden_size // num_heads
        self.dropout = dropout
        self.q_proj = nn.Linear(hidden_size, hidden_size)
        self.k_proj = nn.Linear(hidden_size, hidden_size)
        self.v_proj = nn.Linear(hidden_size, hidden_size)
        self.o_proj = nn.Linear(hidden_size, hidden_size)

    def _split_heads(self, x: torch.Tensor) -> torch.Tensor:
        # [S, L, d] -> [S, heads, L, head_dim]
        return x.unflatten(-1, (self.num_heads, self.head_dim)).transpose(1, 2)

    def project_keys_values(self, keys_values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The keys and values of `keys_values` `[S, L_k, d]`, `[S, heads, L_k, head_dim]` each (what `forward` computes
        first; keys that serve many queries can be projected once and passed back as `projected`)."""
        return self._split_heads(self.k_proj(keys_values)), self._split_heads(self.v_proj(keys_values))

    def forward(
        self,
        queries: torch.Tensor,
        keys_values: torch.Tensor | None = None,
        key_mask: torch.Tensor | None = None,
        attn_mask: torch.Tensor | None = None,
        projected: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Returns `[S, L_q, d]`; self-attention when `keys_values` is None; `projected` is
        `project_keys_values(keys_values)` computed before."""
        keys_values = queries if keys_values is None else keys_values
        q = self._split_heads(self.q_proj(queries))
        k, v = projected if projected is not None else self.project_keys_values(keys_values)
        mask = None
        if key_mask is not None:
            mask = key_mask[:, None, None, :]
        if attn_mask is not None:
            mask = attn_mask if mask is None else mask & attn_mask
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0
        )
        return self.o_proj(out.transpose(1, 2).flatten(-2))


class IdentityInitLinear(nn.Linear):
    """A square linear layer that `init_video_tokenizer_weights` initialises to the identity (weight I, bias 0)."""


class FeedForward(nn.Module):
    """The transformer MLP: Linear -> GELU -> Linear, `[..., d] -> [..., d]`."""

    def __init__(self, hidden_size: int, mlp_ratio: float, dropout: float = 0.0) -> None:
        super().__init__()
        inner = int(hidden_size * mlp_ratio)
        self.fc1 = nn.Linear(hidden_size, inner)
        self.fc2 = nn.Linear(inner, hidden_size)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.dropout(F.gelu(self.fc1(x))))


def sinusoidal_embedding(positions: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Fixed sin/cos features of (possibly fractional) positions: `[...]` -> `[..., dim]` in float32."""
    half = dim // 2
    freqs = torch.exp(
        -math.log(max_period) * torch.arange(half, device=positions.device, dtype=torch.float32) / max(half, 1)
    )
    angles = positions.to(torch.float32)[..., None] * freqs
    emb = torch.cat([angles.sin(), angles.cos()], dim=-1)
    if dim % 2:
        emb = F.pad(emb, (0, 1))
    return emb


def chunked_apply(fn, inputs: tuple[torch.Tensor, ...], tokens_per_row: int, chunk_tokens: int) -> torch.Tensor:
    """Apply `fn` to slices of `inputs` along dim 0 so that one call sees at most `chunk_tokens` tokens.

    Each row of dim 0 holds `tokens_per_row` tokens (a frame or a temporal sequence); rows are never split, so the
    result is the same as one call on everything. `None` entries of `inputs` are passed through.
    """
    rows = next(x for x in inputs if x is not None).shape[0]
    step = max(1, chunk_tokens // max(tokens_per_row, 1))
    if rows <= step:
        return fn(*inputs)
    parts = [fn(*(x[i : i + step] if x is not None else None for x in inputs)) for i in range(0, rows, step)]
    return torch.cat(parts, dim=0)
