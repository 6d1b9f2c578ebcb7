"""The temporal prior on TTA's aggregation logits (`LinVTConfig.temporal_prior`; not in the paper) and its clocks.

A clock gives every frame a relative time in [0, 1]; each query set reads the time of its keys on its own clock
(`LinVTConfig.temporal_prior_clocks`) and its `TemporalPrior` turns those times into a logit bias that anchors query
j of Q on the j-th of Q equal segments of the video.
"""

from __future__ import annotations

import torch
from torch import nn


class TemporalPrior(nn.Module):
    """A learnable temporal prior on the aggregation logits of one query set of Q queries.

    Query j is anchored at the centre of the j-th of Q equal segments of the video; a key at relative time t gets the
    logit bias `-s * (Q * (t - anchor_j))^2 / 2`, with the strength s >= 0 learned (it can fall to 0).
    """

    def __init__(self, num_queries: int, strength: float) -> None:
        super().__init__()
        self.num_queries = num_queries
        self.initial_strength = float(strength)
        self.strength = nn.Parameter(torch.tensor(self.initial_strength))

    def init_own_parameters(self, std: float) -> None:
        """The strength starts at the configured `temporal_prior` (`std` is unused)."""
        nn.init.constant_(self.strength, self.initial_strength)

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


def clock(name: str, frame_mask: torch.Tensor, clip_ids: torch.Tensor | None) -> torch.Tensor:
    """The relative time `[B, T]` of every frame by the clock `name` ("frames" or "shots")."""
    if name == "shots":
        return shot_clock(frame_mask, clip_ids)
    if name == "frames":
        return frame_clock(frame_mask)
    raise ValueError(f"unknown temporal prior clock {name!r}: expected 'frames' or 'shots'")


def selected_times(
    clock_names: list[str], frame_mask: torch.Tensor, clip_ids: torch.Tensor | None, frame_index: torch.Tensor
) -> list[torch.Tensor]:
    """Relative time `[B, K]` of each selected token's frame (`frame_index` `[B, K]`), one per query set, on that
    set's clock (`clock_names`, one per query set); each clock is computed once."""
    clocks = {name: clock(name, frame_mask, clip_ids) for name in set(clock_names)}
    return [clocks[name].gather(1, frame_index) for name in clock_names]
