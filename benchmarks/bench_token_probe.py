"""Do a trained LinVT model's video tokens still hold what a time-only question needs? A probe answers.

For each time-only question type of the synthetic set, a small set probe (a per-token MLP on the token and its
place in the video, mean and max pooling over the tokens, an MLP classifier: "deep sets") is trained on the
training videos to predict the answer, then scored on the validation videos. It is trained twice: on the model's
video tokens (the LinVT output the LLM sees, conditioned on that question) and on all the frame tokens LinVT starts
from. The gap between the two is what LinVT's selection and pooling lost; the gap between the probe on video tokens
and the model's own accuracy is what the LLM did not learn to read. The script also reports where SVR's top-k
selection took its tokens from: the share of the kept tokens in each quarter of the sampled frames.

    python benchmarks/bench_token_probe.py --model /tmp/recipe/final_model --data /tmp/recipe/data
    python benchmarks/bench_token_probe.py --smoke    # the shipped demo model on a few fresh videos (CI)

`--model` is a folder saved by `examples/mini_recipe.py` (`final_model`: model and processor; default: the shipped
demo model), `--data` the synthetic data set it was trained on (default: a fresh one, seed 12345, in a temporary
folder). Deterministic by `--seed` on a given machine.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch
from _shared import machine
from transformers import AutoModelForImageTextToText

from linvt_hf import LinVTProcessor
from linvt_hf.assets import demo_model_path
from linvt_hf.data import TIME_ONLY_TYPES, generate_synthetic_video_qa
from linvt_hf.training import VideoInstructionCollator

VIDEO_INPUT_KEYS = ("pixel_values_videos", "question_mask", "input_ids")


class DeepSetProbe(torch.nn.Module):
    """Per-token MLP, masked mean and max over the tokens, MLP classifier: `[B, S, D]`, `[B, S]` -> logits `[B, C]`."""

    def __init__(self, input_size: int, num_classes: int, width: int = 128) -> None:
        super().__init__()
        nn = torch.nn
        self.token = nn.Sequential(nn.Linear(input_size, width), nn.GELU(), nn.Linear(width, 64))
        self.head = nn.Sequential(nn.Linear(128, width), nn.GELU(), nn.Linear(width, num_classes))

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        hidden = self.token(tokens)  # the last 16 features are the token's place (see `with_place`)
        weights = mask[..., None].to(hidden.dtype)
        mean = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        largest = hidden.masked_fill(~mask[..., None], float("-inf")).max(1).values
        return self.head(torch.cat([mean, largest], dim=-1))


def read_records(path: Path, question_type: str, limit: int) -> list[dict]:
    with open(path) as handle:
        records = [json.loads(line) for line in handle]
    return [r for r in records if r["question_type"] == question_type][:limit]


def padded(rows: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Token sets of different sizes `[S_i, D]` -> `[B, S_max, D]` and the mask `[B, S_max]`."""
    width = max(r.shape[0] for r in rows)
    out = rows[0].new_zeros(len(rows), width, rows[0].shape[-1])
    mask = torch.zeros(len(rows), width, dtype=torch.bool)
    for i, r in enumerate(rows):
        out[i, : r.shape[0]] = r
        mask[i, : r.shape[0]] = True
    return out, mask


def with_place(tokens: torch.Tensor, place: torch.Tensor) -> torch.Tensor:
    """Append where each token is (`[S]` in [0, 1): the video token's index, the frame token's time) as sinusoids,
    so that the set probe can tell early from late."""
    frequencies = torch.arange(1, 9, dtype=torch.float32) * torch.pi
    angles = place[:, None].float() * frequencies
    return torch.cat([tokens, torch.sin(angles), torch.cos(angles)], dim=-1)


@torch.no_grad()
def token_sets(model, collator, records: list[dict], batch_size: int) -> dict:
    """Video tokens, frame tokens and the selected tokens' frame positions of each record's video."""
    video_tokens, frame_tokens, selected_at = [], [], []
    for start in range(0, len(records), batch_size):
        batch = collator(records[start : start + batch_size])
        inputs = {k: v for k, v in batch.items() if k.startswith("video_") or k in VIDEO_INPUT_KEYS}
        features = model.get_video_features(**inputs)
        per_video = model.config.num_video_tokens
        places = torch.arange(per_video) / per_video
        video_tokens += [with_place(v, places) for v in features.video_tokens.float()]
        steps = inputs["video_frame_mask"].sum(1).tolist()
        for f in model.model.frame_features(inputs["pixel_values_videos"], inputs.get("video_grid_thw"), steps):
            time_of_token = (torch.arange(f.shape[0]) / f.shape[0]).repeat_interleave(f.shape[1])
            frame_tokens.append(with_place(f.float().reshape(-1, f.shape[-1]), time_of_token))
        for out, members in zip(features.tokenizer_outputs, features.video_groups):
            for row, _ in enumerate(members):
                frames = out.selected_indices[row][out.selected_mask[row]] // out.tokens_per_frame
                selected_at.append(frames.float() / max(int(inputs["video_frame_mask"][members[row]].sum()), 1))
    return {"video": padded(video_tokens), "frame": padded(frame_tokens), "selected_at": selected_at}


