"""Write the linvt-hf 0.1 checkpoints that tests/test_legacy_checkpoints.py loads with today's code.

Run it with linvt-hf 0.1.0 (commit 2556514, the last release before the redesign) on the path, from the repository
root:

    git worktree add /tmp/v01 2556514
    PYTHONPATH=/tmp/v01/src python tests/data/legacy_checkpoints/make_fixtures.py tests/data/legacy_checkpoints

For each family it writes `<family>/full` (a whole tiny LinVT model and its processor, as 0.1 saved them),
`<family>/linvt_only` (a 0.1 LinVT-only checkpoint, naming the image-LLM `linvt-legacy/<family>`), `<family>/image_llm`
(that image-LLM, published under that name by the test) and `<family>/reference.pt`: the input ids and pixels the 0.1
processor made of a fixed video and question, and the 0.1 model's logits and greedy answer.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

import linvt_hf
from linvt_hf.testing import make_tiny

FAMILIES = ("qwen2_vl", "qwen2_5_vl", "internvl", "llava_onevision")
QUESTION = "what is the man doing"


def fixed_video() -> np.ndarray:
    """Eight 56x56 frames: a bright square moving right over a dark background."""
    frames = np.full((8, 56, 56, 3), 30, dtype=np.uint8)
    for t in range(8):
        frames[t, 20:36, 4 + 5 * t : 20 + 5 * t] = (220, 180, 40)
    return frames


def main(root: Path) -> None:
    assert linvt_hf.__version__ == "0.1.0", f"run with linvt-hf 0.1.0, got {linvt_hf.__version__}"
    for family in FAMILIES:
        folder = root / family
        model, processor = make_tiny(family, seed=1)
        model.config.image_llm_name_or_path = f"linvt-legacy/{family}"
        model.save_pretrained(folder / "full")
        processor.save_pretrained(folder / "full")
        model.save_pretrained(folder / "linvt_only", linvt_only=True)
        model.image_llm.save_pretrained(folder / "image_llm")
        processor.backbone_processor.save_pretrained(folder / "image_llm")
        messages = [{"role": "user", "content": [{"type": "video", "video": fixed_video()}, {"type": "text", "text": QUESTION}]}]
        inputs = processor.apply_chat_template(
            messages, tokenize=True, add_generation_prompt=True, return_dict=True, return_tensors="pt"
        )
        with torch.no_grad():
            logits = model(**inputs).logits
            answer = model.generate(**inputs, max_new_tokens=4, do_sample=False)[:, inputs["input_ids"].shape[1] :]
        torch.save(
            {
                "input_ids": inputs["input_ids"],
                "pixel_values_videos": inputs["pixel_values_videos"],
                "logits": logits,
                "answer": answer,
            },
            folder / "reference.pt",
        )
        print(family, "written", sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) // 1024, "KB")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
