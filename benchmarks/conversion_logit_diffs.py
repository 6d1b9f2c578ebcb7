"""The figures of docs/conversions.md's "What was checked" table: each fixture of tests/data/conversions/ (written by
the ORIGINAL model code, with the logits it computed) converted with `linvt_hf.convert_checkpoint`, then the largest
absolute logit difference of the converted transformers model and of the LinVT model `from_backbone` builds on it,
for the image+text and the text-only input. Prints a markdown table.

    python benchmarks/conversion_logit_diffs.py
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file
from transformers import AutoModelForImageTextToText, AutoProcessor, logging

import linvt_hf
from linvt_hf.testing import tiny_linvt_config

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "data" / "conversions"
TINY_SIGLIP = {"num_attention_heads": 2, "hidden_act": "gelu_pytorch_tanh", "layer_norm_eps": 1e-6}
CONVERSIONS = {  # fixture: (layout, convert_checkpoint options)
    "internvl2_qwen2": ("internvl2", {}),
    "internvl2_internlm2": ("internvl2", {}),
    "aquila_llava_next": ("llava_next_aquila", {"vision_config": TINY_SIGLIP}),
    "mipha_phi2": ("mipha", {}),
    "mipha_phi1_5": ("mipha", {}),
    "xgenmm_phi3": ("xgenmm", {}),
    "molmo_qwen2": ("molmo", {"vision_config": {"num_attention_heads": 2}}),
}
MOLMO_PROMPT = "<|endoftext|><|image|> User: what is it Assistant:"  # what the original's preprocessor tokenized


def image_inputs(
    fixture: str, expected: dict[str, torch.Tensor], converted: Path
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """The image+text inputs as the converted model takes them, and which output positions the original's logits
    cover (the original's one -200 placeholder becomes `num_image_tokens` image tokens, id 60, in the LLaVA ones;
    Molmo's image goes through the converted folder's processor, which gives the original's tokens)."""
    if fixture.startswith("molmo"):
        processor = AutoProcessor.from_pretrained(converted)
        inputs = dict(processor(images=[expected["image"].numpy()], text=[MOLMO_PROMPT], return_tensors="pt"))
        return inputs, torch.arange(inputs["input_ids"].shape[1])
    if fixture.startswith("internvl2"):
        inputs = {"input_ids": expected["input_ids"], "pixel_values": expected["pixel_values"]}
        return inputs, torch.arange(expected["input_ids"].shape[1])
    n = int(expected["num_image_tokens"])
    inputs = {"input_ids": torch.tensor([[1, 2] + [60] * n + [4, 5, 6]])}
    if fixture == "aquila_llava_next":
        inputs.update(pixel_values=expected["pixel_values"][None], image_sizes=expected["image_sizes"])
        return inputs, expected["positions"]
    inputs["pixel_values"] = expected["pixel_values"]
    return inputs, torch.arange(inputs["input_ids"].shape[1])


def max_diffs(
    model: torch.nn.Module, fixture: str, expected: dict[str, torch.Tensor], converted: Path
) -> tuple[float, float]:
    """(image+text, text) largest absolute logit differences of `model` from the original's (over the original's
    vocabulary: Molmo's port also scores its added tokens, at the dtype's minimum)."""
    inputs, positions = image_inputs(fixture, expected, converted)
    vocab = expected["logits"].shape[-1]
    with torch.no_grad():
        image = model(**inputs).logits[:, positions, :vocab]
        text = model(input_ids=expected["text_input_ids"]).logits[..., :vocab]
    return float((image - expected["logits"]).abs().max()), float((text - expected["text_logits"]).abs().max())


def video_token_id(fixture: str) -> int:
    """An id for `<video>`: the fixture's own where its tokenizer files have one (InternVL2), else a free id."""
    added = FIXTURES / fixture / "added_tokens.json"
    tokens = json.loads(added.read_text()) if added.is_file() else {}
    return tokens.get("<video>", 61)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixture", action="append", choices=sorted(CONVERSIONS),
                        help="only this fixture (repeatable; default: all)")
    fixtures = parser.parse_args(argv).fixture or list(CONVERSIONS)
    logging.set_verbosity_error()  # the LinVT model's fresh video tokenizer is reported as missing: expected
    logging.disable_progress_bar()
    print("| fixture | converted transformers model (image+text / text) | LinVT from_backbone (image+text / text) |")
    print("| --- | --- | --- |")
    for fixture in fixtures:
        layout, options = CONVERSIONS[fixture]
        expected = load_file(FIXTURES / fixture / "expected.safetensors")
        with tempfile.TemporaryDirectory() as folder:
            report = linvt_hf.convert_checkpoint(layout, FIXTURES / fixture, Path(folder) / "hf", **options)
            model = AutoModelForImageTextToText.from_pretrained(report.destination, dtype=torch.float32).eval()
            plain = max_diffs(model, fixture, expected, report.destination)
            linvt = linvt_hf.LinVTForConditionalGeneration.from_backbone(
                report.destination, video_tokenizer_config=tiny_linvt_config(), dtype=torch.float32,
                video_token_id=video_token_id(fixture),
            ).eval()
            wrapped = max_diffs(linvt, fixture, expected, report.destination)
        print(f"| `{fixture}` | {plain[0]:.2g} / {plain[1]:.2g} | {wrapped[0]:.2g} / {wrapped[1]:.2g} |")


if __name__ == "__main__":
    main()
