"""Benchmarks, side by side in one process: seed pipeline vs ours, throughput, training, live loop.

    python -m audioclf_lib bench [--quick] [--sections latency,classify,prepare,train,live]

Prints tables and, as the last line, one JSON object; writes the same to
``benchmarks/<date>-<machine>.json`` and ``.md``. Medians and 95th percentiles over many repetitions
after warm-up; thread counts are stated (on a shared 2-core machine one thread is the honest default).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .audio import load_audio, resample
from .checkpoint import Checkpoint, CheckpointError, bundled_checkpoints, load_checkpoint
from .commands.bench import SECTIONS
from .config import REPO_ROOT, FeatureConfig, data_dir
from .features import FeatureExtractor, seed_image_via_matplotlib
from .models import build_model
from .timing import time_ms, torch_threads

__all__ = ["run", "latency_table"]

SEED_SR = 44_100  # the seed recorded at 44.1 kHz


def machine_summary() -> dict:
    """What the numbers were measured on."""
    info = {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(), "python": platform.python_version(),
            "torch": torch.__version__, "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return info


def _checkpoints() -> dict[str, Checkpoint]:
    """Bundled checkpoints by name; a registry model with random weights if none are bundled."""
    out = {}
    for name, path in bundled_checkpoints().items():
        try:
            out[name] = load_checkpoint(path)
        except CheckpointError:
            continue
    if not out:
        out["mel_cnn (untrained)"] = Checkpoint(model=build_model("mel_cnn", 3).eval(), model_name="mel_cnn", model_kwargs={},
                                                class_names=["music", "speech", "noise"], feature_config=FeatureConfig())
    return out


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def latency_table(*, repeat: int = 100, threads_list=(1, 2), onnx: bool = True) -> pd.DataFrame:
    """End-to-end latency per 5-s window at 44.1 kHz (float samples in -> probabilities out), split by stage.

    Benchmarks: make bench

    Per bundled model: the stages composed by hand with the model in torch and in ONNX Runtime,
    and ``Predictor.predict`` as the CLI and the live loop call it (its default backend, plus the
    input checks and the silence gate), so the table shows what a user gets, not only the parts.
    """
    from .onnx_export import onnx_available, onnx_bytes
    from .predict import Predictor

    rng = np.random.default_rng(0)
    y44 = load_audio(sorted((data_dir() / "music").glob("*"))[0], SEED_SR)[0] if (data_dir() / "music").exists() else None
    if y44 is None or y44.size < 5 * SEED_SR:
        y44 = (0.1 * rng.standard_normal(5 * SEED_SR)).astype(np.float32)
    y44 = y44[: 5 * SEED_SR]
    rows = []
    seed_model = build_model("seed_cnn2d", 2).eval()
    checkpoints = _checkpoints()  # loaded once, timed at every thread count
    onnx = onnx and onnx_available()
    for threads in threads_list:
        image = torch.from_numpy(seed_image_via_matplotlib(y44, SEED_SR))[None]
        render = time_ms(lambda: seed_image_via_matplotlib(y44, SEED_SR), repeat=max(5, repeat // 10), threads=threads)
        cnn = time_ms(lambda: seed_model(image), repeat=repeat // 2, threads=threads)
        total = time_ms(lambda: seed_model(torch.from_numpy(seed_image_via_matplotlib(y44, SEED_SR))[None]),
                        repeat=max(5, repeat // 10), threads=threads)
        rows.append({"pipeline": "seed-faithful (matplotlib PNG -> resize -> seed CNN)", "threads": threads,
                     "resample_ms": 0.0, "features_ms": render["median_ms"], "model_ms": cnn["median_ms"],
                     "total_ms": total["median_ms"], "total_p95_ms": total["p95_ms"]})
        for name, ckpt in checkpoints.items():
            model, config = ckpt.model.eval(), ckpt.feature_config
            fe = FeatureExtractor(config).eval()
            x = fe(torch.from_numpy(resample(y44, SEED_SR, config.sample_rate))[None])
            res = time_ms(lambda: resample(y44, SEED_SR, config.sample_rate), repeat=repeat, threads=threads)
            feat = time_ms(lambda: fe(torch.from_numpy(resample(y44, SEED_SR, config.sample_rate))[None]),
                           repeat=repeat, threads=threads)["median_ms"] - res["median_ms"]
            runners = {"torch": lambda f: torch.softmax(model(f), -1)}
            if onnx:
                try:
                    with torch_threads(threads):
                        ort_model = onnx_bytes(ckpt, threads=threads)[1]
                    runners["ONNX Runtime model"] = lambda f, m=ort_model: _softmax(m(f))
                except Exception as exc:  # an architecture the exporter cannot express: report, go on
                    print(f"ONNX export of {name} failed: {str(exc).splitlines()[0][:120]}", file=sys.stderr)
            for label, runner in runners.items():
                mod = time_ms(lambda: runner(x), repeat=repeat, threads=threads)
                tot = time_ms(lambda: runner(fe(torch.from_numpy(resample(y44, SEED_SR, config.sample_rate))[None])),
                              repeat=repeat, threads=threads)
                rows.append({"pipeline": f"{name} ({label})", "threads": threads, "resample_ms": res["median_ms"],
                             "features_ms": feat, "model_ms": mod["median_ms"], "total_ms": tot["median_ms"],
                             "total_p95_ms": tot["p95_ms"]})
            with torch_threads(threads):
                predictor = Predictor(ckpt, device="cpu")
            tot = time_ms(lambda: predictor.predict(y44, SEED_SR), repeat=repeat, threads=threads)
            rows.append({"pipeline": f"{name} (Predictor.predict, {predictor.backend})", "threads": threads,
                         "resample_ms": np.nan, "features_ms": np.nan, "model_ms": np.nan, "total_ms": tot["median_ms"],
                         "total_p95_ms": tot["p95_ms"]})
    table = pd.DataFrame(rows)
    seed_total = table[table["pipeline"].str.startswith("seed-faithful")].set_index("threads")["total_ms"]
    table["seed / this"] = [seed_total[t] / v for t, v in zip(table["threads"], table["total_ms"])]
    return table


def cuda_table(*, repeat: int = 100) -> pd.DataFrame | None:
    """The same stages on CUDA, batch 1 and 64 (only where a GPU is present)."""
    if not torch.cuda.is_available():
        return None
    rows = []
    dev = torch.device("cuda")
    for name, ckpt in _checkpoints().items():
        model, config = ckpt.model.to(dev).eval(), ckpt.feature_config
        fe = FeatureExtractor(config).to(dev)
        for batch in (1, 64):
            w = torch.randn(batch, config.window_samples, device=dev) * 0.1

            def step():
                out = torch.softmax(model(fe(w)), -1)
                torch.cuda.synchronize()
                return out

            t = time_ms(step, repeat=repeat)
            rows.append({"model": name, "batch": batch, "ms per batch": t["median_ms"], "ms per window": t["median_ms"] / batch})
        model.cpu()
    return pd.DataFrame(rows)


_CLASSIFY_CHILD = """
import json, sys, time, torch
torch.set_num_threads(int(sys.argv[3]))
from audioclf_lib.predict import Predictor
from audioclf_lib.timing import peak_rss_mb
p = Predictor(sys.argv[1], device="cpu")
t0 = time.perf_counter()
table = p.predict_file(sys.argv[2])
dt = time.perf_counter() - t0
print(json.dumps({"seconds": dt, "segments": len(table), "peak_rss_mb": peak_rss_mb()}))
"""


def classify_throughput(*, minutes: float = 20.0, threads_list=(1, 2)) -> pd.DataFrame:
    """``classify`` on one long 44.1-kHz file: audio seconds per wall second, and peak RSS (separate process)."""
    rows = []
    clips = sorted((data_dir() / "music").glob("*"))[:40] + sorted((data_dir() / "noise").glob("*"))[:40]
    pieces = [load_audio(c, SEED_SR)[0] for c in clips] or [np.zeros(SEED_SR, np.float32)]
    y = np.resize(np.concatenate(pieces), int(minutes * 60 * SEED_SR)).astype(np.float32)
    import soundfile as sf

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.wav"
        sf.write(path, y, SEED_SR, subtype="PCM_16")
        del y, pieces
        for name in [n for n in ("music-speech-noise", "music-noise") if n in bundled_checkpoints()][:1]:
            for threads in threads_list:
                out = subprocess.run([sys.executable, "-c", _CLASSIFY_CHILD, name, str(path), str(threads)],
                                     capture_output=True, text=True, check=True)
                r = json.loads(out.stdout.strip().splitlines()[-1])
                rows.append({"model": name, "threads": threads, "audio_minutes": minutes, "wall_s": r["seconds"],
                             "x_realtime": minutes * 60 / r["seconds"], "segments": r["segments"], "peak_rss_mb": r["peak_rss_mb"]})
    return pd.DataFrame(rows)


def prepare_throughput(*, n_clips: int = 300) -> pd.DataFrame:
    """Notebook 01's decoding + feature extraction: clips per second, serial vs parallel."""
    from .data import build_manifest, load_clips
    from .features import extract_features
    from .windows import eval_windows

    manifest, _ = build_manifest(data_dir())
    manifest = manifest.sample(n=min(n_clips, len(manifest)), random_state=0).reset_index(drop=True)
    rows = []
    for jobs in (1, os.cpu_count() or 1):
        t0 = time.perf_counter()
        clips, _ = load_clips(manifest, data_dir(), 16_000, n_jobs=jobs, progress=False)
        decode = time.perf_counter() - t0
        windows, _ = eval_windows(clips, ["music", "speech", "noise"], FeatureConfig().window_samples)
        with torch_threads(1):
            t0 = time.perf_counter()
            extract_features(windows, FeatureConfig())
            feats = time.perf_counter() - t0
        rows.append({"workers": jobs, "clips": len(clips), "decode_clips_per_s": len(clips) / decode,
                     "windows": len(windows), "features_windows_per_s": len(windows) / feats})
    return pd.DataFrame(rows)


