"""What every LinVT-wrapped image-LLM shares: the base model class, the video path and generation.

A family file (qwen2_vl.py, internvl.py, llava_onevision.py) subclasses `LinVTForConditionalGeneration` and says
three things: which transformers class the image-LLM is (`image_llm_class`), how its vision encoder and projector turn
one video's frames into per-frame tokens (`frame_tokens`), and how the LinVT video tokens enter its forward
(`image_llm_forward_with_video`). With no video in the input, `forward` is a plain call of the image-LLM, so text and
image behaviour is the image-LLM's own, bit for bit.
"""

from __future__ import annotations

import inspect
import os
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn
from transformers import GenerationMixin, PreTrainedModel
from transformers.modeling_outputs import CausalLMOutputWithPast

from .configuration_linvt import LinVTConfig, LinVTImageLLMConfig, linvt_settings
from .tokenizer import LinearVideoTokenizer, LinearVideoTokenizerOutput

# Processor outputs that describe videos; they only matter on a forward pass that carries the frames.
VIDEO_INPUT_NAMES = (
    "pixel_values_videos",
    "video_grid_thw",
    "video_num_frames",
    "video_frame_mask",
    "video_clip_ids",
    "video_timestamps",
    "video_frame_indices",
    "video_temporal_patch_frame_indices",
    "question_mask",
)


@dataclass
class LinVTCausalLMOutputWithPast(CausalLMOutputWithPast):
    r"""
    The image-LLM's causal-LM output, plus, when the input held videos and `output_video_tokenizer=True` was passed:

    video_tokenizer_outputs (`list[LinearVideoTokenizerOutput]`, *optional*):
        What LinVT did for each group of videos run together (videos are grouped by their tokens per frame), in the
        order of the videos in the batch: significance scores, selected tokens, aggregation weights.
    video_groups (`list[list[int]]`, *optional*):
        For each entry of `video_tokenizer_outputs`, the indices of its videos in the batch's video order.
    """

    video_tokenizer_outputs: list[LinearVideoTokenizerOutput] | None = None
    video_groups: list[list[int]] | None = None


class LinVTPreTrainedModel(PreTrainedModel):
    config_class = LinVTImageLLMConfig
    base_model_prefix = ""
    supports_gradient_checkpointing = True
    _supports_sdpa = True
    _supports_flash_attn = True
    _supports_flex_attn = True
    _supports_attention_backend = True
    _can_compile_fullgraph = False
    input_modalities = ("image", "video", "text")

    def _init_weights(self, module: nn.Module) -> None:
        # Only LinVT's own modules reach here: the image-LLM is a PreTrainedModel and inits itself.
        LinearVideoTokenizer.init_module(module, self.config.initializer_range)


