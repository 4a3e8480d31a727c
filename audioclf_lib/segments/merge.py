"""From per-window decisions to segments that tile a recording, and the one entry point.

Notebook: 05_live_demo.ipynb

Part of :mod:`audioclf_lib.segments`.
"""
from __future__ import annotations

import heapq
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..audio import SILENCE_DBFS
from .policy import SEGMENT_COLUMNS, DecisionPolicy, _check_class_names, _finite_number, decide_windows

__all__ = ["check_segments", "merge_segments", "segment_probabilities", "Segmenter"]

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
