"""Ask again without re-encoding: a video's LinVT context, computed once for every question about it.

SVR never reads the question, so everything up to TTA (the vision encoder and projector, SVR's significance scores,
top-k selection, MTP) is the same for every question about a video. `encode_video_context` computes that part once
(a `LinVTVideoContext`); `video_features_from_context` runs only what reads the question (TTA and the aggregation)
for a prompt, giving exactly what `get_video_features` gives from the frames. `forward` and `generate` take the
context as `video_context=`, so a second question costs TTA and the LLM only.

A context is bounded whatever the video's length for LinVT (SVR's `[T, N]` scores plus the K tokens top-k kept);
the "avg" baseline keeps its whole output (it never reads the question), "llama_vid" the frame tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from .video_tokenizer import VideoTokenizerContext
from .video_tokenizer.outputs import apply_weights

if TYPE_CHECKING:
    from .modeling_linvt import LinVTVideoFeatures


@dataclass
class LinVTVideoContext:
    r"""
    What a LinVT model computed from V videos before reading any question (`encode_video_context`).

    tokenizer_contexts (`list[VideoTokenizerContext]`): the video tokenizer's question-independent work, one per
        group of videos run together (videos whose frames have the same number of tokens).
    video_groups (`list[list[int]]`): the videos of each group, in their row order.
    frame_token_grids (`list[tuple[int, int]]`): `(rows, cols)` of each video's per-frame tokens.
    deepstack_maps (`list[torch.FloatTensor]`, *optional*): for a backbone with DeepStack layers (Qwen3-VL), per
        group the S later-layer maps at the tokens the tokenizer may weigh, `[B, K, D, S]`; None otherwise.
    """

    tokenizer_contexts: list[VideoTokenizerContext]
    video_groups: list[list[int]]
    frame_token_grids: list[tuple[int, int]]
    deepstack_maps: list[torch.Tensor] | None = None

    @property
    def num_videos(self) -> int:
        return sum(len(members) for members in self.video_groups)

    def select(self, videos: list[int]) -> LinVTVideoContext:
        """The context of `videos` (indices into this one), in that order; videos of one group stay together.

        Raises:
            IndexError: a video this context does not hold.
        """
        place = {video: (g, row) for g, members in enumerate(self.video_groups) for row, video in enumerate(members)}
        missing = [video for video in videos if video not in place]
        if missing:
            raise IndexError(f"videos {missing} are not in this context ({self.num_videos} videos)")
        rows_of: dict[int, list[tuple[int, int]]] = {}
        for new, video in enumerate(videos):
            group, row = place[video]
            rows_of.setdefault(group, []).append((new, row))
        contexts, groups, maps = [], [], []
        for group, pairs in rows_of.items():
            rows = [row for _, row in pairs]
            contexts.append(self.tokenizer_contexts[group].select(rows))
            groups.append([new for new, _ in pairs])
            if self.deepstack_maps is not None:
                maps.append(self.deepstack_maps[group][rows])
        return LinVTVideoContext(
            tokenizer_contexts=contexts,
            video_groups=groups,
            frame_token_grids=[self.frame_token_grids[video] for video in videos],
            deepstack_maps=maps if self.deepstack_maps is not None else None,
        )

    @classmethod
    def concat(cls, contexts: list[LinVTVideoContext]) -> LinVTVideoContext:
        """One context of the videos of `contexts`, in order (each keeps its groups).

        Raises:
            ValueError: no context, or contexts with and without DeepStack maps (of different models).
        """
        if not contexts:
            raise ValueError("concat needs at least one LinVTVideoContext")
        if len({c.deepstack_maps is None for c in contexts}) > 1:
            raise ValueError("cannot concatenate contexts with and without DeepStack maps (made by different models)")
        tokenizer_contexts, groups, grids, maps, offset = [], [], [], [], 0
        for context in contexts:
            tokenizer_contexts += context.tokenizer_contexts
            groups += [[video + offset for video in members] for members in context.video_groups]
            grids += context.frame_token_grids
            maps += context.deepstack_maps or []
            offset += context.num_videos
        return cls(tokenizer_contexts, groups, grids, maps if contexts[0].deepstack_maps is not None else None)

    def to(self, *args: Any, **kwargs: Any) -> LinVTVideoContext:
        """Every tensor moved (`torch.Tensor.to` arguments; a dtype applies to floating-point tensors only)."""
        return LinVTVideoContext(
            tokenizer_contexts=[context.to(*args, **kwargs) for context in self.tokenizer_contexts],
            video_groups=[list(members) for members in self.video_groups],
            frame_token_grids=list(self.frame_token_grids),
            deepstack_maps=(
                None if self.deepstack_maps is None else [m.to(*args, **kwargs) for m in self.deepstack_maps]
            ),
        )

    def nbytes(self) -> int:
        """Bytes held by the context's tensors (what a cache of contexts counts)."""
        maps = sum(m.numel() * m.element_size() for m in self.deepstack_maps or [])
        return sum(context.nbytes() for context in self.tokenizer_contexts) + maps


