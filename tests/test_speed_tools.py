"""ONNX export parity and the benchmark's smoke run (no timing is asserted, only that it runs and reports)."""
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from audioclf_lib.checkpoint import save_checkpoint
from audioclf_lib.config import FeatureConfig
from audioclf_lib.features import FeatureExtractor
from audioclf_lib.models import build_model
from audioclf_lib.onnx_export import OnnxModel, export_onnx


@pytest.mark.parametrize("name, config", [("mel_cnn", FeatureConfig()),
                                          ("seed_cnn3d", FeatureConfig(representation="binned3d", image_size=(32, 32)))])
def test_onnx_matches_pytorch(tmp_path, name, config):
    torch.manual_seed(0)
    model = build_model(name, 3).eval()
    ckpt = save_checkpoint(tmp_path / "m.pt", model, model_name=name, class_names=["music", "speech", "noise"],
                           feature_config=config)
    path, diff = export_onnx(ckpt, tmp_path / "m.onnx")
    assert diff < 1e-4
    runner = OnnxModel(path)
    assert runner.class_names == ["music", "speech", "noise"]
    x = FeatureExtractor(config)(torch.randn(5, config.window_samples) * 0.1)
    with torch.no_grad():
        assert np.abs(runner(x) - model(x).numpy()).max() < 1e-4  # batch 5 though exported at batch 2


@pytest.mark.slow
def test_bench_quick_runs_and_ends_with_json(tmp_path):
    out = subprocess.run([sys.executable, "-m", "audioclf_lib", "bench", "--quick", "--sections", "latency,prepare",
                          "--out", str(tmp_path)], capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["summary"]["seed_over_best_ours_1thread"] > 1
    assert {"resample_ms", "features_ms", "model_ms", "total_ms"} <= set(result["latency"][0])
    assert list(tmp_path.glob("*-quick.json")) and list(tmp_path.glob("*-quick.md"))


def _bundled_clip(cls: str) -> np.ndarray:
    from audioclf_lib.audio import load_audio
    from audioclf_lib.config import data_dir

    return load_audio(sorted((data_dir() / cls).glob("*"))[3], 44_100)[0]


def test_predictor_onnx_backend_matches_torch_on_real_clips():
    from audioclf_lib.predict import Predictor

    by_torch = Predictor("music-speech-noise", device="cpu", backend="torch")
    by_onnx = Predictor("music-speech-noise", device="cpu", backend="onnx")
    assert (by_torch.backend, by_onnx.backend) == ("torch", "onnx")
    for cls in ("music", "speech", "noise"):
        y = _bundled_clip(cls)
        a, b = by_torch.predict(y, 44_100), by_onnx.predict(y, 44_100)
        assert a.label == b.label
        assert max(abs(a.probabilities[c] - b.probabilities[c]) for c in a.probabilities) < 1e-4
    windows = np.random.default_rng(0).standard_normal((70, by_torch.config.window_samples)).astype(np.float32) * 0.1
    assert np.abs(by_torch.probabilities(windows) - by_onnx.probabilities(windows)).max() < 1e-4  # crosses a batch of 64


def test_predictor_backend_choice_and_fallback(monkeypatch):
    import audioclf_lib.onnx_export as onnx_export
    from audioclf_lib.predict import Predictor

    with pytest.raises(ValueError, match="backend"):
        Predictor("music-noise", device="cpu", backend="tensorrt")
    with pytest.raises(ValueError, match="CPU only"):
        Predictor("music-noise", device="cuda", backend="onnx")
    assert Predictor("music-noise", device="cpu").backend == "onnx"  # auto, with onnxruntime installed
    monkeypatch.setattr(onnx_export, "onnx_available", lambda: False)
    assert Predictor("music-noise", device="cpu").backend == "torch"  # auto falls back
    with pytest.raises(ImportError, match="onnxruntime"):
        Predictor("music-noise", device="cpu", backend="onnx")


def test_predictor_auto_backend_keeps_torch_when_the_export_disagrees(monkeypatch, tmp_path):
    import audioclf_lib.onnx_export as onnx_export

    monkeypatch.setenv("AUDIOCLF_ONNX_CACHE", str(tmp_path))  # an empty cache: the Predictor must export
    from audioclf_lib.predict import Predictor

    def broken(*args, **kwargs):
        raise RuntimeError("ONNX export of mel_cnn differs from PyTorch by 1e-1")

    monkeypatch.setattr(onnx_export, "onnx_bytes", broken)
    assert Predictor("music-noise", device="cpu").backend == "torch"
    with pytest.raises(RuntimeError, match="differs"):
        Predictor("music-noise", device="cpu", backend="onnx")
