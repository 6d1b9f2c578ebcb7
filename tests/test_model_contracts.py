"""The contracts transformers checks on its own models, checked on every LinVT family (tiny random models, offline).

Serialization (transformers' own save_pretrained / from_pretrained / push_to_hub of the whole model, in the image-LLM's
weight layout; the video tokenizer alone with save_video_tokenizer / push_video_tokenizer_to_hub /
from_video_tokenizer, against a local stand-in for the Hub; the model card), embeddings, gradient checkpointing, a
training step, batching, inputs_embeds, determinism, attention implementations and bfloat16.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path
from types import SimpleNamespace

import huggingface_hub
import numpy as np
import pytest
import torch
import transformers.utils.hub
from huggingface_hub import HfApi
from huggingface_hub.errors import EntryNotFoundError
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from transformers import AutoModel, AutoModelForImageTextToText

import fake_hub
from fake_hub import native_image_llm
from linvt_hf import FAMILIES, LinVTForConditionalGeneration
from linvt_hf import FAMILIES as FAMILY_TABLE
from linvt_hf.family import family_of
from linvt_hf.modeling.model_card import is_generated_card
from linvt_hf.testing.tiny_models import make_tiny
from run_doc_blocks import python_blocks

FAMILIES = sorted(FAMILIES)
QUESTIONS = ("what is the man doing", "describe the colours of the whole scene, from left to right")
TOL = 1e-5
FAKE_COMMIT = "0" * 40
ROOT = Path(__file__).resolve().parent.parent
LINVT_KEYS = re.compile(r"^(model\.video_tokenizer\.|video_text_logit_scale$)")


# ------------------------------------------------------------------------------------------------ helpers
@pytest.fixture(params=FAMILIES)
def family(request) -> str:
    return request.param


@pytest.fixture
def tiny(family):
    """(model, processor) of one family, tiny and random."""
    return make_tiny(family)


@pytest.fixture
def with_image_llm_folder(tiny, tmp_path):
    """The tiny model with its image-LLM saved on its own (the image-LLM's own class, as transformers writes it),
    named by `config.image_llm_name_or_path` (what `from_backbone` records), so that the video tokenizer saved alone
    can load onto it."""
    model, processor = tiny
    folder = tmp_path / "image_llm"
    native_image_llm(model).save_pretrained(folder)
    processor.tokenizer.save_pretrained(folder)  # InternVL's <video> id is read from it
    model.config.image_llm_name_or_path = str(folder)
    return model, processor


def _video_batch(processor, questions=QUESTIONS, num_frames=(4, 6), seeds=(0, 1), padding_side="right") -> dict:
    """One video prompt per question (random videos of `num_frames` frames drawn with `seeds`), padded into one
    batch."""
    processor.tokenizer.padding_side = padding_side
    conversations = []
    for question, frames, seed in zip(questions, num_frames, seeds):
        video = np.random.default_rng(seed).integers(0, 256, size=(frames, 56, 56, 3), dtype=np.uint8)
        content = [{"type": "video", "video": video}, {"type": "text", "text": question}]
        conversations.append([{"role": "user", "content": content}])
    return processor.apply_chat_template(
        conversations, tokenize=True, add_generation_prompt=True, return_dict=True, return_tensors="pt",
        processor_kwargs={"padding": True},
    )


def _labels(model, inputs: dict) -> torch.Tensor:
    """Next-token labels on the text: padding and video placeholders are ignored."""
    labels = inputs["input_ids"].masked_fill(inputs["attention_mask"] == 0, -100)
    return labels.masked_fill(labels == model.config.video_token_id, -100)


def _assert_same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    state_a, state_b = a.state_dict(), b.state_dict()
    assert state_a.keys() == state_b.keys()
    differing = [k for k in state_a if not torch.equal(state_a[k], state_b[k])]
    assert not differing, differing[:5]


def _assert_same_outputs(a: torch.Tensor, b: torch.Tensor) -> None:
    # Equal weights, but not always bit-equal outputs: weights memory-mapped from safetensors sit at other alignments
    # than freshly allocated ones, and CPU kernels may then round differently (seen at 2e-7 on LLaVA-OneVision).
    assert torch.allclose(a, b, atol=TOL, rtol=0), (a - b).abs().max()


def _assert_clean_loading(info: dict) -> None:
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"], info


def _size(path: Path) -> int:
    return path.stat().st_size


def _saved_keys(folder: Path) -> set[str]:
    with safe_open(folder / "model.safetensors", "pt") as handle:
        return set(handle.keys())


# ------------------------------------------------------------------------------------------------ full checkpoints
def test_save_load_round_trip_is_exact(tiny, tmp_path):
    model, processor = tiny
    inputs = _video_batch(processor)
    model.save_pretrained(tmp_path)
    # transformers' own save: no model card (save_model_card writes one when asked).
    assert set(os.listdir(tmp_path)) == {"config.json", "generation_config.json", "model.safetensors"}
    loaded, info = type(model).from_pretrained(tmp_path, output_loading_info=True)
    _assert_clean_loading(info)
    _assert_same_weights(model, loaded)
    with torch.no_grad():
        _assert_same_outputs(model(**inputs).logits, loaded(**inputs).logits)
    auto, info = AutoModelForImageTextToText.from_pretrained(tmp_path, output_loading_info=True)
    _assert_clean_loading(info)
    assert type(auto) is type(model)
    _assert_same_weights(model, auto)
    base = AutoModel.from_pretrained(tmp_path)
    assert type(base) is type(model.model)
    _assert_same_weights(model.model, base)


@pytest.mark.parametrize("family", FAMILIES)
def test_a_family_refuses_another_familys_checkpoint(family, tmp_path):
    # The config is read first: refused there, with the family and the checkpoint's type named.
    other = FAMILIES[(FAMILIES.index(family) + 1) % len(FAMILIES)]
    config_class = FAMILY_TABLE[other].config_class
    (tmp_path / "config.json").write_text(json.dumps({"model_type": config_class.model_type}))
    model_class = FAMILY_TABLE[family].for_generation_class
    expected = f"{FAMILY_TABLE[family].config_class.__name__} .* cannot load a '{config_class.model_type}' checkpoint"
    with pytest.raises(ValueError, match=expected):
        model_class.from_pretrained(tmp_path)


def test_checkpoint_keeps_the_image_llm_layout(tiny, tmp_path):
    """A saved LinVT model holds the image-LLM's weights under the names the image-LLM's own checkpoint uses (Qwen's
    `visual.*` / `model.layers.*`, `language_model.model.*` for the others), plus the video tokenizer's."""
    model, _ = tiny
    model.save_pretrained(tmp_path / "linvt")
    native_image_llm(model).save_pretrained(tmp_path / "image_llm")
    linvt_keys, image_llm_keys = _saved_keys(tmp_path / "linvt"), _saved_keys(tmp_path / "image_llm")
    assert {k for k in linvt_keys if not LINVT_KEYS.match(k)} == image_llm_keys
    assert {k for k in linvt_keys if LINVT_KEYS.match(k)} == {k for k in model.state_dict() if LINVT_KEYS.match(k)}


# ------------------------------------------------------------------------------------------------ video tokenizer alone
def test_video_tokenizer_round_trip_is_exact_and_small(with_image_llm_folder, tmp_path):
    model, processor = with_image_llm_folder
    full, small = tmp_path / "full", tmp_path / "video_tokenizer"
    model.save_pretrained(full)
    model.save_video_tokenizer(small)
    assert set(os.listdir(small)) == {"config.json", "model.safetensors"}
    config = json.loads((small / "config.json").read_text())
    assert config["model_type"] == "linvt" and config["image_llm_name_or_path"] == model.config.image_llm_name_or_path
    assert load_file(small / "model.safetensors").keys() == model.video_tokenizer.state_dict().keys()
    tokenizer_bytes = 4 * sum(p.numel() for p in model.video_tokenizer.parameters())
    assert _size(small / "model.safetensors") < tokenizer_bytes + 64_000  # float32 weights and a header, no more
    assert _size(small / "model.safetensors") < 0.5 * _size(full / "model.safetensors")

    inputs = _video_batch(processor)
    for loader in (type(model), LinVTForConditionalGeneration):
        loaded, info = loader.from_video_tokenizer(small, output_loading_info=True)
        # Everything comes from the two checkpoints but stage 1's contrastive temperature, which starts afresh.
        assert set(info["missing_keys"]) == {"video_text_logit_scale"}
        assert not info["unexpected_keys"] and not info["mismatched_keys"]
        assert type(loaded) is type(model)
        _assert_same_weights(model, loaded)
    with torch.no_grad():
        _assert_same_outputs(model(**inputs).logits, loaded(**inputs).logits)
    # The loaded model is whole: saved with save_pretrained, it is a full checkpoint.
    loaded.save_pretrained(tmp_path / "again")
    _assert_same_weights(model, type(model).from_pretrained(tmp_path / "again"))


def test_from_video_tokenizer_loading_arguments_reach_the_image_llm(with_image_llm_folder, tmp_path, monkeypatch):
    model, _ = with_image_llm_folder
    model.save_video_tokenizer(tmp_path)
    calls = []
    load = type(model).from_pretrained.__func__

    def from_pretrained(cls, *args, **kwargs):
        calls.append((args, kwargs))
        return load(cls, *args, **kwargs)

    monkeypatch.setattr(type(model), "from_pretrained", classmethod(from_pretrained))
    loaded = type(model).from_video_tokenizer(
        tmp_path, dtype=torch.bfloat16, device_map="cpu", attn_implementation="eager"
    )
    # One load: the image-LLM's checkpoint, with the loading arguments.
    [(args, kwargs)] = calls
    assert args == (model.config.image_llm_name_or_path,) and kwargs["device_map"] == "cpu"
    assert {p.dtype for p in loaded.parameters()} == {torch.bfloat16}
    assert loaded.config.get_text_config()._attn_implementation == "eager"
    # The video tokenizer's weights are the saved ones, rounded to bfloat16.
    for name, value in model.video_tokenizer.state_dict().items():
        assert torch.equal(loaded.video_tokenizer.state_dict()[name], value.to(torch.bfloat16)), name


def test_from_video_tokenizer_image_llm_from_elsewhere(with_image_llm_folder, tmp_path):
    model, _ = with_image_llm_folder
    model.save_video_tokenizer(tmp_path / "ckpt")
    moved = shutil.move(model.config.image_llm_name_or_path, tmp_path / "moved")
    with pytest.raises(OSError):
        type(model).from_video_tokenizer(tmp_path / "ckpt")
    loaded = type(model).from_video_tokenizer(tmp_path / "ckpt", image_llm_name_or_path=str(moved))
    _assert_same_weights(model, loaded)
    assert loaded.config.image_llm_name_or_path == str(moved)


def test_video_tokenizer_checkpoint_errors(with_image_llm_folder, tmp_path):
    model, _ = with_image_llm_folder
    folder = tmp_path / "ckpt"
    model.save_video_tokenizer(folder)

    config_path = folder / "config.json"
    config = json.loads(config_path.read_text())
    config_path.write_text(json.dumps({k: v for k, v in config.items() if k != "image_llm_name_or_path"}))
    with pytest.raises(ValueError, match="image_llm_name_or_path") as error:
        type(model).from_video_tokenizer(folder)
    assert str(folder) in str(error.value)
    config_path.write_text(json.dumps(config))

    weights_path = folder / "model.safetensors"
    weights = load_file(weights_path)
    dropped = sorted(weights)[0]
    save_file({**{k: v for k, v in weights.items() if k != dropped}, "stray": torch.zeros(2)}, weights_path)
    with pytest.raises(ValueError) as error:  # not a tokenizer run with freshly initialised weights
        type(model).from_video_tokenizer(folder)
    for text in (str(folder), dropped, "stray", "missing keys", "unexpected keys"):
        assert text in str(error.value)

    save_file(weights, weights_path)
    config_path.write_text(json.dumps({**config, "hidden_size": 64, "num_attention_heads": 4}))
    with pytest.raises(ValueError, match="mismatched shapes"):
        type(model).from_video_tokenizer(folder)

    model.config.image_llm_name_or_path = None
    with pytest.raises(ValueError, match="image_llm_name_or_path"):
        model.save_video_tokenizer(tmp_path / "nowhere")
    assert not (tmp_path / "nowhere").exists()


# ------------------------------------------------------------------------------------------------ model card
def test_model_card(family, with_image_llm_folder, tmp_path):
    model, _ = with_image_llm_folder
    model.save_pretrained(tmp_path)
    assert model.save_model_card(tmp_path, repo_id="me/tiny-linvt") == str(tmp_path / "README.md")
    card = huggingface_hub.ModelCard.load(tmp_path / "README.md")
    tokenizer = model.config.video_tokenizer_config
    assert card.data.library_name == "transformers" and card.data.pipeline_tag == "video-text-to-text"
    assert "linvt" in card.data.tags and family in card.data.tags
    assert card.data.base_model is None  # the image-LLM is a local folder, not a Hub repo
    expected = [
        f"| Image-LLM | `{model.config.image_llm_name_or_path}` (`{type(native_image_llm(model)).__name__}`) |",
        f"| LinVT model class | `{type(model).__name__}` |",
        f"| Video tokens per video | {model.config.num_video_tokens} (whatever the video's length) |",
        "| Video tokenizer | `linvt`, text condition on |",
        f"| Top-k tokens kept by SVR (k) | {tokenizer.top_k_tokens} |",
        "| Scales (TTA queries / MTP window) | 4 queries / window 1, 2 queries / window 2, 2 queries / window 4 |",
        "| Multi-scale variant | `multi_c` |",
        "| Layers (SVR / TTA), width, heads | 1 / 1, 32, 4 |",
        "| Parameters | video tokenizer 95.4K, image-LLM and the rest ",
        "| dtype | float32 |",
        'AutoModelForImageTextToText.from_pretrained("me/tiny-linvt", dtype="auto", device_map="auto")',
        f'LinVTProcessor.from_backbone("{model.config.image_llm_name_or_path}", num_video_tokens=8)',
        "model.generate(",
        "save_video_tokenizer",
        "arXiv:2412.05185",
    ]
    missing = [snippet for snippet in expected if snippet not in card.text]
    assert not missing, missing


@pytest.mark.parametrize(
    "overrides, line",
    [
        (dict(), "| Video tokenizer | `linvt`, text condition on |"),
        (
            dict(use_svr=False, temporal_prior=2.0),
            "| Video tokenizer | `linvt`, without SVR (TTA only), temporal prior 2 (frames clock), text condition on |",
        ),
        (
            dict(temporal_prior=2.0, temporal_prior_clock=["frames", "frames", "shots"]),
            "| Video tokenizer | `linvt`, temporal prior 2 (frames/frames/shots clock), text condition on |",
        ),
        (
            dict(use_tta=False, text_condition=False),
            "| Video tokenizer | `linvt`, without TTA (SVR only), text condition off |",
        ),
        (dict(video_tokenizer_type="avg"), "| Video tokens per video | 1 per frame |"),
        (dict(video_tokenizer_type="llama_vid"), "| Video tokenizer | `llama_vid`, text condition on |"),
    ],
)
def test_model_card_names_the_video_tokenizer_settings(overrides, line):
    model, _ = make_tiny("internvl", **overrides)
    card = str(model.create_model_card("me/model"))
    assert line in card
    if overrides.get("video_tokenizer_type", "linvt") != "linvt":
        assert "Top-k tokens" not in card  # LinVT's own settings only for LinVT


def test_model_card_names_a_hub_image_llm_as_base_model():
    model, _ = make_tiny("qwen2_vl")
    model.config.image_llm_name_or_path = "Qwen/Qwen2-VL-7B-Instruct"
    card = model.create_model_card("me/model", tags=["mine"])
    assert card.data.base_model == "Qwen/Qwen2-VL-7B-Instruct" and "mine" in card.data.tags
    assert 'LinVTProcessor.from_backbone("Qwen/Qwen2-VL-7B-Instruct", num_video_tokens=8)' in card.text
    assert "AutoProcessor" not in card.text
    model.config.image_llm_name_or_path = None  # nothing to build the processor from: the repo must hold it
    assert 'processor = AutoProcessor.from_pretrained("me/model")' in model.create_model_card("me/model").text


def test_a_readme_the_user_wrote_is_never_overwritten(with_image_llm_folder, tmp_path, caplog):
    model, _ = with_image_llm_folder
    (tmp_path / "README.md").write_text("# My model\n")
    with caplog.at_level(logging.WARNING):
        assert model.save_model_card(tmp_path) is None
    assert (tmp_path / "README.md").read_text() == "# My model\n"
    assert "kept" in caplog.text and "overwrite=True" in caplog.text

    generated = tmp_path / "generated"
    model.save_model_card(generated)
    card = (generated / "README.md").read_text()
    assert is_generated_card(card)
    model.config.video_tokenizer_config.top_k_tokens = 32  # an untouched generated card is refreshed
    model.save_model_card(generated)
    assert "| Top-k tokens kept by SVR (k) | 32 |" in (generated / "README.md").read_text()
    (generated / "README.md").write_text(card.replace("## Usage", "## Usage\n\nMy notes."))
    model.save_model_card(generated)
    assert "My notes." in (generated / "README.md").read_text()

    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert model.save_model_card(generated, overwrite=True) == str(generated / "README.md")
    assert "overwritten" in caplog.text
    assert "My notes." not in (generated / "README.md").read_text()


@pytest.mark.parametrize("with_processor", [False, True], ids=["processor_from_backbone", "processor_in_repo"])
def test_model_card_snippet_runs(with_processor, tmp_path):
    """The card's Python block, run as written (in a fresh process, offline) against the saved model published on a
    local stand-in for the Hub (tests/fake_hub.py), the image-LLM it names published there too."""
    cache, folder, repo_id = tmp_path / "hub", tmp_path / "model", "me/tiny-linvt"
    backbone = next(iter(fake_hub.DOC_BACKBONES))
    fake_hub.publish_tiny_backbone(cache, backbone, fake_hub.DOC_BACKBONES[backbone])
    model, processor = make_tiny(fake_hub.DOC_BACKBONES[backbone])
    model.config.image_llm_name_or_path = backbone
    model.save_pretrained(folder)
    if with_processor:
        processor.save_pretrained(folder)
    model.save_model_card(folder, repo_id=repo_id)
    readme = (folder / "README.md").read_text()
    assert ("AutoProcessor.from_pretrained" in readme) is with_processor
    fake_hub.publish_folder(cache, repo_id, folder)
    shutil.copyfile(ROOT / "tests" / "data" / "videos" / "bigbuckbunny.mp4", tmp_path / "clip.mp4")
    env = {**os.environ, "HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    assert len(python_blocks(readme)) == 1
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "run_doc_blocks.py"), str(folder / "README.md")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4000:]