def weighed_positions(context: VideoTokenizerContext) -> torch.Tensor | None:
    """`[B, K]` flat positions `t * N + n` of the tokens the tokenizer's weights can fall on (-1 where masked), or
    None for a tokenizer whose output is no combination of its input tokens."""
    if context.svr is not None:
        return context.svr.selection.indices
    if context.output is not None:
        return context.output.selected_indices
    return None


def tokens_dtype(context: VideoTokenizerContext) -> torch.dtype:
    """The dtype of the frame tokens the context was made from (the question is cast to it, as in the forward)."""
    for tensor in (context.selected_tokens, context.visual_tokens):
        if tensor is not None:
            return tensor.dtype
    return context.output.video_tokens.dtype


class LinVTVideoContextMixin:
    """`encode_video_context` and `video_features_from_context` for `LinVTModel` (which provides `video_frame_mask`,
    `vision_needs_grad`, `frame_features`, `frame_token_grids`, `question_embeddings` and `video_tokenizer`)."""

    def encode_video_context(
        self,
        pixel_values_videos: torch.Tensor,
        video_frame_mask: torch.Tensor | None = None,
        video_grid_thw: torch.LongTensor | None = None,
        video_clip_ids: torch.LongTensor | None = None,
        **kwargs: Any,
    ) -> LinVTVideoContext:
        r"""
        The question-independent part of `get_video_features` for V videos: frames -> the image-LLM's vision encoder
        and projector -> the video tokenizer up to TTA (LinVT: SVR's scores, top-k selection, MTP).

        Args:
            pixel_values_videos, video_frame_mask, video_grid_thw, video_clip_ids: the processor's video outputs (see
                `get_video_features`).
            kwargs: other processor outputs (ignored; the question is not read here).
        """
        if not torch.is_floating_point(pixel_values_videos):
            raise TypeError(
                f"pixel_values_videos must be floating point (the processor's normalised pixel values), got "
                f"{pixel_values_videos.dtype}: pass the videos through the LinVT processor rather than raw frames"
            )
        frame_mask = self.video_frame_mask(pixel_values_videos, video_grid_thw, video_frame_mask)
        frames_per_video = frame_mask.sum(1).tolist()
        with torch.set_grad_enabled(self.vision_needs_grad()):
            per_video = self.frame_features(pixel_values_videos, video_grid_thw, frames_per_video)
        groups: dict[int, list[int]] = {}
        for video, tokens in enumerate(per_video):
            groups.setdefault(tokens.shape[1], []).append(video)
        has_deepstack = per_video[0].dim() == 4  # [T_v, N, D, 1 + S]: the tokens and S DeepStack maps
        contexts, members_list, deepstack_maps = [], [], []
        for members in groups.values():
            mask = frame_mask[members].to(per_video[members[0]].device)
            frames = per_video[members[0]].new_zeros(len(members), mask.shape[1], *per_video[members[0]].shape[1:])
            frames[mask] = torch.cat([per_video[v] for v in members])
            maps = None
            if has_deepstack:
                frames, maps = frames[..., 0].contiguous(), frames[..., 1:]
            clip_ids = None if video_clip_ids is None else video_clip_ids[members][:, : mask.shape[1]].to(mask.device)
            context = self.video_tokenizer.encode_context(frames, frame_mask=mask, clip_ids=clip_ids)
            if maps is not None:
                positions = weighed_positions(context)
                if positions is None:
                    raise ValueError(
                        f"{type(self.video_tokenizer).__name__} gives no aggregation weights, which the DeepStack "
                        "maps need"
                    )
                flat = maps.reshape(maps.shape[0], -1, *maps.shape[3:])
                index = positions.clamp(min=0)[:, :, None, None].expand(-1, -1, *flat.shape[2:])
                deepstack_maps.append(flat.gather(1, index))
            contexts.append(context)
            members_list.append(members)
        return LinVTVideoContext(
            tokenizer_contexts=contexts,
            video_groups=members_list,
            frame_token_grids=self.frame_token_grids(pixel_values_videos, video_grid_thw, len(per_video)),
            deepstack_maps=deepstack_maps if has_deepstack else None,
        )

    def video_features_from_context(
        self,
        video_context: LinVTVideoContext,
        input_ids: torch.LongTensor | None = None,
        question_mask: torch.Tensor | None = None,
        video_sample_index: torch.LongTensor | None = None,
        output_aggregation_weights: bool = False,
        **kwargs: Any,
    ) -> LinVTVideoFeatures:
        r"""
        `get_video_features` from a context (`encode_video_context`): only TTA and the aggregation run, conditioned on
        each video's question; the result is the same as from the frames.

        Args:
            video_context (`LinVTVideoContext`): the videos, encoded once.
            input_ids (`torch.LongTensor` of shape `(batch_size, seq_len)`), question_mask (`torch.BoolTensor` of the
                same shape), video_sample_index (`torch.LongTensor` of shape `(num_videos,)`): the prompts, their
                question tokens and the prompt each video of the context belongs to (as the processor gives them).
            output_aggregation_weights (`bool`): also return each video token's weights over the kept frame tokens.
            kwargs: other processor outputs (ignored).

        Raises:
            TypeError: `video_context` is not a `LinVTVideoContext`.
            ValueError: `video_sample_index` names another number of videos than the context holds.
        """
        from .modeling_linvt import LinVTVideoFeatures

        if not isinstance(video_context, LinVTVideoContext):
            raise TypeError(
                f"video_context must be a LinVTVideoContext (encode_video_context's output), got "
                f"{type(video_context).__name__}"
            )
        if video_sample_index is not None and len(video_sample_index) != video_context.num_videos:
            raise ValueError(
                f"video_sample_index names {len(video_sample_index)} videos but video_context holds "
                f"{video_context.num_videos}: the prompts' videos must be the context's, in order"
            )
        question_embeds, question_key_mask = self.question_embeddings(input_ids, question_mask, video_sample_index)
        has_deepstack = video_context.deepstack_maps is not None
        outputs, rows = [], [None] * video_context.num_videos
        for g, (context, members) in enumerate(zip(video_context.tokenizer_contexts, video_context.video_groups)):
            out = self.video_tokenizer.tokenize_from_context(
                context,
                text_embeds=None if question_embeds is None else question_embeds[members].to(tokens_dtype(context)),
                text_mask=None if question_key_mask is None else question_key_mask[members],
                output_aggregation_weights=output_aggregation_weights or has_deepstack,
            )
            deepstack = None
            if has_deepstack:
                maps = video_context.deepstack_maps[g]
                deepstack = [apply_weights(out.aggregation_weights, maps[..., s]) for s in range(maps.shape[-1])]
                if not output_aggregation_weights:
                    out.aggregation_weights = None
            for row, video in enumerate(members):
                deep_rows = None if deepstack is None else [level[row] for level in deepstack]
                rows[video] = (out.video_tokens[row], out.video_tokens_mask[row], deep_rows)
            outputs.append(out)
        width = max(tokens.shape[0] for tokens, _, _ in rows)
        video_tokens = rows[0][0].new_zeros(len(rows), width, rows[0][0].shape[-1])
        tokens_mask = torch.zeros(len(rows), width, dtype=torch.bool, device=video_tokens.device)
        deepstack_tokens = [torch.zeros_like(video_tokens) for _ in rows[0][2]] if has_deepstack else None
        for video, (tokens, mask, deep_rows) in enumerate(rows):
            video_tokens[video, : tokens.shape[0]] = tokens
            tokens_mask[video, : tokens.shape[0]] = mask
            for level, deep in zip(deepstack_tokens or [], deep_rows or []):
                level[video, : deep.shape[0]] = deep
        return LinVTVideoFeatures(
            video_tokens=video_tokens,
            video_tokens_mask=tokens_mask,
            tokenizer_outputs=outputs,
            video_groups=[list(members) for members in video_context.video_groups],
            frame_token_grids=list(video_context.frame_token_grids),
            deepstack_tokens=deepstack_tokens,
        )


__all__ = ["LinVTVideoContext", "LinVTVideoContextMixin"]
