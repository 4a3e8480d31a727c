"""Experiment: fine-tune for a device with training audio synthesised through a channel estimated from its recordings.

    python experiments/channel_estimate_ft.py [n_clips] [windows_per_epoch]

Notebook 04's fine-tuning sees the device only through its few recordings. Here the recordings also give an estimate
of the device: its average spectral colouring (the laptop clips' long-term average spectrum over the phone clips', per
frequency, each clip's level removed) and its stationary noise floor (the 10th percentile of each frequency over time,
relative to the clip's power). Every phone training clip can then be "recorded" through that estimate with fresh noise,
and fine-tuning draws a quarter of its windows from phone clips, a quarter from phone clips through the estimate and
half from the real device clips. No knowledge of the simulator's parameters is used: only the recordings. Reports
validation and test accuracy (phone, laptop) of this and of notebook 04's whole-network recipe, same seed, and
appends them to experiments/results/channel_estimate_ft.jsonl.
"""
from __future__ import annotations

import copy
import sys
from dataclasses import dataclass

import numpy as np
from scipy import signal as sps

from audioclf_lib.augment import WaveAugment
from audioclf_lib.cache import load_splits
from audioclf_lib.devices import LAPTOP, PHONE, select_clips
from audioclf_lib.features import FeatureExtractor
from audioclf_lib.finetune import MixedWindows, finetune_for_device
from audioclf_lib.laptop_recipe import join_windows
from audioclf_lib.train import TrainConfig, evaluate_windows, fit
from audioclf_lib.windows import TrainWindows
from common import CLASSES, RECIPE, append_result, phone_model, usage

SEED = RECIPE.seed

NPERSEG = 512


def _power(y: np.ndarray) -> np.ndarray:
    return np.abs(sps.stft(y, nperseg=NPERSEG, noverlap=NPERSEG // 2)[2]) ** 2  # (F, T)


def _shapes(clips) -> tuple[np.ndarray, np.ndarray]:
    """Per clip: long-term average spectrum and noise floor, both in dB relative to the clip's mean power."""
    ltas, floors = [], []
    for i in range(len(clips)):
        p = _power(clips.clip(i)) + 1e-12
        total = p.mean()
        ltas.append(10 * np.log10(p.mean(axis=1) / total))
        # 10th percentile of a stationary noise's power is ~0.105 of its mean (exponential distribution)
        floors.append(10 * np.log10(np.percentile(p, 10, axis=1) / 0.105 / total))
    return np.array(ltas), np.array(floors)


@dataclass(frozen=True)
class EstimatedChannel:
    """A training-window transform: colour by ``gain_db`` per frequency, add noise shaped like one of ``floors_db``."""

    gain_db: np.ndarray  # (F,)
    floors_db: np.ndarray  # (n_clips, F), relative to the recording's mean power

    def __call__(self, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        _, _, z = sps.stft(y, nperseg=NPERSEG, noverlap=NPERSEG // 2)
        z = z * (10 ** (self.gain_db / 20))[:, None]
        floor = self.floors_db[rng.integers(len(self.floors_db))]
        scale = np.sqrt(np.mean(np.abs(z) ** 2) * 10 ** (floor / 10) / 2)[:, None]
        z = z + scale * (rng.standard_normal(z.shape) + 1j * rng.standard_normal(z.shape))
        out = sps.istft(z, nperseg=NPERSEG, noverlap=NPERSEG // 2)[1][: len(y)]
        out = np.pad(out, (0, len(y) - len(out)))
        peak = np.abs(out).max()
        return (out * (np.abs(y).max() / peak) if peak > 0 else out).astype(np.float32)


def estimate_channel(device_clips, phone_clips) -> EstimatedChannel:
    dev_ltas, dev_floors = _shapes(device_clips)
    phone_ltas, _ = _shapes(phone_clips)
    gain = np.median(dev_ltas, axis=0) - np.median(phone_ltas, axis=0)
    gain = np.clip(np.convolve(gain, np.ones(5) / 5, mode="same"), -40, 20)
    return EstimatedChannel(gain, dev_floors)


def main(n_clips: int = 50, wpe: int = 512) -> None:
    splits = load_splits(quick=False)
    ckpt = phone_model()
    base, config = ckpt.model.eval(), ckpt.feature_config
    extractor, n = FeatureExtractor(config), config.window_samples

    val_w, val_l = join_windows(RECIPE.recorded_windows(splits["val"], PHONE, n),
                                RECIPE.recorded_windows(splits["val"], LAPTOP, n))
    tests = {"phone": RECIPE.recorded_windows(splits["test"], PHONE, n),
             "laptop": RECIPE.recorded_windows(splits["test"], LAPTOP, n)}
    phone_train, laptop_clips = RECIPE.finetune_data(splits, n_clips)  # notebook 04's selection
    channel = estimate_channel(laptop_clips, select_clips(phone_train, 200, CLASSES, seed=SEED + 3))

    def report(name, model, history):
        row = {"variant": name, "n_clips": n_clips, "wpe": wpe, "val": float(history["val_bal_acc"].max())}
        for k, (w, t) in tests.items():
            row[k] = evaluate_windows(model, extractor, w, t, CLASSES)[0]["window"]["accuracy"]
        append_result("channel_estimate_ft", row)

    tuned, history = finetune_for_device(base, extractor, phone_train, laptop_clips, val_w, val_l, CLASSES, seed=SEED,
                                         **{**RECIPE.finetune_settings(), "windows_per_epoch": wpe})
    report("notebook 04 whole network", tuned, history)

    model = copy.deepcopy(base)
    phone = TrainWindows(phone_train, CLASSES, n, windows_per_epoch=wpe, seed=SEED)
    synth = TrainWindows(phone_train, CLASSES, n, windows_per_epoch=wpe, transform=channel, seed=SEED + 2)
    dev = TrainWindows(laptop_clips, CLASSES, n, windows_per_epoch=wpe, augment=WaveAugment(p_noise=0.0),
                       background_class=None, seed=SEED + 1)
    mix = MixedWindows([phone, synth, dev], weights=[0.25, 0.25, 0.5], windows_per_epoch=wpe, seed=SEED)
    history = fit(model, extractor, mix, val_w, val_l, progress=False,
                  config=TrainConfig(num_epochs=RECIPE.ft_epochs, lr=RECIPE.whole_lr, patience=RECIPE.ft_epochs, seed=SEED))
    report("+ phone clips through the estimated channel", model.eval(), history)


if __name__ == "__main__":
    main(*[int(a) for a in usage(__doc__, sys.argv[1:])])
