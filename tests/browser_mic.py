"""The browser's microphone in tests: a JupyterLab whose kernels have no microphone, a Chromium whose fake microphone
plays a real clip, a second client on a notebook's kernel, and the live loop's decisions checked against ``classify``.

Used by ``tests/test_browser_source.py`` (the live demo) and ``tests/test_browser_recorder.py`` (notebook 04's
recorder). Fixture (import it in conftest): ``lab_without_microphone`` (session).
"""
from __future__ import annotations

import json
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from audioclf_lib.audio import load_audio
from audioclf_lib.live import demo_clips
from tests.jupyter_browser import CHROMIUM_ARGS, CHROMIUM_PATH, JupyterServer, start_jupyter_lab

__all__ = ["BROWSER_RATE", "MODEL", "TRACK_AUDIO", "OPEN_AUDIO", "held_out_wav", "fake_mic_chromium",
           "lab_without_microphone", "run_in_kernel", "kernel_census", "live_results", "check_against_classify",
           "heard_stretch", "best_offset"]

BROWSER_RATE = 48_000
MODEL = "music-speech-noise"

# Keeps every AudioContext and microphone stream the page opens, to check that Stop closes them.
TRACK_AUDIO = """(() => {
  const seen = window.__audioclf = {contexts: [], streams: []};
  const Original = window.AudioContext;
  window.AudioContext = class extends Original {
    constructor(...args) { super(...args); seen.contexts.push(this); }
  };
  if (navigator.mediaDevices) {
    const getUserMedia = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
    navigator.mediaDevices.getUserMedia = async (constraints) => {
      const stream = await getUserMedia(constraints);
      seen.streams.push(stream);
      return stream;
    };
  }
})();"""
OPEN_AUDIO = """() => ({
  contexts: window.__audioclf.contexts.length,
  open: window.__audioclf.contexts.filter(c => c.state !== "closed").length,
  tracks: window.__audioclf.streams.flatMap(s => s.getTracks()).length,
  live: window.__audioclf.streams.flatMap(s => s.getTracks()).filter(t => t.readyState !== "ended").length,
  settings: window.__audioclf.streams.flatMap(s => s.getAudioTracks()).map(t => t.getSettings()),
})"""


def held_out_wav(cls: str, folder: Path) -> Path:
    """Held-out ``cls`` clips (that the 3-class model gets right offline), 8 s as a 16-bit WAV for Chromium's fake
    microphone."""
    from audioclf_lib.predict import Predictor

    paths = demo_clips(cls, seconds=8.0, predictor=Predictor(MODEL, silence_dbfs=None))
    y = np.concatenate([load_audio(p, BROWSER_RATE)[0] for p in paths])[: 8 * BROWSER_RATE]
    path = Path(folder) / f"{cls}.wav"
    sf.write(path, y, BROWSER_RATE, subtype="PCM_16")
    return path


@contextmanager
def fake_mic_chromium(chromium, wav: Path, *, fake_ui: bool):
    """A second headless Chromium, launched through the session's Playwright (``chromium`` fixture: one Playwright
    per thread), whose fake capture device plays ``wav`` in a loop; ``fake_ui``: every page is allowed the
    microphone at once (``--use-fake-ui-for-media-stream``), else only once the test grants it."""
    flags = ["--use-fake-device-for-media-stream", f"--use-file-for-fake-audio-capture={wav}"]
    browser = chromium.browser_type.launch(executable_path=CHROMIUM_PATH, headless=True, args=[
        *CHROMIUM_ARGS, *flags, *(["--use-fake-ui-for-media-stream"] if fake_ui else [])])
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture(scope="session")
def lab_without_microphone(tmp_path_factory):
    """JupyterLab whose kernels reach no sound server: the kernel has no input device."""
    server = start_jupyter_lab(tmp_path_factory.mktemp("lab-root"), state_dir=tmp_path_factory.mktemp("lab-state"),
                               env={"PULSE_SERVER": "unix:/nonexistent/native"})
    try:
        yield server
    finally:
        server.stop()


def run_in_kernel(server: JupyterServer, notebook: str, code: str, *, timeout: float = 60) -> str:
    """Run ``code`` in the kernel of the open ``notebook`` as a second client (through the kernel's connection
    file, as ``jupyter console --existing`` does) and return what it printed; an exception there fails the test."""
    from jupyter_client import BlockingKernelClient

    kernel_id = next(s["kernel"]["id"] for s in server.api("sessions") if Path(s["path"]).name == notebook)
    client = BlockingKernelClient(connection_file=str(server.log_path.parent / "runtime" / f"kernel-{kernel_id}.json"))
    client.load_connection_file()
    client.start_channels()
    out, errors = [], []

    def on_output(msg):
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            errors.append("\n".join(msg["content"]["traceback"]))

    try:
        client.wait_for_ready(timeout=timeout)
        reply = client.execute_interactive(code, store_history=False, timeout=timeout, output_hook=on_output)
    finally:
        client.stop_channels()
    assert reply["content"]["status"] == "ok" and not errors, errors
    return "".join(out)


