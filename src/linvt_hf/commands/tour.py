"""`linvt-hf tour [--real-video VIDEO]`: what the shipped demo model can do, then the same pipeline on real footage.

1. Clips from the demo model's own world, generated on the spot (the synthetic shapes set it was trained on, from
   a seed of your choice, three by default): each is asked the questions it has learned (the shape's colour and shape, which way it moves,
   whether it grows or shrinks, whether it appears or disappears) and each answer is printed beside the right one.
   Shot counting is left out: the demo model has not learned it (see its model card).
2. With --real-video, the same pipeline on real footage: the shots AutoShot finds, the frames sampled, what LinVT
   kept of each frame, and the model's answer, which only demonstrates the pipeline: the demo model knows nothing
   but synthetic shapes.

`scripts/run.sh` runs it with the bundled sample video when given no arguments.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from .ask import describe_selection
from .common import MODEL_HELP, Progress, check_video, load_pipeline, positive_int, resolve_model

# The demo model's training clips (examples/mini_recipe.py): 56x56 frames at 8 fps.
CLIP_SIZE = 56
CLIP_FPS = 8
# The question types the demo model has learned, in the order they are asked.
LEARNED_TYPES = ("color", "shape", "direction", "size", "visibility")
REAL_QUESTION = "What happens in the video?"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "tour",
        help="show the demo model on a clip of its own world, then the pipeline on real footage",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the first synthetic clip (0); clip i uses seed+i")
    parser.add_argument("--clips", type=positive_int, default=3, help="synthetic clips to generate (3)")
    parser.add_argument("--real-video", metavar="VIDEO", default=None, help="a real video for part 2 (optional)")
    parser.add_argument("--keep-clip", metavar="DIR", default=None, help="write the generated clip to DIR and keep it")
    parser.add_argument("--model", metavar="M", default=None, help=MODEL_HELP)
    parser.add_argument("--device", default=None, help="torch device, e.g. cpu or cuda:0 (default: GPU 0 if any)")
    parser.set_defaults(func=run)


def synthetic_clip(folder: Path, seed: int) -> tuple[Path, list[tuple[str, str]], str]:
    """Write one clip of the synthetic shapes set to `folder`; returns its path, the (question, right answer) pairs of
    the learned question types, and its description."""
    from ..data.synthetic import qa_records, random_spec, render_frames, write_mp4

    spec = random_spec(np.random.default_rng(seed), f"tour-{seed}")
    path = folder / f"{spec.name}.mp4"
    write_mp4(render_frames(spec, CLIP_SIZE), path, CLIP_FPS)
    records = {record["question_type"]: record for record in qa_records(spec, path.name)}
    pairs = []
    for kind in LEARNED_TYPES:
        if kind in records:  # a clip whose object stays has no appear/disappear question
            question, answer = (turn["value"] for turn in records[kind]["conversations"])
            pairs.append((question.removeprefix("<video>\n"), answer))
    return path, pairs, f"{spec.caption()} ({spec.num_frames} frames at {CLIP_FPS} fps, {CLIP_SIZE}x{CLIP_SIZE})"


def run(args: argparse.Namespace) -> int:
    if args.real_video is not None:
        check_video(args.real_video)
    progress = Progress()
    model = resolve_model(args.model)
    qa = load_pipeline(model, args.device, progress)
    right = asked = 0
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(args.keep_clip) if args.keep_clip else Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        print(f"1. Clips from the demo model's own world (synthetic shapes), generated now, seeds {args.seed}.."
              f"{args.seed + args.clips - 1}:")
        for seed in range(args.seed, args.seed + args.clips):
            clip, pairs, description = synthetic_clip(folder, seed)
            progress(f"asking about synthetic clip {seed}")
            answers = qa([{"video": str(clip), "question": question} for question, _ in pairs], max_new_tokens=4)
            print(f"\n   seed {seed}: {description}" + (f", saved to {clip}" if args.keep_clip else ""))
            width = max(len(question) for question, _ in pairs)
            print(f"   {'question':<{width}}  {'model says':<12} right answer")
            for (question, truth), answer in zip(pairs, answers):
                said = answer[0]["answer"]
                right += said == truth
                print(f"   {question:<{width}}  {said:<12} {truth:<10} {'ok' if said == truth else 'WRONG'}")
            asked += len(pairs)
    print(f"\n   {right} of {asked} right. Shot counting is left out: the demo model has not learned it (its model card")
    print("   gives its accuracy per question type on 100 held-out clips). Other clips: --seed N --clips K.")
    if args.real_video is None:
        return 0
    print()
    print(f"2. The same pipeline on real footage ({args.real_video}): a demonstration of the pipeline only; the demo")
    print("   model knows nothing but synthetic shapes, so its answer here means nothing.")
    from ..processing.shots import detect_shots

    progress("finding shots and answering")
    shots = detect_shots(args.real_video, detector="autoshot")
    result = qa(video=args.real_video, question=REAL_QUESTION, max_new_tokens=4, return_selection=True, top_scores=5)[0]
    print(f"   AutoShot finds {len(shots)} shot(s): {shots}")
    print(f"   asked {REAL_QUESTION!r}, the model says {result['answer']!r}")
    print("\n".join("   " + line for line in describe_selection(result["selection"][0])))
    return 0
