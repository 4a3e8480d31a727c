"""How much do notebook 04's headline numbers move with the training seed alone?

    python scripts/seed_spread.py ft 0 1 2 3 4      # whole-network fine-tuning (music-noise-laptop's recipe)
    python scripts/seed_spread.py robust 1 2        # per_freq + random devices (session 5's music-noise-robust)
    python scripts/seed_spread.py robust_max_db 0 1 2   # random devices only, max_db front end

Everything as in notebook 04 (same base ``music-noise``, same 50 laptop clips and recordings, same validation
windows and epoch choice); only the seed of the training run changes (window order, crops, augmentation, random
devices). Seed 0 is the notebook's own run and must reproduce its numbers. The test split is scored to *report* the
spread of a recipe that was fixed beforehand; nothing is chosen with it. Results are appended to docs/results/seed_spread.jsonl
(docs/experiments.md, session 5).
"""
from __future__ import annotations

import copy
import json
import sys
import time
from pathlib import Path

import numpy as np

from audioclf_lib.cache import load_splits
from audioclf_lib.checkpoint import load_checkpoint
from audioclf_lib.config import FeatureConfig, run_checkpoints_dir
from audioclf_lib.devices import (LAPTOP, LAPTOP_LOUD_FAN, PHONE, RandomDevice, finetune_for_device, random_device_clips,
                                  select_clips, simulate_clips)
from audioclf_lib.features import FeatureExtractor
from audioclf_lib.train import TrainConfig, evaluate_windows, fit
from audioclf_lib.windows import TrainWindows, eval_windows

CLASSES = ["music", "noise"]
NOTEBOOK_SEED, LAPTOP_SEED, FT_CLIPS, CURVE_MAX = 0, 1, 50, 100  # notebook 04's constants


def main(kind: str, seeds: list[int]) -> None:
    splits = load_splits(quick=False)
    ckpt = load_checkpoint(run_checkpoints_dir(False) / "music-noise.pt", expected_classes=CLASSES)
    base, config = ckpt.model.eval(), ckpt.feature_config
    n = config.window_samples

    def windows(split: str, profile):
        w, table = eval_windows(simulate_clips(splits[split], profile, seed=LAPTOP_SEED, classes=CLASSES), CLASSES, n)
        return w, table

    tests = {"phone": windows("test", PHONE), "laptop": windows("test", LAPTOP), "loud_fan": windows("test", LAPTOP_LOUD_FAN)}
    phone_val, phone_val_table = windows("val", PHONE)

    def test_scores(model, model_config) -> dict:
        return {name: round(evaluate_windows(model, FeatureExtractor(model_config), w, t, CLASSES)[0]["window"]["accuracy"], 4)
                for name, (w, t) in tests.items()}

    if kind == "ft":
        laptop_val, laptop_val_table = windows("val", LAPTOP)
        phone_train = simulate_clips(splits["train"], PHONE, seed=LAPTOP_SEED, classes=CLASSES)
        pool = simulate_clips(select_clips(splits["train"], CURVE_MAX, CLASSES, seed=NOTEBOOK_SEED), LAPTOP, seed=LAPTOP_SEED)
        laptop_clips = select_clips(pool, FT_CLIPS, CLASSES, seed=NOTEBOOK_SEED)
        val_w = np.concatenate([phone_val, laptop_val])
        val_l = np.concatenate([phone_val_table["label"], laptop_val_table["label"]])
        for seed in seeds:
            t0 = time.perf_counter()
            tuned, history = finetune_for_device(base, FeatureExtractor(config), phone_train, laptop_clips, val_w, val_l,
                                                 CLASSES, num_epochs=20, lr=1e-3, windows_per_epoch=512, train_body=True,
                                                 seed=seed)
            record(kind, seed, history, test_scores(tuned, config), time.perf_counter() - t0)
    elif kind in ("robust", "robust_max_db"):
        val_random = random_device_clips(splits["val"], seed=NOTEBOOK_SEED, classes=CLASSES)
        random_val, random_val_table = eval_windows(val_random, CLASSES, n)
        val_w = np.concatenate([phone_val, random_val])
        val_l = np.concatenate([phone_val_table["label"], random_val_table["label"]])
        robust_config = FeatureConfig(normalization="per_freq") if kind == "robust" else config
        for seed in seeds:
            model = copy.deepcopy(base)
            train_set = TrainWindows(splits["train"], CLASSES, n, windows_per_epoch=2048, transform=RandomDevice(sr=16_000, p=0.8),
                                     seed=seed)
            t0 = time.perf_counter()
            history = fit(model, FeatureExtractor(robust_config), train_set, val_w, val_l,
                          config=TrainConfig(num_epochs=16, lr=1e-3, patience=16, seed=seed), progress=False)
            record(kind, seed, history, test_scores(model.eval(), robust_config), time.perf_counter() - t0)
    else:
        raise SystemExit(f"unknown kind {kind!r}: ft, robust or robust_max_db")


def record(kind: str, seed: int, history, scores: dict, seconds: float) -> None:
    result = {"kind": kind, "seed": seed, "best_epoch": int(history["val_bal_acc"].idxmax()) + 1,
              "val": round(float(history["val_bal_acc"].max()), 4), "test": scores, "seconds": round(seconds)}
    print(json.dumps(result), flush=True)
    with Path("docs/results/seed_spread.jsonl").open("a") as f:
        f.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], [int(s) for s in sys.argv[2:]])
