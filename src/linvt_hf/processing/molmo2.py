"""The LinVT processor of Molmo2: Molmo2's processor plus LinVT's video processing.

Frames are resized to Molmo2's base crop size (`size`, the square of its low-resolution global image view, no
tiling) and given as frames `[F, 3, S, S]`. A video placeholder `<|video|>` expands to `<frame_start>`,
`num_video_tokens` `<|video|>` tokens and `<frame_end>`, instead of Molmo2's own video prompt (every frame's timestamp
and rows x cols `<im_patch>` tokens). As Molmo2's processor does, each prompt starts with the tokenizer's BOS token
(added when missing), and `mm_token_type_ids` mark Molmo2's image tokens and markers 1 (attended bidirectionally)
and LinVT's video tokens 2.

Molmo2's image processor exists only on transformers' torchvision backend. `LinVTMolmo2ImageProcessor` is that image
processor with the three operations it takes from torchvision (bilinear/bicubic/nearest resize, normalize, grayscale
to RGB) written in torch: the same computations (`torch.nn.functional.interpolate`, `(x - mean) / std`), so it runs
where torchvision is not installed; everything else (crop tiling, patches, pooling indices) is Molmo2's own code.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch.nn import functional as F
from transformers import Molmo2Processor
from transformers.image_utils import PILImageResampling, SizeDict
from transformers.models.molmo2.image_processing_molmo2 import Molmo2ImageProcessor

from .processor import DEFAULT_NUM_VIDEO_TOKENS, LinVTProcessorMixin
from .video_processor import FrameLayout, LinVTVideoProcessor

MOLMO2_VIDEO_TOKEN = "<|video|>"
# What Molmo2's image processor's `resample` may be, as torch's `interpolate` modes.
INTERPOLATION_MODES = {
    PILImageResampling.BILINEAR: "bilinear",
    PILImageResampling.BICUBIC: "bicubic",
    PILImageResampling.NEAREST: "nearest-exact",
}


class LinVTMolmo2ImageProcessor(Molmo2ImageProcessor):
    r"""Molmo2's image processor without torchvision: `resize`, `normalize` and `convert_to_rgb` in torch (see the
    module docstring); its outputs (`pixel_values` `[num_crops, patches, patch * patch * 3]`, `image_token_pooling`,
    `image_grids`, `image_num_crops`) are Molmo2's."""

    def resize(
        self, image: torch.Tensor, size: SizeDict, resample: Any = None, antialias: bool = True, **kwargs: Any
    ) -> torch.Tensor:
        """`image` `[..., C, H, W]` resized to `size.height` x `size.width`.

        Raises:
            ValueError: a `resample` other than bilinear, bicubic or nearest, or a `size` without height and width.
        """
        resample = PILImageResampling.BILINEAR if resample is None else PILImageResampling(resample)
        if resample not in INTERPOLATION_MODES:
            raise ValueError(
                f"LinVTMolmo2ImageProcessor: resample {resample!r} is not one of {sorted(INTERPOLATION_MODES)}"
            )
        if not (size.height and size.width):
            raise ValueError(f"LinVTMolmo2ImageProcessor: size must give height and width, got {size}")
        mode = INTERPOLATION_MODES[resample]
        shape = image.shape
        flat = image.reshape(-1, *shape[-3:])
        options = {"align_corners": False, "antialias": antialias} if mode != "nearest-exact" else {}
        resized = F.interpolate(flat.float() if not flat.is_floating_point() else flat, (size.height, size.width),
                                mode=mode, **options)
        if not image.is_floating_point():
            resized = resized.round().clamp(0, 255).to(image.dtype)
        return resized.reshape(*shape[:-2], size.height, size.width)

    def normalize(
        self, image: torch.Tensor, mean: float | Iterable[float], std: float | Iterable[float], inplace: bool = False,
        **kwargs: Any,
    ) -> torch.Tensor:
        """`(image - mean) / std` per channel, `image` `[..., C, H, W]`."""
        mean = torch.as_tensor(mean, dtype=image.dtype, device=image.device).reshape(-1, 1, 1)
        std = torch.as_tensor(std, dtype=image.dtype, device=image.device).reshape(-1, 1, 1)
        return image.sub_(mean).div_(std) if inplace else (image - mean) / std

    def convert_to_rgb(self, image: torch.Tensor, input_data_format: Any = None) -> torch.Tensor:
        """A grayscale `[1, H, W]` image repeated to 3 channels; others as they are.

        Raises:
            ValueError: 4 channels (RGBA arrays: give PIL images, which are converted by PIL).
        """
        if image.ndim == 2:
            image = image[None]
        if image.shape[0] == 1:
            return image.expand(3, *image.shape[1:]).contiguous()
        if image.shape[0] == 4:
            raise ValueError("LinVTMolmo2ImageProcessor: RGBA arrays are not converted; give the image as a PIL image")
        return image


