"""Tests for the pure frame-index sampling functions."""

from __future__ import annotations

import numpy as np
import pytest

from linvt_hf.processing.sampling import allocate_frames, frame_range, sample_frame_indices, uniform_indices


def _check_well_formed(indices: np.ndarray, total: int) -> None:
    assert indices.dtype == np.int64
    assert np.all(np.diff(indices) > 0), "sorted and unique"
    assert indices.min() >= 0 and indices.max() < total


class TestUniform:
    def test_segment_centres(self):
        assert sample_frame_indices(100, num_frames=4).tolist() == [12, 37, 62, 87]

    def test_every_frame_when_nothing_requested(self):
        assert sample_frame_indices(7).tolist() == list(range(7))

    def test_more_frames_than_exist_returns_each_frame_once(self):
        indices = sample_frame_indices(10, num_frames=25)
        assert indices.tolist() == list(range(10))

    def test_one_frame_video(self):
        assert sample_frame_indices(1, num_frames=16).tolist() == [0]

    def test_single_sample_is_the_middle_frame(self):
        assert sample_frame_indices(101, num_frames=1).tolist() == [50]

    @pytest.mark.parametrize("total, count", [(5, 5), (17, 16), (1000, 16), (1001, 999), (3, 2)])
    def test_well_formed(self, total, count):
        indices = sample_frame_indices(total, num_frames=count)
        assert len(indices) == min(total, count)
        _check_well_formed(indices, total)

    def test_uniform_indices_spacing_is_even(self):
        gaps = np.diff(uniform_indices(0, 1000, 10))
        assert set(gaps.tolist()) == {100}


class TestFpsAndBounds:
    def test_fps_sampling_one_frame_per_second(self):
        indices = sample_frame_indices(250, fps=1, video_fps=25)
        assert indices.tolist() == [12 + 25 * k for k in range(10)]

    def test_fps_sampling_rounds_count(self):
        assert len(sample_frame_indices(100, fps=2, video_fps=30)) == 7  # 3.33 s * 2

    def test_min_frames(self):
        assert len(sample_frame_indices(250, fps=0.1, video_fps=25)) == 1
        assert len(sample_frame_indices(250, fps=0.1, video_fps=25, min_frames=4)) == 4

    def test_max_frames(self):
        assert len(sample_frame_indices(250, fps=2, video_fps=25, max_frames=5)) == 5
        assert len(sample_frame_indices(250, max_frames=8)) == 8

    def test_min_frames_cannot_create_frames(self):
        assert sample_frame_indices(5, num_frames=2, min_frames=8).tolist() == list(range(5))


class TestTimeRange:
    def test_start_end(self):
        indices = sample_frame_indices(250, num_frames=5, video_fps=25, start=2.0, end=4.0)
        assert indices.tolist() == [55, 65, 75, 85, 95]

    def test_every_frame_of_range(self):
        indices = sample_frame_indices(250, video_fps=25, start=1.0, end=1.2)
        assert indices.tolist() == [25, 26, 27, 28, 29]

    def test_open_ended(self):
        assert frame_range(250, start=9.0, video_fps=25) == (225, 250)
        assert frame_range(250, end=1.0, video_fps=25) == (0, 25)

    def test_float_rounding_at_boundaries(self):
        fps = 30000 / 1001
        assert frame_range(1000, start=100 / fps, end=200 / fps, video_fps=fps) == (100, 200)

    def test_end_past_video_is_clipped(self):
        assert frame_range(100, start=3.0, end=60.0, video_fps=25) == (75, 100)

    def test_range_never_empty(self):
        assert frame_range(100, start=1.0, end=1.001, video_fps=25) == (25, 26)

    def test_fps_in_range(self):
        assert len(sample_frame_indices(1000, fps=2, video_fps=25, start=10, end=20)) == 20


class TestShots:
    def test_allocation_proportional_to_length(self):
        indices = sample_frame_indices(100, num_frames=10, shots=[(0, 10), (10, 100)])
        assert (indices < 10).sum() == 1 and (indices >= 10).sum() == 9

    def test_short_shot_is_not_missed(self):
        indices = sample_frame_indices(1000, num_frames=4, shots=[(0, 500), (500, 502), (502, 1000)])
        assert np.any((indices >= 500) & (indices < 502))

    def test_fewer_frames_than_shots_takes_longest_shots(self):
        shots = [(0, 5), (5, 50), (50, 60), (60, 100)]
        indices = sample_frame_indices(100, num_frames=2, shots=shots)
        assert indices.tolist() == [27, 80]  # centres of the two longest shots, in temporal order

    def test_ties_go_to_earlier_shot(self):
        assert sample_frame_indices(30, num_frames=1, shots=[(0, 10), (10, 20), (20, 30)]).tolist() == [5]

    def test_frames_outside_shots_are_never_sampled(self):
        indices = sample_frame_indices(100, shots=[(10, 20), (50, 55)])
        assert indices.tolist() == list(range(10, 20)) + list(range(50, 55))

    def test_largest_remainder_rounding(self):
        indices = sample_frame_indices(12, num_frames=11, shots=[(0, 2), (2, 12)])  # quotas 1.83 and 9.17
        assert indices.tolist()[:2] == [0, 1] and len(indices) == 11

    def test_shots_clipped_to_time_range(self):
        indices = sample_frame_indices(100, num_frames=4, video_fps=10, start=3.0, end=7.0, shots=[(0, 50), (50, 100)])
        assert indices.min() >= 30 and indices.max() < 70
        assert (indices < 50).sum() == 2

    def test_unsorted_shots_are_accepted(self):
        a = sample_frame_indices(100, num_frames=6, shots=[(50, 100), (0, 50)])
        b = sample_frame_indices(100, num_frames=6, shots=[(0, 50), (50, 100)])
        assert a.tolist() == b.tolist()

    def test_allocation_invariants(self):
        rng = np.random.default_rng(0)
        for _ in range(200):
            lengths = rng.integers(1, 60, size=rng.integers(1, 12))
            count = int(rng.integers(0, lengths.sum() + 1))
            counts = allocate_frames(lengths, count)
            assert counts.sum() == count
            assert np.all(counts <= lengths) and np.all(counts >= 0)
            if count >= len(lengths):
                assert np.all(counts >= 1)


class TestErrors:
    @pytest.mark.parametrize(
        "kwargs, name",
        [
            ({"num_frames": 0}, "num_frames"),
            ({"num_frames": -3}, "num_frames"),
            ({"fps": 0, "video_fps": 25}, "fps"),
            ({"fps": 1}, "video_fps"),
            ({"num_frames": 4, "fps": 1, "video_fps": 25}, "mutually exclusive"),
            ({"start": 2.0, "end": 1.0, "video_fps": 25}, "start"),
            ({"start": 1.0, "end": 1.0, "video_fps": 25}, "start"),
            ({"start": -1.0, "video_fps": 25}, "start"),
            ({"start": 100.0, "video_fps": 25}, "start"),
            ({"start": 1.0}, "video_fps"),
            ({"min_frames": 0}, "min_frames"),
            ({"min_frames": 4, "max_frames": 2}, "max_frames"),
            ({"shots": [(5, 5)]}, "shots"),
            ({"shots": [(0, 60), (50, 100)]}, "overlap"),
            ({"shots": [(200, 300)]}, "shots"),
        ],
    )
    def test_bad_arguments_name_the_argument(self, kwargs, name):
        with pytest.raises(ValueError, match=name):
            sample_frame_indices(100, **kwargs)

    def test_empty_video(self):
        with pytest.raises(ValueError, match="total_frames"):
            sample_frame_indices(0, num_frames=4)
