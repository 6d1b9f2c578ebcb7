"""What every LinVT-wrapped image-LLM shares: the base model class, the video path and generation.

A family file (qwen2_vl.py, internvl.py, llava_onevision.py) subclasses `LinVTForConditionalGeneration` and says
three things: which transformers class the image-LLM is (`image_llm_class`), how its vision encoder and projector turn
one video's frames into per-frame tokens (`frame_tokens`), and how the LinVT video tokens enter its forward
(`image_llm_forward_with_video`). With no video in the input, `forward` is a plain call of the image-LLM, so text and
image behaviour is the image-LLM's own, bit for bit.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import math
import os
import re
import tempfile
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from huggingface_hub import CommitInfo
from torch import nn
from transformers import GenerationConfig, GenerationMixin, PreTrainedConfig, PreTrainedModel
from transformers.modeling_outputs import CausalLMOutputWithPast
from transformers.utils import cached_file, can_return_tuple, logging
from transformers.utils.hub import hf_api

from .configuration_linvt import LinVTConfig, LinVTImageLLMConfig, linvt_settings, set_dtype_everywhere
from ..upstream import explicit_attn_implementation, image_llm_position_ids
from .hub import (
    file_timestamps,
    upload_changed_files,
    HUB_KWARGS,
    LINVT_ONLY_KEY,
    LINVT_WEIGHTS_NAME,
    MODEL_CARD_NAME,
    build_model_card,
    card_text,
    hub_model_card,
    is_generated_card,
    is_hub_repo_id,
    is_linvt_only,
    linvt_state_dict,
    load_linvt_weights,
    prefixed_loading_info,
    read_text,
    save_linvt_weights,
    split_linvt_only_kwargs,
    tag_card,
    write_model_card,
)
from .tokenizer import LinearVideoTokenizer, LinearVideoTokenizerOutput

logger = logging.get_logger(__name__)

INITIAL_LOGIT_SCALE = math.log(1 / 0.07)

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
    "video_placeholder_mask",
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

    @classmethod
    def is_custom_code(cls) -> bool:
        """False (unless registered as remote code): initialise like transformers' own models.

        transformers passes the outermost model's answer down to every sub-model's weight init, and for custom code it
        skips each module whose own parameters are all initialised; that skips modules whose parameters sit in their
        children, such as SigLIP's attention and MLP, whose init is their parent's (xavier, not the children's
        default). LinVT's own init only calls `torch.nn.init`, which transformers guards against overwriting loaded
        weights, so the in-tree path is safe for it.
        """
        return cls.is_remote_code()

    def _init_weights(self, module: nn.Module) -> None:
        # Only LinVT's own modules reach here: the image-LLM is a PreTrainedModel and inits itself.
        LinearVideoTokenizer.init_module(module, self.config.initializer_range)
        if isinstance(module, LinVTForConditionalGeneration):
            nn.init.constant_(module.video_text_logit_scale, INITIAL_LOGIT_SCALE)


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
            if config.dtype is not None:
                # from_pretrained sets the dtype it loads in on the config and its direct sub-config only; the
                # image-LLM's own sub-configs (text, vision) would keep the dtype saved with them.
                set_dtype_everywhere(config.image_llm_config, config.dtype)
            image_llm = self.image_llm_class(config.image_llm_config)
        self.image_llm = image_llm
        self.linvt = LinearVideoTokenizer(config, input_size=config.llm_hidden_size, initialize=False)
        # log(1 / temperature) of stage 1's video-caption contrastive loss (as CLIP's logit_scale); unused otherwise.
        self.video_text_logit_scale = nn.Parameter(torch.tensor(INITIAL_LOGIT_SCALE))
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
        # The image-LLM's own generation defaults (sampling settings, stop tokens), not ones derived from the config.
        model.generation_config = copy.deepcopy(image_llm.generation_config)
        model.follow_image_llm()
        return model.train(image_llm.training)

    def follow_image_llm(self) -> None:
        """Put LinVT's own parameters (the tokenizer, the contrastive logit scale) on the device and in the dtype of
        the image-LLM's input embeddings: the whole model has one dtype (`model.dtype`, which a save records)."""
        embeddings = self.image_llm.get_input_embeddings().weight
        self.linvt.to(device=embeddings.device, dtype=embeddings.dtype)
        self.video_text_logit_scale.data = self.video_text_logit_scale.data.to(embeddings.device, embeddings.dtype)

    @classmethod
    def default_video_token_id(cls, image_llm: PreTrainedModel, name_or_path: str | None) -> int | None:
        """The video placeholder id when none is given: the image-LLM config's own (families may look further)."""
        return getattr(image_llm.config, "video_token_id", None)

    # ------------------------------------------------------------------ checkpoints: LinVT-only, model card, Hub
    # (helpers in hub.py)
    def save_pretrained(
        self,
        save_directory: str | os.PathLike,
        is_main_process: bool = True,
        state_dict: dict[str, torch.Tensor] | None = None,
        push_to_hub: bool = False,
        *,
        linvt_only: bool = False,
        **kwargs: Any,
    ) -> CommitInfo | None:
        r"""
        Save as `PreTrainedModel.save_pretrained` does, plus a model card (`README.md`; one the user wrote is never
        overwritten, one linvt-hf wrote and nobody edited is refreshed).

        Args:
            linvt_only (`bool`, *optional*, defaults to `False`):
                Save LinVT's weights alone (`linvt.safetensors`) with the config, which names the image-LLM checkpoint
                in `image_llm_name_or_path` and marks the checkpoint `"linvt_only": true`; `from_pretrained` then loads
                that image-LLM with its own class and LinVT on top.
            push_to_hub, kwargs: as for `PreTrainedModel.save_pretrained` (`repo_id`, `commit_message`, `create_pr`,
                `private`, `token`, `max_shard_size`, ...).

        Raises:
            ValueError: `linvt_only=True` and the config names no image-LLM, or, with `push_to_hub=True`, names a
                local folder (nobody else could load the checkpoint); raised before anything is written or created.
        """
        if os.path.isfile(save_directory):
            logger.error(f"Provided path ({save_directory}) should be a directory, not a file")  # as transformers
            return None
        if linvt_only:
            self._check_linvt_only_image_llm(for_hub=push_to_hub)
        push = self._start_push(save_directory, kwargs) if push_to_hub and is_main_process else None
        if linvt_only:
            self._save_linvt_only(save_directory, is_main_process, state_dict)
        else:
            if hasattr(self.config, LINVT_ONLY_KEY):  # a config read from a LinVT-only config.json by hand
                delattr(self.config, LINVT_ONLY_KEY)
            super().save_pretrained(save_directory, is_main_process, state_dict, **kwargs)
        if not is_main_process:
            return None
        self._warn_unused_weights(save_directory, linvt_only)
        repo_id = push["repo_id"] if push else os.fspath(save_directory)
        write_model_card(build_model_card(self, repo_id, linvt_only, self.model_tags), save_directory)
        if push is None:
            return None
        keep = ()
        if is_generated_card(read_text(os.path.join(save_directory, MODEL_CARD_NAME))) and (
            hub_model_card(push["repo_id"], push["token"]) is not None
        ):
            keep = (MODEL_CARD_NAME,)  # the repo's own card stays, as in transformers
        return upload_changed_files(save_directory, keep=keep, **push)

    def push_to_hub(
        self,
        repo_id: str,
        *,
        linvt_only: bool = False,
        commit_message: str | None = None,
        commit_description: str | None = None,
        private: bool | None = None,
        token: bool | str | None = None,
        revision: str | None = None,
        create_pr: bool = False,
        max_shard_size: int | str | None = "50GB",
        tags: list[str] | str | None = None,
    ) -> CommitInfo:
        r"""
        Upload the model to the Hub, as `PreTrainedModel.push_to_hub` does; `linvt_only=True` uploads a LinVT-only
        checkpoint (see `save_pretrained`). The repo's README.md is kept if it has one; otherwise this model's card is
        uploaded.

        Raises:
            ValueError: `linvt_only=True` and `config.image_llm_name_or_path` is not set or is not a Hub repo id (a
                local folder); raised before the repo is created.
        """
        if linvt_only:
            self._check_linvt_only_image_llm(for_hub=True)
        tags = [tags] if isinstance(tags, str) else list(tags or [])
        tags = list(dict.fromkeys([*(self.model_tags or []), *tags]))
        repo_id = hf_api().create_repo(repo_id, private=private, token=token, exist_ok=True).repo_id
        with tempfile.TemporaryDirectory() as folder:
            self.save_pretrained(folder, linvt_only=linvt_only, max_shard_size=max_shard_size)
            card = hub_model_card(repo_id, token)
            path = os.path.join(folder, MODEL_CARD_NAME)
            if card is not None:
                tag_card(card, tags).save(path)
            else:
                with open(path, "w", encoding="utf-8") as handle:
                    handle.write(card_text(build_model_card(self, repo_id, linvt_only, tags)))
            return upload_changed_files(
                folder,
                repo_id,
                commit_message=commit_message,
                token=token,
                create_pr=create_pr,
                revision=revision,
                commit_description=commit_description,
            )

    @classmethod
    def from_pretrained(
        cls, pretrained_model_name_or_path: str | os.PathLike | None, *model_args: Any, **kwargs: Any
    ) -> LinVTForConditionalGeneration:
        r"""
        Load a saved LinVT model as `PreTrainedModel.from_pretrained` does. A LinVT-only checkpoint (its config.json
        says `"linvt_only": true`) loads the image-LLM named by its `image_llm_name_or_path` with that model's own
        class, then LinVT's weights (`linvt.safetensors`) on top, exactly.

        For a LinVT-only checkpoint: `dtype`, `device_map`, `attn_implementation`, `quantization_config`, ... apply to
        the image-LLM (LinVT follows its embeddings' device and dtype); `cache_dir`, `token`, `local_files_only`,
        `force_download`, `proxies` to both; `revision` and `subfolder` to the LinVT checkpoint only. LinVT config
        fields given as kwargs override the saved ones, e.g. `image_llm_name_or_path="/local/copy"`.

        Raises:
            ValueError: a LinVT-only checkpoint names no image-LLM, or its LinVT weights do not match its config.
        """
        config = cls._checkpoint_config(pretrained_model_name_or_path, kwargs)
        if config is None or not is_linvt_only(config):
            return super().from_pretrained(pretrained_model_name_or_path, *model_args, **kwargs)
        if model_args:
            raise ValueError(f"a LinVT-only checkpoint takes no positional model arguments, got {len(model_args)}")
        return cls._from_linvt_only(os.fspath(pretrained_model_name_or_path), config, dict(kwargs))

    @classmethod
    def _checkpoint_config(cls, name: str | os.PathLike | None, kwargs: dict[str, Any]) -> PreTrainedConfig | None:
        """The config being loaded (given, or read from the checkpoint), or None where transformers must decide."""
        config = kwargs.get("config")
        if isinstance(config, PreTrainedConfig):
            return config
        source = config if config is not None else name
        if source is None or kwargs.get("gguf_file") is not None:
            return None
        try:
            return cls.config_class.from_pretrained(source, **{k: kwargs[k] for k in HUB_KWARGS if k in kwargs})
        except (OSError, ValueError):
            return None  # transformers' own loading reports it

    @classmethod
    def _from_linvt_only(
        cls, name: str, config: PreTrainedConfig, kwargs: dict[str, Any]
    ) -> LinVTForConditionalGeneration | tuple[LinVTForConditionalGeneration, dict[str, Any]]:
        output_loading_info = kwargs.pop("output_loading_info", False)
        generation_config = kwargs.pop("generation_config", None)
        kwargs.pop("config", None)
        if kwargs.pop("state_dict", None) is not None:
            raise ValueError("state_dict cannot be combined with a LinVT-only checkpoint")
        config = copy.deepcopy(config)
        delattr(config, LINVT_ONLY_KEY)
        base_fields = {f.name for f in dataclasses.fields(PreTrainedConfig)} | {"image_llm_config"}
        for key in {f.name for f in dataclasses.fields(config)}.intersection(kwargs) - base_fields:
            setattr(config, key, kwargs.pop(key))
        download, image_llm_kwargs = split_linvt_only_kwargs(kwargs)
        if explicit_attn_implementation(config) is not None:  # the Auto classes put it there
            image_llm_kwargs.setdefault("attn_implementation", explicit_attn_implementation(config))
        if not config.image_llm_name_or_path:
            raise ValueError(
                f"{name} is a LinVT-only checkpoint, but its config.json names no image-LLM (image_llm_name_or_path "
                "is missing); pass image_llm_name_or_path=<Hub id or folder of the image-LLM> to from_pretrained"
            )
        weights = cached_file(name, LINVT_WEIGHTS_NAME, **download)
        image_llm, image_llm_info = cls.image_llm_class.from_pretrained(
            config.image_llm_name_or_path, output_loading_info=True, **image_llm_kwargs
        )
        config.image_llm_config = image_llm.config
        model = cls(config, image_llm=image_llm)
        model.follow_image_llm()
        load_linvt_weights(model, weights)
        model.generation_config = generation_config or cls._saved_generation_config(name, download, image_llm)
        model.config.name_or_path = name
        model.eval()
        if not output_loading_info:
            return model
        return model, prefixed_loading_info(image_llm_info, "image_llm.")

    @staticmethod
    def _saved_generation_config(name: str, download: dict[str, Any], image_llm: PreTrainedModel) -> GenerationConfig:
        try:
            return GenerationConfig.from_pretrained(name, **download)
        except OSError:
            return copy.deepcopy(image_llm.generation_config)

    def _save_linvt_only(
        self, save_directory: str | os.PathLike, is_main_process: bool, state_dict: dict[str, torch.Tensor] | None
    ) -> None:
        if not is_main_process:
            return
        os.makedirs(save_directory, exist_ok=True)
        # As transformers records them for a full save.
        self.config.dtype = str(self.dtype).removeprefix("torch.")
        self.config.architectures = [type(self).__name__]
        config = copy.deepcopy(self.config)
        setattr(config, LINVT_ONLY_KEY, True)
        config.save_pretrained(save_directory)
        if self.can_generate():
            self.generation_config.save_pretrained(save_directory)
        save_linvt_weights(linvt_state_dict(self, state_dict), save_directory)

    def _check_linvt_only_image_llm(self, for_hub: bool) -> None:
        """Raise `ValueError` unless a LinVT-only checkpoint of this model could be loaded: the config must name its
        image-LLM, and one for the Hub must name it by Hub repo id (a folder here is nowhere for anyone else)."""
        name = self.config.image_llm_name_or_path
        if not name:
            raise ValueError(
                "a LinVT-only checkpoint loads onto the image-LLM its config names, but config.image_llm_name_or_path "
                "is not set: set it to the image-LLM's Hub id or folder (from_backbone does) or save the full model"
            )
        if for_hub and not is_hub_repo_id(name):
            where = "a folder on this machine" if os.path.isdir(name) else "not a Hub repo id ('org/name')"
            raise ValueError(
                f"config.image_llm_name_or_path is {name!r}, {where}: a LinVT-only checkpoint on the Hub loads onto "
                "the image-LLM it names, which nobody else could load from there. Set model.config."
                "image_llm_name_or_path to the Hub id of the image-LLM LinVT was trained on (e.g. "
                "'Qwen/Qwen2-VL-7B-Instruct') before pushing, or push the full model (linvt_only=False)"
            )

    def _start_push(self, save_directory: str | os.PathLike, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Create the repo and note the folder's files, as `PreTrainedModel.save_pretrained(push_to_hub=True)` does."""
        repo_id = kwargs.pop("repo_id", os.fspath(save_directory).rstrip(os.path.sep).split(os.path.sep)[-1])
        token = kwargs.get("token")
        repo_id = hf_api().create_repo(repo_id, private=kwargs.pop("private", None), token=token, exist_ok=True).repo_id
        os.makedirs(save_directory, exist_ok=True)
        return {
            "repo_id": repo_id,
            "since": file_timestamps(save_directory),
            "commit_message": kwargs.pop("commit_message", None),
            "token": token,
            "create_pr": kwargs.pop("create_pr", False),
        }

    @staticmethod
    def _warn_unused_weights(save_directory: str | os.PathLike, linvt_only: bool) -> None:
        # Files of an earlier save of the other kind are left alone (config.json says which weights count).
        names = os.listdir(save_directory)
        if linvt_only:
            unused = [n for n in names if re.fullmatch(r"model(-\d{5}-of-\d{5})?\.safetensors(\.index\.json)?", n)]
        else:
            unused = [n for n in names if n == LINVT_WEIGHTS_NAME]
        if unused:
            logger.warning(
                f"{save_directory} still holds {sorted(unused)} from an earlier save; the checkpoint saved now does "
                "not use them (its config.json says which weights it has); delete them to save space"
            )

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
        self,
        input_ids: torch.LongTensor,
        video_embeds: torch.Tensor,
        image_llm_kwargs: dict[str, Any],
        video_mask: torch.BoolTensor,
    ) -> CausalLMOutputWithPast:
        """Run the image-LLM on `input_ids` `[B, L]` with `video_embeds` `[num_video_tokens_total, D]` at the video
        placeholders `video_mask` `[B, L]`; `image_llm_kwargs` hold everything else (images, masks, cache, labels)."""
        raise NotImplementedError

    def embed_with_videos(
        self, input_ids: torch.LongTensor, video_embeds: torch.Tensor, video_mask: torch.BoolTensor
    ) -> torch.Tensor:
        """The LLM's embeddings of `input_ids` `[B, L]` with `video_embeds` `[num_video_tokens_total, D]` put at the
        placeholders `video_mask` `[B, L]`, in order: `[B, L, D]`. Video token ids elsewhere keep their embedding."""
        inputs_embeds = self.get_input_embeddings()(input_ids)
        video_embeds = video_embeds.to(inputs_embeds.device, inputs_embeds.dtype)
        return inputs_embeds.masked_scatter(video_mask.to(inputs_embeds.device).unsqueeze(-1), video_embeds)

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
        num_frames = [f.shape[0] if frame_mask is None else int(frame_mask[i].sum()) for i, f in enumerate(per_video)]
        tokens_per_video = [self.config.num_output_tokens(n) for n in num_frames]
        question_embeds, question_mask = self.question_embeddings(
            input_ids, video_inputs.get("question_mask"), tokens_per_video, video_inputs.get("video_placeholder_mask")
        )

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
        self,
        input_ids: torch.LongTensor,
        question_mask: torch.Tensor | None,
        tokens_per_video: list[int],
        placeholder_mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """The question that conditions TTA for each video: `[V, M, D]` embeddings and `[V, M]` mask.

        A video takes the question tokens (`question_mask`) of the sample it sits in (see `video_owners`, which
        `placeholder_mask` is passed to).
        """
        if question_mask is None:
            return None, None
        if question_mask.shape != input_ids.shape:
            raise ValueError(
                f"question_mask has shape {tuple(question_mask.shape)} but input_ids {tuple(input_ids.shape)}: it "
                "marks the question tokens of input_ids, so it must have the same shape"
            )
        num_videos = len(tokens_per_video)
        owners = self.video_owners(input_ids, tokens_per_video, placeholder_mask)
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

    def video_owners(
        self,
        input_ids: torch.LongTensor,
        tokens_per_video: list[int] | None = None,
        placeholder_mask: torch.Tensor | None = None,
    ) -> list[int]:
        """The sample index of each video, in placeholder order.

        Videos fill the video placeholders (`placeholder_mask` `[B, L]`; by default every video token of `input_ids`)
        one after the other, `tokens_per_video[v]` each (default: LinVT's fixed `config.num_video_tokens`), so videos
        written back to back (LLaVA-OneVision's `<video><video>`) are told apart. A baseline tokenizer without counts
        falls back to one contiguous placeholder run per video.
        """
        is_video = input_ids == self.config.video_token_id if placeholder_mask is None else placeholder_mask.bool()
        total = int(is_video.sum())
        if tokens_per_video is None and self.config.tokenizer_type == "linvt":
            tokens_per_video = [self.config.num_video_tokens] * (total // self.config.num_video_tokens)
        if tokens_per_video is None:
            starts = is_video.clone()
            starts[:, 1:] &= ~is_video[:, :-1]
            return starts.nonzero()[:, 0].tolist()
        if total != sum(tokens_per_video):
            raise ValueError(
                f"the prompts hold {total} video placeholder tokens but the {len(tokens_per_video)} video(s) given "
                f"take {sum(tokens_per_video)} ({tokens_per_video})"
            )
        rows = is_video.nonzero()[:, 0]
        starts = torch.tensor([0, *tokens_per_video[:-1]], device=rows.device).cumsum(0)
        return rows[starts].tolist()

    # ------------------------------------------------------------------ forward
    @can_return_tuple
    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        pixel_values_videos: torch.Tensor | None = None,
        video_grid_thw: torch.LongTensor | None = None,
        video_num_frames: torch.LongTensor | None = None,
        video_frame_mask: torch.BoolTensor | None = None,
        video_clip_ids: torch.LongTensor | None = None,
        video_timestamps: torch.Tensor | None = None,
        video_frame_indices: torch.LongTensor | None = None,
        video_temporal_patch_frame_indices: torch.LongTensor | None = None,
        question_mask: torch.BoolTensor | None = None,
        video_placeholder_mask: torch.BoolTensor | None = None,
        output_video_tokenizer: bool = False,
        **image_llm_kwargs: Any,
    ) -> LinVTCausalLMOutputWithPast:
        r"""
        Without `pixel_values_videos` this is the image-LLM's own forward. With them, each video's frames go through
        the image-LLM's vision encoder and projector, then LinVT, and the resulting video tokens replace the video
        placeholder tokens of `input_ids`.

        Args:
            position_ids (`torch.LongTensor`, *optional*): passed to the image-LLM. Being in this signature makes
                `generate` prepare them with the image-LLM's own `_prepare_position_ids_for_generation` (Qwen's
                M-RoPE positions; positions that skip left padding) and carry them through the decode steps.
            pixel_values_videos (`torch.FloatTensor`): the frames as `LinVTProcessor` prepares them for this family.
            video_grid_thw (`torch.LongTensor` of shape `(num_videos, 3)`, *optional*): Qwen2-VL's video grids.
            video_frame_mask (`torch.BoolTensor` of shape `(num_videos, max_frames)`): False for padding frames.
            video_clip_ids (`torch.LongTensor` of shape `(num_videos, max_frames)`): the shot of each frame.
            question_mask (`torch.BoolTensor` of shape `(batch_size, sequence_length)`): the question tokens that
                condition TTA.
            video_placeholder_mask (`torch.BoolTensor` of shape `(batch_size, sequence_length)`, *optional*): the
                video placeholders that LinVT's tokens fill; by default every `config.video_token_id` of `input_ids`.
                `generate` passes the prompt's, so that a video token generated later (or proposed by prompt lookup)
                is an ordinary token, as in cached decoding.
            output_video_tokenizer (`bool`): also return what LinVT selected and how it aggregated.
            return_dict (`bool`, *optional*): False returns a tuple (`config.return_dict` by default), as transformers'
                models do.
            **image_llm_kwargs: everything else goes to the image-LLM's forward (attention_mask, pixel_values,
                image_grid_thw, past_key_values, labels, ...).

        Raises:
            TypeError: `pixel_values_videos` are not floating point (e.g. raw uint8 frames, not the processor's).
        """
        if attention_mask is not None:
            image_llm_kwargs["attention_mask"] = attention_mask
        if position_ids is not None:
            image_llm_kwargs["position_ids"] = position_ids
        # `can_return_tuple` turns the output into a tuple when return_dict=False.
        image_llm_kwargs["return_dict"] = True
        if pixel_values_videos is None:
            # No video: the image-LLM's own forward and output, untouched.
            return self.image_llm(input_ids=input_ids, **image_llm_kwargs)
        if input_ids is None:
            raise ValueError("input_ids are needed with pixel_values_videos: they say where the video tokens go")
        if not torch.is_floating_point(pixel_values_videos):
            raise TypeError(
                f"pixel_values_videos must be floating point (the processor's normalised pixel values), got "
                f"{pixel_values_videos.dtype}: pass the videos through LinVTProcessor rather than raw frames"
            )
        video_inputs = {
            "pixel_values_videos": pixel_values_videos,
            "video_grid_thw": video_grid_thw,
            "video_num_frames": video_num_frames,
            "video_frame_mask": video_frame_mask,
            "video_clip_ids": video_clip_ids,
            "question_mask": question_mask,
            "video_placeholder_mask": self.video_placeholders(input_ids, video_placeholder_mask),
        }
        video_embeds, tokenizer_outputs, groups = self.encode_videos(input_ids, video_inputs, output_video_tokenizer)
        expected = int(video_inputs["video_placeholder_mask"].sum())
        if video_embeds.shape[0] != expected:
            raise ValueError(
                f"LinVT produced {video_embeds.shape[0]} video tokens but the prompts hold {expected} video "
                f"placeholder tokens (id {self.config.video_token_id}); build prompts with LinVTProcessor for this "
                "model's tokenizer settings"
            )
        outputs = self.image_llm_forward_with_video(
            input_ids, video_embeds, image_llm_kwargs, video_inputs["video_placeholder_mask"]
        )
        fields = {k: v for k, v in outputs.items() if k in CausalLMOutputWithPast.__dataclass_fields__}
        return LinVTCausalLMOutputWithPast(
            **fields,
            video_tokenizer_outputs=tokenizer_outputs if output_video_tokenizer else None,
            video_groups=groups if output_video_tokenizer else None,
        )

    def video_placeholders(
        self, input_ids: torch.LongTensor, video_placeholder_mask: torch.Tensor | None = None
    ) -> torch.BoolTensor:
        """The video placeholders of `input_ids` `[B, L]`: `video_placeholder_mask` where given (checked: same shape,
        video tokens only), else every `config.video_token_id`."""
        is_video = input_ids == self.config.video_token_id
        if video_placeholder_mask is None:
            return is_video
        if video_placeholder_mask.shape != input_ids.shape:
            raise ValueError(
                f"video_placeholder_mask has shape {tuple(video_placeholder_mask.shape)} but input_ids "
                f"{tuple(input_ids.shape)}: it marks video placeholders of input_ids, so it must have the same shape"
            )
        mask = video_placeholder_mask.bool().to(is_video.device)
        if (mask & ~is_video).any():
            raise ValueError(
                "video_placeholder_mask marks positions of input_ids that do not hold the video token "
                f"(id {self.config.video_token_id})"
            )
        return mask

    # ------------------------------------------------------------------ generation
    def generate(self, inputs: torch.Tensor | None = None, *args: Any, **kwargs: Any):
        """`GenerationMixin.generate`; with videos, the prompt's video tokens are recorded as the placeholders
        (`video_placeholder_mask`), so that steps which run the video again (no KV cache, prompt lookup) treat the
        video tokens generated after the prompt as ordinary tokens, as cached decoding does."""
        prompt = inputs if inputs is not None else kwargs.get("input_ids")
        if (
            kwargs.get("pixel_values_videos") is not None
            and kwargs.get("video_placeholder_mask") is None
            and isinstance(prompt, torch.Tensor)
            and not torch.is_floating_point(prompt)
        ):
            kwargs["video_placeholder_mask"] = prompt == self.config.video_token_id
        return super().generate(inputs, *args, **kwargs)

    def _validate_model_kwargs(self, model_kwargs: dict[str, Any]) -> None:
        # What the image-LLM's forward takes passes through **image_llm_kwargs.
        accepted = set(inspect.signature(self.image_llm.forward).parameters)
        super()._validate_model_kwargs({k: v for k, v in model_kwargs.items() if k not in accepted})

    def prepare_inputs_for_generation(
        self,
        input_ids: torch.LongTensor,
        *args: Any,
        inputs_embeds: torch.Tensor | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """`GenerationMixin.prepare_inputs_for_generation`, plus the prompt's `question_mask` and
        `video_placeholder_mask` aligned with the `input_ids` it passes on: generated and candidate tokens (prompt
        lookup, assisted decoding) are neither question tokens nor video placeholders. Steps that run the video again
        (no KV cache; the first step of assisted decoding) need them as long as `input_ids`."""
        prompt_masks = {name: kwargs.pop(name, None) for name in ("question_mask", "video_placeholder_mask")}
        model_inputs = super().prepare_inputs_for_generation(input_ids, *args, inputs_embeds=inputs_embeds, **kwargs)
        for name in ("question_mask", "video_placeholder_mask"):
            if (mask := prompt_masks.get(name)) is not None:
                step_ids = model_inputs.get("input_ids")
                model_inputs[name] = generation_prompt_mask(name, mask, input_ids.shape[1], step_ids)
        return model_inputs

    def _prepare_position_ids_for_generation(self, inputs_tensor, model_kwargs):
        image_llm_kwargs = self.image_llm_generation_kwargs(model_kwargs)
        return image_llm_position_ids(self.image_llm, inputs_tensor, image_llm_kwargs)

    def image_llm_generation_kwargs(self, model_kwargs: dict[str, Any]) -> dict[str, Any]:
        """The generation kwargs as the image-LLM must see them (families hide what LinVT replaces)."""
        return {k: v for k, v in model_kwargs.items() if k not in VIDEO_INPUT_NAMES}


def generation_prompt_mask(
    name: str, prompt_mask: torch.Tensor, sequence_length: int, step_input_ids: torch.Tensor | None
) -> torch.Tensor:
    """A mask over the prompt `[B, P]` (`name`: question_mask, video_placeholder_mask) for a generation step: padded
    with False to the `sequence_length` tokens of the sequence so far (prompt + new tokens), then cut to the last
    columns, as `step_input_ids` `[B, S]` are.

    Raises:
        ValueError: the mask has more columns than the sequence.
    """
    extra = sequence_length - prompt_mask.shape[1]
    if extra < 0:
        raise ValueError(
            f"{name} has {prompt_mask.shape[1]} columns but the sequence being generated only {sequence_length}: it "
            "must cover the prompt (input_ids), as the processor's does"
        )
    mask = torch.cat([prompt_mask, prompt_mask.new_zeros(prompt_mask.shape[0], extra)], dim=1)
    if step_input_ids is None:
        return mask
    return mask[:, sequence_length - step_input_ids.shape[1] :]
