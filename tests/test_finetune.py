"""Fine-tuning for a device: the phone/device window mix, the seed's recipe and its variants, your own recordings."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from audioclf_lib import devices as d
from audioclf_lib import finetune as ft
from audioclf_lib.config import FeatureConfig
from audioclf_lib.features import FeatureExtractor
from audioclf_lib.models import build_model
from tests import test_devices

# The device tests' audio fixtures and clip-set helper, shared rather than written twice.
music, noise_clip, tiny_clipset, SR = test_devices.music, test_devices.noise_clip, test_devices.tiny_clipset, test_devices.SR


def test_mixed_windows_follow_the_weights():
    a = torch.utils.data.TensorDataset(torch.zeros(50, 1), torch.zeros(50, dtype=torch.long))
    b = torch.utils.data.TensorDataset(torch.ones(50, 1), torch.zeros(50, dtype=torch.long))
    a.class_names = b.class_names = ["music", "noise"]
    mix = ft.MixedWindows([a, b], weights=[1, 3], windows_per_epoch=400, seed=0)
    share = np.mean([float(mix[i][0]) for i in range(len(mix))])
    assert share == pytest.approx(0.75, abs=0.06)
    assert [float(mix[i][0]) for i in range(20)] == [float(mix[i][0]) for i in range(20)]
    c = torch.utils.data.TensorDataset(torch.ones(5, 1))
    c.class_names = ["noise", "music"]
    with pytest.raises(ValueError, match="class names"):
        ft.MixedWindows([a, c])


def test_finetune_for_device_trains_only_the_head(music, noise_clip):
    clips = tiny_clipset({"music": [music], "noise": [noise_clip]})
    laptop = d.simulate_clips(clips, "laptop", seed=0)
    config = FeatureConfig(window_seconds=1.0)
    extractor = FeatureExtractor(config)
    model = build_model("mel_cnn", 2)
    val = np.stack([laptop.clip(0)[:SR], laptop.clip(1)[:SR]])
    tuned, history = ft.finetune_for_device(model, extractor, clips, laptop, val, np.array([0, 1]), ["music", "noise"],
                                           num_epochs=2, windows_per_epoch=32)
    assert len(history) == 2
    before, after = model.state_dict(), tuned.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(k.startswith("head.") for k in changed), changed
    assert isinstance(tuned.frozen_base, bool)


def test_finetune_for_device_keep_last_and_phone_transform(music, noise_clip):
    clips = tiny_clipset({"music": [music], "noise": [noise_clip]})
    laptop = d.simulate_clips(clips, "laptop", seed=0)
    extractor = FeatureExtractor(FeatureConfig(window_seconds=1.0))
    model = build_model("mel_cnn", 2)
    val = np.stack([laptop.clip(0)[:SR], laptop.clip(1)[:SR]])
    calls = []

    def phone_transform(y, rng):
        calls.append(len(y))
        return y * 0.5

    tuned, history = ft.finetune_for_device(model, extractor, clips, laptop, val, np.array([0, 1]), ["music", "noise"],
                                           num_epochs=2, windows_per_epoch=64, train_body=True, keep="last",
                                           phone_transform=phone_transform, monitor={"laptop": (val, np.array([0, 1]))})
    assert len(history) == 2 and "laptop_bal_acc" in history.columns
    assert calls and set(calls) == {SR}  # only phone windows go through it (about half of 2 x 64)
    assert len(calls) < 128
    changed = [k for k, v in model.state_dict().items() if not torch.equal(v, tuned.state_dict()[k])]
    assert any(not k.startswith("head.") for k in changed)  # the whole network trained
    with pytest.raises(ValueError, match="keep"):
        ft.finetune_for_device(model, extractor, clips, laptop, val, np.array([0, 1]), ["music", "noise"], num_epochs=1,
                              windows_per_epoch=8, keep="first")


def test_finetune_on_recordings_holds_out_every_nth_clip_and_validates_on_them(music, noise_clip, monkeypatch):
    pieces = {"music": [music[i * SR : (i + 1) * SR] for i in range(5)], "noise": [noise_clip[i * SR : (i + 1) * SR] for i in range(4)]}
    device = d.simulate_clips(tiny_clipset(pieces), "laptop", seed=0)
    extractor = FeatureExtractor(FeatureConfig(window_seconds=1.0))
    base_val = np.stack([music[:SR], noise_clip[:SR]])
    seen = {}

    def spy(model, extractor_, base_clips, train_clips, val_windows, val_labels, class_names, **recipe):
        seen.update(train=train_clips, val_windows=val_windows, val_labels=val_labels, recipe=recipe)
        return model, "history"

    monkeypatch.setattr(ft, "finetune_for_device", spy)
    result = ft.finetune_on_recordings(build_model("mel_cnn", 2), extractor, device, base_val, np.array([0, 1]), device,
                                      ["music", "noise"], hold_out_every=4, num_epochs=3, seed=7)
    # Clips 3 and 7 (4th and 8th in folder order): one music and one noise clip out, the other 7 trained on.
    assert list(result.held_out_clips.table["path"]) == [device.table["path"][3], device.table["path"][7]]
    assert sorted(result.held_out_clips.table["class"]) == ["music", "noise"]
    assert set(result.train_clips.table["path"]).isdisjoint(result.held_out_clips.table["path"])
    assert len(result.train_clips) == 7 and seen["train"] is result.train_clips
    # Validation: the base windows first, then one window of each held-out clip, recorded through the device.
    assert seen["val_labels"].tolist() == [0, 1, 0, 1]
    np.testing.assert_array_equal(seen["val_windows"][:2], base_val)
    np.testing.assert_array_equal(seen["val_windows"][2], device.clip(3))
    assert seen["recipe"] == {"num_epochs": 3, "seed": 7} and result.history == "history"
    with pytest.raises(ValueError, match="hold_out_every"):
        ft.finetune_on_recordings(build_model("mel_cnn", 2), extractor, device, base_val, np.array([0, 1]), device,
                                 ["music", "noise"], hold_out_every=1)


def test_train_robust_trains_a_copy_through_random_devices(music, noise_clip):
    clips = tiny_clipset({"music": [music], "noise": [noise_clip]})
    extractor = FeatureExtractor(FeatureConfig(window_seconds=1.0))
    model = build_model("mel_cnn", 2)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    val = np.stack([music[:SR], noise_clip[:SR]])
    trained, history = ft.train_robust(model, extractor, clips, val, np.array([0, 1]), ["music", "noise"],
                                       num_epochs=2, windows_per_epoch=64, monitor={"again": (val, np.array([0, 1]))})
    assert len(history) == 2 and "again_bal_acc" in history.columns and not trained.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # the start is untouched
    assert any(not torch.equal(before[k], v) for k, v in trained.state_dict().items())
    again, _ = ft.train_robust(model, extractor, clips, val, np.array([0, 1]), ["music", "noise"], num_epochs=2,
                               windows_per_epoch=64)
    assert all(torch.equal(v, again.state_dict()[k]) for k, v in trained.state_dict().items())  # reproducible


def test_save_device_checkpoint_inherits_architecture_classes_and_front_end(tmp_path):
    from audioclf_lib.checkpoint import load_checkpoint, save_checkpoint

    config = FeatureConfig(window_seconds=1.0)
    save_checkpoint(tmp_path / "base.pt", build_model("mel_cnn", 2), model_name="mel_cnn", class_names=["music", "noise"],
                    feature_config=config)
    base = load_checkpoint(tmp_path / "base.pt")
    tuned = build_model("mel_cnn", 2)
    per_freq = config.replace(normalization="per_freq")
    for front_end, expected in [(None, config), (per_freq, per_freq)]:
        path = ft.save_device_checkpoint(tmp_path / "tuned.pt", tuned, base, feature_config=front_end,
                                         train_summary={"recipe": "test", "base": "base"}, metrics={"test": {"n": 1}})
        back = load_checkpoint(path)
        assert (back.model_name, back.class_names, back.model_kwargs) == (base.model_name, base.class_names, base.model_kwargs)
        assert back.feature_config == expected
        assert back.train_summary == {"recipe": "test", "base": "base"} and back.metrics == {"test": {"n": 1}}
        assert all(torch.equal(v, back.model.state_dict()[k]) for k, v in tuned.state_dict().items())


def test_laptop_recipe_records_selects_and_sets_the_schedule(music, noise_clip):
    from audioclf_lib.laptop_recipe import LaptopRecipe, join_windows

    train = tiny_clipset({"music": [music[i * SR : (i + 1) * SR] for i in range(4)],
                          "noise": [noise_clip[i * SR : (i + 1) * SR] for i in range(4)], "speech": [music[:SR]]})
    recipe = LaptopRecipe().replace(ft_clips=2, pool_clips=6)
    recorded = recipe.record(train, "laptop")
    assert len(recorded) == 8  # music and noise only
    np.testing.assert_array_equal(recorded.audio, d.simulate_clips(train, "laptop", seed=1, classes=["music", "noise"]).audio)
    phone, laptop = recipe.finetune_data({"train": train})
    np.testing.assert_array_equal(phone.audio, recipe.record(train, d.PHONE).audio)
    assert sorted(laptop.table["class"]) == ["music", "noise"]
    pool = recipe.laptop_pool(train)
    assert set(laptop.table["path"]) <= set(pool.table["path"]) and len(pool) == 6  # nested in the pool
    np.testing.assert_array_equal(laptop.audio, recipe.select(pool, 2).audio)  # the pool's recordings, not new ones
    assert len(recipe.finetune_data({"train": train}, "all")[1]) == 8
    assert recipe.finetune_settings() == {"num_epochs": 20, "lr": 1e-3, "windows_per_epoch": 512, "train_body": True}
    assert recipe.finetune_settings(train_body=False)["lr"] == 1e-4
    assert recipe.robust_settings()["device_share"] == 0.8 and recipe.robust_settings(random_devices=False)["device_share"] == 0
    quick = LaptopRecipe.quick()
    assert (quick.ft_epochs, quick.ft_clips, quick.robust_epochs) == (3, 10, 2) and quick.seed == recipe.seed
    windows, labels = join_windows(recipe.recorded_windows(train, "phone", SR), recipe.random_device_windows(train, SR))
    assert windows.shape == (16, SR) and labels.tolist() == [0] * 4 + [1] * 4 + [0] * 4 + [1] * 4
