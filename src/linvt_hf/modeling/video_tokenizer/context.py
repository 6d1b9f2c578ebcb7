"""`VideoTokenizerContext`: what a video tokenizer computes from a video before it reads the question.

SVR never reads the question, so for LinVT everything up to TTA (significance scoring, top-k selection, MTP) is the
same for every question about a video: `VideoTokenizer.encode_context` computes it once and
`VideoTokenizer.tokenize_from_context` runs only what the question conditions (TTA and the aggregation), giving
exactly the output of the tokenizer's forward. A tokenizer that never reads the question ("avg") keeps its whole
output; one that reads it everywhere ("llama_vid") keeps the frame tokens.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from .outputs import LinearVideoTokenizerOutput
from .svr import SVROutput

if TYPE_CHECKING:
    from .tta import TTAKeys


@dataclass
class VideoTokenizerContext:
    r"""
    The question-independent part of a video tokenizer's work on a batch of B videos (T frames of N tokens each).

    frame_mask (`torch.BoolTensor` of shape `(B, T)`): True for real frames.
    clip_ids (`torch.LongTensor` of shape `(B, T)`, *optional*): the shot of each frame.
    num_frames (`int`), tokens_per_frame (`int`): T and N.
    svr (`SVROutput`, *optional*): LinVT: SVR's scores, top-k selection, the kept tokens' refined features and
        MTP's scales (what TTA reads).
    selected_tokens (`torch.FloatTensor` of shape `(B, K, D)`, *optional*): LinVT: the RAW tokens kept by top-k
        (what TTA's weights average).
    tta_keys (`TTAKeys`, *optional*): LinVT: TTA's keys (MTP's windows) and their projections in each decoder layer
        and in the aggregation layer, which read no question. With `svr` and `selected_tokens`, the context grows
        with K (top-k), not with the video's length.
    output (`LinearVideoTokenizerOutput`, *optional*): a tokenizer that never reads the question ("avg"): its output.
    visual_tokens (`torch.FloatTensor` of shape `(B, T, N, D)`, *optional*): a tokenizer that reads the question
        from the first step ("llama_vid"): the frame tokens themselves.
    """

    frame_mask: torch.BoolTensor
    clip_ids: torch.LongTensor | None
    num_frames: int
    tokens_per_frame: int
    svr: SVROutput | None = None
    selected_tokens: torch.Tensor | None = None
    tta_keys: TTAKeys | None = None
    output: LinearVideoTokenizerOutput | None = None
    visual_tokens: torch.Tensor | None = None

    @property
    def batch_size(self) -> int:
        return self.frame_mask.shape[0]

    def select(self, rows: list[int]) -> VideoTokenizerContext:
        """The context of videos `rows` (their rows of every tensor, in that order)."""
        index = torch.tensor(rows, dtype=torch.long, device=self.frame_mask.device)
        return _map_tensors(self, lambda tensor: tensor.index_select(0, index.to(tensor.device)))

    def to(self, *args: Any, **kwargs: Any) -> VideoTokenizerContext:
        """Every tensor moved (`torch.Tensor.to` arguments; a dtype applies to floating-point tensors only)."""
        def move(tensor: torch.Tensor) -> torch.Tensor:
            return tensor.to(*args, **kwargs) if tensor.is_floating_point() else _move(tensor, args, kwargs)

        return _map_tensors(self, move)

    def nbytes(self) -> int:
        """Bytes held by the context's tensors."""
        total = 0

        def count(tensor: torch.Tensor) -> torch.Tensor:
            nonlocal total
            total += tensor.numel() * tensor.element_size()
            return tensor

        _map_tensors(self, count)
        return total


def _move(tensor: torch.Tensor, args: tuple, kwargs: dict[str, Any]) -> torch.Tensor:
    """`tensor.to(...)` without a dtype change (masks and indices keep theirs)."""
    device = kwargs.get("device", next((a for a in args if isinstance(a, (str, torch.device))), None))
    return tensor if device is None else tensor.to(device)


def _map_tensors(value: Any, fn: Any) -> Any:
    """`value` with `fn` applied to every tensor inside it (dataclasses, ModelOutputs, lists and tuples rebuilt)."""
    if isinstance(value, torch.Tensor):
        return fn(value)
    if isinstance(value, LinearVideoTokenizerOutput):
        return type(value)(**{key: _map_tensors(item, fn) for key, item in value.items()})
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(
            value, **{f.name: _map_tensors(getattr(value, f.name), fn) for f in dataclasses.fields(value) if f.init}
        )
    if isinstance(value, (list, tuple)):
        return type(value)(_map_tensors(item, fn) for item in value)
    return value


__all__ = ["VideoTokenizerContext"]
