"""Stage 1's video-text contrastive loss (the paper names a contrastive term but does not define it); computed by the
LinVT models' `forward` when given a `caption_mask`.

A symmetric InfoNCE, as CLIP: each video is pulled towards its own caption and pushed from the other captions of the
batch, and each caption likewise. A video is represented by the mean of LinVT's video tokens (they live in the LLM's
input space), a caption by the mean of its tokens' input embeddings (the LLM's frozen embedding table), so the loss
aligns LinVT's output with the words that describe the video, in the space the LLM reads.
"""

from __future__ import annotations

import math

import torch
import torch.distributed as dist
import torch.nn.functional as F

MAX_LOGIT_SCALE = math.log(100.0)  # CLIP's bound on 1/temperature
INITIAL_LOGIT_SCALE = math.log(1 / 0.07)  # CLIP's initial temperature, 0.07


def video_text_contrastive_loss(
    video_embeds: torch.Tensor,
    text_embeds: torch.Tensor,
    logit_scale: torch.Tensor,
    max_logit_scale: float = MAX_LOGIT_SCALE,
) -> torch.Tensor:
    r"""
    Symmetric InfoNCE between paired video and text embeddings (row i of each is one pair).

    Args:
        video_embeds (`torch.Tensor` of shape `(V, D)`): pooled video embeddings.
        text_embeds (`torch.Tensor` of shape `(V, D)`): pooled caption embeddings, paired row by row.
        logit_scale (`torch.Tensor`, 0-dim): log(1 / temperature), learnable; clamped to `max_logit_scale`.

    Returns:
        `torch.Tensor` (0-dim, float32): `(CE(video -> text) + CE(text -> video)) / 2` over cosine similarities times
        `exp(logit_scale)`. Zero (still attached to the inputs' graph) when `V == 0`.
    """
    if video_embeds.shape != text_embeds.shape or video_embeds.dim() != 2:
        raise ValueError(f"expected two [V, D] tensors of one shape, got {video_embeds.shape} and {text_embeds.shape}")
    scale = logit_scale.float().clamp(max=max_logit_scale).exp()
    if video_embeds.shape[0] == 0:
        return scale * 0.0 + video_embeds.sum() * 0.0
    video = F.normalize(video_embeds.float(), dim=-1)
    text = F.normalize(text_embeds.float(), dim=-1)
    logits = scale * video @ text.T
    targets = torch.arange(logits.shape[0], device=logits.device)
    return (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets)) / 2


def pool_video_tokens(video_tokens: torch.Tensor, video_tokens_mask: torch.Tensor | None = None) -> torch.Tensor:
    r"""Mean of each video's (real) video tokens: `(V, Q, D)` [+ `(V, Q)` bool mask] -> `(V, D)`."""
    if video_tokens_mask is None:
        return video_tokens.mean(1)
    weights = video_tokens_mask.to(video_tokens.dtype).unsqueeze(-1)
    return (video_tokens * weights).sum(1) / weights.sum(1).clamp(min=1)


def pool_token_embeddings(embeddings: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    r"""Mean of the masked token embeddings of each row: `(B, L, D)` and `(B, L)` bool -> `(B, D)`."""
    weights = mask.to(embeddings.dtype).unsqueeze(-1)
    return (embeddings * weights).sum(1) / weights.sum(1).clamp(min=1)


def gather_rows(rows: torch.Tensor) -> torch.Tensor:
    r"""
    All processes' rows, concatenated in rank order: `(n_r, D)` on each rank -> `(sum_r n_r, D)`, differentiable.

    Ranks may hold different numbers of rows (zero included); every rank must call this (it is a collective). Only
    a rank's own rows carry its graph, their gradient scaled by the world size: every rank computes the same loss on
    the gathered rows, so this is the sum over ranks of the gradients of their copies, and averaging the gradients
    across ranks (as DDP does) gives exactly the gradient of that loss. No collective runs in the backward pass: one
    there (a differentiable all_gather's) could interleave with DDP's own gradient all-reduces in another order on
    each rank, whose autograd graphs differ (a rank without video), and crash or hang the process group. Without an
    initialised process group of more than one rank, returns `rows`.
    """
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return rows
    count = torch.tensor([rows.shape[0]], device=rows.device)
    counts = [torch.zeros_like(count) for _ in range(dist.get_world_size())]
    dist.all_gather(counts, count)
    counts = [int(c) for c in counts]
    padded = rows.new_zeros(max(counts), *rows.shape[1:])
    padded = torch.cat([rows, padded[rows.shape[0] :]], dim=0)
    gathered = [torch.empty_like(padded) for _ in counts]
    dist.all_gather(gathered, padded.detach().contiguous())
    world = len(counts)
    # Value: exactly `padded`; gradient: `world` times the loss's (see above).
    gathered[dist.get_rank()] = padded.detach() + (padded - padded.detach()) * world
    return torch.cat([part[:n] for part, n in zip(gathered, counts)], dim=0)


__all__ = [
    "INITIAL_LOGIT_SCALE",
    "MAX_LOGIT_SCALE",
    "gather_rows",
    "pool_token_embeddings",
    "pool_video_tokens",
    "video_text_contrastive_loss",
]
