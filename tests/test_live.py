"""The live loop (audioclf_lib.live: engine, sources, ui): real recordings, the bundled checkpoints, the virtual microphone.

Library-level tests stream real held-out clips through the file source (faster than real time where only the
logic is under test); the ``audio`` tests go through PortAudio and the virtual PulseAudio microphone in real time.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
import soundfile as sf

from audioclf_lib.audio import load_audio
from audioclf_lib.checkpoint import bundled_checkpoints
from audioclf_lib.live import (ERROR, FileSource, LiveClassifier, LiveError, LiveProgress, LiveResult, LiveStatus,
                               MicSource, demo_clips, save_window, stream_clips)
from tests.helpers import REPO_ROOT

SR = 16_000


@pytest.fixture(scope="module")
def predictors():
    """The bundled reference checkpoints (notebook 02), one torch thread as in the demo."""
    import torch

    from audioclf_lib.predict import Predictor

    torch.set_num_threads(1)
    bundled = bundled_checkpoints()
    missing = [m for m in ("music-noise", "music-speech-noise") if m not in bundled]
    assert not missing, f"bundled checkpoints {missing} missing: run notebooks/02_train_cnn.ipynb"
    return {2: Predictor("music-noise", silence_dbfs=None), 3: Predictor("music-speech-noise", silence_dbfs=None)}


@pytest.fixture(scope="module")
def clips(predictors):
    """Held-out (test split) recordings per class, >= 11 s each, that the models classify correctly offline."""
    return {cls: demo_clips(cls, seconds=21.0, predictor=predictors[3 if cls == "speech" else 2])
            for cls in ("music", "noise", "speech")}


def audio_of(paths, seconds: float) -> np.ndarray:
    y = np.concatenate([load_audio(p, SR)[0] for p in paths])
    assert y.size >= seconds * SR, f"only {y.size / SR:.1f} s of audio"
    return y[: int(seconds * SR)]


# --------------------------------------------------------------------------------------------
# the core, on the file source


def test_back_to_back_windows_classify_real_recordings(predictors, clips):
    y = np.concatenate([audio_of(clips["music"], 10.0), audio_of(clips["noise"], 10.0)])
    events = []
    engine = LiveClassifier(predictors[2], source=FileSource(y, SR, speed=8.0))
    engine.add_listener(events.append)
    assert engine.start()
    assert engine.join(30), "a 20-s file should play out"
    results = list(engine.results)
    assert [r.label for r in results] == ["music", "music", "noise", "noise"], [(r.label, r.confidence) for r in results]
    assert [r.start_s for r in results] == [0.0, 5.0, 10.0, 15.0]
    for r in results:  # each result carries its own window, for the spectrogram display
        start = int(r.start_s * SR)
        np.testing.assert_array_equal(r.audio, y[start:start + 5 * SR])
        assert set(r.probabilities) == {"music", "noise"} and r.confidence == max(r.probabilities.values())
    assert engine.state == "ended" and engine.stats["dropped_blocks"] == 0 and engine.stats["overflows"] == 0
    states = [e.state for e in events if isinstance(e, LiveStatus)]
    assert states == ["starting", "listening", "ended"]
    progress = [e for e in events if isinstance(e, LiveProgress)]
    assert progress and all(re.fullmatch(r"Recording… \d+\.\d s / 5\.0 s", p.text) for p in progress)
    assert max(p.fraction for p in progress) > 0.8
    assert not [t for t in threading.enumerate() if t.name.startswith("audioclf-live")]


def test_sliding_mode_decides_every_hop_with_smoothing(predictors, clips):
    y = np.concatenate([audio_of(clips["music"], 8.0), audio_of(clips["speech"], 8.0)])
    engine = LiveClassifier(predictors[3], mode="sliding", hop_seconds=0.5, smoothing=3,
                            source=FileSource(y, SR, speed=8.0))
    results = []
    engine.add_listener(lambda e: results.append(e) if isinstance(e, LiveResult) else None)
    engine.start()
    assert engine.join(30)
    assert len(engine.results) == 20, "the engine itself keeps only the latest results (each holds 5 s of audio)"
    assert [r.start_s for r in results] == [0.5 * k for k in range(len(results))]
    assert len(results) == int((16.0 - 5.0) / 0.5) + 1
    classes = predictors[3].class_names
    raw = np.array([[r.raw_probabilities[c] for c in classes] for r in results])
    for k, r in enumerate(results):  # the label comes from the mean of the last 3 probability vectors
        np.testing.assert_allclose([r.probabilities[c] for c in classes], raw[max(0, k - 2):k + 1].mean(0), rtol=1e-5)
        assert r.label == classes[int(np.argmax(raw[max(0, k - 2):k + 1].mean(0)))]
    assert results[0].label == "music" and results[-1].label == "speech"


def test_silence_gate_and_changing_it_while_running(predictors):
    rng = np.random.default_rng(0)
    quiet = (10 ** (-75 / 20) * rng.standard_normal(10 * SR)).astype(np.float32)  # about -75 dBFS
    engine = LiveClassifier(predictors[2], silence_dbfs=-60.0, source=FileSource(quiet, SR, speed=4.0))
    seen = []

    def lower_gate(event):
        if isinstance(event, LiveResult):
            seen.append(event)
            engine.silence_dbfs = -90.0  # the next window is judged with the new gate

    engine.add_listener(lower_gate)
    engine.start()
    assert engine.join(30)
    assert seen[0].label == "silence" and seen[0].confidence == 1.0 and seen[0].probabilities == {}
    assert seen[0].level_dbfs == pytest.approx(-75, abs=2)
    assert seen[1].label != "silence" and set(seen[1].probabilities) == {"music", "noise"}


def test_start_twice_is_harmless_and_stop_is_idempotent(predictors, clips):
    engine = LiveClassifier(predictors[2], source=FileSource(clips["music"]))
    assert engine.start() is True
    assert engine.start() is False, "a second Start while running does nothing"
    assert len([t for t in threading.enumerate() if t.name == "audioclf-live-worker"]) == 1
    assert engine.stop() and engine.stop(), "Stop twice is fine"
    assert engine.state == "stopped" and not engine.running
    assert engine.start(FileSource(clips["music"])) and engine.stop(), "Start after Stop works"


def test_missing_model_is_a_clear_error_then_start_recovers(predictors, clips):
    statuses = []
    engine = LiveClassifier("no-such-model", source=FileSource(clips["music"], speed=8.0))
    engine.add_listener(lambda e: statuses.append(e) if isinstance(e, LiveStatus) else None)
    with pytest.raises(LiveError, match=r"Model 'no-such-model' cannot be loaded: .*notebooks/02_train_cnn"):
        engine.start()
    assert engine.state == ERROR and "no-such-model" in engine.message and statuses[-1].state == ERROR
    assert not engine.running
    engine.model = "music-noise"
    assert engine.start(FileSource(clips["music"], speed=8.0))
    assert engine.wait_for_results(1, timeout=30)[0].label == "music"
    engine.stop()


class FailingPredictor:
    """The real predictor's interface, with a model that raises on the second window."""

    def __init__(self, predictor):
        self.inner, self.calls = predictor, 0
        self.name, self.class_names, self.config, self.device = "failing", predictor.class_names, predictor.config, predictor.device

    def probabilities(self, windows):
        self.calls += 1
        if self.calls == 2:
            raise RuntimeError("CUDA error: device-side assert triggered")
        return self.inner.probabilities(windows)


