"""From audio to window probabilities and segments, whoever runs the model: the part of the Predictor without torch.

Notebook: 02_train_cnn.ipynb (through :class:`~audioclf_lib.predict.Predictor`)

Two classes classify audio: :class:`~audioclf_lib.predict.Predictor` (the torch front end, the model in
ONNX Runtime or torch; notebooks, evaluation, the live loop) and
:class:`~audioclf_lib.onnx_predictor.OnnxPredictor` (the numpy front end and ONNX Runtime, no torch:
the command line's start-up). Both inherit everything above the model from :class:`PredictorBase`
(input checks, the silence gate, windows of files read in blocks, the decision policy) and provide
``probabilities(windows)``, so they decide in exactly the same way. Every single-window decision (the
silence gate, then one or more model-length pieces) goes through :func:`decide_window`:
:meth:`PredictorBase.predict`, :meth:`PredictorBase.decide` and the live loop's windows alike.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from .audio import AudioError, check_finite, fix_length, loud_level_dbfs, resample, segment, to_mono
from .shards import FileWindows, WindowScores

__all__ = ["Prediction", "PredictorBase", "SegmentedFile", "coarse_to_fine", "decide_window", "window_probabilities"]


@dataclass(frozen=True)
class Prediction:
    """One classified window.

    Notebook: 02_train_cnn.ipynb
    """

    label: str  #: winning class, or ``"silence"`` when the silence gate closed
    confidence: float  #: probability of ``label`` (1.0 for silence)
    probabilities: dict[str, float]  #: class -> probability (empty for silence)
    level_dbfs: float  #: loudness of the window
    latency_ms: float  #: resample + features + model time

    @property
    def is_silence(self) -> bool:
        """True when the silence gate closed (no model call)."""
        return self.label == "silence"


_LONG_WINDOWS = ("mean", "centre")


def decide_window(predictor, window: np.ndarray, *, silence_dbfs: float | None,
                  long_window: str = "mean") -> Prediction:
    """The decision for one window: the silence gate, then the model on one or more model-length pieces.

    Notebook: 05_live_demo.ipynb (the live loop); :meth:`Predictor.predict` (notebook 02) and
    :meth:`Predictor.decide` decide through it too, so the CLI, evaluation and the live demo share
    one gate and one long-window policy.

    Parameters
    ----------
    predictor : Predictor
        Or anything with its ``config``, ``class_names`` and ``probabilities(windows)``.
    window : np.ndarray, shape (n,), float32
        Audio at ``predictor.config.sample_rate``, at least one FFT frame long.
    silence_dbfs : float or None
        A window whose loud frames (:func:`~audioclf_lib.audio.loud_level_dbfs`) stay below this
        level is ``"silence"``, without running the model; ``None`` disables the gate.
    long_window : {"mean", "centre"}
        A window shorter than the model's is wrapped to its length. A longer one is classified as
        the mean over half-overlapping model-length pieces (``"mean"``, renormalised: the live
        loop's longer decision windows) or by its centre piece (``"centre"``: one window of a
        longer clip, :meth:`Predictor.predict`).

    Returns
    -------
    prediction : Prediction
        ``latency_ms`` is the time of the gate, front end and model.
    """
    if long_window not in _LONG_WINDOWS:
        raise ValueError(f"long_window={long_window!r}; expected one of {_LONG_WINDOWS}")
    t0 = time.perf_counter()
    level = loud_level_dbfs(window)
    if silence_dbfs is not None and level < silence_dbfs:  # the gate of audio.is_silent
        return Prediction("silence", 1.0, {}, level, (time.perf_counter() - t0) * 1e3)
    n = predictor.config.window_samples
    if long_window == "mean":
        probs = window_probabilities(predictor, window[None])[0]
        if window.size <= n:  # one piece: renormalised too, as every live decision always was (last-bit identical)
            probs = probs / probs.sum()
    else:
        probs = predictor.probabilities(fix_length(window, n, offset=(window.size - n) // 2)[None])[0]
    k = int(np.argmax(probs))
    names = predictor.class_names
    return Prediction(names[k], float(probs[k]), dict(zip(names, map(float, probs))), level,
                      (time.perf_counter() - t0) * 1e3)


def window_probabilities(predictor, windows: np.ndarray) -> np.ndarray:
    """Class probabilities of equal-length windows of any length: the long-window rule of :func:`decide_window`.

    Notebook: 05_live_demo.ipynb

    A window shorter than the model's is wrapped to its length (as training and evaluation
    windows are); a longer one gets the renormalised mean over half-overlapping model-length
    pieces. The model therefore always sees the input size it was trained (and exported) for.

    Parameters
    ----------
    predictor : Predictor
        Or anything with ``config`` and ``probabilities(windows)``.
    windows : np.ndarray, shape (k, n), float32
        Audio at ``predictor.config.sample_rate``; ``n`` at least one FFT frame.

    Returns
    -------
    probs : np.ndarray, shape (k, n_classes)
    """
    windows = np.asarray(windows, dtype=np.float32)
    k, length = windows.shape
    n = predictor.config.window_samples
    if length == n:
        return predictor.probabilities(windows)
    if length < n:
        return predictor.probabilities(np.stack([fix_length(w, n) for w in windows]))
    pieces = np.stack([segment(w, n, hop=n // 2)[0] for w in windows])  # (k, pieces, n): same count per window
    probs = predictor.probabilities(pieces.reshape(-1, n)).reshape(k, pieces.shape[1], -1).mean(axis=1)
    return probs / probs.sum(axis=1, keepdims=True)


def coarse_to_fine(n_windows: int, score, *, every: int, confidence: float, phase: int = 0,
                   group: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities of ``n_windows`` consecutive windows, scoring only those the decision can hinge on.

    Notebook: 05_live_demo.ipynb (through :meth:`PredictorBase.segment_file`)

    The first window, every ``every``-th (counted from ``phase``) and the last one are scored first. Between two of them that
    give the same class, each with probability at least ``confidence``, the windows take linearly
    interpolated probabilities without being scored: with ``every`` hops at most one window long,
    such a window's audio lies inside the two scored windows' audio, all of which sounded like that
    class. Everywhere else (a class change, doubt) every window is scored. On long recordings of
    one class at a time this scores about ``1 / every`` of the windows.

    Parameters
    ----------
    n_windows : int
    score : callable
        ``score(indices) -> probs``: the probabilities (len(indices), n_classes) of the windows at
        ``indices`` (sorted int array), e.g. a model over the windows of a stretch of audio.
    every : int, >= 1
        1 scores every window (one call).
    confidence : float
        The winning probability both ends of a gap need for it to be filled.
    phase : int
        The first window's index in the file's count: the file's windows ``0, every, ...`` are the
        coarse ones, however the file was cut into stretches.
    group : int, optional
        The last window of every group of this many (in the file's count) is scored first too:
        stretches made of whole groups (:class:`~audioclf_lib.shards.FileWindows`) then decide
        alike however many groups each holds.

    Returns
    -------
    probs : np.ndarray, shape (n_windows, n_classes), float32
    scored : np.ndarray, shape (n_windows,), bool
        Which rows came from ``score``.
    """
    everything = np.arange(n_windows)
    if every <= 1 or n_windows <= 2:
        return np.asarray(score(everything), dtype=np.float32), np.ones(n_windows, bool)
    ends = everything[(-phase - 1) % group :: group] if group else []
    coarse = np.unique(np.r_[0, everything[(-phase) % every :: every], ends, n_windows - 1]).astype(np.int64)
    first = np.asarray(score(coarse), dtype=np.float32)
    probs = np.empty((n_windows, first.shape[1]), np.float32)
    scored = np.zeros(n_windows, bool)
    probs[coarse], scored[coarse] = first, True
    winner, sure = first.argmax(axis=1), first.max(axis=1) >= confidence
    fill = (winner[:-1] == winner[1:]) & sure[:-1] & sure[1:]  # per gap between consecutive coarse windows
    rest = [np.arange(a + 1, b) for a, b, f in zip(coarse[:-1], coarse[1:], fill) if not f and b > a + 1]
    if rest:
        rest = np.concatenate(rest)
        probs[rest], scored[rest] = np.asarray(score(rest), dtype=np.float32), True
    for g in np.flatnonzero(fill):
        a, b = coarse[g], coarse[g + 1]
        t = ((np.arange(a + 1, b) - a) / (b - a))[:, None]
        probs[a + 1 : b] = (1 - t) * first[g] + t * first[g + 1]
    return probs, scored


