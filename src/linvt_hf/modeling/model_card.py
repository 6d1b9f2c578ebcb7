"""The model card (README.md) of a LinVT model: what it extends, LinVT's settings and size, usage, citation.

`LinVTForConditionalGeneration.create_model_card(repo_id)` builds it (a `huggingface_hub.ModelCard`, which can be
pushed with its own `push_to_hub`); `save_model_card(save_directory)` writes it next to a saved model. A written card
is signed (a digest of its text in a trailing comment), so a later `save_model_card` refreshes a card it wrote and left
untouched, and keeps any README.md a person wrote or edited.
"""

from __future__ import annotations

import hashlib
import os
import re
from typing import TYPE_CHECKING

from huggingface_hub import ModelCard, ModelCardData
from transformers.utils import logging

from .checkpoints import image_llm_class_of, is_hub_repo_id
from .configuration_linvt import LinVTConfig
from .video_tokenizer import video_tokenizer_class

if TYPE_CHECKING:
    from .modeling_linvt import LinVTForConditionalGeneration

logger = logging.get_logger(__name__)

MODEL_CARD_NAME = "README.md"
# Files whose presence says a folder holds a saved processor (then `AutoProcessor.from_pretrained` loads it).
PROCESSOR_FILES = ("processor_config.json", "preprocessor_config.json", "video_preprocessor_config.json")
CITATION = """@article{gao2024linvt,
  title   = {LinVT: Empower Your Image-level Large Language Model to Understand Videos},
  author  = {Gao, Lishuai and Zhong, Yujie and Zeng, Yingsen and Tan, Haoxian and Li, Dengjie and Zhao, Zheng},
  journal = {arXiv preprint arXiv:2412.05185},
  year    = {2024}
}"""
_SIGNATURE = re.compile(r"\n<!-- linvt-hf model card ([0-9a-f]{16}): .* -->\n?$")


def format_count(count: int) -> str:
    """12345678 -> '12.3M'."""
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if count >= size:
            return f"{count / size:.1f}{unit}"
    return str(count)


def tokenizer_description(config: LinVTConfig) -> str:
    """The video tokenizer's type and the switches that change what it computes (ablations, the temporal prior)."""
    parts = [f"`{config.video_tokenizer_type}`"]
    if config.video_tokenizer_type == "linvt":
        if not config.use_svr:
            parts.append("without SVR (TTA only)")
        if not config.use_tta:
            parts.append("without TTA (SVR only)")
        if config.temporal_prior > 0:
            clock = config.temporal_prior_clock
            clock = clock if isinstance(clock, str) else "/".join(clock)  # one clock per query set
            parts.append(f"temporal prior {config.temporal_prior:g} ({clock} clock)")
    parts.append(f"text condition {'on' if config.text_condition else 'off'}")
    return ", ".join(parts)


def video_token_budget(config: LinVTConfig) -> tuple[str, int]:
    """The processor argument that sizes the prompts' video placeholders, and its value: LinVT's fixed count per
    video, or a baseline's count per frame (its output grows with the video)."""
    if config.video_tokenizer_type == "linvt":
        return "num_video_tokens", config.num_video_tokens
    return "video_tokens_per_frame", video_tokenizer_class(config).num_output_tokens(config, 1)


def settings_rows(model: LinVTForConditionalGeneration) -> list[tuple[str, str]]:
    """(setting, value) rows of the card's table; LinVT's settings come from `config.video_tokenizer_config`."""
    config, tokenizer = model.config, model.config.video_tokenizer_config
    name = config.image_llm_name_or_path or "unnamed"
    tokenizer_params = sum(p.numel() for p in model.video_tokenizer.parameters())
    total_params = sum(p.numel() for p in model.parameters())
    argument, count = video_token_budget(tokenizer)
    tokens = f"{count} (whatever the video's length)" if argument == "num_video_tokens" else f"{count} per frame"
    rows = [
        ("Image-LLM", f"`{name}` (`{image_llm_class_of(type(model)).__name__}`)"),
        ("LinVT model class", f"`{type(model).__name__}`"),
        ("Video tokens per video", tokens),
        ("Video tokenizer", tokenizer_description(tokenizer)),
    ]
    if tokenizer.video_tokenizer_type == "linvt":
        windows = zip(tokenizer.num_queries, tokenizer.pooling_windows)
        scales = ", ".join(f"{queries} queries / window {window}" for queries, window in windows)
        layers = f"{tokenizer.num_svr_layers} / {tokenizer.num_tta_layers}"
        rows += [
            ("Top-k tokens kept by SVR (k)", str(tokenizer.top_k_tokens)),
            ("Scales (TTA queries / MTP window)", scales),
            ("Multi-scale variant", f"`{tokenizer.multiscale}`"),
            ("Layers (SVR / TTA), width, heads", f"{layers}, {tokenizer.hidden_size}, {tokenizer.num_attention_heads}"),
        ]
    rest = total_params - tokenizer_params
    params = (
        f"video tokenizer {format_count(tokenizer_params)}, image-LLM and the rest {format_count(rest)}, "
        f"total {format_count(total_params)}"
    )
    rows += [("Parameters", params), ("dtype", str(model.dtype).removeprefix("torch."))]
    return rows


