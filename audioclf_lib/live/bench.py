"""Benchmark of the live loop (notebook 05): decision latency, UI update latency, CPU share, memory, overflows.

    python -m audioclf_lib.live.bench [--seconds 60] [--mode sliding|windows] [--source auto|file|mic]

Also called by ``python -m audioclf_lib bench`` (``make bench``) through :func:`run_live_benchmark`.

What is measured, per decision:

* **decision latency**: from the moment the block that completes a window reaches the callback
  (:attr:`LiveResult.window_end`) to the result being published to listeners: queueing, gate,
  front end, model, smoothing.
* **UI update latency**: from the same moment to the end of the :class:`~audioclf_lib.live.ui.LiveDemo`
  listener, i.e. all widget values (result, history, spectrogram PNG, stats) set and their comm messages
  handed to the kernel. The browser's paint after that is not included (a headless-browser test checks it
  happens, not how fast).
* **CPU**: the worker thread's own CPU time (``time.thread_time``; it runs the UI listener too) and the whole
  process's (``psutil``: the PortAudio callback or file thread as well), as a share of one core over the run.
* **memory**: RSS growth of the process after a warm-up (psutil), overflows and dropped blocks.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

__all__ = ["run_live_benchmark"]


def _audio_for(seconds: float, sr: int, predictor) -> np.ndarray:
    """Held-out music, speech and noise recordings in turn (10 s each), repeated to ``seconds``."""
    from ..audio import load_audio
    from .harness import demo_clips

    pieces = []
    for cls in ("music", "speech", "noise"):
        if cls not in predictor.class_names:
            continue
        y = np.concatenate([load_audio(p, sr)[0] for p in demo_clips(cls, seconds=10.0)])
        pieces.append(y[: 10 * sr])
    one = np.concatenate(pieces)
    return np.resize(one, int(seconds * sr) + sr).astype(np.float32)


def run_live_benchmark(seconds: float = 60.0, *, model: str = "music-speech-noise", mode: str = "sliding",
                       source: str = "auto", hop_seconds: float = 0.5, ui: bool = True, threads: int = 1,
                       device: str | None = None) -> dict:
    """Run the live loop for ``seconds`` of real-time audio and return flat figures (one table row).

    Notebook: 05_live_demo.ipynb (its section "What it costs"; ``make bench`` runs it)

    Parameters
    ----------
    seconds : float
        Real-time audio to stream (s).
    model : str
        Bundled checkpoint name or path.
    mode : str
        ``"sliding"`` (a decision every ``hop_seconds``: the busiest case) or ``"windows"``.
    source : str
        ``"file"`` (recordings in real time through :class:`~audioclf_lib.live.sources.FileSource`), ``"mic"``
        (the default microphone, with the recordings played into the room: needs the virtual microphone), or
        ``"auto"`` (``"mic"`` when :func:`~audioclf_lib.live.harness.loopback_room_available`, else ``"file"``).
    hop_seconds : float
        Sliding mode: seconds between decisions.
    ui : bool
        Drive the loop through the :class:`~audioclf_lib.live.ui.LiveDemo` widgets (no browser) and
        measure their update latency too.
    threads : int
        Torch intra-op threads (1: the honest default on a shared 2-core machine).
    device : str, optional
        ``"cuda"``, ``"cpu"`` or ``None`` (CUDA when available).

    Returns
    -------
    figures : dict
        Source, mode, model, decisions, decision latency (median, p95), inference, UI update latency,
        worker and process CPU share of one core, RSS growth, overflows, dropped blocks, queue peak.
    """
    import psutil
    import torch

    from ..predict import Predictor
    from .engine import LiveClassifier
    from .events import LiveResult
    from .harness import loopback_room_available, play_into_room
    from .sources import FileSource, MicSource

    torch.set_num_threads(threads)
    if source == "auto":
        source = "mic" if loopback_room_available() else "file"
    if source not in ("file", "mic"):
        raise ValueError(f"source={source!r}; expected 'auto', 'file' or 'mic'")
    predictor = Predictor(model, device=device, silence_dbfs=None)
    sr = predictor.config.sample_rate
    y = _audio_for(seconds + 2.0, sr, predictor)
    demo = None
    if ui:
        from .ui import LiveDemo

        demo = LiveDemo(models=[model], device=device, mode=mode, hop_seconds=hop_seconds, files={"bench": []},
                        source="mic")
        engine = demo.engine
        engine.model = predictor
    else:
        engine = LiveClassifier(predictor, mode=mode, hop_seconds=hop_seconds)
    engine.mode, engine.hop_seconds = mode, hop_seconds
    timings: list[tuple[float, float]] = []  # (decision latency, inference) per result; results keep only a few windows
    engine.add_listener(lambda e: timings.append((e.latency_ms, e.inference_ms)) if isinstance(e, LiveResult) else None)
    playback = None
    process = psutil.Process()
    # warm-up: the first window pays one-off costs (allocations, lazy imports); not part of the figures
    predictor.probabilities(np.zeros((1, predictor.config.window_samples), np.float32))
    cpu0, t0 = process.cpu_times(), time.monotonic()
    rss0 = None  # taken after a warm-up of min(10 s, seconds / 4): steady-state growth, not first allocations
    try:
        if source == "mic":
            playback = play_into_room(y, sr)
            time.sleep(0.3)
            engine.start(MicSource())
        else:
            engine.start(FileSource(y, sr))
        deadline = t0 + seconds
        while time.monotonic() < deadline and engine.running:
            time.sleep(0.1)
            if rss0 is None and time.monotonic() - t0 >= min(10.0, seconds / 4):
                rss0 = process.memory_info().rss
        engine.stop()
    finally:
        if playback is not None:
            playback.stop()
        engine.stop()
    wall = time.monotonic() - t0
    cpu1, rss1 = process.cpu_times(), process.memory_info().rss
    lat = np.array([t[0] for t in timings]) if timings else np.zeros(1)
    inf = np.array([t[1] for t in timings]) if timings else np.zeros(1)
    out = {
        "source": source if source == "file" else "virtual mic",
        "mode": mode if mode == "windows" else f"sliding {hop_seconds:g} s",
        "model": predictor.name, "device": str(predictor.device), "torch_threads": threads,
        "seconds": round(wall, 1), "decisions": len(timings),
        "decision_latency_median_ms": round(float(np.median(lat)), 1),
        "decision_latency_p95_ms": round(float(np.percentile(lat, 95)), 1),
        "inference_median_ms": round(float(np.median(inf)), 1),
    }
    if demo is not None:
        ui_lat = np.array(list(demo.update_latency_ms)) if demo.update_latency_ms else np.zeros(1)
        out["ui_update_latency_median_ms"] = round(float(np.median(ui_lat)), 1)
        out["ui_update_latency_p95_ms"] = round(float(np.percentile(ui_lat, 95)), 1)
    busy = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    out.update({
        "worker_cpu_pct_of_core": round(100 * engine.stats.get("worker_cpu_s", 0.0) / wall, 2),
        "process_cpu_pct_of_core": round(100 * busy / wall, 2),
        "rss_growth_after_warmup_mb": round((rss1 - (rss0 or rss1)) / 2**20, 1),
        "overflows": int(engine.stats.get("overflows", 0)),
        "dropped_blocks": int(engine.stats.get("dropped_blocks", 0)),
        "max_queue_blocks": int(engine.stats.get("max_queue", 0)),
    })
    return out


def main(argv=None) -> int:
    """``python -m audioclf_lib.live.bench``: print the figures of :func:`run_live_benchmark`, then them as JSON.

    Notebook: 05_live_demo.ipynb

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    status : int
        0.
    """
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--mode", choices=("sliding", "windows"), default="sliding")
    parser.add_argument("--source", choices=("auto", "file", "mic"), default="auto")
    parser.add_argument("--model", default="music-speech-noise")
    parser.add_argument("--hop", type=float, default=0.5)
    parser.add_argument("--no-ui", action="store_true", help="measure the core alone, without the widgets")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default=None)
    args = parser.parse_args(argv)
    out = run_live_benchmark(args.seconds, model=args.model, mode=args.mode, source=args.source,
                             hop_seconds=args.hop, ui=not args.no_ui, threads=args.threads, device=args.device)
    for key, value in out.items():
        print(f"{key:30s} {value}")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