def test_model_that_raises_gives_an_error_state_and_start_recovers(predictors, clips):
    y = audio_of(clips["music"], 15.0)
    failing = FailingPredictor(predictors[2])
    engine = LiveClassifier(failing, source=FileSource(y, SR, speed=8.0))
    engine.start()
    assert engine.join(30)
    assert engine.state == ERROR and len(engine.results) == 1
    assert engine.message.startswith("The model failed on a window (RuntimeError: CUDA error")
    assert "Press Start to try again" in engine.message and isinstance(engine.last_exception, RuntimeError)
    assert engine.start(FileSource(y, SR, speed=8.0)), "Start again after the error"
    assert engine.join(30) and engine.state == "ended" and [r.label for r in engine.results] == ["music"] * 3


def test_a_failing_listener_does_not_stop_the_loop(predictors, clips):
    def broken(event):
        raise ValueError("listener bug")

    engine = LiveClassifier(predictors[2], source=FileSource(audio_of(clips["music"], 10.0), SR, speed=8.0))
    engine.add_listener(broken)
    engine.start()
    assert engine.join(30) and engine.state == "ended" and len(engine.results) == 2
    assert engine.stats["listener_errors"] > 0


class SlowPredictor:
    """The real predictor behind a model call that takes ``seconds`` (a big model on a slow machine)."""

    def __init__(self, predictor, seconds: float):
        self.inner, self.seconds = predictor, seconds
        self.name, self.class_names, self.config, self.device = "slow", predictor.class_names, predictor.config, predictor.device
        self.inside = threading.Event()

    def probabilities(self, windows):
        self.inside.set()
        time.sleep(self.seconds)
        return self.inner.probabilities(windows)


