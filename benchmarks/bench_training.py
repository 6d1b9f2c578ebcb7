"""Training throughput of stage 1 and stage 2: samples per second and peak memory, through `LinVTTrainer`.

Each (stage, model size) runs in a fresh subprocess so its peak RSS is its own. Data: the synthetic shapes set
(`linvt_hf.data.generate_synthetic_video_qa`), captions for stage 1 and QA for stage 2, decoded by the collator
in the training loop like a real run. Models are built from configs with random weights (offline):

- `tiny`: `linvt_hf.testing.make_tiny("qwen2_vl")` (LLM 2 x 64, LinVT 32 wide), the test-suite size;
- `small`: the same Qwen2-VL family with an LLM of 4 layers x 512 and LinVT 256 wide, 2 layers, 112 queries.

    python benchmarks/bench_training.py --steps 20
    python benchmarks/bench_training.py --smoke          # seconds; what CI runs
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

from _shared import machine, run_child

SIZES = {
    "tiny": {},
    "small": dict(text=dict(hidden_size=512, intermediate_size=1024, num_hidden_layers=4, num_attention_heads=8),
                  linvt=dict(hidden_size=256, num_layers=2, num_queries=[64, 32, 16], top_k_tokens=512)),
}


def build(size: str):
    """(model, processor) of the requested size, random weights."""
    import torch
    from transformers import AutoConfig

    from linvt_hf import FAMILIES, LinVTQwen2VLConfig, LinVTQwen2VLForConditionalGeneration
    from linvt_hf.testing.tiny_models import make_tiny, tiny_linvt_config, tiny_text_config

    if size == "tiny":
        return make_tiny("qwen2_vl", seed=0)
    _, processor = make_tiny("qwen2_vl", seed=0)
    spec = SIZES[size]
    text = {**tiny_text_config(processor.tokenizer), **spec["text"]}
    values = FAMILIES["qwen2_vl"].tiny_image_llm_config(processor, text)
    head_dim = spec["text"]["hidden_size"] // spec["text"]["num_attention_heads"]
    values["text_config"]["rope_parameters"]["mrope_section"] = [head_dim // 2 - 2 * (3 * head_dim // 16)] + [
        3 * head_dim // 16
    ] * 2
    video_tokenizer_config = tiny_linvt_config(**spec["linvt"], pooling_windows=[1, 2, 4])
    config = LinVTQwen2VLConfig.from_image_llm_config(
        AutoConfig.for_model("qwen2_vl", **values),
        video_tokenizer_config=video_tokenizer_config,
        video_token_id=processor.video_token_id,
    )
    processor.num_video_tokens = config.num_video_tokens
    torch.manual_seed(0)
    return LinVTQwen2VLForConditionalGeneration(config), processor


def measure(stage: int, size: str, steps: int, batch_size: int, num_frames: int, data_dir: str) -> dict:
    """Runs in the child: `steps` optimizer steps of one stage; reports samples/s (after 2 warm-up steps)."""
    import resource

    import torch
    from transformers import TrainerCallback, TrainingArguments

    from linvt_hf.training import (
        LinVTTrainer,
        VideoInstructionCollator,
        load_video_instruction_data,
        prepare_stage1,
        prepare_stage2,
    )

    torch.set_num_threads(os.cpu_count() or 1)
    model, processor = build(size)
    model = prepare_stage1(model) if stage == 1 else prepare_stage2(model)
    files = os.path.join(data_dir, "train_captions.jsonl" if stage == 1 else "train_qa.jsonl")
    dataset = load_video_instruction_data(files)
    collator = VideoInstructionCollator(processor, video_root=data_dir, num_frames=num_frames, shot_detector="none")

    class Clock(TrainerCallback):
        def __init__(self) -> None:
            self.times: list[float] = []

        def on_step_end(self, args, state, control, **kwargs):
            self.times.append(time.perf_counter())

    clock = Clock()
    with tempfile.TemporaryDirectory() as output_dir:
        args = TrainingArguments(
            output_dir=output_dir, max_steps=steps, per_device_train_batch_size=batch_size, learning_rate=1e-4,
            logging_steps=10**6, save_strategy="no", report_to=[], dataloader_num_workers=0, seed=0,
            use_cpu=True, disable_tqdm=True,
        )
        trainer = LinVTTrainer(
            model=model, args=args, train_dataset=dataset, data_collator=collator,
            contrastive_weight=0.5 if stage == 1 else 0.0, callbacks=[clock],
        )
        trainer.train()
    timed = clock.times[2:] if len(clock.times) > 3 else clock.times
    seconds = timed[-1] - timed[0] if len(timed) > 1 else float("nan")
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {
        "stage": stage,
        "size": size,
        "batch_size": batch_size,
        "num_frames": num_frames,
        "steps_timed": len(timed) - 1,
        "samples_per_s": (len(timed) - 1) * batch_size / seconds if seconds == seconds and seconds > 0 else None,
        "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "trainable_m": trainable / 1e6,
        "total_m": sum(p.numel() for p in model.parameters()) / 1e6,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=["tiny", "small"], choices=sorted(SIZES))
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--num-frames", type=int, default=8)
    parser.add_argument("--smoke", action="store_true", help="tiny model, 4 steps: finishes in seconds")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(**json.loads(args.child))))
        return 0
    if args.smoke:
        args.sizes, args.steps = ["tiny"], 4

    from linvt_hf.data import generate_synthetic_video_qa

    rows = []
    with tempfile.TemporaryDirectory() as data_dir:
        generate_synthetic_video_qa(data_dir, num_train=max(8, args.steps * args.batch_size // 4), num_validation=0)
        for size in args.sizes:
            for stage in (1, 2):
                spec = dict(stage=stage, size=size, steps=args.steps, batch_size=args.batch_size,
                            num_frames=args.num_frames, data_dir=data_dir)
                rows.append(run_child(__file__, spec))
                if "error" in rows[-1]:
                    print(rows[-1]["error"], file=sys.stderr)
                    return 1
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)

    print(f"Machine: {machine()}; date: {time.strftime('%Y-%m-%d')}")
    print()
    print("| stage | model | parameters (M) | trainable (M) | batch | frames | samples/s | peak RSS (GiB) |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        rate = f"{row['samples_per_s']:.2f}" if row["samples_per_s"] else "n/a"
        print(f"| {row['stage']} | {row['size']} | {row['total_m']:.1f} | {row['trainable_m']:.2f} | "
              f"{row['batch_size']} | {row['num_frames']} | {rate} | {row['peak_rss_gib']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
