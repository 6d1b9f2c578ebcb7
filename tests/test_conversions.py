"""Conversions from the paper's backbones' original checkpoint layouts (linvt_hf.conversions, `linvt-hf convert`).

Every fixture (tests/data/conversions/) was written by the ORIGINAL model code at toy sizes (make_fixtures.py there):
OpenGVLab's InternVLChatModel (Qwen2 and InternLM2 LLMs), LLaVA-NeXT's LlavaQwenForCausalLM (Aquila-VL-2B's
architecture), Mipha's MiphaPhiForCausalLM / MiphaPhi15ForCausalLM, xGen-MM's XGenMMPerceiver (LAVIS) and Molmo's
olmo.model.Molmo (allenai/molmo, with its own image preprocessor), with the logits they computed; the converted
transformers model, and the LinVT model `from_backbone` builds on it, must give those logits (<= 1e-4).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers import (
    InternVLForConditionalGeneration,
    LlavaForConditionalGeneration,
    LlavaOnevisionForConditionalGeneration,
)

import linvt_hf
from linvt_hf.cli import main as cli_main
from linvt_hf.conversions import (
    ConversionError,
    DestinationNotEmptyError,
    UnrecognizedKeysError,
    convert_checkpoint,
)
from linvt_hf.conversions.core import find_token_ids
from linvt_hf.testing import make_tiny_linvt_processor, make_tiny_tokenizer, tiny_linvt_config

FIXTURES = Path(__file__).resolve().parent / "data" / "conversions"


def logits(model, **inputs) -> torch.Tensor:
    with torch.no_grad():
        return model(**inputs).logits


# ------------------------------------------------------------------------------------------ InternVL2 (original code)
@pytest.mark.parametrize("fixture", ["internvl2_qwen2", "internvl2_internlm2"])
def test_internvl2_matches_the_original_code(fixture, tmp_path):
    destination = tmp_path / "hf"
    assert cli_main(["convert", "--from", "internvl2", str(FIXTURES / fixture), str(destination)]) == 0
    expected = load_file(FIXTURES / fixture / "expected.safetensors")
    model = InternVLForConditionalGeneration.from_pretrained(destination, dtype=torch.float32).eval()
    image = logits(model, input_ids=expected["input_ids"], pixel_values=expected["pixel_values"])
    text = logits(model, input_ids=expected["text_input_ids"])
    assert (image - expected["logits"]).abs().max() <= 1e-4
    assert (text - expected["text_logits"]).abs().max() <= 1e-4

    # from_backbone: a LinVT-InternVL on the converted folder answers images and text as the original did, and
    # takes videos (the fixture has the tiny test tokenizer's vocabulary, so its LinVT processor drives it).
    linvt = linvt_hf.LinVTForConditionalGeneration.from_backbone(
        destination, video_tokenizer_config=tiny_linvt_config(), dtype=torch.float32,
        video_token_id=json.loads((FIXTURES / fixture / "added_tokens.json").read_text())["<video>"],
    ).eval()
    assert isinstance(linvt, linvt_hf.LinVTInternVLForConditionalGeneration)
    assert (logits(linvt, input_ids=expected["input_ids"], pixel_values=expected["pixel_values"])
            - expected["logits"]).abs().max() <= 1e-4
    processor = make_tiny_linvt_processor("internvl", num_video_tokens=linvt.config.num_video_tokens)
    video = np.random.default_rng(0).integers(0, 256, size=(6, 56, 56, 3), dtype=np.uint8)
    conversation = [{"role": "user", "content": [{"type": "video", "video": video}, {"type": "text", "text": "what?"}]}]
    inputs = processor.apply_chat_template(conversation, add_generation_prompt=True, tokenize=True, return_dict=True,
                                           return_tensors="pt")
    with torch.no_grad():
        output = linvt.generate(**inputs, max_new_tokens=2, do_sample=False)
    assert output.shape == (1, inputs["input_ids"].shape[1] + 2)


def test_unrecognised_keys_are_named_and_nothing_is_written(tmp_path):
    source = tmp_path / "original"
    source.mkdir()
    for name in ("config.json", "added_tokens.json"):
        (source / name).write_bytes((FIXTURES / "internvl2_qwen2" / name).read_bytes())
    weights = load_file(FIXTURES / "internvl2_qwen2" / "model.safetensors")
    weights["vision_model.extra_adapter.weight"] = torch.zeros(2)
    save_file(weights, source / "model.safetensors")
    with pytest.raises(UnrecognizedKeysError, match="vision_model.extra_adapter.weight"):
        convert_checkpoint("internvl2", source, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    # A key that renames to nothing the transformers model has is refused too.
    del weights["vision_model.extra_adapter.weight"]
    weights["language_model.model.layers.0.extra.weight"] = torch.zeros(2)
    save_file(weights, source / "model.safetensors")
    with pytest.raises(ConversionError, match="model.language_model.layers.0.extra.weight"):
        convert_checkpoint("internvl2", source, tmp_path / "out")


def test_saved_rotary_frequencies_are_checked_not_copied(tmp_path):
    """Older checkpoints saved rotary_emb.inv_freq; transformers recomputes it: equal ones are left out (noted),
    others refused."""
    source = tmp_path / "original"
    source.mkdir()
    for name in ("config.json", "added_tokens.json"):
        (source / name).write_bytes((FIXTURES / "internvl2_qwen2" / name).read_bytes())
    weights = load_file(FIXTURES / "internvl2_qwen2" / "model.safetensors")
    key = "language_model.model.layers.0.self_attn.rotary_emb.inv_freq"
    weights[key] = 1.0 / (10000.0 ** (torch.arange(0, 8, 2, dtype=torch.float32) / 8))  # head_dim 8, theta 1e4
    save_file(weights, source / "model.safetensors")
    report = convert_checkpoint("internvl2", source, tmp_path / "out")
    assert any("inv_freq" in note for note in report.notes)
    weights[key] = weights[key] * 2
    save_file(weights, source / "model.safetensors")
    with pytest.raises(ConversionError, match="rotary frequencies"):
        convert_checkpoint("internvl2", source, tmp_path / "out2")


def test_special_token_ids_are_read_from_tokenizer_files(tmp_path):
    tokenizer = make_tiny_tokenizer("internvl")
    tokenizer.save_pretrained(tmp_path)
    ids = find_token_ids(tmp_path, ["<IMG_CONTEXT>", "<video>", "<no such token>"])
    assert ids == {"<IMG_CONTEXT>": tokenizer.convert_tokens_to_ids("<IMG_CONTEXT>"),
                   "<video>": tokenizer.convert_tokens_to_ids("<video>"), "<no such token>": None}


def test_cli_options_of_another_layout_are_refused(tmp_path, capsys):
    source = str(FIXTURES / "internvl2_qwen2")
    for option in (["--drop-lm-head-bias"], ["--video-token-id", "3"], ["--vision-config", "{}"]):
        assert cli_main(["convert", "--from", "internvl2", source, str(tmp_path / "out"), *option]) == 2
        assert "applies to --from" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_non_empty_destination_needs_overwrite(tmp_path, capsys):
    destination = tmp_path / "out"
    destination.mkdir()
    (destination / "mine.txt").write_text("keep me")
    with pytest.raises(DestinationNotEmptyError, match="not empty"):
        convert_checkpoint("internvl2", FIXTURES / "internvl2_qwen2", destination)
    assert cli_main(["convert", "--from", "internvl2", str(FIXTURES / "internvl2_qwen2"), str(destination)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert (destination / "mine.txt").read_text() == "keep me"
    convert_checkpoint("internvl2", FIXTURES / "internvl2_qwen2", destination, overwrite=True)
    assert not (destination / "mine.txt").exists() and (destination / "config.json").is_file()
    # The original's own folder (or one holding it) is never the output, even with overwrite.
    source = tmp_path / "original"
    source.mkdir()
    for name in ("config.json", "added_tokens.json", "model.safetensors"):
        (source / name).write_bytes((FIXTURES / "internvl2_qwen2" / name).read_bytes())
    for output in (source, tmp_path):
        with pytest.raises(DestinationNotEmptyError, match="holds the original"):
            convert_checkpoint("internvl2", source, output, overwrite=True)
    assert (source / "model.safetensors").is_file()


def test_wrong_checkpoint_for_the_layout(tmp_path):
    with pytest.raises(ConversionError, match="model_type 'internvl_chat'"):
        convert_checkpoint("mipha", FIXTURES / "internvl2_qwen2", tmp_path / "out")
    with pytest.raises(ConversionError, match="not an original InternVL2 checkpoint"):
        convert_checkpoint("internvl2", FIXTURES / "mipha_phi2", tmp_path / "out")
    with pytest.raises(ConversionError, match="'MiphaPhiForCausalLM' checkpoint"):
        convert_checkpoint("llava_next_aquila", FIXTURES / "mipha_phi2", tmp_path / "out")
    with pytest.raises(ValueError, match="unknown checkpoint layout"):
        convert_checkpoint("blip3", FIXTURES / "internvl2_qwen2", tmp_path / "out")


# ------------------------------------------------------------- Aquila-VL (LLaVA-NeXT) and Mipha (original code)
TINY_SIGLIP = {"num_attention_heads": 2, "hidden_act": "gelu_pytorch_tanh", "layer_norm_eps": 1e-6}


def test_aquila_llava_next_matches_the_original_code(tmp_path):
    """LLaVA-NeXT's LlavaQwenForCausalLM on an anyres image (base + 1x2 tiles, unpadded, image_newline rows)."""
    source = FIXTURES / "aquila_llava_next"
    assert cli_main(["convert", "--from", "llava_next_aquila", str(source), str(tmp_path / "hf"),
                     "--vision-config", json.dumps(TINY_SIGLIP)]) == 0
    expected = load_file(source / "expected.safetensors")
    model = LlavaOnevisionForConditionalGeneration.from_pretrained(tmp_path / "hf", dtype=torch.float32).eval()
    n = int(expected["num_image_tokens"])  # the original's -200 becomes n image tokens
    inputs = dict(input_ids=torch.tensor([[1, 2] + [60] * n + [4, 5, 6]]), pixel_values=expected["pixel_values"][None],
                  image_sizes=expected["image_sizes"])
    image = logits(model, **inputs)[:, expected["positions"]]
    assert (image - expected["logits"]).abs().max() <= 1e-4
    assert (logits(model, input_ids=expected["text_input_ids"]) - expected["text_logits"]).abs().max() <= 1e-4

    linvt = linvt_hf.LinVTForConditionalGeneration.from_backbone(
        tmp_path / "hf", video_tokenizer_config=tiny_linvt_config(), dtype=torch.float32
    ).eval()
    assert isinstance(linvt, linvt_hf.LinVTLlavaOnevisionForConditionalGeneration)
    assert (logits(linvt, **inputs)[:, expected["positions"]] - expected["logits"]).abs().max() <= 1e-4