def usage_snippet(model: LinVTForConditionalGeneration, repo_id: str, processor_in_repo: bool) -> str:
    """A Python block that loads the model from `repo_id` and answers a question about a video: the processor from
    `repo_id` when it holds one, else from the image-LLM the config names."""
    image_llm = model.config.image_llm_name_or_path
    argument, count = video_token_budget(model.config.video_tokenizer_config)
    if processor_in_repo or not image_llm:
        imports = "AutoModelForImageTextToText, AutoProcessor"
        processor = f'processor = AutoProcessor.from_pretrained("{repo_id}")'
    else:
        imports = "AutoModelForImageTextToText"
        processor = f'processor = linvt_hf.LinVTProcessor.from_backbone("{image_llm}", {argument}={count})'
    return f"""```python
import linvt_hf  # registers the LinVT classes with transformers' Auto classes
from transformers import {imports}

model = AutoModelForImageTextToText.from_pretrained("{repo_id}", dtype="auto", device_map="auto")
{processor}

messages = [{{"role": "user", "content": [
    {{"type": "video", "path": "clip.mp4"}},
    {{"type": "text", "text": "What happens in this video?"}},
]}}]
inputs = processor.apply_chat_template(
    messages, tokenize=True, add_generation_prompt=True, return_dict=True, return_tensors="pt",
    processor_kwargs={{"num_frames": 16}},
).to(model.device)
output = model.generate(**inputs, max_new_tokens=128)
print(processor.batch_decode(output[:, inputs["input_ids"].shape[1]:], skip_special_tokens=True)[0])
```"""


def build_model_card(
    model: LinVTForConditionalGeneration,
    repo_id: str,
    tags: list[str] | None = None,
    processor_in_repo: bool = False,
) -> ModelCard:
    """The model card of a LinVT model.

    Args:
        model: the LinVT model (any family).
        repo_id (`str`): the Hub id or folder the usage snippet loads from.
        tags (`list[str]`, *optional*): extra Hub tags.
        processor_in_repo (`bool`): the repo holds the processor too (the snippet then loads it from there);
            otherwise the snippet builds it from the image-LLM the config names.
    """
    config = model.config
    image_llm = config.image_llm_name_or_path
    base_model = image_llm if is_hub_repo_id(image_llm) else None
    image_llm_type = config.image_llm_config_class().model_type
    card_tags = ["linvt", "video-llm", "video-text-to-text", image_llm_type, *(tags or [])]
    data = ModelCardData(
        library_name="transformers",
        pipeline_tag="video-text-to-text",
        tags=list(dict.fromkeys(card_tags)),
        base_model=base_model,
    )
    rows = "\n".join(f"| {name} | {value} |" for name, value in settings_rows(model))
    tokenizer_params = sum(p.numel() for p in model.video_tokenizer.parameters())
    total_params = sum(p.numel() for p in model.parameters())
    wrapped = f"[`{image_llm}`](https://huggingface.co/{image_llm})" if base_model else f"`{image_llm or 'unnamed'}`"
    title = repo_id.replace(os.sep, "/").rstrip("/").split("/")[-1]
    body = f"""# {title}

A [LinVT](https://arxiv.org/abs/2412.05185) video-LLM: the image-LLM {wrapped} with a video tokenizer between its
vision projector and its LLM. LinVT turns each video into a fixed number of tokens, every one a weighted average
(non-negative weights summing to one) of the image-LLM's own frame tokens; text and images go through the image-LLM
unchanged. Built with linvt-hf, on 🤗 transformers.

| Setting | Value |
|---|---|
{rows}

## Usage

{usage_snippet(model, repo_id, processor_in_repo)}

`model.save_video_tokenizer(folder)` saves the video tokenizer alone ({format_count(tokenizer_params)} parameters
instead of the whole model's {format_count(total_params)}), and `{type(model).__name__}.from_video_tokenizer(folder)`
loads it back onto the image-LLM its config names.

## Citation

```bibtex
{CITATION}
```
"""
    return ModelCard(f"---\n{data.to_yaml()}\n---\n\n{body}")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def signed_card_text(card: ModelCard) -> str:
    """The card's text, signed so that a later save can tell it was generated and not edited since."""
    text = str(card).rstrip("\n") + "\n"
    return f"{text}\n<!-- linvt-hf model card {_digest(text)}: edit freely, an edited card is never overwritten -->\n"


def is_generated_card(text: str) -> bool:
    """Whether `text` is a card written by linvt-hf and left as it was (which a new save may then refresh)."""
    match = _SIGNATURE.search(text)
    return match is not None and match.group(1) == _digest(text[: match.start()])


def holds_processor(folder: str | os.PathLike) -> bool:
    """Whether `folder` holds a saved processor."""
    return any(os.path.isfile(os.path.join(folder, name)) for name in PROCESSOR_FILES)


def write_model_card(card: ModelCard, save_directory: str | os.PathLike, overwrite: bool = False) -> str | None:
    """Write `card` (signed) as `save_directory/README.md`, unless a README.md that linvt-hf did not generate, or that
    was edited since, is there and `overwrite` is False: that one is kept (and a warning says so). With `overwrite`,
    replacing such a README is said in a warning too. Returns the path written, or None when the README was kept."""
    path = os.path.join(save_directory, MODEL_CARD_NAME)
    existing = None
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as handle:
            existing = handle.read()
    if existing is not None and not is_generated_card(existing):
        if not overwrite:
            logger.warning(
                f"{path} was written or edited by hand: kept as it is (save_model_card(..., overwrite=True) "
                "replaces it)"
            )
            return None
        logger.warning(f"{path} was written or edited by hand: overwritten with the generated card (overwrite=True)")
    os.makedirs(save_directory, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(signed_card_text(card))
    return path


__all__ = [
    "CITATION",
    "MODEL_CARD_NAME",
    "build_model_card",
    "holds_processor",
    "is_generated_card",
    "signed_card_text",
    "write_model_card",
]