# ------------------------------------------------------------------------------------------------ push_to_hub
@pytest.fixture
def fake_hub_api(tmp_path, monkeypatch):
    """Stand in for the Hub's network calls that transformers' push and download paths make: repos are folders under
    the returned root, commits copy files there, and downloads read from there."""
    root = tmp_path / "hub"
    commits = []

    def create_repo(self, repo_id, *, token=None, private=None, exist_ok=False, **kwargs):
        repo_id = repo_id if "/" in repo_id else f"user/{repo_id}"
        (root / repo_id).mkdir(parents=True, exist_ok=exist_ok)
        return SimpleNamespace(repo_id=repo_id)

    def create_commit(self, repo_id, operations, *, commit_message=None, **kwargs):
        for operation in operations:
            destination = root / repo_id / operation.path_in_repo
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(operation.path_or_fileobj, destination)
        files = [operation.path_in_repo for operation in operations]
        commits.append(SimpleNamespace(repo_id=repo_id, message=commit_message, files=files))
        return commits[-1]

    def hf_hub_download(repo_id, filename, **kwargs):
        path = root / repo_id / filename
        if not path.is_file():
            raise EntryNotFoundError(f"{filename} is not in {repo_id}")
        return str(path)

    def cached_download(repo_id, filename, *, subfolder=None, revision=None, cache_dir=None, **kwargs):
        # What transformers' cached_file expects: the file placed in the cache's layout, found there afterwards.
        source = Path(hf_hub_download(repo_id, os.path.join(subfolder or "", filename)))
        repo_cache = Path(cache_dir) / f"models--{repo_id.replace('/', '--')}"
        (repo_cache / "refs").mkdir(parents=True, exist_ok=True)
        (repo_cache / "refs" / (revision or "main")).write_text(FAKE_COMMIT)
        destination = repo_cache / "snapshots" / FAKE_COMMIT / (subfolder or "") / filename
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)
        return str(destination)

    def resolve_revision(self, *args, **kwargs):
        raise ConnectionError("offline")  # transformers then keeps the revision it was given

    monkeypatch.setattr(HfApi, "create_repo", create_repo)
    monkeypatch.setattr(HfApi, "create_commit", create_commit)
    monkeypatch.setattr(HfApi, "resolve_revision", resolve_revision)
    monkeypatch.setattr(huggingface_hub.repocard, "hf_hub_download", hf_hub_download)
    monkeypatch.setattr(transformers.utils.hub, "hf_hub_download", cached_download)
    return SimpleNamespace(root=root, commits=commits)