def test_aquila_tower_settings_and_tied_heads(tmp_path):
    source = tmp_path / "aquila"
    source.mkdir()
    (source / "added_tokens.json").write_bytes((FIXTURES / "aquila_llava_next" / "added_tokens.json").read_bytes())
    config = json.loads((FIXTURES / "aquila_llava_next" / "config.json").read_text())
    weights = load_file(FIXTURES / "aquila_llava_next" / "model.safetensors")
    (source / "config.json").write_text(json.dumps({**config, "mm_vision_tower": "someone/other-siglip"}))
    save_file(weights, source / "model.safetensors")
    with pytest.raises(ConversionError, match="num_attention_heads"):  # the tower's config is not in the checkpoint
        convert_checkpoint("llava_next_aquila", source, tmp_path / "out")
    # A tied config (Aquila-VL-2B's Qwen2.5) with a saved head that is not the embedding is refused ...
    (source / "config.json").write_text(json.dumps({**config, "tie_word_embeddings": True}))
    with pytest.raises(ConversionError, match="lm_head.weight differs"):
        convert_checkpoint("llava_next_aquila", source, tmp_path / "out", vision_config=TINY_SIGLIP)
    # ... and converts when the head is the embedding, or absent.
    weights["lm_head.weight"] = weights["model.embed_tokens.weight"].clone()
    save_file(weights, source / "model.safetensors")
    convert_checkpoint("llava_next_aquila", source, tmp_path / "out", vision_config=TINY_SIGLIP)
    del weights["lm_head.weight"]
    save_file(weights, source / "model.safetensors")
    convert_checkpoint("llava_next_aquila", source, tmp_path / "out", vision_config=TINY_SIGLIP, overwrite=True)
    model = LlavaOnevisionForConditionalGeneration.from_pretrained(tmp_path / "out", dtype=torch.float32)
    assert torch.equal(model.lm_head.weight, weights["model.embed_tokens.weight"])


