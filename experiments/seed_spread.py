"""How much do notebook 04's headline numbers move with the training seed alone?

    python experiments/seed_spread.py ft 0 1 2 3 4      # whole-network fine-tuning (music-noise-laptop's recipe)
    python experiments/seed_spread.py robust 1 2        # per_freq + random devices (music-noise-robust until 2026-11-22, 08:18)
    python experiments/seed_spread.py robust_max_db 0 1 2   # random devices only, max_db front end (music-noise-robust)

Everything as in notebook 04 (same base ``music-noise``, same 50 laptop clips and recordings, same validation
windows and epoch choice); only the seed of the training run changes (window order, crops, augmentation, random
devices). Seed 0 is the notebook's own run and must reproduce its numbers. The test split is scored to *report* the
spread of a recipe that was fixed beforehand; nothing is chosen with it. Results are appended to
experiments/results/seed_spread.jsonl (docs/experiments.md, "How much the numbers move with the seed").
"""
from __future__ import annotations

import sys
import time

from audioclf_lib.cache import load_splits
from audioclf_lib.config import FeatureConfig
from audioclf_lib.devices import LAPTOP, LAPTOP_LOUD_FAN, PHONE
from audioclf_lib.features import FeatureExtractor
from audioclf_lib.finetune import finetune_for_device, train_robust
from audioclf_lib.laptop_recipe import join_windows
from audioclf_lib.train import evaluate_windows
from common import CLASSES, RECIPE, append_result, phone_model, usage


def main(kind: str, seeds: list[int]) -> None:
    splits = load_splits(quick=False)
    ckpt = phone_model()
    base, config = ckpt.model.eval(), ckpt.feature_config
    n = config.window_samples
    tests = {name: RECIPE.recorded_windows(splits["test"], profile, n)
             for name, profile in [("phone", PHONE), ("laptop", LAPTOP), ("loud_fan", LAPTOP_LOUD_FAN)]}
    phone_val = RECIPE.recorded_windows(splits["val"], PHONE, n)

    def test_scores(model, model_config) -> dict:
        return {name: round(evaluate_windows(model, FeatureExtractor(model_config), w, t, CLASSES)[0]["window"]["accuracy"], 4)
                for name, (w, t) in tests.items()}

    if kind == "ft":
        phone_train, laptop_clips = RECIPE.finetune_data(splits)
        val_w, val_l = join_windows(phone_val, RECIPE.recorded_windows(splits["val"], LAPTOP, n))
        for seed in seeds:
            t0 = time.perf_counter()
            tuned, history = finetune_for_device(base, FeatureExtractor(config), phone_train, laptop_clips, val_w, val_l,
                                                 CLASSES, seed=seed, **RECIPE.finetune_settings())
            record(kind, seed, history, test_scores(tuned, config), time.perf_counter() - t0)
    elif kind in ("robust", "robust_max_db"):
        val_w, val_l = join_windows(phone_val, RECIPE.random_device_windows(splits["val"], n))
        robust_config = FeatureConfig(normalization="per_freq") if kind == "robust" else config
        for seed in seeds:
            t0 = time.perf_counter()
            model, history = train_robust(base, FeatureExtractor(robust_config), splits["train"], val_w, val_l, CLASSES,
                                          seed=seed, **RECIPE.robust_settings())
            record(kind, seed, history, test_scores(model, robust_config), time.perf_counter() - t0)
    else:
        raise SystemExit(f"unknown kind {kind!r}: ft, robust or robust_max_db")


def record(kind: str, seed: int, history, scores: dict, seconds: float) -> None:
    result = {"kind": kind, "seed": seed, "best_epoch": int(history["val_bal_acc"].idxmax()) + 1,
              "val": round(float(history["val_bal_acc"].max()), 4), "test": scores, "seconds": round(seconds)}
    append_result("seed_spread", result)


if __name__ == "__main__":
    args = usage(__doc__, sys.argv[1:], min_args=1)
    main(args[0], [int(s) for s in args[1:]])
