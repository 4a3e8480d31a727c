"""The recorder: clear messages without a microphone, and real clips from the virtual microphone."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from audioclf_lib import recorder
from audioclf_lib.audio import load_audio
from tests.browser_mic import best_offset as best_match  # (offset, Pearson r) of a recording in what was played
from tests.helpers import popen_interruptible, starter_clip, steady_music_clip

SR = 16_000


def wait_until_audible(mic, timeout: float = 10.0) -> None:
    """Block until the virtual room is loud (paplay has started), so every recorded clip lies inside the playback."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if np.sqrt(np.mean(mic.record(0.1, sr=SR) ** 2)) > 0.01:
            return
    raise AssertionError("the played clip never reached the microphone")


def matches_played(recorded: np.ndarray, played: np.ndarray, *, piece_s: float = 0.25) -> tuple[float, float, int]:
    """How well ``recorded`` matches ``played``, piece by piece: (median r, share of pieces with r > 0.9, lag of the whole).

    Piecewise, so that one dropout of the loaded test machine's sound server (a gap that shifts
    the rest of the clip) does not hide that every piece is the played music.
    """
    n = int(piece_s * SR)
    rs = [best_match(recorded[a : a + n], played)[1] for a in range(0, len(recorded) - n + 1, n)]
    return float(np.median(rs)), float(np.mean(np.asarray(rs) > 0.9)), best_match(recorded, played)[0]


# -- no microphone: plain messages, nothing blocks ----------------------------------------------------------

def test_status_without_an_input_device_is_a_sentence(monkeypatch):
    sd = pytest.importorskip("sounddevice")

    def no_device(*args, **kwargs):
        raise sd.PortAudioError("Error querying device -1")

    monkeypatch.setattr(sd, "query_devices", no_device)
    ok, message = recorder.input_device_status()
    assert not ok and "no input device" in message and "-1" in message


def test_widget_without_a_device_disables_record(monkeypatch, tmp_path):
    monkeypatch.setattr(recorder, "input_device_status", lambda device=None: (False, "no input device (test)"))
    rec = recorder.RecorderWidget(tmp_path, ["music", "noise"], device_name="nodev", source="mic")
    assert rec.record_button.disabled and "unavailable" in rec.status.value and "test" in rec.status.value
    assert rec.start() is False and rec.join(1) and rec.written == []
    assert "music: <b>0</b>" in rec.counts.value


# -- any live source: the browser's microphone, a fake one ------------------------------------------------

class FakeSource:
    """A live source (the interface of audioclf_lib.live.sources) that pushes ``audio`` at ``rate`` from its own
    thread, as fast as the queue takes it, then fails with ``fail`` or just stops pushing."""

    name = "fake input"
    block_seconds = 0.1

    def __init__(self, audio: np.ndarray, rate: int, *, fail: str | None = None, first_audio_timeout_s: float = 8.0):
        self.audio, self.rate, self.fail = audio.astype(np.float32), rate, fail
        self.first_audio_timeout_s = first_audio_timeout_s
        self.sample_rate = None
        self.starts = self.stops = 0
        self._thread = None

    @property
    def active(self):
        return self._thread is not None and self._thread.is_alive()

    def start(self, sink, preferred_rate):
        import threading

        self.starts += 1
        self.sample_rate = self.rate  # not the recorder's: it must resample
        n = int(self.block_seconds * self.rate)

        def push():
            for i in range(0, self.audio.size, n):
                sink.push(self.audio[i : i + n].copy())
            if self.fail:
                sink.fail(self.fail)

        self._thread = threading.Thread(target=push, daemon=True)
        self._thread.start()

    def stop(self):
        self.stops += 1


def test_record_clips_from_a_live_source_resamples_it_and_writes_it(tmp_path):
    import soxr

    rng = np.random.default_rng(1)
    audio = (0.3 * rng.standard_normal(3 * 48_000)).astype(np.float32)  # 3 s at the browser's 48 kHz
    source = FakeSource(audio, 48_000)
    paths = recorder.record_clips(2, tmp_path / "dev", "music", seconds=1.0, sr=SR, source=source)
    assert len(paths) == 2 and source.starts == 1 and source.stops == 1
    expected = soxr.resample(audio, 48_000, SR)
    for k, path in enumerate(paths):
        y, sr = sf.read(str(path), dtype="float32")
        assert sr == SR and y.size == SR
        # the same audio, clip after clip: what the resampler makes of it, to 16-bit precision
        np.testing.assert_allclose(y, expected[k * SR : (k + 1) * SR], atol=2e-3)


