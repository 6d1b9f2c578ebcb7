"""Configuration of the Linear Video Tokenizer (LinVT)."""

from __future__ import annotations

import dataclasses
from typing import Literal, get_args

from huggingface_hub.dataclasses import strict
from transformers import PreTrainedConfig


MultiscaleVariant = Literal["single", "multi_a", "multi_b", "multi_c"]
TemporalPriorClock = Literal["frames", "shots"]
TEMPORAL_PRIOR_CLOCKS = get_args(TemporalPriorClock)


@strict
class LinVTConfig(PreTrainedConfig):
    r"""
    Settings of the Linear Video Tokenizer of "LinVT: Empower Your Image-level Large Language Model to Understand
    Videos" (arXiv 2412.05185). The defaults are the paper's: L = 4 layers in SVR and in TTA, 8 heads, top-k = 2048,
    three scales with scale-specific query sets of 64, 32 and 16 queries (Multi-C), text condition on.

    It is the config of every video tokenizer (`linvt_hf.modeling.video_tokenizer`, a `PreTrainedModel` each), and
    the `video_tokenizer_config` sub-config of a LinVT model's config.

    Args:
        video_tokenizer_type (`str`, *optional*, defaults to `"linvt"`):
            The video tokenizer's name in the registry (`linvt_hf.modeling.video_tokenizer.VIDEO_TOKENIZERS`):
            `"linvt"` (SVR + TTA), or a baseline behind the same interface: `"avg"` (each frame averaged to one token,
            the paper's Tab. 2 baseline) or `"llama_vid"` (LLaMA-VID's context + content token per frame), or one
            added with `register_video_tokenizer`. Configs saved with the older key `tokenizer_type` still load.
        input_size (`int`, *optional*):
            D, the width of the visual tokens and of the video tokens (the LLM's hidden size). A model sets it from
            its LLM; a tokenizer built on its own takes it from here unless given `input_size`.
        hidden_size (`int`, *optional*, defaults to 896):
            Internal width d of LinVT's attention layers, independent of the backbone's hidden size D.
        num_attention_heads (`int`, *optional*, defaults to 8):
            Heads of every attention layer in SVR and TTA, and of the linear aggregation layer.
        num_layers (`int`, *optional*, defaults to 4):
            L, the number of layers of SVR and of each TTA decoder (paper Tab. 12 varies them together).
        num_svr_layers / num_tta_layers (`int`, *optional*):
            Override `num_layers` for SVR or TTA alone.
        mlp_ratio (`float`, *optional*, defaults to 4.0):
            Width of the MLPs relative to `hidden_size`.
        top_k_tokens (`int`, *optional*, defaults to 2048):
            k, the number of visual tokens of the whole video kept by SVR's top-k selection.
        min_tokens_per_frame (`int`, *optional*, defaults to 0):
            Tokens of its own that every frame keeps in SVR's top-k (its best-scoring ones); the rest of the k go to
            the best remaining tokens of the whole video. 0 is the paper's top-k over the whole video, wherever the
            tokens are in time; m > 0 leaves no stretch of the video (no shot) without tokens whatever the scores
            favour. A video of T frames reserves `min(m, k // T)` per frame, so the budget k always holds.
        num_queries (`list[int]`, *optional*, defaults to `[64, 32, 16]`):
            Scale-specific query counts; the tokenizer outputs `sum(num_queries)` video tokens.
        pooling_windows (`list[int]`, *optional*, defaults to `[1, 2, 4]`):
            MTP window (in selected tokens) of each scale; one per entry of `num_queries`.
        multiscale (`str`, *optional*, defaults to `"multi_c"`):
            `"single"` (one scale, one query set of `sum(num_queries)`), `"multi_a"` (MTP after TTA),
            `"multi_b"` (MTP before TTA, one query set over all scales), `"multi_c"` (one query set per scale).
        use_svr (`bool`, *optional*, defaults to `True`):
            False gives the paper's "TTA only" ablation (Tab. 2): no spatio-temporal refinement and no top-k, TTA
            aggregates every token (embedded with its positions) directly.
        use_tta (`bool`, *optional*, defaults to `True`):
            False gives the paper's "SVR only" ablation (Tab. 2): no queries; each MTP scale's pooled tokens are
            averaged over `num_queries[i]` equal consecutive segments (still a convex combination of raw tokens).
        text_condition (`bool`, *optional*, defaults to `True`):
            Whether TTA's queries cross-attend to the question's token embeddings.
        score_bias (`bool`, *optional*, defaults to `True`):
            Add log-sigmoid(significance score) of each visual token to the aggregation logits, the path by which the
            score head receives gradient through the non-differentiable top-k.
        use_clip_embedding (`bool`, *optional*, defaults to `True`):
            Add an embedding of each frame's shot (clip) index in SVR.
        mtp_respect_clips (`bool`, *optional*, defaults to `True`):
            Keep MTP windows inside a shot.
        temporal_prior (`float`, *optional*, defaults to 0.0):
            Initial strength of a learnable temporal prior on TTA's aggregation logits (not in the paper; 0 turns it
            off): query j of a set of Q starts out favouring the j-th of Q equal segments of the video, so the video
            tokens come out roughly in temporal order and the LLM's positions carry time from the first step. The
            logit bias is `-s * (Q * (t - (j + 0.5) / Q))^2 / 2` for a token at relative time t in [0, 1], with
            s >= 0 learned per query set. Outputs stay convex combinations of raw tokens.
        temporal_prior_clock (`str` or `list[str]`, *optional*, defaults to `"frames"`):
            How the temporal prior measures a token's time t. `"frames"`: its frame's position among the video's
            frames. `"shots"`: each shot (a run of equal `clip_ids`) gets an equal share of [0, 1] whatever its
            length, and frames are spread evenly inside their share; so a short shot gets as many queries as a long
            one, and each query set's tokens line up with the shots (with 4 queries and 2 shots, 2 queries per shot).
            Without `clip_ids` the video counts as one shot. A list gives one clock per query set (Multi-C: one per
            scale), e.g. `["frames", "frames", "shots"]`: the finest scales follow time, the coarsest the shots.
        temporal_window (`int`, *optional*):
            If set, SVR's temporal attention only looks this many frames back and forward (for very long videos).
        chunk_size (`int`, *optional*, defaults to 32768):
            At most this many tokens go through one attention or MLP call in SVR (whole frames or whole temporal
            sequences per call), which bounds the peak memory of long videos; results do not depend on it.
        attention_dropout (`float`, *optional*, defaults to 0.0):
            Dropout on attention probabilities inside SVR/TTA layers (never on the aggregation map).
        hidden_dropout (`float`, *optional*, defaults to 0.0):
            Dropout on the residual branches.
        layer_norm_eps (`float`, *optional*, defaults to 1e-6):
            Epsilon of the layer norms.
        initializer_range (`float`, *optional*, defaults to 0.02):
            Standard deviation of the truncated-normal initialiser of linear layers and queries.
        llama_vid_content_tokens (`int`, *optional*, defaults to 1):
            Content tokens per frame of the `"llama_vid"` baseline (LLaMA-VID's video setting uses 1).

    Example:

    ```python
    >>> from linvt_hf import LinVTConfig
    >>> from linvt_hf.modeling.video_tokenizer import build_video_tokenizer
    >>> config = LinVTConfig(input_size=3584)
    >>> tokenizer = build_video_tokenizer(config)  # a LinearVideoTokenizer
    >>> config.num_video_tokens
    112
    ```"""

    model_type = "linvt"

    video_tokenizer_type: str = "linvt"
    input_size: int | None = None
    hidden_size: int = 896
    num_attention_heads: int = 8
    num_layers: int = 4
    num_svr_layers: int | None = None
    num_tta_layers: int | None = None
    mlp_ratio: float = 4.0
    top_k_tokens: int = 2048
    min_tokens_per_frame: int = 0
    num_queries: list[int] | tuple[int, ...] = (64, 32, 16)
    pooling_windows: list[int] | tuple[int, ...] = (1, 2, 4)
    multiscale: MultiscaleVariant = "multi_c"
    use_svr: bool = True
    use_tta: bool = True
    text_condition: bool = True
    score_bias: bool = True
    use_clip_embedding: bool = True
    mtp_respect_clips: bool = True
    temporal_prior: float = 0.0
    temporal_prior_clock: TemporalPriorClock | list[TemporalPriorClock] = "frames"
    temporal_window: int | None = None
    chunk_size: int = 32768
    attention_dropout: float = 0.0
    hidden_dropout: float = 0.0
    layer_norm_eps: float = 1e-6
    initializer_range: float = 0.02
    llama_vid_content_tokens: int = 1

    def __post_init__(self, **kwargs):
        self.read_legacy_tokenizer_type(kwargs)
        # Validated here rather than in `validate_*` hooks so that bad settings raise a plain ValueError.
        self.num_queries = [int(q) for q in self.num_queries]
        self.pooling_windows = [int(w) for w in self.pooling_windows]
        if isinstance(self.temporal_prior_clock, tuple):
            self.temporal_prior_clock = list(self.temporal_prior_clock)
        if self.num_svr_layers is None:
            self.num_svr_layers = self.num_layers
        if self.num_tta_layers is None:
            self.num_tta_layers = self.num_layers
        self._check_settings()
        super().__post_init__(**kwargs)

    def read_legacy_tokenizer_type(self, kwargs: dict) -> None:
        """Take the key `tokenizer_type` of configs saved by linvt-hf 0.1 out of `kwargs` into `video_tokenizer_type`.

        Raises:
            ValueError: both keys are given, with different values.
        """
        legacy = kwargs.pop("tokenizer_type", None)
        if legacy is None:
            return
        if self.video_tokenizer_type not in ("linvt", legacy):
            raise ValueError(
                f"video_tokenizer_type={self.video_tokenizer_type!r} and its old name tokenizer_type={legacy!r} "
                "disagree; give video_tokenizer_type only"
            )
        self.video_tokenizer_type = legacy

    @classmethod
    def setting_names(cls) -> set[str]:
        """The names of LinVTConfig's own settings (none of PreTrainedConfig's fields)."""
        base = {f.name for f in dataclasses.fields(PreTrainedConfig)}
        return {f.name for f in dataclasses.fields(LinVTConfig) if f.name not in base}

    def _check_settings(self) -> None:
        from .video_tokenizer.registry import VIDEO_TOKENIZERS  # the registry imports this module

        if self.video_tokenizer_type not in VIDEO_TOKENIZERS:
            raise ValueError(
                f"video_tokenizer_type must be one of the registered video tokenizers {sorted(VIDEO_TOKENIZERS)}, got "
                f"{self.video_tokenizer_type!r} (register_video_tokenizer adds one)"
            )
        if self.input_size is not None and self.input_size < 1:
            raise ValueError(f"input_size must be >= 1 or None, got {self.input_size}")
        if self.min_tokens_per_frame < 0:
            raise ValueError(f"min_tokens_per_frame must be >= 0, got {self.min_tokens_per_frame}")
        if self.multiscale not in ("single", "multi_a", "multi_b", "multi_c"):
            raise ValueError(
                f"multiscale must be 'single', 'multi_a', 'multi_b' or 'multi_c', got {self.multiscale!r}"
            )
        positive = {
            "hidden_size": self.hidden_size,
            "num_attention_heads": self.num_attention_heads,
            "num_svr_layers": self.num_svr_layers,
            "num_tta_layers": self.num_tta_layers,
            "top_k_tokens": self.top_k_tokens,
            "chunk_size": self.chunk_size,
            "llama_vid_content_tokens": self.llama_vid_content_tokens,
        }
        for name, value in positive.items():
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"hidden_size ({self.hidden_size}) must be divisible by num_attention_heads "
                f"({self.num_attention_heads})"
            )
        if not self.temporal_prior >= 0:
            raise ValueError(f"temporal_prior must be >= 0, got {self.temporal_prior}")
        if self.temporal_window is not None and self.temporal_window < 0:
            raise ValueError(f"temporal_window must be >= 0 or None, got {self.temporal_window}")
        if not self.num_queries or min(self.num_queries) < 1:
            raise ValueError(f"num_queries must be a non-empty list of positive counts, got {self.num_queries}")
        if len(self.pooling_windows) != len(self.num_queries) or min(self.pooling_windows) < 1:
            raise ValueError(
                f"pooling_windows ({self.pooling_windows}) must give one positive window per scale of num_queries "
                f"({self.num_queries})"
            )
        clocks = self.temporal_prior_clocks
        if any(clock not in TEMPORAL_PRIOR_CLOCKS for clock in clocks) or len(clocks) != len(self.query_set_sizes):
            raise ValueError(
                f"temporal_prior_clock must be one of {TEMPORAL_PRIOR_CLOCKS} or a list of them with one per query set "
                f"({len(self.query_set_sizes)} for multiscale={self.multiscale!r}), got {self.temporal_prior_clock!r}"
            )
        if self.multiscale == "multi_a":
            first = self.num_queries[0]
            for queries in self.num_queries:
                if first % queries:
                    raise ValueError(
                        f"multiscale='multi_a' pools the {first} tokens of TTA down to each scale, so every entry of "
                        f"num_queries must divide num_queries[0]; got {self.num_queries}"
                    )
        for name in ("attention_dropout", "hidden_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")

    @property
    def num_video_tokens(self) -> int:
        """Output tokens per video of the LinVT tokenizer (`sum(num_queries)`, 112 with the paper's defaults).

        The baselines produce a number that depends on the frame count: see the `num_output_tokens(config,
        num_frames)` of the class that `video_tokenizer_class(config)` gives.
        """
        return sum(self.num_queries)

    @property
    def query_set_sizes(self) -> list[int]:
        """Queries in each of TTA's query sets: one set per scale for Multi-C, the first scale's for Multi-A (MTP
        pools its output), all of them in one set otherwise."""
        if self.multiscale == "multi_c":
            return list(self.num_queries)
        if self.multiscale == "multi_a":
            return [self.num_queries[0]]
        return [sum(self.num_queries)]

    @property
    def temporal_prior_clocks(self) -> list[str]:
        """The temporal prior's clock of each query set (`temporal_prior_clock`, repeated if one name is given)."""
        clock = self.temporal_prior_clock
        return [clock] * len(self.query_set_sizes) if isinstance(clock, str) else list(clock)



def linvt_settings(config: LinVTConfig) -> dict:
    """The tokenizer settings of a `LinVTConfig` (its own fields, none of PreTrainedConfig's or a subclass's)."""
    base = {f.name for f in dataclasses.fields(PreTrainedConfig)}
    own = [f.name for f in dataclasses.fields(LinVTConfig) if f.name not in base]
    return {name: getattr(config, name) for name in own}


__all__ = ["LinVTConfig", "linvt_settings"]
