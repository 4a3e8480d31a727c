"""run the benchmarks side by side in one process and print tables (= make bench)"""
from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["SECTIONS", "add_arguments", "run"]

SECTIONS = ("latency", "classify", "prepare", "train", "live", "cli")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add the options of ``audioclf bench`` to ``p``: the benchmark sections of :mod:`audioclf_lib.bench`.

    Command line: audioclf bench

    Parameters
    ----------
    p : argparse.ArgumentParser
        The subcommand's parser (:func:`audioclf_lib.cli.build_parser`).
    """
    from ..config import REPO_ROOT

    p.add_argument("--quick", action="store_true", help="few repetitions and small inputs (seconds, for smoke tests)")
    p.add_argument("--sections", default=",".join(SECTIONS), help=f"comma-separated subset of {SECTIONS}")
    p.add_argument("--out", type=Path, default=REPO_ROOT / "benchmarks", help="folder for the dated result files")
    p.add_argument("--no-save", action="store_true", help="print only")


def run(args: argparse.Namespace) -> int:
    """Run ``audioclf bench`` on the ``args`` that :func:`add_arguments` defines.

    Command line: audioclf bench

    Returns
    -------
    int
        Exit status: The exit status of :func:`audioclf_lib.bench.run`.
    """
    from .. import bench

    return bench.run(args)
