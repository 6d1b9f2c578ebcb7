"""Baseline video tokenizers behind LinVT's interface, to re-run the paper's comparisons.

- `AverageFrameTokenizer` ("avg"): each frame averaged to one token (paper Tab. 2, "Avg"). Linear, no parameters.
- `LlamaVidTokenizer` ("llama_vid"): LLaMA-VID's two tokens per frame (Li et al., "An Image is Worth 2 Tokens"): a
  text-conditioned context token, `ctx_proj(mean_m softmax(q_m X^T / sqrt(D)) X)`, and a pooled content token,
  `content_proj(avg_pool(X))`. Its projections make it non-linear, which is the point of the comparison.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from linvt_hf import LinVTConfig


class IdentityInitLinear(nn.Linear):
    """A square linear layer initialised to the identity (see `LinearVideoTokenizer.init_module`)."""


class AverageFrameTokenizer(nn.Module):
    """`[B, T, N, D]` -> one token per frame `[B, T, D]`, and the linear map `[B, T, T*N]` on request."""

    def forward(self, visual_tokens: torch.Tensor, frame_mask: torch.Tensor, output_weights: bool):
        b, t, n, _ = visual_tokens.shape
        tokens = visual_tokens.mean(dim=2) * frame_mask[:, :, None].to(visual_tokens.dtype)
        weights = None
        if output_weights:
            eye = torch.eye(t, dtype=torch.float32, device=visual_tokens.device)
            weights = (eye[:, :, None].expand(t, t, n).reshape(t, t * n) / n).expand(b, -1, -1)
            weights = weights * frame_mask[:, :, None].float()
        return tokens, frame_mask, weights


class LlamaVidTokenizer(nn.Module):
    """LLaMA-VID's context and content tokens, `[B, T, N, D]` -> `[B, T * (1 + c), D]`, c content tokens per frame.

    LLaMA-VID forms its text queries with a BERT/Q-Former text decoder; here they are the question's LLM embeddings
    through one learned projection, plus a learned query used with or without a question. The projections start at
    the identity, so at initialisation the tokens are plain (attention-weighted) averages of the frame's tokens.
    """

    def __init__(self, config: LinVTConfig, input_size: int) -> None:
        super().__init__()
        self.content_tokens = config.llama_vid_content_tokens
        self.text_condition = config.text_condition
        self.query_proj = IdentityInitLinear(input_size, input_size)
        self.null_query = nn.Parameter(torch.zeros(1, 1, input_size))
        self.context_proj = IdentityInitLinear(input_size, input_size)
        self.content_proj = IdentityInitLinear(input_size, input_size)

    def forward(
        self,
        visual_tokens: torch.Tensor,
        frame_mask: torch.Tensor,
        text_embeds: torch.Tensor | None,
        text_mask: torch.Tensor | None,
    ):
        b, t, n, d = visual_tokens.shape
        null = self.null_query.to(visual_tokens.dtype).expand(b, 1, d)
        if text_embeds is not None and self.text_condition:
            queries = torch.cat([self.query_proj(text_embeds.to(visual_tokens.dtype)), null], dim=1)
            if text_mask is None:
                text_mask = torch.ones(text_embeds.shape[:2], dtype=torch.bool, device=visual_tokens.device)
            query_mask = torch.cat([text_mask.bool(), torch.ones_like(text_mask[:, :1], dtype=torch.bool)], dim=1)
        else:
            queries = null
            query_mask = torch.ones(b, 1, dtype=torch.bool, device=visual_tokens.device)
        # Context attention per frame: [B, M, D] x [B, T, N, D] -> [B, T, M, N]
        logits = torch.einsum("bmd,btnd->btmn", queries.float(), visual_tokens.float()) / math.sqrt(d)
        weights = query_mask.float()[:, None, :, None]
        # mean_m(softmax_m X) = (mean_m softmax_m) X: average the maps first, then one weighted sum per frame.
        attention = (logits.softmax(dim=-1) * weights).sum(2) / weights.sum(2)  # [B, T, N]
        context = torch.einsum("btn,btnd->btd", attention, visual_tokens.float())
        context = self.context_proj(context.to(visual_tokens.dtype))  # [B, T, D]
        content = F.adaptive_avg_pool1d(visual_tokens.reshape(b * t, n, d).transpose(1, 2), self.content_tokens)
        content = self.content_proj(content.transpose(1, 2).reshape(b, t, self.content_tokens, d))
        tokens = torch.cat([context[:, :, None], content], dim=2).reshape(b, t * (1 + self.content_tokens), d)
        mask = frame_mask[:, :, None].expand(b, t, 1 + self.content_tokens).reshape(b, -1)
        return tokens, mask, None
