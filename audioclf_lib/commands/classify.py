"""classify files or folders, one row per window"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import add_model_options, collect_audio_files, load_predictor

__all__ = ["add_arguments", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", help="audio files or folders")
    add_model_options(p)
    p.add_argument("--csv", type=Path, help="also write the table to this CSV file")
    p.add_argument("--max-rows", type=int, default=60, help="rows printed (the CSV has all)")


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    from ..audio import AudioError

    predictor = load_predictor(args.model, args.device, args.backend)
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
