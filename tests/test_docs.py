"""The documentation runs as written: every Python block of README.md and of the shipped demo model's card.

Hub names in the docs resolve to tiny checkpoints through tests/fake_hub.py (a local Hugging Face cache, offline),
and the videos they name (clip.mp4, long.mp4) are the package's sample videos, copied into the folder they run in.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import fake_hub
from run_doc_blocks import python_blocks

ROOT = Path(__file__).resolve().parent.parent
VIDEOS = ROOT / "tests" / "data" / "videos"
DOCS = ["README.md", "docs/video_input.md", "src/linvt_hf/assets/demo_model/README.md"]


@pytest.fixture(scope="module")
def hub_cache(tmp_path_factory) -> Path:
    cache = tmp_path_factory.mktemp("hub")
    for repo_id, family in fake_hub.DOC_BACKBONES.items():
        fake_hub.publish_tiny_backbone(cache, repo_id, family)
    return cache


def run_docs(doc: str, workdir: Path, cache: Path) -> subprocess.CompletedProcess:
    shutil.copyfile(VIDEOS / "bigbuckbunny.mp4", workdir / "clip.mp4")
    shutil.copyfile(VIDEOS / "carphone_pristine.mp4", workdir / "long.mp4")
    env = {**os.environ, "HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, str(ROOT / "tests" / "run_doc_blocks.py"), str(ROOT / doc)],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=600,
    )


@pytest.mark.parametrize("doc", DOCS)
def test_every_python_block_runs(doc, tmp_path, hub_cache):
    assert python_blocks((ROOT / doc).read_text(encoding="utf-8")), f"{doc} has no python block"
    result = run_docs(doc, tmp_path, hub_cache)
    assert result.returncode == 0, f"{doc} failed:\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}"


def test_fake_hub_serves_the_real_loading_code(hub_cache, tmp_path):
    """The mechanism itself: a Hub name loads through transformers' own from_pretrained, and a push is readable."""
    code = (
        "import sys; sys.path.insert(0, %r)\n"
        "import fake_hub, os; fake_hub.install(os.environ['HF_HUB_CACHE'])\n"
        "from transformers import Qwen2VLForConditionalGeneration\n"
        "m = Qwen2VLForConditionalGeneration.from_pretrained('Qwen/Qwen2-VL-7B-Instruct')\n"
        "m.push_to_hub('me/copy')\n"
        "print(type(Qwen2VLForConditionalGeneration.from_pretrained('me/copy')).__name__)\n"
    ) % str(ROOT / "tests")
    env = {**os.environ, "HF_HUB_CACHE": str(hub_cache), "HF_HUB_OFFLINE": "1"}
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("Qwen2VLForConditionalGeneration")


def test_the_av_the_docs_install_after_lmms_eval_is_the_locked_one():
    # lmms-eval pins av<16, so the docs tell to install linvt-hf's PyAV again after it: that must be the lock's.
    locked = re.search(r"^av==(\S+)$", (ROOT / "constraints.txt").read_text(), re.MULTILINE).group(1)
    for doc in ("README.md", "docs/evaluation.md"):
        told = re.findall(r"pip install 'av==([^']+)'", (ROOT / doc).read_text())
        assert told and set(told) == {locked}, f"{doc} installs av {told}, the lock has {locked}"
