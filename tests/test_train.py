"""train.py: the one training loop learns a separable problem, is deterministic on the CPU, and resumes."""
import numpy as np
import pytest
import torch

from audioclf_lib.config import FeatureConfig
from audioclf_lib.data import build_manifest, load_clips, split_manifest
from audioclf_lib.features import FeatureExtractor
from audioclf_lib.models import build_model
from audioclf_lib.train import TrainConfig, fit, train_classifier
from audioclf_lib.windows import TrainWindows, eval_windows
from tests.helpers import toy_corpus

CONFIG = FeatureConfig(window_seconds=1.0, n_mels=32, n_fft=512, hop_length=256)


@pytest.fixture(scope="module")
def toy_splits(tmp_path_factory):
    root = toy_corpus(tmp_path_factory.mktemp("toy"), originals_per_class=10)
    manifest = split_manifest(build_manifest(root)[0], seed=0)
    return {s: load_clips(manifest[manifest["split"] == s].reset_index(drop=True), root, CONFIG.sample_rate, progress=False)[0]
            for s in ("train", "val", "test")}


def _train(splits, seed=0, epochs=6):
    torch.set_num_threads(1)
    return train_classifier("mel_cnn", ["music", "noise"], CONFIG, splits, windows_per_epoch=128, progress=False,
                            model_kwargs={"channels": (8, 16)},
                            train_config=TrainConfig(num_epochs=epochs, batch_size=16, seed=seed), device="cpu")


def test_learns_a_separable_toy_problem(toy_splits):
    result = _train(toy_splits)
    assert result.metrics["window"]["balanced_accuracy"] >= 0.9, (result.history.to_string(), result.metrics["window"]["confusion"])
    assert list(result.history.columns[:3]) == ["epoch", "train_loss", "train_acc"]
    assert result.train_summary["clips"]["train"]["music"] > 0


def test_same_seed_same_weights_on_cpu(toy_splits):
    a, b = _train(toy_splits, seed=7, epochs=1), _train(toy_splits, seed=7, epochs=1)
    for (name, pa), pb in zip(a.model.state_dict().items(), b.model.state_dict().values()):
        assert torch.equal(pa, pb), name
    c = _train(toy_splits, seed=8, epochs=1)
    assert not torch.equal(a.model.head.weight, c.model.head.weight)


def test_resume_continues_from_saved_state(toy_splits, tmp_path):
    fe = FeatureExtractor(CONFIG)
    windows, table = eval_windows(toy_splits["val"], ["music", "noise"], CONFIG.window_samples)
    ds = TrainWindows(toy_splits["train"], ["music", "noise"], CONFIG.window_samples, windows_per_epoch=32)
    state = tmp_path / "state.pt"
    model = build_model("mel_cnn", 2, channels=(8, 16))
    h1 = fit(model, fe, ds, windows, table["label"].to_numpy(), config=TrainConfig(num_epochs=1, batch_size=16),
             device="cpu", state_path=state, progress=False)
    assert state.exists() and len(h1) == 1
    model2 = build_model("mel_cnn", 2, channels=(8, 16))
    h2 = fit(model2, fe, ds, windows, table["label"].to_numpy(), config=TrainConfig(num_epochs=2, batch_size=16),
             device="cpu", state_path=state, progress=False)
    assert h2["epoch"].tolist() == [1, 2]  # epoch 1 came from the saved state, only epoch 2 ran
    assert h2["train_loss"].iloc[0] == h1["train_loss"].iloc[0]


def test_keep_last_returns_the_final_averaged_weights(toy_splits, tmp_path):
    # A refit on train + val cannot choose an epoch on val: it must keep the last one, all epochs run.
    fe = FeatureExtractor(CONFIG)
    windows, table = eval_windows(toy_splits["val"], ["music", "noise"], CONFIG.window_samples)
    ds = TrainWindows(toy_splits["train"], ["music", "noise"], CONFIG.window_samples, windows_per_epoch=32)
    model = build_model("mel_cnn", 2, channels=(8, 16))
    history = fit(model, fe, ds, windows, table["label"].to_numpy(), device="cpu", progress=False,
                  config=TrainConfig(num_epochs=3, batch_size=16, patience=0, keep="last"), state_path=tmp_path / "s.pt")
    assert len(history) == 3
    final = torch.load(tmp_path / "s.pt", weights_only=False)["ema"]
    for name, value in model.state_dict().items():
        assert torch.equal(value, final[f"module.{name}"]), name
    with pytest.raises(ValueError, match="keep"):
        TrainConfig(keep="first")


def test_refit_trains_on_train_and_val_for_every_epoch(toy_splits, monkeypatch):
    import audioclf_lib.train as train_module

    seen = {}
    original = train_module.TrainWindows

    def spy(clips, *args, **kwargs):
        seen["clips"] = len(clips)
        return original(clips, *args, **kwargs)

    monkeypatch.setattr(train_module, "TrainWindows", spy)
    torch.set_num_threads(1)
    result = train_classifier("mel_cnn", ["music", "noise"], CONFIG, toy_splits, windows_per_epoch=64, progress=False,
                              model_kwargs={"channels": (8, 16)}, refit=True, device="cpu",
                              train_config=TrainConfig(num_epochs=3, batch_size=16, patience=0))
    assert seen["clips"] == len(toy_splits["train"]) + len(toy_splits["val"])
    assert len(result.history) == 3 and result.train_summary["train_config"]["keep"] == "last"
    assert result.train_summary["trained_on"].startswith("train + val")


def test_monitor_scores_other_sets_without_changing_training(toy_splits):
    # fit(monitor=...) adds diagnostic columns; the weights it returns must not depend on them.
    fe = FeatureExtractor(CONFIG)
    windows, table = eval_windows(toy_splits["val"], ["music", "noise"], CONFIG.window_samples)
    labels = table["label"].to_numpy()
    runs = []
    for monitor in (None, {"again": (windows, labels), "flipped": (windows, 1 - labels)}):
        torch.set_num_threads(1)
        torch.manual_seed(0)  # the same initial weights
        model = build_model("mel_cnn", 2, channels=(8, 16))
        ds = TrainWindows(toy_splits["train"], ["music", "noise"], CONFIG.window_samples, windows_per_epoch=32)
        history = fit(model, fe, ds, windows, labels, config=TrainConfig(num_epochs=2, batch_size=16, seed=3),
                      device="cpu", monitor=monitor, progress=False)
        runs.append((model, history))
    (plain, plain_history), (watched, history) = runs
    for (name, a), b in zip(plain.state_dict().items(), watched.state_dict().values()):
        assert torch.equal(a, b), name
    assert "again_bal_acc" not in plain_history.columns
    np.testing.assert_allclose(history["again_bal_acc"], history["val_bal_acc"])
    # two classes: every window the model gets right on one labelling it gets wrong on the other
    np.testing.assert_allclose(history["again_bal_acc"] + history["flipped_bal_acc"], 1.0)
