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
optimistic. ``--train-only-base`` uses notebook 02's validation run instead (the same recipe on the training
clips only, best validation epoch; trained once, ~3 min, and cached by scripts/nb04_setup.py), for which the validation split is truly held out, and calibrates with it.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from audioclf_lib.cache import load_splits
from audioclf_lib.checkpoint import load_checkpoint
from audioclf_lib.config import run_checkpoints_dir
from audioclf_lib.devices import LAPTOP_LOUD_FAN, PHONE, finetune_for_device, select_clips, severity_profile, simulate_clips
from audioclf_lib.features import FeatureExtractor
from audioclf_lib.train import evaluate_windows
from nb04_setup import CLASSES, FT_CLIPS, LAPTOP_SEED, NOTEBOOK_SEED as SEED, recorded_windows, train_only_base


def main(severities: list[float], *, use_train_only_base: bool = False) -> None:
    splits = load_splits(quick=False)
    if use_train_only_base:  # notebook 02's validation run: its recipe, training clips only, best validation epoch
        base, config = train_only_base(splits)
    else:
        ckpt = load_checkpoint(run_checkpoints_dir(False) / "music-noise.pt", expected_classes=CLASSES)
        base, config = ckpt.model.eval(), ckpt.feature_config
    extractor, n = FeatureExtractor(config), config.window_samples
    phone_train = simulate_clips(splits["train"], PHONE, seed=LAPTOP_SEED, classes=CLASSES)
    phone_val, phone_val_table = recorded_windows(splits["val"], PHONE, n)

    def accuracy(model, windows, table) -> float:
        return evaluate_windows(model, extractor, windows, table, CLASSES)[0]["window"]["accuracy"]

    for s in severities:
        t0 = time.perf_counter()
        profile = severity_profile(LAPTOP_LOUD_FAN, s)
        laptop_val, laptop_val_table = recorded_windows(splits["val"], profile, n)
        laptop_clips = simulate_clips(select_clips(splits["train"], FT_CLIPS, CLASSES, seed=SEED), profile, seed=LAPTOP_SEED)
        tuned, _ = finetune_for_device(base, extractor, phone_train, laptop_clips, np.concatenate([phone_val, laptop_val]),
                                       np.concatenate([phone_val_table["label"], laptop_val_table["label"]]), CLASSES,
                                       num_epochs=20, lr=1e-4, windows_per_epoch=512, train_body=False, seed=SEED)
        result = {"base": "train only" if use_train_only_base else "music-noise (refit)", "severity": s, "snr_db": profile.snr_db, "before_laptop": accuracy(base, laptop_val, laptop_val_table),
                  "before_phone": accuracy(base, phone_val, phone_val_table),
                  "seed_recipe_laptop": accuracy(tuned, laptop_val, laptop_val_table),
                  "seed_recipe_phone": accuracy(tuned, phone_val, phone_val_table), "seconds": time.perf_counter() - t0}
        print(json.dumps(result), flush=True)
        with Path("laptop_calibration.jsonl").open("a") as f:
            f.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    flag = "--train-only-base"
    main([float(a) for a in sys.argv[1:] if a != flag], use_train_only_base=flag in sys.argv[1:])
