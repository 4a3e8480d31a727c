"""Notebook 04's recipes in a clean development setup: a base model that has never heard the validation clips.

    python experiments/clean_dev.py base                 # train (once) notebook 02's recipe on the training clips only
    python experiments/clean_dev.py ft whole whole_rd    # fine-tuning variants
    python experiments/clean_dev.py robust pf_rd rd      # device-robust variants
    python experiments/clean_dev.py ft rd+whole          # fine-tuning, starting from the robust "rd" model (trained once, cached)

Why: notebook 04 starts from the bundled ``music-noise``, which notebook 02 refit on train + val, so every validation
window in notebook 04 is a recording of a clip the base model was trained on. Choosing epochs or variants on that
validation favours whatever stays closest to the base. Here the base is notebook 02's validation run (training clips
only, best validation epoch), so the validation split is truly held out, and each recipe can be judged by the score of
the epoch its own selection rule would pick ("best") and of its final epoch ("last"). The laptop, the loud-fan laptop,
a telephone line and a webcam are monitored on validation every epoch (``fit(monitor=...)``) for diagnosis; they never
pick weights. The test split is never scored. Results are appended to experiments/results/clean_dev.jsonl
(docs/experiments.md, "A clean development setup").
"""
from __future__ import annotations

import copy
import sys
import time

import numpy as np
import torch

from audioclf_lib.cache import load_splits
from audioclf_lib.config import FeatureConfig
from audioclf_lib.devices import LAPTOP, LAPTOP_LOUD_FAN, PHONE, PRESETS, RandomDevice
from audioclf_lib.features import FeatureExtractor
from audioclf_lib.finetune import finetune_for_device, train_robust
from audioclf_lib.metrics import classification_metrics
from audioclf_lib.train import predict_proba
from common import CLASSES, DEV_CACHE, RECIPE, append_result, cached_model, usage

SEED = RECIPE.seed

# Fine-tuning variants: finetune_for_device keyword arguments on top of notebook 04's whole-network recipe.
FT_VARIANTS = {
    "frozen": {"train_body": False, "lr": 1e-4},
    "whole": {"train_body": True, "lr": 1e-3},
    "whole_rd": {"train_body": True, "lr": 1e-3, "phone_transform": RandomDevice(p=0.5)},
    "whole_40": {"train_body": True, "lr": 1e-3, "num_epochs": 40},
    "whole_last": {"train_body": True, "lr": 1e-3, "keep": "last"},
    "whole_rd_last": {"train_body": True, "lr": 1e-3, "keep": "last", "phone_transform": RandomDevice(p=0.5)},
}
WISE_ALPHAS = [0.25, 0.5, 0.75]  # weight-space interpolation base -> fine-tuned, scored for every ft variant
# Robust variants: (normalization, random-device share, epochs, windows per epoch, lr); notebook 04: 16 x 2048, 1e-3.
ROBUST_VARIANTS = {
    "pf_rd": ("per_freq", 0.8, 16, 2048, 1e-3),
    "rd": ("max_db", 0.8, 16, 2048, 1e-3),
    "pf_rd_32": ("per_freq", 0.8, 32, 2048, 1e-3),
    "rd_32": ("max_db", 0.8, 32, 2048, 1e-3),
}