def test_push_to_hub(tiny, fake_hub_api, tmp_path):
    model, _ = tiny
    model.push_to_hub("tiny-linvt")
    repo = fake_hub_api.root / "user" / "tiny-linvt"
    assert {"config.json", "model.safetensors"} <= set(os.listdir(repo))
    _assert_same_weights(model, AutoModelForImageTextToText.from_pretrained(repo))
    loaded = AutoModelForImageTextToText.from_pretrained("user/tiny-linvt", cache_dir=tmp_path / "cache")
    _assert_same_weights(model, loaded)


def test_push_video_tokenizer_to_hub(tiny, fake_hub_api, tmp_path):
    """The video tokenizer and the image-LLM it names are both Hub repos (served by the stand-in)."""
    model, _ = tiny
    native = native_image_llm(model)
    native.push_to_hub("user/image-llm")
    model.config.image_llm_name_or_path = "user/image-llm"
    model.push_video_tokenizer_to_hub("user/video-tokenizer", commit_message="the video tokenizer")
    repo = fake_hub_api.root / "user" / "video-tokenizer"
    assert {"config.json", "model.safetensors"} <= set(os.listdir(repo))
    assert fake_hub_api.commits[-1].message == "the video tokenizer"
    assert json.loads((repo / "config.json").read_text())["image_llm_name_or_path"] == "user/image-llm"
    assert load_file(repo / "model.safetensors").keys() == model.video_tokenizer.state_dict().keys()
    # (video_token_id given: InternVL would read it from the image-LLM's tokenizer, which the stand-in does not serve.)
    loaded, info = LinVTForConditionalGeneration.from_video_tokenizer(
        "user/video-tokenizer", cache_dir=tmp_path / "cache", output_loading_info=True,
        video_token_id=model.config.video_token_id,
    )
    assert set(info["missing_keys"]) == {"video_text_logit_scale"} and not info["unexpected_keys"]
    assert type(loaded) is type(model)
    _assert_same_weights(model, loaded)
    assert loaded.config.image_llm_name_or_path == "user/image-llm"


