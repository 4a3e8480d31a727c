"""Source-held-out cross-validation of the bundled models' recipes: how their training does on sources it never heard.

    AUDIOCLF_DATA=data/cache/corpus/v2 python experiments/source_cv.py --task music-noise --variant source-balance --headline
    AUDIOCLF_DATA=data/cache/corpus/v2 python experiments/source_cv.py --task music-speech-3d --variant source-balance --headline
    python experiments/source_cv.py --task music-noise --only-fold 0 --epochs 1   # time one fold
    python experiments/source_cv.py --task music-speech-noise --epochs 8 --windows-per-epoch 2048 --variant reverb

The recipe is notebook 02's (:data:`TASKS`; notebook 03's for ``music-speech-3d``): ``mel_cnn`` on the default
log-mel front end, 30 epochs of 4096 random 5-s windows, AdamW 2e-3, patience 10, seed 0. Both are refit on their
training + validation sources for all epochs (last epoch kept; ``music-speech-noise`` kept its best validation epoch
until 2026-12-01, when ``--variant source-balance-refit`` scored 88.9 % against 86.0 %). Each of the ``--folds``
folds holds out whole sources (``crossval.source_folds``) and trains on the others; validation is carved from
the training sources, also by whole sources. Clip decision: mean of the window probabilities.

Writes ``experiments/results/source_cv_<task>.json``: the recipe, the command and date, the folds, the summary
(balanced accuracy, macro-F1, per-class recall with 95 % bootstrap intervals over clips, and over sources), the
per-source table worst first, every clip's prediction, and the bundled checkpoint's in-source test scores
(``load_checkpoint(task).metrics``) for comparison. Each finished fold is kept under
``data/cache/source_cv/`` so an interrupted run resumes; ``--only-fold`` runs write only there.

``--variant`` trains one of the ablation's variants (:data:`VARIANTS`: each augmentation alone, all of them, mixup,
source-balanced sampling, a wider network) and writes ``experiments/results/ablation/`` instead;
``experiments/ablation_table.py`` puts those files side by side.
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from audioclf_lib.cache import load_splits, prepare_splits
from audioclf_lib.checkpoint import load_checkpoint
from audioclf_lib.config import REPO_ROOT, FeatureConfig, cache_dir
from audioclf_lib.crossval import (cross_validate, cv_metrics, per_fold_table, per_source_table, recipe_train_fn,
                                   source_folds)
from audioclf_lib.augment import WaveAugment
from audioclf_lib.data import ClipSet
from audioclf_lib.train import TrainConfig

#: The bundled models' recipes: notebook 02's two ``mel_cnn`` models (30 epochs of 4096 windows, refit on train +
#: val) and notebook 03's ``small_cnn3d`` on the binned colour representation (8 epochs of 512).
TASKS = {
    "music-noise": {"classes": ["music", "noise"], "refit": True, "model": "mel_cnn",
                    "features": FeatureConfig(), "epochs": 30, "windows": 4096},
    "music-speech-noise": {"classes": ["music", "speech", "noise"], "refit": True, "model": "mel_cnn",
                           "features": FeatureConfig(), "epochs": 30, "windows": 4096},
    "music-speech-3d": {"classes": ["music", "speech"], "refit": False, "model": "small_cnn3d",
                        "features": FeatureConfig(representation="binned3d", image_size=(64, 64), n_bins=10),
                        "epochs": 8, "windows": 512},
}

#: The ablation's training variants (``--variant``): what each changes from the "baseline", notebook 02's recipe as it
#: was when the ablation ran (windows balanced over clips). ``source-balance`` won and is notebook 02's recipe since
#: 2026-12-01: its headline runs are ``--variant source-balance --headline`` (``music-speech-noise``:
#: ``source-balance-refit``; ``music-speech-3d``: ``source-balance`` too, adopted the same day).
VARIANTS = {
    "baseline": {},
    "reverb": {"augment": WaveAugment(p_reverb=0.3)},
    "eq": {"augment": WaveAugment(p_eq=0.3)},
    "codec": {"augment": WaveAugment(p_codec=0.3)},
    "mixup": {"mixup_alpha": 0.4},
    "source-balance": {"balance": "source"},
    "robust": {"augment": WaveAugment.robust()},
    "all": {"augment": WaveAugment.robust(), "mixup_alpha": 0.4, "balance": "source"},
    "wide": {"model_kwargs": {"channels": (24, 48, 96, 192)}},
    "wide-source-balance": {"model_kwargs": {"channels": (24, 48, 96, 192)}, "balance": "source"},
    # speed perturbation (tempo and pitch x 0.9-1.1) on top of the chosen recipe
    "speed-source-balance": {"speed_range": (0.9, 1.1), "balance": "source"},
    # keep the last epoch of a run on training + validation sources (music-noise's way) instead of the best
    # validation epoch: with whole sources as validation, a few sources decide the epoch
    "source-balance-refit": {"balance": "source", "refit": True},
    # the refit alone (music-speech-3d's windows stay balanced over clips)
    "refit": {"refit": True},
    # corpus v1 vs v2: each fold trains only on its training sources that data/starter (v1) also has; the
    # held-out clips are the same as for the other variants
    "v1-sources": {"only_v1_sources": True},
}


def v1_sources() -> set[str]:
    """The sources of corpus v1 (``data/starter`` until it was rebuilt from corpus v2), listed in ``v1_sources.txt``."""
    lines = (Path(__file__).parent / "v1_sources.txt").read_text().splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def only_sources(train_fn, sources: set[str]):
    """``train_fn`` on the clips of ``sources`` only (training and validation)."""
    def restricted(train: ClipSet, val: ClipSet, fold: int):
        keep = [train.take(np.flatnonzero(c.table["source"].isin(sources).to_numpy())) for c in (train, val)]
        return train_fn(*keep, fold)
    return restricted
RESULTS = REPO_ROOT / "experiments" / "results"


def _plain(value):
    """JSON for numpy scalars (``json.dumps(default=...)``)."""
    return value.item() if hasattr(value, "item") else str(value)


def all_clips(seed: int) -> ClipSet:
    """Every decoded clip of the corpus: notebook 01's three splits joined (prepared here if 01 has not run)."""
    try:
        splits = load_splits(seed=seed)
    except FileNotFoundError:
        splits, _, _ = prepare_splits(seed=seed, progress=False)
    return ClipSet.concat(splits["train"], splits["val"], splits["test"])


