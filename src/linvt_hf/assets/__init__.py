"""Files shipped with the package: the demo LinVT model.

`demo_model_path()` is the folder of a tiny LinVT model (InternVL family at toy sizes, model + processor, a few MB)
trained by `examples/mini_recipe.py` on the synthetic shapes set (`linvt_hf.data.generate_synthetic_video_qa`). It
answers the synthetic set's questions (colour, shape, direction, growth, number of shots, appearing/disappearing)
about any video offline; on real footage its one-word answers are only a demonstration of the pipeline. Its README
states the exact training command and seed.
"""

from __future__ import annotations

from pathlib import Path

DEMO_MODEL_DIRNAME = "demo_model"


def demo_model_path() -> Path:
    """The folder of the shipped demo LinVT model (loadable with `from_pretrained` / `pipeline`, offline).

    Raises:
        FileNotFoundError: the package was installed without its data files.
    """
    path = Path(__file__).resolve().parent / DEMO_MODEL_DIRNAME
    if not (path / "config.json").is_file():
        raise FileNotFoundError(
            f"the demo model is missing from {path}: the package was installed without its data files "
            "(reinstall linvt-hf, or pass a model explicitly)"
        )
    return path


__all__ = ["DEMO_MODEL_DIRNAME", "demo_model_path"]
