"""The recipe's report: the Markdown accuracy table, the final model's card, and the wall time of each phase."""

from __future__ import annotations

import json
import time
from typing import Any

from ..data import SINGLE_FRAME_TYPES, TIME_ONLY_TYPES
from ..data.synthetic import PICTURE_SET_TYPE

# The accuracy table's columns: each group followed by its question types, then the picture sets.
COLUMNS = ("time_only", *TIME_ONLY_TYPES, "single_frame", *SINGLE_FRAME_TYPES, "frame", PICTURE_SET_TYPE)


def markdown_table(results: dict[str, Any]) -> str:
    """Validation accuracy (%) per model and input, with chance levels."""
    header = "| model | input | " + " | ".join(c.replace("_", "-") for c in COLUMNS) + " |"
    lines = [header, "|" + "---|" * (len(COLUMNS) + 2)]
    rows = [("chance", "", results["chance"])]
    rows += [(row["model"], row["input"], row["scores"]) for row in results["evaluations"]]
    for model, kind, scores in rows:
        cells = [f"{100 * scores[c]:.0f}" if c in scores else "" for c in COLUMNS]
        lines.append(f"| {model} | {kind} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def model_card(results: dict[str, Any]) -> str:
    """The model card of the recipe's final model: what it is, how to reproduce it, how well it does."""
    arguments = results["arguments"]
    final = next(row["scores"] for row in reversed(results["evaluations"]) if "time_only" in row["scores"])
    family = {"qwen2_vl": "Qwen2-VL", "internvl": "InternVL"}[arguments["backbone"]]
    return f"""---
license: apache-2.0
library_name: transformers
pipeline_tag: video-text-to-text
tags: [linvt, video-llm, {arguments["backbone"]}, synthetic, demo]
---

# LinVT demo model (tiny {family} + LinVT, synthetic shapes)

A toy video-LLM made by the LinVT recipe in miniature (`examples/mini_recipe.py` of linvt-hf): a tiny {family}
image-LLM ({results["num_parameters"] / 1e6:.2f}M parameters with LinVT, {results["model_size_bytes"] / 2**20:.1f} MB)
trained on single frames, then converted with LinVT and trained in the paper's two stages on the synthetic shapes set
(`linvt_hf.data.generate_synthetic_video_qa`). Asked about a video, it answers in one word: the object's colour or
shape, which way it moves (left/right/up/down), whether it grows or shrinks, how many shots the video has
(two/three/four), whether the object appears or disappears. How often it is right is in the table below
(time-only questions: {100 * final["time_only"]:.0f}% against {100 * results["chance"]["time_only"]:.0f}% by chance).
It knows nothing else: on real footage its answers only demonstrate the pipeline.

```python
import linvt_hf
from transformers import pipeline

qa = pipeline("video-question-answering", model=str(linvt_hf.assets.demo_model_path()))
qa(video="clip.mp4", question="How many shots does the video have?", max_new_tokens=4)
```

## Training

On CPU, offline; deterministic by seed on a given machine and software stack:

```bash
{results["command"]}
```

Seed {arguments["seed"]} (data, initialisation and data order). All settings:

```json
{json.dumps(arguments, indent=2)}
```

## Validation accuracy (%)

{markdown_table(results)}

Wall time per phase (s): {json.dumps(results["wall_time_s"])}
"""


class Clock:
    """Wall time of each phase (`phases`: name -> seconds), printed as each ends."""

    def __init__(self) -> None:
        self.started = self.last = time.perf_counter()
        self.phases: dict[str, float] = {}

    def lap(self, name: str) -> None:
        """Phase `name` ends now: keep its wall time (s, one decimal) and print it with the time since the start."""
        now = time.perf_counter()
        self.phases[name] = round(now - self.last, 1)
        self.last = now
        print(f"[{now - self.started:7.1f} s] {name} done in {self.phases[name]:.1f} s", flush=True)
