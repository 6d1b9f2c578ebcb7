"""Write the tiny original-layout checkpoints of tests/test_conversions.py with the ORIGINAL model code.

Each fixture folder holds what the original code's `save_pretrained` writes (config.json, model.safetensors: the
original key layout), the special-token ids its tokenizer would have (added_tokens.json), and expected.safetensors:
inputs and the logits the original model computed on them (float32, eval mode).

The original code is not a dependency of linvt-hf: run this by hand with checkouts of the original repositories and
the transformers release they were written for (4.45), e.g.

    pip install --target /tmp/tf445 --no-deps transformers==4.45.2 tokenizers==0.20.3 huggingface_hub==0.25.2 einops
    PYTHONPATH=/tmp/tf445 python tests/data/conversions/make_fixtures.py \
        --internvl PATH/OpenGVLab/InternVL --llava-next PATH/LLaVA-VL/LLaVA-NeXT --mipha PATH/zhuyiche/llava-phi \
        --xgenmm PATH/salesforce/LAVIS  # (its xgen-mm branch; also needs einops-exts in the --target folder)

Molmo (`--molmo PATH/allenai/molmo`) also needs, in --target folders on PYTHONPATH, omegaconf 2.3.0 with
antlr4-python3-runtime 4.9.3 (its config code) and torchvision (its preprocessor's resize), e.g.
    pip install --target /tmp/molmo_deps --no-deps omegaconf==2.3.0 antlr4-python3-runtime==4.9.3 torchvision

Shims (documented where used): `timm.models.layers.DropPath` (InternViT imports it; with drop_path_rate 0 it is
never built) and, for LLaVA-NeXT, stub modules for the optional vision towers its builder imports (imagebind,
open_clip, ...); the classes that run are the original ones.
"""

from __future__ import annotations

import argparse
import importlib.machinery
import json
import sys
import types
from pathlib import Path

import torch
from safetensors.torch import save_file

HERE = Path(__file__).resolve().parent
VOCAB = 64
# InternVL fixtures use the vocabulary size and special-token ids of linvt_hf.testing's tiny InternVL tokenizer, so
# that the tests can drive the converted model with the tiny LinVT processor (videos included).
INTERNVL_VOCAB, IMG_CONTEXT, INTERNVL_VIDEO = 607, 604, 605


def stub_module(name: str, **attributes) -> None:
    module = types.ModuleType(name)
    module.__dict__.update(attributes)
    sys.modules[name] = module


