"""accuracy on a folder with one subfolder per class"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .common import UsageError, add_model_options, load_predictor

__all__ = ["add_arguments", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add the options of ``audioclf evaluate`` to ``p``: the folder and the model options.

    Command line: audioclf evaluate

    Parameters
    ----------
    p : argparse.ArgumentParser
        The subcommand's parser (:func:`audioclf_lib.cli.build_parser`).
    """
    p.add_argument("dir", help="folder with music/, speech/, noise/ subfolders (classes the model lacks are ignored)")
    add_model_options(p)
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")


def run(args: argparse.Namespace) -> int:
    """Run ``audioclf evaluate`` on the ``args`` that :func:`add_arguments` defines.

    Command line: audioclf evaluate

    Returns
    -------
    int
        Exit status: 0, or 1 when no file could be classified.

    Raises
    ------
    UsageError
        Bad arguments (exit status 2 through :func:`audioclf_lib.cli.main`).
    """
    import numpy as np

    from ..audio import AudioError
    from ..data import scan_corpus
    from ..metrics import classification_metrics

    predictor = load_predictor(args.model, args.device, args.backend)
    root = Path(args.dir)
    if not root.is_dir():
        raise UsageError(f"{root}: no such folder (expected one subfolder per class: {', '.join(predictor.class_names)})")
    try:
        pairs, notes = scan_corpus(root, predictor.class_names)
    except ValueError as exc:
        raise UsageError(f"{exc}; this model knows {predictor.class_names}") from None
    y_true, y_pred, problems = [], [], []
    for cls, path in pairs:
        try:
            label, _ = predictor.classify_file(path, window_seconds=args.window, hop_seconds=args.hop)
        except AudioError as exc:
            problems.append(str(exc))
            continue
        if label == "silence":
            problems.append(f"{path}: every window is below the silence gate ({predictor.silence_dbfs:g} dBFS)")
            continue
        y_true.append(predictor.class_names.index(cls))
        y_pred.append(predictor.class_names.index(label))
    for line in problems:
        print(f"skipped {line}", file=sys.stderr)
    if not y_true:
        print("no file could be classified", file=sys.stderr)
        return 1
    m = classification_metrics(np.array(y_true), np.array(y_pred), predictor.class_names)
    print(f"model {predictor.name} ({predictor.model_name}) on {root}: {m['n']} files, {len(problems)} skipped")
    print(f"accuracy {m['accuracy']:.4f} | balanced accuracy {m['balanced_accuracy']:.4f} | macro-F1 {m['macro_f1']:.4f}")
    for name, pc in m["per_class"].items():
        print(f"  {name:>8}: recall {pc['recall']:.4f}  precision {pc['precision']:.4f}  n={pc['support']}")
    width = max(len(c) for c in predictor.class_names) + 2
    print("confusion (rows true, columns predicted):")
    print(" " * width + "".join(f"{c:>{width}}" for c in predictor.class_names))
    for name, row in zip(predictor.class_names, m["confusion"]):
        print(f"{name:>{width}}" + "".join(f"{v:>{width}}" for v in row))
    if args.json:
        print(json.dumps({"model": predictor.name, "dir": str(root), "skipped": len(problems), **m}))
    return 0
