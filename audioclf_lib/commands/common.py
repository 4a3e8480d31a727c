"""What several subcommands share: the usage error, input collection, and the model options."""
from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

__all__ = ["UsageError", "collect_audio_files", "add_model_options", "load_predictor", "BACKENDS"]

#: ``--backend`` choices (see :func:`load_predictor`).
BACKENDS = ("auto", "numpy", "onnx", "torch")


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
    p.add_argument("--backend", default="auto", choices=list(BACKENDS),
                   help="auto: numpy front end + ONNX Runtime without torch when the ONNX cache holds the model's "
                        "checked export (the first run writes it), else ONNX Runtime on the CPU with the torch front "
                        "end, else torch; numpy: that torch-free path (exported first if needed); onnx: ONNX Runtime "
                        "with the torch front end; torch: PyTorch")


def load_predictor(name: str, device: str | None, backend: str = "auto", *, threads: int | None = None):
    """The predictor for a bundled name or checkpoint path; a bad one is a usage error.

    Command line: audioclf classify, audioclf evaluate

    ``auto`` and ``numpy`` on the CPU first try the torch-free
    :class:`~audioclf_lib.onnx_predictor.OnnxPredictor` (numpy front end + the cached, checked ONNX
    export: about a second less start-up than importing torch); it needs the sidecar that a
    :class:`~audioclf_lib.predict.Predictor` writes beside its export, so the first run of a
    checkpoint (or the first after it changed) builds that Predictor, which writes the sidecar, and
    then classifies with the torch-free predictor like every later run. ``numpy`` is the same but an
    error where there is no torch-free path (the image representations, a GPU); ``onnx`` (the
    torch front end, the model in ONNX Runtime) and ``torch`` are the Predictor's own backends.

    Parameters
    ----------
    name : str
        Bundled name or checkpoint path (``--model``).
    device : str or None
        ``"cpu"``, ``"cuda"`` or ``None`` (CUDA when present).
    backend : {"auto", "numpy", "onnx", "torch"}
        See above.
    threads : int, optional
        Intra-op threads of the model (default: torch's / ONNX Runtime's choice, see
        :func:`~audioclf_lib.onnx_predictor.default_threads`); ``--jobs`` workers give 1.

    Returns
    -------
    Predictor or OnnxPredictor

    Raises
    ------
    UsageError
        The checkpoint cannot be found or loaded (:class:`~audioclf_lib.checkpoint.CheckpointError`), or
        ``numpy`` cannot be had for it (another representation, a GPU device).
    """
    from ..checkpoint import CheckpointError

    if backend not in BACKENDS:
        raise UsageError(f"--backend {backend!r}: expected one of {', '.join(BACKENDS)}")
    try:
        if backend in ("auto", "numpy") and _cpu_only(device):
            from ..onnx_predictor import load_onnx_predictor

            fast = load_onnx_predictor(name, threads=threads)
            if fast is not None:
                return fast
        if threads is not None:
            import torch

            torch.set_num_threads(threads)
        from ..predict import Predictor

        predictor = Predictor(name, device=device, backend="onnx" if backend == "numpy" else backend)
        if backend in ("auto", "numpy") and predictor.backend == "onnx":
            # its export has just written the sidecar: the first run decides as the later ones will
            from ..onnx_predictor import load_onnx_predictor

            fast = load_onnx_predictor(name, threads=threads)
            if fast is not None:
                return fast
        if backend == "numpy":
            raise UsageError(f"--backend numpy: no torch-free path for {name!r} (representation "
                             f"{predictor.config.representation!r}; only log-mel models have one)")
        return predictor
    except CheckpointError as exc:
        raise UsageError(str(exc)) from None
    except ValueError as exc:  # e.g. backend onnx with a GPU device
        raise UsageError(str(exc)) from None


def _cpu_only(device: str | None) -> bool:
    """Whether the model runs on the CPU: ``--device cpu``, or no device given and no GPU to be seen
    (without importing torch: an NVIDIA or AMD GPU device node; then the torch path decides)."""
    if device is not None:
        return str(device) == "cpu"
    return not any(Path(p).exists() for p in ("/dev/nvidia0", "/dev/kfd", "/dev/dxg"))
