"""Calibrate the simulated laptop's severity against the seed's one real observation, on validation only.

    python scripts/laptop_calibration.py [--train-only-base] 0.6 0.7 0.8 0.9 1.0

The seed fine-tuned its phone model for its real laptop with the body frozen (lr 1e-4, 20 epochs, 50/50 phone and
laptop data, "50+" laptop clips) and reached 92.4 % on the laptop: the laptop had shifted the audio, but the
information was still there for a linear head on the phone model's features. For each severity ``s`` (the
``devices.severity_profile`` path through the session-3 laptop, ``devices.LAPTOP_LOUD_FAN``), this script runs exactly
that recipe (notebook 04's settings: 50 clips, 20 x 512 windows) from the bundled ``music-noise`` model and reports,
on the **validation** split only: the phone model's laptop accuracy before, and the seed recipe's laptop and phone
accuracy after. The test split is never touched. Results go to laptop_calibration.jsonl and docs/experiments.md.

The bundled ``music-noise`` is refit on train + val, so it has heard the validation clips: its validation scores are
optimistic. ``--train-only-base`` first trains notebook 02's validation run instead (the same recipe on the training
clips only, best validation epoch; ~3 min), for which the validation split is truly held out, and calibrates with it.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from audioclf_lib.cache import load_splits
from audioclf_lib.checkpoint import load_checkpoint
from audioclf_lib.config import FeatureConfig, run_checkpoints_dir
from audioclf_lib.devices import LAPTOP_LOUD_FAN, PHONE, finetune_for_device, select_clips, severity_profile, simulate_clips
from audioclf_lib.features import FeatureExtractor
from audioclf_lib.train import TrainConfig, evaluate_windows, train_classifier
from audioclf_lib.windows import eval_windows

CLASSES = ["music", "noise"]
SEED, LAPTOP_SEED, FT_CLIPS = 0, 1, 50  # as notebook 04


def main(severities: list[float], *, train_only_base: bool = False) -> None:
    splits = load_splits(quick=False)
    if train_only_base:  # notebook 02's validation run: its recipe, training clips only, best validation epoch
        run = train_classifier("mel_cnn", CLASSES, FeatureConfig(), splits, windows_per_epoch=4096, progress=False,
                               train_config=TrainConfig(num_epochs=30, lr=2e-3, patience=10, seed=SEED))
        base, config = run.model.eval(), run.feature_config
        print(f"train-only base: best epoch {run.train_summary['best_epoch']}, validation balanced accuracy "
              f"{run.history['val_bal_acc'].max():.3f}", flush=True)  # (train_classifier also scores test: not used here)
    else:
        ckpt = load_checkpoint(run_checkpoints_dir(False) / "music-noise.pt", expected_classes=CLASSES)
        base, config = ckpt.model.eval(), ckpt.feature_config
    extractor, n = FeatureExtractor(config), config.window_samples
    phone_train = simulate_clips(splits["train"], PHONE, seed=LAPTOP_SEED, classes=CLASSES)
    phone_val, phone_val_table = eval_windows(simulate_clips(splits["val"], PHONE, seed=LAPTOP_SEED, classes=CLASSES), CLASSES, n)

    def accuracy(model, windows, table) -> float:
        return evaluate_windows(model, extractor, windows, table, CLASSES)[0]["window"]["accuracy"]

    for s in severities:
        t0 = time.perf_counter()
        profile = severity_profile(LAPTOP_LOUD_FAN, s)
        laptop_val, laptop_val_table = eval_windows(simulate_clips(splits["val"], profile, seed=LAPTOP_SEED, classes=CLASSES),
                                                    CLASSES, n)
        laptop_clips = simulate_clips(select_clips(splits["train"], FT_CLIPS, CLASSES, seed=SEED), profile, seed=LAPTOP_SEED)
        tuned, _ = finetune_for_device(base, extractor, phone_train, laptop_clips, np.concatenate([phone_val, laptop_val]),
                                       np.concatenate([phone_val_table["label"], laptop_val_table["label"]]), CLASSES,
                                       num_epochs=20, lr=1e-4, windows_per_epoch=512, train_body=False, seed=SEED)
        result = {"base": "train only" if train_only_base else "music-noise (refit)", "severity": s, "snr_db": profile.snr_db, "before_laptop": accuracy(base, laptop_val, laptop_val_table),
                  "before_phone": accuracy(base, phone_val, phone_val_table),
                  "seed_recipe_laptop": accuracy(tuned, laptop_val, laptop_val_table),
                  "seed_recipe_phone": accuracy(tuned, phone_val, phone_val_table), "seconds": time.perf_counter() - t0}
        print(json.dumps(result), flush=True)
        with Path("laptop_calibration.jsonl").open("a") as f:
            f.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    flag = "--train-only-base"
    main([float(a) for a in sys.argv[1:] if a != flag], train_only_base=flag in sys.argv[1:])
