"""What the live loop publishes: states, progress, results, and the error a user can act on.

Notebook: 05_live_demo.ipynb

Listeners of a :class:`~audioclf_lib.live.engine.LiveClassifier` receive these plain, frozen
objects in the worker thread; the UI, the tests and the benchmark are such listeners.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "IDLE",
    "STARTING",
    "LISTENING",
    "STOPPED",
    "ENDED",
    "ERROR",
    "LiveError",
    "LiveStatus",
    "LiveProgress",
    "LiveResult",
    "timer_text",
]

#: States of a :class:`~audioclf_lib.live.engine.LiveClassifier`.
IDLE, STARTING, LISTENING, STOPPED, ENDED, ERROR = "idle", "starting", "listening", "stopped", "ended", "error"


class LiveError(RuntimeError):
    """The live loop cannot start or go on; the message is a sentence a user can act on.

    Notebook: 05_live_demo.ipynb
    """


@dataclass(frozen=True)
class LiveStatus:
    """A state change: ``idle``, ``starting``, ``listening``, ``stopped``, ``ended`` (file played out) or ``error``.

    Notebook: 05_live_demo.ipynb
    """

    state: str
    message: str = ""
    timestamp: float = field(default_factory=time.time)


@dataclass(frozen=True)
class LiveProgress:
    """Where the current window stands, published about every 50 ms while audio arrives.

    Notebook: 05_live_demo.ipynb
    """

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
        """How full the current window is, in [0, 1] (the progress bar)."""
        return float(min(1.0, self.filled_s / self.target_s)) if self.target_s > 0 else 0.0

    @property
    def text(self) -> str:
        """The timer line, see :func:`timer_text`."""
        return timer_text(self.filled_s, self.target_s, self.mode)


@dataclass(frozen=True)
class LiveResult:
    """One published decision.

    Notebook: 05_live_demo.ipynb
    """

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
        """True when the silence gate closed (no model call)."""
        return self.label == "silence"


def timer_text(filled_s: float, target_s: float, mode: str = "windows") -> str:
    """The seed's timer line: ``"Recording… 3.8 s / 5.0 s"`` (sliding mode: time to the next decision).

    Notebook: 05_live_demo.ipynb

    Parameters
    ----------
    filled_s : float
        Audio collected towards the next decision (s).
    target_s : float
        Audio needed for the next decision (s).
    mode : str
        ``"windows"`` (back-to-back) or ``"sliding"``.

    Returns
    -------
    text : str
        One line for the UI's timer label.
    """
    if mode == "sliding":
        return f"Listening… next decision in {max(0.0, target_s - filled_s):.1f} s"
    return f"Recording… {min(filled_s, target_s):.1f} s / {target_s:.1f} s"
