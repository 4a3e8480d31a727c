"""Work on Dask: a client for ``--dask ADDRESS|local:N``, per-process worker state, tasks mapped with retries

Command line: audioclf classify --dask

The optional extra ``audioclf[dask]`` (dask + distributed) provides the engine; nothing here is
imported by the rest of the library unless ``--dask`` (or ``dask=`` of notebook 01's
``prepare_splits``) is given. The unit of work of ``classify`` is one file, or one time shard of a
long one (:mod:`audioclf_lib.shards`): a
task decodes and classifies it on a worker and sends back its tables; the client gathers them in
input order and writes every output itself (atomically), so ``--skip-existing`` resumes a batch
exactly as without Dask. Workers must see the input files (and a checkpoint given as a path) under
the same absolute paths as the client: a shared file system on a real cluster.

* :func:`parse_target` / :func:`dask_client`: ``"local:N"`` starts a ``LocalCluster`` of N worker
  processes with one thread each; anything else is a scheduler address (``tcp://host:8786``).
* :func:`worker_cached`: state built once per worker process (a Predictor), keyed by its settings.
* :func:`map_unordered`: ``fn(item, *args)`` for every item, at most a few tasks in flight per
  worker thread, each retried when it raises and moved to another worker when its worker dies
  (a task that kills ``distributed.scheduler.allowed-failures`` workers is reported, not fatal);
  yields ``(index, result, error)`` as tasks complete.
* :func:`map_chunks`: ``[fn(item, *args) for item in items]`` in input order, a chunk of items per
  task (notebook 01's decoding of the corpus: ``prepare_splits(dask=...)``).

Run ``python -m audioclf_lib.distributed --bench`` for the throughput of local workers against one
process and the scheduling overhead per file (:func:`bench`).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

__all__ = ["DaskTarget", "parse_target", "dask_available", "dask_client", "using_client", "worker_environ",
           "worker_cached", "map_unordered", "map_chunks", "bench"]

INSTALL_HINT = "--dask needs the dask extra: pip install -e '.[dask]' (dask and distributed)"


class DaskTarget(NamedTuple):
    """Where ``--dask`` runs: ``DaskTarget("local", n_workers)`` or ``DaskTarget("address", "tcp://host:port")``.

    Command line: audioclf classify --dask
    """

    kind: str
    value: int | str


def parse_target(text: str) -> DaskTarget:
    """``"local:N"`` -> a local cluster of N processes; anything else -> a scheduler address.

    Command line: audioclf classify --dask

    Raises
    ------
    ValueError
        ``local:`` without a positive worker count, or an empty address; the value is in the message.
    """
    text = (text or "").strip()
    if text.startswith("local"):
        _, sep, n = text.partition(":")
        try:
            n_workers = int(n) if sep else os.cpu_count() or 1
        except ValueError:
            raise ValueError(f"--dask {text!r}: expected local:N with N a number of workers, e.g. local:2") from None
        if n_workers < 1:
            raise ValueError(f"--dask {text!r}: the number of workers must be >= 1")
        return DaskTarget("local", n_workers)
    if not text:
        raise ValueError("--dask '': expected a scheduler address (tcp://host:8786) or local:N")
    return DaskTarget("address", text)


def dask_available() -> bool:
    """Whether ``dask.distributed`` can be imported (the ``audioclf[dask]`` extra).

    Command line: audioclf classify --dask (without it: a usage error naming the extra)
    """
    try:
        import distributed  # noqa: F401
    except ImportError:
        return False
    return True


@contextmanager
def dask_client(target: str | DaskTarget, *, memory_limit: str | None = "auto"):
    """A ``distributed.Client`` for the life of the block (a local cluster is closed with it).

    Command line: audioclf classify --dask

    Parameters
    ----------
    target : str or DaskTarget
        ``"local:N"`` (N worker processes, one thread each, no dashboard) or a scheduler address.
    memory_limit : str or None
        Per local worker (Dask's ``"auto"`` splits the machine's memory).

    Yields
    ------
    distributed.Client
    """
    import dask
    from distributed import Client, LocalCluster

    target = parse_target(target) if isinstance(target, str) else target
    if target.kind == "local":
        with dask.config.set({"distributed.nanny.pre-spawn-environ": worker_environ()}), \
                LocalCluster(n_workers=target.value, threads_per_worker=1, processes=True, dashboard_address=None,
                             memory_limit=memory_limit) as cluster, Client(cluster) as client:
            # processes, not threads: decoding and the front end hold the GIL for long stretches
            yield client
    else:
        with Client(target.value) as client:
            yield client


@contextmanager
def using_client(dask):
    """``dask`` as a ``distributed.Client`` for the block: a client as it is, a target through :func:`dask_client`.

    Notebook: 01_generate_spectrograms.ipynb (``prepare_splits(dask=...)``: one cluster for the three splits)

    Parameters
    ----------
    dask : str, DaskTarget or distributed.Client
        ``"local:N"`` or a scheduler address (a cluster started and closed here), or a client
        the caller owns (left open).
    """
    if isinstance(dask, (str, DaskTarget)):
        with dask_client(dask) as client:
            yield client
    else:
        yield dask


def worker_environ() -> dict:
    """Dask's environment for new worker processes, less ``MALLOC_TRIM_THRESHOLD_``.

    Command line: audioclf classify --dask local:N

    Dask sets ``MALLOC_TRIM_THRESHOLD_=65536`` to hand freed memory back to the system; glibc then
    also stops raising its mmap threshold, so every large array (a block of audio, a batch of
    spectrograms) is a fresh mmap with page faults: classify ran 2-3x slower per file on a worker
    than in one process (0.7-0.9 s against 0.25-0.4 s for a 40-s file, measured here). The
    threads-per-library settings (``OMP_NUM_THREADS=1`` ...) are kept. On a cluster started by
    other means, set ``distributed.nanny.pre-spawn-environ`` the same way in its Dask config.
    """
    import dask
    import distributed  # noqa: F401  (loads distributed's config defaults)

    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {})
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    return environ


_CACHE: OrderedDict = OrderedDict()


def worker_cached(key: Any, build: Callable[[], Any], *, keep: int = 2) -> Any:
    """``build()`` once per worker process and ``key``; later calls with the same key return it.

    Command line: audioclf classify --dask (one Predictor per worker, not one per file)

    Parameters
    ----------
    key : hashable
        The settings that make the state (model, device, backend, policy...).
    build : callable
        Makes the state; run on the first call with this key in this process.
    keep : int
        States kept per process (a long-lived cluster may serve runs with other settings).
    """
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    value = build()
    _CACHE[key] = value
    while len(_CACHE) > keep:
        _CACHE.popitem(last=False)
    return value


def map_unordered(client, fn: Callable, items: Sequence, *args, retries: int = 2, max_in_flight: int | None = None,
                  name: str = "task") -> Iterator[tuple[int, Any, BaseException | None]]:
    """``fn(item, *args)`` for every item on the cluster; ``(index, result, error)`` as each completes.

    Command line: audioclf classify --dask

    Parameters
    ----------
    client : distributed.Client
    fn : callable
        Importable on the workers (a module-level function of an installed package).
    items : sequence
        One task each.
    *args
        Passed to every call (sent once per task; keep them small).
    retries : int
        Extra attempts of a task that raises. A task whose worker dies is rescheduled elsewhere
        by the scheduler (up to ``distributed.scheduler.allowed-failures`` deaths, default 3).
    max_in_flight : int, optional
        Tasks submitted but not yet gathered (default: 4 per worker thread, at least 4): memory
        stays bounded however long the list, and every worker stays busy.
    name : str
        Prefix of the task keys (shown by Dask's dashboard and logs).

    Yields
    ------
    (int, object, BaseException or None)
        The item's index, ``fn``'s result (None on error), and the error: ``KilledWorker``
        when the task killed too many workers. Any other exception of ``fn`` is raised here
        after its retries, and the tasks still in flight are cancelled.
    """
    from distributed import as_completed
    from distributed.scheduler import KilledWorker

    if retries < 0:
        raise ValueError(f"retries={retries} must be >= 0")
    n = len(items)
    if max_in_flight is None:
        max_in_flight = max(4, 4 * sum(client.nthreads().values()))
    if max_in_flight < 1:
        raise ValueError(f"max_in_flight={max_in_flight} must be >= 1")
    token = uuid.uuid4().hex[:8]
    in_flight: dict[str, tuple[int, Any]] = {}  # key -> (index, future)

    def submit(i: int):
        future = client.submit(fn, items[i], *args, key=f"{name}-{token}-{i}", retries=retries, pure=False)
        in_flight[future.key] = (i, future)
        return future

    queue = as_completed()
    next_i = 0
    while next_i < min(n, max_in_flight):
        queue.add(submit(next_i))
        next_i += 1
    try:
        for future in queue:
            i, _ = in_flight.pop(future.key)
            try:
                result, error = future.result(), None
            except KilledWorker as exc:
                result, error = None, exc
            future.release()
            if next_i < n:
                queue.add(submit(next_i))
                next_i += 1
            yield i, result, error
    finally:  # closed early (an error, Ctrl-C): nothing left running for nobody
        if in_flight:
            client.cancel([f for _, f in in_flight.values()])


def _apply_chunk(chunk: Sequence, fn: Callable, *args) -> list:
    return [fn(item, *args) for item in chunk]


def map_chunks(dask, fn: Callable, items: Sequence, *args, chunk_size: int = 16, progress: bool = False,
               desc: str = "tasks") -> list:
    """``[fn(item, *args) for item in items]`` on Dask workers, ``chunk_size`` items a task, in input order.

    Notebook: 01_generate_spectrograms.ipynb (``prepare_splits(dask=...)`` decodes the corpus this way)

    Chunks keep Dask's cost per task (~15 ms of scheduling, see :func:`bench`) small next to the
    work of short items such as 10-s clips; tasks are retried and moved off dead workers as in
    :func:`map_unordered`.

    Parameters
    ----------
    dask : str, DaskTarget or distributed.Client
        As for :func:`using_client`.
    fn : callable
        Importable on the workers (a module-level function of an installed package).
    items : sequence
    *args
        Passed to every call.
    chunk_size : int
        Items per task, >= 1.
    progress : bool
        A tqdm bar over items.
    desc : str
        The bar's label and the task keys' prefix.

    Returns
    -------
    list
        ``fn``'s results in the order of ``items``.

    Raises
    ------
    ValueError
        ``chunk_size`` < 1.
    distributed.scheduler.KilledWorker
        A chunk killed every worker that ran it; ``fn``'s own exceptions are raised after their retries.
    """
    from tqdm.auto import tqdm

    if chunk_size < 1:
        raise ValueError(f"chunk_size={chunk_size} must be >= 1")
    chunks = [list(items[k : k + chunk_size]) for k in range(0, len(items), chunk_size)]
    done: list = [None] * len(chunks)
    with using_client(dask) as client, tqdm(total=len(items), disable=not progress, desc=desc) as bar:
        for i, result, error in map_unordered(client, _apply_chunk, chunks, fn, *args, name=desc):
            if error is not None:
                raise error
            done[i] = result
            bar.update(len(chunks[i]))
    return [r for chunk in done for r in chunk]


# -- benchmark: python -m audioclf_lib.distributed --bench ----------------------------------------------

def _noop(item, *args):
    return item


def _cpu_seconds() -> float:
    """User + system CPU seconds of this process so far."""
    import psutil

    t = psutil.Process().cpu_times()
    return t.user + t.system


def _cluster_cpu_seconds(client) -> float:
    """CPU seconds of the client process (a local cluster's scheduler runs in it), its workers and nannies."""
    return (_cpu_seconds() + sum(client.run(_cpu_seconds).values())
            + sum(client.run(_cpu_seconds, nanny=True).values()))


def _bench_files(folder: Path, n_files: int, seconds: float) -> list[Path]:
    """``n_files`` WAVs of ``seconds`` each, cut from the starter clips (so the model sees real audio)."""
    import numpy as np
    import soundfile as sf

    from .audio import load_audio
    from .config import REPO_ROOT

    starter = REPO_ROOT / "data" / "starter"
    clips = sorted(starter.rglob("*.ogg"))
    if not clips:
        raise FileNotFoundError(f"no starter clips under {starter}")
    sr = 16_000
    need = int(seconds * sr)
    files = []
    for k in range(n_files):
        y, _ = load_audio(clips[(k * 37) % len(clips)], sr=sr)
        y = np.resize(y, need).astype(np.float32)  # repeats a short clip, cuts a long one
        path = folder / f"bench_{k:04d}.wav"
        sf.write(str(path), y, sr)
        files.append(path)
    return files


def bench(*, n_files: int = 100, seconds: float = 5.0, n_workers: int = 2, model: str = "music-speech-noise",
          backend: str = "auto") -> list[dict]:
    """Classify the same short files in one process and on ``n_workers`` local Dask workers.

    Command line: python -m audioclf_lib.distributed --bench

    Rows: the serial run (one process, one thread, Predictor built once), the Dask run (cluster
    already started; its start-up is a row of its own), and a no-op task per file through the same
    :func:`map_unordered` loop, which is the scheduling overhead per file. Wall time depends on
    what else the machine runs; CPU time (the client with a local cluster's scheduler, workers,
    nannies) does not, and its difference per file is Dask's cost. The crossover is the number of
    files from which start-up + Dask beats one process in wall time.

    Returns
    -------
    list of dict
        ``{"run", "files", "wall_s", "cpu_s", "files_per_s", "ms_per_file", "cpu_ms_per_file",
        "audio_x_real_time"}`` per row (rates where ``files``), plus ``same_labels`` and
        ``crossover_files`` on the Dask row.
    """
    import tempfile

    import torch

    from .commands.classify import _classify_remote, _worker_spec
    from .commands.common import load_predictor
    from .segments import default_policy

    torch.set_num_threads(1)
    rows = []
    with tempfile.TemporaryDirectory(prefix="audioclf-dask-bench-") as tmp:
        files = _bench_files(Path(tmp), n_files, seconds)
        audio_s = n_files * seconds
        predictor = load_predictor(model, "cpu", backend)
        spec = _worker_spec(model, "cpu", backend, "model", default_policy(predictor.config.window_seconds), True)
        _classify_remote(files[0], os.getcwd(), spec)  # warm-up: build the Predictor, first ONNX session run
        t0, c0 = time.perf_counter(), _cpu_seconds()
        serial = [_classify_remote(f, os.getcwd(), spec) for f in files]
        t_serial, c_serial = time.perf_counter() - t0, _cpu_seconds() - c0
        rows.append({"run": "1 process", "files": n_files, "wall_s": t_serial, "cpu_s": c_serial})
        t0 = time.perf_counter()
        with dask_client(DaskTarget("local", n_workers)) as client:
            t_start = time.perf_counter() - t0
            client.run(_classify_remote, files[0], os.getcwd(), spec)  # each worker builds its Predictor
            t_warm = time.perf_counter() - t0 - t_start
            t0, c0 = time.perf_counter(), _cluster_cpu_seconds(client)
            parallel = {i: r for i, r, _ in map_unordered(client, _classify_remote, files, os.getcwd(), spec,
                                                           name="bench")}
            t_dask, c_dask = time.perf_counter() - t0, _cluster_cpu_seconds(client) - c0
            t0, c0 = time.perf_counter(), _cluster_cpu_seconds(client)
            list(map_unordered(client, _noop, files, name="noop"))
            t_noop, c_noop = time.perf_counter() - t0, _cluster_cpu_seconds(client) - c0
        same = all(parallel[i][1]["label"].tolist() == serial[i][1]["label"].tolist() for i in range(n_files))
        rows.append({"run": f"dask local:{n_workers} start-up", "files": 0, "wall_s": t_start})
        rows.append({"run": f"dask local:{n_workers} first Predictor", "files": 0, "wall_s": t_warm})
        gain = t_serial / n_files - t_dask / n_files
        crossover = (t_start + t_warm) / gain if gain > 0 else float("inf")
        rows.append({"run": f"dask local:{n_workers}", "files": n_files, "wall_s": t_dask, "cpu_s": c_dask,
                     "same_labels": same, "crossover_files": crossover})
        rows.append({"run": "dask no-op (scheduling)", "files": n_files, "wall_s": t_noop, "cpu_s": c_noop})
    for row in rows:
        if row["files"]:
            row["files_per_s"] = row["files"] / row["wall_s"]
            row["ms_per_file"] = 1000 * row["wall_s"] / row["files"]
            row["cpu_ms_per_file"] = 1000 * row["cpu_s"] / row["files"]
            if not row["run"].startswith("dask no-op"):
                row["audio_x_real_time"] = audio_s / row["wall_s"]
    return rows


def _print_bench(rows: list[dict], *, seconds: float) -> None:
    import numpy as np

    print(f"{'run':34s} {'files':>5s} {'wall s':>8s} {'files/s':>8s} {'ms/file':>8s} {'CPU ms/file':>11s} "
          f"{'x real time':>11s}")
    for r in rows:
        rate = (f"{r['files_per_s']:8.1f} {r['ms_per_file']:8.1f} {r['cpu_ms_per_file']:11.1f}" if r["files"]
                else f"{'':8s} {'':8s} {'':11s}")
        rt = f"{r['audio_x_real_time']:11,.0f}" if "audio_x_real_time" in r else ""
        print(f"{r['run']:34s} {r['files']:5d} {r['wall_s']:8.2f} {rate} {rt}")
    dask_row = next(r for r in rows if "crossover_files" in r)
    crossover = dask_row["crossover_files"]
    pays = f"after ~{crossover:.0f} files" if np.isfinite(crossover) else "never on this machine (no faster per file)"
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    print(f"({seconds:g}-s files on {os.cpu_count()} cores, load average {load}; Dask labels identical to the "
          f"serial run: {dask_row['same_labels']}; start-up + first Predictor pay off {pays})")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m audioclf_lib.distributed --bench [--files N --seconds S --workers W]``."""
    p = argparse.ArgumentParser(prog="python -m audioclf_lib.distributed", description=__doc__.splitlines()[0])
    p.add_argument("--bench", action="store_true", help="measure 1 process vs local Dask workers")
    p.add_argument("--files", type=int, default=100)
    p.add_argument("--seconds", type=float, default=5.0, help="length of each file (s)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--model", default="music-speech-noise")
    p.add_argument("--backend", default="auto", choices=["auto", "torch", "onnx"])
    args = p.parse_args(argv)
    if not args.bench:
        p.print_help()
        return 0
    if not dask_available():
        print(INSTALL_HINT, file=sys.stderr)
        return 1
    rows = bench(n_files=args.files, seconds=args.seconds, n_workers=args.workers, model=args.model,
                 backend=args.backend)
    _print_bench(rows, seconds=args.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
