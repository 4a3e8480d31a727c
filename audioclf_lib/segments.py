"""One decision policy from window probabilities to merged, labelled segments.

Notebook: 05_live_demo.ipynb

The model gives one probability vector per window (every ``hop_seconds``, ``window_seconds``
long). People want segments (``start, end, label, confidence``) that tile the file, with a
``silence`` label from the level gate, smoothing so that one odd window does not split a
segment, and no flicker shorter than a minimum duration. Everything here is pure numpy/pandas,
so the command line, evaluation and the live loop decide in exactly the same way::

    P (n_windows, n_classes) --smooth--> argmax / Viterbi --thresholds--> window labels
      levels_db (n_windows,) --gate-->  silence (never smoothed across)
    window labels --centres--> contiguous pieces --runs--> segments --min_gap, min_segment--> table

* :class:`DecisionPolicy` holds the knobs (frozen, validated on construction).
* :func:`smooth_probabilities`, :func:`viterbi_labels`, :func:`decide_windows` decide per window.
* :func:`merge_segments` turns window decisions into a table that tiles ``[0, duration_s)``.
* :func:`segment_probabilities` / :class:`Segmenter` are the one entry point for callers.
"""
from __future__ import annotations

import heapq
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from .audio import SILENCE_DBFS

__all__ = [
    "SMOOTHINGS",
    "SEGMENT_COLUMNS",
    "DecisionPolicy",
    "smooth_probabilities",
    "viterbi_labels",
    "decide_windows",
    "merge_segments",
    "check_segments",
    "segment_probabilities",
    "frame_probabilities",
    "default_policy",
    "Segmenter",
]

#: Smoothing methods of :class:`DecisionPolicy`.
SMOOTHINGS = ("none", "mean", "median", "viterbi")
#: Columns of every segment table.
SEGMENT_COLUMNS = ("start", "end", "label", "confidence")


def _finite_number(name: str, value, *, minimum: float = 0.0, strict: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name}={value!r} must be a number")
    value = float(value)
    if not math.isfinite(value) or value < minimum or (strict and value == minimum):
        relation = ">" if strict else ">="
        raise ValueError(f"{name}={value!r} must be finite and {relation} {minimum:g}")
    return value


def _check_label(name: str, value) -> str:
    # Labels end up in tab- and space-separated formats (Audacity, RTTM): no whitespace inside.
    if not isinstance(value, str) or not value or any(ch.isspace() for ch in value):
        raise ValueError(f"{name}={value!r} must be a non-empty string without whitespace")
    return value


