"""Timing helpers shared by the notebooks' result tables and the benchmark suite."""
from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator

import numpy as np
import torch

__all__ = ["torch_threads", "time_ms", "peak_rss_mb"]


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Temporarily run torch with ``n`` intra-op threads (1 is the honest default on a shared 2-core machine).

    Notebook: 01_generate_spectrograms.ipynb (inside :func:`time_ms`); Benchmarks: make bench

    A context manager; the previous thread count is restored on exit, also after an error.

    Parameters
    ----------
    n : int
        Threads, >= 1.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def time_ms(fn: Callable[[], object], *, repeat: int = 30, warmup: int = 3, threads: int = 1) -> dict[str, float]:
    """Median and 95th percentile wall time of ``fn()`` in milliseconds, after ``warmup`` calls.

    Notebook: 01_generate_spectrograms.ipynb; Benchmarks: make bench

    Runs under ``torch.inference_mode`` with ``threads`` torch threads.

    Parameters
    ----------
    fn : callable
        Called with no arguments; its result is ignored.
    repeat : int
        Timed calls, >= 1.
    warmup : int
        Untimed calls first.
    threads : int
        As for :func:`torch_threads`.

    Returns
    -------
    dict
        ``median_ms``, ``p95_ms`` (float), ``repeat``, ``threads``.
    """
    times = []
    with torch_threads(threads), torch.inference_mode():
        for _ in range(warmup):
            fn()
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1e3)
    return {"median_ms": float(np.median(times)), "p95_ms": float(np.percentile(times, 95)), "repeat": repeat, "threads": threads}


def peak_rss_mb() -> float:
    """Peak resident memory of this process image, in MiB.

    Benchmarks: make bench

    Linux's ``VmHWM`` (reset when a process ``exec``s). ``getrusage``'s ``ru_maxrss`` is not:
    a child started by ``subprocess`` reports its parent's peak from before the exec when that
    was larger, which once made a benchmark child show the benchmark's own 1.25 GB.
    Where ``/proc`` is missing, ``ru_maxrss`` is the fallback.

    Returns
    -------
    float
        MiB.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource
    import sys

    # ru_maxrss is in bytes on macOS and in KiB elsewhere.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (2**20 if sys.platform == "darwin" else 1024)