def save_fixture(folder: Path, model, added_tokens: dict[str, int], expected: dict[str, torch.Tensor]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    # What save_pretrained writes (its config handling fails for InternVL's composite config under 4.45):
    # config.json and the state dict under the model's own (original) key names.
    model.config.to_json_file(folder / "config.json")
    save_file({key: value.contiguous() for key, value in model.state_dict().items()}, folder / "model.safetensors",
              metadata={"format": "pt"})
    (folder / "added_tokens.json").write_text(json.dumps(added_tokens, indent=1) + "\n")
    save_file({key: value.contiguous() for key, value in expected.items()}, folder / "expected.safetensors")
    print(f"wrote {folder}: {sorted(p.name for p in folder.iterdir())}")


# ---------------------------------------------------------------------------------------------------- InternVL2
def internvl(repo: Path) -> None:
    import transformers  # noqa: F401  (before the timm stub: transformers probes for timm at import)

    sys.path.insert(0, str(repo / "internvl_chat"))
    stub_module("timm")
    stub_module("timm.models")
    stub_module("timm.models.layers", DropPath=None)  # only built when drop_path_rate > 0
    from internvl.model.internvl_chat import InternVLChatConfig, InternVLChatModel

    image_context = IMG_CONTEXT
    for name, llm, vision_extra in [
        (
            "internvl2_qwen2",  # InternVL2-1B: InternViT-300M (LayerNorm, qkv bias) + Qwen2
            dict(architectures=["Qwen2ForCausalLM"], vocab_size=INTERNVL_VOCAB, hidden_size=32, intermediate_size=64,
                 num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                 rope_theta=10000.0, torch_dtype="float32"),
            dict(norm_type="layer_norm", qkv_bias=True, qk_normalization=False),
        ),
        (
            "internvl2_internlm2",  # InternVL2-8B: InternLM2 (fused wqkv); vision as InternViT-6B (RMSNorm, qk norm)
            dict(architectures=["InternLM2ForCausalLM"], vocab_size=INTERNVL_VOCAB, hidden_size=32,
                 intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                 max_position_embeddings=128, rope_theta=10000.0, bias=False,
                 rope_scaling={"type": "dynamic", "factor": 2.0}, attn_implementation="eager", torch_dtype="float32"),
            dict(norm_type="rms_norm", qkv_bias=False, qk_normalization=True),
        ),
    ]:
        vision = dict(architectures=["InternVisionModel"], hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=2, image_size=56, patch_size=14, use_flash_attn=False, layer_norm_eps=1e-6,
                      hidden_act="gelu", drop_path_rate=0.0, initializer_factor=0.1, **vision_extra)
        config = InternVLChatConfig(vision_config=vision, llm_config=llm, select_layer=-1, force_image_size=56,
                                    downsample_ratio=0.5, template="internvl2_5", ps_version="v2",
                                    dynamic_image_size=True, use_thumbnail=True, max_dynamic_patch=12)
        config.architectures = ["InternVLChatModel"]
        torch.manual_seed(0)
        model = InternVLChatModel(config, use_flash_attn=False).float().eval()
        with torch.no_grad():  # layer scales are 0.1 * ones at init: make them (and the norms) random
            for name_, parameter in model.named_parameters():
                if name_.endswith(("ls1", "ls2")) or "norm" in name_:
                    parameter.copy_(torch.randn_like(parameter) * 0.5 + 1.0)
        model.img_context_token_id = image_context
        input_ids = torch.tensor([[1, 2, 3] + [image_context] * 4 + [4, 5, 6, 7]])
        pixel_values = torch.randn(1, 3, 56, 56)
        with torch.no_grad():
            logits = model(pixel_values=pixel_values, input_ids=input_ids, attention_mask=torch.ones_like(input_ids),
                           image_flags=torch.ones(1, 1, dtype=torch.long)).logits
            text_ids = torch.tensor([[1, 2, 3, 4, 5, 6, 7, 8]])
            text_logits = model.language_model(input_ids=text_ids).logits
        save_fixture(HERE / name, model, {"<IMG_CONTEXT>": image_context, "<video>": INTERNVL_VIDEO},
                     dict(input_ids=input_ids, pixel_values=pixel_values, logits=logits, text_input_ids=text_ids,
                          text_logits=text_logits))
    sys.path.remove(str(repo / "internvl_chat"))


def package_without_init(name: str, path: Path) -> None:
    """Make `name` importable from `path` without running its __init__ (which imports every optional model)."""
    module = types.ModuleType(name)
    module.__path__ = [str(path)]
    sys.modules[name] = module


# -------------------------------------------------------------------------------- Aquila-VL-2B (LLaVA-NeXT, Qwen2)
def llava_next(repo: Path) -> None:
    import transformers  # noqa: F401
    from transformers.models.llava_next.modeling_llava_next import image_size_to_num_patches

    sys.path.insert(0, str(repo))
    package_without_init("llava", repo / "llava")
    package_without_init("llava.model", repo / "llava" / "model")
    package_without_init("llava.model.multimodal_encoder", repo / "llava" / "model" / "multimodal_encoder")
    for optional in ("imagebind", "open_clip_encoder", "hf_vision", "mlcd_encoder"):  # towers the builder imports
        stub_module(f"llava.model.multimodal_encoder.{optional}", ImageBindWrapper=None, OpenCLIPVisionTower=None,
                    HFVisionTower=None, MLCDVisionTower=None, MLCDVisionTowerS2=None)
    from llava.model.language_model.llava_qwen import LlavaQwenConfig, LlavaQwenForCausalLM
    from llava.model.multimodal_encoder import siglip_encoder

    # The tower comes from the Hub in the original (SigLipVisionModel.from_pretrained(mm_vision_tower)); here the same
    # original class at toy sizes, with 3 layers (LLaVA-NeXT drops the last one and the head). Its forward asserts
    # 729 (27x27) tokens per image, as for so400m at 384 pixels: 27-pixel images of 1-pixel patches give that.
    tower_config = siglip_encoder.SigLipVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=3,
                                                     num_attention_heads=2, image_size=27, patch_size=1)
    siglip_encoder.SigLipVisionModel.from_pretrained = classmethod(
        lambda cls, name, device_map=None: cls(tower_config))
    pinpoints = [[27, 27], [27, 54], [54, 27], [54, 54]]
    config = LlavaQwenConfig(
        vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=256, rope_theta=10000.0, tie_word_embeddings=False,
        mm_vision_tower="google/siglip-so400m-patch14-384", mm_projector_type="mlp2x_gelu", mm_hidden_size=32,
        mm_patch_merge_type="spatial_unpad", image_aspect_ratio="anyres_max_9", image_grid_pinpoints=pinpoints,
        mm_vision_select_layer=-2, mm_vision_select_feature="patch", mm_newline_position="grid",
        mm_spatial_pool_mode="bilinear", torch_dtype="float32", architectures=["LlavaQwenForCausalLM"],
    )
    config._attn_implementation = "eager"
    torch.manual_seed(0)
    model = LlavaQwenForCausalLM(config).float().eval()
    # The wrapper's config is SigLipVisionConfig() (so400m: 384 pixels) whatever tower it loads; its image_size sets
    # the anyres grid, so give it the toy tower's.
    model.get_model().get_vision_tower().config = tower_config
    with torch.no_grad():
        for name_, parameter in model.named_parameters():
            if "norm" in name_ or name_.endswith("image_newline"):
                parameter.copy_(torch.randn_like(parameter) * 0.5 + (0.0 if "newline" in name_ else 1.0))
    image_size = [50, 30]  # (width, height) as LLaVA-NeXT takes it (PIL's size): 1x2 tiles of 27 pixels + the base
    num_patches = image_size_to_num_patches(image_size[::-1], pinpoints, 27)  # transformers: (height, width)
    pixel_values = torch.randn(num_patches, 3, 27, 27)
    input_ids = torch.tensor([[1, 2, -200, 4, 5, 6]])  # IMAGE_TOKEN_INDEX
    with torch.no_grad():
        _, _, _, _, embeds, _ = model.prepare_inputs_labels_for_multimodal(
            input_ids, None, torch.ones_like(input_ids), None, None, [pixel_values], ["image"], [image_size])
        logits = model(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), images=[pixel_values],
                       image_sizes=[image_size], modalities=["image"]).logits
        text_ids = torch.tensor([[1, 2, 3, 4, 5, 6, 7, 8]])
        text_logits = model(input_ids=text_ids).logits
    num_image_tokens = embeds.shape[1] - (input_ids.shape[1] - 1)
    # ~2,200 positions: keep the text positions and every 37th image position (the fixture stays small).
    positions = torch.cat([torch.arange(2), torch.arange(2, 2 + num_image_tokens, 37),
                           torch.arange(2 + num_image_tokens, logits.shape[1])])
    save_fixture(HERE / "aquila_llava_next", model, {"<image>": 60, "<video>": 61},
                 dict(input_ids=input_ids, pixel_values=pixel_values, image_sizes=torch.tensor([image_size[::-1]]),
                      num_image_tokens=torch.tensor(num_image_tokens), positions=positions,
                      logits=logits[:, positions], text_input_ids=text_ids, text_logits=text_logits))
    sys.path.remove(str(repo))