@dataclass(frozen=True)
class DecisionPolicy:
    """How window probabilities become labels and segments.

    Notebook: 05_live_demo.ipynb

    Parameters
    ----------
    window_seconds : float, > 0
        Length of each classified window (the model's window is 5 s).
    hop_seconds : float or None
        Time between window starts, ``0 < hop_seconds <= window_seconds`` (``None``: one window,
        back to back). A hop longer than the window would leave audio nobody listened to.
    smoothing : {'none', 'mean', 'median', 'viterbi'}
        ``'mean'`` / ``'median'``: the probabilities of each window are replaced by the mean /
        per-class median (renormalised) over ``smoothing_windows`` windows centred on it; near the
        ends of a run only the windows that exist are used. ``'viterbi'``: the most likely label
        sequence when switching class costs ``switch_penalty`` (log-probability units).
    smoothing_windows : int, >= 1
        ``k`` for ``'mean'`` / ``'median'``. An even ``k`` leans to the past (``k / 2`` windows
        before, ``k / 2 - 1`` after).
    switch_penalty : float, >= 0
        Viterbi cost of one class change, in nats: a switch must be supported by that much more
        summed log-probability than staying (0 is a plain argmax).
    min_segment_seconds : float, >= 0
        Class segments shorter than this are absorbed by a class neighbour (see :func:`merge_segments`).
    min_gap_seconds : float, >= 0
        Silence segments shorter than this are absorbed by their neighbours.
    class_thresholds : mapping class -> minimum probability in [0, 1], or None
        A window whose winning class has a (smoothed) probability below its threshold is labelled
        ``unknown_label``. Rejecting is honest about doubt; keeping the previous label would hide it
        and make the label depend on history. Classes not listed have threshold 0.
    silence_label, unknown_label : str
        Labels for gated windows and rejected ones; no whitespace (they go into RTTM and Audacity files).
    """

    window_seconds: float = 5.0
    hop_seconds: float | None = None
    smoothing: str = "median"
    smoothing_windows: int = 3
    switch_penalty: float = 3.0
    min_segment_seconds: float = 0.0
    min_gap_seconds: float = 0.0
    # Excluded from the hash (a dict is not hashable); still part of equality.
    class_thresholds: Mapping[str, float] | None = field(default=None, hash=False)
    silence_label: str = "silence"
    unknown_label: str = "unknown"

    def __post_init__(self):
        set_ = object.__setattr__  # frozen: normalise through the back door, once, here
        window = _finite_number("window_seconds", self.window_seconds, strict=True)
        set_(self, "window_seconds", window)
        hop = window if self.hop_seconds is None else _finite_number("hop_seconds", self.hop_seconds, strict=True)
        if hop > window:
            raise ValueError(f"hop_seconds={hop!r} is longer than window_seconds={window!r}: "
                             "audio between windows would go unclassified")
        set_(self, "hop_seconds", hop)
        if self.smoothing not in SMOOTHINGS:
            raise ValueError(f"smoothing={self.smoothing!r}; expected one of {SMOOTHINGS}")
        k = self.smoothing_windows
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"smoothing_windows={k!r} must be an integer >= 1")
        set_(self, "smoothing_windows", int(k))
        set_(self, "switch_penalty", _finite_number("switch_penalty", self.switch_penalty))
        set_(self, "min_segment_seconds", _finite_number("min_segment_seconds", self.min_segment_seconds))
        set_(self, "min_gap_seconds", _finite_number("min_gap_seconds", self.min_gap_seconds))
        _check_label("silence_label", self.silence_label)
        _check_label("unknown_label", self.unknown_label)
        if self.silence_label == self.unknown_label:
            raise ValueError(f"silence_label and unknown_label are both {self.silence_label!r}")
        if self.class_thresholds is not None:
            thresholds = {}
            for name, value in dict(self.class_thresholds).items():
                if not isinstance(name, str):
                    raise TypeError(f"class_thresholds key {name!r} must be a class name (str)")
                value = _finite_number(f"class_thresholds[{name!r}]", value)
                if value > 1:
                    raise ValueError(f"class_thresholds[{name!r}]={value!r} must be a probability in [0, 1]")
                thresholds[name] = value
            set_(self, "class_thresholds", thresholds)  # a private copy: the caller's dict can change
        if self.smoothing in ("mean", "median") and k == 1:
            warnings.warn(f"smoothing={self.smoothing!r} with smoothing_windows=1 does not smooth", stacklevel=3)
        if self.smoothing == "viterbi" and self.switch_penalty == 0:
            warnings.warn("smoothing='viterbi' with switch_penalty=0 is a plain argmax", stacklevel=3)

    def to_dict(self) -> dict:
        """Plain dict of the settings (JSON-serialisable), e.g. to store next to an output."""
        return asdict(self)

    def threshold_vector(self, class_names: Sequence[str]) -> np.ndarray:
        """Thresholds in the order of ``class_names``, shape (n_classes,); an unknown class name raises."""
        thresholds = self.class_thresholds or {}
        unknown = sorted(set(thresholds) - set(class_names))
        if unknown:
            raise ValueError(f"class_thresholds names {unknown} that are not classes of the model {list(class_names)}")
        return np.array([thresholds.get(name, 0.0) for name in class_names], dtype=np.float64)


# -- per-window decisions -----------------------------------------------------------------------------


