"""LinVT-only checkpoints and model cards, for `save_pretrained`, `push_to_hub` and `from_pretrained`.

A LinVT-only checkpoint is a folder or Hub repo holding `config.json`, with `"linvt_only": true` and the image-LLM
checkpoint it was trained on in `image_llm_name_or_path`, and `linvt.safetensors`, the tokenizer's weights alone (a few
hundred MB instead of the image-LLM's GB). Loading it loads that image-LLM with its own transformers class and puts
LinVT's weights on top. The marker lives in the saved config.json only, never on a model's config in memory: a model
is always whole once loaded, and `config.json` is rewritten by every save, so a folder can never say both things.
"""

from __future__ import annotations

import hashlib
import os
import re
from typing import TYPE_CHECKING, Any

import torch
from huggingface_hub import CommitOperationAdd, ModelCard, ModelCardData
from huggingface_hub.errors import EntryNotFoundError, HFValidationError
from huggingface_hub.utils import validate_repo_id
from safetensors.torch import load_file, save_file
from transformers.utils.hub import hf_api

if TYPE_CHECKING:
    from .modeling_linvt import LinVTForConditionalGeneration

LINVT_WEIGHTS_NAME = "linvt.safetensors"
LINVT_ONLY_KEY = "linvt_only"
MODEL_CARD_NAME = "README.md"
LINVT_PREFIX = "linvt."
# from_pretrained arguments that locate files of the checkpoint being loaded.
HUB_KWARGS = ("cache_dir", "force_download", "local_files_only", "proxies", "token", "revision", "subfolder")
# The image-LLM is another repository: same cache and credentials, but not the LinVT checkpoint's revision/subfolder.
IMAGE_LLM_HUB_KWARGS = ("cache_dir", "force_download", "local_files_only", "proxies", "token")
# from_pretrained arguments that only make sense for the Auto classes or for a full checkpoint.
DROPPED_KWARGS = ("_from_auto", "_from_pipeline", "adapter_kwargs", "trust_remote_code", "use_safetensors")

CITATION = """@article{gao2024linvt,
  title   = {LinVT: Empower Your Image-level Large Language Model to Understand Videos},
  author  = {Gao, Lishuai and Zhong, Yujie and Zeng, Yingsen and Tan, Haoxian and Li, Dengjie and Zhao, Zheng},
  journal = {arXiv preprint arXiv:2412.05185},
  year    = {2024}
}"""
_CARD_MARKER = re.compile(r"\n<!-- linvt-hf model card ([0-9a-f]{16}): .* -->\n?$")


# ---------------------------------------------------------------------------------------------- LinVT-only weights
def is_linvt_only(config: Any) -> bool:
    """Whether a loaded config.json is that of a LinVT-only checkpoint."""
    return bool(getattr(config, LINVT_ONLY_KEY, False))


def linvt_state_dict(
    model: LinVTForConditionalGeneration, state_dict: dict[str, torch.Tensor] | None = None
) -> dict[str, torch.Tensor]:
    """LinVT's weights under their full-model names (`linvt.*`), from `state_dict` when given (e.g. gathered by a
    distributed trainer), else from the model."""
    if state_dict is None:
        return {LINVT_PREFIX + k: v.detach().contiguous() for k, v in model.linvt.state_dict().items()}
    return {k: v.detach().contiguous() for k, v in state_dict.items() if k.startswith(LINVT_PREFIX)}


def save_linvt_weights(state_dict: dict[str, torch.Tensor], save_directory: str | os.PathLike) -> str:
    """Write LinVT's weights to `save_directory/linvt.safetensors`; returns the file's path."""
    path = os.path.join(save_directory, LINVT_WEIGHTS_NAME)
    save_file(state_dict, path, metadata={"format": "pt"})
    return path