# ------------------------------------------------------------------------------------------------ embeddings
def test_input_embeddings(tiny):
    model, processor = tiny
    llm = model.get_submodule(family_of(model).language_model)  # the LLM's decoder stack
    embeddings = model.get_input_embeddings()
    assert embeddings is llm.embed_tokens
    replacement = torch.nn.Embedding(*embeddings.weight.shape)
    model.set_input_embeddings(replacement)
    assert model.get_input_embeddings() is replacement is llm.embed_tokens


def test_resize_token_embeddings(tiny):
    model, processor = tiny
    vocab = model.get_input_embeddings().weight.shape[0]
    model.resize_token_embeddings(vocab + 8, mean_resizing=False)
    assert model.get_input_embeddings().weight.shape[0] == vocab + 8
    assert model.get_output_embeddings().weight.shape[0] == vocab + 8
    assert model.config.get_text_config().vocab_size == vocab + 8
    with torch.no_grad():
        assert model(**_video_batch(processor)).logits.shape[-1] == vocab + 8


# ------------------------------------------------------------------------------------------------ training
def _loss_and_grads(model, inputs: dict) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    model.zero_grad()
    loss = model(**inputs, labels=_labels(model, inputs)).loss
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def test_gradient_checkpointing_gives_the_same_loss_and_grads(tiny):
    model, processor = tiny
    model.train()
    inputs = _video_batch(processor)
    loss, grads = _loss_and_grads(model, inputs)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # transformers 5 renames it activation_checkpointing_enable
        model.gradient_checkpointing_enable()
    svr = model.video_tokenizer.svr
    assert svr.gradient_checkpointing
    calls = []
    checkpoint = svr._gradient_checkpointing_func
    svr._gradient_checkpointing_func = lambda *args, **kw: calls.append(1) or checkpoint(*args, **kw)
    checkpointed_loss, checkpointed_grads = _loss_and_grads(model, inputs)
    assert calls, "LinVT's SVR layers did not run checkpointed"
    assert torch.allclose(loss, checkpointed_loss, atol=TOL)
    assert grads.keys() == checkpointed_grads.keys()
    for name, grad in grads.items():
        assert torch.allclose(grad, checkpointed_grads[name], atol=TOL), name

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        model.gradient_checkpointing_disable()
    assert not svr.gradient_checkpointing


