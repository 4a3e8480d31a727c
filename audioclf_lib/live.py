"""The live loop: audio blocks in, a decision per window out, with no UI in sight.

Notebook: 05_live_demo.ipynb

Data flow::

    source (microphone / file in real time)            worker thread                       listeners
    ---------------------------------------           -------------------------------     -------------------
    PortAudio callback: copy block, count       -->    bounded   --> resample to 16 kHz  --> LiveProgress (~50 ms)
    overflows, put_nowait (a full queue is a           queue         ring buffer             LiveResult (per window)
    counted drop, never a wait)                                      window / hop             LiveStatus (state changes)
                                                                     silence gate
                                                                     Predictor (CPU/CUDA)
                                                                     smoothing (sliding)

* :class:`MicSource` records from the default or a chosen input device (``sounddevice``);
  :class:`FileSource` plays files (or an array) into the loop in real time, so everything runs
  on a machine without a microphone.
* :class:`LiveClassifier` owns the worker thread. ``mode="windows"`` is the seed's back-to-back
  5-s recordings; ``mode="sliding"`` re-classifies the latest window every ``hop_seconds`` and
  averages the last ``smoothing`` probability vectors.
* Faults become a state and a sentence (:class:`LiveStatus`), never a traceback: no input device,
  PortAudio missing, the device vanishing mid-stream, the model raising, a missing checkpoint.
  Pressing Start again recovers.

``sounddevice`` is imported only when a microphone is used, so importing this module never
touches the audio system (and works where PortAudio is not installed).
"""
from __future__ import annotations

import logging
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from .audio import SILENCE_DBFS, fix_length, loud_level_dbfs, segment, stream_blocks

__all__ = [
    "LiveError",
    "LiveStatus",
    "LiveProgress",
    "LiveResult",
    "MicSource",
    "FileSource",
    "LiveClassifier",
    "import_sounddevice",
    "input_devices",
    "check_input_device",
    "loopback_room_available",
    "play_into_room",
    "save_window",
    "spectrogram_rgb",
    "spectrogram_png",
    "timer_text",
    "demo_clips",
    "StreamRun",
    "stream_clips",
]

log = logging.getLogger(__name__)

#: States of a :class:`LiveClassifier`.
IDLE, STARTING, LISTENING, STOPPED, ENDED, ERROR = "idle", "starting", "listening", "stopped", "ended", "error"


class LiveError(RuntimeError):
    """The live loop cannot start or go on; the message is a sentence a user can act on."""


# --------------------------------------------------------------------------------------------
# events


@dataclass(frozen=True)
class LiveStatus:
    """A state change: ``idle``, ``starting``, ``listening``, ``stopped``, ``ended`` (file played out) or ``error``."""

    state: str
    message: str = ""
    timestamp: float = field(default_factory=time.time)


@dataclass(frozen=True)
class LiveProgress:
    """Where the current window stands, published about every 50 ms while audio arrives."""

    filled_s: float  #: audio collected towards the next decision (s)
    target_s: float  #: audio needed for the next decision (s)
    window_s: float  #: length of a classified window (s)
    level_dbfs: float  #: RMS level of the latest block
    mode: str
    #: The latest ``window_s`` of audio at ``sample_rate`` (a copy), for a live spectrogram.
    audio: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0, np.float32))
    sample_rate: int = 16_000

    @property
    def fraction(self) -> float:
        return float(min(1.0, self.filled_s / self.target_s)) if self.target_s > 0 else 0.0

    @property
    def text(self) -> str:
        return timer_text(self.filled_s, self.target_s, self.mode)


@dataclass(frozen=True)
class LiveResult:
    """One published decision."""

    index: int  #: 0, 1, 2, ... since Start
    label: str  #: winning class (after smoothing), or ``"silence"``
    confidence: float  #: probability of ``label`` (1.0 for silence)
    probabilities: dict[str, float]  #: smoothed class probabilities (empty for silence)
    raw_probabilities: dict[str, float]  #: this window's own probabilities (empty for silence)
    level_dbfs: float  #: loudness of the window
    timestamp: float  #: wall-clock time of publication (``time.time()``)
    window_end: float  #: ``time.monotonic()`` when the block completing the window reached the callback
    published: float  #: ``time.monotonic()`` at publication
    inference_ms: float  #: gate + features + model
    audio: np.ndarray = field(repr=False)  #: the classified window (float32 at ``sample_rate``)
    sample_rate: int = 16_000
    start_s: float = 0.0  #: window start, seconds of audio since Start
    mode: str = "windows"
    model: str = ""
    device: str = "cpu"

    @property
    def latency_ms(self) -> float:
        """End of window (its last block in the callback) -> result published, in ms."""
        return (self.published - self.window_end) * 1e3

    @property
    def is_silence(self) -> bool:
        return self.label == "silence"


def timer_text(filled_s: float, target_s: float, mode: str = "windows") -> str:
    """The seed's timer line: ``"Recording… 3.8 s / 5.0 s"`` (sliding mode: time to the next decision)."""
    if mode == "sliding":
        return f"Listening… next decision in {max(0.0, target_s - filled_s):.1f} s"
    return f"Recording… {min(filled_s, target_s):.1f} s / {target_s:.1f} s"


# --------------------------------------------------------------------------------------------
# sounddevice, devices and the "room"


