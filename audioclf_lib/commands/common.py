"""What several subcommands share: the usage error, input collection, and the model options."""
from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

__all__ = ["UsageError", "collect_audio_files", "add_model_options", "load_predictor"]


class UsageError(Exception):
    """Bad arguments: printed as one line, exit status 2.

    Command line: every subcommand (:func:`audioclf_lib.cli.main` prints it as ``error: <message>``)
    """


def collect_audio_files(paths: Sequence[str | Path]) -> tuple[list[Path], list[str]]:
    """Files and folders (searched recursively) -> audio files, plus notes on paths that do not exist.

    Command line: audioclf classify

    Parameters
    ----------
    paths : sequence of str or Path
        Files (used as given, whatever their suffix) and folders (every audio file below them, sorted).

    Returns
    -------
    (list of Path, list of str)
        The files in order, and one ``"<path>: no such file or folder"`` note per missing path.
    """
    from ..audio import AUDIO_EXTENSIONS

    files, missing = [], []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(f for f in p.rglob("*") if f.suffix.lower() in AUDIO_EXTENSIONS and f.is_file())
        elif p.exists() or p.is_symlink():
            files.append(p)
        else:
            missing.append(f"{p}: no such file or folder")
    return files, missing


def add_model_options(p: argparse.ArgumentParser) -> None:
    """``--model``, ``--window``, ``--hop``, ``--device`` and ``--backend``: how to build the Predictor.

    Command line: audioclf classify, audioclf evaluate

    Parameters
    ----------
    p : argparse.ArgumentParser
        The subcommand's parser.
    """
    p.add_argument("--model", default="music-speech-noise", help="bundled name (see `models`) or checkpoint path")
    p.add_argument("--window", type=float, default=None, help="window length in seconds (default: the model's, 5 s)")
    p.add_argument("--hop", type=float, default=None, help="hop between windows in seconds (default: the window)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when present)")
    p.add_argument("--backend", default="auto", choices=["auto", "torch", "onnx"],
                   help="who runs the model: auto = ONNX Runtime on the CPU when installed, else torch")


def load_predictor(name: str, device: str | None, backend: str = "auto"):
    """The :class:`~audioclf_lib.predict.Predictor` for a bundled name or checkpoint path; a bad one is a usage error.

    Command line: audioclf classify, audioclf evaluate

    Parameters
    ----------
    name : str
        Bundled name or checkpoint path (``--model``).
    device : str or None
        ``"cpu"``, ``"cuda"`` or ``None`` (CUDA when present).
    backend : {"auto", "torch", "onnx"}
        As for the Predictor.

    Returns
    -------
    Predictor

    Raises
    ------
    UsageError
        The checkpoint cannot be found or loaded (:class:`~audioclf_lib.checkpoint.CheckpointError`).
    """
    from ..checkpoint import CheckpointError
    from ..predict import Predictor

    try:
        return Predictor(name, device=device, backend=backend)
    except CheckpointError as exc:
        raise UsageError(str(exc)) from None