# ------------------------------------------------------------------------------ Mipha (LLaVA-Phi code, SigLIP + Phi)
def mipha(repo: Path) -> None:
    import transformers  # noqa: F401

    sys.path.insert(0, str(repo))
    package_without_init("mipha", repo / "mipha")
    package_without_init("mipha.model", repo / "mipha" / "model")
    from mipha.model.language_model.configuration_mipha import MiphaPhi15Config, MiphaPhiConfig
    from mipha.model.language_model.mipha_phi import MiphaPhiForCausalLM
    from mipha.model.language_model.mipha_phi1_5 import MiphaPhi15ForCausalLM

    vision = {
        "vision_tower": dict(hidden_size=32, intermediate_size=64, num_hidden_layers=3, num_attention_heads=2,
                             image_size=28, patch_size=14, hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-6,
                             mm_vision_select_layer=-2, mm_vision_select_feature="patch",
                             vision_model_name_or_path="google/siglip-so400m-patch14-384"),
        "mm_projector": dict(mm_projector_type="mlp2x_gelu", mm_hidden_size=32, hidden_size=32),
    }
    phi = dict(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
               max_position_embeddings=128, partial_rotary_factor=0.5, rope_theta=10000.0, torch_dtype="float32")
    for name, config_class, model_class in [("mipha_phi2", MiphaPhiConfig, MiphaPhiForCausalLM),
                                            ("mipha_phi1_5", MiphaPhi15Config, MiphaPhi15ForCausalLM)]:
        config = config_class(vision_config=vision, **phi)
        config.architectures = [model_class.__name__]
        config._attn_implementation = "eager"
        torch.manual_seed(0)
        model = model_class(config).float().eval()
        with torch.no_grad():
            for name_, parameter in model.named_parameters():
                if "norm" in name_ or name_.endswith("lm_head.bias"):
                    parameter.copy_(torch.randn_like(parameter) * 0.5 + (0.0 if name_.endswith("bias") else 1.0))
        pixel_values = torch.randn(1, 3, 28, 28)
        input_ids = torch.tensor([[1, 2, -200, 4, 5, 6]])  # IMAGE_TOKEN_INDEX
        with torch.no_grad():
            logits = model(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), images=pixel_values).logits
            text_ids = torch.tensor([[1, 2, 3, 4, 5, 6, 7, 8]])
            text_logits = model(input_ids=text_ids).logits
        save_fixture(HERE / name, model, {"<image>": 60},
                     dict(input_ids=input_ids, pixel_values=pixel_values, num_image_tokens=torch.tensor(4),
                          logits=logits, text_input_ids=text_ids, text_logits=text_logits))
    sys.path.remove(str(repo))


