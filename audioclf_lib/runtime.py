"""Process-wide set-up, done explicitly (importing the library changes no global state)."""
from __future__ import annotations

import ctypes
import functools
import os
import random
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # imported where used: release_free_memory serves the torch-free command-line path too
    import torch

__all__ = ["seed_everything", "setup_notebook", "default_device", "worker_init_fn", "release_free_memory"]


def default_device() -> torch.device:
    """CUDA when present, CPU otherwise.

    Notebook: 01_generate_spectrograms.ipynb (what :func:`setup_notebook` returns)

    Returns
    -------
    torch.device
    """
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch, and make cuDNN deterministic.

    Notebook: 01_generate_spectrograms.ipynb (through :func:`setup_notebook`; notebook 03 calls it directly)

    Parameters
    ----------
    seed : int
        Used for ``random``, ``numpy.random``, ``torch`` and every CUDA device.
    """
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


@functools.lru_cache(maxsize=1)
def _malloc_trim():
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc (macOS, Windows, musl): nothing to do
        return None


def release_free_memory() -> None:
    """Hand memory that glibc keeps in its heap after ``free`` back to the system.

    Command line: audioclf classify (after each block of a long file; the Predictor's streaming path)

    Streaming hours of audio allocates a block-sized array per block between ONNX Runtime's
    many small allocations; glibc then cannot shrink its heap and the process grew by ~400 MB
    over a 2-hour file (measured; ~1 MB with a trim after each block). A no-op off glibc.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def worker_init_fn(worker_id: int) -> None:
    """DataLoader workers get distinct, reproducible numpy/python seeds.

    Notebook: 02_train_cnn.ipynb (the DataLoader of :func:`~audioclf_lib.train.fit`)

    Parameters
    ----------
    worker_id : int
        Added to the worker's torch seed (mod 2**32).
    """
    import torch

    seed = torch.initial_seed() % 2**32
    np.random.seed(seed + worker_id)
    random.seed(seed + worker_id)


def setup_notebook(seed: int = 0, *, threads: int | None = None) -> torch.device:
    """What every notebook's first code cell calls: seeds, thread count, plot style; returns the device.

    Notebook: 01_generate_spectrograms.ipynb

    Parameters
    ----------
    seed : int
        As for :func:`seed_everything`.
    threads : int or None
        torch intra-op threads; default ``$AUDIOCLF_THREADS``, else min(CPUs, 4).

    Returns
    -------
    torch.device
        :func:`default_device`.
    """
    import matplotlib
    import torch

    seed_everything(seed)
    if threads is None:
        threads = int(os.environ.get("AUDIOCLF_THREADS", min(os.cpu_count() or 1, 4)))
    torch.set_num_threads(max(1, threads))
    matplotlib.rcParams.update({"figure.dpi": 90, "savefig.dpi": 110, "axes.grid": False})
    return default_device()
