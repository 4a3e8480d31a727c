"""fine-tune a model on recordings of your own microphone (<folder>/<class>/*.wav)"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import UsageError

__all__ = ["add_arguments", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add the options of ``audioclf finetune`` to ``p``: recordings folder, base model, training.

    Command line: audioclf finetune

    Parameters
    ----------
    p : argparse.ArgumentParser
        The subcommand's parser (:func:`audioclf_lib.cli.build_parser`).
    """
    p.add_argument("folder", help="folder with one subfolder per class of the base model, or a device name under "
                                  "data/devices/ (what notebook 04's recorder writes)")
    p.add_argument("--base", default="music-noise", help="bundled name or checkpoint path to start from")
    p.add_argument("--out", help="checkpoint to write (default: <folder>/<base>-<folder name>.pt)")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.add_argument("--epochs", type=int, default=20, help="epochs (notebook 04: 20)")
    p.add_argument("--windows-per-epoch", type=int, default=512, help="training windows per epoch (notebook 04: 512)")
    p.add_argument("--lr", type=float, default=1e-3, help="learning rate (notebook 04 chose 1e-3 for the whole network)")
    p.add_argument("--frozen-body", action="store_true", help="the seed's recipe: train the head only (then try --lr 1e-4)")
    p.add_argument("--hold-out-every", type=int, default=4, help="hold out every Nth clip to check the result (default 4)")
    p.add_argument("--min-clips", type=int, default=4, help="usable clips needed per class (default 4)")
    p.add_argument("--seed", type=int, default=0)


def _corpus_splits(sample_rate: int) -> dict:
    """The corpus splits notebook 01 prepares, prepared here once if it has not run (about a minute)."""
    from ..cache import load_splits, prepare_splits
    from ..config import quick_mode

    try:
        return load_splits(sample_rate, quick=quick_mode())
    except FileNotFoundError:
        print("preparing the corpus' splits once (notebook 01's step, about a minute) ...", file=sys.stderr)
        return prepare_splits(sample_rate=sample_rate, quick=quick_mode(), progress=False)[0]


def run(args: argparse.Namespace) -> int:
    """Run ``audioclf finetune`` on the ``args`` that :func:`add_arguments` defines.

    Command line: audioclf finetune

    Returns
    -------
    int
        Exit status: 0 when the checkpoint was written.

    Raises
    ------
    UsageError
        Bad arguments (exit status 2 through :func:`audioclf_lib.cli.main`).
    """
    import numpy as np
    import pandas as pd

    from ..checkpoint import bundled_checkpoints, load_checkpoint, resolve_checkpoint
    from ..devices import devices_dir, load_device_clips
    from ..features import FeatureExtractor
    from ..finetune import finetune_on_recordings, save_device_checkpoint
    from ..train import evaluate_windows
    from ..windows import eval_windows

    if args.epochs < 1 or args.lr <= 0 or args.windows_per_epoch < 32:
        raise UsageError("--epochs must be >= 1, --lr > 0 and --windows-per-epoch >= 32 (one batch)")
    if args.hold_out_every < 2 or args.min_clips < args.hold_out_every:
        raise UsageError(f"--hold-out-every must be >= 2 and --min-clips >= it (every class keeps a clip out and some "
                         f"for training); got {args.hold_out_every} and {args.min_clips}")
    folder = Path(args.folder)
    if not folder.is_dir() and (devices_dir() / args.folder).is_dir():
        folder = devices_dir() / args.folder  # a device name: data/devices/<name>/
    base_path = resolve_checkpoint(args.base)
    base = load_checkpoint(base_path)
    classes, config = base.class_names, base.feature_config
    out = Path(args.out) if args.out else folder / f"{base_path.stem}-{folder.name}.pt"
    if out.resolve() in {p.resolve() for p in bundled_checkpoints().values()}:
        raise UsageError(f"{out} is a bundled checkpoint: choose another --out")
    if out.exists() and not args.force:
        raise UsageError(f"{out} exists: pass --force to replace it, or choose another --out")
    try:
        device_clips = load_device_clips(folder, classes, sr=config.sample_rate)
    except (FileNotFoundError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    counts = device_clips.table["class"].value_counts().reindex(classes, fill_value=0)
    if counts.min() < args.min_clips:
        raise UsageError(f"{folder}: {counts.to_dict()} usable clips; every class of {args.base} needs at least "
                         f"{args.min_clips} (one in {args.hold_out_every} is held out to check the result)")
    splits = _corpus_splits(config.sample_rate)
    extractor = FeatureExtractor(config)
    n = config.window_samples
    val_windows, val_table = eval_windows(splits["val"], classes, n)
    print(f"fine-tuning {args.base} on {folder}: {counts.to_dict()} clips (every {args.hold_out_every}th held out), "
          f"{args.epochs} x {args.windows_per_epoch} windows, {'frozen body' if args.frozen_body else 'whole network'}",
          file=sys.stderr)
    result = finetune_on_recordings(base.model.eval(), extractor, splits["train"], val_windows, val_table["label"],
                                    device_clips, classes, hold_out_every=args.hold_out_every, num_epochs=args.epochs,
                                    lr=args.lr, windows_per_epoch=args.windows_per_epoch, train_body=not args.frozen_body,
                                    seed=args.seed)
    scored = {"held_out": eval_windows(result.held_out_clips, classes, n), "test": eval_windows(splits["test"], classes, n)}
    metrics = {}  # "held_out", "test": the fine-tuned model; "held_out_base", "test_base": the base, for comparison
    for suffix, model in (("_base", base.model.eval()), ("", result.model)):
        for key, (windows, table) in scored.items():
            metrics[key + suffix] = {"window": evaluate_windows(model, extractor, windows, table, classes)[0]["window"]}
    accuracy = {key: metrics[key]["window"]["accuracy"] for key in metrics}
    print(pd.DataFrame({"your clips held out of training": [accuracy["held_out_base"], accuracy["held_out"]],
                        "corpus test split": [accuracy["test_base"], accuracy["test"]]}, index=["base", "fine-tuned"])
          .to_string(float_format=lambda v: f"{v:.3f}"))
    if accuracy["held_out"] <= accuracy["held_out_base"]:
        print(f"note: on your held-out clips the base model does as well ({accuracy['held_out_base']:.3f}); with "
              f"{len(result.held_out_clips)} held-out clips that is weak evidence either way: record more, or keep "
              f"using {args.base}")
    best = result.history["val_bal_acc"]
    save_device_checkpoint(out, result.model, base, metrics=metrics,
                           train_summary={"recipe": "finetune_on_recordings (audioclf finetune)",
                                          "base": args.base, "device_folder": str(folder), "clips": counts.to_dict(),
                                          "held_out_clips": len(result.held_out_clips), "num_epochs": args.epochs,
                                          "lr": args.lr, "windows_per_epoch": args.windows_per_epoch,
                                          "train_body": not args.frozen_body, "seed": args.seed,
                                          "best_epoch": int(np.argmax(best.to_numpy())) + 1,
                                          "val_bal_acc": float(best.max())})
    print(f"saved {out}; use it with: audioclf classify --model {out} FILE")
    return 0