class LinVTMolmo2Processor(LinVTProcessorMixin, Molmo2Processor):
    r"""
    Molmo2's processor with LinVT's video processing (see `LinVTProcessorMixin` for the outputs).

    Args:
        image_processor, tokenizer, chat_template, image_use_col_tokens, use_single_crop_col_tokens,
            use_single_crop_start_token, video_use_col_tokens, use_frame_special_tokens: Molmo2's.
        video_processor (`LinVTVideoProcessor`, *optional*): built from the image processor when None.
        num_video_tokens (`int`, defaults to 112): video tokens per video.
        video_tokens_per_frame (`int`, *optional*): for the baseline tokenizers, tokens per time step instead.
    """

    frame_layout = FrameLayout(resize="fixed", output="frames")

    def __init__(
        self,
        image_processor: Any = None,
        video_processor: LinVTVideoProcessor | None = None,
        tokenizer: Any = None,
        chat_template: str | None = None,
        image_use_col_tokens: bool | None = True,
        use_single_crop_col_tokens: bool | None = None,
        use_single_crop_start_token: bool | None = True,
        video_use_col_tokens: bool | None = False,
        use_frame_special_tokens: bool | None = True,
        num_video_tokens: int = DEFAULT_NUM_VIDEO_TOKENS,
        video_tokens_per_frame: int | None = None,
        **kwargs: Any,
    ) -> None:
        # The image-LLM processor's own arguments are listed above so that `save_pretrained` keeps them; the
        # sub-processors in Molmo2's order (transformers maps positional arguments by this signature).
        video_processor = self.linvt_init(image_processor, video_processor, num_video_tokens, video_tokens_per_frame)
        Molmo2Processor.__init__(
            self,
            image_processor=torch_image_processor(image_processor),
            video_processor=video_processor,
            tokenizer=tokenizer,
            chat_template=chat_template,
            image_use_col_tokens=image_use_col_tokens,
            use_single_crop_col_tokens=use_single_crop_col_tokens,
            use_single_crop_start_token=use_single_crop_start_token,
            video_use_col_tokens=video_use_col_tokens,
            use_frame_special_tokens=use_frame_special_tokens,
            **kwargs,
        )

    @classmethod
    def backbone_image_processor_class(cls) -> type[LinVTMolmo2ImageProcessor]:
        """A checkpoint's image processor is read as `LinVTMolmo2ImageProcessor` (transformers' `AutoImageProcessor`
        would pick Molmo2's torchvision one)."""
        return LinVTMolmo2ImageProcessor

    def video_replacement(self, count: int) -> str:
        start, end = ("<frame_start>", "<frame_end>") if self.use_frame_special_tokens else ("<im_start>", "<im_end>")
        return f"{start}{self.video_token * count}{end}"

    def prompts_as_tokenized(self, texts: list[str]) -> list[str]:
        """As Molmo2's processor: every prompt starts with BOS (its chat templates do not write it)."""
        bos = self.tokenizer.bos_token or self.tokenizer.eos_token
        if bos is None:
            return texts
        return [text if text.startswith(bos) else bos + text for text in texts]


def torch_image_processor(image_processor: Any) -> Any:
    """`image_processor`, or, for Molmo2's torchvision image processor, a `LinVTMolmo2ImageProcessor` of its
    settings."""
    if image_processor is None or isinstance(image_processor, LinVTMolmo2ImageProcessor):
        return image_processor
    if isinstance(image_processor, Molmo2ImageProcessor):
        settings = image_processor.to_dict()
        settings.pop("image_processor_type", None)
        return LinVTMolmo2ImageProcessor(**settings)
    return image_processor


# A ChatML template rendering Molmo2's image and video placeholders (`<|image|>`, `<|video|>`), for the tiny test
# processor; Molmo2's checkpoints ship their own.
MOLMO2_TINY_CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for item in message['content'] %}"
    "{% if item['type'] == 'image' %}<|image|>{% elif item['type'] == 'video' %}<|video|>"
    "{% elif item['type'] == 'text' %}"
    "{% if message['role'] == 'assistant' %}{% generation %}{{ item['text'] }}{% endgeneration %}"
    "{% else %}{{ item['text'] }}{% endif %}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def tiny_processor_parts() -> dict[str, Any]:
    """What a Molmo2 processor at toy sizes needs besides its tokenizer (for tests): 28x28 crops of 14-pixel patches,
    2x2 pooling (1 token per crop), at most 2 high-resolution crops, no overlap margins."""
    named = {"image_token": "<|image|>", "video_token": MOLMO2_VIDEO_TOKEN}
    markers = ("<im_patch>", "<im_col>", "<im_start>", "<low_res_im_start>", "<frame_start>", "<im_end>",
               "<frame_end>", "<im_low>")
    return dict(
        image_processor=LinVTMolmo2ImageProcessor(
            size={"height": 28, "width": 28}, patch_size=14, pooling_size=[2, 2], max_crops=2, overlap_margins=[0, 0]
        ),
        chat_template=MOLMO2_TINY_CHAT_TEMPLATE,
        special_tokens=(*named.values(), *markers),
        named_tokens=named,
        init_kwargs={},
    )


__all__ = ["LinVTMolmo2ImageProcessor", "LinVTMolmo2Processor"]