def test_record_clips_says_what_broke_the_source_and_closes_it(tmp_path):
    sentence = "The browser refused the microphone. Allow it and press Start again."
    source = FakeSource(np.zeros(4_800, np.float32), 48_000, fail=sentence)
    with pytest.raises(recorder.RecorderError, match=r"refused the microphone.*\(0 of 2 clips written\)"):
        recorder.record_clips(2, tmp_path, "music", seconds=1.0, source=source)
    assert source.stops == 1 and not (tmp_path / "music").exists()

    silent = FakeSource(np.zeros(0, np.float32), 48_000, first_audio_timeout_s=0.3)  # never delivers a block
    with pytest.raises(recorder.RecorderError, match=r"no audio for 0.3 s \(0 of 1 clips written\)"):
        recorder.record_clips(1, tmp_path, "music", seconds=1.0, source=silent, timeout_s=0.1)
    assert silent.stops == 1
    with pytest.raises(ValueError, match="give one of them"):
        recorder.record_clips(1, tmp_path, "music", device=3, source=silent)


def test_widget_chooses_the_browser_when_the_kernel_has_no_microphone(monkeypatch, tmp_path):
    monkeypatch.setattr(recorder, "input_device_status", lambda device=None: (False, "no input device (test)"))
    rec = recorder.RecorderWidget(tmp_path, ["music", "noise"], device_name="remote")
    assert rec.input_choice.value == "browser" and ("browser microphone", "browser") in rec.input_choice.options
    assert not rec.record_button.disabled and rec.available
    assert "kernel cannot record on its machine (no input device (test))" in rec.status.value
    assert rec.make_source() is rec.browser and rec.browser.widget in rec.widget.children
    assert rec.browser.widget.layout.display is None
    rec.input_choice.value = "mic"  # the kernel's microphone: nothing to record from
    assert rec.record_button.disabled and "recording unavailable: no input device (test)" in rec.status.value
    assert rec.browser.widget.layout.display == "none"
    rec.input_choice.value = "browser"
    assert not rec.record_button.disabled and rec.status.value.startswith("ready: ")
    monkeypatch.setattr(recorder, "input_device_status", lambda device=None: (True, "a microphone"))
    assert recorder.RecorderWidget(tmp_path, ["music"]).input_choice.value == "mic"


def browser_blocks(rec, audio: np.ndarray, rate: int = 48_000, block: int = 4_800) -> None:
    """Send ``audio`` as the browser's front end does, once the recorder has started the browser source."""
    import time

    deadline = time.monotonic() + 10
    while rec.browser._sink is None:  # the recording thread starts the source
        assert time.monotonic() < deadline and rec.running, rec.status.value
        time.sleep(0.01)
    for seq, i in enumerate(range(0, audio.size, block)):
        content = {"type": "block", "session": rec.browser._session, "seq": seq, "rate": rate, "n": block}
        rec.browser._on_msg(rec.browser.widget, content, [memoryview(audio[i : i + block].astype("<f4").tobytes())])


