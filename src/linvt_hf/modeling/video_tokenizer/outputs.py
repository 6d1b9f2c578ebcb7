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