def in_source_scores(task: str, n_boot: int, seed: int) -> dict:
    """The bundled checkpoint's stored test metrics (notebook 02's split, grouped by original recording).

    The clip-level interval resamples the stored clip confusion matrix: one (true, predicted) pair per clip is
    all a clip bootstrap needs.
    """
    checkpoint = load_checkpoint(task)
    test = checkpoint.metrics["test"]
    names = checkpoint.class_names
    cm = np.asarray(test["clip"]["confusion"])
    pairs = [(names[t], names[p]) for t in range(len(names)) for p in range(len(names)) for _ in range(cm[t, p])]
    clip_ci = cv_metrics(pd.DataFrame(pairs, columns=["class", "predicted"]), names, n_boot=n_boot, seed=seed)["ci"]
    keep = ("n", "accuracy", "balanced_accuracy", "macro_f1")
    return {"checkpoint": task, "what": "bundled checkpoint's test split of notebook 02 (grouped by original recording, "
                                        "sources shared with training)",
            "trained_on": checkpoint.train_summary.get("trained_on"),
            **{level: {**{k: test[level][k] for k in keep},
                       "recall": {c: v["recall"] for c, v in test[level]["per_class"].items()}}
               for level in ("window", "clip")},
            "clip_ci": clip_ci}


def git_commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "audioclf_lib", "experiments/source_cv.py"],
                               cwd=REPO_ROOT, capture_output=True, text=True).stdout.strip()
        return head + (" (with uncommitted changes in audioclf_lib or this script)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def run_task(task: str, args: argparse.Namespace, clips: ClipSet, started: str, commit: str) -> dict | None:
    spec = TASKS[task]
    classes, refit, feature_config, model_name = spec["classes"], spec["refit"], spec["features"], spec["model"]
    epochs = args.epochs or spec["epochs"]
    windows_per_epoch = args.windows_per_epoch or spec["windows"]
    variant = VARIANTS[args.variant]
    refit = variant.get("refit", refit)
    train_seed = args.seed if args.train_seed is None else args.train_seed
    train_config = TrainConfig(num_epochs=epochs, lr=2e-3, patience=10, seed=train_seed,
                               mixup_alpha=variant.get("mixup_alpha", 0.0))
    model_kwargs = variant.get("model_kwargs", {})
    augment, balance = variant.get("augment"), variant.get("balance", "clip")
    speed_range = variant.get("speed_range")
    train_sources = v1_sources() if variant.get("only_v1_sources") else None
    recipe = {"model": model_name, "model_kwargs": model_kwargs, "feature_config": feature_config.to_dict(),
              "train_config": asdict(train_config), "windows_per_epoch": windows_per_epoch, "refit": refit,
              **({"variant": args.variant} if args.variant != "baseline" else {}),
              **({"augment": asdict(augment)} if augment is not None else {}),
              **({"balance": balance} if balance != "clip" else {}),
              **({"speed_range": list(speed_range)} if speed_range is not None else {}),
              **({"train_sources": sorted(train_sources)} if train_sources is not None else {}),
              "n_folds": args.folds, "fold_seed": args.seed, "val_fraction": args.val_fraction,
              "torch_threads": torch.get_num_threads(), "torch": torch.__version__}
    # mixup_alpha joined TrainConfig after the first runs: left out of the key at 0 so their folds still count
    keyed = {**recipe, "train_config": {k: v for k, v in recipe["train_config"].items()
                                        if not (k == "mixup_alpha" and v == 0.0)}}
    key = hashlib.sha1(json.dumps({**keyed, "clips": sorted(clips.table["path"])}, sort_keys=True,
                                  default=_plain).encode()).hexdigest()[:8]
    store = cache_dir() / "source_cv" / f"{task}-{key}"
    store.mkdir(parents=True, exist_ok=True)
    keep = clips.table["class"].isin(classes).to_numpy()
    folds = source_folds(clips.table[keep], args.folds, seed=args.seed, classes=classes)
    train_fn = recipe_train_fn(model_name, classes, feature_config, train_config=train_config,
                               windows_per_epoch=windows_per_epoch, model_kwargs=model_kwargs, refit=refit,
                               augment=augment, balance=balance, speed_range=speed_range, progress=False)
    if train_sources is not None:
        train_fn = only_sources(train_fn, train_sources)
    todo = [args.only_fold] if args.only_fold is not None else range(args.folds)
    for fold in todo:
        if (store / f"fold{fold}.json").exists():
            print(f"{task} fold {fold + 1}/{args.folds}: done earlier ({store.name})")
            continue
        cv = cross_validate(clips, train_fn, class_names=classes, folds=folds, only_folds=[fold],
                            val_fraction=args.val_fraction, seed=args.seed)
        row = cv.fold_table.to_dict("records")[0]
        cv.predictions.to_csv(store / f"fold{fold}.csv", index=False)
        (store / f"fold{fold}.json").write_text(json.dumps(row, indent=1, default=_plain))
        print(f"{task} fold {fold + 1}/{args.folds}: {row['epochs_run']} epochs, {row['seconds']:.0f} s", flush=True)
    if args.only_fold is not None:
        return None
    rows = [json.loads((store / f"fold{k}.json").read_text()) for k in range(args.folds)]
    predictions = pd.concat([pd.read_csv(store / f"fold{k}.csv") for k in range(args.folds)], ignore_index=True)
    summary = {resample: cv_metrics(predictions, classes, resample=resample, n_boot=args.n_boot, seed=args.seed)
               for resample in ("clip", "source")}
    per_fold = per_fold_table(predictions, classes)
    for row, (_, scores) in zip(rows, per_fold.iterrows()):
        row.update({k: scores[k] for k in ("balanced_accuracy", "macro_f1")})
    cuts = [] if (epochs, windows_per_epoch) == (spec["epochs"], spec["windows"]) else \
        [f"{epochs} epochs of {windows_per_epoch} windows (the notebook: {spec['epochs']} of {spec['windows']})"]
    return {"task": task, "variant": args.variant, "classes": classes, "started": started,
            "date": datetime.datetime.now().isoformat(timespec="seconds"),
            "command": "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]), "commit": commit,
            "recipe": recipe, "cuts_from_notebook_02": cuts,
            "clip_decision": "mean of the 5-s window probabilities over the clip (train.evaluate_windows), argmax",
            "training_seconds": float(sum(r["seconds"] for r in rows)),
            "folds": rows, "summary": summary,
            "in_source": in_source_scores(task, args.n_boot, args.seed),
            "per_source": per_source_table(predictions).to_dict("records"),
            "predictions": predictions.to_dict("records")}


def report(result: dict) -> str:
    s, ins = result["summary"]["clip"], result["in_source"]["clip"]
    lines = [f"{result['task']}: source-held-out, {s['n_clips']} clips of {s['n_sources']} sources, "
             f"{len(result['folds'])} folds ({result['training_seconds'] / 60:.1f} min of training)"]
    for metric in ("balanced_accuracy", "macro_f1", "accuracy"):
        low, high = s["ci"][metric]
        lo_s, hi_s = result["summary"]["source"]["ci"][metric]
        lines.append(f"  {metric:17s} {s[metric]:.3f}  95% CI clips [{low:.3f}, {high:.3f}]  sources [{lo_s:.3f}, {hi_s:.3f}]"
                     f"   | in-source test (clips) {ins[metric] if metric in ins else float('nan'):.3f}")
    lines.append("  recall: " + ", ".join(f"{c} {v['recall']:.3f} [{s['ci']['recall'][c][0]:.3f}, {s['ci']['recall'][c][1]:.3f}]"
                                          f" (in-source {ins['recall'][c]:.3f})" for c, v in s["per_class"].items()))
    worst = pd.DataFrame(result["per_source"]).head(8)
    lines.append(worst.round(3).to_string(index=False))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", choices=[*TASKS, "all"], default="all")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=None, help="default: the task's notebook recipe")
    parser.add_argument("--windows-per-epoch", type=int, default=None, help="default: the task's notebook recipe")
    parser.add_argument("--val-fraction", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-boot", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--only-fold", type=int, default=None, help="run this fold only (timing); writes no result file")
    parser.add_argument("--variant", choices=VARIANTS, default="baseline",
                        help="a training variant of the ablation (default: notebook 02's recipe)")
    parser.add_argument("--train-seed", type=int, default=None,
                        help="seed of the training alone (weights, windows, augmentation); default --seed, which "
                             "also draws the folds: another --train-seed keeps the folds and shows the seed spread")
    parser.add_argument("--ablation", action="store_true",
                        help="write to results/ablation/ (implied by --variant) instead of the headline result file")
    parser.add_argument("--headline", action="store_true",
                        help="write the headline result file (results/source_cv_<task>.json) whatever the variant: "
                             "the bundled models' recipe is the source-balance variant")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    started, commit = datetime.datetime.now().isoformat(timespec="seconds"), git_commit()  # what the run imports
    t0 = time.perf_counter()
    clips = all_clips(args.seed)
    print(f"{len(clips)} clips decoded or loaded in {time.perf_counter() - t0:.0f} s", flush=True)
    for task in TASKS if args.task == "all" else [args.task]:
        result = run_task(task, args, clips, started, commit)
        if result is None:
            continue
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"source_cv_{task}.json"  # the headline run
        if not args.headline and (args.ablation or args.variant != "baseline"):
            seed = "" if args.train_seed in (None, args.seed) else f"_seed{args.train_seed}"
            budget = f"{result['recipe']['train_config']['num_epochs']}x{result['recipe']['windows_per_epoch']}"
            path = RESULTS / "ablation" / f"source_cv_{task}_{args.variant}_{budget}{seed}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=1, default=_plain) + "\n")
        print(report(result))
        print(f"wrote {path.relative_to(REPO_ROOT)}", flush=True)


if __name__ == "__main__":
    main()
