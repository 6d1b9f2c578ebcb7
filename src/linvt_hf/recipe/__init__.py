"""The LinVT recipe in miniature, on CPU: an image-LLM is trained, converted with LinVT, then trained in two stages.

1. Generate the synthetic video QA set (`linvt_hf.data.generate_synthetic_video_qa`): one coloured shape per video
   over 2-4 hard-cut shots; single-frame questions (colour, shape) and time-only questions (direction, size, shots,
   visibility), one-word answers; still frames with what each shows (colour, shape, whether the object is there,
   where, how big, the background).
2. Build a tiny image-LLM (transformers' own `InternVLForConditionalGeneration`, or with `--backbone qwen2_vl`
   `Qwen2VLForConditionalGeneration`). Pre-train its vision encoder on the still frames (a linear head on the mean
   of its tokens classifies what each frame shows, as real encoders are pre-trained before an LLM reads them), then,
   with the encoder frozen as LLaVA does, train projector + LLM with the stock `Trainer` on the frames' questions
   and on the training captions as text and questions answered from a caption (`--text-qa`); optionally (both off
   by default) with picture sets (how many different backgrounds 3-8 frames show) as a share of those samples
   (`--picture-set-share`) or, as LLaVA-OneVision adds multi-image data after its single-image stage, in a phase of
   their own half and half with that data (`--picture-set-steps`): the image-LLM LinVT converts.
3. Evaluate it: single-frame questions with the frame as an image; time-only questions with several frames as
   images (the only way an image-LLM sees a video).
4. Convert it with `from_backbone`; stage 1 (LinVT alone, video captions, cross-entropy + contrastive); stage 2
   (LoRA on the LLM + LinVT, video QA; each sample asks all of a video's questions, `--multi-turn-qa`).
   Evaluate after each stage on video questions and on image questions.
5. Write `results.json`, print a Markdown table and save the merged LinVT model with its processor.

    python -m linvt_hf.recipe --output-dir runs/mini --seed 0          # the full run (about 12 min, 2 cores)
    python -m linvt_hf.recipe --output-dir /tmp/smoke --smoke          # seconds: the same code on a toy set

(`examples/mini_recipe.py` runs the same.) Accuracy is exact match of the greedy answer's first word with the
reference answer.

Modules, by concern: `arguments` (settings, `TrainingArguments`), `vocabulary` (answer choices, question groups),
`data` (the recipe's data files), `processor` (tokenizer and processor), `image_llm` (the toy image-LLM: build,
save/load with its tokenizer), `vision_pretraining`, `image_llm_training`, `stages` (conversion, stage 1 and 2),
`caching` (what is kept while the same videos come back), `evaluation` (+ `AccuracyProbe`), `report` (table, model
card, clock), `runner` (`run`, `main`). Importing `linvt_hf` does not import this package (it needs `peft`).
"""

from importlib.util import find_spec

_MISSING = [name for name in ("peft", "datasets") if find_spec(name) is None]
if _MISSING:
    raise ImportError(f"linvt_hf.recipe needs {' and '.join(_MISSING)}: pip install 'linvt-hf[train]'")

from .arguments import BACKBONES, RecipeArguments, training_arguments
from .caching import frame_tokens_kept, rows_per_video, sampled_videos_kept
from .data import (
    multi_turn_chats,
    question_text,
    read_jsonl,
    write_image_llm_records,
    write_image_replay,
    write_jsonl,
    write_language_data,
    write_multi_turn_qa,
    write_picture_set_share,
)
from .evaluation import (
    AccuracyProbe,
    EvalItem,
    answer,
    chance,
    evaluate,
    frames_as_images_items,
    image_items,
    prompt,
    video_items,
)
from .image_llm import IMAGE_LLM_INPUTS, build_image_llm, image_llm_tokenizer, save_image_llm, vision_encoder
from .image_llm_training import (
    image_llm_collator,
    pretrain_image_llm,
    train_image_llm,
    train_image_llm_on,
    train_image_llm_on_picture_sets,
)
from .processor import backbone_processor, build_processor, build_tokenizer, synthetic_vocabulary
from .report import COLUMNS, Clock, markdown_table, model_card
from .runner import PROGRAM, ValidationSets, main, recipe_command, run
from .stages import convert_image_llm, linvt_config, train_stage1, train_stage2, video_collator
from .vision_pretraining import FramePixels, frame_attribute_labels, pooled_image_features, pretrain_vision_encoder
from .vocabulary import ANSWER_CHOICES, GROUPS, LANGUAGE_PROMPT, QUESTION_TYPES

__all__ = [
    "ANSWER_CHOICES",
    "BACKBONES",
    "COLUMNS",
    "GROUPS",
    "IMAGE_LLM_INPUTS",
    "LANGUAGE_PROMPT",
    "PROGRAM",
    "QUESTION_TYPES",
    "AccuracyProbe",
    "Clock",
    "EvalItem",
    "FramePixels",
    "RecipeArguments",
    "ValidationSets",
    "answer",
    "backbone_processor",
    "build_image_llm",
    "build_processor",
    "build_tokenizer",
    "chance",
    "convert_image_llm",
    "evaluate",
    "frame_attribute_labels",
    "frame_tokens_kept",
    "frames_as_images_items",
    "image_items",
    "image_llm_collator",
    "image_llm_tokenizer",
    "linvt_config",
    "main",
    "markdown_table",
    "model_card",
    "multi_turn_chats",
    "pooled_image_features",
    "pretrain_image_llm",
    "pretrain_vision_encoder",
    "prompt",
    "question_text",
    "read_jsonl",
    "recipe_command",
    "rows_per_video",
    "run",
    "sampled_videos_kept",
    "save_image_llm",
    "synthetic_vocabulary",
    "train_image_llm",
    "train_image_llm_on",
    "train_image_llm_on_picture_sets",
    "train_stage1",
    "train_stage2",
    "training_arguments",
    "video_collator",
    "video_items",
    "vision_encoder",
    "write_image_llm_records",
    "write_image_replay",
    "write_jsonl",
    "write_language_data",
    "write_multi_turn_qa",
    "write_picture_set_share",
]