@pytest.mark.parametrize("fixture", ["mipha_phi2", "mipha_phi1_5"])
def test_mipha_matches_the_original_code_with_its_head_bias(fixture, tmp_path):
    """Mipha-3B (Phi-2) and Mipha-1.6B (Phi-1.5, fused per-head query_key_value). The non-zero lm_head bias is kept
    (lm_head_bias: true): LinVT-LLaVA's logits equal Mipha's; a plain LLaVA loads without it (differs by exactly the
    bias, the key reported as unexpected); --drop-lm-head-bias writes a plain LLaVA folder."""
    source = FIXTURES / fixture
    report = convert_checkpoint("mipha", source, tmp_path / "hf")
    assert any("lm_head.bias kept" in note for note in report.notes)
    written = json.loads((tmp_path / "hf" / "config.json").read_text())
    assert written["lm_head_bias"] is True and written["architectures"] == ["LlavaForConditionalGeneration"]
    expected = load_file(source / "expected.safetensors")
    bias = load_file(source / "model.safetensors")["lm_head.bias"]
    n = int(expected["num_image_tokens"])
    inputs = dict(input_ids=torch.tensor([[1, 2] + [60] * n + [4, 5, 6]]), pixel_values=expected["pixel_values"])
    model, info = LlavaForConditionalGeneration.from_pretrained(
        tmp_path / "hf", dtype=torch.float32, output_loading_info=True
    )
    assert list(info["unexpected_keys"]) == ["lm_head.bias"]
    assert (logits(model.eval(), **inputs) + bias - expected["logits"]).abs().max() <= 1e-4
    if "llava" in linvt_hf.FAMILIES:  # the llava family (Mipha, LLaVA-1.5) on the converted folder: the head's bias
        linvt = linvt_hf.LinVTForConditionalGeneration.from_backbone(  # Mipha's tokenizer has no <video>: an id
            tmp_path / "hf", video_tokenizer_config=tiny_linvt_config(), video_token_id=61, dtype=torch.float32
        ).eval()
        assert linvt.config.lm_head_bias and torch.equal(linvt.lm_head.bias, bias)
        assert (logits(linvt, **inputs) - expected["logits"]).abs().max() <= 1e-4
        assert (logits(linvt, input_ids=expected["text_input_ids"]) - expected["text_logits"]).abs().max() <= 1e-4

    assert cli_main(["convert", "--from", "mipha", str(source), str(tmp_path / "plain"), "--drop-lm-head-bias"]) == 0
    assert "lm_head_bias" not in json.loads((tmp_path / "plain" / "config.json").read_text())
    model, info = LlavaForConditionalGeneration.from_pretrained(
        tmp_path / "plain", dtype=torch.float32, output_loading_info=True
    )
    assert not info["unexpected_keys"] and not info["missing_keys"]
    assert (logits(model.eval(), **inputs) + bias - expected["logits"]).abs().max() <= 1e-4
    assert (logits(model, input_ids=expected["text_input_ids"]) + bias - expected["text_logits"]).abs().max() <= 1e-4


