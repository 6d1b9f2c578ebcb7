"""Baseline video tokenizers behind LinVT's interface, to re-run the paper's comparisons.

- `AverageVideoTokenizer` ("avg"): each frame averaged to one token (paper Tab. 2, "Avg"). Linear, no parameters.
- `LlamaVidVideoTokenizer` ("llama_vid"): LLaMA-VID's two tokens per frame (Li et al., "An Image is Worth 2
  Tokens"): a text-conditioned context token, `ctx_proj(mean_m softmax(q_m X^T / sqrt(D)) X)`, and a pooled content
  token, `content_proj(avg_pool(X))`. Its projections make it non-linear, which is the point of the comparison.

Both give a shorter video fewer tokens: `video_tokens_mask` marks the real ones, `num_output_tokens` counts them.
"""

from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F
from torch import nn

from ..configuration_linvt import LinVTConfig
from .base import VideoTokenizer
from .context import VideoTokenizerContext
from .layers import IdentityInitLinear
from .outputs import LinearVideoTokenizerOutput

# from_pretrained arguments that locate a saved config.
FILE_KWARGS = ("cache_dir", "force_download", "local_files_only", "proxies", "token", "revision", "subfolder")


def every_token_output(
    tokens: torch.Tensor, mask: torch.Tensor, weights: torch.Tensor | None, t: int, n: int
) -> LinearVideoTokenizerOutput:
    """The output of a tokenizer that reads every token of every frame: `tokens` `[B, Q, D]`, `mask` `[B, Q]`,
    `weights` `[B, Q, T*N]` or None."""
    b = tokens.shape[0]
    indices = torch.arange(t * n, device=tokens.device).expand(b, -1)
    return LinearVideoTokenizerOutput(
        video_tokens=tokens,
        video_tokens_mask=mask,
        selected_indices=indices,
        selected_mask=torch.ones_like(indices, dtype=torch.bool),
        aggregation_weights=weights,
        num_frames=t,
        tokens_per_frame=n,
    )


class AverageVideoTokenizer(VideoTokenizer):
    """`[B, T, N, D]` -> one token per frame `[B, T, D]` (zero in padding frames), and the linear map `[B, T, T*N]` on
    request. No parameters.

    Args:
        config (`LinVTConfig`): the tokenizer's settings (only `input_size` is read).
        input_size (`int`, *optional*): D; defaults to `config.input_size`.
    """

    def __init__(self, config: LinVTConfig, input_size: int | None = None) -> None:
        super().__init__(config, input_size)
        self.post_init()

    @classmethod
    def num_output_tokens(cls, config: LinVTConfig, num_frames: int) -> int:
        """One token per frame."""
        return num_frames

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *model_args, config=None, **kwargs):
        """The saved tokenizer: all there is to load is its config (it has no weights, and `save_pretrained` writes
        none); other arguments (`dtype`, `device_map`, ...) work as for any `PreTrainedModel.from_pretrained`."""
        if config is None:
            file_kwargs = {key: kwargs[key] for key in FILE_KWARGS if key in kwargs}
            config = LinVTConfig.from_pretrained(pretrained_model_name_or_path, **file_kwargs)
        return super().from_pretrained(None, *model_args, config=config, state_dict={}, **kwargs)

    # With no parameter to read them from (PreTrainedModel's way), these are the defaults; tokens keep their own.
    @property
    def dtype(self) -> torch.dtype:
        return torch.get_default_dtype()

    @property
    def device(self) -> torch.device:
        return torch.device("cpu")

    def tokenize(self, visual_tokens, frame_mask, text_embeds, text_mask, clip_ids, output_aggregation_weights):
        """The question and the shots are not used."""
        b, t, n, _ = visual_tokens.shape
        # where, not a product with the mask: whatever padding frames hold (even NaN) must not reach the output.
        tokens = torch.where(frame_mask[:, :, None], visual_tokens.mean(dim=2), 0.0)
        weights = self.frame_weights(frame_mask, n) if output_aggregation_weights else None
        return every_token_output(tokens, frame_mask, weights, t, n)

    @staticmethod
    def frame_weights(frame_mask: torch.Tensor, n: int) -> torch.Tensor:
        """The linear map `[B, T, T*N]`: token t averages frame t's N tokens (zero rows for padding frames)."""
        b, t = frame_mask.shape
        eye = torch.eye(t, dtype=torch.float32, device=frame_mask.device)
        weights = (eye[:, :, None].expand(t, t, n).reshape(t, t * n) / n).expand(b, -1, -1)
        return weights * frame_mask[:, :, None].float()

    def prepare_context(self, visual_tokens, frame_mask, clip_ids) -> VideoTokenizerContext:
        """The whole output: it never reads the question."""
        return VideoTokenizerContext(
            frame_mask=frame_mask,
            clip_ids=clip_ids,
            num_frames=visual_tokens.shape[1],
            tokens_per_frame=visual_tokens.shape[2],
            output=self.tokenize(visual_tokens, frame_mask, None, None, clip_ids, False),
        )

    def finish_context(self, context, text_embeds, text_mask, output_aggregation_weights) -> LinearVideoTokenizerOutput:
        """The stored output (with its weights when asked for)."""
        if context.output is None:
            raise ValueError("this context was not made by AverageVideoTokenizer.encode_context (it holds no output)")
        weights = None
        if output_aggregation_weights:
            weights = self.frame_weights(context.frame_mask, context.tokens_per_frame)
        return dataclasses.replace(context.output, aggregation_weights=weights)


