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
