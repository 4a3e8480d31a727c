"""The command line on a fresh clone: bundled checkpoints, real test-split recordings, clear errors."""
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from audioclf_lib.checkpoint import bundled_checkpoints
from audioclf_lib.data import build_manifest, corpus_splits
from tests.helpers import STARTER, write_wav

BUNDLED = ["music-noise", "music-noise-seed", "music-speech-noise"]


def cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "audioclf_lib", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def test_split_folder(tmp_path_factory):
    """A class-folder tree of held-out (test split) starter recordings: 8 per class."""
    manifest = corpus_splits(build_manifest(STARTER)[0], STARTER)
    root = tmp_path_factory.mktemp("heldout")
    for cls, rows in manifest[manifest["split"] == "test"].groupby("class"):
        (root / cls).mkdir()
        for rel in rows.sample(n=8, random_state=0)["path"]:
            shutil.copy(STARTER / rel, root / cls)
    return root


def test_bundled_checkpoints_exist():
    assert set(BUNDLED) <= set(bundled_checkpoints()), "run notebook 02 (make reproduce) to write the bundled checkpoints"


def test_models_lists_bundled_with_metrics():
    out = cli("models", "--json")
    assert out.returncode == 0, out.stderr
    rows = {r["name"]: r for r in json.loads(out.stdout)}
    assert rows["music-speech-noise"]["classes"] == "music/speech/noise"
    assert rows["music-noise"]["test bal.acc"] > 0.9


