"""Time shards of long files (issue 19): a file's shards, merged, give the whole-file run's windows and segments.

In one process, without Dask: :meth:`Predictor.window_scores` per shard, :func:`merge_scores`, then
:meth:`Predictor.segments_from_scores`, against :meth:`Predictor.segment_file` on the whole file.
"""
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import soxr

from audioclf_lib.predict import Predictor
from audioclf_lib.segments import default_policy
from audioclf_lib.shards import (Shard, WindowScores, load_scores, merge_scores, plan_shards, save_scores,
                                 stream_range)
from audioclf_lib.audio import stream_blocks
from tests.helpers import starter_clip, tone, write_wav

SR = 16_000
PLAN = [("music", 0), ("speech", 0), ("noise", 0), ("speech", 1), ("music", 1), ("noise", 1), ("music", 2),
        ("speech", 2), ("noise", 2)]


@pytest.fixture(scope="module")
def predictor():
    return Predictor("music-speech-noise", device="cpu")


@pytest.fixture(scope="module")
def policy(predictor):
    # 5-s windows every 0.5 s (the hop the edge cases below were written for), every one scored; the default's
    # 0.512-s hop scored coarse to fine: test_coarse_to_fine_shards_give_the_whole_file_windows_and_segments
    return replace(default_policy(predictor.config.window_seconds), hop_seconds=0.5, coarse_seconds=None)


@pytest.fixture(scope="module")
def long_audio():
    """About a minute of real clips of the three classes, end to end, plus an odd tail."""
    y = np.concatenate([sf.read(starter_clip(cls, i), dtype="float32")[0] for cls, i in PLAN])
    return np.concatenate([y, y[:12_345]])


def sharded(predictor, policy, path, shard_seconds, *, n_samples=None, block_seconds=60.0):
    """segment_file's result, computed shard by shard (planned from ``n_samples``, default the true length)."""
    info = sf.info(str(path))
    n_samples = n_samples or round(info.frames * SR / info.samplerate)
    shards = plan_shards(n_samples, shard_seconds, sr=SR, hop=predictor.shard_grid(policy, block_seconds=block_seconds))
    parts = [predictor.window_scores(path, policy=policy, start=s.start, stop=s.stop, block_seconds=block_seconds)
             for s in shards]
    return shards, predictor.segments_from_scores(merge_scores(parts), path=path, policy=policy)


def assert_same_windows(a: pd.DataFrame, b: pd.DataFrame, *, atol: float) -> None:
    assert list(a.columns) == list(b.columns) and (a.dtypes == b.dtypes).all()
    assert len(a) == len(b)
    for column in ("path", "start_s", "end_s", "label"):
        assert a[column].tolist() == b[column].tolist(), column
    assert np.abs(a["level_dbfs"].to_numpy() - b["level_dbfs"].to_numpy()).max() <= atol
    p = [c for c in a.columns if c.startswith("p_")]
    assert np.abs(a[p].to_numpy(float) - b[p].to_numpy(float)).max() <= max(atol, 1e-6)


def test_plan_shards_lies_on_the_hop_grid_and_covers_the_file():
    shards = plan_shards(100 * SR, 30.2, sr=SR, hop=8_000)  # 30.2 s -> 30 s, a multiple of the 0.5-s hop
    assert shards == [Shard(0, 0, 480_000), Shard(1, 480_000, 960_000), Shard(2, 960_000, 1_440_000),
                      Shard(3, 1_440_000, None)]
    assert plan_shards(30 * SR, 30, sr=SR, hop=8_000) == [Shard(0, 0, None)]  # not longer than a shard: whole
    assert plan_shards(10 * SR, 0.1, sr=SR, hop=8_000)[1] == Shard(1, 8_000, 16_000)  # at least one hop
    for bad in (0, -1, float("nan")):
        with pytest.raises(ValueError, match="shard_seconds"):
            plan_shards(SR, bad, sr=SR, hop=8_000)


def test_stream_range_gives_the_samples_of_the_whole_stream(tmp_path, long_audio):
    """At the file's rate, bit for bit; resampled from 44.1 kHz, within ~1e-7 (the stream's phase)."""
    at16 = write_wav(tmp_path / "a16.wav", long_audio, SR, subtype="FLOAT")
    at44 = write_wav(tmp_path / "a44.wav", soxr.resample(long_audio, SR, 44_100), 44_100, subtype="FLOAT")
    for path, atol in [(at16, 0.0), (at44, 1e-6)]:
        whole = np.concatenate(list(stream_blocks(path, SR, block_seconds=7)))
        for start, stop in [(0, 1000), (8_000, 250_000), (123_456, None), (whole.size - 5, whole.size + 100)]:
            part = np.concatenate(list(stream_range(path, SR, start, stop, block_seconds=3)) or [np.zeros(0)])
            expected = whole[start:stop]
            assert part.size == expected.size, (path.name, start, stop)
            assert np.abs(part - expected).max(initial=0.0) <= atol, (path.name, start, stop)
        assert list(stream_range(path, SR, whole.size * 4)) == []  # beyond the end: nothing


@pytest.mark.parametrize("shard_seconds", [20, 7.3, 31])
def test_shards_give_the_whole_file_windows_and_segments(tmp_path, predictor, policy, long_audio, shard_seconds):
    path = write_wav(tmp_path / "long.wav", long_audio, SR)
    whole = predictor.segment_file(path, policy=policy)
    shards, got = sharded(predictor, policy, path, shard_seconds)
    assert len(shards) >= 3
    assert_same_windows(whole.windows, got.windows, atol=0.0)
    pd.testing.assert_frame_equal(whole.segments, got.segments)
    assert got.duration_s == whole.duration_s
    assert whole.windows["label"].nunique() >= 2  # a file with class changes, so the merged policy matters


