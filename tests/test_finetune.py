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
from tests.test_devices import SR, music, noise_clip, tiny_clipset  # noqa: F401 - fixtures shared with the device tests


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