def test_evaluate_on_held_out_recordings(test_split_folder):
    out = cli("evaluate", "--model", "music-speech-noise", test_split_folder, "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["n"] == 24 and result["balanced_accuracy"] >= 0.8
    assert "confusion" in out.stdout and "balanced accuracy" in out.stdout
    two = json.loads(cli("evaluate", "--model", "music-noise", test_split_folder, "--json").stdout.splitlines()[-1])
    assert two["n"] == 16  # the speech folder is ignored for a music/noise model


def test_classify_long_file_windows_and_csv(tmp_path, test_split_folder):
    music = sorted((test_split_folder / "music").iterdir())[:3]
    import soundfile as sf

    y = np.concatenate([sf.read(p, dtype="float32")[0] for p in music])
    long = write_wav(tmp_path / "long.wav", y, 16_000)
    out = cli("classify", "--model", "music-noise", long, "--hop", "2.5", "--csv", tmp_path / "out.csv")
    assert out.returncode == 0, out.stderr
    import pandas as pd

    table = pd.read_csv(tmp_path / "out.csv")
    assert len(table) >= 10 and {"start_s", "end_s", "label", "p_music", "p_noise"} <= set(table.columns)
    assert (table["label"] == "music").mean() >= 0.7
    assert np.allclose(table["p_music"] + table["p_noise"], 1, atol=1e-4)


def test_classify_reports_bad_files_and_keeps_going(tmp_path, test_split_folder):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all")
    good = sorted((test_split_folder / "noise").iterdir())[0]
    out = cli("classify", "--model", "music-noise", good, bad, tmp_path / "missing.ogg")
    assert out.returncode == 1
    assert "bad.wav" in out.stderr and "missing.ogg: no such file" in out.stderr
    assert good.name in out.stdout


def test_usage_errors_exit_2(tmp_path):
    out = cli("classify", "--model", "no-such-model", tmp_path)
    assert out.returncode == 2 and "no checkpoint 'no-such-model'" in out.stderr and "Traceback" not in out.stderr
    out = cli("evaluate", "--model", "music-noise", tmp_path / "nope")
    assert out.returncode == 2 and "no such folder" in out.stderr
    (tmp_path / "empty" / "music").mkdir(parents=True)
    out = cli("evaluate", "--model", "music-noise", tmp_path / "empty")
    assert out.returncode == 2 and "no audio found" in out.stderr


def test_evaluate_backends_agree(test_split_folder):
    results = {}
    for backend in ("torch", "onnx"):
        out = cli("evaluate", "--model", "music-speech-noise", "--backend", backend, test_split_folder, "--json")
        assert out.returncode == 0, out.stderr
        results[backend] = json.loads(out.stdout.strip().splitlines()[-1])
    assert results["torch"]["confusion"] == results["onnx"]["confusion"]
    assert cli("evaluate", "--backend", "tpu", test_split_folder).returncode == 2  # argparse usage error


@pytest.fixture(scope="module")
def device_folder(tmp_path_factory, test_split_folder):
    """A recording session's layout (<device>/<class>/*.ogg): 8 real music and 8 real noise recordings."""
    root = tmp_path_factory.mktemp("devices") / "my-laptop"
    for cls in ("music", "noise"):
        shutil.copytree(test_split_folder / cls, root / cls)
    return root


def test_finetune_on_own_recordings_writes_a_usable_checkpoint(tmp_path, device_folder):
    import hashlib
    import os

    import torch

    from audioclf_lib.checkpoint import load_checkpoint

    bundled = bundled_checkpoints()["music-noise"]
    bundled_sha = hashlib.sha256(bundled.read_bytes()).hexdigest()
    env = dict(os.environ, QUICK="1", AUDIOCLF_CACHE=str(tmp_path / "cache"))  # corpus splits prepared by the command
    args = [sys.executable, "-m", "audioclf_lib", "finetune", device_folder, "--epochs", "2", "--windows-per-epoch", "64"]
    out = subprocess.run(list(map(str, args)), capture_output=True, text=True, timeout=600, env=env)
    assert out.returncode == 0, out.stderr
    saved = device_folder / "music-noise-my-laptop.pt"
    assert f"saved {saved}" in out.stdout and "your clips held out of training" in out.stdout
    tuned, base = load_checkpoint(saved, expected_classes=["music", "noise"]), load_checkpoint(bundled)
    assert tuned.feature_config == base.feature_config and tuned.model_name == base.model_name
    summary = tuned.train_summary
    assert summary["clips"] == {"music": 8, "noise": 8} and summary["held_out_clips"] == 4
    assert summary["num_epochs"] == 2 and summary["train_body"] is True and 1 <= summary["best_epoch"] <= 2
    assert set(tuned.metrics) == {"held_out", "test", "held_out_base", "test_base"}
    base_no_worse = tuned.metrics["held_out_base"]["window"]["accuracy"] >= tuned.metrics["held_out"]["window"]["accuracy"]
    assert ("note: on your held-out clips the base model does as well" in out.stdout) == base_no_worse
    assert any(not torch.equal(a, b) for a, b in zip(tuned.model.state_dict().values(), base.model.state_dict().values()))
    assert hashlib.sha256(bundled.read_bytes()).hexdigest() == bundled_sha  # the base is never written
    music = sorted((device_folder / "music").iterdir())[0]
    assert cli("classify", "--model", saved, music).returncode == 0
    # Run again: the checkpoint is not replaced without --force.
    before = saved.read_bytes()
    again = subprocess.run(list(map(str, args)), capture_output=True, text=True, timeout=600, env=env)
    assert again.returncode == 2 and "--force" in again.stderr and saved.read_bytes() == before


def test_finetune_refuses_bad_requests_before_training(tmp_path, device_folder):
    only_music = tmp_path / "half-done"
    shutil.copytree(device_folder / "music", only_music / "music")
    bundled = bundled_checkpoints()["music-noise"]
    target = ["--out", tmp_path / "new.pt"]
    cases = [
        (["finetune", tmp_path / "nowhere", *target], "no recordings at"),
        (["finetune", only_music, *target], "no usable clips of class(es) ['noise']"),
        (["finetune", device_folder, "--min-clips", "9", *target], "at least 9"),
        (["finetune", device_folder, "--out", bundled], "bundled checkpoint"),
        (["finetune", device_folder, "--windows-per-epoch", "8", *target], "--windows-per-epoch"),
        (["finetune", device_folder, "--base", "no-such-model", *target], "no checkpoint 'no-such-model'"),
    ]
    for args, message in cases:
        out = cli(*args)
        assert out.returncode == 2 and message in out.stderr, (args, out.stderr)
        assert "Traceback" not in out.stderr
    assert not (tmp_path / "new.pt").exists()