def test_stop_during_inference_publishes_nothing_after_stop(predictors, clips):
    slow = SlowPredictor(predictors[2], 0.4)
    engine = LiveClassifier(slow, source=FileSource(audio_of(clips["music"], 10.0), SR, speed=8.0))
    engine.start()
    assert slow.inside.wait(30), "the first window never reached the model"
    stopped_at = time.monotonic()
    assert engine.stop(), "Stop returns once the model call in progress has finished"
    assert not engine.running and engine.state == "stopped"
    assert all(r.published < stopped_at for r in engine.results), "a result was published after Stop"


def test_a_worker_that_falls_behind_drops_and_counts_blocks_and_goes_on(predictors, clips):
    slow = SlowPredictor(predictors[2], 1.0)  # 1 s per decision while audio arrives 8 times faster than real time
    engine = LiveClassifier(slow, source=FileSource(audio_of(clips["music"], 20.0), SR, speed=8.0), queue_seconds=1.0)
    engine.start()
    assert engine.join(60) and engine.state == "ended"
    s = engine.stats
    assert s["dropped_blocks"] > 0 and s["max_queue"] <= 20, s  # a 1-s queue of 50-ms blocks: bounded, not growing
    assert len(engine.results) >= 1 and engine.results[0].label == "music"


PORTAUDIO_MISSING = """
import ctypes.util
real = ctypes.util.find_library
ctypes.util.find_library = lambda name: None if "portaudio" in name else real(name)  # as if libportaudio2 were absent
from audioclf_lib.live import LiveClassifier, LiveError, MicSource, input_devices
print("devices:", input_devices())
class Stub:  # the Predictor interface, without loading torch
    name, class_names, device = "stub", ["music", "noise"], "cpu"
    from audioclf_lib.config import FeatureConfig
    config = FeatureConfig()
    def probabilities(self, windows):
        raise AssertionError("never reached")
engine = LiveClassifier(Stub(), source=MicSource())
try:
    engine.start()
except LiveError as exc:
    print("state:", engine.state)
    print("message:", exc)
"""


