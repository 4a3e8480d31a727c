"""Timing helpers shared by the notebooks' result tables and the benchmark suite."""
from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator

import numpy as np
import torch

__all__ = ["torch_threads", "time_ms"]


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Temporarily run torch with ``n`` intra-op threads (1 is the honest default on a shared 2-core machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def time_ms(fn: Callable[[], object], *, repeat: int = 30, warmup: int = 3, threads: int = 1) -> dict[str, float]:
    """Median and 95th percentile wall time of ``fn()`` in milliseconds, after ``warmup`` calls.

    Runs under ``torch.inference_mode`` with ``threads`` torch threads.
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
