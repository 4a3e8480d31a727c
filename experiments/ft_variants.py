"""Which laptop fine-tuning recipe? Variants of notebook 04's, chosen on validation over several seeds.

    python experiments/ft_variants.py NAME [key=value ...] [--seeds 0 1 2] [--test]

Everything as in notebook 04 (the bundled ``music-noise`` as the phone model, the same 50 laptop recordings, phone +
laptop validation windows picking the epoch); the keys change one thing at a time:

- any keyword of :func:`audioclf_lib.finetune.finetune_for_device` (``lr``, ``num_epochs``, ``windows_per_epoch``,
  ``device_share``, ``train_body``);
- ``phone_p=P``: the phone windows go through a random device with probability P (keeps the base's robustness);
- ``laptop_clips=N`` (up to 100, the notebook's learning-curve pool) or ``laptop_clips=all`` (every training clip
  recorded once through the laptop): how many laptop recordings to fine-tune on (default 50, as the notebook);
- ``start=robust_max_db``: start from notebook 04's "random devices only (max_db)" model (trained once with the
  notebook's seed and cached in data/cache/dev/) instead of the phone model.

The validation score of every seed is printed and appended to experiments/results/ft_variants.jsonl; a recipe is chosen on
the *mean validation score over seeds*. ``--test`` also scores the test split, to report a recipe's spread; never to choose one.
"""
from __future__ import annotations

import sys
import time

import torch

from audioclf_lib.cache import load_splits
from audioclf_lib.devices import LAPTOP, LAPTOP_LOUD_FAN, PHONE, PRESETS, RandomDevice
from audioclf_lib.features import FeatureExtractor
from audioclf_lib.finetune import finetune_for_device, train_robust
from audioclf_lib.laptop_recipe import join_windows
from audioclf_lib.train import evaluate_windows
from common import CLASSES, DEV_CACHE, RECIPE, append_result, cached_model, parse_options, phone_model, usage


def robust_max_db(base, config, splits, phone_val) -> torch.nn.Module:
    """Notebook 04's "random devices only (max_db)" model (seed 0), trained once and cached."""
    def train():
        val_w, val_l = join_windows(phone_val, RECIPE.random_device_windows(splits["val"], config.window_samples))
        return train_robust(base, FeatureExtractor(config), splits["train"], val_w, val_l, CLASSES, seed=RECIPE.seed,
                            **RECIPE.robust_settings())[0]

    return cached_model(DEV_CACHE / "robust_max_db_seed0.pt", base, train)


def main(argv: list[str]) -> None:
    name, rest = argv[0], argv[1:]
    seeds, score_test = [0, 1, 2], "--test" in rest
    rest = [a for a in rest if a != "--test"]
    if "--seeds" in rest:
        i = rest.index("--seeds")
        seeds, rest = [int(s) for s in rest[i + 1:]], rest[:i]
    options = parse_options(rest)
    start, phone_p = options.pop("start", "phone"), options.pop("phone_p", 0.0)
    laptop_clips = options.pop("laptop_clips", RECIPE.ft_clips)
    recipe = {**RECIPE.finetune_settings(), **options}

    splits = load_splits(quick=False)
    ckpt = phone_model()
    base, config = ckpt.model.eval(), ckpt.feature_config
    n = config.window_samples
    phone_val = RECIPE.recorded_windows(splits["val"], PHONE, n)
    if start == "robust_max_db":
        base = robust_max_db(base, config, splits, phone_val)
    elif start != "phone":
        raise SystemExit(f"start={start!r}: phone or robust_max_db")
    phone_train, laptop_train = RECIPE.finetune_data(splits, laptop_clips)
    val_w, val_l = join_windows(phone_val, RECIPE.recorded_windows(splits["val"], LAPTOP, n))
    tests = {"phone": PHONE, "laptop": LAPTOP, "loud_fan": LAPTOP_LOUD_FAN, "telephone": PRESETS["telephone"],
             "webcam": PRESETS["webcam"]}
    tests = {k: RECIPE.recorded_windows(splits["test"], p, n) for k, p in tests.items()} if score_test else {}
    for seed in seeds:
        t0 = time.perf_counter()
        tuned, history = finetune_for_device(base, FeatureExtractor(config), phone_train, laptop_train, val_w, val_l, CLASSES,
                                             phone_transform=RandomDevice(sr=config.sample_rate, p=phone_p) if phone_p else None,
                                             seed=seed, **recipe)
        result = {"name": name, "args": rest, "seed": seed, "best_epoch": int(history["val_bal_acc"].idxmax()) + 1,
                  "val": round(float(history["val_bal_acc"].max()), 4), "seconds": round(time.perf_counter() - t0)}
        if tests:
            result["test"] = {k: round(evaluate_windows(tuned, FeatureExtractor(config), w, t, CLASSES)[0]["window"]["accuracy"], 4)
                              for k, (w, t) in tests.items()}
        append_result("ft_variants", result)


if __name__ == "__main__":
    main(usage(__doc__, sys.argv[1:], min_args=1))