# ---------------------------------------------------------------- xGen-MM / BLIP-3 (LAVIS xgen-mm, original code)
def test_xgenmm_matches_the_original_code(tmp_path):
    """xGen-MM's `vlm.*` checkpoint (LAVIS's XGenMMPerceiver: SigLIP, Perceiver resampler, Phi-3 with decoupled added
    token rows and a biased head) -> linvt-hf's port; it and LinVT-xGen-MM on it give the original's logits."""
    source = FIXTURES / "xgenmm_phi3"
    assert cli_main(["convert", "--from", "xgenmm", str(source), str(tmp_path / "hf")]) == 0
    expected = load_file(source / "expected.safetensors")
    n, image_id = int(expected["num_image_tokens"]), 60
    ids = expected["input_ids"][0].tolist()
    at = ids.index(image_id)  # the original widens its one <image> to n tokens; the port's prompts hold n of them
    input_ids = torch.tensor([ids[:at] + [image_id] * n + ids[at + 1 :]])
    inputs = dict(input_ids=input_ids, pixel_values=expected["pixel_values"])
    model = linvt_hf.XGenMMForConditionalGeneration.from_pretrained(tmp_path / "hf", dtype=torch.float32).eval()
    assert model.config.image_token_id == image_id and model.config.get_text_config().vocab_size == 63
    assert (logits(model, **inputs) - expected["logits"]).abs().max() <= 1e-4
    assert (logits(model, input_ids=expected["text_input_ids"]) - expected["text_logits"]).abs().max() <= 1e-4
    linvt = linvt_hf.LinVTForConditionalGeneration.from_backbone(  # no <video> row: <image placeholder>'s id serves
        tmp_path / "hf", video_tokenizer_config=tiny_linvt_config(), video_token_id=61, dtype=torch.float32
    ).eval()
    assert type(linvt) is linvt_hf.LinVTXGenMMForConditionalGeneration
    assert (logits(linvt, **inputs) - expected["logits"]).abs().max() <= 1e-4
    assert (logits(linvt, input_ids=expected["text_input_ids"]) - expected["text_logits"]).abs().max() <= 1e-4


