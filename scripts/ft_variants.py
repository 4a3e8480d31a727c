"""Which laptop fine-tuning recipe? Variants of notebook 04's, chosen on validation over several seeds.

    python scripts/ft_variants.py NAME [key=value ...] [--seeds 0 1 2] [--test]

Everything as in notebook 04 (the bundled ``music-noise`` as the phone model, the same 50 laptop recordings, phone +
laptop validation windows picking the epoch); the keys change one thing at a time:

- any keyword of :func:`audioclf_lib.devices.finetune_for_device` (``lr``, ``num_epochs``, ``windows_per_epoch``,
  ``device_share``, ``train_body``);
- ``phone_p=P``: the phone windows go through a random device with probability P (keeps the base's robustness);
- ``start=robust_max_db``: start from notebook 04's "random devices only (max_db)" model (trained once with the
  notebook's seed and cached in data/cache/dev/) instead of the phone model.

The validation score of every seed is printed and appended to docs/results/ft_variants.jsonl; a recipe is chosen on
the *mean validation score over seeds*. ``--test`` also scores the test split: only for the recipe chosen, to report.
"""
from __future__ import annotations

import ast
import copy
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from audioclf_lib.cache import load_splits
from audioclf_lib.checkpoint import load_checkpoint
from audioclf_lib.config import run_checkpoints_dir
from audioclf_lib.devices import (LAPTOP, LAPTOP_LOUD_FAN, PHONE, PRESETS, RandomDevice, finetune_for_device, random_device_clips,
                                  select_clips, simulate_clips)
from audioclf_lib.features import FeatureExtractor
from audioclf_lib.train import TrainConfig, evaluate_windows, fit
from audioclf_lib.windows import TrainWindows, eval_windows

CLASSES = ["music", "noise"]
NOTEBOOK_SEED, LAPTOP_SEED, FT_CLIPS, CURVE_MAX, SR = 0, 1, 50, 100, 16_000  # notebook 04's constants
CACHE = Path("data/cache/dev")


def robust_max_db(base, config, splits, val_w, val_l) -> torch.nn.Module:
    """Notebook 04's "random devices only (max_db)" model (seed 0), trained once and cached."""
    path = CACHE / "robust_max_db_seed0.pt"
    model = copy.deepcopy(base)
    if path.exists():
        model.load_state_dict(torch.load(path))
        return model.eval()
    train_set = TrainWindows(splits["train"], CLASSES, config.window_samples, windows_per_epoch=2048,
                             transform=RandomDevice(sr=SR, p=0.8), seed=NOTEBOOK_SEED)
    fit(model, FeatureExtractor(config), train_set, val_w, val_l,
        config=TrainConfig(num_epochs=16, lr=1e-3, patience=16, seed=NOTEBOOK_SEED), progress=False)
    CACHE.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)
    return model.eval()


def main(argv: list[str]) -> None:
    name, rest = argv[0], argv[1:]
    seeds, score_test = [0, 1, 2], "--test" in rest
    rest = [a for a in rest if a != "--test"]
    if "--seeds" in rest:
        i = rest.index("--seeds")
        seeds, rest = [int(s) for s in rest[i + 1:]], rest[:i]
    options = {k: ast.literal_eval(v) if v[0].isdigit() or v in ("True", "False") else v
               for k, v in (a.split("=", 1) for a in rest)}
    start, phone_p = options.pop("start", "phone"), options.pop("phone_p", 0.0)
    recipe = {"num_epochs": 20, "lr": 1e-3, "windows_per_epoch": 512, "train_body": True, **options}

    splits = load_splits(quick=False)
    ckpt = load_checkpoint(run_checkpoints_dir(False) / "music-noise.pt", expected_classes=CLASSES)
    base, config = ckpt.model.eval(), ckpt.feature_config
    n = config.window_samples

    def windows(split: str, profile):
        return eval_windows(simulate_clips(splits[split], profile, seed=LAPTOP_SEED, classes=CLASSES), CLASSES, n)

    phone_val, laptop_val = windows("val", PHONE), windows("val", LAPTOP)
    if start == "robust_max_db":
        val_random = random_device_clips(splits["val"], seed=NOTEBOOK_SEED, classes=CLASSES)
        random_val = eval_windows(val_random, CLASSES, n)
        base = robust_max_db(base, config, splits, np.concatenate([phone_val[0], random_val[0]]),
                             np.concatenate([phone_val[1]["label"], random_val[1]["label"]]))
    elif start != "phone":
        raise SystemExit(f"start={start!r}: phone or robust_max_db")
    phone_train = simulate_clips(splits["train"], PHONE, seed=LAPTOP_SEED, classes=CLASSES)
    pool = simulate_clips(select_clips(splits["train"], CURVE_MAX, CLASSES, seed=NOTEBOOK_SEED), LAPTOP, seed=LAPTOP_SEED)
    laptop_clips = select_clips(pool, FT_CLIPS, CLASSES, seed=NOTEBOOK_SEED)
    val_w = np.concatenate([phone_val[0], laptop_val[0]])
    val_l = np.concatenate([phone_val[1]["label"], laptop_val[1]["label"]])
    tests = {"phone": PHONE, "laptop": LAPTOP, "loud_fan": LAPTOP_LOUD_FAN, "telephone": PRESETS["telephone"],
             "webcam": PRESETS["webcam"]}
    tests = {k: windows("test", p) for k, p in tests.items()} if score_test else {}
    for seed in seeds:
        t0 = time.perf_counter()
        tuned, history = finetune_for_device(base, FeatureExtractor(config), phone_train, laptop_clips, val_w, val_l, CLASSES,
                                             phone_transform=RandomDevice(sr=SR, p=phone_p) if phone_p else None,
                                             seed=seed, **recipe)
        result = {"name": name, "args": rest, "seed": seed, "best_epoch": int(history["val_bal_acc"].idxmax()) + 1,
                  "val": round(float(history["val_bal_acc"].max()), 4), "seconds": round(time.perf_counter() - t0)}
        if tests:
            result["test"] = {k: round(evaluate_windows(tuned, FeatureExtractor(config), w, t, CLASSES)[0]["window"]["accuracy"], 4)
                              for k, (w, t) in tests.items()}
        print(json.dumps(result), flush=True)
        with Path("docs/results/ft_variants.jsonl").open("a") as f:
            f.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