def import_sounddevice():
    """``import sounddevice``, turning a missing PortAudio library into a :class:`LiveError`."""
    try:
        import sounddevice as sd
    except OSError as exc:  # sounddevice raises OSError when libportaudio cannot be loaded
        raise LiveError(
            f"PortAudio is not installed, so no microphone can be used ({exc}). Install it "
            "(Debian/Ubuntu: `sudo apt-get install libportaudio2`, or `make setup`), or choose the file source."
        ) from None
    return sd


def input_devices() -> list[tuple[int, str]]:
    """``(index, name)`` of every input device PortAudio lists (empty when none or no PortAudio)."""
    try:
        sd = import_sounddevice()
        devices = sd.query_devices()
    except Exception:  # noqa: BLE001 - any failure here means "no devices to offer"
        return []
    return [(i, d["name"]) for i, d in enumerate(devices) if d.get("max_input_channels", 0) > 0]


def _device_error(exc: Exception, device) -> LiveError:
    text = str(exc).strip() or type(exc).__name__
    if "No input device matching" in text or "No device matching" in text:
        names = ", ".join(repr(n) for _, n in input_devices()) or "none"
        return LiveError(f"No input device matching {device!r}. Input devices: {names}.")
    if "querying device -1" in text or "Invalid device" in text or "no default" in text.lower():
        return LiveError("No input device: no microphone is connected, or the sound server is not running. "
                         f"Connect a microphone, or choose the file source. ({text})")
    return LiveError(f"Cannot open the input device {device if device is not None else '(default)'}: {text}")


def check_input_device(device: int | str | None = None) -> str:
    """Describe the input device that would be used (``"name, default 44100 Hz"``), or raise :class:`LiveError`."""
    sd = import_sounddevice()
    try:
        info = sd.query_devices(device, kind="input")
    except (sd.PortAudioError, ValueError) as exc:
        raise _device_error(exc, device) from None
    if int(info.get("max_input_channels", 0)) < 1:
        raise LiveError(f"Device {info.get('name')!r} has no input channels.")
    return f"{info['name']}, default {info['default_samplerate']:g} Hz"


def loopback_room_available() -> bool:
    """True when the default microphone hears what the default speaker plays (a PulseAudio loopback).

    That is the virtual microphone of ``scripts/virtual_mic.sh`` (CI, tests): its default source
    is ``vmic``, a remap of the speaker's monitor. Notebook 05 then streams its demo clips through
    the microphone path instead of the file source.
    """
    if not os.environ.get("PULSE_SERVER") or shutil.which("pactl") is None:
        return False
    try:
        out = subprocess.run(["pactl", "get-default-source"], capture_output=True, text=True, timeout=3)
    except (OSError, subprocess.SubprocessError):
        return False
    name = out.stdout.strip()
    return out.returncode == 0 and (name == "vmic" or name.endswith(".monitor"))


class RoomPlayback:
    """A ``paplay`` process playing into the default speaker; :meth:`stop` ends it."""

    def __init__(self, process: subprocess.Popen, temp: Path | None):
        self.process, self._temp = process, temp

    @property
    def playing(self) -> bool:
        return self.process.poll() is None

    def wait(self, timeout: float | None = None) -> None:
        try:
            self.process.wait(timeout)
        finally:
            self._cleanup()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._cleanup()

    def _cleanup(self) -> None:
        if self._temp is not None and self.process.poll() is not None:
            self._temp.unlink(missing_ok=True)


