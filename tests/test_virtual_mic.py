"""The virtual microphone really records what is played: tones, a real music clip, errors."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from tests.audio_env import REPO_ROOT, VirtualMic
from tests.helpers import starter_clip

pytestmark = pytest.mark.audio


def first_music_clip() -> Path:
    """A real 10 s music recording shipped with the repo (16 kHz mono Ogg Vorbis)."""
    return starter_clip("music", 0)


def record_while_playing(mic: VirtualMic, audio, sr_play: int | None, *,
                         sr: int, seconds: float) -> np.ndarray:
    """Open the default input stream first, then play, so the onset is never missed."""
    import sounddevice as sd

    blocks: list[np.ndarray] = []
    enough = threading.Event()
    n_wanted = int(seconds * sr)

    def on_block(indata, frames, time_info, status):
        blocks.append(indata[:, 0].copy())
        if sum(map(len, blocks)) >= n_wanted:
            enough.set()

    with sd.InputStream(samplerate=sr, channels=1, dtype="float32", callback=on_block):
        playback = mic.play(audio, sr_play)
        assert enough.wait(timeout=seconds + 5), "the input stream delivered too little audio"
    playback.stop()
    return np.concatenate(blocks)[:n_wanted]


def peak_frequency(y: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    return float(np.fft.rfftfreq(len(y), 1 / sr)[spectrum.argmax()])


def rms(y: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(y, dtype=np.float64))))


def best_alignment(recorded: np.ndarray, played: np.ndarray) -> tuple[int, float]:
    """Lag (samples) where ``played`` best matches ``recorded``, and the Pearson r there."""
    n = len(played)
    # FFT cross-correlation: finds the lag in one pass over ~2 s of audio.
    size = 1 << int(np.ceil(np.log2(len(recorded) + n)))
    xcorr = np.fft.irfft(np.fft.rfft(recorded, size) * np.conj(np.fft.rfft(played, size)), size)
    lag = int(np.argmax(xcorr[: len(recorded) - n + 1]))
    r = np.corrcoef(recorded[lag:lag + n], played)[0, 1]
    return lag, float(r)


@pytest.mark.parametrize(
    ("frequency", "sr"),
    [(1234.0, 16000), (12000.0, 48000)],  # speech band, and full band (the sink runs at 48 kHz)
)
def test_tone_comes_back_at_its_frequency_and_level(virtual_mic, frequency, sr):
    amplitude = 0.5
    t = np.arange(int(0.8 * sr)) / sr
    tone = (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.float32)

    recorded = record_while_playing(virtual_mic, tone, sr, sr=sr, seconds=0.7)

    steady = recorded[-int(0.3 * sr):]  # playback has started well before this
    assert abs(peak_frequency(steady, sr) - frequency) < 10
    assert rms(steady) == pytest.approx(amplitude / np.sqrt(2), rel=0.1)


def test_real_music_clip_comes_back_intact(virtual_mic):
    import soundfile as sf

    y, sr = sf.read(first_music_clip(), dtype="float32", start=16000 * 2, frames=16000 * 1)
    assert sr == 16000 and rms(y) > 0.01, "the starter clip should be 16 kHz and audible"

    recorded = record_while_playing(virtual_mic, y, sr, sr=sr, seconds=1.6)

    lag, r = best_alignment(recorded, y)
    assert r > 0.9, f"recording does not match the clip (r={r:.3f})"
    assert lag / sr < 0.5, f"loopback latency {lag / sr:.3f} s"
    assert rms(recorded[lag:lag + len(y)]) == pytest.approx(rms(y), rel=0.15)


def test_play_file_then_stop_silences_the_microphone(virtual_mic):
    import soundfile as sf

    clip = first_music_clip()
    sr = sf.info(clip).samplerate
    opening = sf.read(clip, dtype="float32", frames=sr)[0]  # the clip is 10 s; we stop after ~1

    recorded = record_while_playing(virtual_mic, clip, None, sr=sr, seconds=1.3)
    lag, r = best_alignment(recorded, opening[: sr // 2])
    assert r > 0.9, f"the played file did not come back (r={r:.3f})"

    time.sleep(0.15)  # the sink drains its last ~50 ms of buffered audio
    assert rms(virtual_mic.record(0.3, sr=sr)) < 1e-3, "audio still arrives after stop()"


def test_record_helper_hears_a_playing_tone(virtual_mic):
    sr = 16000
    t = np.arange(sr) / sr
    playback = virtual_mic.play(0.3 * np.sin(2 * np.pi * 440 * t), sr)
    recorded = virtual_mic.record(0.6, sr=sr)
    playback.wait()
    assert abs(peak_frequency(recorded[-sr // 4:], sr) - 440) < 10


def test_play_rejects_bad_arguments(virtual_mic):
    with pytest.raises(ValueError, match="needs sr="):
        virtual_mic.play(np.zeros(10))
    with pytest.raises(ValueError, match="sr=16000"):
        virtual_mic.play(first_music_clip(), 16000)


NO_SERVER_PROBE = """
import sounddevice as sd
try:
    sd.InputStream(samplerate=16000, channels=1)
except Exception as error:
    print("default:", type(error).__name__, error)
try:
    sd.InputStream(samplerate=16000, channels=1, device="pulse")
except Exception as error:
    print("pulse:", type(error).__name__, error)
"""


def test_unreachable_server_raises_the_portaudio_error(virtual_mic, tmp_path):
    # A fresh process: PortAudio scans devices once, at import.
    env = {**os.environ, "PULSE_SERVER": f"unix:{tmp_path}/no-such-socket", "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", NO_SERVER_PROBE], env=env,
                            capture_output=True, text=True, timeout=30)
    assert "default: PortAudioError Error querying device -1" in result.stdout, result
    assert "pulse: ValueError No input device matching 'pulse'" in result.stdout, result


def test_script_start_is_idempotent_and_stop_leaves_nothing(virtual_mic):
    # A second daemon of its own, so the session's microphone is untouched.
    pulse_dir = Path(tempfile.mkdtemp(prefix="audioclf-pulse-t-"))
    script = REPO_ROOT / "scripts" / "virtual_mic.sh"
    env = {**os.environ, "AUDIOCLF_PULSE_DIR": str(pulse_dir)}

    def run(command):
        return subprocess.run(["bash", str(script), command], env=env, capture_output=True,
                              text=True, timeout=30)

    try:
        started = run("start")
        assert started.returncode == 0, started.stderr
        assert f"export PULSE_SERVER=unix:{pulse_dir}/native" in started.stdout
        daemon_pid = (pulse_dir / "pulse" / "pid").read_text().strip()
        keepalive_pid = (pulse_dir / "keepalive.pid").read_text().strip()

        assert run("start").returncode == 0
        assert (pulse_dir / "pulse" / "pid").read_text().strip() == daemon_pid, "start twice, one daemon"
        assert (pulse_dir / "keepalive.pid").read_text().strip() == keepalive_pid

        assert run("stop").returncode == 0
        assert run("status").returncode != 0
        assert not (pulse_dir / "native").exists()
        for pid in (daemon_pid, keepalive_pid):
            state = subprocess.run(["ps", "-o", "stat=", "-p", pid], capture_output=True, text=True)
            assert state.stdout.strip() in ("", "Z"), f"process {pid} still running"
    finally:
        run("stop")
        shutil.rmtree(pulse_dir, ignore_errors=True)