def train_probe(train: tuple, labels: torch.Tensor, test: tuple, test_labels: torch.Tensor, args) -> float:
    torch.manual_seed(args.seed)
    tokens, mask = train
    scale = torch.ones(tokens.shape[-1])
    scale[:-16] = tokens[mask][:, :-16].std()  # the place features are already in [-1, 1]
    probe = DeepSetProbe(tokens.shape[-1], int(labels.max()) + 1)
    optimizer = torch.optim.AdamW(probe.parameters(), lr=1e-3, weight_decay=0.01)
    generator = torch.Generator().manual_seed(args.seed)
    for _ in range(args.steps):
        index = torch.randint(0, len(labels), (64,), generator=generator)
        loss = torch.nn.functional.cross_entropy(probe(tokens[index] / scale, mask[index]), labels[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        predicted = probe(test[0] / scale, test[1]).argmax(-1)
    return float((predicted == test_labels).float().mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="folder with a LinVT model and its processor (default: the demo model)")
    parser.add_argument("--data", help="the synthetic data set's folder (default: a fresh one)")
    parser.add_argument("--smoke", action="store_true", help="a few videos and steps, one question type (CI)")
    parser.add_argument("--types", default=",".join(TIME_ONLY_TYPES))
    parser.add_argument("--train-videos", type=int, default=800, help="training videos per question type")
    parser.add_argument("--steps", type=int, default=1500, help="probe training steps (batch 64)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    if args.smoke:
        args.types, args.train_videos, args.steps = "shots", 16, 5
    args.model = args.model or str(demo_model_path())
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as scratch:
        if args.data is None:
            args.data = scratch
            generate_synthetic_video_qa(scratch, 24 if args.smoke else 1000, 8 if args.smoke else 100, seed=12345)
        run(args)


def run(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    data = Path(args.data)
    model = AutoModelForImageTextToText.from_pretrained(args.model).eval()
    processor = LinVTProcessor.from_pretrained(args.model)
    video = processor.video_processor  # sample as the model was trained: its processor's frames and shot detector
    collator = VideoInstructionCollator(
        processor, video_root=data, num_frames=video.num_frames, fps=video.fps, shot_detector=video.shot_detector
    )
    rows = []
    for question_type in args.types.split(","):
        train = read_records(data / "train_qa.jsonl", question_type, args.train_videos)
        test = read_records(data / "validation_qa.jsonl", question_type, 10**9)
        if not train or not test:
            raise SystemExit(f"--data {args.data}: no {question_type!r} questions in train_qa / validation_qa.jsonl")
        answers = sorted({r["conversations"][1]["value"] for r in train + test})
        labels = torch.tensor([answers.index(r["conversations"][1]["value"]) for r in train])
        test_labels = torch.tensor([answers.index(r["conversations"][1]["value"]) for r in test])
        train_sets = token_sets(model, collator, train, args.batch_size)
        test_sets = token_sets(model, collator, test, args.batch_size)
        positions = torch.cat(test_sets["selected_at"])
        rows.append(
            {
                "question_type": question_type,
                "majority": float(torch.bincount(test_labels).max() / len(test_labels)),
                **{
                    f"probe_on_{kind}_tokens": train_probe(train_sets[kind], labels, test_sets[kind], test_labels, args)
                    for kind in ("video", "frame")
                },
                "selected_share_per_quarter": [
                    float(((positions >= q / 4) & (positions < (q + 1) / 4)).float().mean()) for q in range(4)
                ],
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    report = {"model": args.model, "machine": machine(), "seconds": round(time.perf_counter() - started), "rows": rows}
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    print(markdown(report))


def markdown(report: dict) -> str:
    lines = [
        "| question | majority answer | probe on the video tokens | probe on all frame tokens "
        "| tokens kept per quarter of the frames |",
        "|---|---|---|---|---|",
    ]
    for r in report["rows"]:
        shares = " / ".join(f"{100 * s:.0f}" for s in r["selected_share_per_quarter"])
        lines.append(
            f"| {r['question_type']} | {100 * r['majority']:.0f} | {100 * r['probe_on_video_tokens']:.0f} | "
            f"{100 * r['probe_on_frame_tokens']:.0f} | {shares} |"
        )
    return "\n".join(lines) + f"\n\n{report['machine']}; {report['seconds']} s"


if __name__ == "__main__":
    main()
