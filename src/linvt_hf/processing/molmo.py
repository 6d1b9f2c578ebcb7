"""The processors of Molmo (v1, allenai's Molmo-7B-D): `MolmoImageProcessor` and `MolmoProcessor` (the image-LLM's
own, linvt-hf's port of allenai/molmo's `olmo/data/model_preprocessor.py`, crop mode `overlap-and-resize-c2`) and
`LinVTMolmoProcessor` (plus LinVT's video processing).

An image becomes its global view (resized into the crop size, aspect ratio kept, padded) and up to `max_crops`
overlapping tiles of a resized copy (the tiling that needs the least scaling; tiles overlap by `overlap_margins`
patches, which are dropped after pooling). The original resizes with torchvision (bilinear, antialiased, in float32
on [0, 1]); this port calls the same `torch.nn.functional.interpolate`, so no torchvision is needed. The prompt gets,
for each image, `<im_start>`, rows of `<im_patch>` tokens each closed by `<im_col>`, `<im_end>` for the global view,
then the same for the tiles (where the original image prompt `<|image|>` stands, or at the prompt's start). Every
prompt starts with `<|endoftext|>` (the original's BOS for Qwen2), as `MOLMO_CHAT_TEMPLATE` writes it, which is
Molmo's " User: ... Assistant:" format. Frames are resized to the crop size and given as frames `[F, 3, S, S]`; a
video expands to `num_video_tokens` `<video>` tokens (added to the tokenizer where it lacks it), at the start of its
user turn.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.nn import functional as F
from transformers.image_processing_utils import BaseImageProcessor, BatchFeature
from transformers.image_utils import (
    OPENAI_CLIP_MEAN,
    OPENAI_CLIP_STD,
    ChannelDimension,
    PILImageResampling,
    infer_channel_dimension_format,
    make_flat_list_of_images,
    to_numpy_array,
)
from transformers.processing_utils import ProcessorMixin

from .processor import DEFAULT_NUM_VIDEO_TOKENS, ChatTurns, LinVTProcessorMixin, with_video_token
from .video_processor import FrameLayout, LinVTVideoProcessor

IMAGE_MARKERS = ("<im_start>", "<im_end>", "<im_patch>", "<im_col>")
# MolmoImageProcessor's settings (its __init__ arguments); a call may override those but the crop geometry the
# model is built for (`MODEL_SETTINGS`).
SETTINGS = ("size", "patch_size", "pooling_size", "max_crops", "overlap_margins", "image_mean", "image_std",
            "resample", "do_rescale", "rescale_factor", "do_normalize", "do_resize")
MODEL_SETTINGS = ("size", "patch_size", "pooling_size")


def select_tiling(height: int, width: int, crop_size: int, max_crops: int) -> tuple[int, int]:
    """`(rows, cols)` of crops for a `height` x `width` image: the least upscaling, else the least downscaling
    (the original's `select_tiling`)."""
    tilings = sorted(((i, j) for i in range(1, max_crops + 1) for j in range(1, max_crops + 1) if i * j <= max_crops),
                     key=lambda t: (t[0] * t[1], t[0]))
    candidates = np.array(tilings, dtype=np.int32) * crop_size
    original = np.stack([height, width]).astype(np.float32)
    with np.errstate(divide="ignore"):
        required = np.min(candidates.astype(np.float32) / original, axis=-1, keepdims=True)
    if np.all(required < 1):
        index = int(np.argmax(required))
    else:
        index = int(np.argmin(np.where(required < 1.0, 10e9, required)))
    return tilings[index]


def patch_shares(mask: np.ndarray, patch: int) -> np.ndarray:
    """`[N, H, W]` bool -> `[N, (H / patch) * (W / patch)]` float32: each patch's share of True pixels."""
    count, height, width = mask.shape
    grid = mask.reshape(count, height // patch, patch, width // patch, patch).transpose(0, 1, 3, 2, 4)
    return grid.reshape(count, -1, patch * patch).astype(np.float32).mean(axis=-1)


class MolmoImageProcessor(BaseImageProcessor):
    r"""
    Molmo's multi-crop image processor (the original's `overlap-and-resize-c2`).

    Args:
        size (`dict`, defaults to `{"height": 336, "width": 336}`): the crop (the ViT's image) size.
        patch_size (`int`, defaults to 14): the ViT's patch size.
        pooling_size (`list[int]`, defaults to `[2, 2]`): the model's pooling windows `(rows, cols)`.
        max_crops (`int`, defaults to 12): at most this many tiles (besides the global view).
        overlap_margins (`list[int]`, defaults to `[4, 4]`): patches each tile overlaps its neighbour by, on its
            left/top and right/bottom; multiples of the pooling size.
        image_mean, image_std (`list[float]`): OpenAI CLIP's by default.
        resample: bilinear (the original's); kept for the video processor, which resizes frames the same way.

    Outputs: `pixel_values` `[num_crops, 3, S, S]` (each image's global view, then its tiles), `image_masks`
    `[num_crops, patches]`, `image_patch_order` `[num_crops, tokens_per_crop]`, `image_num_crops` `[num_images]`,
    `image_grids` `[num_images, 2]` (rows, cols of the tiles' `<im_patch>` tokens).
    """

    model_input_names = ["pixel_values", "image_masks", "image_patch_order", "image_num_crops"]

    def __init__(
        self,
        size: dict[str, int] | None = None,
        patch_size: int = 14,
        pooling_size: list[int] | None = None,
        max_crops: int = 12,
        overlap_margins: list[int] | None = None,
        image_mean: list[float] | None = None,
        image_std: list[float] | None = None,
        resample: int = PILImageResampling.BILINEAR,
        do_rescale: bool = True,
        rescale_factor: float = 1 / 255,
        do_normalize: bool = True,
        do_resize: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.size = dict(size) if size is not None else {"height": 336, "width": 336}
        self.patch_size = patch_size
        self.pooling_size = list(pooling_size) if pooling_size is not None else [2, 2]
        self.max_crops = max_crops
        self.overlap_margins = list(overlap_margins) if overlap_margins is not None else [4, 4]
        self.image_mean = list(image_mean) if image_mean is not None else list(OPENAI_CLIP_MEAN)
        self.image_std = list(image_std) if image_std is not None else list(OPENAI_CLIP_STD)
        self.resample, self.do_rescale, self.rescale_factor = resample, do_rescale, rescale_factor
        self.do_normalize, self.do_resize = do_normalize, do_resize
        self.check_settings()

    def check_settings(self) -> None:
        """Raises ValueError for settings the original's crop arithmetic cannot take (named)."""
        side = self.size.get("height")
        if side is None or side != self.size.get("width") or side % self.patch_size:
            raise ValueError(f"MolmoImageProcessor: size must be a square of whole patches, got {self.size}")
        pool_h, pool_w = self.pooling_size
        left, right = self.overlap_margins
        if left % pool_h or right % pool_h or left % pool_w or right % pool_w:
            raise ValueError(
                f"MolmoImageProcessor: overlap_margins {self.overlap_margins} must be multiples of pooling_size "
                f"{self.pooling_size}"
            )
        if side // self.patch_size - left - right < 1:
            raise ValueError(f"MolmoImageProcessor: overlap_margins {self.overlap_margins} leave no crop window")
        if not isinstance(self.max_crops, int) or self.max_crops < 1:
            raise ValueError(f"MolmoImageProcessor: max_crops must be a positive int, got {self.max_crops!r}")
        if not (self.do_resize and self.do_rescale and self.do_normalize) or self.rescale_factor != 1 / 255:
            raise ValueError("MolmoImageProcessor: Molmo's images are always resized, rescaled by 1/255, normalized")

    @staticmethod
    def normalized(key: str, value: Any) -> Any:
        """A setting as the processor stores it (a dict `size`, lists for the pairs and the mean and std)."""
        if key == "size":
            return {k: v for k, v in dict(value).items() if v is not None}
        if key in ("pooling_size", "overlap_margins", "image_mean", "image_std"):
            return list(value)
        return value

    @property
    def tokens_per_crop(self) -> tuple[int, int]:
        side = self.size["height"] // self.patch_size
        return -(-side // self.pooling_size[0]), -(-side // self.pooling_size[1])

    def resize_and_pad(self, image: np.ndarray, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
        """uint8 `[H, W, 3]` -> float32 `[height, width, 3]` in [0, 1] (scaled to fit, centered, zero padded) and
        its bool mask of image pixels (the original's `resize_and_pad`, `torch-bilinear`)."""
        scale_y = np.array(height, np.float32) / np.array(image.shape[0], np.float32)
        scale_x = np.array(width, np.float32) / np.array(image.shape[1], np.float32)
        scale = min(scale_x, scale_y)
        scaled_h = int(np.array(image.shape[0], np.float32) * scale)
        scaled_w = int(np.array(image.shape[1], np.float32) * scale)
        pixels = torch.from_numpy(image).permute(2, 0, 1).to(torch.float32) / 255
        if (scaled_h, scaled_w) != tuple(pixels.shape[1:]):
            pixels = F.interpolate(pixels[None], size=[scaled_h, scaled_w], mode="bilinear", align_corners=False,
                                   antialias=True)[0]
        pixels = torch.clip(pixels, 0.0, 1.0).permute(1, 2, 0).numpy()
        top, left = (height - scaled_h) // 2, (width - scaled_w) // 2
        padding = [[top, height - scaled_h - top], [left, width - scaled_w - left]]
        mask = np.pad(np.ones(pixels.shape[:2], dtype=bool), padding)
        return np.pad(pixels, [*padding, [0, 0]], constant_values=0), mask

    def normalize_pixels(self, pixels: np.ndarray) -> np.ndarray:
        pixels = pixels - np.array(self.image_mean, dtype=np.float32)[None, None, :]
        return pixels / np.array(self.image_std, dtype=np.float32)[None, None, :]

    def crops_of(self, image: np.ndarray) -> dict[str, np.ndarray]:
        """One uint8 `[H, W, 3]` image -> its crops `[1 + R * C, S, S, 3]`, their patch masks, each crop token's
        number among the image's `<im_patch>` tokens (-1: dropped) and the tiles' token grid (the original's
        `image_to_patches_and_tokens` and `build_image_input_idx`)."""
        crop_size, patch = self.size["height"], self.patch_size
        pool_h, pool_w = self.pooling_size
        left, right = self.overlap_margins
        tokens_h, tokens_w = self.tokens_per_crop
        crop_patches = crop_size // patch
        window_patches = crop_patches - left - right
        window = window_patches * patch
        margin = patch * (left + right)
        rows, cols = select_tiling(image.shape[0] - margin, image.shape[1] - margin, window, self.max_crops)
        src, mask = self.resize_and_pad(image, rows * window + margin, cols * window + margin)
        src = self.normalize_pixels(src)
        crops, masks, orders, on = [], [], [], 0
        for i in range(rows):
            y0, crop_y0 = i * window, (0 if i == 0 else left // pool_h)
            crop_h = crop_patches - left - right + (left if i == 0 else 0) + (right if i == rows - 1 else 0)
            for j in range(cols):
                x0, crop_x0 = j * window, (0 if j == 0 else left // pool_w)
                crop_w = crop_patches - left - right + (left if j == 0 else 0) + (right if j == cols - 1 else 0)
                pooled_h, pooled_w = -(-crop_h // pool_h), -(-crop_w // pool_w)
                order = np.arange(on, on + pooled_h * pooled_w, dtype=np.int32).reshape(pooled_h, pooled_w)
                pads = [[crop_y0, tokens_h - pooled_h - crop_y0], [crop_x0, tokens_w - pooled_w - crop_x0]]
                orders.append(np.pad(order, pads, constant_values=-1))
                crops.append(src[y0 : y0 + crop_size, x0 : x0 + crop_size])
                masks.append(mask[y0 : y0 + crop_size, x0 : x0 + crop_size])
                on += pooled_h * pooled_w
        shares = patch_shares(np.stack(masks), patch)
        order = np.stack(orders).reshape(-1)
        valid = order >= 0
        # Number the tokens row by row across the tiles (they were numbered tile by tile).
        by_row = np.stack(orders).reshape(rows, cols, tokens_h, tokens_w).transpose(0, 2, 1, 3).reshape(-1)
        order[valid] = by_row[by_row >= 0]

        def grid_side(tiles: int, pool: int) -> int:
            if tiles == 1:
                return -(-crop_patches // pool) * pool
            edge = lambda extra: -(-(window_patches + extra) // pool) * pool  # noqa: E731
            return edge(left) + (tiles - 2) * edge(0) + edge(right)

        grid = (grid_side(rows, pool_h) // pool_h, grid_side(cols, pool_w) // pool_w)
        global_view, _ = self.resize_and_pad(image, crop_size, crop_size)
        crops = np.concatenate([self.normalize_pixels(global_view)[None], np.stack(crops)], 0)
        per_crop = tokens_h * tokens_w
        order = np.concatenate([np.arange(per_crop), np.where(order >= 0, order + per_crop, -1)])
        # The original pads the tiles' masks with one row of -1 AFTER them, so the global view takes the first
        # tile's mask and the last tile -1 (allenai's `fix_image_padding=False`, as Molmo-7B-D was trained).
        shares = np.pad(shares, [[0, 1], [0, 0]], constant_values=-1)
        # Each crop token's number among the image's <im_patch> tokens (the original's `build_image_input_idx`).
        valid = order >= 0
        ranks = np.zeros(int(valid.sum()), np.int64)
        ranks[order[valid]] = np.arange(int(valid.sum()))
        numbers = np.full(order.shape, -1, np.int64)
        numbers[valid] = ranks
        return dict(crops=crops, masks=shares, numbers=numbers.reshape(-1, per_crop), grid=np.array(grid))

    def image_tokens(self, grid: tuple[int, int]) -> str:
        """The prompt text of an image whose tiles' tokens form `grid` (rows, cols)."""
        tokens_h, tokens_w = self.tokens_per_crop

        def block(rows: int, cols: int) -> str:
            return "<im_start>" + ("<im_patch>" * cols + "<im_col>") * rows + "<im_end>"

        return block(tokens_h, tokens_w) + block(int(grid[0]), int(grid[1]))

    def preprocess(self, images: Any, return_tensors: str | None = None, **kwargs: Any) -> BatchFeature:
        """Process one image or a list (PIL, uint8 arrays or tensors `[H, W, 3]` / `[3, H, W]`); `kwargs` override
        the processor's settings for this call.

        Raises:
            TypeError: an unknown option.
            ValueError: an image that is not 8-bit RGB, or settings the crop arithmetic cannot take.
        """
        given = {key: value for key, value in kwargs.items() if value is not None}
        unknown = sorted(set(given) - set(SETTINGS))
        if unknown:
            raise TypeError(f"MolmoImageProcessor: unknown option(s) {unknown}; its settings are {list(SETTINGS)}")
        changed = {key: value for key, value in given.items() if self.normalized(key, value) != getattr(self, key)}
        fixed = sorted(set(changed) & set(MODEL_SETTINGS))
        if fixed:
            raise TypeError(
                f"MolmoImageProcessor: {fixed} are the crop geometry the model and its prompts are built for: set "
                "them when building the processor, not per call"
            )
        if changed:
            current = {key: getattr(self, key) for key in SETTINGS}
            return MolmoImageProcessor(**{**current, **changed}).preprocess(images, return_tensors=return_tensors)
        outputs: dict[str, list] = {"crops": [], "masks": [], "numbers": [], "grid": [], "count": []}
        for image in make_flat_list_of_images(images):
            if hasattr(image, "convert"):  # PIL
                image = image.convert("RGB")
            array = to_numpy_array(image)
            if array.ndim == 3 and infer_channel_dimension_format(array) == ChannelDimension.FIRST:
                array = array.transpose(1, 2, 0)
            if array.ndim != 3 or array.shape[-1] != 3 or array.dtype != np.uint8:
                raise ValueError(
                    f"MolmoImageProcessor: images must be 8-bit RGB ([H, W, 3] uint8 or PIL), got shape "
                    f"{array.shape} of {array.dtype}"
                )
            crops = self.crops_of(np.ascontiguousarray(array))
            for key in ("crops", "masks", "numbers", "grid"):
                outputs[key].append(crops[key])
            outputs["count"].append(len(crops["crops"]))
        data = {
            "pixel_values": np.concatenate(outputs["crops"]).transpose(0, 3, 1, 2).astype(np.float32),
            "image_masks": np.concatenate(outputs["masks"]).astype(np.float32),
            "image_patch_order": np.concatenate(outputs["numbers"]),
            "image_num_crops": np.array(outputs["count"], dtype=np.int64),
            "image_grids": np.stack(outputs["grid"]).astype(np.int64),
        }
        return BatchFeature(data, tensor_type=return_tensors)


class MolmoProcessor(ProcessorMixin):
    r"""
    Molmo's processor: `MolmoImageProcessor` and Molmo's tokenizer (Qwen2's with `<im_start>`, `<im_end>`,
    `<im_patch>`, `<im_col>`, `<|image|>`); each `<|image|>` in the text becomes the image's crop tokens.

    Args:
        image_processor (`MolmoImageProcessor`), tokenizer: Molmo's.
        chat_template (`str`, *optional*): `MOLMO_CHAT_TEMPLATE`.
        image_token (`str`, defaults to `"<|image|>"`): the image placeholder.
    """

    def __init__(
        self, image_processor: Any = None, tokenizer: Any = None, chat_template: str | None = None,
        image_token: str = "<|image|>", **kwargs: Any,
    ) -> None:
        self.molmo_init(tokenizer, image_token)
        super().__init__(image_processor, tokenizer, chat_template=chat_template, **kwargs)

    def molmo_init(self, tokenizer: Any, image_token: str) -> None:
        """Check and set the image settings.

        Raises:
            ValueError: the tokenizer lacks `image_token` or one of Molmo's image markers.
        """
        if tokenizer is not None:
            missing = [token for token in (image_token, *IMAGE_MARKERS) if token not in tokenizer.get_vocab()]
            if missing:
                raise ValueError(f"the tokenizer has no {missing} (Molmo's tokenizers add them)")
        self.image_token = image_token
        self.image_token_id = None if tokenizer is None else tokenizer.convert_tokens_to_ids(image_token)

    def replace_image_token(self, image_inputs: dict, image_idx: int, **kwargs: Any) -> str:
        return self.image_processor.image_tokens(tuple(image_inputs["image_grids"][image_idx]))

    @property
    def unused_input_names(self) -> list[str]:
        """`image_grids` only sizes the image prompts."""
        return ["image_grids"]


class LinVTMolmoProcessor(LinVTProcessorMixin, MolmoProcessor):
    r"""
    Molmo's processor with LinVT's video processing (see `LinVTProcessorMixin` for the outputs).

    Args:
        image_processor, tokenizer, chat_template, image_token: Molmo's.
        video_processor (`LinVTVideoProcessor`, *optional*): built from the image processor when None.
        video_token (`str`, defaults to `"<video>"`): the video placeholder; added to the tokenizer if it lacks it.
        num_video_tokens (`int`, defaults to 112): video tokens per video.
        video_tokens_per_frame (`int`, *optional*): for the baseline tokenizers, tokens per time step instead.
    """

    frame_layout = FrameLayout(resize="fixed", output="frames")
    chat_turns = ChatTurns(turn_start="User:", user_role="", turn_end="Assistant:")
    dropped_image_outputs = ("image_grids",)  # (the LinVT processor's image path: see `unused_input_names`)

    def __init__(
        self,
        image_processor: Any = None,
        tokenizer: Any = None,
        video_processor: LinVTVideoProcessor | None = None,
        chat_template: str | None = None,
        image_token: str = "<|image|>",
        video_token: str = "<video>",
        num_video_tokens: int = DEFAULT_NUM_VIDEO_TOKENS,
        video_tokens_per_frame: int | None = None,
        **kwargs: Any,
    ) -> None:
        # As LinVTXGenMMProcessor: the image-LLM processor's arguments are listed so that `save_pretrained` keeps them.
        video_processor = self.linvt_init(image_processor, video_processor, num_video_tokens, video_tokens_per_frame)
        self.molmo_init(tokenizer, image_token)
        self.video_token = video_token
        tokenizer = with_video_token(tokenizer, video_token)
        ProcessorMixin.__init__(
            self, image_processor, tokenizer, video_processor, chat_template=chat_template, **kwargs
        )

    @classmethod
    def backbone_image_processor_class(cls) -> type[MolmoImageProcessor]:
        return MolmoImageProcessor


# Molmo's prompt (allenai/molmo `DataFormatter`, message_format "role", always_start_with_space): the BOS
# `<|endoftext|>`, the images (where the original puts an image without `<|image|>` in the text: first), each user
# turn " User: <text> Assistant:", each answer " <text>" ended by EOS. A video (LinVT's) opens its user turn, so
# that the question it goes with is that turn's text.
MOLMO_CHAT_TEMPLATE = (
    "{{ '<|endoftext|>' }}"
    "{% for message in messages %}{% if message['content'] is not string %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}{{ '<|image|>' }}{% endfor %}"
    "{% endif %}{% endfor %}"
    "{% for message in messages %}"
    "{% if message['content'] is string %}{% set text = message['content'] %}{% set videos = '' %}"
    "{% else %}"
    "{% set text = message['content'] | selectattr('type', 'equalto', 'text') | map(attribute='text') | join('') %}"
    "{% set videos = '<video>' * (message['content'] | selectattr('type', 'equalto', 'video') | list | length) %}"
    "{% endif %}"
    "{% if message['role'] == 'assistant' %}{% generation %}{{ ' ' + text + eos_token }}{% endgeneration %}"
    "{% else %}{{ ' User: ' + videos + text + ' Assistant:' }}{% endif %}"
    "{% endfor %}"
)

def tiny_processor_parts() -> dict[str, Any]:
    """What a Molmo processor at toy sizes needs besides its tokenizer (for tests): 28x28 crops of 14-pixel patches,
    2x2 pooling (one token per crop), at most 2 tiles, no overlap margins."""
    return dict(
        image_processor=MolmoImageProcessor(
            size={"height": 28, "width": 28}, patch_size=14, max_crops=2, overlap_margins=[0, 0]
        ),
        chat_template=MOLMO_CHAT_TEMPLATE,
        special_tokens=(*IMAGE_MARKERS, "<|image|>", "<video>"),
        named_tokens={},
        init_kwargs={},
    )


__all__ = ["MOLMO_CHAT_TEMPLATE", "LinVTMolmoProcessor", "MolmoImageProcessor", "MolmoProcessor"]
