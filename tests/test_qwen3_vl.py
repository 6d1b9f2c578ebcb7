"""Qwen3-VL's DeepStack on LinVT's video tokens (tiny random models, offline).

Qwen3-VL's LLM adds DeepStack maps (merged features of intermediate vision layers) to the hidden states of its first
layers at every visual position. A LinVT video token is a convex combination of frame tokens, so its DeepStack maps
are the same convex combination of the frames' DeepStack maps. Qwen3-VL-MoE (a mixture-of-experts LLM) shares this
video path: the DeepStack tests run on both. (The family-wide checks, text and image logits equal to Qwen3-VL's own
included, are in test_families.py, test_model_contracts.py and test_transformers_common.py.)
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from fake_hub import native_image_llm
from family_checks import check_both_training_stages_step
from linvt_hf import LinVTQwen3VLForConditionalGeneration, LinVTQwen3VLProcessor
from linvt_hf.modeling.video_tokenizer import build_video_tokenizer
from linvt_hf.testing.tiny_models import make_tiny, tiny_linvt_config
from linvt_hf.training import lora_target_modules

TOL = 1e-5


def _video(num_frames: int, seed: int) -> dict:
    frames = np.random.default_rng(seed).integers(0, 256, size=(num_frames, 48, 64, 3), dtype=np.uint8)
    return {"type": "video", "video": frames}


def _image() -> dict:
    pixels = np.random.default_rng(7).integers(0, 256, size=(40, 70, 3), dtype=np.uint8)
    return {"type": "image", "image": Image.fromarray(pixels)}


def _chat(processor, conversations: list) -> dict:
    processor.tokenizer.padding_side = "left"
    return processor.apply_chat_template(
        conversations, add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors="pt",
        processor_kwargs={"padding": True},
    )


@pytest.fixture(scope="module", params=["qwen3_vl", "qwen3_vl_moe"])
def tiny(request):
    return make_tiny(request.param)


def test_combine_of_the_tokenizer_input_is_its_output():
    """`combine` applies the video tokens' weights to other maps on the input grid: on the input itself it gives
    the video tokens, and it is linear in the maps."""
    tokenizer = build_video_tokenizer(tiny_linvt_config(input_size=16)).eval()
    frames = torch.randn(2, 5, 6, 16)
    mask = torch.tensor([[True] * 5, [True] * 3 + [False] * 2])
    with torch.no_grad():
        out = tokenizer(frames, frame_mask=mask, output_aggregation_weights=True)
    torch.testing.assert_close(out.combine(frames), out.video_tokens, rtol=0, atol=TOL)
    other = torch.randn(2, 5, 6, 16)
    linear = 2 * out.video_tokens - out.combine(other)
    torch.testing.assert_close(out.combine(2 * frames - other), linear, atol=TOL, rtol=0)
    with pytest.raises(ValueError, match="input grid"):
        out.combine(frames[:, :4])
    out.aggregation_weights = None
    with pytest.raises(ValueError, match="output_aggregation_weights=True"):
        out.combine(frames)


def test_video_tokens_carry_deepstack_maps_by_their_own_weights(tiny):
    """Each video token's DeepStack map at each level is its aggregation weights applied to that level's maps of
    the frames, as Qwen3-VL's own video path computes them (one vision call per video, not LinVT's chunks)."""
    model, processor = tiny
    inputs = _chat(processor, [[{"role": "user", "content": [_video(8, 0), {"type": "text", "text": "what is it"}]}],
                               [{"role": "user", "content": [_video(4, 1), {"type": "text", "text": "a dog"}]}]])
    model.config.vision_chunk_size = 1
    with torch.no_grad():
        features = model.get_video_features(**inputs, output_aggregation_weights=True)
        native = native_image_llm(model).model.get_video_features(
            inputs["pixel_values_videos"], inputs["video_grid_thw"], return_dict=True
        )
    levels = len(model.config.vision_config.deepstack_visual_indexes)
    assert len(features.deepstack_tokens) == levels == len(native.deepstack_features) == 2
    for video in range(2):
        output, row = features.tokenizer_output_of(video)
        weights = output.dense_aggregation_weights()[row].flatten(1)  # [Q, T * N]
        steps = int(inputs["video_frame_mask"][video].sum())
        weights = weights[:, : native.pooler_output[video].shape[0]]
        assert weights.shape[1] == steps * output.tokens_per_frame
        tokens = weights @ native.pooler_output[video]
        torch.testing.assert_close(features.video_tokens[video], tokens, rtol=0, atol=TOL)
        for level in range(levels):
            expected = weights @ native.deepstack_features[level][video]
            torch.testing.assert_close(features.deepstack_tokens[level][video], expected, rtol=0, atol=TOL)
            assert not torch.allclose(expected, features.video_tokens[video])  # a map of its own


def test_the_llm_gets_the_deepstack_maps_of_images_and_videos(tiny):
    """The logits are those of Qwen3-VL's LLM given LinVT's video tokens and their DeepStack maps next to the image's
    own (its public `language_model` forward, fed by hand), and the maps matter."""
    model, processor = tiny
    turn = {"role": "user", "content": [_image(), _video(6, 2), {"type": "text", "text": "is the image in the video"}]}
    inputs = _chat(processor, [[turn]])
    ids = inputs["input_ids"]
    inner = model.model
    with torch.no_grad():
        logits = model(**inputs).logits
        video = inner.get_video_features(**inputs)
        image = inner.get_image_features(inputs["pixel_values"], inputs["image_grid_thw"], return_dict=True)
        is_image, is_video = ids == model.config.image_token_id, ids == model.config.video_token_id
        embeds = inner.get_input_embeddings()(ids)
        embeds[is_image] = image.pooler_output[0]
        embeds[is_video] = video.placeholder_embeds()
        visual = is_image | is_video
        positions, _ = inner.get_rope_index(
            ids, mm_token_type_ids=inputs["mm_token_type_ids"], image_grid_thw=inputs["image_grid_thw"],
            video_grid_thw=inputs["video_grid_thw"], attention_mask=inputs["attention_mask"],
        )

        def llm_logits(video_maps: list[torch.Tensor]) -> torch.Tensor:
            deepstack = []
            for image_map, video_map in zip(image.deepstack_features, video_maps):
                joint = embeds.new_zeros(int(visual.sum()), embeds.shape[-1])
                joint[is_image[visual]] = image_map[0]
                joint[is_video[visual]] = video_map
                deepstack.append(joint)
            hidden = inner.language_model(
                inputs_embeds=embeds, attention_mask=inputs["attention_mask"], position_ids=positions,
                visual_pos_masks=visual, deepstack_visual_embeds=deepstack,
            ).last_hidden_state
            return model.lm_head(hidden)

        maps = video.placeholder_deepstack()
        torch.testing.assert_close(logits, llm_logits(maps), rtol=0, atol=TOL)
        without = llm_logits([torch.zeros_like(level) for level in maps])
    assert not torch.allclose(logits, without, atol=1e-3)


def test_a_tokenizer_without_aggregation_weights_is_refused():
    """LLaMA-VID's tokens are no combination of frame tokens: they have no DeepStack maps to give Qwen3-VL's LLM."""
    model, processor = make_tiny("qwen3_vl", video_tokenizer_type="llama_vid")
    inputs = _chat(processor, [[{"role": "user", "content": [_video(4, 0), {"type": "text", "text": "what"}]}]])
    with pytest.raises(ValueError, match="aggregation weights"), torch.no_grad():
        model(**inputs)


def test_video_inputs_of_another_layout_are_refused(tiny):
    model, processor = tiny
    inputs = _chat(processor, [[{"role": "user", "content": [_video(4, 0), {"type": "text", "text": "what"}]}]])
    frames = torch.zeros(4, 3, 32, 32)  # a frame family's layout
    with pytest.raises(ValueError, match=rf"{type(model.model).__name__} takes pixel_values_videos as Qwen's patch rows"):
        model(**{**inputs, "pixel_values_videos": frames})


def test_another_familys_checkpoint_or_processor_is_refused(tmp_path):
    other, other_processor = make_tiny("smolvlm")
    other.save_pretrained(tmp_path / "linvt")
    native_image_llm(other).save_pretrained(tmp_path / "image_llm")
    with pytest.raises(ValueError, match="LinVTQwen3VLConfig .* cannot load a 'linvt_smolvlm' checkpoint"):
        LinVTQwen3VLForConditionalGeneration.from_pretrained(tmp_path / "linvt")
    with pytest.raises(TypeError, match="LinVTQwen3VLConfig extends a Qwen3VLConfig, got a SmolVLMConfig"):
        LinVTQwen3VLForConditionalGeneration.from_backbone(str(tmp_path / "image_llm"), video_token_id=1)
    with pytest.raises(TypeError, match="LinVTQwen3VLProcessor extends Qwen3VLProcessor, got a LinVTSmolVLMProcessor"):
        LinVTQwen3VLProcessor.from_backbone(other_processor)


def test_stage2_lora_on_the_moe_llm_trains_attention_and_leaves_the_experts_frozen():
    """Qwen3-VL-MoE's experts are fused 3D parameters and its routers plain parameters, no `nn.Linear`: stage 2's
    LoRA wraps the LLM's attention projections, and one step of each stage changes only LinVT and those adapters."""
    model, processor = make_tiny("qwen3_vl_moe")
    assert lora_target_modules(model) == r"model\.language_model\..*\.(k_proj|o_proj|q_proj|v_proj)"
    inputs = _chat(processor, [[{"role": "user", "content": [_video(4, 0), {"type": "text", "text": "what"}]}]])
    check_both_training_stages_step(model, inputs, llm="language_model")


