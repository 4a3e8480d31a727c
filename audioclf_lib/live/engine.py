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

:class:`LiveClassifier` owns the worker thread. ``mode="windows"`` is the seed's back-to-back
5-s recordings; ``mode="sliding"`` re-classifies the latest window every ``hop_seconds`` and
averages the last ``smoothing`` probability vectors, since the last silence, through the command
line's decision policy run causally (:mod:`audioclf_lib.segments`). Faults become a state and a sentence
(:class:`~audioclf_lib.live.events.LiveStatus`), never a traceback: no input device, PortAudio
missing, the device vanishing mid-stream, the model raising, a missing checkpoint. Pressing Start
again recovers.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..audio import SILENCE_DBFS
from ..config import FeatureConfig
from .events import (ENDED, ERROR, IDLE, LISTENING, STARTING, STOPPED, LiveError, LiveProgress, LiveResult,
                     LiveStatus)
from .sources import MicSource, Sink, Source

__all__ = ["LiveClassifier"]

log = logging.getLogger(__name__)

Listener = Callable[[object], None]


class LiveClassifier:
    """The streaming core: a source, a worker thread, a :class:`~audioclf_lib.predict.Predictor`, listeners.

    Notebook: 05_live_demo.ipynb

    Parameters
    ----------
    model : str, Path or Predictor
        A bundled checkpoint name (``"music-noise"``, ``"music-speech-noise"``), a path, or a
        :class:`~audioclf_lib.predict.Predictor` (or anything with its ``config``, ``class_names``,
        ``name``, ``device`` and ``probabilities``). Loaded at :meth:`start` (a missing file is an
        ``error`` state with a message, not an exception in the UI).
    source : Source, optional
        Any :class:`~audioclf_lib.live.sources.Source`: :class:`~audioclf_lib.live.sources.MicSource`
        (default: the default microphone) or :class:`~audioclf_lib.live.sources.FileSource`.
    mode : {"windows", "sliding"}
        Back-to-back windows (the seed) or a sliding window.
    window_seconds : float, optional
        Audio per decision, 0.5-30 s (default: the model's window). Each window is decided by
        :func:`~audioclf_lib.predict.decide_window`: shorter ones are wrapped to the model's length,
        longer ones classified as the mean over half-overlapping model-length pieces.
    hop_seconds : float
        Sliding mode: a decision every ``hop_seconds``.
    smoothing : int
        Sliding mode: the label comes from the mean of the last ``smoothing`` probability vectors
        (:class:`~audioclf_lib.segments.DecisionPolicy` ``smoothing="mean"``, causal; a silence
        starts a new run).
    silence_dbfs : float or None
        Silence gate (``None``: off); can be changed while running.
    device : str, optional
        ``"cuda"``, ``"cpu"`` or ``None`` (CUDA when available).
    queue_seconds : float
        Capacity of the block queue; a worker that falls further behind drops (and counts) blocks.
    history : int
        How many results :attr:`results` keeps (each holds its window's audio: 320 kB for 5 s).
    progress_interval : float
        Seconds between :class:`~audioclf_lib.live.events.LiveProgress` events.

    Listeners (:meth:`add_listener`) are called in the worker thread with each
    :class:`LiveProgress`, :class:`LiveResult` and :class:`LiveStatus`; an exception in a listener is
    logged and counted, never fatal.
    """

    def __init__(self, model="music-speech-noise", *, source: Source | None = None, mode: str = "windows",
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
        self._sink: Sink | None = None
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
        """The model's short name (the checkpoint's stem), loaded or not."""
        if self.predictor is not None:
            return self.predictor.name
        if hasattr(self.model, "probabilities"):
            return getattr(self.model, "name", "model")
        return Path(str(self.model)).stem

    @property
    def running(self) -> bool:
        """True while the worker thread runs."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def window_s(self) -> float:
        """Seconds per decision: ``window_seconds``, else the model's window (the default config's before loading)."""
        if self.window_seconds is not None:
            return float(self.window_seconds)
        return (self.predictor.config if self.predictor is not None else FeatureConfig()).window_seconds

    # -- listeners --------------------------------------------------------------------------------
    def add_listener(self, fn: Listener) -> Listener:
        """Call ``fn(event)`` for every progress, result and status event (in the worker thread).

        Parameters
        ----------
        fn : callable
            ``fn(event)`` with a :class:`~audioclf_lib.live.events.LiveProgress`,
            :class:`~audioclf_lib.live.events.LiveResult` or :class:`~audioclf_lib.live.events.LiveStatus`;
            it should return quickly (it delays the next decision).

        Returns
        -------
        fn : callable
            The same function, for :meth:`remove_listener`.
        """
        with self._lock:
            if fn not in self._listeners:
                self._listeners.append(fn)
        return fn

    def remove_listener(self, fn: Listener) -> None:
        """Stop calling ``fn`` (no error if it is not a listener).

        Parameters
        ----------
        fn : callable
            A function given to :meth:`add_listener`.
        """
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
        from ..checkpoint import CheckpointError
        from ..predict import Predictor

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
        """Load the model now (the first load takes a few seconds) instead of at :meth:`start`.

        Returns
        -------
        predictor : Predictor

        Raises
        ------
        LiveError
            The checkpoint is missing or unusable; the message says what to do.
        """
        self.predictor = self._load_predictor()
        return self.predictor

    def start(self, source: Source | None = None) -> bool:
        """Start listening: load the model, open the source, start the worker.

        Parameters
        ----------
        source : Source, optional
            Replaces :attr:`source` (the previous one is kept otherwise).

        Returns
        -------
        started : bool
            ``False`` if already running (starting twice is harmless).

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
                sink = Sink(max_blocks=max(8, int(self.queue_seconds / getattr(self.source, "block_seconds", 0.05))))
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
        """Stop listening: the source is closed and the worker joined.

        The worker checks for Stop every 50 ms and after each inference, so this normally
        returns within a few tens of milliseconds.

        Parameters
        ----------
        timeout : float
            The longest wait for the worker (s): it only bounds a stuck model call.

        Returns
        -------
        stopped : bool
            ``True`` when the source is closed and the worker gone.
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
        """Wait for the worker to end by itself (a file played out, an error).

        Parameters
        ----------
        timeout : float, optional
            The longest wait (s); ``None``: no limit.

        Returns
        -------
        ended : bool
            ``True`` when the worker is no longer running.
        """
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.running

    def wait_for_results(self, n: int = 1, *, timeout: float = 30.0, skip_silence: bool = False) -> list[LiveResult]:
        """Block until ``n`` results were published since Start, the loop ended, or ``timeout`` passed.

        Parameters
        ----------
        n : int
            How many results to wait for.
        timeout : float
            The longest wait (s).
        skip_silence : bool
            Count (and return) only non-silent results.

        Returns
        -------
        results : list of LiveResult
            The latest of them that :attr:`results` still holds (at most ``n``).
        """
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
    def _run(self, sink: Sink, source) -> None:
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

    def _loop(self, sink: Sink, source, cpu0: float) -> None:
        import soxr

        from ..predict import decide_window  # here, not at import: importing the live package loads no torch
        from ..segments import DecisionPolicy, decide_windows, smooth_probabilities

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
        # The command line's decision policy, causal: a live loop only knows the windows up to now.
        policy = DecisionPolicy(window_seconds=n / sr, hop_seconds=hop / sr,
                                smoothing="mean" if sliding and self.smoothing > 1 else "none",
                                smoothing_windows=self.smoothing if sliding else 1)
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
                if quiet > (getattr(source, "first_audio_timeout_s", 8.0) if not got_audio else 3.0):
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
            try:  # the gate and the long-window policy of every other decision in the project
                decision = decide_window(p, window, silence_dbfs=self.silence_dbfs)
            except Exception as exc:  # noqa: BLE001 - a model that raises stops the loop with a sentence
                self.last_exception = exc
                log.debug("the model failed", exc_info=True)
                self._set_state(ERROR, f"The model failed on a window ({type(exc).__name__}: {str(exc)[:200]}), so "
                                       "listening stopped. Press Start to try again (or choose another model).")
                return
            inference_ms = (time.perf_counter() - t0) * 1e3
            if self._stop.is_set():
                return  # Stop pressed during inference: publish nothing after Stop
            label, conf, probs, level = decision.label, decision.confidence, decision.probabilities, decision.level_dbfs
            raw = dict(probs)
            if label == "silence":
                recent.clear()
            elif sliding:
                recent.append(np.array([probs[c] for c in p.class_names]))
                run = np.array(recent)  # the windows since the last silence, at most `smoothing` of them
                labels, confidences = decide_windows(run, None, p.class_names, policy, causal=True)
                smoothed = smooth_probabilities(run, policy, causal=True)[-1]
                label, conf, probs = labels[-1], float(confidences[-1]), dict(zip(p.class_names, map(float, smoothed)))
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