def test_widget_records_from_the_browser_microphone(monkeypatch, tmp_path):
    import soxr

    monkeypatch.setattr(recorder, "input_device_status", lambda device=None: (False, "no input device (test)"))
    rec = recorder.RecorderWidget(tmp_path, ["music", "noise"], device_name="remote", n_clips=2, seconds=0.5)
    sent = []
    rec.browser.widget.send = lambda msg, buffers=None: sent.append(msg["cmd"])  # what the front end receives
    rec.browser.widget.frontend_ready = True  # as a browser showing the notebook reports
    audio = (0.3 * np.random.default_rng(2).standard_normal(int(1.5 * 48_000))).astype(np.float32)
    assert rec.start() and rec.input_choice.disabled
    browser_blocks(rec, audio)
    assert rec.join(timeout=10), rec.status.value
    assert rec.error is None and rec.status.value.startswith("done: 2 clip(s) of 'music' in remote/music/")
    assert sent == ["start", "stop"] and not rec.browser.active and not rec.input_choice.disabled
    expected = soxr.resample(audio, 48_000, SR)
    for k, path in enumerate(rec.written):
        y, sr = sf.read(str(path), dtype="float32")
        assert sr == SR and y.size == SR // 2
        np.testing.assert_allclose(y, expected[k * SR // 2 : (k + 1) * SR // 2], atol=2e-3)

    # the person refuses the microphone: the browser's sentence, with this widget's button in it
    assert rec.start()
    browser_blocks(rec, audio[:0])
    rec.browser.widget.state = "denied"
    assert rec.join(timeout=10)
    assert rec.status.value.startswith("error: The browser refused the microphone") and "press Record again" in \
        rec.status.value, rec.status.value
    assert sent == ["start", "stop", "start", "stop"] and not rec.record_button.disabled and len(rec.written) == 2


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"n_clips": 0}, "n_clips=0"),
    ({"n_clips": 2.5}, "n_clips=2.5"),
    ({"seconds": 0.0}, "seconds=0.0"),
    ({"class_name": "../music"}, "class_name='../music'"),
    ({"sr": 50}, "sr=50"),
])
def test_record_clips_rejects_bad_arguments(tmp_path, kwargs, match):
    args = {"n_clips": 1, "folder": tmp_path, "class_name": "music", **kwargs}
    with pytest.raises(ValueError, match=match):
        recorder.record_clips(**args)


def test_device_folder_and_counts(tmp_path):
    assert recorder.device_folder(tmp_path, "lenovo_legion-5") == tmp_path / "lenovo_legion-5"
    with pytest.raises(ValueError, match="device_name"):
        recorder.device_folder(tmp_path, "a/b")
    (tmp_path / "dev" / "music").mkdir(parents=True)
    sf.write(tmp_path / "dev" / "music" / "x.wav", np.zeros(100, np.float32), SR)
    assert recorder.count_clips(tmp_path / "dev", ["music", "noise"]) == {"music": 1, "noise": 0}


# -- the virtual microphone: real recordings ---------------------------------------------------------------

@pytest.mark.audio
def test_record_clips_writes_what_the_microphone_hears(virtual_mic, tmp_path):
    clip = steady_music_clip()
    played, sr = load_audio(clip)
    assert sr == SR and len(played) >= 8 * SR, "the starter music clip should be 16 kHz and long enough"
    n_clips, seconds = 3, 1.5
    progress = []
    playback = virtual_mic.play(clip)
    try:
        wait_until_audible(virtual_mic)
        paths = recorder.record_clips(n_clips, tmp_path / "vmic", "music", seconds=seconds, sr=SR,
                                      on_progress=lambda k, n, p: progress.append((k, n, p)))
    finally:
        playback.stop()
    assert len(paths) == n_clips and [k for k, _, _ in progress] == [1, 2, 3]
    assert [p for _, _, p in progress] == paths
    lags = []
    for path in paths:
        assert path.exists() and path.parent == tmp_path / "vmic" / "music" and path.suffix == ".wav"
        info = sf.info(str(path))
        assert info.samplerate == SR and info.channels == 1 and info.frames == int(seconds * SR)
        y, _ = sf.read(str(path), dtype="float32")
        assert np.sqrt(np.mean(y ** 2)) > 0.01, f"{path.name} is silent"
        median_r, share, lag = matches_played(y, played)
        assert median_r > 0.95 and share >= 0.75, f"{path.name} does not match the played clip (r={median_r:.3f}, {share:.0%})"
        lags.append(lag)
    # Consecutive clips from one stream: each starts where the previous ended (a dropout may shift it a little).
    assert np.allclose(np.diff(lags), seconds * SR, atol=0.1 * SR), lags
    assert recorder.count_clips(tmp_path / "vmic", ["music", "noise"]) == {"music": 3, "noise": 0}