# ------------------------------------------------------ xGen-MM / BLIP-3 (LAVIS xgen-mm: SigLIP, Perceiver, Phi-3)
def xgenmm(repo: Path) -> None:
    """The released checkpoints hold `XGenMMModelForConditionalGeneration` (the Hub's remote code): config.json with
    `vision_encoder_config` / `vision_tokenizer_config` / `text_config`, weights `vlm.*` = the state dict of LAVIS's
    `XGenMMPerceiver` (what LAVIS's convert_hf_model.py loads into it, strict). This builds that original class."""
    import transformers
    from transformers import Phi3Config, Phi3ForCausalLM, SiglipVisionConfig, SiglipVisionModel

    sys.path.insert(0, str(repo))
    package_without_init("open_flamingo", repo / "open_flamingo")  # its __init__ imports the training factory
    from open_flamingo.src.helpers import PerceiverResampler
    from open_flamingo.src.xgenmm import XGenMMPerceiver

    # so400m's head count, activation and epsilon (what the converter assumes for that tower name) at toy width.
    vision = SiglipVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=16,
                                image_size=28, patch_size=14)
    initial_tokenizer_len, pad = VOCAB - 4, VOCAB - 5  # Phi-3's embedding has rows beyond its tokenizer too
    text = Phi3Config(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=256, rope_theta=10000.0,
                      pad_token_id=pad, bos_token_id=1, eos_token_id=2, sliding_window=255, tie_word_embeddings=False)
    text._attn_implementation = vision._attn_implementation = "eager"
    torch.manual_seed(0)
    model = XGenMMPerceiver(
        vision_encoder=SiglipVisionModel(vision).vision_model, lang_model=Phi3ForCausalLM(text),
        vis_feature_dim=32, initial_tokenizer_len=initial_tokenizer_len, pad_token_id=pad,
        decoder_layers_attr_name="model.layers", image_aspect_ratio="pad", anyres_patch_sampling=False,
        num_vision_tokens=6,
    )
    # The original class with 2 layers instead of 6 (the fixture stays small); heads 16 x 96 as in every release.
    model.vision_tokenizer = PerceiverResampler(dim=32, dim_inner=64, depth=2, num_latents=6)
    model.set_special_token_ids({"<image>": initial_tokenizer_len, "<image placeholder>": initial_tokenizer_len + 1,
                                 "<|endofchunk|>": initial_tokenizer_len + 2})
    model = model.float().eval()
    with torch.no_grad():
        for name_, parameter in model.named_parameters():
            if "norm" in name_ or "layernorm" in name_:
                parameter.copy_(torch.randn_like(parameter) * 0.5 + (0.0 if name_.endswith("bias") else 1.0))
    pixel_values = torch.randn(1, 3, 28, 28)
    input_ids = torch.tensor([[1, 2, initial_tokenizer_len, 4, 5, 6]])
    with torch.no_grad():
        logits = model(vision_x=pixel_values[:, None, None], lang_x=input_ids,
                       attention_mask=torch.ones_like(input_ids)).logits
        text_ids = torch.tensor([[1, 2, 3, 4, 5, 6, 7, initial_tokenizer_len + 2]])
        text_logits = model(vision_x=None, lang_x=text_ids, attention_mask=torch.ones_like(text_ids)).logits
    config = {
        "model_type": "xgenmm", "architectures": ["XGenMMModelForConditionalGeneration"], "torch_dtype": "float32",
        "transformers_version": transformers.__version__,
        "vision_encoder_config": {"model_type": "xgenmm_vision_encoder",
                                  "model_name": "google/siglip-so400m-patch14-384",
                                  "anyres_grids": [[28, 56], [56, 28], [56, 56]], "image_aspect_ratio": "pad",
                                  "anyres_patch_sampling": False},
        "vision_tokenizer_config": {"model_type": "xgenmm_vision_tokenizer", "vis_feature_dim": 32,
                                    "lang_embedding_dim": 64, "num_vis_tokens": 6, "image_aspect_ratio": "pad"},
        "text_config": {**text.to_dict(), "initial_tokenizer_len": initial_tokenizer_len},
    }
    folder = HERE / "xgenmm_phi3"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    (folder / "config.json").write_text(json.dumps(config, indent=1) + "\n")
    save_file({f"vlm.{key}": value.contiguous() for key, value in model.state_dict().items()},
              folder / "model.safetensors", metadata={"format": "pt"})
    added = {"<image>": initial_tokenizer_len, "<image placeholder>": initial_tokenizer_len + 1,
             "<|endofchunk|>": initial_tokenizer_len + 2}
    (folder / "added_tokens.json").write_text(json.dumps(added, indent=1) + "\n")
    save_file(dict(input_ids=input_ids, pixel_values=pixel_values, num_image_tokens=torch.tensor(6), logits=logits,
                   text_input_ids=text_ids, text_logits=text_logits), folder / "expected.safetensors")
    print(f"wrote {folder}: {sorted(p.name for p in folder.iterdir())}")
    sys.path.remove(str(repo))