@dataclass(frozen=True)
class SegmentedFile:
    """A file through the decision policy (:meth:`Predictor.segment_file`).

    Notebook: 05_live_demo.ipynb
    """

    windows: pd.DataFrame  #: one row per window: path, start_s, end_s, level_dbfs, label (the policy's), p_<class>
    segments: pd.DataFrame  #: start, end, label, confidence; tiles [0, duration_s)
    duration_s: float  #: decoded length of the file


class PredictorBase:
    """Windows, files and decisions on top of a model's ``probabilities``: what the two predictors share.

    Notebook: 02_train_cnn.ipynb (through :class:`~audioclf_lib.predict.Predictor`); Command line: audioclf
    classify (through :class:`~audioclf_lib.onnx_predictor.OnnxPredictor`)

    A subclass sets ``config`` (:class:`~audioclf_lib.config.FeatureConfig`), ``class_names``,
    ``silence_dbfs``, ``name`` and ``model_name``, and implements ``probabilities(windows)`` (windows at the
    model's rate and length -> softmax rows). It may override :meth:`stretch_probabilities` to
    classify windows that overlap in a stretch of audio without copying them out one by one.
    """

    config = None  # FeatureConfig, set by the subclass
    class_names: list[str] = []
    silence_dbfs: float | None = None

    def probabilities(self, windows: np.ndarray) -> np.ndarray:  # pragma: no cover - the subclasses' job
        raise NotImplementedError

    def stretch_probabilities(self, audio: np.ndarray, offset: int, starts: np.ndarray, n: int) -> np.ndarray:
        """Probabilities of the ``n``-sample windows ``audio[s - offset : s - offset + n]`` for ``s`` in ``starts``.

        Command line: audioclf classify (each decoded block of a file)

        The long-window rule of :func:`window_probabilities` applies; this default copies the
        windows out and calls it.

        Returns
        -------
        probs : np.ndarray, shape (len(starts), n_classes)
        """
        return window_probabilities(self, np.stack([audio[s - offset : s - offset + n] for s in starts]))

    def stretch_scorer(self, audio: np.ndarray, offset: int, starts: np.ndarray, n: int):
        """``score(indices)``: :meth:`stretch_probabilities` of the windows ``starts[indices]``, for :func:`coarse_to_fine`.

        Command line: audioclf classify (each decoded block of a file)

        A subclass may override it to share work between the calls (the numpy front end computes
        the stretch's STFT frames once).
        """
        return lambda indices: self.stretch_probabilities(audio, offset, starts[indices], n)

    def _prepare(self, y: np.ndarray, sr: int) -> np.ndarray:
        y = check_finite(to_mono(np.asarray(y, dtype=np.float32)))
        if y.size == 0:
            raise AudioError("<array>", "empty audio (0 samples)")
        y = resample(y, sr, self.config.sample_rate)
        self._check_duration("<array>", y.size)
        return y

    def _check_duration(self, source: object, n_samples: int) -> None:
        # Shorter than one FFT frame there is no spectrum to classify.
        if n_samples < self.config.n_fft:
            raise AudioError(source, f"too short to classify ({n_samples / self.config.sample_rate * 1e3:.0f} ms; "
                                     f"need at least {self.config.n_fft / self.config.sample_rate * 1e3:.0f} ms)")

    def predict(self, y: np.ndarray, sr: int) -> Prediction:
        """Classify one window (any rate, any length: its centre piece, or wrapped, at the model's length).

        Notebook: 02_train_cnn.ipynb

        A window below the silence gate is reported as ``"silence"`` without running the model
        (:func:`decide_window`).

        Parameters
        ----------
        y : np.ndarray, shape (n,) or (n, channels)
            Audio at ``sr``.
        sr : int
            Its sample rate.

        Returns
        -------
        prediction : Prediction
            ``latency_ms`` includes resampling.
        """
        return self._decide(y, sr, "centre")

    def decide(self, window: np.ndarray, sr: int) -> Prediction:
        """The live loop's decision for a window of any length (any rate): the gate, then the mean over
        half-overlapping model-length pieces when it is longer than the model's window.

        Notebook: 05_live_demo.ipynb

        Parameters
        ----------
        window, sr
            As ``y`` and ``sr`` of :meth:`predict`.

        Returns
        -------
        prediction : Prediction
            See :func:`decide_window`; ``latency_ms`` includes resampling.
        """
        return self._decide(window, sr, "mean")

    def _decide(self, y: np.ndarray, sr: int, long_window: str) -> Prediction:
        t0 = time.perf_counter()
        out = decide_window(self, self._prepare(y, sr), silence_dbfs=self.silence_dbfs, long_window=long_window)
        return replace(out, latency_ms=(time.perf_counter() - t0) * 1e3)

    def predict_segments(self, y: np.ndarray, sr: int, *, window_seconds: float | None = None,
                         hop_seconds: float | None = None) -> pd.DataFrame:
        """Classify long audio window by window: one row per segment with start/end times and probabilities.

        Windows follow :func:`audioclf_lib.audio.segment`: every ``hop``, a trailing piece of at
        least half a window is kept (wrapped), and a short clip gives one wrapped window.

        Parameters
        ----------
        y, sr
            As for :meth:`predict`: audio of any length at any rate.
        window_seconds, hop_seconds : float, optional
            Window length and hop (default: the model's window, back to back).

        Returns
        -------
        table : pandas.DataFrame
            One row per window: ``start_s``, ``end_s``, ``label`` and ``p_<class>`` columns.
        """
        y = self._prepare(y, sr)
        n, hop = self._window_hop(window_seconds, hop_seconds)
        windows, starts = segment(y, n, hop=hop)
        return self._score(windows, starts, n, y.size)

    def predict_file(self, path: str | Path, *, window_seconds: float | None = None, hop_seconds: float | None = None,
                     block_seconds: float = 60.0) -> pd.DataFrame:
        """Like :meth:`predict_segments` for a file of any length, in bounded memory (decoded in blocks).

        Gives the same windows as loading the whole file and calling :meth:`predict_segments`.

        Parameters
        ----------
        path : str or Path
            An audio file (any length, any rate).
        window_seconds, hop_seconds : float, optional
            As for :meth:`predict_segments`.
        block_seconds : float
            Decoded at a time (s): bounds the memory.

        Returns
        -------
        table : pandas.DataFrame
            As :meth:`predict_segments`, with a first ``path`` column.
        """
        n, hop = self._window_hop(window_seconds, hop_seconds)
        stream = FileWindows(path, self.config.sample_rate, n, hop, block_seconds, check_length=self._check_duration)
        tables = [self._score_stretch(audio, offset, starts, n, stream) for audio, offset, starts in stream.stretches()]
        table = pd.concat(tables, ignore_index=True)
        table.insert(0, "path", str(path))
        return table

    def segment_file(self, path: str | Path, *, policy=None, block_seconds: float = 60.0,
                     window_levels: bool = True) -> SegmentedFile:
        """A file of any length through the one decision policy: merged segments and window rows.

        Notebook: 05_live_demo.ipynb

        Windows of ``policy.window_seconds`` every ``policy.hop_seconds`` are classified
        (:func:`window_probabilities`); each hop-long frame then gets the mean probabilities of the
        windows covering it (:func:`~audioclf_lib.segments.frame_probabilities`) and its own level,
        and the frames go through the policy's gate, smoothing and minimum durations
        (:class:`~audioclf_lib.segments.Segmenter`). Deciding per frame rather than per window puts a
        boundary where the evidence changes (a window straddling it counts for both sides) and lets a
        silence shorter than a window show. Memory is bounded as in :meth:`predict_file`. The two
        halves are :meth:`window_scores` (which ``classify --dask`` runs per time shard) and
        :meth:`segments_from_scores`.

        Parameters
        ----------
        path : str or Path
            An audio file (any length, any rate).
        policy : DecisionPolicy, optional
            Default: :func:`~audioclf_lib.segments.default_policy` for this model's window.
        block_seconds : float
            Decoded at a time (s).
        window_levels : bool
            Measure each window's level (for the window rows' ``level_dbfs`` and the policy's
            per-window ``label``). The segments never need it (they gate hop-long frames by their own
            levels); ``classify`` without ``--windows``/``--csv`` leaves it out, about 0.04 ms per
            window. Without it, ``level_dbfs`` is NaN and ``label`` the argmax.

        Returns
        -------
        SegmentedFile
            ``windows`` (with the policy's per-window ``label``), ``segments``, ``duration_s``.
        """
        scores = self.window_scores(path, policy=policy, block_seconds=block_seconds, window_levels=window_levels)
        return self.segments_from_scores(scores, path=path, policy=policy)

    def window_scores(self, path: str | Path, *, policy=None, start: int = 0, stop: int | None = None,
                      block_seconds: float = 60.0, window_levels: bool = True) -> WindowScores:
        """Window probabilities and hop-frame levels of a file, or of its windows starting in ``[start, stop)``.

        Command line: audioclf classify --dask (one time shard of a long file per task)

        Parameters
        ----------
        path : str or Path
            An audio file.
        policy : DecisionPolicy, optional
            Its window and hop (default: :func:`~audioclf_lib.segments.default_policy`).
        start, stop : int
            A shard in samples at the model's rate, on the hop grid (:func:`~audioclf_lib.shards.plan_shards`);
            the shards of a file, merged by :func:`~audioclf_lib.shards.merge_scores`, give the
            whole file's scores.
        block_seconds : float
            Decoded at a time (s).
        window_levels : bool
            As for :meth:`segment_file` (False: ``level_dbfs`` is NaN).

        Returns
        -------
        WindowScores
            Rows ``start_s, end_s, level_dbfs, label (argmax), p_<class>``, frame levels, and the
            file's length when the shard reached its end.
        """
        policy = self._policy(policy)
        n, hop = self._window_hop(policy.window_seconds, policy.hop_seconds or policy.window_seconds)
        stream = FileWindows(path, self.config.sample_rate, n, hop, block_seconds, check_length=self._check_duration,
                             frame_levels=True, start=start, stop=stop, group=self._stretch_group(policy, block_seconds))
        every = policy.coarse_every()
        tables = [self._score_stretch(audio, offset, starts, n, stream, levels=window_levels, every=every,
                                      confidence=policy.coarse_confidence)
                  for audio, offset, starts in stream.stretches()]
        if tables:
            windows = pd.concat(tables, ignore_index=True)
        else:  # a shard that starts beyond the end of the file (its length was an estimate)
            windows = self._score(np.zeros((0, n), np.float32), np.zeros(0, np.int64), n, stream.total)
            windows = windows.astype({"level_dbfs": np.float64, "label": object})
        return WindowScores(windows, np.asarray(stream.levels, np.float64), stream.total if stream.at_end else None)

    def segments_from_scores(self, scores: WindowScores, *, path: str | Path, policy=None) -> SegmentedFile:
        """The decision policy over a whole file's :meth:`window_scores` (merged shards or one run).

        Command line: audioclf classify --dask (the client merges a long file's shards)

        Parameters
        ----------
        scores : WindowScores
            Every window and frame of the file, in order, with its length (``end``).
        path : str or Path
            The file, as the ``path`` column of the window rows names it.
        policy : DecisionPolicy, optional
            As for :meth:`segment_file`.

        Returns
        -------
        SegmentedFile
            As :meth:`segment_file` gives.
        """
        from .segments import Segmenter, frame_probabilities

        policy = self._policy(policy)
        n, hop = self._window_hop(policy.window_seconds, policy.hop_seconds or policy.window_seconds)
        windows = scores.windows.copy()
        sr = self.config.sample_rate
        duration_s = scores.end / sr
        probs = windows[[f"p_{c}" for c in self.class_names]].to_numpy(np.float64)
        frames = frame_probabilities(probs, windows["start_s"].to_numpy(), window_seconds=n / sr,
                                     frame_seconds=hop / sr, duration_s=duration_s)
        frame_policy = replace(policy, window_seconds=hop / sr, hop_seconds=hop / sr, coarse_seconds=None)
        segmenter = Segmenter(self.class_names, policy=frame_policy, silence_dbfs=self.silence_dbfs)
        levels = np.asarray(scores.levels[: len(frames)], dtype=np.float64)
        segments = segmenter.segment(frames, levels, duration_s=duration_s, starts_s=np.arange(len(frames)) * hop / sr)
        window_levels = windows["level_dbfs"].to_numpy(np.float64)
        if not (len(window_levels) and np.isnan(window_levels).all()):  # NaN: window_scores(window_levels=False)
            window_segmenter = Segmenter(self.class_names, policy=policy, silence_dbfs=self.silence_dbfs)
            windows["label"] = window_segmenter.window_labels(probs, window_levels)[0]
        windows.insert(0, "path", str(path))
        return SegmentedFile(windows, segments, duration_s)

    def _stretch_group(self, policy, block_seconds: float) -> int | None:
        """Windows per stretch under coarse-to-fine scoring (a multiple of its step, about a block); None without it."""
        every = policy.coarse_every()
        if every == 1:
            return None
        return every * max(1, round(block_seconds / (every * policy.hop_seconds)))

    def shard_grid(self, policy=None, *, block_seconds: float = 60.0) -> int:
        """Samples at the model's rate that a shard's start must be a multiple of (:func:`~audioclf_lib.shards.plan_shards`'s ``hop``).

        Command line: audioclf classify --dask (time shards of long files)

        On this grid the shards of a file give exactly the scores of one :meth:`window_scores` run
        over it: the hop, or under coarse-to-fine scoring the stretch of whole groups of windows
        that run cuts the file into.
        """
        policy = self._policy(policy)
        _, hop = self._window_hop(policy.window_seconds, policy.hop_seconds or policy.window_seconds)
        return hop * (self._stretch_group(policy, block_seconds) or 1)

    def _policy(self, policy):
        from .segments import default_policy

        return default_policy(self.config.window_seconds) if policy is None else policy

    def _window_hop(self, window_seconds: float | None, hop_seconds: float | None) -> tuple[int, int]:
        sr = self.config.sample_rate
        n = self.config.window_samples if window_seconds is None else int(round(window_seconds * sr))
        hop = n if hop_seconds is None else int(round(hop_seconds * sr))
        if n < self.config.n_fft or hop <= 0:
            raise ValueError(f"window {n} samples / hop {hop} samples: need window >= n_fft ({self.config.n_fft}) and hop > 0")
        return n, hop

    def _score(self, windows: np.ndarray, starts: np.ndarray, n: int, total: int) -> pd.DataFrame:
        return self._table(window_probabilities(self, windows), [loud_level_dbfs(w) for w in windows], starts, n, total)

    def _score_stretch(self, audio: np.ndarray, offset: int, starts: np.ndarray, n: int, stream,
                       levels: bool = True, every: int = 1, confidence: float = 1.0) -> pd.DataFrame:
        """The rows of one stretch of :meth:`FileWindows.stretches <audioclf_lib.shards.FileWindows.stretches>`."""
        probs, _ = coarse_to_fine(len(starts), self.stretch_scorer(audio, offset, starts, n), every=every,
                                  confidence=confidence, phase=int(starts[0]) // stream.hop if len(starts) else 0,
                                  group=stream.group)
        level_dbfs = ([loud_level_dbfs(audio[s - offset : s - offset + n]) for s in starts] if levels
                      else np.full(len(starts), np.nan))
        return self._table(probs, level_dbfs, starts, n, stream.total)

    def _table(self, probs: np.ndarray, level_dbfs, starts: np.ndarray, n: int, total: int) -> pd.DataFrame:
        sr = self.config.sample_rate
        table = pd.DataFrame({"start_s": starts / sr, "end_s": np.minimum(starts + n, total) / sr,
                              "level_dbfs": level_dbfs})
        table["label"] = [self.class_names[k] for k in probs.argmax(axis=1)]
        for k, name in enumerate(self.class_names):
            table[f"p_{name}"] = probs[:, k]
        return table

    def classify_file(self, path: str | Path, **window_options) -> tuple[str, np.ndarray]:
        """File-level decision: the class with the highest mean probability over its sounding windows.

        Notebook: 02_train_cnn.ipynb (the command line's ``evaluate``)

        Windows below the silence gate (``level_dbfs < silence_dbfs``, the gate of the decision
        policy) do not vote; when every window is silent the label is ``"silence"`` and the
        probabilities are all zero.

        Parameters
        ----------
        path : str or Path
            An audio file.
        **window_options
            ``window_seconds``, ``hop_seconds``, ``block_seconds`` of :meth:`predict_file`.

        Returns
        -------
        label : str
        probs : np.ndarray, shape (n_classes,)
            Mean probability per class over the windows.
        """
        table = self.predict_file(path, **window_options)
        if self.silence_dbfs is not None:
            table = table[table["level_dbfs"] >= self.silence_dbfs]
        if table.empty:
            return "silence", np.zeros(len(self.class_names))
        probs = table[[f"p_{c}" for c in self.class_names]].to_numpy().mean(axis=0)
        return self.class_names[int(probs.argmax())], probs