CENSUS = """
import json as _json, threading as _threading
import comm as _comm
from ipywidgets.widgets import widget as _widget
print(_json.dumps({"threads": sorted(t.name for t in _threading.enumerate()), "widgets": len(_widget._instances),
                   "comms": len(_comm.get_comm_manager().comms)}))
"""


def kernel_census(server: JupyterServer, notebook: str) -> dict:
    """What lives in the notebook's kernel: its threads' names, and how many widgets and comms it holds."""
    return json.loads(run_in_kernel(server, notebook, CENSUS).strip().splitlines()[-1])


DUMP = """
import numpy as _np
_rs = list({engine}.results)
_np.savez({path!r}, labels=_np.array([r.label for r in _rs]), audio=_np.stack([r.audio for r in _rs]),
          probs=_np.array([[r.raw_probabilities.get(c, _np.nan) for c in {engine}.predictor.class_names] for r in _rs]),
          classes=_np.array({engine}.predictor.class_names), silence_dbfs={engine}.silence_dbfs,
          sample_rate=_rs[0].sample_rate, mode={engine}.mode)
print(len(_rs))
"""


def live_results(server: JupyterServer, notebook: str, path: Path, engine: str = "demo.engine") -> dict:
    """The live loop's decisions of its latest run (labels, each window's own probabilities and audio), from the
    notebook's kernel."""
    run_in_kernel(server, notebook, DUMP.format(engine=engine, path=str(path)))
    with np.load(path) as saved:
        return {k: saved[k] for k in saved.files}


def best_offset(window: np.ndarray, audio: np.ndarray) -> tuple[int, float]:
    """The offset in ``audio`` where ``window`` (shorter) fits best, and the Pearson r there."""
    n = len(window)
    size = 1 << int(np.ceil(np.log2(len(audio) + n)))
    xcorr = np.fft.irfft(np.fft.rfft(audio, size) * np.conj(np.fft.rfft(window, size)), size)[: len(audio) - n + 1]
    cumulative = np.concatenate([[0.0], np.cumsum(np.square(audio, dtype=np.float64))])
    energy = cumulative[n:] - cumulative[:-n]  # so that loud stretches do not win by loudness alone
    k = int(np.argmax(xcorr / np.sqrt(energy + 1e-12)))
    return k, float(np.corrcoef(audio[k : k + n], window)[0, 1])