def training_speed(*, windows: int = 256) -> pd.DataFrame:
    """Seconds per 1,000 training windows (features + forward + backward) for each notebook's model."""
    from .train import TrainConfig, fit
    from .windows import TrainWindows
    from .data import build_manifest, load_clips

    manifest, _ = build_manifest(data_dir())
    manifest = manifest.groupby("class").head(30).reset_index(drop=True)
    clips, _ = load_clips(manifest, data_dir(), 16_000, progress=False)
    specs = [("02 seed_cnn2d (seed RGB)", "seed_cnn2d", FeatureConfig(representation="seed_rgb", n_mels=128), {}),
             ("02 mel_cnn (log-mel)", "mel_cnn", FeatureConfig(), {}),
             ("03 seed_cnn3d (binned 64x64)", "seed_cnn3d", FeatureConfig(representation="binned3d", image_size=(64, 64)), {})]
    rows = []
    for label, name, config, kwargs in specs:
        ds = TrainWindows(clips, ["music", "noise"], config.window_samples, windows_per_epoch=windows)
        val = np.zeros((2, config.window_samples), np.float32)
        model = build_model(name, 2, **kwargs)
        with torch_threads(torch.get_num_threads()):
            t0 = time.perf_counter()
            fit(model, FeatureExtractor(config), ds, val, np.array([0, 1]), config=TrainConfig(num_epochs=1), device="cpu",
                progress=False)
            seconds = time.perf_counter() - t0
        rows.append({"model": label, "threads": torch.get_num_threads(), "s_per_1000_windows": seconds / windows * 1000})
    return pd.DataFrame(rows)


