"""The contracts transformers checks on its own models, checked on every LinVT family (tiny random models, offline).

Serialization (full and LinVT-only checkpoints, model card, push_to_hub against a local stand-in for the Hub),
embeddings, gradient checkpointing, a training step, batching, inputs_embeds, determinism, attention
implementations and bfloat16.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
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
from safetensors.torch import load_file, save_file
from transformers import AutoModel, AutoModelForImageTextToText

from linvt_hf.modeling.hub import LINVT_WEIGHTS_NAME, is_generated_card
from linvt_hf.testing.tiny_models import IMAGE_LLM_CONFIGS, make_tiny

FAMILIES = sorted(IMAGE_LLM_CONFIGS)
QUESTIONS = ("what is the man doing", "describe the colours of the whole scene, from left to right")
TOL = 1e-5
FAKE_COMMIT = "0" * 40


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
    """The tiny model with its image-LLM saved on its own, named by `config.image_llm_name_or_path` (what
    `from_backbone` records), so that LinVT-only checkpoints can load onto it."""
    model, processor = tiny
    folder = tmp_path / "image_llm"
    model.image_llm.save_pretrained(folder)
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


# ------------------------------------------------------------------------------------------------ full checkpoints
def test_save_load_round_trip_is_exact(tiny, tmp_path):
    model, processor = tiny
    inputs = _video_batch(processor)
    model.save_pretrained(tmp_path)
    assert {"config.json", "generation_config.json", "model.safetensors", "README.md"} <= set(os.listdir(tmp_path))
    loaded, info = type(model).from_pretrained(tmp_path, output_loading_info=True)
    _assert_clean_loading(info)
    _assert_same_weights(model, loaded)
    with torch.no_grad():
        _assert_same_outputs(model(**inputs).logits, loaded(**inputs).logits)
    auto, info = AutoModelForImageTextToText.from_pretrained(tmp_path, output_loading_info=True)
    _assert_clean_loading(info)
    assert type(auto) is type(model)
    _assert_same_weights(model, auto)


# ------------------------------------------------------------------------------------------------ LinVT-only
def test_linvt_only_round_trip_is_exact_and_small(with_image_llm_folder, tmp_path):
    model, processor = with_image_llm_folder
    full, small = tmp_path / "full", tmp_path / "linvt_only"
    model.save_pretrained(full)
    model.save_pretrained(small, linvt_only=True)
    assert set(os.listdir(small)) == {"config.json", "generation_config.json", LINVT_WEIGHTS_NAME, "README.md"}
    config = json.loads((small / "config.json").read_text())
    assert config["linvt_only"] is True and config["image_llm_name_or_path"] == model.config.image_llm_name_or_path
    weights = load_file(small / LINVT_WEIGHTS_NAME)
    assert all(key.startswith("linvt.") for key in weights)
    linvt_bytes = 4 * sum(p.numel() for p in model.linvt.parameters())
    assert _size(small / LINVT_WEIGHTS_NAME) < linvt_bytes + 64_000  # LinVT's float32 weights and a header, no more
    assert _size(small / LINVT_WEIGHTS_NAME) < 0.5 * _size(full / "model.safetensors")

    inputs = _video_batch(processor)
    for loader in (type(model), AutoModelForImageTextToText, AutoModel):
        loaded, info = loader.from_pretrained(small, output_loading_info=True)
        _assert_clean_loading(info)
        assert type(loaded) is type(model) and not hasattr(loaded.config, "linvt_only")
        _assert_same_weights(model, loaded)
    with torch.no_grad():
        _assert_same_outputs(model(**inputs).logits, loaded(**inputs).logits)
    # A loaded LinVT-only model is whole: saving it in full gives a full checkpoint.
    loaded.save_pretrained(tmp_path / "again")
    assert "linvt_only" not in json.loads((tmp_path / "again" / "config.json").read_text())
    _assert_same_weights(model, type(model).from_pretrained(tmp_path / "again"))


def test_linvt_only_loading_arguments_reach_the_image_llm(family, with_image_llm_folder, tmp_path):
    model, _ = with_image_llm_folder
    model.save_pretrained(tmp_path, linvt_only=True)
    loaded = AutoModelForImageTextToText.from_pretrained(tmp_path, dtype=torch.bfloat16, attn_implementation="eager")
    assert loaded.image_llm.dtype == torch.bfloat16
    assert {p.dtype for p in loaded.linvt.parameters()} == {torch.bfloat16}
    assert loaded.image_llm.config.get_text_config()._attn_implementation == "eager"
    # LinVT's weights are the saved ones, rounded to bfloat16.
    for name, value in model.linvt.state_dict().items():
        assert torch.equal(loaded.linvt.state_dict()[name], value.to(torch.bfloat16)), name


def test_linvt_only_image_llm_can_be_loaded_from_elsewhere(with_image_llm_folder, tmp_path):
    model, _ = with_image_llm_folder
    model.save_pretrained(tmp_path / "ckpt", linvt_only=True)
    moved = shutil.move(model.config.image_llm_name_or_path, tmp_path / "moved")
    with pytest.raises(OSError):
        type(model).from_pretrained(tmp_path / "ckpt")
    loaded = type(model).from_pretrained(tmp_path / "ckpt", image_llm_name_or_path=str(moved))
    _assert_same_weights(model, loaded)
    assert loaded.config.image_llm_name_or_path == str(moved)


def test_linvt_only_errors(with_image_llm_folder, tmp_path):
    model, _ = with_image_llm_folder
    folder = tmp_path / "ckpt"
    model.save_pretrained(folder, linvt_only=True)

    config_path = folder / "config.json"
    config = json.loads(config_path.read_text())
    config_path.write_text(json.dumps({k: v for k, v in config.items() if k != "image_llm_name_or_path"}))
    with pytest.raises(ValueError, match="image_llm_name_or_path") as error:
        type(model).from_pretrained(folder)
    assert str(folder) in str(error.value)
    config_path.write_text(json.dumps(config))

    weights_path = folder / LINVT_WEIGHTS_NAME
    weights = load_file(weights_path)
    dropped = sorted(weights)[0]
    save_file({**{k: v for k, v in weights.items() if k != dropped}, "linvt.stray": torch.zeros(2)}, weights_path)
    with pytest.raises(ValueError) as error:
        type(model).from_pretrained(folder)
    for text in (str(weights_path), dropped, "linvt.stray", "missing keys", "unexpected keys"):
        assert text in str(error.value)

    save_file(weights, weights_path)
    config_path.write_text(json.dumps({**config, "hidden_size": 64, "num_attention_heads": 4}))
    with pytest.raises(ValueError, match="mismatched shapes"):
        type(model).from_pretrained(folder)

    model.config.image_llm_name_or_path = None
    with pytest.raises(ValueError, match="image_llm_name_or_path"):
        model.save_pretrained(tmp_path / "nowhere", linvt_only=True)
    assert not (tmp_path / "nowhere").exists()


def test_saving_into_a_non_empty_folder(family, with_image_llm_folder, tmp_path, caplog):
    """As transformers: files of the same name are replaced, others kept; config.json says which weights count."""
    model, _ = with_image_llm_folder
    other, _ = make_tiny(family, seed=1)
    other.image_llm = model.image_llm  # the same image-LLM, another LinVT
    other.config.image_llm_name_or_path = model.config.image_llm_name_or_path
    folder = tmp_path / "ckpt"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")

    model.save_pretrained(folder)
    assert "full (image-LLM and LinVT weights)" in (folder / "README.md").read_text()
    with caplog.at_level(logging.WARNING):
        other.save_pretrained(folder, linvt_only=True)
    assert "model.safetensors" in caplog.text  # left in place, and said so
    assert {"model.safetensors", LINVT_WEIGHTS_NAME, "notes.txt"} <= set(os.listdir(folder))
    assert "A LinVT-only checkpoint" in (folder / "README.md").read_text()  # an untouched generated card follows
    _assert_same_weights(other, type(model).from_pretrained(folder))

    model.save_pretrained(folder)
    _assert_same_weights(model, type(model).from_pretrained(folder))
    assert (folder / "notes.txt").read_text() == "mine"


def test_a_readme_the_user_wrote_is_never_overwritten(with_image_llm_folder, tmp_path):
    model, _ = with_image_llm_folder
    (tmp_path / "README.md").write_text("# My model\n")
    model.save_pretrained(tmp_path)
    model.save_pretrained(tmp_path, linvt_only=True)
    assert (tmp_path / "README.md").read_text() == "# My model\n"

    edited = tmp_path / "edited"
    model.save_pretrained(edited)
    card = (edited / "README.md").read_text()
    assert is_generated_card(card)
    (edited / "README.md").write_text(card.replace("## Usage", "## Usage\n\nMy notes."))
    model.save_pretrained(edited, linvt_only=True)
    assert "My notes." in (edited / "README.md").read_text()


def test_model_card(family, with_image_llm_folder, tmp_path):
    model, _ = with_image_llm_folder
    model.save_pretrained(tmp_path, linvt_only=True)
    card = huggingface_hub.ModelCard.load(tmp_path / "README.md")
    config = model.config
    assert card.data.library_name == "transformers" and card.data.pipeline_tag == "video-text-to-text"
    assert "linvt" in card.data.tags and family in card.data.tags
    text = card.text
    expected = [
        config.image_llm_name_or_path,
        type(model.image_llm).__name__,
        f"| Video tokens per video | {config.num_video_tokens} ",
        f"| Top-k tokens kept by SVR (k) | {config.top_k_tokens} |",
        "4 queries / window 1, 2 queries / window 2, 2 queries / window 4",
        f"`{config.multiscale}`",
        "LinVT 95.4K, image-LLM",
        "AutoModelForImageTextToText.from_pretrained",
        "LinVTProcessor.from_backbone",
        "model.generate(",
        "arXiv:2412.05185",
        "## A LinVT-only checkpoint",
    ]
    missing = [snippet for snippet in expected if snippet not in text]
    assert not missing, missing


@pytest.mark.parametrize(
    "overrides, line",
    [
        (dict(), "| Tokenizer | `linvt`, text condition on |"),
        (
            dict(use_svr=False, temporal_prior=2.0),
            "| Tokenizer | `linvt`, without SVR (TTA only), temporal prior 2 (frames clock), text condition on |",
        ),
        (
            dict(temporal_prior=2.0, temporal_prior_clock=["frames", "frames", "shots"]),
            "| Tokenizer | `linvt`, temporal prior 2 (frames/frames/shots clock), text condition on |",
        ),
        (dict(use_tta=False, text_condition=False), "| Tokenizer | `linvt`, without TTA (SVR only), text condition off |"),
    ],
)
def test_model_card_names_the_ablation_switches_and_the_temporal_prior(overrides, line, tmp_path):
    from linvt_hf.modeling.hub import build_model_card

    model, _ = make_tiny("internvl", **overrides)
    assert line in str(build_model_card(model, "me/model"))


# ------------------------------------------------------------------------------------------------ push_to_hub
@pytest.fixture
def fake_hub(tmp_path, monkeypatch):
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


def test_push_to_hub(with_image_llm_folder, fake_hub, tmp_path):
    model, _ = with_image_llm_folder
    model.push_to_hub("tiny-linvt")
    repo = fake_hub.root / "user" / "tiny-linvt"
    assert {"config.json", "model.safetensors", "README.md"} <= set(os.listdir(repo))
    card = (repo / "README.md").read_text()
    assert 'from_pretrained("user/tiny-linvt"' in card and is_generated_card(card)
    _assert_same_weights(model, AutoModelForImageTextToText.from_pretrained(repo))

    # A LinVT-only checkpoint on the Hub must name its image-LLM by Hub id (a local folder is refused).
    model.image_llm.push_to_hub("user/image-llm")
    model.config.image_llm_name_or_path = "user/image-llm"
    model.push_to_hub("user/tiny-linvt-only", linvt_only=True, commit_message="LinVT only", tags=["mine"])
    repo = fake_hub.root / "user" / "tiny-linvt-only"
    assert LINVT_WEIGHTS_NAME in os.listdir(repo) and "model.safetensors" not in os.listdir(repo)
    assert fake_hub.commits[-1].message == "LinVT only"
    card = huggingface_hub.ModelCard.load(repo / "README.md")
    assert "mine" in card.data.tags and "## A LinVT-only checkpoint" in card.text
    _assert_same_weights(model, AutoModelForImageTextToText.from_pretrained(repo, cache_dir=tmp_path / "cache"))


def test_linvt_only_from_hub_repo_ids(tiny, fake_hub, tmp_path):
    """Both the LinVT-only checkpoint and the image-LLM it names are Hub repos (served by the stand-in)."""
    model, _ = tiny
    model.image_llm.push_to_hub("user/image-llm")
    model.config.image_llm_name_or_path = "user/image-llm"
    model.push_to_hub("user/linvt-only", linvt_only=True)
    assert "base_model: user/image-llm" in (fake_hub.root / "user" / "linvt-only" / "README.md").read_text()
    loaded, info = AutoModelForImageTextToText.from_pretrained(
        "user/linvt-only", cache_dir=tmp_path / "cache", output_loading_info=True
    )
    _assert_clean_loading(info)
    _assert_same_weights(model, loaded)
    assert loaded.config.image_llm_name_or_path == "user/image-llm"


def test_push_to_hub_keeps_the_repo_card(with_image_llm_folder, fake_hub, tmp_path):
    model, _ = with_image_llm_folder
    repo = fake_hub.root / "user" / "described"
    repo.mkdir(parents=True)
    (repo / "README.md").write_text("# Described by its author\n")
    model.push_to_hub("user/described", tags=["mine"])
    card = huggingface_hub.ModelCard.load(repo / "README.md")
    assert card.text.strip() == "# Described by its author" and "mine" in card.data.tags
    model.save_pretrained(tmp_path / "local", push_to_hub=True, repo_id="user/described")
    assert huggingface_hub.ModelCard.load(repo / "README.md").text.strip() == "# Described by its author"
    assert fake_hub.commits[-1].files and "README.md" not in fake_hub.commits[-1].files


def test_save_pretrained_push_to_hub(tiny, fake_hub, tmp_path):
    model, _ = tiny
    model.image_llm.push_to_hub("user/image-llm")
    model.config.image_llm_name_or_path = "user/image-llm"
    model.save_pretrained(tmp_path / "local", push_to_hub=True, repo_id="user/pushed", linvt_only=True)
    repo = fake_hub.root / "user" / "pushed"
    assert sorted(os.listdir(repo)) == sorted(os.listdir(tmp_path / "local"))
    _assert_same_weights(model, AutoModelForImageTextToText.from_pretrained(repo, cache_dir=tmp_path / "cache"))


# ------------------------------------------------------------------------------------------------ embeddings
def test_input_embeddings(tiny):
    model, processor = tiny
    embeddings = model.get_input_embeddings()
    assert embeddings is model.image_llm.get_input_embeddings()
    replacement = torch.nn.Embedding(*embeddings.weight.shape)
    model.set_input_embeddings(replacement)
    assert model.get_input_embeddings() is replacement is model.image_llm.get_input_embeddings()


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
    assert model.linvt.scorer.gradient_checkpointing
    calls = []
    checkpoint = model.linvt.scorer._gradient_checkpointing_func
    model.linvt.scorer._gradient_checkpointing_func = lambda *args, **kw: calls.append(1) or checkpoint(*args, **kw)
    checkpointed_loss, checkpointed_grads = _loss_and_grads(model, inputs)
    assert calls, "LinVT's SVR layers did not run checkpointed"
    assert torch.allclose(loss, checkpointed_loss, atol=TOL)
    assert grads.keys() == checkpointed_grads.keys()
    for name, grad in grads.items():
        assert torch.allclose(grad, checkpointed_grads[name], atol=TOL), name

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        model.gradient_checkpointing_disable()
    assert not model.linvt.scorer.gradient_checkpointing


def _assert_linvt_gets_gradients(model, inputs: dict) -> None:
    assert all(p.grad is not None for p in model.linvt.parameters())
    zero = {n for n, p in model.linvt.named_parameters() if not p.grad.any()}
    if all(rows * cols == 1 for rows, cols in model.frame_token_grids(inputs)):
        # Attention within a frame of one token is a softmax over one entry: its queries and keys get no gradient.
        zero = {n for n in zero if not re.search(r"spatial_attn\.[qk]_proj", n)}
    assert not zero, sorted(zero)


def test_training_step(tiny):
    model, processor = tiny
    model.train()
    for module in model.vision_modules:
        module.requires_grad_(False)
    grad_modes = []
    model.vision_modules[0].register_forward_hook(lambda *_: grad_modes.append(torch.is_grad_enabled()))
    inputs = _video_batch(processor)
    labels = _labels(model, inputs)
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.5)
    losses = []
    for step in range(5):
        optimizer.zero_grad()
        loss = model(**inputs, labels=labels).loss
        loss.backward()
        if step == 0:
            _assert_linvt_gets_gradients(model, inputs)
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0], losses
    assert grad_modes and not any(grad_modes)  # the frozen vision tower ran without autograd
    assert all(p.grad is None for module in model.vision_modules for p in module.parameters())


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
    assert not torch.equal(model.linvt.scorer.input_proj.weight, other.linvt.scorer.input_proj.weight)


def test_attention_implementations_agree(tiny, tmp_path):
    model, processor = tiny
    model.save_pretrained(tmp_path)
    inputs = _video_batch(processor)
    logits = {}
    for implementation in ("eager", "sdpa"):
        loaded = type(model).from_pretrained(tmp_path, attn_implementation=implementation)
        assert loaded.config._attn_implementation == implementation
        assert loaded.image_llm.config.get_text_config()._attn_implementation == implementation
        with torch.no_grad():
            logits[implementation] = loaded(**inputs).logits
    real = inputs["attention_mask"].bool()
    assert torch.allclose(logits["eager"][real], logits["sdpa"][real], atol=1e-4)
    model.set_attn_implementation("eager")
    assert model.image_llm.config.get_text_config()._attn_implementation == "eager"
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