def heard_stretch(window: np.ndarray, y: np.ndarray, sr: int, *, piece_s: float = 0.25,
                  max_jump_s: float = 0.05) -> tuple[np.ndarray, dict]:
    """The stretch of Chromium's looped fake microphone that a live ``window`` heard, rebuilt from the file ``y``.

    The fake device plays the file in a loop from wherever it happens to be when the page asks, with a few
    milliseconds of silence at its start, where the loop closes and, on a loaded machine, now and then where its
    thread ran late.
    Each ``piece_s`` piece of the window is located in the file (cross-correlation); consecutive pieces at one
    offset are one run of the file; between two runs the offset moves by at most ``max_jump_s`` (silence put in,
    or audio skipped), at the sample where the window fits best.

    Returns
    -------
    stretch : np.ndarray, shape (len(window),)
        The file's samples at those offsets (modulo its length: the loop), zeros where silence was put in.
    where : dict
        ``start_s`` (where the window's first sample is in the file; below 0 when it begins with silence before
        the file's first sample), ``lead_ms`` (silence at the start of the stream), ``jumps`` (``(time in the
        window, s; jump, ms)`` of every offset change: negative is silence put in), ``inside`` (one run of the file
        that does not cross its end) and ``r`` (Pearson r of stretch and window).
    """
    n, L, m = window.size, y.size, int(piece_s * sr)
    looped = np.concatenate([y, y[:m]])
    runs: list[list[int]] = []  # [start, end, offset]: window[start:end] is y[(t + offset) % L]
    for a in range(0, n - m + 1, m):
        k, r = best_offset(window[a : a + m], looped)
        if r <= 0.99:  # a piece across a jump fits nowhere exactly
            continue
        offset = (k - a) % L
        if runs and runs[-1][2] == offset and runs[-1][1] >= a:
            runs[-1][1] = a + m
        else:
            runs.append([a, a + m, offset])
    assert runs, "no piece of the live window is found in the file"
    runs[0][0], runs[-1][1] = 0, n
    t = np.arange(n)
    source = np.full(n, -1)  # per sample: where in the file it comes from; -1: silence put in
    jumps = []
    done = 0  # source[:done] is set
    for (s0, e0, o0), (s1, e1, o1) in zip(runs, runs[1:]):
        delta = (o1 - o0 + L // 2) % L - L // 2  # > 0: audio skipped; < 0: silence put in
        assert abs(delta) <= max_jump_s * sr, f"the window's runs {runs}: not one loop of the file"
        inserted = max(0, -delta)
        lo, hi = max(done, e0 - m), min(e1, s1 + m)  # the jump lies between the runs, or near their edges
        # the squared misfit of [lo, c) on run 0, [c, c + inserted) as silence, [c + inserted, hi) on run 1
        part = window[lo:hi].astype(np.float64)
        cum = [np.concatenate([[0.0], np.cumsum(e)]) for e in
               ((part - y[(t[lo:hi] + o0) % L]) ** 2, part ** 2, (part - y[(t[lo:hi] + o1) % L]) ** 2)]
        c = np.arange(hi - lo - inserted + 1)  # where the jump happened, from lo
        err = cum[0][c] + cum[1][c + inserted] - cum[1][c] + cum[2][-1] - cum[2][c + inserted]
        c = lo + int(np.argmin(err))
        source[done:c] = (t[done:c] + o0) % L
        source[c : c + inserted] = -1
        source[c + inserted : hi] = (t[c + inserted : hi] + o1) % L
        done = hi
        jumps.append((round(c / sr, 3), round(1e3 * delta / sr, 1)))
    o_last = runs[-1][2]
    source[done:] = (t[done:] + o_last) % L
    # the stream may begin with silence (the capture's first moments): where it ends fits best
    head = min(m, n)
    miss = np.square(window[:head] - y[source[:head]], dtype=np.float64)
    err = np.concatenate([[0.0], np.cumsum(np.square(window[:head], dtype=np.float64))]) + \
        np.concatenate([np.cumsum(miss[::-1])[::-1], [0.0]])
    lead = int(np.argmin(err))
    source[:lead] = -1
    stretch = np.where(source >= 0, y[np.maximum(source, 0)], 0.0).astype(np.float32)
    r = float(np.corrcoef(stretch, window)[0, 1])
    start = int(source[lead]) - lead
    inside = len(runs) == 1 and 0 <= start + lead and start + n <= L
    return stretch, dict(start_s=round(start / sr, 3), lead_ms=round(1e3 * lead / sr, 1), jumps=jumps, inside=inside,
                         r=round(r, 4))


def check_against_classify(live: dict, wav: Path, folder: Path, *, expected: str, atol: float = 0.01) -> list[dict]:
    """The live loop's decisions against the command line's on the same file; returns one row per live window.

    Chromium's fake microphone plays ``wav`` in a loop from wherever it happens to be when the page asks (with a few
    milliseconds of silence now and then), so each live window is first located in the looped file
    (:func:`heard_stretch`; the rebuilt stretch must match the window, r > 0.99). Then:

    * **per window, aligned in time**: that stretch of the file through :func:`~audioclf_lib.predict.decide_window`,
      the per-window decision that ``audioclf classify`` (its window rows), the live loop and evaluation share: the
      same label, and each class probability within ``atol`` (the live audio went through the browser and a
      streaming resampler, the file through one resampling of the whole);
    * **against the command line itself**: ``audioclf classify wav`` (its segments and its window rows every 0.5 s):
      a live window that lies inside the file gets the label of the command line's nearest window row, and the
      live labels are exactly the labels of the command line's segments (one class, ``expected``, for a clip of
      one class).
    """
    from audioclf_lib.predict import Predictor, decide_window

    assert str(live["mode"]) == "windows", "the back-to-back windows: each decision is one window's own"
    predictor = Predictor(MODEL, device="cpu")
    sr = predictor.config.sample_rate
    assert int(live["sample_rate"]) == sr and list(live["classes"]) == list(predictor.class_names)
    segments_csv, windows_csv = folder / "segments.csv", folder / "windows.csv"
    cli = subprocess.run([sys.executable, "-m", "audioclf_lib", "classify", str(wav), "--model", MODEL, "--device",
                          "cpu", "-o", str(segments_csv), "--csv", str(windows_csv), "--quiet"],
                         capture_output=True, text=True, timeout=300)
    assert cli.returncode == 0, cli.stderr
    segments, cli_windows = pd.read_csv(segments_csv), pd.read_csv(windows_csv)
    y = load_audio(wav, sr)[0]
    rows = []
    for label, probs, window in zip(live["labels"], live["probs"], live["audio"]):
        stretch, where = heard_stretch(window, y, sr)
        assert where["r"] > 0.99, f"a live window is not the file as the fake microphone plays it: {where}"
        offline = decide_window(predictor, stretch, silence_dbfs=float(live["silence_dbfs"]))
        diff = float(np.max(np.abs(probs - [offline.probabilities.get(c, np.nan) for c in predictor.class_names])))
        row = dict(**where, live=str(label), offline=offline.label, max_prob_diff=round(diff, 5), cli=None)
        if where["inside"]:
            nearest = cli_windows.iloc[int(np.argmin(np.abs(cli_windows["start_s"] - where["start_s"])))]
            row["cli"] = nearest["label"]  # inside the file: the command line's window row within a quarter hop
        rows.append(row)
        assert offline.label == label and diff <= atol, rows
        assert row["cli"] in (None, label), rows
    assert set(segments["label"]) == set(live["labels"]) == {expected}, (segments, rows)
    return rows
