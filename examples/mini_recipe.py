"""The LinVT recipe in miniature, on CPU: an image-LLM is trained, converted with LinVT, then trained in two stages.

The recipe is library code, `linvt_hf.recipe` (its docstring says what each step does; `python -m linvt_hf.recipe`
runs the same). This script is its command line:

    python examples/mini_recipe.py --output-dir runs/mini --seed 0          # the full run (about 12 min, 2 cores)
    python examples/mini_recipe.py --output-dir /tmp/smoke --smoke          # seconds: the same code on a toy set
    python examples/mini_recipe.py --help                                   # every setting

Each phase can also be called on its own, e.g. to train an image-LLM once and convert it in several ways:

    from pathlib import Path

    from linvt_hf.data import generate_synthetic_video_qa
    from linvt_hf.recipe import RecipeArguments, build_processor, convert_image_llm, train_image_llm, train_stage1

    args = RecipeArguments(output_dir="runs/mini", smoke=True)
    data_dir = Path(args.output_dir) / "data"
    generate_synthetic_video_qa(data_dir, args.num_train_videos, args.num_validation_videos, seed=args.seed)
    processor = build_processor(args)
    image_llm, _ = train_image_llm(args, processor, data_dir)
    model = convert_image_llm(args, image_llm, processor)
    train_stage1(args, model, processor, data_dir)
"""

import os

# Idle OpenMP threads sleep instead of spinning: with 2 threads on 2 shared cores, spinning makes tiny ops up to 50x
# slower as soon as anything else runs. Read when torch loads, so it must precede the import.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from linvt_hf.recipe import main  # noqa: E402

if __name__ == "__main__":
    main(program="python examples/mini_recipe.py")
