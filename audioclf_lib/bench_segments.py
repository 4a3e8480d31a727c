"""The command line as users run it: start-up, throughput with process start included, parallel files,
and segmentation quality on long recordings of held-out clips (``make bench``, section ``cli``).

Benchmarks: make bench

Every timing runs ``audioclf`` in a fresh process, as a shell would, with the ONNX cache in a
temporary folder warmed by one untimed run (:func:`~audioclf_lib.onnx_export.cached_onnx_model`).
"""
from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
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


def _wall(cmd: list[str], env: dict, repeat: int = 1) -> float:
    """Median wall seconds of ``cmd`` (it must succeed)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _long_audio(seconds: float) -> np.ndarray:
    """Starter recordings of every class end to end, repeated to ``seconds`` (16 kHz)."""
    clips = []
    for cls in ("music", "speech", "noise"):
        clips += sorted((data_dir() / cls).glob("*"))[:30]
    pieces = [load_audio(c, SR)[0] for c in clips]
    return np.resize(np.concatenate(pieces), int(seconds * SR)).astype(np.float32)


def cli_benchmarks(*, hour_seconds: float = 3600.0, n_files: int = 100, model: str = "music-speech-noise") -> pd.DataFrame:
    """Wall times of ``audioclf`` runs in fresh processes, with the ratios the command line is judged by.

    Benchmarks: make bench

    Parameters
    ----------
    hour_seconds : float
        Length of the long file (one hour in the full run).
    n_files : int
        Number of 10-s files for the ``--jobs`` comparison.
    model : str
        Bundled model to classify with.

    Returns
    -------
    pd.DataFrame
        One row per measurement: ``what``, ``wall_s``, ``x_realtime`` (audio seconds per wall
        second, start-up included) and ``note``.
    """
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env = {**os.environ, "AUDIOCLF_ONNX_CACHE": str(tmp / "onnx"), "OMP_NUM_THREADS": "1"}
        base = _audioclf()
        rows.append({"what": "audioclf --help", "wall_s": _wall([*base, "--help"], env, repeat=5), "x_realtime": None,
                     "note": "median of 5"})
        y = _long_audio(max(hour_seconds, 10.0))
        short = tmp / "ten_seconds.wav"
        sf.write(short, y[: 10 * SR], SR, subtype="PCM_16")
        classify = [*base, "classify", "--model", model, "--quiet"]
        _wall([*classify, str(short)], env)  # writes the ONNX cache
        wall = _wall([*classify, str(short)], env, repeat=3)
        rows.append({"what": "classify a 10-s file, cold shell, warm ONNX cache", "wall_s": wall, "x_realtime": 10 / wall,
                     "note": "median of 3; default policy (0.5-s hop)"})
        long = tmp / "long.wav"
        sf.write(long, y[: int(hour_seconds * SR)], SR, subtype="PCM_16")
        del y
        core = _one_core()
        for label, extra in (("default policy, 0.5-s hop", []), ("back-to-back 5-s windows (--hop 5)", ["--hop", "5"])):
            wall = _wall([*core, *classify, *extra, str(long)], env)
            rows.append({"what": f"classify {hour_seconds / 3600:g} h on one core, start-up included", "wall_s": wall,
                         "x_realtime": hour_seconds / wall, "note": label + (" (taskset -c 0)" if core else " (all cores)")})
        files = tmp / "files"
        files.mkdir()
        for k in range(n_files):
            (files / f"{k:03d}.wav").symlink_to(short)
        walls = {}
        for jobs in (1, 2):
            walls[jobs] = _wall([*classify, "--jobs", str(jobs), str(files)], env)
            rows.append({"what": f"classify {n_files} files of 10 s, --jobs {jobs}", "wall_s": walls[jobs],
                         "x_realtime": n_files * 10 / walls[jobs], "note": "default policy"})
        rows.append({"what": "--jobs 2 speed-up over --jobs 1", "wall_s": None, "x_realtime": None,
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
    from .data import build_manifest, split_manifest
    from .predict import Predictor
    from .segments.evaluate import concatenated_recording, evaluate_segments

    manifest = split_manifest(build_manifest(data_dir())[0], seed=0)
    test = manifest[manifest["split"] == "test"]
    clips = {cls: [data_dir() / p for p in rows["path"]] for cls, rows in test.groupby("class")}
    predictor = Predictor(model)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(100, 100 + n_recordings):
            y, reference = concatenated_recording(clips, sr=SR, seed=seed)
            path = Path(tmp) / f"rec{seed}.wav"
            sf.write(path, y, SR)
            s = evaluate_segments(reference, predictor.segment_file(path).segments, tolerance_s=0.5)
            rows.append({"recording": seed, "minutes": y.size / SR / 60, "frame_accuracy": s["frame_accuracy"],
                         "median_boundary_error_s": s["median_boundary_error_s"], "boundary_f1": s["boundary_f1"],
                         "ref_segments": s["n_ref_segments"], "pred_segments": s["n_pred_segments"]})
    table = pd.DataFrame(rows)
    summary = {"recording": "all", "minutes": table["minutes"].sum(), "frame_accuracy": table["frame_accuracy"].mean(),
               "median_boundary_error_s": table["median_boundary_error_s"].median(),
               "boundary_f1": table["boundary_f1"].mean(), "ref_segments": table["ref_segments"].sum(),
               "pred_segments": table["pred_segments"].sum()}
    return pd.concat([table, pd.DataFrame([summary])], ignore_index=True)
