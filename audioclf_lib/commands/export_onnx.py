"""export a checkpoint's model to ONNX (checked against PyTorch before it is written)"""
from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_arguments", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add the options of ``audioclf export-onnx`` to ``p``: ``--model`` and ``--out``.

    Command line: audioclf export-onnx

    Parameters
    ----------
    p : argparse.ArgumentParser
        The subcommand's parser (:func:`audioclf_lib.cli.build_parser`).
    """
    p.add_argument("--model", default="music-speech-noise", help="bundled name or checkpoint path")
    p.add_argument("--out", type=Path, default=None, help="output file (default: <model>.onnx in the current folder)")


def run(args: argparse.Namespace) -> int:
    """Run ``audioclf export-onnx`` on the ``args`` that :func:`add_arguments` defines.

    Command line: audioclf export-onnx

    Returns
    -------
    int
        Exit status: 0.
    """
    from ..checkpoint import load_checkpoint
    from ..onnx_export import export_onnx

    ckpt = load_checkpoint(args.model)
    out = args.out or Path(f"{Path(str(args.model)).stem}.onnx")
    path, diff = export_onnx(ckpt, out)
    print(f"wrote {path} ({path.stat().st_size / 2**10:.0f} KiB); max |ONNX - PyTorch| = {diff:.2e}")
    return 0