@pytest.mark.audio
def test_widget_records_from_the_virtual_microphone(virtual_mic, tmp_path):
    clip = starter_clip("music", 1)
    played, _ = load_audio(clip, SR)
    rec = recorder.RecorderWidget(tmp_path, ["music", "noise"], device_name="vmic", n_clips=2, seconds=1.0)
    assert rec.available and not rec.record_button.disabled, rec.status.value
    playback = virtual_mic.play(clip)
    try:
        wait_until_audible(virtual_mic)
        rec.record_button.click()
        assert rec.running and rec.record_button.disabled and not rec.stop_button.disabled
        assert rec.join(timeout=15), "recording did not finish"
    finally:
        playback.stop()
    assert rec.error is None, rec.error
    assert rec.progress.value == 1.0 and rec.status.value.startswith("done: 2 clip(s)")
    assert not rec.record_button.disabled and rec.stop_button.disabled
    assert len(rec.written) == 2 and all(p.parent == tmp_path / "vmic" / "music" for p in rec.written)
    for path in rec.written:
        y, sr = sf.read(str(path), dtype="float32")
        assert sr == SR and len(y) == SR
        median_r, share, _ = matches_played(y, played)
        assert median_r > 0.95 and share >= 0.75, f"{path.name}: r={median_r:.3f}, {share:.0%} of pieces match"
    assert "music: <b>2</b>" in rec.counts.value


@pytest.mark.audio
def test_stop_keeps_the_clips_already_written(virtual_mic, tmp_path):
    rec = recorder.RecorderWidget(tmp_path, ["music", "noise"], device_name="vmic", n_clips=50, seconds=0.5)
    rec.class_name.value = "noise"
    assert rec.start()
    import time

    deadline = time.monotonic() + 10
    while len(rec.written) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    rec.stop_button.click()
    assert rec.join(timeout=5)
    assert 2 <= len(rec.written) < 50 and rec.status.value.startswith("stopped")
    assert all(p.exists() and p.parent.name == "noise" for p in rec.written)


def record_command(*args, timeout=120):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "audioclf_lib", "record", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.audio
def test_record_command_writes_what_the_microphone_hears(virtual_mic, tmp_path):
    clip = steady_music_clip()
    played, _ = load_audio(clip)
    playback = virtual_mic.play(clip)
    try:
        wait_until_audible(virtual_mic)
        out = record_command("vmic-cli", "--class", "music", "--clips", 2, "--seconds", 1.5, "--root", tmp_path)
    finally:
        playback.stop()
    assert out.returncode == 0, out.stderr
    paths = sorted((tmp_path / "vmic-cli" / "music").glob("*.wav"))
    assert len(paths) == 2 and all(f"{k}/2 {p}" in out.stdout for k, p in enumerate(paths, 1)), out.stdout
    for path in paths:
        y, sr = sf.read(str(path), dtype="float32")
        assert sr == SR and len(y) == int(1.5 * SR)
        median_r, share, _ = matches_played(y, played)
        assert median_r > 0.95 and share >= 0.75, f"{path.name} does not match the played clip (r={median_r:.3f})"
    assert "{'music': 2}" in out.stdout and "finetune" in out.stdout
    # A class name that is not a plain folder name is refused before anything is recorded.
    bad = record_command("vmic-cli", "--class", "../elsewhere", "--clips", 1, "--root", tmp_path)
    assert bad.returncode == 2 and "class_name='../elsewhere'" in bad.stderr and "Traceback" not in bad.stderr
    assert sorted(p.name for p in (tmp_path / "vmic-cli").iterdir()) == ["music"]


def test_record_command_without_that_microphone_says_why(tmp_path):
    out = record_command("nowhere", "--class", "music", "--input", "no-such-microphone", "--root", tmp_path)
    assert out.returncode == 1 and "cannot record" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.audio
def test_record_command_ctrl_c_keeps_the_clips_already_written(virtual_mic, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    playback = virtual_mic.play(steady_music_clip())
    folder = tmp_path / "interrupted" / "music"
    try:
        wait_until_audible(virtual_mic)
        proc = popen_interruptible([sys.executable, "-m", "audioclf_lib", "record", "interrupted", "--class", "music",
                                 "--clips", "20", "--seconds", "0.5", "--root", str(tmp_path)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while len(list(folder.glob("*.wav"))) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    finally:
        playback.stop()
    assert proc.returncode == 130, stderr
    clips = sorted(folder.iterdir())
    assert 2 <= len(clips) < 20 and all(p.suffix == ".wav" for p in clips), clips  # no half-written ".part" left
    for path in clips:
        assert sf.info(str(path)).frames == SR // 2
