"""Command line: ``python -m audioclf_lib {models,classify,evaluate,record,finetune,...}`` (also installed as ``audioclf``).

Every command goes through the same :class:`~audioclf_lib.predict.Predictor` as the notebooks and
the live demo. A bad file is reported on stderr with its reason and the batch goes on; the exit
status is 1 when any input failed, 2 for usage errors (unknown model, missing folder).
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main", "collect_audio_files"]


class UsageError(Exception):
    """Bad arguments: printed as one line, exit status 2."""


def collect_audio_files(paths: Sequence[str | Path]) -> tuple[list[Path], list[str]]:
    """Files and folders (searched recursively) -> audio files, plus notes on paths that do not exist."""
    from .audio import AUDIO_EXTENSIONS

    files, missing = [], []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(f for f in p.rglob("*") if f.suffix.lower() in AUDIO_EXTENSIONS and f.is_file())
        elif p.exists() or p.is_symlink():
            files.append(p)
        else:
            missing.append(f"{p}: no such file or folder")
    return files, missing


def _predictor(name: str, device: str | None, backend: str = "auto"):
    from .checkpoint import CheckpointError
    from .predict import Predictor

    try:
        return Predictor(name, device=device, backend=backend)
    except CheckpointError as exc:
        raise UsageError(str(exc)) from None


def cmd_models(args: argparse.Namespace) -> int:
    import pandas as pd

    from .checkpoint import CheckpointError, bundled_checkpoints, load_checkpoint
    from .models import count_parameters

    rows = []
    for name, path in bundled_checkpoints().items():
        try:
            ckpt = load_checkpoint(path)
        except CheckpointError as exc:
            rows.append({"name": name, "model": f"UNUSABLE: {exc}"})
            continue
        test = ckpt.metrics.get("test", {}).get("window", {})
        rows.append({"name": name, "model": ckpt.model_name, "classes": "/".join(ckpt.class_names),
                     "features": ckpt.feature_config.representation + ("+per_freq" if ckpt.feature_config.normalization == "per_freq" else ""),
                     "params": count_parameters(ckpt.model), "MiB": round(path.stat().st_size / 2**20, 2),
                     "test bal.acc": test.get("balanced_accuracy"), "test macro-F1": test.get("macro_f1")})
    if not rows:
        print("no bundled checkpoints: run notebooks 02-04 (make reproduce)")
        return 1
    table = pd.DataFrame(rows)
    if args.json:
        print(table.to_json(orient="records"))
    else:
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return 0


def cmd_classify(args: argparse.Namespace) -> int:
    import pandas as pd

    from .audio import AudioError

    predictor = _predictor(args.model, args.device, args.backend)
    files, problems = collect_audio_files(args.paths)
    tables = []
    for path in files:
        try:
            tables.append(predictor.predict_file(path, window_seconds=args.window, hop_seconds=args.hop))
        except AudioError as exc:
            problems.append(str(exc))
    for line in problems:
        print(f"skipped {line}", file=sys.stderr)
    if not tables:
        print("nothing classified", file=sys.stderr)
        return 1
    table = pd.concat(tables, ignore_index=True)
    if args.csv:
        table.to_csv(args.csv, index=False)
    print(table.to_string(index=False, max_rows=args.max_rows, float_format=lambda v: f"{v:.3f}"))
    print(f"{len(tables)} file(s) classified, {len(table)} segment(s), {len(problems)} problem(s)", file=sys.stderr)
    return 1 if problems else 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    import numpy as np

    from .audio import AudioError
    from .data import scan_corpus
    from .metrics import classification_metrics

    predictor = _predictor(args.model, args.device, args.backend)
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
        y_true.append(predictor.class_names.index(cls))
        y_pred.append(predictor.class_names.index(label))
    for line in problems:
        print(f"skipped {line}", file=sys.stderr)
    if not y_true:
        print("no file could be classified", file=sys.stderr)
        return 1
    m = classification_metrics(np.array(y_true), np.array(y_pred), predictor.class_names)
    print(f"model {predictor.name} ({predictor.checkpoint.model_name}) on {root}: {m['n']} files, {len(problems)} skipped")
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


def cmd_record(args: argparse.Namespace) -> int:
    from .devices import devices_dir
    from .recorder import (RecorderError, check_folder_name, count_clips, device_folder, input_device_status,
                           record_clips)

    if args.input is not None and args.input.isdigit():
        args.input = int(args.input)  # a device index, as `python -m sounddevice` lists them
    available, why = input_device_status(args.input)
    if not available:
        print(f"error: cannot record: {why}", file=sys.stderr)
        return 1
    try:
        folder = device_folder(Path(args.root) if args.root else devices_dir(), args.name)
        target = folder / check_folder_name(args.class_name, "class_name")
        print(f"recording {args.clips} clip(s) of {args.seconds:g} s of {args.class_name!r} from {why} into "
              f"{target} (Ctrl-C stops; the clips already written stay)", flush=True)
        record_clips(args.clips, folder, args.class_name, seconds=args.seconds, sr=args.sr, device=args.input,
                     on_progress=lambda k, n, path: print(f"  {k}/{n} {path}", flush=True))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    except RecorderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    counts = count_clips(folder, [d.name for d in sorted(folder.iterdir()) if d.is_dir()])
    print(f"{folder} now holds {counts}; when every class has a few clips: python -m audioclf_lib finetune {folder}")
    return 0


def _corpus_splits(sample_rate: int) -> dict:
    """The corpus splits notebook 01 prepares, prepared here once if it has not run (about a minute)."""
    from .cache import load_splits, prepare_splits
    from .config import quick_mode

    try:
        return load_splits(sample_rate, quick=quick_mode())
    except FileNotFoundError:
        print("preparing the corpus' splits once (notebook 01's step, about a minute) ...", file=sys.stderr)
        return prepare_splits(sample_rate=sample_rate, quick=quick_mode(), progress=False)[0]


def cmd_finetune(args: argparse.Namespace) -> int:
    import numpy as np
    import pandas as pd

    from .checkpoint import bundled_checkpoints, load_checkpoint, resolve_checkpoint
    from .devices import devices_dir, load_device_clips
    from .features import FeatureExtractor
    from .finetune import finetune_on_recordings, save_device_checkpoint
    from .train import evaluate_windows
    from .windows import eval_windows

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
                           train_summary={"recipe": "finetune_on_recordings (python -m audioclf_lib finetune)",
                                          "base": args.base, "device_folder": str(folder), "clips": counts.to_dict(),
                                          "held_out_clips": len(result.held_out_clips), "num_epochs": args.epochs,
                                          "lr": args.lr, "windows_per_epoch": args.windows_per_epoch,
                                          "train_body": not args.frozen_body, "seed": args.seed,
                                          "best_epoch": int(np.argmax(best.to_numpy())) + 1,
                                          "val_bal_acc": float(best.max())})
    print(f"saved {out}; use it with: python -m audioclf_lib classify --model {out} FILE")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m audioclf_lib", description="Music / speech / noise classification.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("models", help="list the bundled checkpoints with their classes and metrics")
    p.add_argument("--json", action="store_true", help="print JSON records")
    p.set_defaults(func=cmd_models)

    def model_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--model", default="music-speech-noise", help="bundled name (see `models`) or checkpoint path")
        p.add_argument("--window", type=float, default=None, help="window length in seconds (default: the model's, 5 s)")
        p.add_argument("--hop", type=float, default=None, help="hop between windows in seconds (default: the window)")
        p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when present)")
        p.add_argument("--backend", default="auto", choices=["auto", "torch", "onnx"],
                       help="who runs the model: auto = ONNX Runtime on the CPU when installed, else torch")

    p = sub.add_parser("classify", help="classify files or folders, one row per window")
    p.add_argument("paths", nargs="+", help="audio files or folders")
    model_options(p)
    p.add_argument("--csv", type=Path, help="also write the table to this CSV file")
    p.add_argument("--max-rows", type=int, default=60, help="rows printed (the CSV has all)")
    p.set_defaults(func=cmd_classify)

    p = sub.add_parser("evaluate", help="accuracy on a folder with one subfolder per class")
    p.add_argument("dir", help="folder with music/, speech/, noise/ subfolders (classes the model lacks are ignored)")
    model_options(p)
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("record", help="record labelled clips from a microphone into data/devices/<name>/<class>/")
    p.add_argument("name", help="a name for your device, e.g. my-laptop (becomes the folder name)")
    p.add_argument("--class", dest="class_name", required=True, help="what you are recording: music, noise, speech")
    p.add_argument("--clips", type=int, default=10, help="clips to record, back to back (default 10)")
    p.add_argument("--seconds", type=float, default=5.0, help="length of each clip (default 5, the models' window)")
    p.add_argument("--input", default=None, help="input device name or index (default: the system's default microphone)")
    p.add_argument("--sr", type=int, default=16_000, help="sample rate to record at (default 16000)")
    p.add_argument("--root", help="where device folders live (default: $AUDIOCLF_DEVICES or data/devices)")
    p.set_defaults(func=cmd_record)

    p = sub.add_parser("finetune", help="fine-tune a model on recordings of your own microphone (<folder>/<class>/*.wav)")
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
    p.set_defaults(func=cmd_finetune)

    for name, module in (("bench", "bench"), ("export-onnx", "onnx_export")):
        try:
            mod = __import__(f"audioclf_lib.{module}", fromlist=["add_arguments"])
        except ImportError:
            continue
        p = sub.add_parser(name, help=mod.__doc__.splitlines()[0] if mod.__doc__ else name)
        mod.add_arguments(p)
        p.set_defaults(func=mod.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from .checkpoint import CheckpointError

    try:
        return int(args.func(args) or 0)
    except (UsageError, CheckpointError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
