"""The processors of xGen-MM (BLIP-3): `XGenMMProcessor` (the image-LLM's own, linvt-hf's port) and
`LinVTXGenMMProcessor` (plus LinVT's video processing).

Images are resized to the image processor's `size` (SigLIP's 384x384, bicubic) and normalized with mean and std 0.5,
as xGen-MM's original transform does; a transformers `SiglipImageProcessorPil` does exactly that without
torchvision. Each `<image>` placeholder expands to `num_vision_tokens` `<image>` tokens (the Perceiver resampler's
latents, 128 in the released models). Frames are resized the same way and given as images; a video expands to
`num_video_tokens` `<video>` tokens. xGen-MM's tokenizer (Phi-3's plus `<image>`, `<image placeholder>`,
`<|endofchunk|>`) has no video token: the LinVT processor adds `<video>` as a special token to a copy of it when it
lacks one. `XGENMM_CHAT_TEMPLATE` is xGen-MM instruct's Phi-3 conversation format, with videos.
"""

from __future__ import annotations

from typing import Any

from transformers import SiglipImageProcessorPil
from transformers.processing_utils import ProcessorMixin

from .processor import DEFAULT_NUM_VIDEO_TOKENS, ChatTurns, LinVTProcessorMixin, with_video_token
from .video_processor import FrameLayout, LinVTVideoProcessor

# xGen-MM instruct's system prompt (LAVIS xgen-mm, open_flamingo/train/conversation.py `conv_phi_3`).
XGENMM_SYSTEM_PROMPT = (
    "A chat between a curious user and an artificial intelligence assistant. "
    "The assistant gives helpful, detailed, and polite answers to the user's questions."
)


class XGenMMProcessor(ProcessorMixin):
    r"""
    xGen-MM's processor: a SigLIP image processor and xGen-MM's tokenizer; each `<image>` in the text expands to
    `num_vision_tokens` image tokens.

    Args:
        image_processor: SigLIP's (`SiglipImageProcessorPil` at 384x384 for the released models).
        tokenizer: xGen-MM's (Phi-3's with `<image>`).
        chat_template (`str`, *optional*): `XGENMM_CHAT_TEMPLATE` for the instruct models.
        image_token (`str`, defaults to `"<image>"`): the image placeholder.
        num_vision_tokens (`int`, defaults to 128): tokens per image (the model config's `num_vision_tokens`).
    """

    def __init__(
        self,
        image_processor: Any = None,
        tokenizer: Any = None,
        chat_template: str | None = None,
        image_token: str = "<image>",
        num_vision_tokens: int = 128,
        **kwargs: Any,
    ) -> None:
        self.xgenmm_init(tokenizer, image_token, num_vision_tokens)
        super().__init__(image_processor, tokenizer, chat_template=chat_template, **kwargs)

    def xgenmm_init(self, tokenizer: Any, image_token: str, num_vision_tokens: int) -> None:
        """Check and set the image settings.

        Raises:
            ValueError: `num_vision_tokens` is not a positive int, or the tokenizer lacks `image_token`.
        """
        if isinstance(num_vision_tokens, bool) or not isinstance(num_vision_tokens, int) or num_vision_tokens < 1:
            raise ValueError(f"num_vision_tokens must be a positive int, got {num_vision_tokens!r}")
        if tokenizer is not None and image_token not in tokenizer.get_vocab():
            raise ValueError(f"the tokenizer has no image token {image_token!r} (xGen-MM's tokenizers add it)")
        self.image_token = image_token
        self.image_token_id = None if tokenizer is None else tokenizer.convert_tokens_to_ids(image_token)
        self.num_vision_tokens = num_vision_tokens

    def replace_image_token(self, image_inputs: dict, image_idx: int, **kwargs: Any) -> str:
        return self.image_token * self.num_vision_tokens