def load_linvt_weights(model: LinVTForConditionalGeneration, path: str) -> None:
    """Copy the LinVT weights of `path` into `model.linvt`, exactly (cast to the module's dtype and device).

    Raises:
        ValueError: the file's keys or shapes are not those of `model.linvt` (names the file and the keys).
    """
    state = load_file(path)
    expected = {LINVT_PREFIX + k: v for k, v in model.linvt.state_dict().items()}
    missing, unexpected = sorted(expected.keys() - state.keys()), sorted(state.keys() - expected.keys())
    mismatched = sorted(
        f"{k}: {tuple(state[k].shape)} in the file, {tuple(v.shape)} in the model"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    )
    if missing or unexpected or mismatched:
        problems = {"missing keys": missing, "unexpected keys": unexpected, "mismatched shapes": mismatched}
        details = "; ".join(f"{name}: {keys}" for name, keys in problems.items() if keys)
        raise ValueError(
            f"the LinVT weights in {path} do not match {type(model).__name__} with this config ({details}); the "
            "checkpoint's config.json must describe the LinVT that wrote it"
        )
    model.linvt.load_state_dict({k[len(LINVT_PREFIX) :]: v for k, v in state.items()})


def split_linvt_only_kwargs(kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split `from_pretrained` kwargs into those that locate the LinVT checkpoint's files and the image-LLM's
    `from_pretrained` kwargs (dtype, device_map, attn_implementation, ... and the shared cache and credentials)."""
    download = {k: kwargs.pop(k) for k in HUB_KWARGS if k in kwargs}
    for name in DROPPED_KWARGS:
        kwargs.pop(name, None)
    image_llm = {k: download[k] for k in IMAGE_LLM_HUB_KWARGS if k in download}
    return download, {**image_llm, **kwargs}


def prefixed_loading_info(info: dict[str, Any], prefix: str) -> dict[str, Any]:
    """A submodule's `output_loading_info` dict with its keys named as in the whole model."""
    return {
        "missing_keys": {prefix + k for k in info.get("missing_keys", ())},
        "unexpected_keys": {prefix + k for k in info.get("unexpected_keys", ())},
        "mismatched_keys": {(prefix + k, *rest) for k, *rest in info.get("mismatched_keys", ())},
        "error_msgs": list(info.get("error_msgs", [])),
    }


# ---------------------------------------------------------------------------------------------- uploads
def file_timestamps(folder: str | os.PathLike) -> dict[str, float]:
    """Modification time of each entry at the top of `folder` (none when it does not exist yet)."""
    if not os.path.isdir(folder):
        return {}
    return {name: os.path.getmtime(os.path.join(folder, name)) for name in os.listdir(folder)}


def upload_changed_files(
    folder: str | os.PathLike,
    repo_id: str,
    since: dict[str, float] | None = None,
    keep: tuple[str, ...] = (),
    commit_message: str | None = None,
    token: bool | str | None = None,
    create_pr: bool = False,
    revision: str | None = None,
    commit_description: str | None = None,
) -> Any:
    """Upload the entries of `folder` that are new or changed since `since` (every entry when None), except `keep`
    (names whose copy in the repo must stay), in one commit (huggingface_hub's public `create_commit`, as
    transformers' own push does). Returns its `CommitInfo`."""
    since = since or {}
    changed = [
        name
        for name, mtime in file_timestamps(folder).items()
        if name not in keep and (name not in since or mtime > since[name])
    ]
    paths = []
    for name in changed:
        path = os.path.join(folder, name)
        paths += [os.path.join(root, f) for root, _, files in os.walk(path) for f in files] if os.path.isdir(path) else [path]
    operations = [
        CommitOperationAdd(path_in_repo=os.path.relpath(path, folder).replace(os.sep, "/"), path_or_fileobj=path)
        for path in sorted(paths)
    ]
    return hf_api().create_commit(
        repo_id=repo_id,
        operations=operations,
        commit_message=commit_message or "Upload model",
        commit_description=commit_description,
        token=token,
        create_pr=create_pr,
        revision=revision,
    )


# ---------------------------------------------------------------------------------------------- model cards
def is_hub_repo_id(name: str | None) -> bool:
    """Whether `name` reads as a Hub repo id (`org/name`) rather than a local folder."""
    if not name or os.path.isdir(name) or name.count("/") != 1:
        return False
    try:
        validate_repo_id(name)
    except HFValidationError:
        return False
    return True


def format_count(count: int) -> str:
    """12345678 -> '12.3M'."""
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if count >= size:
            return f"{count / size:.1f}{unit}"
    return str(count)


def _tokenizer_description(config) -> str:
    """The tokenizer type and the switches that change what it computes (ablations, the temporal prior)."""
    parts = [f"`{config.tokenizer_type}`"]
    if config.tokenizer_type == "linvt":
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


def _settings_rows(model: LinVTForConditionalGeneration, linvt_only: bool) -> list[tuple[str, str]]:
    config = model.config
    linvt_params = sum(p.numel() for p in model.linvt.parameters())
    image_llm_params = sum(p.numel() for p in model.image_llm.parameters())
    scales = ", ".join(f"{q} queries / window {w}" for q, w in zip(config.num_queries, config.pooling_windows))
    return [
        ("Image-LLM", f"`{config.image_llm_name_or_path or 'unnamed'}` (`{type(model.image_llm).__name__}`)"),
        ("LinVT model class", f"`{type(model).__name__}`"),
        ("Video tokens per video", f"{config.num_video_tokens} (whatever the video's length)"),
        ("Tokenizer", _tokenizer_description(config)),
        ("Top-k tokens kept by SVR (k)", str(config.top_k_tokens)),
        ("Scales (TTA queries / MTP window)", scales),
        ("Multi-scale variant", f"`{config.multiscale}`"),
        ("Layers (SVR / TTA), width, heads", f"{config.num_svr_layers} / {config.num_tta_layers}, "
         f"{config.hidden_size}, {config.num_attention_heads}"),
        ("Parameters", f"LinVT {format_count(linvt_params)}, image-LLM {format_count(image_llm_params)}, "
         f"total {format_count(linvt_params + image_llm_params)}"),
        ("dtype", str(model.dtype).removeprefix("torch.")),
        (
            "Checkpoint",
            f"LinVT only (`{LINVT_WEIGHTS_NAME}`), loaded onto the image-LLM above"
            if linvt_only
            else "full (image-LLM and LinVT weights)",
        ),
    ]


def _usage(model: LinVTForConditionalGeneration, repo_id: str) -> str:
    image_llm = model.config.image_llm_name_or_path
    if image_llm:
        processor = (
            f'processor = linvt_hf.LinVTProcessor.from_backbone(\n    "{image_llm}", '
            "num_video_tokens=model.config.num_video_tokens\n)"
        )
    else:
        processor = 'processor = linvt_hf.LinVTProcessor.from_pretrained("path/to/saved/processor")'
    return f"""```python
import linvt_hf  # registers the LinVT classes with transformers' Auto classes
from transformers import AutoModelForImageTextToText

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


def _linvt_only_section(model: LinVTForConditionalGeneration) -> str:
    name = model.config.image_llm_name_or_path
    return f"""## A LinVT-only checkpoint

This repository holds LinVT's weights alone (`{LINVT_WEIGHTS_NAME}`). `from_pretrained` reads `config.json`
(`"{LINVT_ONLY_KEY}": true`), loads the image-LLM it names in `image_llm_name_or_path` (`{name}`) with its own
transformers class (`{type(model.image_llm).__name__}`), then puts LinVT's weights on top. Loading arguments such as
`dtype`, `device_map`, `attn_implementation` or `quantization_config` apply to the image-LLM; `cache_dir`, `token` and
`local_files_only` to both; `revision` and `subfolder` to this repository only. Pass `image_llm_name_or_path=...` to
`from_pretrained` to load the image-LLM from elsewhere (a local copy, a pinned revision's snapshot). LinVT was trained
on that image-LLM's exact weights: loading it onto another checkpoint of the same architecture runs, but is not the
model this card describes.
"""


def build_model_card(
    model: LinVTForConditionalGeneration, repo_id: str, linvt_only: bool = False, tags: list[str] | None = None
) -> ModelCard:
    """The model card of a LinVT model: what it wraps, LinVT's settings and size, usage, citation.

    Args:
        repo_id (`str`): the Hub id or folder the usage snippet loads from.
        linvt_only (`bool`): describe a LinVT-only checkpoint (and how it loads onto its image-LLM).
        tags (`list[str]`, *optional*): extra Hub tags.
    """
    config = model.config
    image_llm = config.image_llm_name_or_path
    base_model = image_llm if is_hub_repo_id(image_llm) else None
    card_tags = ["linvt", "video-llm", "video-text-to-text", config.image_llm_config.model_type, *(tags or [])]
    data = ModelCardData(
        library_name="transformers",
        pipeline_tag="video-text-to-text",
        tags=list(dict.fromkeys(card_tags)),
        base_model=base_model,
        base_model_relation="adapter" if linvt_only and base_model else None,
    )
    rows = "\n".join(f"| {name} | {value} |" for name, value in _settings_rows(model, linvt_only))
    wrapped = f"[`{image_llm}`](https://huggingface.co/{image_llm})" if base_model else f"`{image_llm or 'unnamed'}`"
    body = f"""# {repo_id.rstrip("/").split("/")[-1]}

A [LinVT](https://arxiv.org/abs/2412.05185) video-LLM: the image-LLM {wrapped} with the Linear Video Tokenizer
between its vision projector and its LLM. Each video becomes {config.num_video_tokens} tokens, every one a weighted
average (non-negative weights summing to one) of the image-LLM's own frame tokens; text and images go through the
image-LLM unchanged. Built with linvt-hf, on 🤗 transformers.

| Setting | Value |
|---|---|
{rows}

## Usage

{_usage(model, repo_id)}

{_linvt_only_section(model) if linvt_only else ""}
## Citation

```bibtex
{CITATION}
```
"""
    return ModelCard(f"---\n{data.to_yaml()}\n---\n\n{body}")


def card_text(card: ModelCard) -> str:
    """The card's text, signed so that a later save can tell it was generated and not edited since."""
    text = str(card).rstrip("\n") + "\n"
    return f"{text}\n<!-- linvt-hf model card {_digest(text)}: edit freely, an edited card is never overwritten -->\n"


def is_generated_card(text: str) -> bool:
    """Whether `text` is a card written by linvt-hf and left as it was (which a new save may then refresh)."""
    match = _CARD_MARKER.search(text)
    return match is not None and match.group(1) == _digest(text[: match.start()])


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def read_text(path: str) -> str:
    """A text file's content, or "" when there is none."""
    if not os.path.isfile(path):
        return ""
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def write_model_card(card: ModelCard, save_directory: str | os.PathLike) -> bool:
    """Write `card` as `save_directory/README.md` unless a README.md not generated by linvt-hf is there (the user's,
    never overwritten). Returns whether it was written."""
    path = os.path.join(save_directory, MODEL_CARD_NAME)
    if os.path.isfile(path) and not is_generated_card(read_text(path)):
        return False
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(card_text(card))
    return True


def hub_model_card(repo_id: str, token: bool | str | None = None) -> ModelCard | None:
    """The README.md of a Hub repo, or None when it has none (or only one that linvt-hf generated)."""
    try:
        card = ModelCard.load(repo_id, token=token)
    except EntryNotFoundError:
        return None
    return None if is_generated_card(card.content) else card


def tag_card(card: ModelCard, tags: list[str] | None) -> ModelCard:
    """Add `tags` to a card's metadata (as transformers does when pushing)."""
    if tags:
        card.data.tags = list(dict.fromkeys([*(card.data.tags or []), *tags]))
    return card


__all__ = [
    "LINVT_ONLY_KEY",
    "LINVT_WEIGHTS_NAME",
    "build_model_card",
    "is_generated_card",
    "is_linvt_only",
    "load_linvt_weights",
    "save_linvt_weights",
    "write_model_card",
]