# ------------------------------------------------------------------------------------- Molmo-7B-D (allenai/molmo)
MOLMO_EXTRA_TOKENS = ("<im_start>", "<im_end>", "<im_patch>", "<im_col>", "<|image|>")


def molmo_tokenizer(folder: Path):
    """A tiny byte-level Qwen2 tokenizer (the 256 byte symbols, no merges, `<|endoftext|>` as EOS and no BOS, as
    Qwen2's), saved in `folder` (its name holds "qwen2": allenai's `build_tokenizer` then uses EOS as BOS)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast
    from transformers.models.gpt2.tokenization_gpt2 import bytes_to_unicode

    vocab = {symbol: i for i, symbol in enumerate(bytes_to_unicode().values())}
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    backend.decoder = decoders.ByteLevel()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="<|endoftext|>", pad_token="<|endoftext|>")
    tokenizer.save_pretrained(folder)
    return tokenizer


def molmo(repo: Path) -> None:
    """allenai/Molmo-7B-D-0924 on the Hub holds the remote-code `MolmoForCausalLM`: its weights are `model.` + the
    state dict of allenai/molmo's `olmo.model.Molmo` (olmo/hf_molmo.py loads one into the other, strict), its
    config.json the remote-code config (the LLM's fields at the top level; the CLIP ViT, pooling and projector are
    fixed in the remote code, as hf_molmo.py lists them). This builds that original class at toy sizes (the
    released architecture: CLIP ViT read at layers -2 and -9, 2x2 attention pooling, SwiGLU projector, Qwen2-style
    LLM with qkv bias and 128 added token rows) and runs the original preprocessor (olmo/data/model_preprocessor.py,
    crop mode overlap-and-resize-c2, with torchvision's real resize) on an image.

    Shims: olmo.util imports boto3, botocore and cached_path for remote files, which the model code never uses
    (stubs); torchvision's transforms run as they are, but its compiled detection operators cannot load with a
    CPU-only torch, so their meta registrations (`torchvision._meta_registrations`) are skipped."""
    import tempfile

    import numpy as np
    import transformers

    sys.path.insert(0, str(repo))
    recoverable = type("SchemeClient", (), {"recoverable_errors": (), "__init__": lambda self, *a, **k: None})
    stub_module("boto3")
    stub_module("botocore")
    stub_module("botocore.exceptions", **{name: type(name, (Exception,), {}) for name in
                                          ("ClientError", "HTTPClientError", "ConnectionError")})
    stub_module("botocore.config", Config=lambda *args, **kwargs: None)
    stub_module("cached_path", cached_path=None, get_download_progress=None)
    stub_module("cached_path.schemes", SchemeClient=recoverable, add_scheme_client=lambda *args: None)
    stub_module("torchvision._meta_registrations")
    for name in ("boto3", "botocore", "botocore.exceptions", "botocore.config", "cached_path", "cached_path.schemes",
                 "torchvision._meta_registrations"):  # transformers probes packages with importlib.util.find_spec
        sys.modules[name].__spec__ = importlib.machinery.ModuleSpec(name, None)
    package_without_init("olmo.data", repo / "olmo" / "data")  # its __init__ imports every dataset
    from olmo import ModelConfig, Molmo, TokenizerConfig, VisionBackboneConfig
    from olmo.config import ActivationType, ImagePooling2DType, LayerNormType
    from olmo.data.model_preprocessor import MultiModalPreprocessor
    from olmo.tokenizer import build_tokenizer

    folder = HERE / "molmo_qwen2"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch) / "tiny-qwen2"
        molmo_tokenizer(base)
        embedding_size = 260  # the LLM's rows: the 257 tokens padded, as Qwen2's 151646 to 152064
        wrapper = build_tokenizer(str(base), pad_tokenizer_to=embedding_size)
    wrapper.tokenizer.save_pretrained(folder)
    side, patch, margins, max_crops = 84, 14, (2, 2), 4  # 6x6 patches, 3x3 tokens a crop
    config = ModelConfig(
        d_model=32, n_heads=4, n_kv_heads=2, qkv_bias=True, clip_qkv=None, n_layers=2, mlp_hidden_size=128,
        activation_type=ActivationType.swiglu, block_type="sequential", attention_layer_norm=False,
        residual_dropout=0, response_residual_dropout=0, embedding_dropout=0, layer_norm_type=LayerNormType.rms,
        layer_norm_with_affine=True, layer_norm_eps=1e-5, attention_layer_norm_with_affine=True,
        max_position_embeddings=512, include_bias=False, bias_for_layer_norm=False, scale_logits=False,
        vocab_size=embedding_size, embedding_size=embedding_size, additional_vocab_size=128,
        new_embedding_init_range=0.02, weight_tying=False, norm_after=False, max_crops=max_crops,
        crop_mode="overlap-and-resize-c2", use_col_tokens=True, image_padding_embed="pad_and_partial_pad",
        fix_image_padding=False, rope=True, rope_theta=500000.0, vit_layers=[-2, -9],
        image_pooling_2d=ImagePooling2DType.attention_meanq, normalize_input_embeds=False,
        overlap_margins=margins, tokenizer=TokenizerConfig(identifier=str(base)), init_device="cpu",
        vision_backbone=VisionBackboneConfig(
            image_model_type="openai", image_default_input_size=(side, side), image_patch_size=patch,
            image_pos_patch_size=patch, image_emb_dim=16, image_num_heads=2, image_num_key_value_heads=2,
            image_num_layers=10, image_head_dim=8, image_mlp_dim=32, image_mlp_activations="quick_gelu",
            image_dropout_rate=0.0, image_num_pos=1 + (side // patch) ** 2, image_norm_eps=1e-5,
        ),
    )
    # Epsilon and rope theta other than Qwen2's defaults, so that the test sees them carried over.
    torch.manual_seed(0)
    model = Molmo(config).float().eval()
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            noise = torch.randn_like(parameter)
            if "norm" in name or "pre_ln" in name or name.endswith("ln_f.weight"):
                parameter.copy_(noise * 0.2 + (0.0 if name.endswith("bias") else 1.0))
            else:
                parameter.copy_(noise * (0.5 if "pad_embed" in name else 0.1))
    preprocessor = MultiModalPreprocessor(
        tokenizer=wrapper, normalize="openai", crop_mode="overlap-and-resize-c2", max_crops=max_crops,
        overlap_margins=margins, resize="default", use_col_tokens=True, base_image_input_size=(side, side),
        image_pooling_w=2, image_pooling_h=2, image_token_length_w=3, image_token_length_h=3,
        image_patch_size=patch, image_padding_mask=True,
    )
    image = np.random.default_rng(0).integers(0, 256, size=(100, 170, 3), dtype=np.uint8)
    prompt = " User: what is it Assistant:"  # the remote-code processor's format (always_start_with_space)
    batch = preprocessor(image, [prompt])
    tensors = {key: torch.from_numpy(np.asarray(value))[None] for key, value in batch.items()
               if key in ("input_tokens", "images", "image_masks", "image_input_idx")}
    with torch.no_grad():
        logits = model(input_ids=tensors["input_tokens"].long(), images=tensors["images"],
                       image_masks=tensors["image_masks"], image_input_idx=tensors["image_input_idx"]).logits
        text_ids = torch.tensor([wrapper.encode(prompt)], dtype=torch.long)
        text_logits = model(input_ids=text_ids).logits
    remote_config = {
        "architectures": ["MolmoForCausalLM"], "model_type": "molmo", "torch_dtype": "float32",
        "auto_map": {"AutoConfig": "config_molmo.MolmoConfig",
                     "AutoModelForCausalLM": "modeling_molmo.MolmoForCausalLM"},
        "transformers_version": transformers.__version__, "hidden_size": 32, "intermediate_size": 128,
        "num_attention_heads": 4, "num_key_value_heads": 2, "num_hidden_layers": 2, "max_position_embeddings": 512,
        "vocab_size": embedding_size, "embedding_size": embedding_size, "layer_norm_eps": 1e-5,
        "layer_norm_type": "rms", "rope_theta": 500000.0, "qkv_bias": True, "clip_qkv": None,
        "attention_layer_norm": False, "norm_after": False, "weight_tying": False, "use_position_ids": True,
        "initializer_range": 0.02, "use_cache": True, "tie_word_embeddings": False,
    }
    (folder / "config.json").write_text(json.dumps(remote_config, indent=1) + "\n")
    preprocessor_config = {  # the remote-code MolmoImageProcessor's settings, as the Hub's preprocessor_config.json
        "image_processor_type": "MolmoImageProcessor", "base_image_input_size": [side, side],
        "image_patch_size": patch, "image_token_length_h": 3, "image_token_length_w": 3, "max_crops": max_crops,
        "overlap_margins": list(margins), "image_padding_mask": True, "do_normalize": True,
        "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711],
    }
    (folder / "preprocessor_config.json").write_text(json.dumps(preprocessor_config, indent=1) + "\n")
    save_file({f"model.{key}": value.contiguous() for key, value in model.state_dict().items()},
              folder / "model.safetensors", metadata={"format": "pt"})
    save_file(dict(image=torch.from_numpy(image), logits=logits, text_input_ids=text_ids, text_logits=text_logits,
                   **{key: value.contiguous() for key, value in tensors.items()}), folder / "expected.safetensors")
    print(f"wrote {folder}: {sorted(p.name for p in folder.iterdir())}")
    sys.path.remove(str(repo))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--internvl", type=Path, help="checkout of github.com/OpenGVLab/InternVL")
    parser.add_argument("--llava-next", type=Path, help="checkout of github.com/LLaVA-VL/LLaVA-NeXT")
    parser.add_argument("--mipha", type=Path, help="checkout of github.com/zhuyiche/llava-phi")
    parser.add_argument("--xgenmm", type=Path, help="checkout of github.com/salesforce/LAVIS, branch xgen-mm")
    parser.add_argument("--molmo", type=Path, help="checkout of github.com/allenai/molmo")
    args = parser.parse_args()
    if args.internvl:
        internvl(args.internvl)
    if args.llava_next:
        llava_next(args.llava_next)
    if args.mipha:
        mipha(args.mipha)
    if args.xgenmm:
        xgenmm(args.xgenmm)
    if args.molmo:
        molmo(args.molmo)


if __name__ == "__main__":
    main()
