"""The torch-free command-line path (issue 18's start-up and throughput): the numpy front end, the sidecar beside
the cached ONNX export, and the OnnxPredictor, against the torch front end and the Predictor on real recordings."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch

from audioclf_lib import features_numpy, onnx_predictor
from audioclf_lib.checkpoint import load_checkpoint, save_checkpoint
from audioclf_lib.config import FeatureConfig
from audioclf_lib.features import FeatureExtractor
from audioclf_lib.features_numpy import LogMelNumpy, rfft
from audioclf_lib.onnx_export import cached_onnx_model, write_sidecar
from audioclf_lib.onnx_predictor import OnnxPredictor, checkpoint_file_hash, load_onnx_predictor, sidecar_path
from audioclf_lib.predict import Predictor
from audioclf_lib.segments import default_policy
from audioclf_lib.segments.evaluate import concatenated_recording, split_clips
from tests.helpers import STARTER, starter_clip

pytest.importorskip("onnxruntime")

SR = 16_000
MODEL = "music-speech-noise"


@pytest.fixture(scope="module")
def stretch():
    """About 40 s of real clips of every class end to end, with a DC offset (the front end removes it)."""
    y = np.concatenate([sf.read(starter_clip(cls, i), dtype="float32")[0] for i in (0, 1) for cls in
                        ("music", "speech", "noise")])
    return (y + 0.01).astype(np.float32)


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    """A concatenated recording of held-out test clips and silences (about 3 min), as test_segment_cli builds them."""
    y, _ = concatenated_recording(split_clips(STARTER, "test"), sr=SR, seed=100)
    path = tmp_path_factory.mktemp("recording") / "rec100.wav"
    sf.write(path, y, SR)
    return path


@pytest.fixture(scope="module")
def predictors(tmp_path_factory):
    """The reference (torch front end, ONNX model) and the torch-free predictor of the same export."""
    cache = tmp_path_factory.mktemp("onnx")
    ckpt = load_checkpoint(MODEL)
    runner, onnx_path = cached_onnx_model(ckpt, cache=cache)
    reference = Predictor(ckpt, device="cpu", backend="torch")
    reference.onnx_model, reference.backend = runner, "onnx"  # the export in the cache folder above
    fast = load_onnx_predictor(MODEL, cache=cache, threads=1)
    assert isinstance(fast, OnnxPredictor), "the Predictor's export must leave a sidecar behind"
    return reference, fast


@pytest.mark.parametrize("normalization", ["max_db", "per_freq"])
def test_numpy_front_end_gives_the_torch_features(stretch, normalization):
    config = FeatureConfig(normalization=normalization)
    n = config.window_samples
    starts = np.arange(0, stretch.size - n + 1, 8_000)  # 0.5-s hop: four frame grids
    windows = np.stack([stretch[s : s + n] for s in starts])
    with torch.no_grad():
        reference = FeatureExtractor(config)(torch.from_numpy(windows)).numpy()
    front_end = LogMelNumpy(config)
    assert front_end.shared_frames
    alone = front_end.window_features(windows)
    shared = front_end.stretch_features(stretch, 0, starts, n)
    assert alone.shape == shared.shape == reference.shape
    assert np.abs(alone - reference).max() < 2e-4
    assert np.abs(shared - reference).max() < 2e-4
    batches = list(front_end.stretch_features(stretch[4_000:], 4_000, starts[1:], n, batch_size=7))
    assert [len(b) for b in batches] == [7] * (len(starts[1:]) // 7) + ([len(starts[1:]) % 7] if len(starts[1:]) % 7 else [])
    assert np.abs(np.concatenate(batches) - shared[1:]).max() < 1e-5


def test_a_filterbank_that_weighs_the_lowest_bins_frames_every_window_alone(stretch):
    config = FeatureConfig(fmin=0.0)  # band 0 reaches bin 1: a window's mean reaches its inner frames
    front_end = LogMelNumpy(config)
    assert not front_end.shared_frames
    n = config.window_samples
    starts = np.array([0, 8_000, 16_000])
    windows = np.stack([stretch[s : s + n] for s in starts])
    with torch.no_grad():
        reference = FeatureExtractor(config)(torch.from_numpy(windows)).numpy()
    assert np.abs(front_end.stretch_features(stretch, 0, starts, n) - reference).max() < 2e-4


def test_other_representations_have_no_numpy_front_end():
    with pytest.raises(ValueError, match="seed_rgb"):
        LogMelNumpy(FeatureConfig(representation="seed_rgb"))


def test_rfft_is_scipys_and_numpy_stands_in(monkeypatch):
    import scipy.fft

    frames = np.random.default_rng(0).normal(size=(5, 1024)).astype(np.float32)
    assert features_numpy._pocketfft() is not None, "scipy's pocketfft extension should load on its own"
    np.testing.assert_array_equal(rfft(frames), scipy.fft.rfft(frames, axis=-1))
    monkeypatch.setattr(features_numpy, "_pocketfft", lambda: None)
    out = np.empty((5, 513), np.complex64)
    assert rfft(frames, out=out) is out and out.dtype == np.complex64
    np.testing.assert_allclose(out, scipy.fft.rfft(frames, axis=-1), atol=1e-3)


def test_fast_path_gives_the_reference_windows_and_segments(predictors, recording):
    reference, fast = predictors
    a, b = reference.segment_file(recording), fast.segment_file(recording)
    p = [f"p_{c}" for c in reference.class_names]
    assert len(a.windows) == len(b.windows) > 300
    assert a.windows["label"].tolist() == b.windows["label"].tolist()
    assert np.abs(a.windows[p].to_numpy() - b.windows[p].to_numpy()).max() <= 1e-5
    np.testing.assert_array_equal(a.windows["level_dbfs"], b.windows["level_dbfs"])  # the same samples, same code
    assert a.segments[["start", "end", "label"]].equals(b.segments[["start", "end", "label"]])
    assert np.abs(a.segments["confidence"].to_numpy() - b.segments["confidence"].to_numpy()).max() <= 1e-5
    # the policy's own segments do not need window levels; leaving them out changes nothing else
    c = fast.segment_file(recording, window_levels=False)
    assert c.segments.equals(b.segments) and c.windows["level_dbfs"].isna().all()
    assert np.array_equal(c.windows[p].to_numpy(), b.windows[p].to_numpy())


@pytest.mark.parametrize("which", ["reference", "fast"])
def test_coarse_to_fine_scoring_scores_a_fraction_and_decides_as_scoring_every_window(predictors, recording, which):
    from dataclasses import replace

    from audioclf_lib.segments.evaluate import frame_labels

    predictor = dict(zip(["reference", "fast"], predictors))[which]
    policy = default_policy(5.0)
    assert policy.coarse_every() > 1, "the default policy scores coarse to fine"
    every = predictor.segment_file(recording, policy=replace(policy, coarse_seconds=None))
    asked, scorer = [], predictor.stretch_scorer

    def counting_scorer(*stretch):
        score = scorer(*stretch)

        def counted(indices):
            asked.append(len(indices))
            return score(indices)

        return counted

    predictor.stretch_scorer = counting_scorer  # on the instance: the windows each stretch really scores
    try:
        coarse = predictor.segment_file(recording, policy=policy)
    finally:
        del predictor.stretch_scorer
    p = [f"p_{c}" for c in predictor.class_names]
    assert len(coarse.windows) == len(every.windows) > 300
    assert sum(asked) < 0.6 * len(every.windows), f"scored {sum(asked)} of {len(every.windows)} windows"
    # the windows it scored carry the exhaustive run's probabilities; the others its neighbours' (same class)
    close = np.isclose(coarse.windows[p].to_numpy(), every.windows[p].to_numpy(), atol=1e-5).all(axis=1)
    assert close.sum() >= sum(asked)
    assert (coarse.windows["label"] == every.windows["label"]).mean() >= 0.99
    a, b = (frame_labels(s.segments, duration_s=s.duration_s, resolution_s=0.1) for s in (every, coarse))
    assert (a == b).mean() >= 0.99


@pytest.mark.parametrize("case", ["other_rate", "short", "long_window", "odd_hop"])
def test_fast_path_matches_the_reference_off_the_default_path(predictors, tmp_path, stretch, case):
    reference, fast = predictors
    path, policy = tmp_path / f"{case}.wav", default_policy(5.0)
    if case == "other_rate":
        import soxr

        sf.write(path, soxr.resample(stretch[: 20 * SR], SR, 44_100), 44_100)
    elif case == "short":
        sf.write(path, stretch[: 3 * SR], SR)  # one wrapped window
    else:
        sf.write(path, stretch[: 25 * SR], SR)
        policy = default_policy(7.5) if case == "long_window" else default_policy(5.0, hop_seconds=0.3)
    a, b = reference.segment_file(path, policy=policy), fast.segment_file(path, policy=policy)
    p = [f"p_{c}" for c in reference.class_names]
    assert a.windows["label"].tolist() == b.windows["label"].tolist()
    assert np.abs(a.windows[p].to_numpy() - b.windows[p].to_numpy()).max() <= 1e-5
    assert a.segments[["start", "end", "label"]].equals(b.segments[["start", "end", "label"]])
    x = sf.read(starter_clip("speech"), dtype="float32")
    assert np.abs(reference.predict(*x).confidence - fast.predict(*x).confidence) <= 1e-5
    assert reference.decide(*x).label == fast.decide(*x).label


def test_sidecar_is_keyed_by_the_checkpoint_file_and_checked_on_load(tmp_path, monkeypatch):
    ckpt = load_checkpoint(MODEL)
    copy = save_checkpoint(tmp_path / "mine.pt", ckpt.model, model_name=ckpt.model_name, class_names=ckpt.class_names,
                           feature_config=ckpt.feature_config)
    cache = tmp_path / "cache"
    assert load_onnx_predictor(copy, cache=cache) is None, "nothing exported yet"
    cached_onnx_model(load_checkpoint(copy), cache=cache)
    side = sidecar_path(copy, checkpoint_file_hash(copy), cache)
    data = json.loads(side.read_text())
    assert data["parity"]["probabilities_max_abs"] <= 1e-5 and data["class_names"] == ckpt.class_names
    assert isinstance(load_onnx_predictor(copy, cache=cache), OnnxPredictor)

    import onnxruntime  # other library versions: the sidecar does not apply

    monkeypatch.setattr(onnxruntime, "__version__", onnxruntime.__version__ + ".other")
    assert load_onnx_predictor(copy, cache=cache) is None
    monkeypatch.undo()
    side.write_text(side.read_text().replace('"n_mels": 64', '"n_mels": 32'))  # disagrees with the ONNX metadata
    assert load_onnx_predictor(copy, cache=cache) is None
    side.write_text("{not json")
    assert load_onnx_predictor(copy, cache=cache) is None

    changed = load_checkpoint(copy)  # new weights in the same file: another checksum, no sidecar until exported
    with torch.no_grad():
        next(changed.model.parameters()).add_(0.01)
    save_checkpoint(copy, changed.model, model_name=ckpt.model_name, class_names=ckpt.class_names,
                    feature_config=ckpt.feature_config)
    assert load_onnx_predictor(copy, cache=cache) is None
    cached_onnx_model(load_checkpoint(copy), cache=cache)
    fast = load_onnx_predictor(copy, cache=cache)
    x = np.random.default_rng(0).normal(0, 0.1, (2, ckpt.feature_config.window_samples)).astype(np.float32)
    with torch.no_grad():
        expected = torch.softmax(changed.model(FeatureExtractor(ckpt.feature_config)(torch.from_numpy(x))), -1).numpy()
    np.testing.assert_allclose(fast.probabilities(x), expected, atol=1e-4)


def test_weights_changed_in_memory_get_no_sidecar(tmp_path):
    ckpt = load_checkpoint(MODEL)
    with torch.no_grad():
        next(ckpt.model.parameters()).add_(0.01)
    runner, onnx_path = cached_onnx_model(ckpt, cache=tmp_path)
    assert write_sidecar(ckpt, onnx_path, runner) is None
    assert load_onnx_predictor(MODEL, cache=tmp_path) is None, "the file's sidecar would run other weights"


def _run_cli(args, cache):
    code = ("import sys; from audioclf_lib.cli import main; status = main(sys.argv[1:]); "
            "print('torch imported:', 'torch' in sys.modules, file=sys.stderr); sys.exit(status)")
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "AUDIOCLF_ONNX_CACHE": str(cache)})


def test_cli_runs_without_torch_once_the_cache_is_warm_and_decides_as_the_reference(tmp_path, recording):
    cache = tmp_path / "cache"
    args = ["classify", recording, "--model", MODEL, "--quiet", "--windows"]
    first = _run_cli([*args, "--csv", tmp_path / "first.csv"], cache)
    second = _run_cli([*args, "--csv", tmp_path / "second.csv"], cache)
    torch_path = _run_cli([*args, "--csv", tmp_path / "onnx.csv", "--backend", "onnx"], cache)
    for done in (first, second, torch_path):
        assert done.returncode == 0, done.stderr
    assert "torch imported: True" in first.stderr, "the first run exports through torch"
    assert "torch imported: False" in second.stderr, "a warm cache needs no torch"
    a, b, c = (pd.read_csv(tmp_path / f"{name}.csv") for name in ("first", "second", "onnx"))
    assert a.equals(b), "the first run (which wrote the sidecar) decides as the later ones"
    assert a["label"].tolist() == c["label"].tolist()
    p = [col for col in a.columns if col.startswith("p_")]
    assert np.abs(a[p].to_numpy() - c[p].to_numpy()).max() <= 1e-5