class LinVTXGenMMProcessor(LinVTProcessorMixin, XGenMMProcessor):
    r"""
    xGen-MM's processor with LinVT's video processing (see `LinVTProcessorMixin` for the outputs).

    Args:
        image_processor, tokenizer, chat_template, image_token, num_vision_tokens: xGen-MM's.
        video_processor (`LinVTVideoProcessor`, *optional*): built from the image processor when None.
        video_token (`str`, defaults to `"<video>"`): the video placeholder; added to the tokenizer if it lacks it.
        num_video_tokens (`int`, defaults to 112): video tokens per video.
        video_tokens_per_frame (`int`, *optional*): for the baseline tokenizers, tokens per time step instead.
    """

    frame_layout = FrameLayout(resize="fixed", output="frames")
    # Phi-3's conversation format: "<|user|>\n...<|end|>\n<|assistant|>\n".
    chat_turns = ChatTurns(turn_start="<|user|>", user_role="", turn_end="<|end|>")

    def __init__(
        self,
        image_processor: Any = None,
        tokenizer: Any = None,
        video_processor: LinVTVideoProcessor | None = None,
        chat_template: str | None = None,
        image_token: str = "<image>",
        num_vision_tokens: int = 128,
        video_token: str = "<video>",
        num_video_tokens: int = DEFAULT_NUM_VIDEO_TOKENS,
        video_tokens_per_frame: int | None = None,
        **kwargs: Any,
    ) -> None:
        # The image-LLM processor's own arguments are listed above so that `save_pretrained` keeps them; its
        # `__init__` takes no video processor, so its settings are set here and `ProcessorMixin.__init__` gets the
        # three sub-processors.
        video_processor = self.linvt_init(image_processor, video_processor, num_video_tokens, video_tokens_per_frame)
        self.xgenmm_init(tokenizer, image_token, num_vision_tokens)
        self.video_token = video_token
        tokenizer = with_video_token(tokenizer, video_token)
        ProcessorMixin.__init__(
            self, image_processor, tokenizer, video_processor, chat_template=chat_template, **kwargs
        )


# xGen-MM instruct's conversation format (Phi-3's: "<|system|>\n...<|end|>\n<|user|>\n<image>\n...<|end|>\n
# <|assistant|>\n...<|end|>\n"), its system prompt when the conversation has none, with videos.
XGENMM_CHAT_TEMPLATE = (
    "{% if messages[0]['role'] != 'system' %}{{ \"<|system|>\n" + XGENMM_SYSTEM_PROMPT + "<|end|>\n\" }}{% endif %}"
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>\n' }}"
    "{% if message['content'] is string %}"
    "{% if message['role'] == 'assistant' %}{% generation %}{{ message['content'] + '<|end|>' }}{% endgeneration %}"
    "{% else %}{{ message['content'] + '<|end|>' }}{% endif %}"
    "{% else %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}{{ '<image>\n' }}{% endfor %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'video') %}{{ '<video>\n' }}{% endfor %}"
    "{% if message['role'] == 'assistant' %}{% generation %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ content['text'] }}{% endfor %}"
    "{{ '<|end|>' }}{% endgeneration %}"
    "{% else %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ content['text'] }}{% endfor %}"
    "{{ '<|end|>' }}{% endif %}"
    "{% endif %}"
    "{{ '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)


def tiny_processor_parts() -> dict[str, Any]:
    """What an xGen-MM processor at toy sizes needs besides its tokenizer (for tests): SigLIP's image processor at
    28x28, 6 tokens per image (`num_vision_tokens=6`), Phi-3's chat tokens."""
    return dict(
        image_processor=SiglipImageProcessorPil(size={"height": 28, "width": 28}),
        chat_template=XGENMM_CHAT_TEMPLATE,
        special_tokens=("<|system|>", "<|user|>", "<|assistant|>", "<|end|>", "<image>", "<video>"),
        named_tokens={},
        init_kwargs={"num_vision_tokens": 6},
    )


__all__ = ["XGENMM_CHAT_TEMPLATE", "LinVTXGenMMProcessor", "XGenMMProcessor"]