class LlamaVidVideoTokenizer(VideoTokenizer):
    """LLaMA-VID's context and content tokens, `[B, T, N, D]` -> `[B, T * (1 + c), D]`, c content tokens per frame
    (`llama_vid_content_tokens`).

    LLaMA-VID forms its text queries with a BERT/Q-Former text decoder; here they are the question's LLM embeddings
    through one learned projection, plus a learned query used with or without a question. The projections start at
    the identity, so at initialisation the tokens are plain (attention-weighted) averages of the frame's tokens. No
    aggregation weights: its output is not a combination of input tokens.

    Args:
        config (`LinVTConfig`): the tokenizer's settings.
        input_size (`int`, *optional*): D; defaults to `config.input_size`.
    """

    def __init__(self, config: LinVTConfig, input_size: int | None = None) -> None:
        super().__init__(config, input_size)
        d = self.input_size
        self.content_tokens = self.config.llama_vid_content_tokens
        self.text_condition = self.config.text_condition
        self.query_proj = IdentityInitLinear(d, d)
        self.null_query = nn.Parameter(torch.zeros(1, 1, d))
        self.context_proj = IdentityInitLinear(d, d)
        self.content_proj = IdentityInitLinear(d, d)
        self.post_init()

    def init_own_parameters(self, std: float) -> None:
        nn.init.zeros_(self.null_query)

    @classmethod
    def num_output_tokens(cls, config: LinVTConfig, num_frames: int) -> int:
        """One context token and `llama_vid_content_tokens` content tokens per frame."""
        return num_frames * (1 + config.llama_vid_content_tokens)

    def tokenize(self, visual_tokens, frame_mask, text_embeds, text_mask, clip_ids, output_aggregation_weights):
        """The shots are not used; `output_aggregation_weights` gives None (the output is not linear)."""
        b, t, n, d = visual_tokens.shape
        queries, query_mask = self.queries(visual_tokens, text_embeds, text_mask)
        context = self.context_projection(queries, query_mask, visual_tokens)
        content = F.adaptive_avg_pool1d(visual_tokens.reshape(b * t, n, d).transpose(1, 2), self.content_tokens)
        content = self.content_proj(content.transpose(1, 2).reshape(b, t, self.content_tokens, d))
        tokens = torch.cat([context[:, :, None], content], dim=2).reshape(b, t * (1 + self.content_tokens), d)
        mask = frame_mask[:, :, None].expand(b, t, 1 + self.content_tokens).reshape(b, -1)
        return every_token_output(tokens, mask, None, t, n)

    def queries(
        self, visual_tokens: torch.Tensor, text_embeds: torch.Tensor | None, text_mask: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The context queries `[B, M + 1, D]` (the projected question and the learned query) and their mask."""
        b, d = visual_tokens.shape[0], visual_tokens.shape[3]
        null = self.null_query.to(visual_tokens.dtype).expand(b, 1, d)
        if text_embeds is None or not self.text_condition:
            return null, torch.ones(b, 1, dtype=torch.bool, device=visual_tokens.device)
        queries = torch.cat([self.query_proj(text_embeds.to(visual_tokens.dtype)), null], dim=1)
        if text_mask is None:
            text_mask = torch.ones(text_embeds.shape[:2], dtype=torch.bool, device=visual_tokens.device)
        query_mask = torch.cat([text_mask.bool(), torch.ones_like(text_mask[:, :1], dtype=torch.bool)], dim=1)
        return queries, query_mask

    def context_projection(
        self, queries: torch.Tensor, query_mask: torch.Tensor, visual_tokens: torch.Tensor
    ) -> torch.Tensor:
        """One context token per frame `[B, T, D]`: each query's attention over the frame's tokens, averaged over
        the queries, applied to the tokens, projected."""
        d = visual_tokens.shape[3]
        logits = torch.einsum("bmd,btnd->btmn", queries.float(), visual_tokens.float()) / math.sqrt(d)  # [B, T, M, N]
        weights = query_mask.float()[:, None, :, None]
        # mean_m(softmax_m X) = (mean_m softmax_m) X: average the maps first, then one weighted sum per frame.
        attention = (logits.softmax(dim=-1) * weights).sum(2) / weights.sum(2)  # [B, T, N]
        context = torch.einsum("btn,btnd->btd", attention, visual_tokens.float())
        return self.context_proj(context.to(visual_tokens.dtype))
