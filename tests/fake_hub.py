"""A Hub for tests, in a local Hugging Face cache: Hub names resolve to tiny checkpoints, offline.

Repos are published into an `HF_HUB_CACHE` folder in the layout huggingface_hub itself writes
(`models--org--name/snapshots/<sha>/...` and `refs/main`), so with `HF_HUB_OFFLINE=1` the package's real loading code
(`from_pretrained("Qwen/Qwen2-VL-7B-Instruct")`, `LinVTProcessor.from_backbone(...)`) runs unchanged and finds a tiny
checkpoint there. `install()` makes uploads land there too (`HfApi.create_repo`, `upload_folder`, `create_commit`),
and reads model cards from there (`ModelCard.load`), so `push_to_hub(...)` followed by `from_pretrained(...)` of the
same repo works offline. Test-only: nothing in the package knows about it.

Use it in a process whose environment sets HF_HUB_CACHE and HF_HUB_OFFLINE=1 before huggingface_hub is imported.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

# Hub names the documentation uses, and the tiny family that stands in for each.
DOC_BACKBONES = {"Qwen/Qwen2-VL-7B-Instruct": "qwen2_vl"}


def repo_folder(cache_dir: str | os.PathLike, repo_id: str) -> Path:
    return Path(cache_dir) / ("models--" + repo_id.replace("/", "--"))


def snapshot_path(cache_dir: str | os.PathLike, repo_id: str) -> Path | None:
    """The folder of the repo's current snapshot, or None when the repo does not exist."""
    ref = repo_folder(cache_dir, repo_id) / "refs" / "main"
    return ref.parent.parent / "snapshots" / ref.read_text().strip() if ref.is_file() else None


def publish(cache_dir: str | os.PathLike, repo_id: str, files: dict[str, str | bytes | os.PathLike]) -> str:
    """A new commit of `repo_id` holding its previous files plus `files` (path in repo -> source file or bytes)."""
    root = repo_folder(cache_dir, repo_id)
    previous = snapshot_path(cache_dir, repo_id)
    sha = hashlib.sha1(f"{repo_id}{time.time_ns()}".encode()).hexdigest()
    snapshot = root / "snapshots" / sha
    if previous is not None:
        shutil.copytree(previous, snapshot)
    snapshot.mkdir(parents=True, exist_ok=True)
    for path_in_repo, source in files.items():
        target = snapshot / path_in_repo
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(source, bytes):
            target.write_bytes(source)
        else:
            shutil.copyfile(source, target)
    (root / "refs").mkdir(parents=True, exist_ok=True)
    (root / "refs" / "main").write_text(sha)
    return sha


def publish_folder(cache_dir: str | os.PathLike, repo_id: str, folder: str | os.PathLike) -> str:
    folder = Path(folder)
    files = {str(p.relative_to(folder)): p for p in folder.rglob("*") if p.is_file()}
    return publish(cache_dir, repo_id, files)


def native_image_llm(model: Any) -> Any:
    """The image-LLM's own transformers model (e.g. a `Qwen2VLForConditionalGeneration`) holding the weights of a tiny
    LinVT model's image-LLM part (every weight but the video tokenizer's): what an image-LLM repo on the Hub holds."""
    from linvt_hf import family_of
    from linvt_hf.modeling.checkpoints import image_llm_class_of
    from linvt_hf.testing import tiny_image_llm_config

    native = image_llm_class_of(type(model))(tiny_image_llm_config(family_of(model).image_llm_model_type))
    missing, unexpected = native.load_state_dict(model.state_dict(), strict=False)
    linvt_only = [k for k in unexpected if not k.startswith("model.video_tokenizer.") and k != "video_text_logit_scale"]
    if missing or linvt_only:
        raise ValueError(f"not the tiny image-LLM's weights: missing {missing[:5]}, unexpected {linvt_only[:5]}")
    return native.to(model.dtype).train(model.training)


def publish_tiny_backbone(cache_dir: str | os.PathLike, repo_id: str, family: str) -> None:
    """Publish a tiny image-LLM of `family` (model, tokenizer, image processor, chat template) as `repo_id`."""
    from linvt_hf.testing import make_tiny, make_tiny_processor

    model, _ = make_tiny(family)
    with tempfile.TemporaryDirectory() as folder:
        native_image_llm(model).save_pretrained(folder)
        make_tiny_processor(family).save_pretrained(folder)
        publish_folder(cache_dir, repo_id, folder)


def install(cache_dir: str | os.PathLike) -> None:
    """Route the Hub API calls that uploads and model cards use to the cache folder."""
    from huggingface_hub import CommitOperationAdd, HfApi, ModelCard, RepoUrl
    from huggingface_hub.errors import EntryNotFoundError

    def create_repo(self: HfApi, repo_id: str, *args: Any, **kwargs: Any) -> RepoUrl:
        return RepoUrl(f"https://huggingface.co/{repo_id}")

    def upload_folder(self: HfApi, *, repo_id: str, folder_path: str | os.PathLike, **kwargs: Any) -> str:
        return publish_folder(cache_dir, repo_id, folder_path)

    def create_commit(self: HfApi, repo_id: str, operations: list[Any], *args: Any, **kwargs: Any) -> str:
        files = {}
        for operation in operations:
            if not isinstance(operation, CommitOperationAdd):
                raise NotImplementedError(f"the test Hub only adds files, got {type(operation).__name__}")
            source = operation.path_or_fileobj
            files[operation.path_in_repo] = source if isinstance(source, (str, os.PathLike, bytes)) else source.read()
        return publish(cache_dir, repo_id, files)

    def load_card(cls: type[ModelCard], repo_id_or_path: str, *args: Any, **kwargs: Any) -> ModelCard:
        if os.path.exists(repo_id_or_path):
            return cls(Path(repo_id_or_path).read_text(encoding="utf-8"))
        snapshot = snapshot_path(cache_dir, repo_id_or_path)
        if snapshot is None or not (snapshot / "README.md").is_file():
            raise EntryNotFoundError(f"{repo_id_or_path} has no README.md")
        return cls((snapshot / "README.md").read_text(encoding="utf-8"))

    def validate_card(self: ModelCard, repo_type: str | None = None) -> None:
        """A card is checked by the Hub's own endpoint (a network call); the test Hub accepts it."""

    HfApi.create_repo = create_repo
    ModelCard.validate = validate_card
    HfApi.upload_folder = upload_folder
    HfApi.create_commit = create_commit
    ModelCard.load = classmethod(load_card)


__all__ = [
    "DOC_BACKBONES",
    "install",
    "native_image_llm",
    "publish",
    "publish_folder",
    "publish_tiny_backbone",
    "snapshot_path",
]
