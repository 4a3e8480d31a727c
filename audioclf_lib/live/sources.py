"""Where live audio comes from: a microphone, or files played in real time, and the sink they feed.

Notebook: 05_live_demo.ipynb

The source interface
--------------------
A source is any object with the attributes and methods of :class:`Source`. The engine calls
``start(sink, preferred_rate)`` once per Start and ``stop()`` once per Stop (and after an error);
in between the source pushes mono float32 blocks into the :class:`Sink` from whatever thread it
owns (PortAudio's callback thread, a file-reading thread, ...):

* ``sink.push(block, overflow)`` for every block, at the rate it set in ``sample_rate`` (the
  worker resamples to the model's rate); ``push`` never blocks, a full queue is a counted drop;
* ``sink.fail(message)`` when it breaks (the message is shown to the user as it is);
* ``sink.end()`` when it has played out (files), so the engine ends instead of waiting.

``start`` raises :class:`~audioclf_lib.live.events.LiveError` with a sentence when the source
cannot be opened; ``stop`` is idempotent and may be called from any thread. A new kind of input
(a browser microphone, a network stream) is one more class with this interface.

``sounddevice`` is imported only when a microphone is used, so importing this module never
touches the audio system (and works where PortAudio is not installed).
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from ..audio import stream_blocks
from .events import LiveError

__all__ = [
    "Source",
    "Sink",
    "MicSource",
    "FileSource",
    "import_sounddevice",
    "input_devices",
    "check_input_device",
]

log = logging.getLogger(__name__)


class Sink:
    """What a source feeds: a bounded queue of ``(block, time.monotonic())`` plus counters. ``push`` never blocks.

    Notebook: 05_live_demo.ipynb

    Parameters
    ----------
    max_blocks : int
        Queue capacity in blocks; beyond it blocks are dropped and counted.
    """

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
        """Queue one block (shape ``(frames,)``, float32) without waiting; ``overflow``: the device lost audio before it."""
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
        """The source broke; ``message`` (the first one wins) becomes the engine's error sentence."""
        if self.error is None:
            self.error = message

    def end(self) -> None:
        """The source has played out: the engine ends once the queue is empty."""
        self.ended = True


class Source(Protocol):
    """The interface every live input implements (see the module's docstring)."""

    #: shown in status lines, e.g. ``"default microphone"``
    name: str
    #: rate (Hz) of the blocks pushed, set by :meth:`start`
    sample_rate: int | None
    #: length of the pushed blocks (s), which sizes the engine's queue
    block_seconds: float

    @property
    def active(self) -> bool: ...

    def start(self, sink: Sink, preferred_rate: int) -> None: ...

    def stop(self) -> None: ...


# --------------------------------------------------------------------------------------------
# sounddevice


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

# --------------------------------------------------------------------------------------------
# the sources


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

    def start(self, sink: Sink, preferred_rate: int) -> None:
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
            from ..audio import resample

            yield resample(self.array, self.array_sr, sr)
            return
        for path in self.paths:
            yield from stream_blocks(path, sr, block_seconds=30.0)

    def start(self, sink: Sink, preferred_rate: int) -> None:
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