def live_benchmark(seconds: float) -> dict | None:
    """The live loop's decision latency and CPU share (notebook 05's streaming core), if available."""
    try:
        from .live.bench import run_live_benchmark
    except ImportError:
        return None
    return run_live_benchmark(seconds=seconds)


def run(args: argparse.Namespace) -> int:
    """Run the chosen sections side by side in this process, print their tables and one JSON line, save both.

    Benchmarks: make bench (``audioclf bench``; options in :mod:`audioclf_lib.commands.bench`)
    """
    sections = [s for s in args.sections.split(",") if s]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        print(f"error: unknown sections {sorted(unknown)}; choose from {SECTIONS}", file=sys.stderr)
        return 2
    quick = args.quick
    result: dict = {"date": dt.date.today().isoformat(), "machine": machine_summary(), "quick": quick}
    md = [f"# Benchmark {result['date']}", "", f"Machine: {json.dumps(result['machine'])}", ""]

    def show(title: str, table: pd.DataFrame | None, key: str) -> None:
        if table is None or table.empty:
            return
        text = table.to_string(index=False, float_format=lambda v: f"{v:.3f}")
        print(f"\n## {title}\n{text}", flush=True)
        md.extend([f"## {title}", "", "```", text, "```", ""])
        result[key] = table.to_dict(orient="records")

    if "latency" in sections:
        table = latency_table(repeat=10 if quick else 200)
        show("End-to-end latency per 5-s window (44.1 kHz float in -> probabilities out), medians", table, "latency")
        ours = table[~table["pipeline"].str.startswith("seed")]
        one = ours[ours["threads"] == 1]
        if not one.empty:
            best = one.loc[one["total_ms"].idxmin()]
            result["summary"] = {"seed_over_best_ours_1thread": float(best["seed / this"]), "best_pipeline": best["pipeline"],
                                 "best_total_ms_1thread": float(best["total_ms"])}
        show("CUDA", cuda_table(repeat=10 if quick else 100), "cuda")
    if "classify" in sections:
        show("classify on one long file", classify_throughput(minutes=1.0 if quick else 20.0, threads_list=(1,) if quick else (1, 2)),
             "classify")
    if "prepare" in sections:
        show("Notebook 01: decoding and features", prepare_throughput(n_clips=40 if quick else 300), "prepare")
    if "train" in sections:
        show("Training speed (CPU)", training_speed(windows=32 if quick else 256), "train")
    if "live" in sections:
        live = live_benchmark(5.0 if quick else 60.0)
        if live:
            show("Live loop", pd.DataFrame([live]), "live")
    if "cli" in sections:
        from .bench_segments import cli_benchmarks, segmentation_quality

        show("Command line in fresh processes (start-up included)",
             cli_benchmarks(hour_seconds=120.0 if quick else 3600.0, n_files=10 if quick else 100), "cli")
        show("Segmentation of long recordings of test-split clips and silence (default policy)",
             segmentation_quality(n_recordings=1 if quick else 6), "segmentation")
    if not args.no_save:
        args.out.mkdir(parents=True, exist_ok=True)
        stem = f"{result['date']}-{platform.node() or 'machine'}" + ("-quick" if quick else "")
        (args.out / f"{stem}.json").write_text(json.dumps(result, indent=1, default=str))
        (args.out / f"{stem}.md").write_text("\n".join(md))
    print(json.dumps(result, default=str))
    return 0
