"""Notebook 04's experimental setup, shared by the scripts that rerun its recipes outside the notebook.

The constants, recordings and training calls exactly as notebook 04 makes them, so that a script's seed-0 run can
reproduce the notebook's and every script measures the same thing (imported by scripts/seed_spread.py,
ft_variants.py, clean_dev.py, laptop_calibration.py, laptop_oracle.py, channel_estimate_ft.py; run as
``python scripts/<name>.py``, which puts this folder on the import path).
"""
from __future__ import annotations

import ast
import copy
import time
from pathlib import Path

import numpy as np
import torch

from audioclf_lib.checkpoint import load_checkpoint
from audioclf_lib.config import FeatureConfig
from audioclf_lib.devices import LAPTOP, PHONE, RandomDevice, random_device_clips, select_clips, simulate_clips
from audioclf_lib.features import FeatureExtractor
from audioclf_lib.train import TrainConfig, fit, train_classifier
from audioclf_lib.windows import TrainWindows, eval_windows

CLASSES = ["music", "noise"]
NOTEBOOK_SEED, LAPTOP_SEED, FT_CLIPS, CURVE_MAX, SR = 0, 1, 50, 100, 16_000  # notebook 04's constants
TRAIN_ONLY_BASE = Path("data/cache/dev/music-noise-train-only.pt")


def parse_value(text: str):
    """A ``key=value`` argument's value: a Python literal (``0.5``, ``(1, 2)``, ``True``), or the text itself."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def recorded_windows(clips, profile, n: int):
    """(windows, table) of the music and noise clips of ``clips`` recorded through ``profile`` as notebook 04 records
    them (clip i with the generator (LAPTOP_SEED, i))."""
    return eval_windows(simulate_clips(clips, profile, seed=LAPTOP_SEED, classes=CLASSES), CLASSES, n)


def random_device_windows(clips, n: int):
    """(windows, table) of notebook 04's fixed random-device recordings of ``clips`` (its robust validation set)."""
    return eval_windows(random_device_clips(clips, seed=NOTEBOOK_SEED, classes=CLASSES), CLASSES, n)


def finetune_data(splits, laptop_clips: int | str = FT_CLIPS) -> tuple:
    """(phone training clips, laptop recordings) that notebook 04 fine-tunes on: its FT_CLIPS recordings by default,
    up to CURVE_MAX from the notebook's learning-curve pool, or ``"all"``: every training clip recorded once."""
    phone_train = simulate_clips(splits["train"], PHONE, seed=LAPTOP_SEED, classes=CLASSES)
    if laptop_clips == "all":
        return phone_train, simulate_clips(splits["train"], LAPTOP, seed=LAPTOP_SEED, classes=CLASSES)
    pool = simulate_clips(select_clips(splits["train"], CURVE_MAX, CLASSES, seed=NOTEBOOK_SEED), LAPTOP, seed=LAPTOP_SEED)
    return phone_train, select_clips(pool, laptop_clips, CLASSES, seed=NOTEBOOK_SEED)


def train_robust(base, config: FeatureConfig, train_clips, val_windows, val_labels, *, seed: int, epochs: int = 16,
                 windows_per_epoch: int = 2048, lr: float = 1e-3, p: float = 0.8, monitor: dict | None = None):
    """Notebook 04's device-robust training: ``base`` trained on with a share ``p`` of the windows through random
    devices, the epoch picked on the given validation windows; (model in eval mode, history)."""
    model = copy.deepcopy(base)
    train_set = TrainWindows(train_clips, CLASSES, config.window_samples, windows_per_epoch=windows_per_epoch,
                             transform=RandomDevice(sr=SR, p=p), seed=seed)
    history = fit(model, FeatureExtractor(config), train_set, val_windows, val_labels,
                  config=TrainConfig(num_epochs=epochs, lr=lr, patience=epochs, seed=seed), monitor=monitor, progress=False)
    return model.eval(), history


def train_only_base(splits):
    """Notebook 02's validation run (its recipe on the training clips only, best validation epoch), trained once and
    cached: a base for which the validation split is truly unseen. (model in eval mode, feature config)."""
    if not TRAIN_ONLY_BASE.exists():
        t0 = time.perf_counter()
        run = train_classifier("mel_cnn", CLASSES, FeatureConfig(), splits, windows_per_epoch=4096, progress=False,
                               train_config=TrainConfig(num_epochs=30, lr=2e-3, patience=10, seed=NOTEBOOK_SEED))
        TRAIN_ONLY_BASE.parent.mkdir(parents=True, exist_ok=True)
        run.save(TRAIN_ONLY_BASE, note="development base: training clips only (scripts/nb04_setup.py); never bundled")
        print(f"train-only base: best epoch {run.train_summary['best_epoch']}, validation "
              f"{run.history['val_bal_acc'].max():.3f}, {time.perf_counter() - t0:.0f} s", flush=True)
    ckpt = load_checkpoint(TRAIN_ONLY_BASE, expected_classes=CLASSES)
    return ckpt.model.eval(), ckpt.feature_config


def concat_sets(*sets) -> tuple[np.ndarray, np.ndarray]:
    """Several (windows, table) pairs as one validation set: (windows, labels)."""
    return np.concatenate([w for w, _ in sets]), np.concatenate([t["label"].to_numpy() for _, t in sets])


def cached_model(path: Path, base, train):
    """The model ``train()`` returns, trained once: its weights are cached at ``path`` and loaded into a copy of
    ``base`` (same architecture) on later runs."""
    path = Path(path)
    if path.exists():
        model = copy.deepcopy(base)
        model.load_state_dict(torch.load(path))
        return model.eval()
    model = train()
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)
    return model.eval()