def test_the_moe_router_loss_is_added_on_the_video_path_too():
    """With `output_router_logits`, Qwen3-VL-MoE's head adds `router_aux_loss_coef` x the load-balancing loss; LinVT
    runs the LM head on the video path and adds the same, from the router logits of that forward."""
    from transformers.models.qwen3_vl_moe.modeling_qwen3_vl_moe import load_balancing_loss_func

    model, processor = make_tiny("qwen3_vl_moe")
    model.eval()
    inputs = _chat(processor, [[{"role": "user", "content": [_video(4, 0), {"type": "text", "text": "what"}]}]])
    labels = inputs["input_ids"].masked_fill(inputs["input_ids"] == model.config.video_token_id, -100)
    text = model.config.text_config
    with torch.no_grad():
        plain = model(**inputs, labels=labels)
        routed = model(**inputs, labels=labels, output_router_logits=True)
    assert plain.aux_loss is None and routed.aux_loss is not None
    expected = load_balancing_loss_func(
        routed.router_logits, text.num_experts, text.num_experts_per_tok, inputs["attention_mask"]
    )
    torch.testing.assert_close(routed.aux_loss, expected, rtol=0, atol=0)
    assert routed.aux_loss > 0
    torch.testing.assert_close(routed.loss, plain.loss + text.router_aux_loss_coef * expected, rtol=1e-6, atol=1e-6)
    text.output_router_logits = True  # the config's setting applies when the call does not say
    with torch.no_grad():
        torch.testing.assert_close(model(**inputs, labels=labels).loss, routed.loss, rtol=0, atol=0)