def _check_probabilities(P, *, allow_nan_rows: np.ndarray | None = None) -> np.ndarray:
    P = np.asarray(P, dtype=np.float64)
    if P.ndim != 2 or P.shape[1] < 1:
        raise ValueError(f"probabilities must have shape (n_windows, n_classes); got {P.shape}")
    rows = np.ones(len(P), bool) if allow_nan_rows is None else ~allow_nan_rows
    bad = rows & ~np.isfinite(P).all(axis=1)
    if bad.any():
        raise ValueError(f"probabilities of window {int(np.flatnonzero(bad)[0])} are not finite")
    if (P[rows] < 0).any():
        raise ValueError(f"negative probability {float(P[rows].min())!r}")
    return P


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` of the runs of True in a 1-D bool mask."""
    edges = np.flatnonzero(np.diff(np.r_[0, mask.astype(np.int8), 0]))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def smooth_probabilities(P: np.ndarray, policy: DecisionPolicy, *, causal: bool = False) -> np.ndarray:
    """Smooth window probabilities over neighbouring windows with the policy's mean / median.

    Notebook: 05_live_demo.ipynb

    Parameters
    ----------
    P : np.ndarray, shape (n_windows, n_classes)
        Class probabilities of consecutive windows of one run (no silence inside: see
        :func:`decide_windows`, which smooths each run between silences on its own).
    policy : DecisionPolicy
        ``'none'`` and ``'viterbi'`` return ``P`` unchanged (Viterbi smooths the labels instead).
    causal : bool
        Use the ``k`` windows ending at each window instead of centred ones (what a live loop can
        know at the time it decides).

    Returns
    -------
    np.ndarray, shape (n_windows, n_classes), float64
        Rows sum to 1 when the rows of ``P`` do.
    """
    P = _check_probabilities(P)
    k = policy.smoothing_windows
    if policy.smoothing in ("none", "viterbi") or k == 1 or len(P) < 2:
        return P.copy()
    before, after = (k - 1, 0) if causal else (k // 2, (k - 1) // 2)
    # NaN padding: near the ends only real windows count (nanmean / nanmedian skip the padding).
    padded = np.pad(P, ((before, after), (0, 0)), constant_values=np.nan)
    stack = np.lib.stride_tricks.sliding_window_view(padded, k, axis=0)  # (n_windows, n_classes, k)
    mean = np.nanmean(stack, axis=-1)
    if policy.smoothing == "mean":
        return mean
    # np.median on the full windows inside, nanmedian (several times slower) only near the ends.
    median = np.empty_like(mean)
    inner = np.zeros(len(P), bool)
    inner[before : len(P) - after] = True
    median[inner] = np.median(stack[inner], axis=-1)
    median[~inner] = np.nanmedian(stack[~inner], axis=-1)
    total = median.sum(axis=1, keepdims=True)
    # Per-class medians need not sum to 1; renormalise so confidences stay probabilities. All
    # medians 0 (every window voted for another class) has no winner: fall back to the mean.
    return np.where(total > 0, median / np.where(total > 0, total, 1.0), mean)


def viterbi_labels(P: np.ndarray, switch_penalty: float, *, causal: bool = False) -> np.ndarray:
    """Most likely class sequence when each class change costs ``switch_penalty`` nats.

    Notebook: 05_live_demo.ipynb

    Maximises ``sum_t log P[t, s_t] - switch_penalty * #{t : s_t != s_(t-1)}`` (a uniform start,
    ties stay in the current class, then go to the lower class index).

    Parameters
    ----------
    P : np.ndarray, shape (n_windows, n_classes)
        Window probabilities (zeros are floored at 1e-12 before the log).
    switch_penalty : float, >= 0
        0 gives the argmax of every window; a large penalty gives one class for the whole run.
    causal : bool
        Decide each window from the windows up to it (the end of the best path so far, no
        backtracking): what a live loop can know at the time.

    Returns
    -------
    np.ndarray, shape (n_windows,), int64
        Class index per window.
    """
    P = _check_probabilities(P)
    switch_penalty = _finite_number("switch_penalty", switch_penalty)
    n, n_classes = P.shape
    labels = np.zeros(n, dtype=np.int64)
    if n == 0:
        return labels
    logp = np.log(np.maximum(P, 1e-12))
    back = np.zeros((n, n_classes), dtype=np.int64)
    score = logp[0].copy()
    labels[0] = int(np.argmax(score))
    stay = np.arange(n_classes)
    for t in range(1, n):
        best = int(np.argmax(score))
        switch = score[best] - switch_penalty
        from_stay = score >= switch  # ties stay
        back[t] = np.where(from_stay, stay, best)
        score = np.where(from_stay, score, switch) + logp[t]
        labels[t] = int(np.argmax(score))
    if causal:
        return labels
    for t in range(n - 1, 0, -1):  # backtrack from the best end state
        labels[t - 1] = back[t, labels[t]]
    return labels


def decide_windows(P: np.ndarray, silent_mask: np.ndarray | None, class_names: Sequence[str],
                   policy: DecisionPolicy, *, causal: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """One label and confidence per window: silence gate, smoothing or Viterbi, class thresholds.

    Notebook: 05_live_demo.ipynb

    Silent windows become ``policy.silence_label`` (confidence 1.0) and split the sequence:
    each run of sounding windows between silences is smoothed on its own, so no probability
    leaks across a pause.

    Parameters
    ----------
    P : np.ndarray, shape (n_windows, n_classes)
        Window probabilities; rows of silent windows are ignored (may be NaN: the model need not run).
    silent_mask : np.ndarray of bool, shape (n_windows,), or None (no window is silent)
    class_names : sequence of str, length n_classes
    policy : DecisionPolicy
    causal : bool
        Decide from past windows only (see :func:`smooth_probabilities`, :func:`viterbi_labels`).

    Returns
    -------
    labels : np.ndarray of str (object), shape (n_windows,)
        A class name, ``policy.silence_label`` or ``policy.unknown_label``.
    confidences : np.ndarray, shape (n_windows,), float64 in [0, 1]
        Smoothed probability of the winning class (Viterbi: its window probability); for
        ``unknown`` the probability of the rejected winner; 1.0 for silence.
    """
    P = np.asarray(P, dtype=np.float64)
    n = len(P)
    silent = np.zeros(n, bool) if silent_mask is None else np.asarray(silent_mask, dtype=bool)
    if silent.shape != (n,):
        raise ValueError(f"silent_mask has shape {silent.shape}; expected ({n},) like the probabilities")
    class_names = _check_class_names(class_names, policy)
    if P.size == 0:
        P = P.reshape(0, len(class_names))  # no windows yet (a live loop before its first decision)
    P = _check_probabilities(P, allow_nan_rows=silent)
    if P.shape[1] != len(class_names):
        raise ValueError(f"probabilities have {P.shape[1]} classes but class_names has {len(class_names)}: {class_names}")
    thresholds = policy.threshold_vector(class_names)
    names = np.array(class_names, dtype=object)
    labels = np.full(n, policy.silence_label, dtype=object)
    confidences = np.ones(n, dtype=np.float64)
    for a, b in _runs(~silent):
        if policy.smoothing == "viterbi":
            idx = viterbi_labels(P[a:b], policy.switch_penalty, causal=causal)
            conf = P[a:b][np.arange(b - a), idx]
        else:
            S = smooth_probabilities(P[a:b], policy, causal=causal)
            idx = S.argmax(axis=1)
            conf = S[np.arange(b - a), idx]
        labels[a:b] = np.where(conf < thresholds[idx], policy.unknown_label, names[idx])
        confidences[a:b] = np.clip(conf, 0.0, 1.0)
    return labels, confidences


def _check_class_names(class_names: Sequence[str], policy: DecisionPolicy) -> list[str]:
    class_names = [str(c) for c in class_names]
    if len(set(class_names)) != len(class_names):
        raise ValueError(f"class_names {class_names} has duplicates")
    for reserved in (policy.silence_label, policy.unknown_label):
        if reserved in class_names:
            raise ValueError(f"class name {reserved!r} collides with the policy's silence/unknown label")
    return class_names


# -- segments --------------------------------------------------------------------------------------


def check_segments(segments: pd.DataFrame, *, duration_s: float | None = None, tiled: bool = False) -> pd.DataFrame:
    """Check a segment table: columns, finite sorted times, ``start < end``, no overlaps.

    Notebook: 05_live_demo.ipynb

    Parameters
    ----------
    segments : pd.DataFrame with columns ``start``, ``end`` (seconds), ``label`` and optionally ``confidence``
    duration_s : float or None
        When given, no segment may end after it (``tiled``: the last one ends exactly there, to 1 µs).
    tiled : bool
        Also require contiguity: the first segment starts at 0 and each starts where the previous ended.

    Returns
    -------
    pd.DataFrame
        ``segments`` itself, so the call can wrap an expression.
    """
    missing = [c for c in ("start", "end", "label") if c not in segments.columns]
    if missing:
        raise ValueError(f"segment table lacks columns {missing}; has {list(segments.columns)}")
    start = segments["start"].to_numpy(dtype=np.float64)
    end = segments["end"].to_numpy(dtype=np.float64)
    eps = 1e-6  # the formats keep 6 (Audacity) or 3 (RTTM) decimals
    if not (np.isfinite(start).all() and np.isfinite(end).all()):
        raise ValueError("segment times must be finite")
    bad = np.flatnonzero(end <= start)
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"segment {i} has end {float(end[i])!r} <= start {float(start[i])!r}")
    if start.size and start[0] < -eps:
        raise ValueError(f"segment 0 starts before 0 s: {float(start[0])!r}")
    overlap = np.flatnonzero(start[1:] < end[:-1] - eps)
    if overlap.size:
        i = int(overlap[0]) + 1
        raise ValueError(f"segment {i} starts at {float(start[i])!r}, before segment {i - 1} ends ({float(end[i - 1])!r})")
    if duration_s is not None and end.size and end[-1] > duration_s + eps:
        raise ValueError(f"last segment ends at {float(end[-1])!r}, after duration_s={duration_s!r}")
    if tiled:
        if not start.size:
            raise ValueError("empty segment table does not tile the file")
        if abs(start[0]) > eps:
            raise ValueError(f"first segment starts at {float(start[0])!r}, not 0")
        gap = np.flatnonzero(np.abs(start[1:] - end[:-1]) > eps)
        if gap.size:
            i = int(gap[0]) + 1
            raise ValueError(f"gap between segment {i - 1} (end {float(end[i - 1])!r}) and {i} (start {float(start[i])!r})")
        if duration_s is not None and abs(end[-1] - duration_s) > eps:
            raise ValueError(f"last segment ends at {float(end[-1])!r}, not at duration_s={duration_s!r}")
    labels = segments["label"]
    if labels.isna().any() or (labels.astype(str) == "").any():
        raise ValueError("every segment needs a non-empty label")
    return segments


class _Pieces:
    """Segments as parallel lists with prev/next links, so merges are O(1) (a heap picks the order)."""

    def __init__(self, start, end, label, conf_time, own_time):
        self.start, self.end, self.label = start, end, label
        self.conf_time, self.own_time = conf_time, own_time  # confidence x time / time of own windows
        n = len(start)
        self.prev = list(range(-1, n - 1))
        self.next = list(range(1, n + 1))
        self.next[-1] = -1
        self.alive = [True] * n
        self.version = [0] * n

    def duration(self, i: int) -> float:
        return self.end[i] - self.start[i]

    def confidence(self, i: int) -> float:
        return self.conf_time[i] / self.own_time[i] if self.own_time[i] > 0 else 0.0

    def absorb(self, keep: int, gone: int) -> None:
        """``keep`` takes over the time of its neighbour ``gone`` (whose own windows do not count)."""
        if self.next[keep] == gone:
            self.end[keep] = self.end[gone]
        else:
            self.start[keep] = self.start[gone]
        self._unlink(gone)

    def join(self, a: int, b: int) -> None:
        """Neighbours ``a`` (left) and ``b`` with the same label become one segment, sums added."""
        self.end[a] = self.end[b]
        self.conf_time[a] += self.conf_time[b]
        self.own_time[a] += self.own_time[b]
        self._unlink(b)

    def _unlink(self, i: int) -> None:
        p, q = self.prev[i], self.next[i]
        if p >= 0:
            self.next[p] = q
        if q >= 0:
            self.prev[q] = p
        self.alive[i] = False

    def order(self) -> list[int]:
        i = next((j for j, alive in enumerate(self.alive) if alive and self.prev[j] < 0), -1)
        out = []
        while i >= 0:
            out.append(i)
            i = self.next[i]
        return out


def merge_segments(starts_s: np.ndarray, labels: Sequence[str], confidences: np.ndarray, *,
                   duration_s: float, policy: DecisionPolicy) -> pd.DataFrame:
    """Turn window decisions into segments that tile ``[0, duration_s)``, then apply minimum durations.

    Notebook: 05_live_demo.ipynb

    1. **Window centres.** Each window speaks for the time closer to its centre
       (``start + window_seconds / 2``) than to any other window's: boundaries lie halfway between
       neighbouring centres, the first window reaches back to 0 and the last one on to
       ``duration_s``. With ``hop == window`` that is exactly the windows; with overlapping windows
       each decision covers one hop around its centre, where its evidence is densest.
    2. **Runs.** Neighbouring pieces with the same label join; a segment's ``confidence`` is the
       time-weighted mean confidence of its windows.
    3. **Gaps.** Silence shorter than ``policy.min_gap_seconds`` is absorbed: between two segments
       of one label they join; between different labels the gap is split at its middle; at a file
       edge the one neighbour takes it. A file that is all silence stays silence.
    4. **Short segments.** Class (and ``unknown``) segments shorter than
       ``policy.min_segment_seconds`` are absorbed, shortest first, by the neighbouring class
       segment with the higher confidence; a segment between silences (or alone) stays, since the
       gate measured sound there. Absorbed time does not count in the confidence: it was evidence
       for another label.

    Parameters
    ----------
    starts_s : np.ndarray, shape (n_windows,)
        Window start times in seconds, increasing, in ``[0, duration_s)``.
    labels : sequence of str, length n_windows
        Window labels (from :func:`decide_windows`).
    confidences : np.ndarray, shape (n_windows,)
        Window confidences in [0, 1].
    duration_s : float, > 0
        Length of the audio; the segments end exactly there.
    policy : DecisionPolicy

    Returns
    -------
    pd.DataFrame
        Columns ``start``, ``end`` (seconds, float64), ``label`` (str), ``confidence`` (float64);
        rows tile ``[0, duration_s)`` without gaps or overlaps, neighbours have different labels.
    """
    duration_s = _finite_number("duration_s", duration_s, strict=True)
    starts = np.asarray(starts_s, dtype=np.float64).reshape(-1)
    labels = np.asarray(labels, dtype=object).reshape(-1)
    conf = np.asarray(confidences, dtype=np.float64).reshape(-1)
    n = starts.size
    if n == 0:
        raise ValueError("no windows to merge (starts_s is empty)")
    if labels.size != n or conf.size != n:
        raise ValueError(f"{n} window starts but {labels.size} labels and {conf.size} confidences")
    if not np.isfinite(starts).all() or starts[0] < 0 or (np.diff(starts) <= 0).any():
        raise ValueError(f"window starts must be finite, >= 0 and increasing; got {starts[:5].tolist()}...")
    if starts[-1] >= duration_s:
        raise ValueError(f"window start {float(starts[-1])!r} s is not before duration_s={duration_s!r}")
    if not (np.isfinite(conf).all() and (conf >= 0).all() and (conf <= 1).all()):
        raise ValueError("confidences must be in [0, 1]")

    centres = starts + policy.window_seconds / 2
    edges = np.r_[0.0, (centres[:-1] + centres[1:]) / 2, duration_s]
    edges = np.maximum.accumulate(np.clip(edges, 0.0, duration_s))
    lengths = np.diff(edges)
    keep = lengths > 0  # a window whose share was clipped away (beyond the end) says nothing
    if not keep.any():
        raise ValueError("no window covers any of the audio")
    edges_lo, edges_hi = edges[:-1][keep], edges[1:][keep]
    labels, conf, lengths = labels[keep], conf[keep], lengths[keep]

    change = np.r_[True, labels[1:] != labels[:-1]]
    first = np.flatnonzero(change)
    last = np.r_[first[1:], labels.size] - 1
    own = np.add.reduceat(lengths, first)
    pieces = _Pieces(start=edges_lo[first].tolist(), end=edges_hi[last].tolist(), label=labels[first].tolist(),
                     conf_time=np.add.reduceat(conf * lengths, first).tolist(), own_time=own.tolist())
    silence = policy.silence_label
    if policy.min_gap_seconds > 0:
        _absorb_gaps(pieces, silence, policy.min_gap_seconds)
    if policy.min_segment_seconds > 0:
        _absorb_short(pieces, silence, policy.min_segment_seconds)

    order = pieces.order()
    table = pd.DataFrame({
        "start": np.array([pieces.start[i] for i in order], dtype=np.float64),
        "end": np.array([pieces.end[i] for i in order], dtype=np.float64),
        "label": pd.array([str(pieces.label[i]) for i in order], dtype=object),
        "confidence": np.array([pieces.confidence(i) for i in order], dtype=np.float64),
    })
    table.loc[0, "start"] = 0.0
    table.loc[len(table) - 1, "end"] = duration_s  # exact, whatever the float arithmetic did
    return table


def _absorb_gaps(pieces: _Pieces, silence: str, min_gap: float) -> None:
    for i in pieces.order():
        if not pieces.alive[i] or pieces.label[i] != silence or pieces.duration(i) >= min_gap:
            continue
        left, right = pieces.prev[i], pieces.next[i]
        if left < 0 and right < 0:
            continue  # all silence: nothing to absorb it
        if left >= 0 and right >= 0:
            if pieces.label[left] == pieces.label[right]:
                pieces.absorb(left, i)
                pieces.join(left, right)
            else:
                middle = (pieces.start[i] + pieces.end[i]) / 2
                pieces.end[left] = middle
                pieces.start[right] = middle
                pieces._unlink(i)
        else:
            pieces.absorb(left if left >= 0 else right, i)


def _absorb_short(pieces: _Pieces, silence: str, min_segment: float) -> None:
    heap = [(pieces.duration(i), pieces.start[i], i, 0) for i in pieces.order()
            if pieces.label[i] != silence and pieces.duration(i) < min_segment]
    heapq.heapify(heap)
    while heap:
        _, _, i, version = heapq.heappop(heap)
        if not pieces.alive[i] or version != pieces.version[i] or pieces.duration(i) >= min_segment:
            continue
        neighbours = [j for j in (pieces.prev[i], pieces.next[i]) if j >= 0 and pieces.label[j] != silence]
        if not neighbours:
            continue  # between silences or alone: real sound, keep it
        # Higher confidence wins; on a tie the longer neighbour, then the earlier one.
        keep = max(neighbours, key=lambda j: (pieces.confidence(j), pieces.duration(j), -j))
        pieces.absorb(keep, i)
        for other in (pieces.prev[keep], pieces.next[keep]):
            if other >= 0 and pieces.label[other] == pieces.label[keep]:
                left, right = (other, keep) if pieces.next[other] == keep else (keep, other)
                pieces.join(left, right)
                keep = left
                break
        pieces.version[keep] += 1
        if pieces.duration(keep) < min_segment:
            heapq.heappush(heap, (pieces.duration(keep), pieces.start[keep], keep, pieces.version[keep]))


# -- the entry point -------------------------------------------------------------------------------


def segment_probabilities(P: np.ndarray, levels_db: np.ndarray | None, *, policy: DecisionPolicy,
                          class_names: Sequence[str], duration_s: float, silence_dbfs: float | None = SILENCE_DBFS,
                          starts_s: np.ndarray | None = None) -> pd.DataFrame:
    """Window probabilities and levels -> merged segments: the one decision policy.

    Notebook: 05_live_demo.ipynb

    Parameters
    ----------
    P : np.ndarray, shape (n_windows, n_classes)
        Softmax output per window (rows of silent windows may be NaN).
    levels_db : np.ndarray, shape (n_windows,), or None
        Loud level of each window in dBFS (:func:`audioclf_lib.audio.loud_level_dbfs`); ``None``:
        no gate.
    policy : DecisionPolicy
    class_names : sequence of str, length n_classes
    duration_s : float, > 0
        Audio length; the segments tile ``[0, duration_s)``.
    silence_dbfs : float or None
        Windows with ``levels_db < silence_dbfs`` are silence (``None``: gate off).
    starts_s : np.ndarray, shape (n_windows,), or None
        Window starts in seconds (default ``i * policy.hop_seconds``, as
        :meth:`~audioclf_lib.predict.Predictor.predict_file` places them).

    Returns
    -------
    pd.DataFrame
        ``start``, ``end``, ``label``, ``confidence`` (see :func:`merge_segments`).
    """
    P = np.asarray(P, dtype=np.float64)
    n = len(P)
    if starts_s is None:
        starts_s = np.arange(n) * policy.hop_seconds
    labels, confidences = decide_windows(P, _silent_mask(levels_db, silence_dbfs, n), class_names, policy)
    return merge_segments(starts_s, labels, confidences, duration_s=duration_s, policy=policy)


def _silent_mask(levels_db, silence_dbfs: float | None, n: int) -> np.ndarray | None:
    """The level gate: ``levels_db < silence_dbfs`` per window (None when either is None)."""
    if levels_db is None or silence_dbfs is None:
        return None
    silence_dbfs = _finite_number("silence_dbfs", silence_dbfs, minimum=-math.inf)
    levels = np.asarray(levels_db, dtype=np.float64).reshape(-1)
    if levels.shape != (n,):
        raise ValueError(f"levels_db has {levels.size} values for {n} windows")
    if np.isnan(levels).any():
        raise ValueError(f"level of window {int(np.flatnonzero(np.isnan(levels))[0])} is NaN")
    return levels < silence_dbfs  # -inf (digital silence) is silent too


class Segmenter:
    """A decision policy bound to a model's class names and silence gate.

    Notebook: 05_live_demo.ipynb

    Parameters
    ----------
    class_names : sequence of str
        The model's classes, in the order of its probability columns.
    policy : DecisionPolicy
    silence_dbfs : float or None
        Silence gate in dBFS (``None``: off).

    Examples
    --------
    >>> seg = Segmenter(["music", "speech", "noise"], policy=DecisionPolicy(window_seconds=5, hop_seconds=5))
    >>> seg.segment([[.9, .05, .05], [.8, .1, .1]], [-20, -20], duration_s=10.0)[["start", "end", "label"]]
       start   end  label
    0    0.0  10.0  music
    """

    def __init__(self, class_names: Sequence[str], *, policy: DecisionPolicy = DecisionPolicy(),
                 silence_dbfs: float | None = SILENCE_DBFS):
        self.policy = policy
        self.class_names = _check_class_names(class_names, policy)
        policy.threshold_vector(self.class_names)  # thresholds must name real classes: fail now, not per file
        if silence_dbfs is not None:
            _finite_number("silence_dbfs", silence_dbfs, minimum=-math.inf)
        self.silence_dbfs = silence_dbfs

    def __repr__(self) -> str:
        return f"Segmenter({self.class_names}, policy={self.policy}, silence_dbfs={self.silence_dbfs})"

    def window_labels(self, P: np.ndarray, levels_db: np.ndarray | None = None, *,
                      causal: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Per-window labels and confidences (:func:`decide_windows` after the gate)."""
        P = np.asarray(P, dtype=np.float64)
        silent = _silent_mask(levels_db, self.silence_dbfs, len(P))
        return decide_windows(P, silent, self.class_names, self.policy, causal=causal)

    def segment(self, P: np.ndarray, levels_db: np.ndarray | None = None, *, duration_s: float,
                starts_s: np.ndarray | None = None) -> pd.DataFrame:
        """Segments of one recording (:func:`segment_probabilities` with this segmenter's settings)."""
        return segment_probabilities(P, levels_db, policy=self.policy, class_names=self.class_names,
                                     duration_s=duration_s, silence_dbfs=self.silence_dbfs, starts_s=starts_s)

    def segment_table(self, windows: pd.DataFrame, *, duration_s: float | None = None) -> pd.DataFrame:
        """Segments from a window table like :meth:`~audioclf_lib.predict.Predictor.predict_file`'s.

        Parameters
        ----------
        windows : pd.DataFrame
            Columns ``start_s``, ``p_<class>`` for every class, optionally ``end_s`` and
            ``level_dbfs`` (the gate's input; without it no window is silent).
        duration_s : float or None
            Audio length (default: the largest ``end_s``). Give it when the table's last window
            does not reach the end (a trailing piece shorter than half a window is not classified).
        """
        columns = [f"p_{name}" for name in self.class_names]
        missing = [c for c in ["start_s", *columns] if c not in windows.columns]
        if missing:
            raise ValueError(f"window table lacks columns {missing}; has {list(windows.columns)}")
        if duration_s is None:
            if "end_s" not in windows.columns:
                raise ValueError("give duration_s: the window table has no end_s column")
            duration_s = float(windows["end_s"].max())
        levels = windows["level_dbfs"].to_numpy() if "level_dbfs" in windows.columns else None
        return self.segment(windows[columns].to_numpy(dtype=np.float64), levels, duration_s=duration_s,
                            starts_s=windows["start_s"].to_numpy(dtype=np.float64))


def frame_probabilities(P: np.ndarray, starts_s: np.ndarray, *, window_seconds: float, frame_seconds: float,
                        duration_s: float) -> np.ndarray:
    """Window probabilities spread onto a grid of frames: each frame gets the mean of the windows covering it.

    Notebook: 05_live_demo.ipynb

    With windows every hop and frames one hop long, a frame near a class change is covered by
    windows from both sides, and its mean moves from one class to the other where the audio does;
    a window's own centre would place every boundary up to half a window off. A frame is covered
    by a window when the frame's centre lies inside it; frames no window covers (the end of a file
    whose last piece was too short to classify) take the nearest window's probabilities.

    Parameters
    ----------
    P : np.ndarray, shape (n_windows, n_classes)
        Probabilities per window (no NaN rows).
    starts_s : np.ndarray, shape (n_windows,)
        Window starts in seconds, increasing.
    window_seconds, frame_seconds : float, > 0
        Window length and frame length.
    duration_s : float, > 0
        Audio length; frames tile ``[0, duration_s)``, the last may be shorter.

    Returns
    -------
    np.ndarray, shape (ceil(duration_s / frame_seconds), n_classes)
    """
    P = _check_probabilities(P)
    starts = np.asarray(starts_s, dtype=np.float64).reshape(-1)
    if starts.shape != (len(P),) or len(P) == 0:
        raise ValueError(f"starts_s has {starts.size} values for {len(P)} windows (need at least one)")
    if np.any(np.diff(starts) < 0):
        raise ValueError("starts_s must be increasing")
    window_seconds = _finite_number("window_seconds", window_seconds, strict=True)
    frame_seconds = _finite_number("frame_seconds", frame_seconds, strict=True)
    duration_s = _finite_number("duration_s", duration_s, strict=True)
    n_frames = max(1, math.ceil(duration_s / frame_seconds - 1e-9))
    frame_starts = np.arange(n_frames) * frame_seconds
    centres = (frame_starts + np.minimum(frame_starts + frame_seconds, duration_s)) / 2
    # Windows covering a centre c: start <= c < start + window (a contiguous run, as starts increase).
    first = np.searchsorted(starts + window_seconds, centres, side="right")
    last = np.searchsorted(starts, centres, side="right")  # one past the last covering window
    sums = np.vstack([np.zeros((1, P.shape[1])), np.cumsum(P, axis=0)])
    count = last - first
    out = np.empty((n_frames, P.shape[1]))
    covered = count > 0
    out[covered] = (sums[last[covered]] - sums[first[covered]]) / count[covered, None]
    if not covered.all():
        window_centres = starts + window_seconds / 2
        nearest = np.abs(centres[~covered, None] - window_centres[None, :]).argmin(axis=1)
        out[~covered] = P[nearest]
    return out


def default_policy(window_seconds: float = 5.0, *, hop_seconds: float = 0.5) -> DecisionPolicy:
    """The command line's and the notebooks' policy: hop-long frames, a 5-frame median, silences under 1 s absorbed.

    Notebook: 05_live_demo.ipynb

    Chosen on concatenated held-out recordings of music, speech, noise and silence
    (``audioclf bench``'s segmentation section measures it): the median removes single-frame
    flicker, and absorbing pauses shorter than 1 s keeps a speaker's breath from splitting speech.

    Parameters
    ----------
    window_seconds : float
        The model's window.
    hop_seconds : float
        Time between windows, and so the frame length and time resolution of the segments.
    """
    return DecisionPolicy(window_seconds=window_seconds, hop_seconds=hop_seconds, smoothing="median",
                          smoothing_windows=5, min_gap_seconds=1.0)
