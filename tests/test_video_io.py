"""Tests for video decoding: inputs, sampling, seeking, metadata, rotation, errors and resource handling."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from linvt_hf.processing import video_io
from linvt_hf.processing.errors import VideoDecodeError
from linvt_hf.processing.sampling import sample_frame_indices
from linvt_hf.processing.video_io import DecodedVideo, VideoMetadata, load_video, probe_video, stream_video


sys.path.insert(0, str(Path(__file__).parent))
from video_factory import make_audio_only, make_video, read_frame_code, vfr_times  # noqa: E402


DATA = Path(__file__).parent / "data" / "videos"
SIZE = (64, 96)


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("videos")
    return {
        "basic": make_video(root / "basic.mp4", 40, size=SIZE, cuts=(15, 30)),
        # Keyframes every 10 frames and B-frames (the default preset uses them): seeking has real work to do.
        "long": make_video(root / "long.mp4", 300, size=SIZE, gop=10),
        # Matroska: no frame count, and a keyframe index (cues) that the demuxer loads on the first seek.
        "mkv": make_video(root / "long.mkv", 300, size=SIZE, gop=10),
        "webm": make_video(root / "short.webm", 20, size=SIZE, codec="libvpx-vp9"),
        "vfr": make_video(root / "vfr.mp4", 90, size=SIZE, vfr=True, gop=10),
        "one": make_video(root / "one.mp4", 1, size=SIZE),
        "gray": make_video(root / "gray.mkv", 8, size=SIZE, codec="ffv1", pix_fmt="gray"),
        "10bit": make_video(root / "10bit.mp4", 8, size=SIZE, pix_fmt="yuv420p10le"),
        "odd": make_video(root / "odd.mkv", 6, size=(17, 33), codec="ffv1"),
        "odd444": make_video(root / "odd.mp4", 6, size=(17, 33), pix_fmt="yuv444p"),
        **{
            f"rot{r}": make_video(root / f"rot{r}.mp4", 12, size=SIZE, rotation=r, lossless=True)
            for r in (90, 180, 270)
        },
        "rot0": make_video(root / "rot0.mp4", 12, size=SIZE, lossless=True),
        "faststart": make_video(root / "faststart.mp4", 60, size=SIZE, faststart=True),
        "audio": make_audio_only(root / "audio.wav"),
    }


def codes(decoded: DecodedVideo) -> list[int]:
    return [read_frame_code(frame) for frame in decoded.frames]


def count_seeks(monkeypatch) -> list[int]:
    """Record the targets of every seek the frame reader makes."""
    seeks: list[int] = []
    original = video_io._FrameReader._start

    def spy(self, target, at_beginning=False):
        decoded = original(self, target, at_beginning)
        if self._last_seek == target:
            seeks.append(target)
        return decoded

    monkeypatch.setattr(video_io._FrameReader, "_start", spy)
    return seeks


class TestMetadata:
    def test_probe_generated(self, videos):
        meta = probe_video(videos["basic"])
        assert meta == VideoMetadata(
            source=str(videos["basic"]),
            fps=25.0,
            duration=pytest.approx(1.6),
            total_frames=40,
            width=96,
            height=64,
            rotation=0,
            codec="h264",
            pix_fmt="yuv420p",
        )

    @pytest.mark.parametrize(
        "name, fps, frames, width, height",
        [("bigbuckbunny.mp4", 25.0, 132, 1280, 720), ("carphone_pristine.mp4", 30000 / 1001, 120, 176, 144)],
    )
    def test_probe_real_videos(self, name, fps, frames, width, height):
        meta = probe_video(DATA / name)
        assert meta.fps == pytest.approx(fps)
        assert (meta.total_frames, meta.width, meta.height) == (frames, width, height)
        assert meta.duration == pytest.approx(frames / fps, abs=0.05)

    def test_container_without_frame_count(self, videos):
        meta = probe_video(videos["mkv"])
        assert meta.total_frames == 300 and meta.fps == 25.0

    def test_decoded_video_metadata_matches_probe(self, videos):
        assert load_video(videos["basic"], num_frames=2).metadata == probe_video(videos["basic"])

    def test_timestamps(self, videos):
        decoded = load_video(videos["basic"], num_frames=4)
        np.testing.assert_allclose(decoded.timestamps, decoded.frame_indices / 25.0)
        assert decoded.timestamps.dtype == np.float64 and decoded.frame_indices.dtype == np.int64


class TestSampling:
    def test_all_frames_in_order(self, videos):
        decoded = load_video(videos["basic"])
        assert decoded.frames.shape == (40, *SIZE, 3) and decoded.frames.dtype == np.uint8
        assert codes(decoded) == list(range(40))
        assert decoded.frame_indices.tolist() == list(range(40))

    def test_num_frames(self, videos):
        decoded = load_video(videos["long"], num_frames=16)
        expected = sample_frame_indices(300, num_frames=16)
        assert decoded.frame_indices.tolist() == expected.tolist() == codes(decoded)

    def test_fps(self, videos):
        decoded = load_video(videos["long"], fps=2)  # 12 s of video
        assert len(decoded) == 24 and codes(decoded) == decoded.frame_indices.tolist()

    def test_start_end(self, videos):
        decoded = load_video(videos["long"], num_frames=5, start=2.0, end=4.0)
        assert codes(decoded) == [55, 65, 75, 85, 95]
        np.testing.assert_allclose(decoded.timestamps, [2.2, 2.6, 3.0, 3.4, 3.8])

    def test_shots(self, videos):
        decoded = load_video(videos["basic"], num_frames=6, shots=[(0, 15), (15, 30), (30, 40)])
        assert codes(decoded) == sample_frame_indices(40, num_frames=6, shots=[(0, 15), (15, 30), (30, 40)]).tolist()
        assert {c // 15 for c in codes(decoded)} == {0, 1, 2}

    def test_more_frames_than_exist(self, videos):
        decoded = load_video(videos["basic"], num_frames=100)
        assert codes(decoded) == list(range(40))

    def test_explicit_indices(self, videos):
        decoded = load_video(videos["long"], indices=[0, 7, 150, 299])
        assert codes(decoded) == [0, 7, 150, 299]

    @pytest.mark.parametrize("indices", [[3, 2], [1, 1], [0, 300], []])
    def test_bad_explicit_indices(self, videos, indices):
        with pytest.raises(ValueError, match="indices"):
            load_video(videos["long"], indices=indices)

    def test_indices_exclusive_with_sampling(self, videos):
        with pytest.raises(ValueError, match="num_frames"):
            load_video(videos["long"], indices=[1], num_frames=2)


class TestSeeking:
    def test_sparse_request_seeks_and_matches_sequential_decode(self, videos, monkeypatch):
        full = load_video(videos["long"])
        seeks = count_seeks(monkeypatch)
        sparse = load_video(videos["long"], num_frames=12)
        assert len(seeks) >= 10
        np.testing.assert_array_equal(sparse.frames, full.frames[sparse.frame_indices])
        np.testing.assert_array_equal(sparse.timestamps, full.timestamps[sparse.frame_indices])

    def test_dense_request_decodes_sequentially(self, videos, monkeypatch):
        seeks = count_seeks(monkeypatch)
        decoded = load_video(videos["long"], indices=np.arange(0, 300, 3))
        assert seeks == [] and codes(decoded) == list(range(0, 300, 3))

    @pytest.mark.parametrize("name", ["long", "mkv"])
    def test_without_a_keyframe_index_the_frames_are_the_same(self, videos, monkeypatch, name):
        # PyAV < 17 (e.g. the av<16 that lmms-eval pins) has no `index_entries`: seeking is decided blind.
        indexed = load_video(videos[name], num_frames=12)
        monkeypatch.setattr(video_io, "keyframe_index", lambda stream: None)
        blind = load_video(videos[name], num_frames=12)
        np.testing.assert_array_equal(blind.frame_indices, indexed.frame_indices)
        np.testing.assert_array_equal(blind.frames, indexed.frames)

    @pytest.mark.parametrize("target", [9, 10, 11, 19, 20, 299])
    def test_frames_around_keyframes(self, videos, target):
        assert codes(load_video(videos["long"], indices=[0, target])) == [0, target]

    def test_mkv_seek(self, videos):
        full = load_video(videos["mkv"])
        sparse = load_video(videos["mkv"], indices=[3, 47, 48, 101, 119, 260, 299])
        np.testing.assert_array_equal(sparse.frames, full.frames[[3, 47, 48, 101, 119, 260, 299]])
        assert codes(sparse) == [3, 47, 48, 101, 119, 260, 299]

    def test_mkv_seeks_with_cues(self, videos, monkeypatch):
        seeks = count_seeks(monkeypatch)
        assert codes(load_video(videos["mkv"], indices=[5, 95, 290])) == [5, 95, 290]
        assert seeks == [95, 290]

    def test_transport_stream_with_start_offset(self, tmp_path):
        path = make_video(tmp_path / "clip.ts", 60, size=SIZE, gop=10)
        decoded = load_video(path, indices=[0, 31, 59])
        assert codes(decoded) == [0, 31, 59]
        np.testing.assert_allclose(decoded.timestamps, [0.0, 1.24, 2.36], atol=1e-6)

    def test_raw_stream_without_timing(self, tmp_path):
        # An elementary stream: no frame count, no duration, no timestamps. Frames are counted by demuxing and
        # indexed in decode order.
        path = make_video(tmp_path / "clip.h264", 30, size=SIZE, gop=10)
        assert probe_video(path).total_frames == 30
        assert codes(load_video(path, num_frames=3)) == [5, 15, 25]
        assert codes(load_video(io.BytesIO(path.read_bytes()), num_frames=3)) == [5, 15, 25]

    def test_real_video_seek(self):
        path = DATA / "bigbuckbunny.mp4"
        full = load_video(path, size=(36, 64))
        sparse = load_video(path, num_frames=6, size=(36, 64))
        np.testing.assert_array_equal(sparse.frames, full.frames[sparse.frame_indices])


class TestVariableFrameRate:
    @staticmethod
    def expected_sources(times: np.ndarray, total: int, fps: float) -> list[int]:
        """Source frame on screen at each grid index (first frame of a slot, else the one before)."""
        slots = np.floor(times * fps + 0.5).astype(int)
        out = []
        for index in range(total):
            on_time = np.flatnonzero(slots == index)
            out.append(int(on_time[0]) if len(on_time) else int(np.flatnonzero(slots < index)[-1]))
        return out

    def test_grid_semantics(self, videos):
        decoded = load_video(videos["vfr"])
        meta = decoded.metadata
        times = vfr_times(90, 25.0)
        expected = self.expected_sources(times, meta.total_frames, meta.fps)
        assert meta.total_frames == 90
        assert len(set(expected)) < 80, "the grid skips and repeats source frames"
        assert codes(decoded) == expected
        np.testing.assert_allclose(decoded.timestamps, times[expected], atol=1e-6)

    def test_seek_matches_sequential(self, videos):
        full = load_video(videos["vfr"])
        sparse = load_video(videos["vfr"], indices=[1, 4, 33, 34, 61, 88])
        np.testing.assert_array_equal(sparse.frames, full.frames[[1, 4, 33, 34, 61, 88]])


class _Stamped:
    """A stand-in for a decoded frame: only its pts."""

    def __init__(self, pts):
        self.pts = pts


@pytest.fixture(scope="module")
def misordered(tmp_path_factory) -> Path:
    return make_video(tmp_path_factory.mktemp("pts") / "misordered.mp4", 120, size=SIZE, codec="mpeg4", gop=10,
                      misordered_pts=True)


class TestMisorderedTimestamps:
    """A demuxer that stamps frames out of order (DivX AVI with packed B-frames: pts 1, 2, 3, 5, 4, 6, 8, 7, ...)
    while the decoder returns them in display order: every frame comes back once, in its place."""

    def test_the_file_really_is_stamped_out_of_order(self, misordered):
        import av

        with av.open(str(misordered)) as container:
            pts = [frame.pts for frame in container.decode(video=0)]
        assert pts != sorted(pts) and sorted(pts) == sorted(set(pts))

    def test_every_frame_in_its_place(self, misordered):
        decoded = load_video(misordered)
        assert codes(decoded) == list(range(120))
        assert np.all(np.diff(decoded.timestamps) > 0)

    def test_sparse_request_seeks_and_gets_the_same_frames(self, misordered, monkeypatch):
        seeks = count_seeks(monkeypatch)
        assert codes(load_video(misordered, indices=[0, 31, 32, 33, 77, 119])) == [0, 31, 32, 33, 77, 119]
        assert seeks

    def test_whole_video_scan_reads_every_frame_once(self, misordered):
        from linvt_hf.processing.frame_scan import FrameScan

        scan = FrameScan(misordered, chunk_size=16)
        assert [read_frame_code(frame) for chunk in scan for frame in chunk.frames] == list(range(120))
        assert scan.report.unreadable == [] and scan.report.skipped == 0 and scan.report.notes == []

    @pytest.mark.parametrize(
        "pts, expected",
        [
            ([0, 1, 2, 3, 4, 5], [0, 1, 2, 3, 4, 5]),  # in order: unchanged
            ([0, 10, 11, 40, 41, 42], [0, 10, 11, 40, 41, 42]),  # variable frame rate: unchanged
            ([1, 2, 3, 5, 4, 6, 8, 7, 9], [1, 2, 3, 4, 5, 6, 7, 8, 9]),
            ([0, 3, 1, 2, 4], [0, 1, 2, 3, 4]),  # misplaced by 2 (less than the window of 4)
            ([0, None, 2, 1, 3], [0, None, 1, 2, 3]),  # a frame without a pts keeps none
            ([100, 101, 102, 103, 0, 1, 2, 3], [100, 101, 102, 103, 0, 1, 2, 3]),  # the clock jumps back: kept
            # Misorders a window away from the jump, on both sides of it.
            ([100, 102, 101, 103, 104, 105, 106, 0, 2, 1, 3, 4], [100, 101, 102, 103, 104, 105, 106, 0, 1, 2, 3, 4]),
        ],
    )
    def test_restamping(self, pts, expected):
        frames = [_Stamped(value) for value in pts]
        restamped = list(video_io.restamp_in_display_order(iter(frames)))
        assert restamped == frames and [frame.pts for frame in restamped] == expected


class TestRotation:
    @pytest.mark.parametrize("degrees", [90, 180, 270])
    def test_frames_are_upright(self, videos, degrees):
        base = load_video(videos["rot0"])
        rotated = load_video(videos[f"rot{degrees}"])
        # The display matrix says "turn counter-clockwise by `degrees`", which np.rot90 does per quarter turn.
        np.testing.assert_array_equal(rotated.frames, np.rot90(base.frames, degrees // 90, axes=(1, 2)))
        meta = rotated.metadata
        assert meta.rotation == degrees
        assert (meta.height, meta.width) == rotated.frames.shape[1:3]

    def test_resize_applies_to_upright_frames(self, videos):
        decoded = load_video(videos["rot90"], size=(48, 30))
        assert decoded.frames.shape == (12, 48, 30, 3)


class TestFormats:
    @pytest.mark.parametrize("name", ["gray", "10bit", "odd", "odd444", "webm"])
    def test_decodes_exactly(self, videos, name):
        decoded = load_video(videos[name])
        meta = decoded.metadata
        assert decoded.frames.shape == (meta.total_frames, meta.height, meta.width, 3)
        if meta.width >= 40:
            assert codes(decoded) == list(range(meta.total_frames))

    def test_pixel_formats_reported(self, videos):
        assert probe_video(videos["gray"]).pix_fmt == "gray"
        assert probe_video(videos["10bit"]).pix_fmt == "yuv420p10le"

    def test_gray_frames_have_equal_channels(self, videos):
        frames = load_video(videos["gray"]).frames
        assert np.array_equal(frames[..., 0], frames[..., 1]) and np.array_equal(frames[..., 0], frames[..., 2])

    def test_odd_size(self, videos):
        assert load_video(videos["odd"], num_frames=2).frames.shape == (2, 17, 33, 3)

    def test_one_frame_video(self, videos):
        decoded = load_video(videos["one"], num_frames=8)
        assert len(decoded) == 1 and codes(decoded) == [0]
        assert probe_video(videos["one"]).total_frames == 1


class TestResize:
    def test_exact_size(self, videos):
        assert load_video(videos["basic"], num_frames=3, size=(27, 48)).frames.shape == (3, 27, 48, 3)

    def test_shorter_side(self):
        assert load_video(DATA / "bigbuckbunny.mp4", num_frames=2, size=90).frames.shape == (2, 90, 160, 3)

    def test_max_side(self):
        assert load_video(DATA / "bigbuckbunny.mp4", num_frames=2, max_side=128).frames.shape == (2, 72, 128, 3)
        assert load_video(DATA / "carphone_pristine.mp4", num_frames=1, max_side=1000).frames.shape[1:3] == (144, 176)

    def test_resize_keeps_content(self, videos):
        small = load_video(videos["basic"], num_frames=3, size=(32, 48))
        full = load_video(videos["basic"], num_frames=3)
        mean_small = small.frames.reshape(3, -1, 3).mean(1)
        mean_full = full.frames.reshape(3, -1, 3).mean(1)
        np.testing.assert_allclose(mean_small, mean_full, atol=6)

    @pytest.mark.parametrize(
        "kwargs, name",
        [({"size": (0, 4)}, "size"), ({"size": -1}, "size"), ({"size": (8, 8), "max_side": 4}, "max_side"),
         ({"max_side": 0}, "max_side"), ({"interpolation": "nearest-ish"}, "interpolation")],
    )
    def test_bad_resize_arguments(self, videos, kwargs, name):
        with pytest.raises(ValueError, match=name):
            load_video(videos["basic"], **kwargs)


@pytest.fixture(scope="module")
def reference(videos) -> DecodedVideo:
    return load_video(videos["basic"], num_frames=5)


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, size=(10, 12, 16, 3), dtype=np.uint8)


class TestInputs:
    @pytest.mark.parametrize(
        "wrap",
        [
            lambda p: p,
            lambda p: str(p),
            lambda p: p.read_bytes(),
            lambda p: bytearray(p.read_bytes()),
            lambda p: memoryview(p.read_bytes()),
            lambda p: io.BytesIO(p.read_bytes()),
        ],
        ids=["path", "str", "bytes", "bytearray", "memoryview", "bytesio"],
    )
    def test_encoded_inputs(self, videos, reference, wrap):
        decoded = load_video(wrap(videos["basic"]), num_frames=5)
        np.testing.assert_array_equal(decoded.frames, reference.frames)
        assert decoded.metadata.total_frames == 40

    def test_open_file_is_left_open(self, videos, reference):
        with open(videos["basic"], "rb") as handle:
            decoded = load_video(handle, num_frames=5)
            assert not handle.closed
        np.testing.assert_array_equal(decoded.frames, reference.frames)
        assert decoded.metadata.source == repr(str(videos["basic"]))

    @pytest.mark.parametrize(
        "convert",
        [
            lambda f: f,
            lambda f: torch.from_numpy(f),
            lambda f: torch.from_numpy(f).permute(0, 3, 1, 2),
            lambda f: torch.from_numpy(f).permute(0, 3, 1, 2).float() / 255,
            lambda f: f.astype(np.float32) / 255,
            lambda f: [Image.fromarray(x) for x in f],
            lambda f: list(f),
        ],
        ids=["numpy", "torch-thwc", "torch-tchw", "torch-float", "numpy-float", "pil", "list-of-arrays"],
    )
    def test_decoded_inputs(self, frames, convert):
        decoded = load_video(convert(frames), num_frames=4)
        np.testing.assert_array_equal(decoded.frames, frames[[1, 3, 6, 8]])
        assert decoded.frame_indices.tolist() == [1, 3, 6, 8]
        assert decoded.metadata.fps is None and np.isnan(decoded.timestamps).all()

    def test_grayscale_array(self, frames):
        gray = frames[..., 0]
        decoded = load_video(gray)
        np.testing.assert_array_equal(decoded.frames, np.repeat(gray[..., None], 3, axis=-1))

    def test_fps_hint(self, frames):
        decoded = load_video(frames, fps=5, fps_hint=10)
        assert decoded.frame_indices.tolist() == [1, 3, 5, 7, 9]
        np.testing.assert_allclose(decoded.timestamps, [0.1, 0.3, 0.5, 0.7, 0.9])
        assert probe_video(frames, fps_hint=10).duration == pytest.approx(1.0)

    def test_time_sampling_needs_fps_hint(self, frames):
        with pytest.raises(ValueError, match="fps_hint"):
            load_video(frames, fps=2)
        with pytest.raises(ValueError, match="fps_hint"):
            load_video(frames, start=0.1)

    def test_array_resize(self, frames):
        assert load_video(frames, size=(6, 8)).frames.shape == (10, 6, 8, 3)

    def test_array_metadata(self, frames):
        meta = probe_video(frames)
        assert (meta.total_frames, meta.height, meta.width, meta.rotation, meta.codec) == (10, 12, 16, 0, None)

    @pytest.mark.parametrize(
        "bad",
        [
            np.zeros((4, 8, 8, 4), np.uint8),
            np.zeros((8,), np.uint8),
            np.zeros((0, 8, 8, 3), np.uint8),
            np.zeros((2, 8, 8, 3), np.int32),
            [],
            [np.zeros((8, 8, 3), np.uint8), np.zeros((4, 8, 3), np.uint8)],
        ],
        ids=["4-channels", "rank-1", "no-frames", "int32", "empty-list", "mixed-sizes"],
    )
    def test_bad_arrays(self, bad):
        with pytest.raises(ValueError, match="video"):
            load_video(bad)


class TestErrors:
    def test_missing_file(self, tmp_path):
        path = tmp_path / "missing.mp4"
        with pytest.raises(FileNotFoundError, match="missing.mp4"):
            load_video(path)
        with pytest.raises(FileNotFoundError, match="missing.mp4"):
            probe_video(str(path))
        with pytest.raises(FileNotFoundError, match="missing.mp4"):
            stream_video(path)

    def test_garbage(self, tmp_path):
        path = tmp_path / "garbage.mp4"
        path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
        with pytest.raises(VideoDecodeError, match="garbage.mp4") as info:
            load_video(path)
        assert info.value.reason and isinstance(info.value, ValueError)

    def test_truncated_index_at_end(self, tmp_path, videos):
        data = videos["long"].read_bytes()
        path = tmp_path / "cut.mp4"
        path.write_bytes(data[: len(data) // 2])
        with pytest.raises(VideoDecodeError, match="cut.mp4"):
            load_video(path)

    def test_truncated_streaming_layout(self, tmp_path, videos):
        data = videos["faststart"].read_bytes()
        path = tmp_path / "cut.mp4"
        path.write_bytes(data[: len(data) // 2])
        with pytest.raises(VideoDecodeError, match="truncated|decoding failed"):
            load_video(path)

    def test_no_video_stream(self, videos):
        with pytest.raises(VideoDecodeError, match="no video stream"):
            probe_video(videos["audio"])

    def test_zero_frames(self, tmp_path):
        # FFmpeg drops a video track without samples, so this reports a missing video stream.
        with pytest.raises(VideoDecodeError, match="zero.mp4"):
            load_video(make_video(tmp_path / "zero.mp4", 0))

    def test_undecodable_frames(self, tmp_path, videos):
        data = videos["faststart"].read_bytes()
        payload = data.index(b"mdat") + 4
        path = tmp_path / "blank.mp4"
        path.write_bytes(data[:payload] + bytes(len(data) - payload))
        with pytest.raises(VideoDecodeError, match="blank.mp4"):
            load_video(path, num_frames=4)

    def test_unreachable_url(self):
        url = "http://127.0.0.1:9/video.mp4"
        with pytest.raises(VideoDecodeError, match="could not open the URL") as info:
            load_video(url)
        assert url in str(info.value)

    @pytest.mark.parametrize(
        "kwargs, name",
        [({"num_frames": 0}, "num_frames"), ({"start": 1.0, "end": 0.5}, "start"), ({"fps": -1}, "fps")],
    )
    def test_bad_sampling_arguments(self, videos, kwargs, name):
        with pytest.raises(ValueError, match=name):
            load_video(videos["basic"], **kwargs)

    def test_bad_chunk_size(self, videos):
        with pytest.raises(ValueError, match="chunk_size"):
            stream_video(videos["basic"], chunk_size=0)

    def test_no_file_descriptor_leak(self, videos, tmp_path):
        fd_dir = Path("/proc/self/fd")
        if not fd_dir.exists():
            pytest.skip("needs /proc")
        bad = tmp_path / "bad.mp4"
        bad.write_bytes(b"\x00" * 1000)

        def work():
            load_video(videos["basic"], num_frames=3)
            load_video(videos["long"], num_frames=4)
            probe_video(videos["mkv"])
            next(iter(stream_video(videos["long"], chunk_size=4)))  # abandoned mid-way
            for source in (bad, videos["audio"]):
                with pytest.raises(VideoDecodeError):
                    load_video(source)

        work()
        before = len(os.listdir(fd_dir))
        for _ in range(15):
            work()
        import gc

        gc.collect()
        assert len(os.listdir(fd_dir)) <= before


class TestStreaming:
    @pytest.mark.parametrize("kwargs", [{}, {"fps": 5}, {"num_frames": 30, "size": (27, 48)}])
    def test_chunks_concatenate_to_load_video(self, videos, kwargs):
        whole = load_video(videos["long"], **kwargs)
        chunks = list(stream_video(videos["long"], chunk_size=16, **kwargs))
        assert all(len(c) <= 16 for c in chunks) and len(chunks) == -(-len(whole) // 16)
        np.testing.assert_array_equal(np.concatenate([c.frames for c in chunks]), whole.frames)
        np.testing.assert_array_equal(np.concatenate([c.frame_indices for c in chunks]), whole.frame_indices)
        np.testing.assert_array_equal(np.concatenate([c.timestamps for c in chunks]), whole.timestamps)
        assert all(c.metadata == whole.metadata for c in chunks)

    def test_array_chunks(self):
        frames = np.arange(7 * 4 * 4 * 3, dtype=np.uint8).reshape(7, 4, 4, 3)
        chunks = list(stream_video(frames, chunk_size=3))
        assert [len(c) for c in chunks] == [3, 3, 1]
        np.testing.assert_array_equal(np.concatenate([c.frames for c in chunks]), frames)

    def test_autoshot_style_all_frames(self):
        chunks = list(stream_video(DATA / "carphone_pristine.mp4", chunk_size=50, size=(27, 48)))
        assert [len(c) for c in chunks] == [50, 50, 20]
        assert chunks[0].frames.shape[1:] == (27, 48, 3)

    def test_progress_bar(self, videos, capsys):
        list(stream_video(videos["basic"], progress=True))
        assert "40" in capsys.readouterr().err

    def test_progress_without_tqdm(self, videos, capsys, monkeypatch):
        monkeypatch.setitem(sys.modules, "tqdm.auto", None)
        load_video(videos["basic"], progress=True)
        assert "40/40 frames" in capsys.readouterr().err