def _assert_linvt_gets_gradients(model, inputs: dict) -> None:
    assert all(p.grad is not None for p in model.video_tokenizer.parameters())
    zero = {n for n, p in model.video_tokenizer.named_parameters() if not p.grad.any()}
    with torch.no_grad():
        grids = model.get_video_features(**inputs).frame_token_grids
    if all(rows * cols == 1 for rows, cols in grids):
        # Attention within a frame of one token is a softmax over one entry: its queries and keys get no gradient.
        zero = {n for n in zero if not re.search(r"spatial_attn\.[qk]_proj", n)}
    assert not zero, sorted(zero)


def test_training_step(tiny):
    model, processor = tiny
    model.train()
    for module in model.vision_modules():
        module.requires_grad_(False)
    grad_modes = []
    model.vision_modules()[0].register_forward_hook(lambda *_: grad_modes.append(torch.is_grad_enabled()))
    inputs = _video_batch(processor)
    labels = _labels(model, inputs)
    # (A step of 0.5 overshoots now and then on these random tiny models, and 0.1 on LLaVA's (Phi) at the fifth step:
    # the loss then jumps back up.)
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.05)
    losses = []
    for step in range(5):
        optimizer.zero_grad()
        loss = model(**inputs, labels=labels).loss
        loss.backward()
        if step == 0:
            _assert_linvt_gets_gradients(model, inputs)
        optimizer.step()
        losses.append(loss.item())
    assert all(later < earlier for earlier, later in zip(losses, losses[1:])), losses
    assert grad_modes and not any(grad_modes)  # the frozen vision tower ran without autograd
    assert all(p.grad is None for module in model.vision_modules() for p in module.parameters())


