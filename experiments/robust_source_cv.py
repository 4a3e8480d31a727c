"""Source-held-out cross-validation of notebook 04's device-robust recipe, scored through every simulated device.

    AUDIOCLF_DATA=data/cache/corpus/v2 python experiments/robust_source_cv.py                # every fold, then the table
    AUDIOCLF_DATA=data/cache/corpus/v2 python experiments/robust_source_cv.py --only-fold 0  # one fold (run folds in parallel)

``music-noise-robust`` is trained in two steps (notebooks 02 and 04): the phone model (``mel_cnn``, source-balanced
windows, refit on training + validation sources), then device-robust training from it
(:func:`~audioclf_lib.finetune.train_robust` with :meth:`~audioclf_lib.laptop_recipe.LaptopRecipe.robust_settings`:
80 % of the windows through a fresh random device, the epoch chosen on phone + random-device windows of the validation
sources; no preset is ever heard in training). Here both steps run once per fold of the music-noise source folds
(``source_cv.py``'s: five folds, seed 0, the same held-out sources), and every held-out clip is then recorded through
each device preset (:meth:`LaptopRecipe.record`: phone, laptop, loud-fan laptop and the held-out telephone and webcam)
and decided by its mean window probability, by the fold's phone model and by its robust model. The result is the
number a user with a new microphone *and* new recordings should expect from each.

The phone model is trained at ``--epochs`` x ``--windows-per-epoch`` (default 8 x 2,048, a fifth of notebook 02's
release budget, as the ablation); the robust step at notebook 04's own budget (16 x 2,048). Folds are cached in
``data/cache/source_cv/robust-<key>/``; the summary goes to ``experiments/results/source_cv_music-noise-robust.json``.
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import torch

from audioclf_lib.config import FeatureConfig, cache_dir
from audioclf_lib.crossval import clip_predictions, cross_validate, cv_metrics, recipe_train_fn, source_folds
from audioclf_lib.devices import PRESETS
from audioclf_lib.features import FeatureExtractor
from audioclf_lib.finetune import train_robust
from audioclf_lib.laptop_recipe import LaptopRecipe, join_windows
from audioclf_lib.train import TrainConfig
from audioclf_lib.windows import eval_windows
from source_cv import RESULTS, all_clips, git_commit

CLASSES = ["music", "noise"]
RECIPE = LaptopRecipe()


def fold_models(train_config: TrainConfig, windows_per_epoch: int, phone_models: dict):
    """A ``train_fn`` for :func:`cross_validate` that returns the robust model and keeps the phone model it started from."""
    phone_fn = recipe_train_fn("mel_cnn", CLASSES, FeatureConfig(), train_config=train_config,
                               windows_per_epoch=windows_per_epoch, refit=True, balance="source")

    def train_fn(train, val, fold):
        phone = phone_fn(train, val, fold)
        phone_models[fold] = phone
        n = phone.feature_config.window_samples
        # notebook 04's robust cell: the epoch is chosen on phone + random-device windows of the validation clips
        phone_val, random_val = eval_windows(val, CLASSES, n), RECIPE.random_device_windows(val, n)
        val_windows, val_labels = join_windows(phone_val, random_val)
        robust, history = train_robust(phone.model, FeatureExtractor(phone.feature_config), train, val_windows,
                                       val_labels, CLASSES, seed=RECIPE.seed, **RECIPE.robust_settings())
        return SimpleNamespace(model=robust, feature_config=phone.feature_config, class_names=CLASSES,
                               train_summary={"epochs_run": len(history),
                                              "best_epoch": int(history["val_bal_acc"].idxmax()) + 1})

    return train_fn


def run_fold(clips, folds, fold: int, args, store) -> None:
    phone_models: dict = {}
    train_fn = fold_models(TrainConfig(num_epochs=args.epochs, lr=2e-3, patience=10, seed=args.seed),
                           args.windows_per_epoch, phone_models)
    t0 = time.perf_counter()
    cv = cross_validate(clips, train_fn, class_names=CLASSES, folds=folds, only_folds=[fold], keep_models=True,
                        seed=args.seed)
    row = cv.fold_table.to_dict("records")[0]
    held = clips.take(np.flatnonzero(clips.table["source"].isin(row["held_out"]).to_numpy()))
    models = {"music-noise (phone recipe)": phone_models[fold], "music-noise-robust recipe": cv.models[0]}
    tables = []
    for device, profile in PRESETS.items():
        recorded = RECIPE.record(held, profile)
        for name, trained in models.items():
            pred = clip_predictions(trained.model, trained.feature_config, recorded, CLASSES)
            tables.append(pred.assign(device=device, model=name, fold=fold))
        print(f"fold {fold + 1}: {device} scored", flush=True)
    pd.concat(tables, ignore_index=True).to_csv(store / f"fold{fold}.csv", index=False)
    row["seconds"] = time.perf_counter() - t0
    (store / f"fold{fold}.json").write_text(json.dumps(row, indent=1, default=str))
    print(f"fold {fold + 1}/{args.folds}: {row['seconds']:.0f} s", flush=True)


def summarise(store, args, started: str) -> dict:
    predictions = pd.concat([pd.read_csv(store / f"fold{k}.csv") for k in range(args.folds)], ignore_index=True)
    rows = []
    for (model, device), group in predictions.groupby(["model", "device"], sort=False):
        m = cv_metrics(group, CLASSES, n_boot=args.n_boot, seed=args.seed)
        rows.append({"model": model, "device": device, "clips": m["n_clips"], "sources": m["n_sources"],
                     "balanced_accuracy": m["balanced_accuracy"], "ci": m["ci"]["balanced_accuracy"],
                     "music_recall": m["per_class"]["music"]["recall"],
                     "noise_recall": m["per_class"]["noise"]["recall"]})
    folds = [json.loads((store / f"fold{k}.json").read_text()) for k in range(args.folds)]
    return {"task": "music-noise-robust", "started": started,
            "date": datetime.datetime.now().isoformat(timespec="seconds"),
            "command": "python " + " ".join(sys.argv), "commit": git_commit(),
            "recipe": {"phone": f"mel_cnn, source-balanced, refit, {args.epochs} x {args.windows_per_epoch} windows",
                       "robust": {"from": "the fold's phone model", **RECIPE.robust_settings(), "seed": RECIPE.seed}},
            "held_out_devices": ["telephone", "webcam"], "training_seconds": sum(f["seconds"] for f in folds),
            "folds": folds, "table": rows}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--windows-per-epoch", type=int, default=2048)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-boot", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--only-fold", type=int, default=None, help="run this fold only; writes no summary")
    parser.add_argument("--quick", action="store_true",
                        help="notebook 04's QUICK robust budget (a smoke test; writes to results/ only with --out)")
    parser.add_argument("--out", default=None, help="result file (default results/source_cv_music-noise-robust.json)")
    args = parser.parse_args(argv)
    global RECIPE
    if args.quick:
        RECIPE = LaptopRecipe.quick()
    torch.set_num_threads(args.threads)
    started = datetime.datetime.now().isoformat(timespec="seconds")
    clips = all_clips(args.seed)
    clips = clips.take(np.flatnonzero(clips.table["class"].isin(CLASSES).to_numpy()))
    folds = source_folds(clips.table, args.folds, seed=args.seed, classes=CLASSES)
    key = hashlib.sha1(json.dumps({"epochs": args.epochs, "wpe": args.windows_per_epoch, "seed": args.seed,
                                   "folds": args.folds, "robust": RECIPE.robust_settings(),
                                   "clips": sorted(clips.table["path"])}, sort_keys=True).encode()).hexdigest()[:8]
    store = cache_dir() / "source_cv" / f"robust-{key}"
    store.mkdir(parents=True, exist_ok=True)
    for fold in [args.only_fold] if args.only_fold is not None else range(args.folds):
        if (store / f"fold{fold}.json").exists():
            print(f"fold {fold + 1}/{args.folds}: done earlier ({store.name})")
            continue
        run_fold(clips, folds, fold, args, store)
    if args.only_fold is not None:
        return
    result = summarise(store, args, started)
    if args.quick and args.out is None:
        print(pd.DataFrame(result["table"]).to_string())
        return
    path = RESULTS / "source_cv_music-noise-robust.json" if args.out is None else Path(args.out)
    path.write_text(json.dumps(result, indent=1, default=str) + "\n")
    table = pd.DataFrame(result["table"]).pivot(index="device", columns="model", values="balanced_accuracy")
    print(table.mul(100).round(1).to_string())
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
