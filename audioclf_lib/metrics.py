"""Classification metrics without extra dependencies: accuracy, balanced accuracy, per-class P/R/F1, confusion."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["confusion_matrix", "classification_metrics", "per_class_table", "clip_bootstrap_ci"]


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts, rows = true class, columns = predicted class.

    Notebook: 02_train_cnn.ipynb (through :func:`classification_metrics`)

    Parameters
    ----------
    y_true, y_pred : np.ndarray, shape (k,), int in [0, n_classes)
    n_classes : int

    Returns
    -------
    cm : np.ndarray, shape (n_classes, n_classes), int64
    """
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true, int), np.asarray(y_pred, int)), 1)
    return cm


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, class_names: Sequence[str]) -> dict:
    """Accuracy, balanced accuracy (mean recall), macro-F1, per-class precision/recall/F1/support, confusion.

    Notebook: 02_train_cnn.ipynb

    Classes with no examples are left out of the balanced/macro means (and reported with support 0).

    Parameters
    ----------
    y_true, y_pred : np.ndarray, shape (k,), int in [0, len(class_names))
    class_names : sequence of str

    Returns
    -------
    dict
        ``n``, ``accuracy``, ``balanced_accuracy``, ``macro_f1`` (floats in [0, 1]; 0.0 with no
        examples), ``per_class`` (name -> ``precision``, ``recall``, ``f1``, ``support``),
        ``confusion`` (nested lists, rows true) and ``class_names``; JSON-serialisable.
    """
    cm = confusion_matrix(y_true, y_pred, len(class_names))
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    tp = np.diag(cm).astype(float)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros_like(tp), where=(precision + recall) > 0)
    present = support > 0
    return {
        "n": int(cm.sum()),
        "accuracy": float(tp.sum() / max(cm.sum(), 1)),
        "balanced_accuracy": float(recall[present].mean()) if present.any() else 0.0,
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "per_class": {
            name: {"precision": float(precision[k]), "recall": float(recall[k]), "f1": float(f1[k]), "support": int(support[k])}
            for k, name in enumerate(class_names)
        },
        "confusion": cm.tolist(),
        "class_names": list(class_names),
    }


def per_class_table(metrics: dict) -> pd.DataFrame:
    """The per-class part of :func:`classification_metrics` as a table.

    Notebook: 02_train_cnn.ipynb

    Parameters
    ----------
    metrics : dict
        As :func:`classification_metrics` returns.

    Returns
    -------
    pd.DataFrame
        Index ``class``; columns ``precision``, ``recall``, ``f1``, ``support``.
    """
    return pd.DataFrame(metrics["per_class"]).T.rename_axis("class")


def clip_bootstrap_ci(correct: np.ndarray, clip_ids: np.ndarray, *, n_boot: int = 2000, level: float = 0.95,
                      seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of window accuracy, resampling whole clips.

    Notebook: 04_device_mismatch_finetune.ipynb

    The windows of one clip are not independent evidence (same recording, same source), so the
    test set is resampled clip by clip: each replicate draws as many clips as there are, with
    replacement, and pools their windows. With ~100 test clips a window-level accuracy near 92 %
    moves by several points between equally likely test sets; this says by how much.

    Parameters
    ----------
    correct : np.ndarray, shape (k,), bool or {0, 1}
        Whether each window was classified correctly.
    clip_ids : np.ndarray, shape (k,)
        The clip of each window (any hashable values).
    n_boot : int
        Bootstrap replicates.
    level : float in (0, 1)
        Coverage of the interval.
    seed : int

    Returns
    -------
    (low, high) : (float, float)
        Accuracy bounds in [0, 1].

    Raises
    ------
    ValueError
        No windows, ``clip_ids`` not one per window, or ``level`` outside (0, 1).
    """
    correct = np.asarray(correct, dtype=float)
    clips, clip_of_window = np.unique(np.asarray(clip_ids), return_inverse=True)
    if len(correct) == 0 or len(correct) != len(clip_of_window):
        raise ValueError("need one clip id per window, and at least one window")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level={level}; expected a value in (0, 1)")
    right = np.bincount(clip_of_window, weights=correct, minlength=len(clips))
    total = np.bincount(clip_of_window, minlength=len(clips)).astype(float)
    draws = np.random.default_rng(seed).multinomial(len(clips), np.full(len(clips), 1.0 / len(clips)), size=n_boot)
    accuracy = (draws @ right) / (draws @ total)
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(accuracy, [tail, 100 - tail])
    return float(low), float(high)
