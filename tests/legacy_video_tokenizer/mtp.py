"""MTP, multi-scale token pooling (paper Sec. 3.2.1): shifted-window average pooling of the selected tokens.

At a scale with window w the selected tokens (in temporal order) are cut into consecutive windows of w tokens and
each window is averaged. The window grid of scale w starts w // 2 tokens in (a shifted window), so a window border
of one scale falls inside a window of the next and no pair of neighbours is always split. With `respect_clips`
windows restart at every shot boundary and never mix two shots. Averaging raw tokens keeps LinVT linear.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class PooledScale:
    """One scale of MTP.

    group: `[B, K]` window index of each selected token (-1 for masked tokens).
    sizes: `[B, G]` tokens per window (0 for padding windows).
    mask: `[B, G]` bool, True for a real window.
    """

    group: torch.Tensor
    sizes: torch.Tensor
    mask: torch.Tensor

    @property
    def num_groups(self) -> int:
        return self.mask.shape[1]

    def pool(self, values: torch.Tensor) -> torch.Tensor:
        """Average `values` `[B, K, ...]` over each window -> `[B, G, ...]` (zeros in padding windows)."""
        b, k = self.group.shape
        trailing = values.shape[2:]
        index = self.group.clamp(min=0).view(b, k, *([1] * len(trailing))).expand_as(values)
        keep = (self.group >= 0).view(b, k, *([1] * len(trailing))).to(values.dtype)
        sums = values.new_zeros(b, self.num_groups, *trailing).scatter_add(1, index, values * keep)
        sizes = self.sizes.clamp(min=1).to(values.dtype).view(b, self.num_groups, *([1] * len(trailing)))
        return sums / sizes

    def token_weights(self, group_weights: torch.Tensor) -> torch.Tensor:
        """Spread weights over windows `[B, Q, G]` back onto the selected tokens -> `[B, Q, K]`."""
        b, q, _ = group_weights.shape
        index = self.group.clamp(min=0)[:, None, :].expand(b, q, -1)
        per_token = group_weights.gather(2, index) / self.sizes.clamp(min=1).gather(1, self.group.clamp(min=0))[
            :, None, :
        ].to(group_weights.dtype)
        return per_token * (self.group >= 0)[:, None, :].to(group_weights.dtype)


def window_groups(
    mask: torch.Tensor, clip_ids: torch.Tensor | None, window: int, shifted: bool = True
) -> PooledScale:
    """Assign each selected token to a pooling window.

    Args:
        mask: `[B, K]` bool, True for selected tokens; they must come first in each row (as `select_top_k` gives).
        clip_ids: `[B, K]` shot index of each selected token, or None (one shot).
        window: tokens per window.
        shifted: start the window grid `window // 2` tokens in.
    """
    b, k = mask.shape
    device = mask.device
    steps = torch.arange(k, device=device).expand(b, k)
    if clip_ids is None:
        segment_start = torch.zeros_like(mask)
        segment_start[:, :1] = True
    else:
        segment_start = torch.ones_like(mask)
        segment_start[:, 1:] = clip_ids[:, 1:] != clip_ids[:, :-1]
    # Position of each token inside its shot segment.
    start_at = torch.where(segment_start, steps, torch.zeros_like(steps)).cummax(dim=1).values
    position = steps - start_at
    shift = window // 2 if shifted and window > 1 else 0
    slot = (position + shift) // window
    new_group = segment_start.clone()
    new_group[:, 1:] |= slot[:, 1:] != slot[:, :-1]
    new_group &= mask
    group = new_group.long().cumsum(1) - 1
    group = torch.where(mask, group, torch.full_like(group, -1))
    num_groups = max(int(new_group.sum(1).max()), 1)
    sizes = torch.zeros(b, num_groups, dtype=torch.long, device=device)
    sizes.scatter_add_(1, group.clamp(min=0), mask.long())
    return PooledScale(group=group, sizes=sizes, mask=sizes > 0)