# ------------------------------------------------------------------------------------------------ equivalences
@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_batch_equals_one_by_one(tiny, padding_side):
    model, processor = tiny
    batch = _video_batch(processor, padding_side=padding_side)
    with torch.no_grad():
        batched = model(**batch).logits
        for row, (question, frames) in enumerate(zip(QUESTIONS, (4, 6))):
            alone = model(**_video_batch(processor, [question], [frames], seeds=[row])).logits[0]
            real = batch["attention_mask"][row].bool()
            assert torch.allclose(batched[row][real], alone, atol=TOL), (batched[row][real] - alone).abs().max()


def test_inputs_embeds_equal_input_ids_for_text(tiny):
    model, processor = tiny
    processor.tokenizer.padding_side = "right"
    inputs = processor.tokenizer(list(QUESTIONS), padding=True, return_tensors="pt")
    with torch.no_grad():
        from_ids = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"]).logits
        embeds = model.get_input_embeddings()(inputs["input_ids"])
        from_embeds = model(inputs_embeds=embeds, attention_mask=inputs["attention_mask"]).logits
    assert torch.allclose(from_ids, from_embeds, atol=TOL)


def test_determinism(family, tiny):
    model, processor = tiny
    again, _ = make_tiny(family, seed=0)
    _assert_same_weights(model, again)
    inputs = _video_batch(processor)
    with torch.no_grad():
        first = model(**inputs).logits
        assert torch.equal(first, model(**inputs).logits)
        assert torch.equal(first, again(**inputs).logits)
    other, _ = make_tiny(family, seed=1)
    assert not torch.equal(model.video_tokenizer.svr.input_proj.weight, other.video_tokenizer.svr.input_proj.weight)


