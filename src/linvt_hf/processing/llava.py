"""The LinVT processor of LLaVA (LLaVA-1.5, Mipha and the other LLaVA-style image-LLMs): its processor plus LinVT's
video processing.

Frames are resized to the image processor's `size` (`{"height", "width"}`, SigLIP's layout, Mipha's) or, for CLIP's
processors (LLaVA-1.5's), to its `crop_size`, and given as images; a video expands to `num_video_tokens` `<video>`
tokens. LLaVA's tokenizers have no video token: the processor adds `<video>` as a special token to a copy of its
tokenizer when that lacks one (its id is then the tokenizer's former length, which the model's `from_backbone` reads
the same way). LLaVA's chat template renders no videos;
`LLAVA_CHAT_TEMPLATE` (LLaVA-1.5's and Mipha's conversation format, "USER: ... ASSISTANT: ...", with videos) is the
one to set (`processor.chat_template = LLAVA_CHAT_TEMPLATE`).
"""

from __future__ import annotations

from typing import Any

from transformers import LlavaProcessor, SiglipImageProcessorPil
from transformers.processing_utils import ProcessorMixin

from .processor import DEFAULT_NUM_VIDEO_TOKENS, ChatTurns, LinVTProcessorMixin, with_video_token
from .video_processor import FrameLayout, LinVTVideoProcessor


def frames_at_crop_size(video_processor: LinVTVideoProcessor, image_processor: Any) -> LinVTVideoProcessor:
    """`video_processor`, or, when its `size` has no height and width but the image processor crops images to
    `crop_size` (CLIP's processors, LLaVA-1.5's: shortest edge resized, then a centre crop), a copy resizing frames to
    the crop size whole (the vision tower's input size; the frame keeps its whole field of view)."""
    size = {key: value for key, value in dict(video_processor.size or {}).items() if value is not None}
    crop = {key: value for key, value in dict(getattr(image_processor, "crop_size", None) or {}).items() if value}
    if ("height" in size and "width" in size) or not ("height" in crop and "width" in crop):
        return video_processor
    settings = {**video_processor.to_dict(), "size": {"height": crop["height"], "width": crop["width"]}}
    settings.pop("video_processor_type", None)
    return LinVTVideoProcessor(**settings)


class LinVTLlavaProcessor(LinVTProcessorMixin, LlavaProcessor):
    r"""
    LLaVA's processor with LinVT's video processing (see `LinVTProcessorMixin` for the outputs).

    Args:
        image_processor, tokenizer, chat_template, patch_size, vision_feature_select_strategy, image_token,
            num_additional_image_tokens: LLaVA's.
        video_processor (`LinVTVideoProcessor`, *optional*): built from the image processor when None.
        video_token (`str`, defaults to `"<video>"`): the video placeholder; added to the tokenizer if it lacks it.
        num_video_tokens (`int`, defaults to 112): video tokens per video.
        video_tokens_per_frame (`int`, *optional*): for the baseline tokenizers, tokens per time step instead.
    """

    frame_layout = FrameLayout(resize="fixed", output="frames")
    # LLaVA-1.5's and Mipha's conversation format: the question is what follows "USER:" up to "ASSISTANT:".
    chat_turns = ChatTurns(turn_start="USER:", user_role="", turn_end="ASSISTANT:")

    def linvt_init(
        self,
        image_processor: Any,
        video_processor: LinVTVideoProcessor | None,
        num_video_tokens: int,
        video_tokens_per_frame: int | None,
    ) -> LinVTVideoProcessor:
        video_processor = super().linvt_init(image_processor, video_processor, num_video_tokens, video_tokens_per_frame)
        return frames_at_crop_size(video_processor, image_processor)

    def __init__(
        self,
        image_processor: Any = None,
        tokenizer: Any = None,
        video_processor: LinVTVideoProcessor | None = None,
        patch_size: int | None = None,
        vision_feature_select_strategy: str | None = None,
        chat_template: str | None = None,
        image_token: str = "<image>",
        num_additional_image_tokens: int = 0,
        video_token: str = "<video>",
        num_video_tokens: int = DEFAULT_NUM_VIDEO_TOKENS,
        video_tokens_per_frame: int | None = None,
        **kwargs: Any,
    ) -> None:
        # The image-LLM processor's own arguments are listed above so that `save_pretrained` keeps them.
        # `LlavaProcessor.__init__` hands its parent no video processor, so its settings are set here as it sets them
        # and `ProcessorMixin.__init__` gets the three sub-processors.
        video_processor = self.linvt_init(image_processor, video_processor, num_video_tokens, video_tokens_per_frame)
        self.patch_size = patch_size
        self.num_additional_image_tokens = num_additional_image_tokens
        self.vision_feature_select_strategy = vision_feature_select_strategy
        self.image_token = tokenizer.image_token if hasattr(tokenizer, "image_token") else image_token
        self.image_token_id = tokenizer.encode(self.image_token, add_special_tokens=False)[0]
        tokenizer = with_video_token(tokenizer, video_token)
        self.video_token = video_token
        ProcessorMixin.__init__(
            self, image_processor, tokenizer, video_processor, chat_template=chat_template, **kwargs
        )


# LLaVA-1.5's chat template (llava-hf's) with videos, and the end of each answer marked by the tokenizer's eos token
# (Mipha's `<|endoftext|>`, LLaVA-1.5's `</s>`), as in their training conversations.
LLAVA_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] != 'system' %}{{ message['role'].upper() + ':' }}{% endif %}"
    "{% if message['content'] is string %}{{ ' ' + message['content'] + ' ' }}"
    "{% else %}"
    "{% if message['role'] != 'assistant' %}{{ ' ' }}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}{{ '<image>\n' }}{% endfor %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'video') %}{{ '<video>\n' }}{% endfor %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ content['text'] + ' ' }}"
    "{% endfor %}"
    "{% else %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}"
    "{% generation %}{{ ' ' + content['text'] + eos_token }}{% endgeneration %}{% endfor %}"
    "{% endif %}{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}"
)


def tiny_processor_parts() -> dict[str, Any]:
    """What a Mipha-shaped LLaVA processor at toy sizes needs besides its tokenizer (for tests): SigLIP's image
    processor at 28x28, 14-pixel patches -> 4 tokens per image (`patch_size=14`, strategy "full")."""
    named = {"image_token": "<image>", "video_token": "<video>"}
    return dict(
        image_processor=SiglipImageProcessorPil(size={"height": 28, "width": 28}),
        chat_template=LLAVA_CHAT_TEMPLATE,
        special_tokens=tuple(named.values()),
        named_tokens=named,
        init_kwargs={"patch_size": 14, "vision_feature_select_strategy": "full"},
    )


__all__ = ["LLAVA_CHAT_TEMPLATE", "LinVTLlavaProcessor"]
