"""The command line as users run it: start-up, throughput with process start included, parallel files,
and segmentation quality on long recordings of held-out clips (``make bench``, section ``cli``).

Benchmarks: make bench

Every timing runs ``audioclf`` in a fresh process, as a shell would, with the ONNX cache in a
temporary folder warmed by one run (:func:`~audioclf_lib.onnx_export.cached_onnx_model`), and reports
wall and CPU time: on a machine other jobs load, wall time is inflated and CPU time is the fairer
measure of the work.
"""
from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from .audio import load_audio
from .config import data_dir

__all__ = ["cli_benchmarks", "segmentation_quality"]

SR = 16_000


def _audioclf() -> list[str]:
    script = Path(sys.executable).with_name("audioclf")
    return [str(script)] if script.exists() else [sys.executable, "-m", "audioclf_lib"]


def _one_core() -> list[str]:
    # "On one core" means the process and every thread it starts share one CPU.
    return ["taskset", "-c", "0"] if shutil.which("taskset") else []


def _run(cmd: list[str], env: dict, repeat: int = 1) -> tuple[float, float, float]:
    """Median wall seconds of ``cmd`` (it must succeed), with the user and user + system CPU seconds of that run."""
    runs = []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        user = after.ru_utime - before.ru_utime
        runs.append((wall, user, user + after.ru_stime - before.ru_stime))
    return sorted(runs)[len(runs) // 2]


def _long_audio(seconds: float) -> np.ndarray:
    """Starter recordings of every class end to end, repeated to ``seconds`` (16 kHz)."""
    clips = []
    for cls in ("music", "speech", "noise"):
        clips += sorted((data_dir() / cls).glob("*"))[:30]
    pieces = [load_audio(c, SR)[0] for c in clips]
    return np.resize(np.concatenate(pieces), int(seconds * SR)).astype(np.float32)


#: The two ways ``classify`` can run here, side by side: ``auto`` (the default: numpy front end + ONNX Runtime,
#: no torch, once the cache holds the checked export) and ``onnx`` (the torch front end + ONNX Runtime: the
#: path every run took before the torch-free one, and the one ``auto`` falls back to).
PATHS = (("auto", "numpy front end + ONNX Runtime (no torch)"), ("onnx", "torch front end + ONNX Runtime"))


def cli_benchmarks(*, hour_seconds: float = 3600.0, n_files: int = 100, model: str = "music-speech-noise") -> pd.DataFrame:
    """Wall and CPU times of ``audioclf`` runs in fresh processes, the two paths side by side (:data:`PATHS`).

    Benchmarks: make bench

    Parameters
    ----------
    hour_seconds : float
        Length of the long file (one hour in the full run).
    n_files : int
        Number of files for the ``--jobs`` comparisons (10-s files, then 60-s files).
    model : str
        Bundled model to classify with.

    Returns
    -------
    pd.DataFrame
        One row per measurement: ``what``, ``backend``, ``wall_s``, ``user_s`` and ``cpu_s`` (user +
        system, of the process and its children), ``x_realtime`` (audio seconds per wall second,
        start-up included), ``x_realtime_cpu`` (per CPU second: what an idle core would give, about)
        and ``note``. On a loaded machine read the CPU columns.
    """
    rows = []

    def row(what: str, backend: str, timing: tuple[float, float, float], audio_s: float | None, note: str) -> None:
        wall, user, cpu = timing
        rows.append({"what": what, "backend": backend, "wall_s": wall, "user_s": user, "cpu_s": cpu,
                     "x_realtime": audio_s / wall if audio_s else None,
                     "x_realtime_cpu": audio_s / cpu if audio_s and cpu > 0 else None, "note": note})

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env = {**os.environ, "AUDIOCLF_ONNX_CACHE": str(tmp / "onnx"), "OMP_NUM_THREADS": "1"}
        base = _audioclf()
        row("audioclf --help", "-", _run([*base, "--help"], env, repeat=5), None, "median of 5")
        y = _long_audio(max(hour_seconds, 10.0))
        short = tmp / "ten_seconds.wav"
        sf.write(short, y[: 10 * SR], SR, subtype="PCM_16")
        long = tmp / "long.wav"
        sf.write(long, y[: int(hour_seconds * SR)], SR, subtype="PCM_16")
        del y
        classify = [*base, "classify", "--model", model, "--quiet"]
        first = _run([*classify, str(short)], env)  # exports to the ONNX cache, writes the sidecar
        row("classify a 10-s file, cold shell, empty ONNX cache", "auto", first, 10.0, "the export and its checks, once")
        for backend, label in PATHS:
            row("classify a 10-s file, cold shell, warm ONNX cache", backend,
                _run([*classify, "--backend", backend, str(short)], env, repeat=3), 10.0, f"median of 3; {label}")
        core = _one_core()
        where = " (taskset -c 0)" if core else " (all cores)"
        for backend, label in PATHS:
            row(f"classify {hour_seconds / 3600:g} h on one core, start-up included", backend,
                _run([*core, *classify, "--backend", backend, str(long)], env), hour_seconds,
                f"default policy (0.512-s hop, scored coarse to fine); {label}{where}")
        for extra, label in ((["--coarse", "0"], "--coarse 0: every window of the default policy scored"),
                             (["--hop", "0.5", "--coarse", "0"], "--hop 0.5 --coarse 0: the default until 2026-12-01 "
                                                                 "(window starts off the STFT frame grid: four grids)"),
                             (["--hop", "5"], "--hop 5: back-to-back 5-s windows")):
            row(f"classify {hour_seconds / 3600:g} h on one core, start-up included", "auto",
                _run([*core, *classify, *extra, str(long)], env), hour_seconds, label + where)
        minute = tmp / "one_minute.wav"
        sf.write(minute, _long_audio(60.0), SR, subtype="PCM_16")
        # 10-s files: start-up dominates; 60-s files: the work does (what --jobs can share out)
        for seconds_each, source, backends in ((10, short, PATHS), (60, minute, PATHS[:1])):
            files = tmp / f"files{seconds_each}"
            files.mkdir()
            for k in range(n_files):
                (files / f"{k:03d}.wav").symlink_to(source)
            for backend, label in backends:
                walls = {}
                for jobs in (1, 2):
                    timing = _run([*classify, "--backend", backend, "--jobs", str(jobs), str(files)], env)
                    walls[jobs] = timing[0]
                    row(f"classify {n_files} files of {seconds_each} s, --jobs {jobs}", backend, timing,
                        n_files * float(seconds_each), label)
                rows.append({"what": f"--jobs 2 speed-up over --jobs 1 (wall), {seconds_each}-s files", "backend": backend,
                             "wall_s": None, "user_s": None, "cpu_s": None, "x_realtime": None, "x_realtime_cpu": None,
                             "note": f"{walls[1] / walls[2]:.2f}x"})
    return pd.DataFrame(rows)


def segmentation_quality(*, n_recordings: int = 6, model: str = "music-speech-noise") -> pd.DataFrame:
    """Segments of long recordings built from test-split clips and silence, against their known boundaries.

    Benchmarks: make bench

    The recordings come from :func:`~audioclf_lib.segments.evaluate.concatenated_recording` (seeds
    100, 101, ...) over the starter corpus' test split (notebook 01's grouped split, seed 0).

    Returns
    -------
    pd.DataFrame
        One row per recording: duration, frame accuracy, median boundary error, boundary F1
        within 0.5 s, reference and predicted segment counts.
    """
    from .predict import Predictor
    from .segments.evaluate import concatenated_recording, evaluate_segments, split_clips

    from .segments import default_policy

    clips = split_clips(data_dir(), "test")
    predictor = Predictor(model)
    every_window = replace(default_policy(predictor.config.window_seconds), coarse_seconds=None)
    rows, exhaustive = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(100, 100 + n_recordings):
            y, reference = concatenated_recording(clips, sr=SR, seed=seed)
            path = Path(tmp) / f"rec{seed}.wav"
            sf.write(path, y, SR)
            for policy, out in ((None, rows), (every_window, exhaustive)):
                s = evaluate_segments(reference, predictor.segment_file(path, policy=policy).segments, tolerance_s=0.5)
                out.append({"recording": seed, "minutes": y.size / SR / 60, "frame_accuracy": s["frame_accuracy"],
                            "median_boundary_error_s": s["median_boundary_error_s"], "boundary_f1": s["boundary_f1"],
                            "ref_segments": s["n_ref_segments"], "pred_segments": s["n_pred_segments"]})

    def summary(table: pd.DataFrame, name: str) -> dict:
        return {"recording": name, "minutes": table["minutes"].sum(), "frame_accuracy": table["frame_accuracy"].mean(),
                "median_boundary_error_s": table["median_boundary_error_s"].median(),
                "boundary_f1": table["boundary_f1"].mean(), "ref_segments": table["ref_segments"].sum(),
                "pred_segments": table["pred_segments"].sum()}

    table = pd.DataFrame(rows)
    totals = [summary(table, "all"), summary(pd.DataFrame(exhaustive), "all, every window scored (--coarse 0)")]
    return pd.concat([table, pd.DataFrame(totals)], ignore_index=True)
