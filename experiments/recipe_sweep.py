"""Train one music-vs-noise recipe variant and append its validation and test scores to a JSON-lines file.

    python experiments/recipe_sweep.py long wpe=4096 num_epochs=30 patience=10
    python experiments/recipe_sweep.py mels128 "fc={'n_mels': 128}"
    python experiments/recipe_sweep.py ch24 "model_kwargs={'channels': (24, 48, 96, 192)}"

Keys: ``wpe`` (windows per epoch), ``refit`` (train on train + val, keep the last epoch), ``classes``, ``model``, ``model_kwargs``, ``fc`` (FeatureConfig
fields), ``aug`` (WaveAugment fields), anything else is a TrainConfig field. Needs notebook 01's
cache. Appends a JSON line to experiments/results/recipe_sweep.jsonl; the sweep behind notebook 02's recipe is in
docs/experiments.md ("The recipe sweep").
"""
from __future__ import annotations

import sys
import time

from audioclf_lib.augment import WaveAugment
from audioclf_lib.cache import load_splits
from audioclf_lib.config import FeatureConfig
from audioclf_lib.train import TrainConfig, train_classifier, worst_clips
from common import append_result, parse_options, usage


def main(argv: list[str]) -> None:
    tag, options = argv[0], parse_options(argv[1:])
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
    append_result("recipe_sweep", result)


if __name__ == "__main__":
    main(usage(__doc__, sys.argv[1:], min_args=1))