def test_portaudio_missing_gives_the_friendly_message():
    result = subprocess.run([sys.executable, "-c", PORTAUDIO_MISSING], capture_output=True, text=True, timeout=120,
                            cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr
    assert "devices: []" in result.stdout
    assert "state: error" in result.stdout
    assert "message: PortAudio is not installed, so no microphone can be used (PortAudio library not found)" in result.stdout
    assert "apt-get install libportaudio2" in result.stdout and "file source" in result.stdout


def test_save_window_writes_the_spectrogram_and_the_audio(predictors, clips, tmp_path):
    engine = LiveClassifier(predictors[2], source=FileSource(audio_of(clips["music"], 5.0), SR, speed=8.0))
    engine.start()
    engine.join(30)
    wav, png = save_window(engine.results[0], tmp_path / "debug")
    assert re.fullmatch(r"\d{8}-\d{6}_0000_music_\d+", wav.stem) and png.stem == wav.stem
    y, sr = sf.read(wav, dtype="float32")
    assert sr == SR and y.size == 5 * SR and np.abs(y - engine.results[0].audio).max() < 1e-3
    from PIL import Image

    image = Image.open(png)
    assert image.size == (313, 128) and image.mode == "RGB"  # 313 frames x 64 mel bands, 2 pixels each


def test_the_live_loop_decides_as_the_predictor_does(predictors, clips):
    """One decision path: a 7.5-s window (longer than the model's 5 s) gets Predictor.decide's probabilities."""
    engine = LiveClassifier(predictors[2], source=FileSource(audio_of(clips["music"], 8.0), SR, speed=8.0),
                            window_seconds=7.5)
    engine.start()
    assert engine.join(30) and len(engine.results) == 1
    r = engine.results[0]
    assert r.audio.size == int(7.5 * SR)
    offline = predictors[2].decide(r.audio, SR)
    assert offline.label == r.label == "music"
    np.testing.assert_allclose([r.raw_probabilities[c] for c in offline.probabilities],
                               list(offline.probabilities.values()), rtol=1e-6)


def test_spectrogram_uses_the_models_front_end(predictors):
    from audioclf_lib.config import FeatureConfig
    from audioclf_lib.live import spectrogram_rgb

    y = np.random.default_rng(0).standard_normal(5 * SR).astype(np.float32) * 0.1
    assert spectrogram_rgb(y, SR, extractor=predictors[2].extractor).shape == (64, 313, 3)
    assert spectrogram_rgb(y, SR, config=FeatureConfig(n_mels=128, hop_length=320)).shape == (128, 251, 3)
    with pytest.raises(ValueError, match="sr=44100"):
        spectrogram_rgb(y, 44_100, extractor=predictors[2].extractor)


# --------------------------------------------------------------------------------------------
# the UI, without a browser (the widgets' values are what the browser shows)


def test_ui_shows_result_progress_spectrogram_history_and_saves_debug_windows(predictors, clips, tmp_path):
    from audioclf_lib.live.ui import COLORS, LiveDemo

    demo = LiveDemo(models=["music-noise"], files={"music": clips["music"][:1]}, source="file:music",
                    debug_dir=tmp_path / "debug")
    assert "READY" in demo.result.value and demo.start_button.disabled is False
    fractions, images = [], {demo.spectrogram.value}
    demo.progress.observe(lambda ch: fractions.append(ch["new"]), "value")
    demo.spectrogram.observe(lambda ch: images.add(ch["new"]), "value")
    demo.debug_toggle.value = True
    assert demo.start()
    assert demo.start_button.disabled and not demo.stop_button.disabled and demo.model_choice.disabled
    assert demo.start() is False, "Start while running is ignored"
    first = demo.wait_for_results(1, timeout=30)
    assert first and first[0].label == "music"
    time.sleep(0.3)
    assert demo.stop() and not demo.engine.running
    assert "MUSIC" in demo.result.value and COLORS["music"] in demo.result.value and "Confidence:" in demo.result.value
    assert "Music" in demo.history.value
    assert len(images) >= 5, "the spectrogram is redrawn while the window fills"
    assert 0.3 < max(fractions) <= 1.0 and len(fractions) > 20 and demo.progress.value == 0.0
    assert re.fullmatch(r"Recording… \d\.\d s / 5\.0 s", demo.timer.value)
    assert re.fullmatch(r"Device: CPU \| Duration: 5\.0s \| Model: music-noise( \| Input: .*)?", demo.device_line.value)
    assert demo.stats_line.value.startswith("Overflows: 0 | dropped blocks: 0 | decisions: 1")
    assert sorted(p.suffix for p in demo.saved) == [".png", ".wav"] and all(p.is_file() for p in demo.saved)
    assert demo.start_button.disabled is False and demo.stop_button.disabled is True and "Stopped" in demo.status.value


def test_ui_window_follows_the_models_feature_config_until_the_slider_moves(clips, monkeypatch):
    import io

    from PIL import Image

    from audioclf_lib.config import FeatureConfig
    from audioclf_lib.live import ui

    configs = {"five": FeatureConfig(), "three": FeatureConfig(window_seconds=3.0, hop_length=320)}
    monkeypatch.setattr(ui, "_model_config", lambda name: configs.get(str(name), FeatureConfig()))
    demo = ui.LiveDemo(models=["five", "three"], model="three", files={"music": clips["music"][:1]}, source="file:music")
    assert demo.window_slider.value == 3.0 and demo.timer.value == "Recording… 0.0 s / 3.0 s"
    assert Image.open(io.BytesIO(demo.spectrogram.value)).size == (1 + 48_000 // 320, 128)
    demo.model_choice.value = "five"
    assert demo.window_slider.value == 5.0 and "Duration: 5.0s" in demo.device_line.value
    demo.start()  # the checkpoint does not exist: Start fails, after handing the settings to the engine
    assert demo.engine.window_seconds is None, "the default window is the model's"
    demo.window_slider.value = 4.0
    demo.model_choice.value = "three"
    assert demo.window_slider.value == 4.0, "a window the user chose stays"
    demo.start()
    assert demo.engine.window_seconds == 4.0


def test_ui_reports_a_missing_model_and_no_models_in_plain_words(clips, tmp_path, monkeypatch):
    from audioclf_lib.live.ui import LiveDemo

    demo = LiveDemo(models=["no-such-model"], files={"music": clips["music"][:1]}, source="file:music")
    assert demo.start() is False
    assert "cannot be loaded" in demo.status.value and "02_train_cnn" in demo.status.value
    assert "Traceback" not in demo.status.value and demo.start_button.disabled is False
    monkeypatch.setenv("AUDIOCLF_CHECKPOINTS", str(tmp_path / "empty"))
    empty = LiveDemo(files={"music": clips["music"][:1]}, source="file:music")
    assert "No trained model found" in empty.status.value and empty.start() is False


def test_every_bundled_model_has_a_plain_name_in_the_chooser(clips, tmp_path, monkeypatch):
    from audioclf_lib.checkpoint import bundled_checkpoints
    from audioclf_lib.live.ui import MODEL_LABELS, LiveDemo

    monkeypatch.setenv("AUDIOCLF_DEVICES", str(tmp_path / "no-devices"))  # only the bundled ones
    demo = LiveDemo(files={"music": clips["music"][:1]}, source="file:music")
    labels = dict((value, label) for label, value in demo.model_choice.options)
    assert set(labels) == set(bundled_checkpoints()) and labels["music-noise-robust"] == MODEL_LABELS["music-noise-robust"]
    assert all(label != name for name, label in labels.items()), labels  # no bare file names


# --------------------------------------------------------------------------------------------
# through PortAudio and the virtual microphone, in real time

def expected_labels(run, segments):
    return [(e, r.label, round(r.confidence, 2)) for e, r in zip(run.expected(segments), run.results)]


@pytest.mark.audio
def test_microphone_hears_music_and_noise_two_class(virtual_mic, predictors, clips):
    for cls in ("music", "noise"):
        engine = LiveClassifier(predictors[2])
        run = stream_clips(engine, audio_of(clips[cls], 6.5), via_room=True)
        assert run.via_room and len(run.results) == 1
        assert run.results[0].label == cls, expected_labels(run, [(0, 6.5, cls)])
        assert run.results[0].level_dbfs > -40, "the clip reached the microphone at its level"
        assert engine.stats["overflows"] == 0 and engine.stats["dropped_blocks"] == 0
        assert engine.stats["input_rate"] == SR


@pytest.mark.audio
@pytest.mark.slow
def test_a_minute_of_music_speech_noise_through_the_microphone_without_overflows(virtual_mic, predictors, clips):
    pieces = [(cls, audio_of(clips[cls], 21.0)) for cls in ("music", "speech", "noise")]
    segments = [(21.0 * k, 21.0 * (k + 1), cls) for k, (cls, _) in enumerate(pieces)]
    engine = LiveClassifier(predictors[3])
    rss = []  # memory after the first decision (steady state) and at the end
    engine.add_listener(lambda e: rss.append(psutil.Process().memory_info().rss) if isinstance(e, LiveResult) else None)
    run = stream_clips(engine, np.concatenate([y for _, y in pieces]), via_room=True)  # 12 windows: 60 s of listening
    checked = [(e, lab) for e, lab, _ in expected_labels(run, segments) if e is not None]
    assert len(run.results) == 12 and len(checked) >= 9
    assert all(e == lab for e, lab in checked), expected_labels(run, segments)
    assert {e for e, _ in checked} == {"music", "speech", "noise"}
    s = run.stats
    assert s["overflows"] == 0, f"{s['overflows']} input overflows in {s['seconds']:.0f} s"
    assert s["dropped_blocks"] == 0 and s["max_queue"] < 20
    assert s["seconds"] >= 59.9
    assert (rss[-1] - rss[0]) / 2**20 < 20, f"RSS grew by {(rss[-1] - rss[0]) / 2**20:.1f} MB"


def _resources() -> tuple[list[str], int, int]:
    process = psutil.Process()
    return sorted(t.name for t in threading.enumerate()), process.num_threads(), process.num_fds()


@pytest.mark.audio
def test_twenty_stop_start_cycles_leave_no_threads_or_streams(virtual_mic, predictors):
    engine = LiveClassifier(predictors[2])
    audio_flowing = threading.Event()
    engine.add_listener(lambda e: audio_flowing.set() if isinstance(e, LiveProgress) else None)

    def cycle() -> float:
        audio_flowing.clear()
        assert engine.start(MicSource())
        assert engine.start(MicSource()) is False, "Start twice is harmless"
        assert audio_flowing.wait(10), "no audio reached the worker"
        stream = engine.source._stream
        t0 = time.perf_counter()
        assert engine.stop()
        seconds = time.perf_counter() - t0
        assert stream.closed and engine.source._stream is None and not engine.running
        return seconds

    cycle()  # the first stream initialises PulseAudio's client side; measure from the second on
    time.sleep(0.2)
    before = _resources()
    stop_seconds = [cycle() for _ in range(20)]
    time.sleep(0.5)  # PortAudio/PulseAudio threads exit asynchronously after close
    after = _resources()
    assert after[0] == before[0], "Python threads left behind"
    assert after[1] <= before[1], f"native threads: {before[1]} -> {after[1]}"
    assert after[2] <= before[2], f"open file descriptors: {before[2]} -> {after[2]}"
    # The requirement is "Stop takes effect within 0.5 s"; typical stops take a few ms. The median carries the
    # requirement; the max only rules out a hang, since one cycle on this shared 2-core machine can be descheduled.
    assert statistics.median(stop_seconds) < 0.5 and max(stop_seconds) < 2.0, stop_seconds


@pytest.mark.audio
def test_missing_device_gives_the_clear_error_then_the_default_works(virtual_mic, predictors):
    engine = LiveClassifier(predictors[2], source=MicSource("no-such-microphone"))
    with pytest.raises(LiveError, match=r"^No input device matching 'no-such-microphone'\. Input devices: 'pulse'"):
        engine.start()
    assert engine.state == ERROR and not engine.running and engine.source._stream is None
    flowing = threading.Event()
    engine.add_listener(lambda e: flowing.set() if isinstance(e, LiveProgress) else None)
    assert engine.start(MicSource())
    assert flowing.wait(10) and engine.state == "listening"
    assert engine.stop()


NO_SERVER = """
from audioclf_lib.live import LiveError, MicSource, check_input_device
from audioclf_lib.live.sources import Sink as _Sink
for attempt in (lambda: check_input_device(), lambda: MicSource().start(_Sink(8), 16000)):
    try:
        attempt()
        print("opened?!")
    except LiveError as exc:
        print("message:", exc)
"""


@pytest.mark.audio
def test_no_sound_server_means_no_input_device_in_plain_words(virtual_mic, tmp_path):
    env = {**os.environ, "PULSE_SERVER": f"unix:{tmp_path}/no-such-socket", "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", NO_SERVER], env=env, capture_output=True, text=True, timeout=60)
    lines = [l for l in result.stdout.splitlines() if l.startswith("message:")]
    assert len(lines) == 2, result.stdout + result.stderr
    for line in lines:
        assert line.startswith("message: No input device: no microphone is connected, or the sound server is not "
                               "running. Connect a microphone, or choose the file source."), line


DEVICE_VANISHES = """
import json, subprocess, sys, threading, time
import torch
torch.set_num_threads(1)
from audioclf_lib.live import LiveClassifier, LiveProgress, MicSource
script, env = sys.argv[1], json.loads(sys.argv[2])
engine = LiveClassifier("music-noise")
flowing = threading.Event()
engine.add_listener(lambda e: flowing.set() if isinstance(e, LiveProgress) else None)
out = {}
engine.start(MicSource())
out["flowing"] = flowing.wait(15)
subprocess.run(["bash", script, "stop"], env=env, check=True, capture_output=True)  # the device goes away
t0 = time.monotonic()
while engine.state != "error" and time.monotonic() - t0 < 15:
    time.sleep(0.05)
out.update(state=engine.state, message=engine.message, running=engine.running)
subprocess.run(["bash", script, "start"], env=env, check=True, capture_output=True)  # it comes back
flowing.clear()
engine.start(MicSource())  # the user presses Start again
out["recovered"] = flowing.wait(15) and engine.state == "listening"
engine.stop()
out["threads"] = sorted(t.name for t in threading.enumerate())
print("RESULT", json.dumps(out))
"""


@pytest.mark.audio
def test_device_vanishing_mid_stream_is_an_error_state_and_start_recovers(virtual_mic, tmp_path):
    import tempfile

    # A second, private sound server that this test may kill; the session's microphone is untouched.
    pulse_dir = Path(tempfile.mkdtemp(prefix="audioclf-pulse-v-"))  # short: a socket path has at most 107 bytes
    script = str(REPO_ROOT / "scripts" / "virtual_mic.sh")
    env = {**os.environ, "AUDIOCLF_PULSE_DIR": str(pulse_dir)}
    subprocess.run(["bash", script, "start"], env=env, check=True, capture_output=True, timeout=30)
    try:
        child_env = {**env, "PULSE_SERVER": f"unix:{pulse_dir}/native"}
        result = subprocess.run([sys.executable, "-c", DEVICE_VANISHES, script, json.dumps(env)], env=child_env,
                                capture_output=True, text=True, timeout=150, cwd=REPO_ROOT)
    finally:
        subprocess.run(["bash", script, "stop"], env=env, capture_output=True, timeout=30)
        shutil.rmtree(pulse_dir, ignore_errors=True)
    line = next((l for l in result.stdout.splitlines() if l.startswith("RESULT ")), None)
    assert line, result.stdout[-2000:] + result.stderr[-3000:]
    out = json.loads(line[7:])
    assert out["flowing"] and out["state"] == "error" and not out["running"], out
    assert out["message"].startswith("The input device stopped delivering audio"), out
    assert "Press Start to try again" in out["message"]
    assert out["recovered"], out
    assert out["threads"] == ["MainThread"], out


# --------------------------------------------------------------------------------------------
# notebook 05 executed headless against the virtual microphone


@pytest.mark.audio
@pytest.mark.slow
def test_notebook_runs_against_the_virtual_microphone_and_asserts_its_results(virtual_mic, tmp_path):
    env = {**os.environ, **virtual_mic.env, "QUICK": "1", "MPLBACKEND": "Agg",
           "AUDIOCLF_FIGURES": str(tmp_path / "figures"), "AUDIOCLF_CACHE": str(tmp_path / "cache")}
    env.pop("AUDIOCLF_LIVE_INPUT", None)
    result = subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "run_notebooks.py"), "05", "--out",
                             str(tmp_path / "nb"), "--timeout", "600"], env=env, capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    nb = json.loads((tmp_path / "nb" / "05_live_demo.ipynb").read_text())
    text = "\n".join("".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", []))
    assert "input: virtual microphone" in text
    assert re.search(r"back-to-back, 2 classes: MUSIC → MUSIC \(\d+%\), NOISE → NOISE \(\d+%\) ✓", text), text
    assert re.search(r"back-to-back, 3 classes: SPEECH → SPEECH \(\d+%\) ✓", text), text
    assert re.search(r"UI: .*Overflows: 0 \| dropped blocks: 0 .*result: MUSIC ✓", text), text
    assert "Traceback" not in text
    assert {p.name for p in (tmp_path / "figures").glob("05_*.png")} >= {"05_live_windows.png", "05_sliding_window.png"}


def test_models_fine_tuned_on_your_recordings_join_the_chooser(clips, tmp_path, monkeypatch):
    import shutil

    from audioclf_lib.checkpoint import bundled_checkpoints
    from audioclf_lib.devices import device_checkpoints
    from audioclf_lib.live.ui import LiveDemo

    monkeypatch.setenv("AUDIOCLF_DEVICES", str(tmp_path / "devices"))
    assert device_checkpoints() == {}
    own = tmp_path / "devices" / "my-mic" / "music-noise-my-mic.pt"
    own.parent.mkdir(parents=True)
    shutil.copy(bundled_checkpoints()["music-noise"], own)  # what `finetune my-mic` writes
    (own.parent / "music").mkdir()  # recordings beside it are not models
    assert device_checkpoints() == {"my-mic/music-noise-my-mic": own}
    demo = LiveDemo(files={"music": clips["music"][:1]}, source="file:music")
    labels = dict((value, label) for label, value in demo.model_choice.options)
    assert labels[str(own)] == "yours (my-mic): music-noise-my-mic"
    assert set(labels) == set(bundled_checkpoints()) | {str(own)}
    demo.model_choice.value = str(own)
    assert demo.start(), demo.status.value
    first = demo.wait_for_results(1, timeout=30)
    assert demo.stop() and first and first[0].label == "music"
    assert "music-noise-my-mic" in demo.device_line.value