def interpolate_weights(start: torch.nn.Module, end: torch.nn.Module, alpha: float) -> torch.nn.Module:
    """A copy of ``end`` with every weight and BatchNorm statistic at ``(1 - alpha) * start + alpha * end``.

    Weight-space ensembling of a model and its fine-tuned version (WiSE-FT, Wortsman et al.,
    CVPR 2022), which that paper found more robust than either end for large pretrained models.
    Here it did not help (docs/experiments.md, "A clean development setup"), so it lives in this script only.
    Integer buffers (BatchNorm's batch counters) are taken from ``end``.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha={alpha}; expected a value in [0, 1]")
    a, b = start.state_dict(), end.state_dict()
    if a.keys() != b.keys() or any(a[k].shape != b[k].shape for k in a):
        raise ValueError("interpolate_weights needs two models of the same architecture")
    mixed = copy.deepcopy(end)
    mixed.load_state_dict({k: torch.lerp(a[k].to(b[k]), b[k], alpha) if b[k].is_floating_point() else b[k]
                           for k in b})
    return mixed.eval()


def validation_sets(splits, n: int) -> dict:
    """Validation windows and labels through every device of interest (clip i with generator (seed, i))."""
    devices = {"phone": PHONE, "laptop": LAPTOP, "loud_fan": LAPTOP_LOUD_FAN, "telephone": PRESETS["telephone"],
               "webcam": PRESETS["webcam"]}
    sets = {name: RECIPE.recorded_windows(splits["val"], profile, n) for name, profile in devices.items()}
    sets["random"] = RECIPE.random_device_windows(splits["val"], n)  # as notebook 04's robust validation
    return {name: (windows, table["label"].to_numpy()) for name, (windows, table) in sets.items()}


def score_sets(model, config, sets: dict) -> dict:
    """Balanced accuracy of ``model`` on every validation set."""
    extractor = FeatureExtractor(config)
    return {name: round(classification_metrics(labels, predict_proba(model, windows, extractor=extractor).argmax(1),
                                               CLASSES)["balanced_accuracy"], 4)
            for name, (windows, labels) in sets.items()}


def summarise(kind: str, name: str, history, seconds: float) -> dict:
    best = int(history["val_bal_acc"].idxmax())
    cols = [c for c in history.columns if c.endswith("_bal_acc") and c != "val_bal_acc"]
    result = {"kind": kind, "variant": name, "best_epoch": best + 1, "epochs": len(history), "seconds": round(seconds),
              "best": {"val": round(float(history["val_bal_acc"].iloc[best]), 4),
                       **{c[:-8]: round(float(history[c].iloc[best]), 4) for c in cols}},
              "last": {"val": round(float(history["val_bal_acc"].iloc[-1]), 4),
                       **{c[:-8]: round(float(history[c].iloc[-1]), 4) for c in cols}},
              "per_epoch": {c[:-8] if c != "val_bal_acc" else "val": [round(float(v), 3) for v in history[c]]
                            for c in ["val_bal_acc", *cols]}}
    write(result)
    return result


def write(result: dict) -> None:
    append_result("clean_dev", result, shown={k: v for k, v in result.items() if k != "per_epoch"})


def robust_variant(name: str, base, splits, sets):
    """A robust variant trained on from ``base`` as in notebook 04, every set monitored; (model, history)."""
    normalization, p, epochs, per_epoch, lr = ROBUST_VARIANTS[name]
    val_w = np.concatenate([sets["phone"][0], sets["random"][0]])
    val_l = np.concatenate([sets["phone"][1], sets["random"][1]])
    return train_robust(base, FeatureExtractor(FeatureConfig(normalization=normalization)), splits["train"], val_w, val_l,
                        CLASSES, device_share=p, num_epochs=epochs, windows_per_epoch=per_epoch, lr=lr, monitor=sets,
                        seed=SEED)


def robust_start(name: str, base, config, splits, sets):
    """The robust variant ``name`` (same front end as the base) as a fine-tuning start, trained once and cached."""
    if ROBUST_VARIANTS[name][0] != config.normalization:
        raise SystemExit(f"{name}: fine-tuning keeps the base's front end ({config.normalization})")

    def train():
        model, history = robust_variant(name, base, splits, sets)
        summarise("robust", name, history, 0.0)
        return model

    return cached_model(DEV_CACHE / f"robust-{name}.pt", base, train)


def main(kind: str, variants: list[str]) -> None:
    splits = load_splits(quick=False)
    base, config = RECIPE.train_only_base(splits)
    if kind == "base":
        return
    n = config.window_samples
    sets = validation_sets(splits, n)
    write({"kind": "base", "scores": score_sets(base, config, sets)})
    phone_train = RECIPE.record(splits["train"], PHONE)
    if kind == "ft":
        # 50 clips selected from the whole training split (the notebook selects them from its learning-curve pool)
        laptop_clips = RECIPE.record(RECIPE.select(splits["train"], RECIPE.ft_clips), LAPTOP)
        val_w = np.concatenate([sets["phone"][0], sets["laptop"][0]])
        val_l = np.concatenate([sets["phone"][1], sets["laptop"][1]])
        for name in variants:
            start_name, _, recipe = name.rpartition("+")
            start = robust_start(start_name, base, config, splits, sets) if start_name else base
            kwargs = {**RECIPE.finetune_settings(), **FT_VARIANTS[recipe]}
            t0 = time.perf_counter()
            tuned, history = finetune_for_device(start, FeatureExtractor(config), phone_train, laptop_clips, val_w, val_l,
                                                 CLASSES, monitor=sets, seed=SEED, **kwargs)
            summarise("ft", name, history, time.perf_counter() - t0)
            for alpha in WISE_ALPHAS:
                write({"kind": "ft_wise", "variant": name, "alpha": alpha,
                       "scores": score_sets(interpolate_weights(start, tuned, alpha), config, sets)})
    elif kind == "robust":
        for name in variants:
            normalization = ROBUST_VARIANTS[name][0]
            t0 = time.perf_counter()
            model, history = robust_variant(name, base, splits, sets)
            summarise("robust", name, history, time.perf_counter() - t0)
            if normalization == config.normalization:  # same front end as the base: the line between them works
                for alpha in WISE_ALPHAS:
                    write({"kind": "robust_wise", "variant": name, "alpha": alpha,
                           "scores": score_sets(interpolate_weights(base, model, alpha), config, sets)})
    else:
        raise SystemExit(f"unknown kind {kind!r}: base, ft or robust")


if __name__ == "__main__":
    args = usage(__doc__, sys.argv[1:], min_args=1)
    main(args[0], args[1:])