def test_attention_implementations_agree(tiny, tmp_path):
    model, processor = tiny
    model.save_pretrained(tmp_path)
    inputs = _video_batch(processor)
    logits = {}
    for implementation in ("eager", "sdpa"):
        loaded = type(model).from_pretrained(tmp_path, attn_implementation=implementation)
        assert loaded.config._attn_implementation == implementation
        assert loaded.config.get_text_config()._attn_implementation == implementation
        with torch.no_grad():
            logits[implementation] = loaded(**inputs).logits
    real = inputs["attention_mask"].bool()
    assert torch.allclose(logits["eager"][real], logits["sdpa"][real], atol=1e-4)
    model.set_attn_implementation("eager")
    assert model.config.get_text_config()._attn_implementation == "eager"
    with torch.no_grad():
        assert torch.allclose(model(**inputs).logits[real], logits["eager"][real], atol=TOL)


def test_bfloat16(tiny):
    model, processor = tiny
    model.to(torch.bfloat16)
    inputs = _video_batch(processor, padding_side="left")
    with torch.no_grad():
        logits = model(**inputs).logits
    assert logits.dtype == torch.bfloat16 and torch.isfinite(logits).all()
    sequences = model.generate(**inputs, max_new_tokens=3, do_sample=False)
    assert sequences.shape == (2, inputs["input_ids"].shape[1] + 3)
