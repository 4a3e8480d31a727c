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

import queue
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from .. import soundio
from ..audio import stream_blocks
from ..soundio import SoundDeviceError
from .events import LiveError

__all__ = [
    "Source",
    "Sink",
    "MicSource",
    "FileSource",
    "check_input_device",
]


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
        """Queue one block without waiting; a full queue drops it and counts the drop.

        Parameters
        ----------
        block : np.ndarray, shape (frames,), float32
            Mono audio at the source's ``sample_rate``.
        overflow : bool
            The device lost audio before this block (an input overflow), counted.
        """
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
        """The source broke: the engine stops with this error.

        Parameters
        ----------
        message : str
            A sentence for the user (the first one wins).
        """
        if self.error is None:
            self.error = message

    def end(self) -> None:
        """The source has played out: the engine ends once the queue is empty."""
        self.ended = True


class Source(Protocol):
    """The interface every live input implements (see the module's docstring).

    Notebook: 05_live_demo.ipynb
    """

    #: shown in status lines, e.g. ``"default microphone"``
    name: str
    #: rate (Hz) of the blocks pushed, set by :meth:`start`
    sample_rate: int | None
    #: length of the pushed blocks (s), which sizes the engine's queue
    block_seconds: float
    #: optional: how long the engine waits for the first block after Start before it reports the input
    #: as silent (default 8 s; a source that first asks a person for permission waits longer)
    first_audio_timeout_s: float

    @property
    def active(self) -> bool:
        """True while audio is being delivered."""

    def start(self, sink: Sink, preferred_rate: int) -> None:
        """Open the input and push its blocks into ``sink`` from a thread of the source's own.

        Parameters
        ----------
        sink : Sink
            Where the blocks go.
        preferred_rate : int
            The model's rate (Hz); a source may deliver another and set ``sample_rate`` to it.

        Raises
        ------
        LiveError
            The input cannot be opened; the message says why and what to do.
        """

    def stop(self) -> None:
        """Close the input; idempotent, from any thread."""


# --------------------------------------------------------------------------------------------
# microphones, through the project's one sounddevice layer

_ALTERNATIVE = "the file source"  # what the demo offers when no microphone can be used


def check_input_device(device: int | str | None = None) -> str:
    """Describe the input device a :class:`MicSource` would open, or raise :class:`LiveError` saying why none can.

    Notebook: 05_live_demo.ipynb

    :func:`audioclf_lib.soundio.check_input_device` with the demo's advice (choose the file source).

    Parameters
    ----------
    device : int, str or None
        A device index, a (part of a) device name, or ``None`` for the default input.

    Returns
    -------
    description : str
        ``"name, N input channel(s), default R Hz"``.
    """
    try:
        return soundio.check_input_device(device, alternative=_ALTERNATIVE)
    except SoundDeviceError as exc:
        raise LiveError(str(exc)) from None


# --------------------------------------------------------------------------------------------
# the sources


class MicSource:
    """A microphone: the default input device, or one chosen by index or name.

    Notebook: 05_live_demo.ipynb

    Opened through :mod:`audioclf_lib.soundio`, the project's one sounddevice layer. PortAudio's
    callback only hands each block to the loop's queue and counts overflows. The device is asked
    for the model's rate; if it refuses, its own default rate is used and the worker resamples.

    Parameters
    ----------
    device : int, str or None
        Input device index or (part of a) name; ``None``: the default input.
    samplerate : int, optional
        Rate to ask for instead of the model's (Hz).
    block_seconds : float
        Block length handed to the loop (s).
    latency : str or float
        sounddevice's ``latency``: ``"high"`` (large device buffers, no overflows on a busy machine),
        ``"low"`` or seconds.
    alternative : str or None
        The other input the user can choose, named in the advice of an error (the live demo's file source;
        the recorder's browser microphone).
    """

    def __init__(self, device: int | str | None = None, *, samplerate: int | None = None, block_seconds: float = 0.05,
                 latency: str | float = "high", alternative: str | None = _ALTERNATIVE):
        self.device = device
        self.alternative = alternative
        self.requested_rate = samplerate
        self.block_seconds = block_seconds
        self.latency = latency
        self.sample_rate: int | None = None
        self._stream = None
        self._stopping = False

    @property
    def name(self) -> str:
        """``"default microphone"`` or ``"microphone <device>"``."""
        return f"microphone {self.device!r}" if self.device is not None else "default microphone"

    @property
    def active(self) -> bool:
        """True while the stream delivers audio."""
        return self._stream is not None and self._stream.active

    def start(self, sink: Sink, preferred_rate: int) -> None:
        """Open the device and push every block into ``sink``; :class:`LiveError` with a sentence when it cannot.

        Parameters
        ----------
        sink : Sink
            Where the blocks go (from PortAudio's callback thread).
        preferred_rate : int
            The model's rate (Hz), asked for unless ``samplerate`` was given; a device that
            refuses it records at its own default rate.
        """
        self._stopping = False

        def on_block(block, status):  # PortAudio's thread: hand over, count, return
            sink.push(block, bool(status.input_overflow))

        def on_finished():  # the stream stopped without being asked: device gone, server died
            if not self._stopping:
                sink.fail("The input device stopped delivering audio (unplugged, or the sound server stopped). "
                          "Press Start to try again.")

        try:
            self._stream, self.sample_rate = soundio.open_input_stream(
                on_block, samplerate=self.requested_rate or preferred_rate, device=self.device,
                block_seconds=self.block_seconds, latency=self.latency, on_finished=on_finished, any_rate=True,
                alternative=self.alternative)
        except SoundDeviceError as exc:
            raise LiveError(str(exc)) from None

    def stop(self) -> None:
        """Close the stream (idempotent, any thread)."""
        self._stopping = True  # first, so on_finished knows it was asked to stop
        stream, self._stream = self._stream, None
        if stream is not None:
            soundio.close_input_stream(stream)

    def __repr__(self) -> str:
        return f"MicSource(device={self.device!r})"


class FileSource:
    """Audio files (or an array) played into the loop in real time, block by block.

    Notebook: 05_live_demo.ipynb

    Parameters
    ----------
    audio : str, Path, sequence of paths, or np.ndarray of shape (n,)
        A file, files played one after the other, or a float array.
    sr : int, optional
        Rate of ``audio`` when it is an array.
    loop : bool
        Start again at the end instead of ending the stream.
    speed : float
        1.0 is real time; larger plays faster (tests, benchmarks).
    block_seconds : float
        Block length handed to the loop (like a microphone's 50-ms blocks).
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
        """``"file <name>"`` (``"(+n more)"``), or ``"audio array"``."""
        if self.array is not None:
            return "audio array"
        return f"file {self.paths[0].name}" + (f" (+{len(self.paths) - 1} more)" if len(self.paths) > 1 else "")

    @property
    def active(self) -> bool:
        """True while the playing thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def _chunks(self, sr: int):
        if self.array is not None:
            from ..audio import resample

            yield resample(self.array, self.array_sr, sr)
            return
        for path in self.paths:
            yield from stream_blocks(path, sr, block_seconds=30.0)

    def start(self, sink: Sink, preferred_rate: int) -> None:
        """Play into ``sink`` in real time (times ``speed``) from a thread; :class:`LiveError` for a missing file.

        Parameters
        ----------
        sink : Sink
        preferred_rate : int
            Files are decoded (and an array resampled) to this rate, the model's.
        """
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
        """Stop playing (idempotent, any thread)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(1.0)
            self._thread = None

    def __repr__(self) -> str:
        return f"FileSource({self.name!r}, speed={self.speed:g}, loop={self.loop})"
