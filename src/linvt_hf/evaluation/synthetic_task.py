"""Local lmms-eval tasks over the synthetic shapes set (`linvt_hf.data.generate_synthetic_video_qa`), which the demo
model answers: `write_lmms_eval_task(data_dir, folder)` writes them (two docs files, two YAML files and `utils.py`), and
`lmms-eval eval --include_path folder --tasks linvt_synthetic` runs them offline.

- `linvt_synthetic` (`generate_until`): one document per question, the video and the question as chat messages.
- `linvt_synthetic_rounds` (`generate_until_multi_round`): one document per video, one round per question (each
  round carries the video again, so its answer does not depend on the earlier rounds).

Both score the recipe's way (`linvt_hf.recipe.evaluation`): exact match of the answer's first word (lower case,
without `.,!?`) with the reference, as `accuracy` over all questions and over the time-only and single-frame ones.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..data import SINGLE_FRAME_TYPES, TIME_ONLY_TYPES

TASK = "linvt_synthetic"
ROUNDS_TASK = "linvt_synthetic_rounds"
SPLIT = "validation"

_METRICS = """metric_list:
  - metric: accuracy
    aggregation: !function utils.mean_accuracy
    higher_is_better: true
  - metric: time_only
    aggregation: !function utils.mean_time_only
    higher_is_better: true
  - metric: single_frame
    aggregation: !function utils.mean_single_frame
    higher_is_better: true
"""

_YAML = """task: {task}
dataset_path: json
dataset_kwargs:
  data_files:
    {split}: {docs}
test_split: {split}
output_type: {output_type}
doc_to_visual: !function utils.doc_to_visual
doc_to_text: !function utils.{doc_to_text}
{messages}doc_to_target: answer
process_results: !function utils.{process_results}
generation_kwargs:
  max_new_tokens: {max_new_tokens}
  temperature: 0
  do_sample: false
{metrics}metadata:
  version: 1.0
"""

_UTILS = '''"""lmms-eval hooks of the local synthetic-shapes tasks (written by linvt_hf.evaluation.write_lmms_eval_task)."""

from linvt_hf.evaluation.synthetic_task import (  # noqa: F401
    doc_to_messages,
    doc_to_text,
    doc_to_visual,
    mean_accuracy,
    mean_single_frame,
    mean_time_only,
    process_results,
    process_round_results,
    rounds_doc_to_text,
)
'''


def first_word(text: str) -> str:
    """The recipe's answer rule: the first word of `text`, without `.,!?`, in lower case (`""` for no word)."""
    return (text.strip().split() or [""])[0].strip(".,!?").lower()


def question_docs(data_dir: Path, split: str = SPLIT) -> list[dict[str, Any]]:
    """The split's QA records as documents: `id`, `video` (absolute path), `question`, `answer`, `question_type`."""
    docs = []
    with open(Path(data_dir) / f"{split}_qa.jsonl") as handle:
        for line in handle:
            record = json.loads(line)
            question, answer = (turn["value"] for turn in record["conversations"])
            docs.append(
                {
                    "id": record["id"],
                    "video": str((Path(data_dir) / record["video"]).resolve()),
                    "question": question.replace("<video>", "").strip(),
                    "answer": answer,
                    "question_type": record["question_type"],
                }
            )
    return docs