@pytest.mark.parametrize("shard_seconds", [20, 31])
def test_coarse_to_fine_shards_give_the_whole_file_windows_and_segments(tmp_path, predictor, long_audio, shard_seconds):
    """Scored coarse to fine, a file's stretches are whole groups of windows counted from its start, and shards start
    on group boundaries (``shard_grid``): each shard interpolates exactly the windows one run over the file does."""
    policy = default_policy(predictor.config.window_seconds)
    assert policy.coarse_every() > 1
    path = write_wav(tmp_path / "long.wav", long_audio, SR)
    whole = predictor.segment_file(path, policy=policy, block_seconds=10.0)
    assert predictor.shard_grid(policy, block_seconds=10.0) % round(policy.coarse_seconds * SR) == 0
    shards, got = sharded(predictor, policy, path, shard_seconds, block_seconds=10.0)
    assert len(shards) >= 2
    assert_same_windows(whole.windows, got.windows, atol=0.0)
    pd.testing.assert_frame_equal(whole.segments, got.segments)
    # and the decoding block does not change which windows are scored: one run with 60-s blocks agrees
    exact = predictor.segment_file(path, policy=replace(policy, coarse_seconds=None))
    assert (whole.windows["label"] == exact.windows["label"]).mean() >= 0.97


def test_a_too_long_estimate_gives_empty_shards_and_the_same_result(tmp_path, predictor, policy, long_audio):
    path = write_wav(tmp_path / "long.wav", long_audio, SR)
    whole = predictor.segment_file(path, policy=policy)
    shards, got = sharded(predictor, policy, path, 10, n_samples=long_audio.size + 35 * SR)
    assert shards[-1].start > long_audio.size  # the last shards start beyond the end
    assert_same_windows(whole.windows, got.windows, atol=0.0)
    pd.testing.assert_frame_equal(whole.segments, got.segments)


@pytest.mark.parametrize("seconds", [3.0, 5.0, 5.0 + 1 / SR, 5.25, 5.5, 7.5 - 1 / SR, 7.5, 7.5 + 1 / SR, 8.5,
                                     8.5 + 1 / SR, 9.0, 9.37])
def test_every_way_a_file_can_end_in_a_shard(tmp_path, predictor, policy, seconds):
    """2-s shards of 5-s windows every 0.5 s: the trailing piece, the last short frame and the end of the
    file fall before, on and after the shard edges and the end of what a shard reads."""
    rng = np.random.default_rng(int(seconds * 1000))
    n = round(seconds * SR)
    y = tone(440, n / SR + 1, SR)[:n] + 0.05 * rng.standard_normal(n).astype(np.float32)
    y[n // 3 : n // 2] *= 1e-4  # a quiet stretch, for the levels and the silence gate
    path = write_wav(tmp_path / "short.wav", y, SR, subtype="FLOAT")
    whole = predictor.segment_file(path, policy=policy)
    shards, got = sharded(predictor, policy, path, 2)
    assert len(shards) >= 2
    assert_same_windows(whole.windows, got.windows, atol=0.0)
    pd.testing.assert_frame_equal(whole.segments, got.segments)


def test_resampled_shards_give_the_same_labels_and_segments(tmp_path, predictor, policy, long_audio):
    """A 44.1-kHz file: each shard restarts the resampler 1 s early; samples agree to ~1e-7, so labels,
    boundaries and per-window labels are the whole file's, probabilities and confidences within 1e-6."""
    path = write_wav(tmp_path / "long44.wav", soxr.resample(long_audio, SR, 44_100), 44_100, subtype="FLOAT")
    whole = predictor.segment_file(path, policy=policy)
    shards, got = sharded(predictor, policy, path, 20)
    assert len(shards) >= 3
    assert_same_windows(whole.windows, got.windows, atol=1e-5)  # level in dB: 1e-5 dB is ~1e-6 relative
    a, b = whole.segments, got.segments
    assert a[["start", "end", "label"]].equals(b[["start", "end", "label"]])
    assert np.abs(a["confidence"].to_numpy() - b["confidence"].to_numpy()).max() <= 1e-6


def test_scores_survive_the_disk_and_refuse_another_key(tmp_path, predictor, policy, long_audio):
    path = write_wav(tmp_path / "long.wav", long_audio, SR)
    for start, stop in [(0, 160_000), (480_000, None), (long_audio.size * 3 // 8_000 * 8_000, None)]:
        scores = predictor.window_scores(path, policy=policy, start=start, stop=stop)
        saved = save_scores(tmp_path / "parts" / f"{start}.npz", scores, key="k1")
        back = load_scores(saved, key="k1")
        pd.testing.assert_frame_equal(back.windows, scores.windows)
        assert np.array_equal(back.levels, scores.levels) and back.end == scores.end
        assert load_scores(saved, key="k2") is None
    assert load_scores(tmp_path / "parts" / "missing.npz", key="k1") is None
    (tmp_path / "parts" / "broken.npz").write_bytes(b"half a file")
    assert load_scores(tmp_path / "parts" / "broken.npz", key="k1") is None
    assert [p.name for p in (tmp_path / "parts").iterdir() if p.suffix != ".npz"] == []  # no temporary files left


def test_merge_without_the_last_shard_is_an_error(predictor, policy, tmp_path, long_audio):
    path = write_wav(tmp_path / "long.wav", long_audio, SR)
    first = predictor.window_scores(path, policy=policy, start=0, stop=160_000)
    assert first.end is None and isinstance(first, WindowScores)
    with pytest.raises(ValueError, match="shard is missing"):
        merge_scores([first])
