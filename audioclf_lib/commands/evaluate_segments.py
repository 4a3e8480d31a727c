"""score predicted segments against reference segments in time (frame accuracy, boundary F1)

``audioclf evaluate-segments REF PRED``: two segment files (csv, jsonl, Audacity labels, TextGrid,
RTTM; the format from each suffix) or two folders, where files are paired by name without suffix.
Prints frame accuracy, boundary precision/recall/F1 within ``--tolerance`` seconds, the median
boundary error and the segment count ratio, per file and pooled over files (frames and boundaries
added up, so a long file weighs more).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .common import UsageError

__all__ = ["add_arguments", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add the options of ``audioclf evaluate-segments`` to ``p``: the two segment files or folders, scoring.

    Command line: audioclf evaluate-segments

    Parameters
    ----------
    p : argparse.ArgumentParser
        The subcommand's parser (:func:`audioclf_lib.cli.build_parser`).
    """
    p.add_argument("reference", type=Path, help="reference segment file, or a folder of them")
    p.add_argument("predicted", type=Path, help="predicted segment file, or a folder (paired with the reference by name)")
    p.add_argument("--tolerance", type=float, default=0.5, help="boundary hit tolerance in seconds (default 0.5)")
    p.add_argument("--resolution", type=float, default=0.01, help="frame grid in seconds (default 0.01)")
    p.add_argument("--duration", type=float, default=None,
                   help="recording length in seconds (default: where the reference ends; RTTM leaves silence out)")
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")


def _pairs(reference: Path, predicted: Path) -> list[tuple[Path, Path]]:
    from ..segments.formats import SUFFIXES

    for path in (reference, predicted):
        if not path.exists():
            raise UsageError(f"{path}: no such file or folder")
    if reference.is_file() and predicted.is_file():
        return [(reference, predicted)]
    if not (reference.is_dir() and predicted.is_dir()):
        raise UsageError("give two files or two folders")
    suffixes = {s.lower() for s in SUFFIXES.values()} | {".lab"}
    by_stem = {f.stem: f for f in sorted(predicted.iterdir()) if f.suffix.lower() in suffixes}
    pairs = [(f, by_stem[f.stem]) for f in sorted(reference.iterdir()) if f.suffix.lower() in suffixes and f.stem in by_stem]
    if not pairs:
        raise UsageError(f"no segment files with the same name in {reference} and {predicted}")
    return pairs


def run(args: argparse.Namespace) -> int:
    """Run ``audioclf evaluate-segments`` on the ``args`` that :func:`add_arguments` defines.

    Command line: audioclf evaluate-segments

    Returns
    -------
    int
        Exit status: 0, or 1 when any pair was skipped or none could be evaluated.

    Raises
    ------
    UsageError
        Bad arguments (exit status 2 through :func:`audioclf_lib.cli.main`).
    """
    import math

    from ..segments.evaluate import evaluate_segments
    from ..segments.formats import read_segments

    if args.tolerance < 0 or args.resolution <= 0:
        raise UsageError(f"--tolerance must be >= 0 and --resolution > 0; got {args.tolerance} and {args.resolution}")
    rows, problems = [], []
    for ref_path, pred_path in _pairs(args.reference, args.predicted):
        try:
            ref = read_segments(ref_path, duration_s=args.duration)
            pred = read_segments(pred_path, duration_s=args.duration)
            scores = evaluate_segments(ref, pred, tolerance_s=args.tolerance, resolution_s=args.resolution,
                                       duration_s=args.duration)
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            problems.append(f"{ref_path.name}: {exc}")
            continue
        rows.append((ref_path.stem, scores))
    for line in problems:
        print(f"skipped {line}", file=sys.stderr)
    if not rows:
        print("nothing evaluated", file=sys.stderr)
        return 1
    print(f"{'file':<28} {'frame acc':>9} {'bound. P':>8} {'bound. R':>8} {'bound. F1':>9} {'median err':>10} {'seg ratio':>9}")
    for name, s in rows:
        print(f"{name[:28]:<28} {s['frame_accuracy']:>9.4f} {s['boundary_precision']:>8.3f} {s['boundary_recall']:>8.3f} "
              f"{s['boundary_f1']:>9.3f} {s['median_boundary_error_s']:>9.2f}s {s['segment_count_ratio']:>9.2f}")
    frames = sum(s["n_frames"] for _, s in rows)
    correct = sum(s["frame_accuracy"] * s["n_frames"] for _, s in rows if s["n_frames"])
    matched = sum(s["n_matched_boundaries"] for _, s in rows)
    n_ref = sum(s["n_ref_boundaries"] for _, s in rows)
    n_pred = sum(s["n_pred_boundaries"] for _, s in rows)
    precision = matched / n_pred if n_pred else math.nan
    recall = matched / n_ref if n_ref else math.nan
    f1 = 2 * matched / (n_ref + n_pred) if n_ref + n_pred else math.nan
    pooled = {"files": len(rows), "frame_accuracy": correct / frames if frames else math.nan,
              "boundary_precision": precision, "boundary_recall": recall, "boundary_f1": f1,
              "n_ref_segments": sum(s["n_ref_segments"] for _, s in rows),
              "n_pred_segments": sum(s["n_pred_segments"] for _, s in rows),
              "tolerance_s": args.tolerance, "skipped": len(problems)}
    pooled["segment_count_ratio"] = pooled["n_pred_segments"] / pooled["n_ref_segments"]
    print(f"pooled over {len(rows)} file(s): frame accuracy {pooled['frame_accuracy']:.4f} | boundary P/R/F1 "
          f"{precision:.3f}/{recall:.3f}/{f1:.3f} within {args.tolerance:g} s | segments {pooled['n_pred_segments']} "
          f"predicted / {pooled['n_ref_segments']} reference")
    if args.json:
        print(json.dumps({**pooled, "per_file": dict(rows)}, default=float))
    return 1 if problems else 0