def video_docs(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The question documents grouped per video (in order): `id`, `video` and lists `questions`, `answers`,
    `question_types`."""
    grouped: dict[str, dict[str, Any]] = {}
    for doc in docs:
        entry = grouped.setdefault(
            doc["video"], {"id": Path(doc["video"]).stem, "video": doc["video"], "questions": [], "answers": [],
                           "question_types": []}
        )
        entry["questions"].append(doc["question"])
        entry["answers"].append(doc["answer"])
        entry["question_types"].append(doc["question_type"])
    return list(grouped.values())


def write_lmms_eval_task(
    data_dir: str | Path,
    folder: str | Path,
    split: str = SPLIT,
    max_new_tokens: int = 4,
    overwrite: bool = False,
    name: str = TASK,
) -> Path:
    """Write the local lmms-eval tasks `name` (`linvt_synthetic`) and `{name}_rounds` over the synthetic set in
    `data_dir` into `folder` (for `lmms-eval --include_path folder`): `{name}.yaml`, `{name}_rounds.yaml`, their
    documents `{name}_questions.jsonl` / `{name}_videos.jsonl` (absolute video paths) and `utils.py`. Returns
    `folder`.

    Raises:
        FileNotFoundError: `data_dir` holds no `{split}_qa.jsonl`.
        FileExistsError: `folder` already holds the task's files and `overwrite` is False.
    """
    data_dir, folder = Path(data_dir), Path(folder)
    if not (data_dir / f"{split}_qa.jsonl").is_file():
        raise FileNotFoundError(f"{data_dir / f'{split}_qa.jsonl'}: missing; generate the set first")
    files = {kind: folder / f"{name}_{kind}.jsonl" for kind in ("questions", "videos")}
    yamls = {name: folder / f"{name}.yaml", f"{name}_rounds": folder / f"{name}_rounds.yaml"}
    existing = [path.name for path in (*files.values(), *yamls.values()) if path.exists()]
    if existing and not overwrite:
        raise FileExistsError(f"{folder} already holds {existing}; pass overwrite=True to replace them")
    folder.mkdir(parents=True, exist_ok=True)
    docs = question_docs(data_dir, split)
    for kind, rows in (("questions", docs), ("videos", video_docs(docs))):
        files[kind].write_text("".join(json.dumps(row) + "\n" for row in rows))
    common = {"split": split, "max_new_tokens": max_new_tokens, "metrics": _METRICS}
    yamls[name].write_text(
        _YAML.format(
            task=name, docs=files["questions"].resolve(), output_type="generate_until",
            doc_to_text="doc_to_text", messages="doc_to_messages: !function utils.doc_to_messages\n",
            process_results="process_results", **common,
        )
    )
    yamls[f"{name}_rounds"].write_text(
        _YAML.format(
            task=f"{name}_rounds", docs=files["videos"].resolve(), output_type="generate_until_multi_round",
            doc_to_text="rounds_doc_to_text", messages="", process_results="process_round_results", **common,
        )
    )
    (folder / "utils.py").write_text(_UTILS)  # the same hooks for every task of the folder
    return folder


# --------------------------------------------------------------------------------------------------- lmms-eval hooks


def doc_to_visual(doc: dict[str, Any], lmms_eval_specific_kwargs: Any = None) -> list[str]:
    """The document's video."""
    return [doc["video"]]


def doc_to_text(doc: dict[str, Any], lmms_eval_specific_kwargs: Any = None) -> str:
    """The document's question."""
    return doc["question"]


def doc_to_messages(doc: dict[str, Any], lmms_eval_specific_kwargs: Any = None) -> list[dict[str, Any]]:
    """One user turn: the video, then the question (as the recipe's evaluation prompts)."""
    content = [{"type": "video", "url": doc["video"]}, {"type": "text", "text": doc["question"]}]
    return [{"role": "user", "content": content}]


def rounds_doc_to_text(
    doc: dict[str, Any],
    lmms_eval_specific_kwargs: Any = None,
    previous_output: list[str] | None = None,
    round_idx: int | None = None,
    previous_round_info: Any = None,
) -> str | tuple[list[str] | None, str | None, bool, list[str] | None, Any]:
    """lmms-eval's multi-round protocol: the first question (round_idx None), then per round
    `(visuals, question, terminal, previous_output, info)`, terminal after the video's last question."""
    if round_idx is None:
        return doc["questions"][0]
    if round_idx >= len(doc["questions"]):
        return None, None, True, previous_output, None
    return [doc["video"]], doc["questions"][round_idx], False, previous_output, None


def _scored(question_type: str, answer: str, prediction: str) -> dict[str, Any]:
    return {"question_type": question_type, "correct": first_word(prediction) == answer}


def process_results(doc: dict[str, Any], results: list[str]) -> dict[str, Any]:
    """Every metric gets the document's question type and whether its first word is the answer."""
    scored = _scored(doc["question_type"], doc["answer"], results[0] if results else "")
    return {"accuracy": scored, "time_only": scored, "single_frame": scored}


def process_round_results(doc: dict[str, Any], results: list[Any]) -> dict[str, Any]:
    """As `process_results`, with one score per round (a missing round is wrong)."""
    rounds = results[0] if results and isinstance(results[0], (list, tuple)) else results
    scored = [
        _scored(kind, answer, rounds[i] if i < len(rounds) else "")
        for i, (kind, answer) in enumerate(zip(doc["question_types"], doc["answers"]))
    ]
    return {"accuracy": scored, "time_only": scored, "single_frame": scored}


def _mean(items: list[Any], types: tuple[str, ...] | None) -> float:
    flat = [s for item in items for s in (item if isinstance(item, list) else [item])]
    chosen = [s["correct"] for s in flat if types is None or s["question_type"] in types]
    return sum(chosen) / len(chosen) if chosen else float("nan")


def mean_accuracy(items: list[Any]) -> float:
    """Accuracy over all questions."""
    return _mean(items, None)


def mean_time_only(items: list[Any]) -> float:
    """Accuracy over the time-only questions (direction, size, shots, visibility)."""
    return _mean(items, TIME_ONLY_TYPES)


def mean_single_frame(items: list[Any]) -> float:
    """Accuracy over the single-frame questions (colour, shape)."""
    return _mean(items, SINGLE_FRAME_TYPES)
