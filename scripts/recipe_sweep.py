"""Train one music-vs-noise recipe variant and append its validation and test scores to a JSON-lines file.

    python scripts/recipe_sweep.py long wpe=4096 num_epochs=30 patience=10
    python scripts/recipe_sweep.py mels128 "fc={'n_mels': 128}"
    python scripts/recipe_sweep.py ch24 "model_kwargs={'channels': (24, 48, 96, 192)}"

Keys: ``wpe`` (windows per epoch), ``refit`` (train on train + val, keep the last epoch), ``classes``, ``model``, ``model_kwargs``, ``fc`` (FeatureConfig
fields), ``aug`` (WaveAugment fields), anything else is a TrainConfig field. Needs notebook 01's
cache. The results of the sweep behind notebook 02's recipe are in docs/experiments.md.
"""
from __future__ import annotations

import ast
import json
import sys
import time
from pathlib import Path

from audioclf_lib.augment import WaveAugment
from audioclf_lib.cache import load_splits
from audioclf_lib.config import FeatureConfig
from audioclf_lib.train import TrainConfig, train_classifier, worst_clips


def main(argv: list[str]) -> None:
    tag, options = argv[0], {k: ast.literal_eval(v) for k, v in (a.split("=", 1) for a in argv[1:])}
    classes = options.pop("classes", ["music", "noise"])
    windows_per_epoch = options.pop("wpe", 2048)
    model_kwargs = options.pop("model_kwargs", {})
    feature_config = FeatureConfig(**options.pop("fc", {}))
    augment = WaveAugment(**options.pop("aug", {}))
    model = options.pop("model", "mel_cnn")
    refit = options.pop("refit", False)  # train on train + val for every epoch, keep the last
    train_config = TrainConfig(**{"num_epochs": 20, "lr": 2e-3, "patience": 6, **options})
    t0 = time.perf_counter()
    r = train_classifier(model, classes, feature_config, load_splits(quick=False), train_config=train_config, refit=refit,
                         windows_per_epoch=windows_per_epoch, model_kwargs=model_kwargs, augment=augment, progress=False)
    window, clip = r.metrics["window"], r.metrics["clip"]
    print(r.history[["epoch", "train_loss", "val_bal_acc", "val_loss", "seconds"]].round(3).to_string())
    print(worst_clips(r.test_table, r.class_names, n=8).to_string())
    result = {"tag": tag, "args": argv[1:], "best_epoch": int(r.history["val_bal_acc"].idxmax()) + 1,
              "val": float(r.history["val_bal_acc"].max()), "test_bal": window["balanced_accuracy"],
              "clip_bal": clip["balanced_accuracy"], "n": window["n"], "confusion": window["confusion"],
              "minutes": (time.perf_counter() - t0) / 60}
    print(json.dumps(result))
    with Path("recipe_sweep.jsonl").open("a") as f:
        f.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