def test_xgenmm_with_tokenizer_files_gets_a_processor_and_runs_videos(tmp_path):
    """With tokenizer files (Phi-3's, without xGen-MM's added tokens: 60 here, the fixture's initial_tokenizer_len),
    the converted folder holds XGenMMProcessor with those tokens at their rows' ids; LinVT's processor adds <video>
    (id 63, past the exact vocabulary): the model resized to its tokenizer answers a video."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    source = tmp_path / "xgenmm"
    source.mkdir()
    for name in ("config.json", "model.safetensors"):
        (source / name).write_bytes((FIXTURES / "xgenmm_phi3" / name).read_bytes())
    words = ["<unk>", "<s>", "</s>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>", "what", "is", "it"]
    vocab = {word: i for i, word in enumerate(words + [f"w{i}" for i in range(60 - len(words))])}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>", bos_token="<s>", eos_token="</s>")
    tokenizer.add_special_tokens({"extra_special_tokens": words[3:7]})
    assert len(tokenizer) == 60
    tokenizer.save_pretrained(source)
    report = convert_checkpoint("xgenmm", source, tmp_path / "hf")
    assert any("processor written" in note for note in report.notes)
    processor = linvt_hf.LinVTProcessor.from_backbone(tmp_path / "hf", num_video_tokens=8)
    assert type(processor) is linvt_hf.LinVTXGenMMProcessor and processor.num_vision_tokens == 6
    ids = {t: processor.tokenizer.convert_tokens_to_ids(t) for t in ("<image>", "<|endofchunk|>", "<video>")}
    assert ids == {"<image>": 60, "<|endofchunk|>": 62, "<video>": 63}
    model = linvt_hf.XGenMMForConditionalGeneration.from_pretrained(tmp_path / "hf", dtype=torch.float32)
    model.resize_token_embeddings(len(processor.tokenizer))
    linvt = linvt_hf.LinVTForConditionalGeneration.from_backbone(model, video_tokenizer_config=tiny_linvt_config())
    linvt.eval()
    assert linvt.config.video_token_id == 63
    video = np.random.default_rng(0).integers(0, 256, size=(4, 40, 40, 3), dtype=np.uint8)
    inputs = processor.apply_chat_template(
        [{"role": "user", "content": [{"type": "video", "video": video}, {"type": "text", "text": "what is it"}]}],
        add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors="pt",
    )
    assert int((inputs["input_ids"] == 63).sum()) == 8 and tuple(inputs["pixel_values_videos"].shape[1:]) == (3, 28, 28)
    assert linvt.generate(**inputs, max_new_tokens=3, do_sample=False).shape[1] == inputs["input_ids"].shape[1] + 3


def test_xgenmm_refuses_what_it_does_not_know(tmp_path):
    source = tmp_path / "xgenmm"
    source.mkdir()
    config = json.loads((FIXTURES / "xgenmm_phi3" / "config.json").read_text())
    weights = load_file(FIXTURES / "xgenmm_phi3" / "model.safetensors")

    def write(config_values: dict, tensors: dict) -> None:
        (source / "config.json").write_text(json.dumps(config_values))
        save_file(tensors, source / "model.safetensors")

    write({**config, "vision_encoder_config": {"model_name": "google/siglip-base-patch16-224"}}, weights)
    with pytest.raises(ConversionError, match="is not one of .* pass vision_config="):
        convert_checkpoint("xgenmm", source, tmp_path / "out")
    convert_checkpoint("xgenmm", source, tmp_path / "out", vision_config={"num_attention_heads": 16})
    write(config, {**weights, "vlm.vision_tokenizer.frame_embs": torch.zeros(2, 32)})  # frame embeddings: never built
    with pytest.raises(UnrecognizedKeysError, match="vlm.vision_tokenizer.frame_embs"):
        convert_checkpoint("xgenmm", source, tmp_path / "out2")
    write(config, {**weights, "vlm.vision_tokenizer.layers.0.0.to_q.weight": torch.zeros(64, 32)})
    with pytest.raises(ConversionError, match="attention width vs 16 heads x 96: 64 != 1536"):
        convert_checkpoint("xgenmm", source, tmp_path / "out2")


# -------------------------------------------------------------------- Molmo-7B-D (allenai/molmo, original code)
MOLMO_VISION = '{"num_attention_heads": 2}'  # the fixture's toy ViT (the released one has 16 heads)


def test_molmo_matches_the_original_code(tmp_path):
    """Molmo's remote-code checkpoint (`model.` + allenai/molmo's olmo.model.Molmo: CLIP ViT read at layers -2 and -9,
    2x2 attention pooling, SwiGLU projector, Qwen2-style LLM with 128 added token rows) -> linvt-hf's port. The
    converted folder's processor gives the original preprocessor's tokens, crops and padding masks exactly (a
    100x170 image: global view + 1x3 tiles with overlap margins); the port and LinVT-Molmo on it give the original's
    logits, and never predict the added tokens."""
    source = FIXTURES / "molmo_qwen2"
    destination = tmp_path / "hf"
    assert cli_main(["convert", "--from", "molmo", str(source), str(destination), "--vision-config", MOLMO_VISION]) == 0
    expected = load_file(source / "expected.safetensors")
    processor = linvt_hf.MolmoProcessor.from_pretrained(destination)
    inputs = processor(images=[expected["image"].numpy()], text=["<|endoftext|><|image|> User: what is it Assistant:"],
                       return_tensors="pt")
    assert inputs["input_ids"].tolist() == expected["input_tokens"].tolist()
    crops = inputs["pixel_values"]  # the original's patches: (row, col) patches of (row, col, channel) pixels
    patches = crops.permute(0, 2, 3, 1).reshape(4, 6, 14, 6, 14, 3).permute(0, 1, 3, 2, 4, 5).reshape(1, 4, 36, 588)
    assert torch.equal(patches, expected["images"])
    assert torch.equal(inputs["image_masks"][None], expected["image_masks"])
    model = linvt_hf.MolmoForConditionalGeneration.from_pretrained(destination, dtype=torch.float32).eval()
    assert model.config.image_token_id == 262 and model.config.get_text_config().vocab_size == 260 + 128
    got = logits(model, **inputs)
    assert (got[..., :260] - expected["logits"]).abs().max() <= 1e-4
    assert (got[..., 260:] == torch.finfo(torch.float32).min).all()
    text = logits(model, input_ids=expected["text_input_ids"])[..., :260]
    assert (text - expected["text_logits"]).abs().max() <= 1e-4
    linvt = linvt_hf.LinVTForConditionalGeneration.from_backbone(
        destination, video_tokenizer_config=tiny_linvt_config(), dtype=torch.float32
    ).eval()
    assert type(linvt) is linvt_hf.LinVTMolmoForConditionalGeneration
    assert (logits(linvt, **inputs)[..., :260] - expected["logits"]).abs().max() <= 1e-4
    video_processor = linvt_hf.LinVTProcessor.from_backbone(destination, num_video_tokens=8)
    assert linvt.config.video_token_id == video_processor.tokenizer.convert_tokens_to_ids("<video>") == 265
    video = np.random.default_rng(0).integers(0, 256, size=(4, 40, 40, 3), dtype=np.uint8)
    video_inputs = video_processor.apply_chat_template(
        [{"role": "user", "content": [{"type": "video", "video": video}, {"type": "text", "text": "what is it"}]}],
        add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors="pt",
    )
    assert tuple(video_inputs["pixel_values_videos"].shape[1:]) == (3, 84, 84)
    out = linvt.generate(**video_inputs, max_new_tokens=2, do_sample=False)
    new = out[0, video_inputs["input_ids"].shape[1] :]
    assert new.shape == (2,) and (new < 260).all()  # the added tokens' logits are masked


def test_molmo_refuses_what_it_does_not_know(tmp_path, capsys):
    source = tmp_path / "molmo"
    source.mkdir()
    config = json.loads((FIXTURES / "molmo_qwen2" / "config.json").read_text())
    weights = load_file(FIXTURES / "molmo_qwen2" / "model.safetensors")

    def write(config_values: dict, tensors: dict) -> None:
        (source / "config.json").write_text(json.dumps(config_values))
        save_file(tensors, source / "model.safetensors")

    vision = json.loads(MOLMO_VISION)
    write(config, {**weights, "model.vision_backbone.cls_projector.weight": torch.zeros(32, 16)})
    with pytest.raises(UnrecognizedKeysError, match="model.vision_backbone.cls_projector.weight"):
        convert_checkpoint("molmo", source, tmp_path / "out", vision_config=vision)
    write({**config, "clip_qkv": 8.0}, weights)
    with pytest.raises(ConversionError, match=r"\{'clip_qkv': 8.0\}: the port builds the released architecture"):
        convert_checkpoint("molmo", source, tmp_path / "out", vision_config=vision)
    write({**config, "model_type": "qwen2"}, weights)
    with pytest.raises(ConversionError, match="is not allenai's remote-code Molmo checkpoint"):
        convert_checkpoint("molmo", source, tmp_path / "out", vision_config=vision)
    assert cli_main(["convert", "--from", "molmo", str(source), str(tmp_path / "out"), "--image-token-id", "3"]) == 2
    assert "--image-token-id does not apply to --from molmo" in capsys.readouterr().err


def test_key_tables_map_every_original_key_once():
    """The InternVL2 fixture's keys all map, and onto distinct keys (no two originals onto one)."""
    from linvt_hf.conversions import internvl2
    from linvt_hf.conversions.core import load_original, rename_keys

    original = load_original(FIXTURES / "internvl2_internlm2")
    config, _ = internvl2.internvl_config(original.config, 60)
    renamed = rename_keys(original.state_dict, internvl2.vision_rules(config)
                          + internvl2.internlm2_rules(config.text_config), "internvl2")
    fused = [k for k in original.state_dict if re.search(r"\.(qkv|wqkv)\.", k)]
    assert len(renamed) == len(original.state_dict) + 2 * len(fused)


def test_the_docs_figures_script_runs(tmp_path):
    """benchmarks/conversion_logit_diffs.py (docs/conversions.md's table) on one fixture: a row whose LinVT figures
    are within the tests' tolerance."""
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "conversion_logit_diffs.py"
    result = subprocess.run([sys.executable, str(script), "--fixture", "mipha_phi1_5"], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    row = next(line for line in result.stdout.splitlines() if line.startswith("| `mipha_phi1_5`"))
    plain, linvt = (cell.split(" / ") for cell in row.strip("| ").split(" | ")[1:])
    assert all(float(value) <= 1e-4 for value in linvt) and all(float(value) > 0.1 for value in plain)
