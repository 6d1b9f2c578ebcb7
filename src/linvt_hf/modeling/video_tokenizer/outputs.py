"""`LinearVideoTokenizerOutput`: what every video tokenizer returns (LinVT and the baselines alike)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers.utils import ModelOutput


@dataclass
class LinearVideoTokenizerOutput(ModelOutput):
    r"""
    video_tokens (`torch.FloatTensor` of shape `(batch_size, num_video_tokens, input_size)`):
        The video tokens, in the LLM's embedding space; `num_video_tokens = sum(num_queries)` for LinVT.
    video_tokens_mask (`torch.BoolTensor` of shape `(batch_size, num_video_tokens)`):
        True for real tokens. Always all True for LinVT; the baselines give fewer tokens to shorter videos.
    significance_scores (`torch.FloatTensor` of shape `(batch_size, num_frames, tokens_per_frame)`, *optional*):
        SVR's score of every input token (-inf for padding frames). None for the baselines.
    selected_indices (`torch.LongTensor` of shape `(batch_size, k)`, *optional*):
        Flat positions `frame * tokens_per_frame + token` of the tokens kept by top-k, in temporal order; -1 where
        `selected_mask` is False. For the baselines, every token of every frame.
    selected_mask (`torch.BoolTensor` of shape `(batch_size, k)`, *optional*):
        True for a selected token.
    aggregation_weights (`torch.FloatTensor` of shape `(batch_size, num_video_tokens, k)`, *optional*):
        Returned with `output_aggregation_weights=True`: the weight of each selected token in each video token
        (rows are convex: >= 0, summing to 1), so that `video_tokens == aggregation_weights @ selected raw tokens`.
        `dense_aggregation_weights()` spreads them over the full `(frames, tokens_per_frame)` grid.
    num_frames (`int`):
        T, the (padded) number of frames of the input.
    tokens_per_frame (`int`):
        N, the number of tokens per frame of the input.
    """

    video_tokens: torch.FloatTensor | None = None
    video_tokens_mask: torch.BoolTensor | None = None
    significance_scores: torch.FloatTensor | None = None
    selected_indices: torch.LongTensor | None = None
    selected_mask: torch.BoolTensor | None = None
    aggregation_weights: torch.FloatTensor | None = None
    num_frames: int | None = None
    tokens_per_frame: int | None = None

    def selected_positions(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Frame index and token index (within its frame) of each selected token, `[B, k]` each, -1 where masked."""
        frames = torch.where(self.selected_mask, self.selected_indices // self.tokens_per_frame, -1)
        tokens = torch.where(self.selected_mask, self.selected_indices % self.tokens_per_frame, -1)
        return frames, tokens

    def dense_aggregation_weights(self) -> torch.Tensor:
        """`[B, num_video_tokens, T, N]`: the weight of every input token in every video token (zero if unselected)."""
        if self.aggregation_weights is None:
            raise ValueError(
                "aggregation weights were not computed: call the tokenizer with output_aggregation_weights=True"
            )
        b, q, _ = self.aggregation_weights.shape
        dense = self.aggregation_weights.new_zeros(b, q, self.num_frames * self.tokens_per_frame)
        index = self.selected_indices.clamp(min=0)[:, None, :].expand(b, q, -1)
        weights = self.aggregation_weights * self.selected_mask[:, None, :].to(self.aggregation_weights.dtype)
        dense.scatter_add_(2, index, weights)
        return dense.view(b, q, self.num_frames, self.tokens_per_frame)

    def combine(self, maps: torch.Tensor) -> torch.Tensor:
        """The video tokens' convex weights applied to other per-frame maps at the same positions as the tokenizer's
        input (Qwen3-VL's DeepStack maps): `maps` `[B, T, N, D']` -> `[B, num_video_tokens, D']`. For LinVT,
        `combine(visual_tokens)` is `video_tokens`, computed the same way.

        Raises:
            ValueError: no aggregation weights (not asked for, or a tokenizer whose output is no combination of its
                input tokens, as `llama_vid`), or `maps` not on the input's `(B, T, N)` grid.
        """
        if self.aggregation_weights is None:
            raise ValueError(
                "combine needs the aggregation weights: call the tokenizer with output_aggregation_weights=True (a "
                "tokenizer whose tokens are no combination of its input tokens, as llama_vid, has none)"
            )
        b = self.aggregation_weights.shape[0]
        if maps.dim() < 3 or tuple(maps.shape[:3]) != (b, self.num_frames, self.tokens_per_frame):
            raise ValueError(
                f"maps has shape {tuple(maps.shape)} but the tokenizer's input grid is (batch, frames, tokens per "
                f"frame) = {(b, self.num_frames, self.tokens_per_frame)}"
            )
        flat = maps.reshape(b, self.num_frames * self.tokens_per_frame, *maps.shape[3:])
        index = self.selected_indices.clamp(min=0)
        index = index.view(*index.shape, *([1] * (flat.dim() - 2))).expand(-1, -1, *flat.shape[2:])
        return apply_weights(self.aggregation_weights, flat.gather(1, index))


def apply_weights(weights: torch.Tensor, raw: torch.Tensor) -> torch.Tensor:
    """`[B, Q, K]` convex weights x raw tokens `[B, K, D]` -> `[B, Q, D]` in the raw tokens' dtype."""
    if raw.dtype in (torch.float32, torch.float64):
        return weights.to(raw.dtype) @ raw
    # Low precision: accumulate in float32 so that each row's weights still sum to one.
    return (weights @ raw.float()).to(raw.dtype)
