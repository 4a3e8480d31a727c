"""Time-based evaluation of a predicted segment table against a reference one.

Notebook: 05_live_demo.ipynb

Window accuracy says how often a 5-s window got the right class; someone who segments a
recording wants to know how much of the *time* is labelled right and whether the *boundaries*
fall where the content changes. Measured here, without extra dependencies:

* **Frame accuracy**: both tables sampled at the centres of a fine grid (10 ms by default); the
  share of reference-covered frames whose labels agree. Per class: frame precision, recall, F1.
* **Boundary precision / recall / F1**: a predicted boundary counts as a hit when it lies within
  ``tolerance_s`` of a reference boundary; each boundary is matched at most once (the largest
  such one-to-one matching). Overall: any label change; per class: onsets and offsets of that
  class's segments. The file's start and end are not boundaries.
* **Median boundary error**: for each reference boundary, the distance to the nearest predicted
  one (no tolerance: a missed boundary counts with its full distance).
* **Segment count ratio**: predicted / reference segments, after joining neighbours of one label.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .merge import check_segments

__all__ = ["normalize_segments", "frame_labels", "segment_boundaries", "match_boundaries", "boundary_scores",
           "evaluate_segments", "split_clips", "concatenated_recording"]

_EPS = 1e-6  # times closer than this are the same time (the formats keep 6 or 3 decimals)


def _positive(name: str, value) -> float:
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name}={value!r} must be a finite number > 0")
    return value


def normalize_segments(segments: pd.DataFrame) -> pd.DataFrame:
    """Sorted by start, touching neighbours with the same label joined; columns ``start``, ``end``, ``label``.

    Notebook: 05_live_demo.ipynb

    Parameters
    ----------
    segments : pd.DataFrame
        ``start``, ``end``, ``label`` (other columns are dropped); no overlaps.

    Returns
    -------
    pd.DataFrame
    """
    table = segments[["start", "end", "label"]].sort_values("start", kind="stable").reset_index(drop=True)
    table = table.astype({"start": np.float64, "end": np.float64})
    table["label"] = table["label"].astype(str)
    check_segments(table)
    if table.empty:
        return table
    start, end, label = table["start"].to_numpy(), table["end"].to_numpy(), table["label"].to_numpy()
    new = np.r_[True, (label[1:] != label[:-1]) | (start[1:] > end[:-1] + _EPS)]  # a gap also separates
    last = np.r_[np.flatnonzero(new)[1:], len(table)] - 1
    return pd.DataFrame({"start": start[new], "end": end[last], "label": label[new].astype(object)})


def frame_labels(segments: pd.DataFrame, *, duration_s: float, resolution_s: float = 0.01) -> np.ndarray:
    """Label at the centre of each frame of a ``resolution_s`` grid over ``[0, duration_s)``.

    Notebook: 05_live_demo.ipynb

    Parameters
    ----------
    segments : pd.DataFrame
        ``start``, ``end``, ``label``; sorted, no overlaps.
    duration_s, resolution_s : float, > 0
        ``round(duration_s / resolution_s)`` frames (a last partial frame of less than half a
        frame is left out).

    Returns
    -------
    np.ndarray of object, shape (n_frames,)
        The label of the segment that contains frame ``i``'s centre ``(i + 0.5) * resolution_s``,
        ``None`` where no segment does.
    """
    duration_s = _positive("duration_s", duration_s)
    resolution_s = _positive("resolution_s", resolution_s)
    n = int(round(duration_s / resolution_s))
    if n < 1:
        raise ValueError(f"resolution_s={resolution_s!r} is longer than duration_s={duration_s!r}")
    check_segments(segments)
    centres = (np.arange(n) + 0.5) * resolution_s
    start = segments["start"].to_numpy(dtype=np.float64)
    end = segments["end"].to_numpy(dtype=np.float64)
    idx = np.searchsorted(start, centres, side="right") - 1
    covered = (idx >= 0) & (centres < end[np.maximum(idx, 0)])
    out = np.full(n, None, dtype=object)
    out[covered] = segments["label"].astype(str).to_numpy(dtype=object)[idx[covered]]
    return out


def segment_boundaries(segments: pd.DataFrame, *, duration_s: float, label: str | None = None) -> np.ndarray:
    """Boundary times of a segment table, without the file's start (0) and end (``duration_s``).

    Notebook: 05_live_demo.ipynb

    Parameters
    ----------
    segments : pd.DataFrame
        ``start``, ``end``, ``label``.
    duration_s : float, > 0
    label : str or None
        ``None``: every time the label changes (or coverage starts or stops); a class name: the
        onsets and offsets of that class's segments.

    Returns
    -------
    np.ndarray, shape (n_boundaries,), float64, sorted, no two closer than 1 µs.
    """
    duration_s = _positive("duration_s", duration_s)
    table = normalize_segments(segments)
    if label is not None:
        table = table[table["label"] == label]
    times = np.sort(np.r_[table["start"].to_numpy(), table["end"].to_numpy()])
    times = times[(times > _EPS) & (times < duration_s - _EPS)]
    if times.size:
        times = times[np.r_[True, np.diff(times) > _EPS]]  # an end and the next start are one boundary
    return times.astype(np.float64)


def match_boundaries(reference: np.ndarray, predicted: np.ndarray, *, tolerance_s: float) -> np.ndarray:
    """The largest one-to-one matching of boundaries that lie within ``tolerance_s`` of each other.

    Notebook: 05_live_demo.ipynb

    Both lists sorted, a single greedy sweep is optimal: a predicted boundary too early for the
    current reference boundary is too early for every later one, and matching the earliest
    candidate never blocks a later pair (the interval exchange argument).

    Parameters
    ----------
    reference, predicted : np.ndarray, shape (n_ref,), (n_pred,)
        Boundary times in seconds, sorted.
    tolerance_s : float, >= 0
        Largest distance of a hit (inclusive, to 1 µs).

    Returns
    -------
    np.ndarray, shape (n_matched, 2), int64
        Index pairs ``(i_reference, i_predicted)``.
    """
    tolerance_s = float(tolerance_s)
    if not (math.isfinite(tolerance_s) and tolerance_s >= 0):
        raise ValueError(f"tolerance_s={tolerance_s!r} must be a finite number >= 0")
    ref = np.asarray(reference, dtype=np.float64)
    pred = np.asarray(predicted, dtype=np.float64)
    pairs = []
    i = j = 0
    while i < ref.size and j < pred.size:
        if abs(ref[i] - pred[j]) <= tolerance_s + _EPS:
            pairs.append((i, j))
            i += 1
            j += 1
        elif pred[j] < ref[i]:
            j += 1  # too early for this reference boundary, so for all later ones
        else:
            i += 1  # no predicted boundary left close enough to this one
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


def boundary_scores(reference: np.ndarray, predicted: np.ndarray, *, tolerance_s: float) -> dict:
    """Precision, recall and F1 of predicted boundaries within ``tolerance_s`` of reference ones.

    Notebook: 05_live_demo.ipynb

    With no predicted boundaries precision is 1 (nothing false was claimed); with no reference
    boundaries recall is 1 (nothing was missed); so two tables without boundaries score 1.

    Returns
    -------
    dict
        ``precision``, ``recall``, ``f1`` (floats in [0, 1]), ``n_ref``, ``n_pred``, ``n_matched``.
    """
    matched = len(match_boundaries(reference, predicted, tolerance_s=tolerance_s))
    n_ref, n_pred = len(reference), len(predicted)
    precision = matched / n_pred if n_pred else 1.0
    recall = matched / n_ref if n_ref else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "n_ref": n_ref, "n_pred": n_pred, "n_matched": matched}


def _frame_prf(ref: np.ndarray, pred: np.ndarray, label: str) -> dict:
    hits = int(np.sum((ref == label) & (pred == label)))
    n_ref, n_pred = int(np.sum(ref == label)), int(np.sum(pred == label))
    precision = hits / n_pred if n_pred else (1.0 if n_ref == 0 else 0.0)
    recall = hits / n_ref if n_ref else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {"frame_precision": precision, "frame_recall": recall, "frame_f1": f1}


def evaluate_segments(reference: pd.DataFrame, predicted: pd.DataFrame, *, tolerance_s: float = 0.5,
                      resolution_s: float = 0.01, duration_s: float | None = None) -> dict:
    """Frame accuracy, boundary P/R/F1, median boundary error and segment count ratio.

    Notebook: 05_live_demo.ipynb

    Parameters
    ----------
    reference, predicted : pd.DataFrame
        Segment tables (``start``, ``end``, ``label``), e.g. from
        :func:`audioclf_lib.segments.formats.read_segments`.
    tolerance_s : float, >= 0
        A predicted boundary this close to a reference one is a hit.
    resolution_s : float, > 0
        Frame grid of the frame accuracy (10 ms).
    duration_s : float or None
        Length of the recording (default: where the reference ends). Frames the reference does
        not cover are not scored; frames it covers and the prediction does not are errors.

    Returns
    -------
    dict
        ``frame_accuracy``, ``n_frames`` (scored frames), ``boundary_precision``,
        ``boundary_recall``, ``boundary_f1``, ``n_ref_boundaries``, ``n_pred_boundaries``,
        ``n_matched_boundaries``, ``median_boundary_error_s`` (NaN without reference boundaries,
        inf without predicted ones), ``n_ref_segments``, ``n_pred_segments``,
        ``segment_count_ratio``, ``duration_s``, ``tolerance_s``,
        ``resolution_s`` and ``per_class``: label -> ``frame_precision``, ``frame_recall``,
        ``frame_f1``, ``boundary_precision``, ``boundary_recall``, ``boundary_f1``,
        ``n_ref_boundaries``, ``n_pred_boundaries`` for every label of either table.
    """
    ref = normalize_segments(reference)
    pred = normalize_segments(predicted)
    if ref.empty:
        raise ValueError("the reference segment table is empty")
    duration_s = float(ref["end"].iloc[-1]) if duration_s is None else _positive("duration_s", duration_s)
    ref_frames = frame_labels(ref, duration_s=duration_s, resolution_s=resolution_s)
    pred_frames = frame_labels(pred, duration_s=duration_s, resolution_s=resolution_s)
    scored = np.not_equal(ref_frames, None)
    ref_frames, pred_frames = ref_frames[scored], pred_frames[scored]
    n_frames = int(scored.sum())
    accuracy = float(np.mean(ref_frames == pred_frames)) if n_frames else math.nan

    ref_b = segment_boundaries(ref, duration_s=duration_s)
    pred_b = segment_boundaries(pred, duration_s=duration_s)
    overall = boundary_scores(ref_b, pred_b, tolerance_s=tolerance_s)
    if ref_b.size == 0:
        median_error = math.nan
    elif pred_b.size == 0:
        median_error = math.inf
    else:
        nearest = np.abs(ref_b[:, None] - pred_b[None, :]).min(axis=1)
        median_error = float(np.median(nearest))

    per_class = {}
    for label in sorted(set(ref["label"]) | set(pred["label"])):
        b = boundary_scores(segment_boundaries(ref, duration_s=duration_s, label=label),
                            segment_boundaries(pred, duration_s=duration_s, label=label), tolerance_s=tolerance_s)
        per_class[label] = {**_frame_prf(ref_frames, pred_frames, label),
                            "boundary_precision": b["precision"], "boundary_recall": b["recall"],
                            "boundary_f1": b["f1"], "n_ref_boundaries": b["n_ref"], "n_pred_boundaries": b["n_pred"]}
    return {
        "frame_accuracy": accuracy,
        "n_frames": n_frames,
        "boundary_precision": overall["precision"],
        "boundary_recall": overall["recall"],
        "boundary_f1": overall["f1"],
        "n_ref_boundaries": overall["n_ref"],
        "n_pred_boundaries": overall["n_pred"],
        "n_matched_boundaries": overall["n_matched"],
        "median_boundary_error_s": median_error,
        "n_ref_segments": len(ref),
        "n_pred_segments": len(pred),
        "segment_count_ratio": len(pred) / len(ref),
        "duration_s": duration_s,
        "tolerance_s": float(tolerance_s),
        "resolution_s": float(resolution_s),
        "per_class": per_class,
    }


def split_clips(root, split: str) -> dict[str, list]:
    """The audio files of one split of a corpus folder, by class: what :func:`concatenated_recording` takes.

    Notebook: 05_live_demo.ipynb

    Parameters
    ----------
    root : str or Path
        A corpus folder (``data/starter``, corpus v2, ...); its split is the one training used
        (:func:`~audioclf_lib.data.corpus_splits`).
    split : {'train', 'val', 'test'}

    Returns
    -------
    dict
        Class name -> list of paths, in manifest order.
    """
    from pathlib import Path

    from ..data import build_manifest, corpus_splits

    root = Path(root)
    manifest = corpus_splits(build_manifest(root)[0], root)
    rows = manifest[manifest["split"] == split]
    return {cls: [root / p for p in group["path"]] for cls, group in rows.groupby("class")}


def concatenated_recording(clips: dict[str, list], *, sr: int, seed: int = 0, block_seconds: tuple[float, float] = (15, 40),
                           blocks_per_class: int = 2, silence_seconds: tuple[float, float] = (2, 6),
                           silence_probability: float = 0.5) -> tuple[np.ndarray, pd.DataFrame]:
    """A long recording with known boundaries, made of clips of each class and stretches of silence.

    Notebook: 05_live_demo.ipynb

    Blocks of ``block_seconds`` (uniform) are filled with whole clips of one class, back to back
    and in random order, cut to length; the blocks (``blocks_per_class`` per class) come in random
    order, and after each one a stretch of near-digital silence (noise at -100 dBFS) follows with
    ``silence_probability``. Give it held-out clips to test segmentation on audio the model did
    not train on.

    Parameters
    ----------
    clips : dict
        Class name -> list of audio files (or float32 arrays at ``sr``).
    sr : int
        Sample rate of the result.
    seed : int
        Everything random comes from this seed.

    Returns
    -------
    (np.ndarray, pd.DataFrame)
        The audio, shape (n,), float32, and its reference segments (``start``, ``end``, ``label``;
        ``silence`` for the gaps).
    """
    from ..audio import load_audio

    rng = np.random.default_rng(seed)
    order = rng.permutation([name for name in sorted(clips) for _ in range(blocks_per_class)])
    parts, rows, t = [], [], 0.0
    for name in order:
        want = int(rng.uniform(*block_seconds) * sr)
        pieces, have = [], 0
        for i in rng.permutation(len(clips[name])):
            item = clips[name][i]
            y = item if isinstance(item, np.ndarray) else load_audio(item, sr)[0]
            pieces.append(y)
            have += y.size
            if have >= want:
                break
        block = np.concatenate(pieces)[:want].astype(np.float32)
        parts.append(block)
        rows.append((t, t + block.size / sr, name))
        t += block.size / sr
        if rng.random() < silence_probability:
            gap = int(rng.uniform(*silence_seconds) * sr)
            parts.append((rng.standard_normal(gap) * 1e-5).astype(np.float32))
            rows.append((t, t + gap / sr, "silence"))
            t += gap / sr
    return np.concatenate(parts), pd.DataFrame(rows, columns=["start", "end", "label"])
