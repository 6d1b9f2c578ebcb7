"""lmms-eval's entry point (`[project.entry-points."lmms_eval.models"]` in pyproject.toml): the `linvt` model.

lmms-eval calls `manifest()` while it builds its model registry; the model class is imported only when a run asks
for `--model linvt`.
"""

from __future__ import annotations

from typing import Any

MODEL_ID = "linvt"
CHAT_CLASS_PATH = "linvt_hf.evaluation.lmms_eval_model.LinVT"


def manifest() -> Any:
    """lmms-eval's `ModelManifest` of the `linvt` chat model (needs lmms-eval)."""
    from lmms_eval.models.registry_v2 import ModelManifest

    return ModelManifest(model_id=MODEL_ID, chat_class_path=CHAT_CLASS_PATH)