def play_into_room(audio: str | Path | np.ndarray, sr: int | None = None) -> RoomPlayback:
    """Play a file or an array on the default speaker with ``paplay`` (returns at once).

    With the virtual microphone this is how a clip reaches the microphone path.
    """
    if shutil.which("paplay") is None:
        raise LiveError("paplay (pulseaudio-utils) is not installed: cannot play into the room")
    temp = None
    if isinstance(audio, np.ndarray):
        if sr is None:
            raise ValueError("play_into_room(array) needs sr=, the array's sample rate")
        fd, name = tempfile.mkstemp(suffix=".wav", prefix="audioclf-play-")
        os.close(fd)
        temp = Path(name)
        sf.write(temp, np.clip(audio, -1.0, 1.0), sr, subtype="PCM_16")
        audio = temp
    process = subprocess.Popen(["paplay", "--latency-msec=50", str(audio)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    return RoomPlayback(process, temp)


# --------------------------------------------------------------------------------------------
# sources


class _Sink:
    """What a source feeds: a bounded queue plus counters. ``push`` never blocks."""

    def __init__(self, max_blocks: int):
        self.queue: queue.Queue = queue.Queue(maxsize=max_blocks)
        self.overflows = 0  #: input overflows reported by the device
        self.dropped = 0  #: blocks dropped because the queue was full (the worker fell behind)
        self.blocks = 0
        self.error: str | None = None
        self.ended = False
        self.last_block = 0.0
        self.first_block: float | None = None

    def push(self, block: np.ndarray, overflow: bool = False) -> None:
        now = time.monotonic()
        self.last_block = now
        if self.first_block is None:
            self.first_block = now
        if overflow:
            self.overflows += 1
        try:
            self.queue.put_nowait((block, now))
            self.blocks += 1
        except queue.Full:
            self.dropped += 1

    def fail(self, message: str) -> None:
        if self.error is None:
            self.error = message

    def end(self) -> None:
        self.ended = True


class MicSource:
    """A microphone: the default input device, or one chosen by index or name.

    Notebook: 05_live_demo.ipynb

    The ``sounddevice`` callback only copies each block into the loop's queue and counts
    overflows. The device is asked for the model's rate (16 kHz); if it refuses, its own default
    rate is used and the worker resamples.
    """

    def __init__(self, device: int | str | None = None, *, samplerate: int | None = None, block_seconds: float = 0.05,
                 latency: str | float = "high"):
        self.device = device
        self.requested_rate = samplerate
        self.block_seconds = block_seconds
        self.latency = latency
        self.sample_rate: int | None = None
        self._stream = None

    @property
    def name(self) -> str:
        return f"microphone {self.device!r}" if self.device is not None else "default microphone"

    @property
    def active(self) -> bool:
        return self._stream is not None and self._stream.active

    def start(self, sink: _Sink, preferred_rate: int) -> None:
        sd = import_sounddevice()
        rate = self.requested_rate or preferred_rate
        try:
            info = sd.query_devices(self.device, kind="input")
            if int(info.get("max_input_channels", 0)) < 1:
                raise LiveError(f"Device {info.get('name')!r} has no input channels.")
            try:
                sd.check_input_settings(self.device, channels=1, dtype="float32", samplerate=rate)
            except (sd.PortAudioError, ValueError):
                rate = int(info["default_samplerate"])  # the device's own rate; the worker resamples
        except (sd.PortAudioError, ValueError) as exc:
            raise _device_error(exc, self.device) from None
        self.sample_rate = int(rate)

        def callback(indata, frames, time_info, status):  # PortAudio's thread: copy, count, return
            sink.push(indata[:, 0].copy(), bool(status.input_overflow))

        def finished():  # the stream stopped without being asked: device gone, server died
            if self._stream is not None:
                sink.fail("The input device stopped delivering audio (unplugged, or the sound server stopped). "
                          "Press Start to try again.")

        try:
            stream = sd.InputStream(device=self.device, samplerate=self.sample_rate, channels=1, dtype="float32",
                                    blocksize=max(1, int(self.block_seconds * self.sample_rate)), latency=self.latency,
                                    callback=callback, finished_callback=finished)
            self._stream = stream
            stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            self.stop()
            raise _device_error(exc, self.device) from None

    def stop(self) -> None:
        stream, self._stream = self._stream, None  # first, so finished() knows it was asked to stop
        if stream is not None:
            try:
                stream.abort()
            except Exception:  # noqa: BLE001 - a vanished device may refuse; closing is what matters
                pass
            try:
                stream.close()
            except Exception:  # noqa: BLE001
                log.debug("closing the input stream failed", exc_info=True)

    def __repr__(self) -> str:
        return f"MicSource(device={self.device!r})"


class FileSource:
    """Audio files (or an array) played into the loop in real time, block by block.

    Notebook: 05_live_demo.ipynb

    Parameters
    ----------
    audio : a path, a list of paths (played one after the other), or a float array.
    sr : rate of ``audio`` when it is an array.
    loop : start again at the end instead of ending the stream.
    speed : 1.0 is real time; larger plays faster (tests, benchmarks).
    block_seconds : block length handed to the loop (like a microphone's 50-ms blocks).
    """

    def __init__(self, audio: str | Path | Sequence[str | Path] | np.ndarray, sr: int | None = None, *, loop: bool = False,
                 speed: float = 1.0, block_seconds: float = 0.05):
        if isinstance(audio, np.ndarray):
            if sr is None:
                raise ValueError("FileSource(array) needs sr=, the array's sample rate")
            self.paths: list[Path] = []
            self.array = np.asarray(audio, dtype=np.float32)
        else:
            items = [audio] if isinstance(audio, (str, Path)) else list(audio)
            if not items:
                raise ValueError("FileSource needs at least one file")
            self.paths = [Path(p) for p in items]
            self.array = None
        if speed <= 0 or block_seconds <= 0:
            raise ValueError(f"speed={speed} and block_seconds={block_seconds} must be positive")
        self.array_sr = sr
        self.loop = loop
        self.speed = float(speed)
        self.block_seconds = block_seconds
        self.sample_rate: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def name(self) -> str:
        if self.array is not None:
            return "audio array"
        return f"file {self.paths[0].name}" + (f" (+{len(self.paths) - 1} more)" if len(self.paths) > 1 else "")

    @property
    def active(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _chunks(self, sr: int):
        if self.array is not None:
            from .audio import resample

            yield resample(self.array, self.array_sr, sr)
            return
        for path in self.paths:
            yield from stream_blocks(path, sr, block_seconds=30.0)

    def start(self, sink: _Sink, preferred_rate: int) -> None:
        for path in self.paths:
            if not path.is_file():
                raise LiveError(f"Audio file not found: {path}")
        self.sample_rate = preferred_rate
        self._stop.clear()
        n = max(1, int(self.block_seconds * preferred_rate))

        def play() -> None:
            t_next = time.monotonic()
            try:
                while not self._stop.is_set():
                    for chunk in self._chunks(preferred_rate):
                        for i in range(0, chunk.size, n):
                            block = chunk[i : i + n]
                            t_next += block.size / preferred_rate / self.speed
                            delay = t_next - time.monotonic()
                            if delay > 0 and self._stop.wait(delay):
                                return
                            sink.push(block.copy())
                    if not self.loop:
                        break
                sink.end()
            except Exception as exc:  # noqa: BLE001 - a broken file ends the stream with its reason
                sink.fail(f"Cannot read the audio file: {exc}")

        self._thread = threading.Thread(target=play, name="audioclf-live-file", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(1.0)
            self._thread = None

    def __repr__(self) -> str:
        return f"FileSource({self.name!r}, speed={self.speed:g}, loop={self.loop})"


# --------------------------------------------------------------------------------------------
# the engine

Listener = Callable[[object], None]


class LiveClassifier:
    """The streaming core: a source, a worker thread, a :class:`~audioclf_lib.predict.Predictor`, listeners.

    Notebook: 05_live_demo.ipynb

    Parameters
    ----------
    model : a bundled checkpoint name (``"music-noise"``, ``"music-speech-noise"``), a path, or a
        :class:`~audioclf_lib.predict.Predictor`. Loaded at :meth:`start` (a missing file is an
        ``error`` state with a message, not an exception in the UI).
    source : :class:`MicSource` (default: the default microphone) or :class:`FileSource`.
    mode : ``"windows"`` (back-to-back windows, the seed) or ``"sliding"``.
    window_seconds : audio per decision (default: the model's window, 5 s). Shorter windows are
        wrapped to the model's length; longer ones are classified as the mean over model-length pieces.
    hop_seconds : sliding mode: a decision every ``hop_seconds``.
    smoothing : sliding mode: the label comes from the mean of the last ``smoothing`` probability vectors.
    silence_dbfs : silence gate (``None``: off); can be changed while running.
    device : ``"cuda"``, ``"cpu"`` or ``None`` (CUDA when available).
    queue_seconds : capacity of the block queue; a worker that falls further behind drops (and counts) blocks.
    history : how many results :attr:`results` keeps (each holds its window's audio: 320 kB for 5 s).

    Listeners (:meth:`add_listener`) are called in the worker thread with each
    :class:`LiveProgress`, :class:`LiveResult` and :class:`LiveStatus`; an exception in a listener is
    logged and counted, never fatal.
    """

    def __init__(self, model="music-speech-noise", *, source: MicSource | FileSource | None = None, mode: str = "windows",
                 window_seconds: float | None = None, hop_seconds: float = 0.5, smoothing: int = 3,
                 silence_dbfs: float | None = SILENCE_DBFS, device: str | None = None, queue_seconds: float = 10.0,
                 history: int = 20, progress_interval: float = 0.05):
        self.model = model
        self.source = source if source is not None else MicSource()
        self.mode = mode
        self.window_seconds = window_seconds
        self.hop_seconds = hop_seconds
        self.smoothing = smoothing
        self.silence_dbfs = silence_dbfs
        self.device = device
        self.queue_seconds = queue_seconds
        self.progress_interval = progress_interval
        self.predictor = None
        self.results: deque[LiveResult] = deque(maxlen=history)
        self.state = IDLE
        self.message = ""
        self.stats: dict[str, float] = {}
        self.worker_native_id: int | None = None
        #: The exception behind the last ``error`` state, for debugging (the UI shows only the sentence).
        self.last_exception: BaseException | None = None
        self._listeners: list[Listener] = []
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sink: _Sink | None = None
        self._result_cv = threading.Condition()
        self._check_settings()

    # -- settings -------------------------------------------------------------------------------
    def _check_settings(self) -> None:
        if self.mode not in ("windows", "sliding"):
            raise ValueError(f"mode={self.mode!r}; expected 'windows' or 'sliding'")
        if self.window_seconds is not None and not 0.5 <= self.window_seconds <= 30:
            raise ValueError(f"window_seconds={self.window_seconds}: use 0.5-30 s")
        if not 0.05 <= self.hop_seconds <= 30:
            raise ValueError(f"hop_seconds={self.hop_seconds}: use 0.05-30 s")
        if self.smoothing < 1:
            raise ValueError(f"smoothing={self.smoothing} must be >= 1")

    @property
    def model_name(self) -> str:
        if self.predictor is not None:
            return self.predictor.name
        if hasattr(self.model, "probabilities"):
            return getattr(self.model, "name", "model")
        return Path(str(self.model)).stem

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def window_s(self) -> float:
        if self.window_seconds is not None:
            return float(self.window_seconds)
        return self.predictor.config.window_seconds if self.predictor is not None else 5.0

    # -- listeners --------------------------------------------------------------------------------
    def add_listener(self, fn: Listener) -> Listener:
        """Call ``fn(event)`` for every progress, result and status event (in the worker thread)."""
        with self._lock:
            if fn not in self._listeners:
                self._listeners.append(fn)
        return fn

    def remove_listener(self, fn: Listener) -> None:
        with self._lock:
            if fn in self._listeners:
                self._listeners.remove(fn)

    def _emit(self, event) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for fn in listeners:
            try:
                fn(event)
            except Exception:  # noqa: BLE001 - a broken listener must not stop the loop
                self.stats["listener_errors"] = self.stats.get("listener_errors", 0) + 1
                log.debug("live listener %r failed", fn, exc_info=True)  # not printed: it would land in a cell

    def _set_state(self, state: str, message: str = "") -> None:
        self.state, self.message = state, message
        self._emit(LiveStatus(state, message))
        with self._result_cv:
            self._result_cv.notify_all()

    # -- start / stop -------------------------------------------------------------------------------
    def _load_predictor(self):
        from .checkpoint import CheckpointError
        from .predict import Predictor

        if hasattr(self.model, "probabilities") and hasattr(self.model, "class_names"):
            return self.model  # a Predictor (or anything with its interface)
        if self.predictor is not None and self._loaded_from == (str(self.model), self.device):
            return self.predictor
        try:
            predictor = Predictor(self.model, device=self.device, silence_dbfs=None)
        except CheckpointError as exc:
            raise LiveError(f"Model {str(self.model)!r} cannot be loaded: {exc}. Train it with "
                            "notebooks/02_train_cnn.ipynb (or choose another model).") from None
        except (OSError, RuntimeError) as exc:
            raise LiveError(f"Model {str(self.model)!r} cannot be loaded: {exc}") from None
        self._loaded_from = (str(self.model), self.device)
        return predictor

    _loaded_from: tuple | None = None

    def load(self):
        """Load the model now (the first load takes a few seconds); returns the Predictor or raises :class:`LiveError`."""
        self.predictor = self._load_predictor()
        return self.predictor

    def start(self, source: MicSource | FileSource | None = None) -> bool:
        """Start listening. Returns ``False`` if already running (starting twice is harmless).

        Raises
        ------
        LiveError
            The model cannot be loaded or the source cannot be opened; :attr:`state` is then
            ``"error"`` and :attr:`message` holds the same sentence.
        """
        with self._lock:
            if self.running:
                return False
            if source is not None:
                self.source = source
            try:
                self._check_settings()
            except ValueError as exc:
                self._set_state(ERROR, str(exc))
                raise LiveError(str(exc)) from None
            self._set_state(STARTING, f"opening {self.source.name} …")
            try:
                self.predictor = self._load_predictor()
                cfg = self.predictor.config
                sink = _Sink(max_blocks=max(8, int(self.queue_seconds / getattr(self.source, "block_seconds", 0.05))))
                self.source.start(sink, cfg.sample_rate)
            except LiveError as exc:
                self._set_state(ERROR, str(exc))
                raise
            except Exception as exc:  # noqa: BLE001 - anything else still becomes a sentence
                self._set_state(ERROR, f"Cannot start: {type(exc).__name__}: {exc}")
                raise LiveError(self.message) from exc
            self._sink = sink
            self._stop.clear()
            self.results.clear()
            self.stats = {"blocks": 0, "overflows": 0, "dropped_blocks": 0, "decisions": 0, "sound_decisions": 0,
                          "max_queue": 0, "worker_cpu_s": 0.0, "seconds": 0.0, "listener_errors": 0,
                          "input_rate": self.source.sample_rate}
            self._thread = threading.Thread(target=self._run, args=(sink, self.source), name="audioclf-live-worker",
                                            daemon=True)
            self._thread.start()
            return True

    def stop(self, timeout: float = 2.0) -> bool:
        """Stop listening: the source is closed and the worker joined. ``True`` when both are gone.

        The worker checks for Stop every 50 ms and after each inference, so this normally
        returns within a few tens of milliseconds; ``timeout`` only bounds a stuck model call.
        """
        with self._lock:
            self._stop.set()
            source, thread = self.source, self._thread
        source.stop()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        stopped = thread is None or not thread.is_alive()
        if stopped and self.state in (STARTING, LISTENING):
            self._set_state(STOPPED, "Stopped.")
        return stopped

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the worker to end by itself (a file played out, an error); ``True`` when it has."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.running

    def wait_for_results(self, n: int = 1, *, timeout: float = 30.0, skip_silence: bool = False) -> list[LiveResult]:
        """Block until ``n`` results (``skip_silence``: non-silent ones) were published since Start, the loop
        ended, or ``timeout`` passed; return the latest of them that :attr:`results` still holds (at most ``n``)."""
        deadline = time.monotonic() + timeout
        key = "sound_decisions" if skip_silence else "decisions"
        with self._result_cv:
            while True:
                if self.stats.get(key, 0) >= n or not self.running or time.monotonic() > deadline:
                    got = [r for r in self.results if not (skip_silence and r.is_silence)]
                    return got[-n:]
                self._result_cv.wait(min(0.1, max(0.0, deadline - time.monotonic())))

    def close(self) -> None:
        """Stop and drop the listeners."""
        self.stop()
        with self._lock:
            self._listeners.clear()

    def __enter__(self) -> "LiveClassifier":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the worker ---------------------------------------------------------------------------------
    def _classify(self, window: np.ndarray, sr: int) -> tuple[str, float, dict, float]:
        """(label, confidence, probabilities, level) for one window; gate + one or more model windows."""
        p = self.predictor
        level = loud_level_dbfs(window)
        gate = self.silence_dbfs
        if gate is not None and level < gate:  # the gate of audio.is_silent
            return "silence", 1.0, {}, level
        n = p.config.window_samples
        if window.size <= n:
            batch = fix_length(window, n)[None]
        else:  # a longer decision window: the mean over model-length pieces (half-overlapping)
            batch, _ = segment(window, n, hop=n // 2)
        probs = p.probabilities(batch).mean(axis=0)
        probs = probs / probs.sum()
        k = int(np.argmax(probs))
        return p.class_names[k], float(probs[k]), dict(zip(p.class_names, map(float, probs))), level

    def _run(self, sink: _Sink, source) -> None:
        self.worker_native_id = threading.get_native_id()
        cpu0 = time.thread_time()
        try:
            self._loop(sink, source, cpu0)
        except Exception as exc:  # noqa: BLE001 - the UI gets a sentence; the traceback is kept, not printed
            self.last_exception = exc
            log.debug("live worker failed", exc_info=True)
            self._set_state(ERROR, f"The live loop stopped: {type(exc).__name__}: {exc}. Press Start to try again.")
        finally:
            self.stats["worker_cpu_s"] = time.thread_time() - cpu0
            if self.state in (ERROR, ENDED):
                source.stop()
            elif self._stop.is_set() and self.state in (STARTING, LISTENING):
                self._set_state(STOPPED, "Stopped.")  # Stop outlasted its join timeout (a slow model call)

    def _loop(self, sink: _Sink, source, cpu0: float) -> None:
        import soxr

        p = self.predictor
        sr = p.config.sample_rate
        in_rate = int(source.sample_rate or sr)
        resampler = soxr.ResampleStream(in_rate, sr, 1, dtype="float32") if in_rate != sr else None
        n = int(round(self.window_s * sr))
        sliding = self.mode == "sliding"
        hop = int(round(self.hop_seconds * sr)) if sliding else n
        buf = np.zeros(n + 4 * sr, np.float32)  # the latest audio: a window plus room for the blocks after it
        filled = 0  # valid samples, buf[:filled], oldest first
        since_decision = 0  # samples since the last decision (sliding) / in the current window (windows)
        total = 0
        recent: deque[np.ndarray] = deque(maxlen=self.smoothing)
        index = 0
        last_progress = 0.0
        started = time.monotonic()
        got_audio = False
        self._set_state(LISTENING, f"Listening… ({source.name})")
        while not self._stop.is_set():
            try:
                block, t_block = sink.queue.get(timeout=0.05)
            except queue.Empty:
                block = None
            self.stats.update(overflows=sink.overflows, dropped_blocks=sink.dropped, blocks=sink.blocks,
                              worker_cpu_s=time.thread_time() - cpu0, seconds=total / sr,
                              first_block_at=sink.first_block or 0.0)
            if block is None:
                if sink.error:
                    self._set_state(ERROR, sink.error)
                    return
                if sink.ended and sink.queue.empty():
                    self._set_state(ENDED, f"{source.name} played to the end.")
                    return
                quiet = time.monotonic() - (sink.last_block if got_audio else started)
                if quiet > (8.0 if not got_audio else 3.0):
                    what = "no audio arrived since Start" if not got_audio else f"no audio for {quiet:.0f} s"
                    self._set_state(ERROR, f"The input device stopped delivering audio ({what}): unplugged, muted by "
                                           "the system, or the sound server stopped. Press Start to try again.")
                    return
                continue
            got_audio = True
            self.stats["max_queue"] = max(self.stats["max_queue"], sink.queue.qsize() + 1)
            if resampler is not None:
                block = resampler.resample_chunk(block)
            m = block.size
            if m == 0:
                continue
            if m >= buf.size:  # append to the buffer, which keeps the latest len(buf) samples
                buf[:], filled = block[-buf.size :], buf.size
            else:
                if filled + m > buf.size:
                    keep = buf.size - m
                    buf[:keep] = buf[filled - keep : filled]  # numpy copies overlapping slices safely
                    filled = keep
                buf[filled : filled + m] = block
                filled += m
            total += m
            since_decision += m
            decide = since_decision >= (hop if sliding else n) and (not sliding or total >= n)
            now = time.monotonic()
            if not decide and now - last_progress >= self.progress_interval:
                last_progress = now
                if sliding and total < n:
                    filled_s, target_s = total / sr, n / sr
                    mode = "windows"  # the first window fills up exactly like the seed's timer
                else:
                    filled_s, target_s, mode = since_decision / sr, (hop if sliding else n) / sr, self.mode
                level = 10 * np.log10(float(np.mean(np.square(block, dtype=np.float64))) + 1e-10)
                self._emit(LiveProgress(filled_s, target_s, n / sr, float(level), mode, buf[max(0, filled - n) : filled].copy(), sr))
            if not decide:
                continue
            # -- a decision ------------------------------------------------------------------
            if sliding:
                window = buf[filled - n : filled].copy()
                since_decision = 0
            else:
                extra = min(since_decision - n, filled - n)  # samples of this block that belong to the next window
                window = buf[filled - n - extra : filled - extra].copy()
                since_decision = min(extra, n - 1)
            t0 = time.perf_counter()
            try:
                label, conf, probs, level = self._classify(window, sr)
            except Exception as exc:  # noqa: BLE001 - a model that raises stops the loop with a sentence
                self.last_exception = exc
                log.debug("the model failed", exc_info=True)
                self._set_state(ERROR, f"The model failed on a window ({type(exc).__name__}: {str(exc)[:200]}), so "
                                       "listening stopped. Press Start to try again (or choose another model).")
                return
            inference_ms = (time.perf_counter() - t0) * 1e3
            if self._stop.is_set():
                return  # Stop pressed during inference: publish nothing after Stop
            raw = dict(probs)
            if label == "silence":
                recent.clear()
            elif sliding:
                recent.append(np.array([probs[c] for c in p.class_names]))
                mean = np.mean(recent, axis=0)
                k = int(np.argmax(mean))
                label, conf, probs = p.class_names[k], float(mean[k]), dict(zip(p.class_names, map(float, mean)))
            result = LiveResult(index, label, conf, probs, raw, level, time.time(), t_block, time.monotonic(),
                                inference_ms, window, sr, (total - n) / sr if sliding else index * n / sr, self.mode,
                                p.name, str(p.device))
            index += 1
            with self._result_cv:
                self.results.append(result)
                self.stats["decisions"] = index
                self.stats["sound_decisions"] = self.stats.get("sound_decisions", 0) + (label != "silence")
                self._result_cv.notify_all()
            self._emit(result)
            self._emit(LiveProgress(since_decision / sr, (hop if sliding else n) / sr, n / sr, level, self.mode,
                                    buf[max(0, filled - n) : filled].copy(), sr))


# --------------------------------------------------------------------------------------------
# debug: save classified windows


def save_window(result: LiveResult, folder: str | Path, *, extractor=None, scale: int = 2) -> tuple[Path, Path]:
    """Write a result's window as ``<folder>/<time>_<index>_<label>.wav`` and the matching spectrogram ``.png``.

    Notebook: 05_live_demo.ipynb (the debug toggle; the seed saved spectrograms "for visual inspection").
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(result.timestamp))
    stem = folder / f"{stamp}_{result.index:04d}_{result.label}_{round(100 * result.confidence):d}"
    wav, png = stem.with_suffix(".wav"), stem.with_suffix(".png")
    sf.write(wav, result.audio, result.sample_rate, subtype="PCM_16")
    png.write_bytes(spectrogram_png(result.audio, result.sample_rate, extractor=extractor, scale=scale))
    return wav, png


_EXTRACTORS: dict = {}


def spectrogram_rgb(y: np.ndarray, sr: int, *, extractor=None, width: int | None = None,
                    colormap: str = "magma", floor_db: float = -20.0) -> np.ndarray:
    """Log-mel image of ``y``, shape (n_mels, T, 3) uint8, low bands at the bottom, no figure involved.

    The project's front end (dB below the window's maximum, ``top_db`` range) through a
    colormap lookup table: about 2 ms for 5 s of audio, against ~75 ms for a matplotlib figure.
    One difference from what the model sees: the reference is never lower than ``floor_db``
    (mel power in dB, about 50 dB below the peak of a full-scale sine), so silence is drawn dark
    instead of being stretched to full contrast. ``width`` pads (darkest colour) or crops to that
    many frames, so a window that is still filling up grows from the left.
    """
    import torch

    from .config import FeatureConfig
    from .features import FeatureExtractor, colormap_lut

    if extractor is None:
        key = (sr, colormap)
        if key not in _EXTRACTORS:
            _EXTRACTORS[key] = FeatureExtractor(FeatureConfig(sample_rate=sr)).eval()
        extractor = _EXTRACTORS[key]
    lut_key = ("lut", colormap)
    if lut_key not in _EXTRACTORS:
        _EXTRACTORS[lut_key] = (colormap_lut(colormap).numpy()[:, :3] * 255).round().astype(np.uint8)
    lut = _EXTRACTORS[lut_key]
    cfg = extractor.config
    y = np.asarray(y, dtype=np.float32)
    if y.size < cfg.n_fft:
        y = np.pad(y, (0, cfg.n_fft - y.size))
    with torch.inference_mode():
        device = extractor.window.device
        x = torch.from_numpy(y)[None].to(device)
        S_db = 10.0 * torch.log10(torch.clamp(extractor.power_mel(x - x.mean()), min=1e-10))[0].cpu().numpy()
    S_db = S_db - max(float(S_db.max()), floor_db)  # (n_mels, T), dB below the window's maximum (or the floor)
    idx = np.clip((S_db / cfg.top_db + 1.0) * 255, 0, 255).astype(np.uint8)[::-1]
    if width is not None:
        idx = idx[:, -width:] if idx.shape[1] >= width else np.pad(idx, ((0, 0), (0, width - idx.shape[1])))
    return lut[idx]


def spectrogram_png(y: np.ndarray, sr: int, *, extractor=None, scale: int = 2, width: int | None = None) -> bytes:
    """:func:`spectrogram_rgb` as PNG bytes, each mel band ``scale`` pixels high (for an ``ipywidgets.Image``)."""
    import io

    from PIL import Image

    rgb = spectrogram_rgb(y, sr, extractor=extractor, width=width)
    if scale > 1:
        rgb = np.repeat(rgb, scale, axis=0)
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


_MANIFESTS: dict = {}


def demo_clips(cls: str, *, seconds: float = 10.0, predictor=None, split: str = "test", seed: int = 0,
               min_confidence: float = 0.8, root: str | Path | None = None) -> list[Path]:
    """Held-out recordings of class ``cls``, together at least ``seconds`` long, to stream in a demo or test.

    Notebook: 05_live_demo.ipynb

    Clips come from ``split`` of the grouped split of notebook 01 (``seed``), so a model trained on
    the train split has never heard them, taken round-robin over their sources. With a
    ``predictor``, only clips it classifies correctly offline (whole-clip decision, confidence
    at least ``min_confidence``) are used: the demo then checks that the *live path* reproduces
    the offline decision; the model's accuracy is measured in notebook 02.
    """
    from .config import data_dir
    from .data import build_manifest, split_manifest

    root = Path(root) if root is not None else data_dir()
    key = (str(root), seed)
    if key not in _MANIFESTS:
        _MANIFESTS[key] = split_manifest(build_manifest(root)[0], seed=seed)
    table = _MANIFESTS[key]
    rows = table[(table["class"] == cls) & (table["split"] == split)].sort_values("path")
    if rows.empty:
        raise ValueError(f"no {split!r} clips of class {cls!r} under {root}")
    by_source = [list(g.itertuples()) for _, g in rows.groupby("source", sort=True)]
    order = [group[i] for i in range(max(map(len, by_source))) for group in by_source if i < len(group)]
    picked, total = [], 0.0
    for row in order:
        path = root / row.path
        if predictor is not None:
            label, probs = predictor.classify_file(path)
            if label != cls or float(probs.max()) < min_confidence:
                continue
        picked.append(path)
        total += float(row.duration_s)
        if total >= seconds:
            return picked
    if not picked:
        raise ValueError(f"no {split!r} clip of class {cls!r} is classified as {cls!r} with confidence >= {min_confidence}")
    return picked


@dataclass
class StreamRun:
    """What :func:`stream_clips` returns."""

    results: list[LiveResult]
    audio: np.ndarray = field(repr=False)  #: what was streamed, at ``sample_rate``
    sample_rate: int
    #: position in ``audio`` (s) of the loop's first sample: how long the clip had been playing when
    #: the microphone opened (0 for the file source)
    offset_s: float
    via_room: bool
    stats: dict

    def expected(self, segments: Sequence[tuple[float, float, str]], margin_s: float = 0.3) -> list[str | None]:
        """For each result, the class of the segment ``(start_s, end_s, class)`` holding its whole window, else ``None``."""
        out = []
        for r in self.results:
            a = r.start_s + self.offset_s
            b = a + r.audio.size / r.sample_rate
            out.append(next((c for s0, s1, c in segments if a >= s0 - margin_s and b <= s1 + margin_s), None))
        return out


def stream_clips(engine: LiveClassifier, clips: Sequence[str | Path] | np.ndarray, *, via_room: bool = False,
                 lead_in_s: float = 0.3, timeout_s: float | None = None) -> StreamRun:
    """Stream recordings through ``engine`` and return its results: the demo and test harness of notebook 05.

    Notebook: 05_live_demo.ipynb

    ``via_room=False``: a :class:`FileSource` plays the clips in real time. ``via_room=True``: the
    clips are played on the speaker (:func:`play_into_room`), and ``lead_in_s`` later the loop
    starts on the default microphone, as if a user pressed Start while the music was playing;
    it stops when the windows that fit inside the clip have been classified.
    """
    engine.load()
    sr = engine.predictor.config.sample_rate
    if isinstance(clips, np.ndarray):
        y = np.asarray(clips, dtype=np.float32)
    else:
        from .audio import load_audio

        y = np.concatenate([load_audio(p, sr)[0] for p in clips])
    duration = y.size / sr
    results: list[LiveResult] = []  # every result (engine.results keeps only the latest few)
    collect = engine.add_listener(lambda e: results.append(e) if isinstance(e, LiveResult) else None)
    try:
        return _stream(engine, y, sr, duration, results, via_room, lead_in_s, timeout_s)
    finally:
        engine.remove_listener(collect)


def _stream(engine, y, sr, duration, results, via_room, lead_in_s, timeout_s) -> StreamRun:
    if not via_room:
        engine.start(FileSource(y, sr))
        engine.join(timeout_s if timeout_s is not None else duration * 3 + 30)
        engine.stop()
        return StreamRun(results, y, sr, 0.0, False, dict(engine.stats))
    window = engine.window_s
    usable = duration - lead_in_s - 0.5  # room for the loop's start-up and the loopback latency
    if engine.mode == "sliding":
        n = int(max(0.0, usable - window) // engine.hop_seconds) + 1
    else:
        n = int(usable // window)
    if n < 1:
        raise ValueError(f"{duration:.1f} s of audio leaves no full {window:g}-s window after a {lead_in_s:g}-s lead-in")
    playback = play_into_room(y, sr)
    t_play = time.monotonic()
    try:
        time.sleep(lead_in_s)
        engine.start(MicSource())
        engine.wait_for_results(n, timeout=timeout_s if timeout_s is not None else duration + 15)
        engine.stop()
    finally:
        playback.stop()
        engine.stop()
    first = engine.stats.get("first_block_at") or t_play + lead_in_s
    offset = max(0.0, first - t_play - 0.05)  # ~50 ms: paplay's buffer before the sound reaches the microphone
    return StreamRun(results[:n], y, sr, offset, True, dict(engine.stats))