class LinVTForConditionalGeneration(LinVTPreTrainedModel, GenerationMixin):
    r"""
    An image-LLM with the Linear Video Tokenizer between its projector and its LLM.

    Attributes:
        image_llm (`PreTrainedModel`): the wrapped image-LLM, unchanged (e.g. a `Qwen2VLForConditionalGeneration`).
        linvt (`LinearVideoTokenizer`): turns each video's per-frame tokens into `config.num_video_tokens` tokens.
    """

    image_llm_class: ClassVar[type[PreTrainedModel]]

    def __init__(self, config: LinVTImageLLMConfig, image_llm: PreTrainedModel | None = None) -> None:
        super().__init__(config)
        if image_llm is None:
            image_llm = self.image_llm_class(config.image_llm_config)
        self.image_llm = image_llm
        self.linvt = LinearVideoTokenizer(config, input_size=config.llm_hidden_size)
        if config.video_token_id is None:
            raise ValueError(
                f"{type(self).__name__} needs config.video_token_id: the id of the video placeholder token in the "
                "tokenizer (LinVTProcessor.video_token_id gives it)"
            )
        self._no_split_modules = getattr(image_llm, "_no_split_modules", None)
        self.post_init()

    @classmethod
    def from_backbone(
        cls,
        image_llm: str | os.PathLike | PreTrainedModel,
        linvt_config: LinVTConfig | None = None,
        video_token_id: int | None = None,
        **from_pretrained_kwargs: Any,
    ) -> LinVTForConditionalGeneration:
        r"""
        Build a LinVT model from an image-LLM: its weights are loaded with its own transformers class and kept as they
        are; LinVT is freshly initialised (the paper's starting point for training stage 1).

        Args:
            image_llm (`str`, `os.PathLike` or `PreTrainedModel`): a Hub id or folder of the image-LLM checkpoint
                (e.g. "Qwen/Qwen2-VL-7B-Instruct"), or the model already loaded.
            linvt_config (`LinVTConfig`, *optional*): LinVT's settings; the paper's defaults if None.
            video_token_id (`int`, *optional*): the video placeholder's token id when the image-LLM's config has none.
            **from_pretrained_kwargs: passed to the image-LLM's `from_pretrained` (`dtype`, `device_map`,
                `attn_implementation`, `revision`, ...).
        """
        name = None
        if isinstance(image_llm, (str, os.PathLike)):
            name = str(image_llm)
            image_llm = cls.image_llm_class.from_pretrained(name, **from_pretrained_kwargs)
        elif from_pretrained_kwargs:
            raise ValueError(
                f"from_pretrained arguments {sorted(from_pretrained_kwargs)} only apply when the image-LLM is given by "
                "name or path"
            )
        if not isinstance(image_llm, cls.image_llm_class):
            raise TypeError(
                f"{cls.__name__} wraps a {cls.image_llm_class.__name__}, got a {type(image_llm).__name__}"
            )
        settings = linvt_settings(linvt_config) if linvt_config is not None else {}
        if video_token_id is not None:
            settings["video_token_id"] = video_token_id
        elif settings.get("video_token_id") is None:
            settings["video_token_id"] = cls.default_video_token_id(image_llm, name)
        config = cls.config_class(
            image_llm_config=image_llm.config,
            image_llm_name_or_path=name or getattr(image_llm, "name_or_path", None) or None,
            **settings,
        )
        model = cls(config, image_llm=image_llm)
        embeddings = image_llm.get_input_embeddings().weight
        model.linvt.to(device=embeddings.device, dtype=embeddings.dtype)
        return model.train(image_llm.training)

    @classmethod
    def default_video_token_id(cls, image_llm: PreTrainedModel, name_or_path: str | None) -> int | None:
        """The video placeholder id when none is given: the image-LLM config's own (families may look further)."""
        return getattr(image_llm.config, "video_token_id", None)

    # ------------------------------------------------------------------ delegation to the image-LLM
    def get_input_embeddings(self) -> nn.Module:
        return self.image_llm.get_input_embeddings()

    def set_input_embeddings(self, value: nn.Module) -> None:
        self.image_llm.set_input_embeddings(value)

    def get_output_embeddings(self) -> nn.Module | None:
        return self.image_llm.get_output_embeddings()

    def set_output_embeddings(self, value: nn.Module) -> None:
        self.image_llm.set_output_embeddings(value)

    def get_decoder(self):
        return self.image_llm.get_decoder()

    @property
    def vision_modules(self) -> list[nn.Module]:
        """The image-LLM's vision encoder and projector (what stage 2 keeps frozen). Families override if needed."""
        inner = getattr(self.image_llm, "model", self.image_llm)
        names = ("visual", "vision_tower", "multi_modal_projector", "image_newline")
        return [getattr(inner, name) for name in names if isinstance(getattr(inner, name, None), nn.Module)]

    # ------------------------------------------------------------------ the video path
    def frame_tokens(self, video_inputs: dict[str, Any]) -> list[torch.Tensor]:
        """Per-frame tokens of each video, `[T_v, N_v, D]` each, from the image-LLM's own vision path."""
        raise NotImplementedError

    def frame_token_grids(self, video_inputs: dict[str, Any]) -> list[tuple[int, int]]:
        """`(rows, cols)` of each video's per-frame tokens over the frame, row-major (token n sits at row n // cols),
        for drawing what LinVT selected over the frames."""
        raise NotImplementedError

    def image_llm_forward_with_video(
        self, input_ids: torch.LongTensor, video_embeds: torch.Tensor, image_llm_kwargs: dict[str, Any]
    ) -> CausalLMOutputWithPast:
        """Run the image-LLM with `video_embeds` `[num_video_tokens_total, D]` at the video placeholders of
        `input_ids`; `image_llm_kwargs` hold everything else (images, masks, cache, labels)."""
        raise NotImplementedError

    def _vision_grad_enabled(self) -> bool:
        return torch.is_grad_enabled() and any(p.requires_grad for m in self.vision_modules for p in m.parameters())

    def encode_videos(
        self,
        input_ids: torch.LongTensor,
        video_inputs: dict[str, Any],
        output_video_tokenizer: bool = False,
    ) -> tuple[torch.Tensor, list[LinearVideoTokenizerOutput], list[list[int]]]:
        """Frames -> per-frame tokens -> LinVT -> the video tokens of the batch in placeholder order `[total, D]`."""
        with torch.set_grad_enabled(self._vision_grad_enabled()):
            per_video = self.frame_tokens(video_inputs)
        num_videos = len(per_video)
        frame_mask = video_inputs.get("video_frame_mask")
        clip_ids = video_inputs.get("video_clip_ids")
        question_embeds, question_mask = self.question_embeddings(input_ids, video_inputs.get("question_mask"), num_videos)

        groups: dict[int, list[int]] = {}
        for index, tokens in enumerate(per_video):
            groups.setdefault(tokens.shape[1], []).append(index)
        tokens_by_video: list[torch.Tensor | None] = [None] * num_videos
        outputs, group_lists = [], []
        for members in groups.values():
            frames = [per_video[i] for i in members]
            lengths = [f.shape[0] for f in frames]
            if frame_mask is not None:
                lengths = [int(frame_mask[i].sum()) for i in members]
            width = max(lengths)
            batch = frames[0].new_zeros(len(members), width, *frames[0].shape[1:])
            mask = torch.zeros(len(members), width, dtype=torch.bool, device=batch.device)
            for row, (f, length) in enumerate(zip(frames, lengths)):
                if f.shape[0] < length:
                    raise ValueError(
                        f"video {members[row]} has {f.shape[0]} frames of tokens but video_frame_mask marks {length}"
                    )
                batch[row, :length] = f[:length]
                mask[row, :length] = True
            clips = None
            if clip_ids is not None:
                clips = clip_ids[members][:, :width].to(batch.device)
            out = self.linvt(
                batch,
                frame_mask=mask,
                text_embeds=question_embeds[members].to(batch.dtype) if question_embeds is not None else None,
                text_mask=question_mask[members] if question_mask is not None else None,
                clip_ids=clips,
                output_aggregation_weights=output_video_tokenizer,
            )
            for row, index in enumerate(members):
                tokens_by_video[index] = out.video_tokens[row][out.video_tokens_mask[row]]
            outputs.append(out)
            group_lists.append(members)
        return torch.cat(tokens_by_video, dim=0), outputs, group_lists

    def question_embeddings(
        self, input_ids: torch.LongTensor, question_mask: torch.Tensor | None, num_videos: int
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """The question that conditions TTA for each video: `[V, M, D]` embeddings and `[V, M]` mask.

        A video takes the question tokens (`question_mask`) of the sample it sits in; videos are counted in
        placeholder order, one contiguous run of video tokens per video.
        """
        if question_mask is None:
            return None, None
        owners = self.video_owners(input_ids)
        if len(owners) != num_videos:
            raise ValueError(
                f"the prompts hold {len(owners)} video placeholder run(s) but {num_videos} video(s) were given"
            )
        embed = self.get_input_embeddings()
        lengths = question_mask.sum(1)
        width = max(int(lengths.max()), 1)
        embeds = embed.weight.new_zeros(num_videos, width, embed.weight.shape[1])
        mask = torch.zeros(num_videos, width, dtype=torch.bool, device=embeds.device)
        for video, sample in enumerate(owners):
            ids = input_ids[sample][question_mask[sample].bool()]
            if ids.numel():
                embeds[video, : ids.numel()] = embed(ids)
                mask[video, : ids.numel()] = True
        return embeds, mask

    def video_owners(self, input_ids: torch.LongTensor) -> list[int]:
        """The sample index of each video, in placeholder order (one contiguous run of video tokens per video)."""
        is_video = input_ids == self.config.video_token_id
        starts = is_video.clone()
        starts[:, 1:] &= ~is_video[:, :-1]
        return starts.nonzero()[:, 0].tolist()

    # ------------------------------------------------------------------ forward
    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        pixel_values_videos: torch.Tensor | None = None,
        video_grid_thw: torch.LongTensor | None = None,
        video_num_frames: torch.LongTensor | None = None,
        video_frame_mask: torch.BoolTensor | None = None,
        video_clip_ids: torch.LongTensor | None = None,
        video_timestamps: torch.Tensor | None = None,
        video_frame_indices: torch.LongTensor | None = None,
        video_temporal_patch_frame_indices: torch.LongTensor | None = None,
        question_mask: torch.BoolTensor | None = None,
        output_video_tokenizer: bool = False,
        **image_llm_kwargs: Any,
    ) -> LinVTCausalLMOutputWithPast:
        r"""
        Without `pixel_values_videos` this is the image-LLM's own forward. With them, each video's frames go through
        the image-LLM's vision encoder and projector, then LinVT, and the resulting video tokens replace the video
        placeholder tokens of `input_ids`.

        Args:
            pixel_values_videos (`torch.FloatTensor`): the frames as `LinVTProcessor` prepares them for this family.
            video_grid_thw (`torch.LongTensor` of shape `(num_videos, 3)`, *optional*): Qwen2-VL's video grids.
            video_frame_mask (`torch.BoolTensor` of shape `(num_videos, max_frames)`): False for padding frames.
            video_clip_ids (`torch.LongTensor` of shape `(num_videos, max_frames)`): the shot of each frame.
            question_mask (`torch.BoolTensor` of shape `(batch_size, sequence_length)`): the question tokens that
                condition TTA.
            output_video_tokenizer (`bool`): also return what LinVT selected and how it aggregated.
            **image_llm_kwargs: everything else goes to the image-LLM's forward (attention_mask, pixel_values,
                image_grid_thw, past_key_values, labels, ...).
        """
        if attention_mask is not None:
            image_llm_kwargs["attention_mask"] = attention_mask
        if pixel_values_videos is None:
            # No video: the image-LLM's own forward and output, untouched.
            return self.image_llm(input_ids=input_ids, **image_llm_kwargs)
        if input_ids is None:
            raise ValueError("input_ids are needed with pixel_values_videos: they say where the video tokens go")
        video_inputs = {
            "pixel_values_videos": pixel_values_videos,
            "video_grid_thw": video_grid_thw,
            "video_num_frames": video_num_frames,
            "video_frame_mask": video_frame_mask,
            "video_clip_ids": video_clip_ids,
            "question_mask": question_mask,
        }
        video_embeds, tokenizer_outputs, groups = self.encode_videos(input_ids, video_inputs, output_video_tokenizer)
        expected = int((input_ids == self.config.video_token_id).sum())
        if video_embeds.shape[0] != expected:
            raise ValueError(
                f"LinVT produced {video_embeds.shape[0]} video tokens but the prompts hold {expected} video "
                f"placeholder tokens (id {self.config.video_token_id}); build prompts with LinVTProcessor for this "
                "model's tokenizer settings"
            )
        outputs = self.image_llm_forward_with_video(input_ids, video_embeds, image_llm_kwargs)
        fields = {k: v for k, v in outputs.items() if k in CausalLMOutputWithPast.__dataclass_fields__}
        return LinVTCausalLMOutputWithPast(
            **fields,
            video_tokenizer_outputs=tokenizer_outputs if output_video_tokenizer else None,
            video_groups=groups if output_video_tokenizer else None,
        )

    # ------------------------------------------------------------------ generation
    def _validate_model_kwargs(self, model_kwargs: dict[str, Any]) -> None:
        # What the image-LLM's forward takes passes through **image_llm_kwargs.
        accepted = set(inspect.signature(self.image_llm.forward).parameters)
        super()._validate_model_kwargs({k: v for k, v in model_kwargs.items() if k not in accepted})

    def _prepare_position_ids_for_generation(self, inputs_tensor, model_kwargs):
        image_llm_kwargs = self.image_llm_generation_kwargs(model_kwargs)
        return self.image_llm._prepare_position_ids_for_generation(inputs_tensor, image_llm_kwargs)

    def image_llm_generation_kwargs(self, model_kwargs: dict[str, Any]) -> dict[str, Any]:
        """The generation kwargs as the image-LLM must see them (families hide what LinVT replaces)."""
        return {k: v for k, v in model_kwargs.items() if k not in VIDEO_INPUT_NAMES}
