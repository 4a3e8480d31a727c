"""Fixed-length windows from decoded clips: random, class-balanced ones for training, fixed ones for evaluation.

Training never sees clip length: short clips (1-2 s words) become full windows by joining
random clips of the same class and split, or by wrapping, and long ones are cropped at random.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import soxr
import torch
from torch.utils.data import Dataset

from .audio import fix_length, segment
from .augment import WaveAugment
from .data import ClipSet

__all__ = ["TrainWindows", "eval_windows"]


class TrainWindows(Dataset):
    """Random training windows, class-balanced: each item draws a class uniformly, then a clip
    (weighted by its length) and a random crop, then augments it.

    Notebook: 02_train_cnn.ipynb

    Deterministic: item ``i`` of epoch ``e`` depends only on ``(seed, e, i)``; call
    :meth:`set_epoch` each epoch.

    Parameters
    ----------
    clips : ClipSet
        The training split.
    class_names : sequence of str
        Model classes, in label order; clips of other classes are ignored.
    window_samples : int
        Window length in samples.
    windows_per_epoch : int
        Dataset length.
    augment : WaveAugment or None
        Waveform augmentation, or ``None``.
    transform : callable or None
        Optional extra ``f(y, rng) -> y`` (e.g. a random microphone from ``devices``), applied before ``augment``.
    background_class : str or None
        Class whose clips are mixed into other classes' windows as background noise (by ``augment``).
    p_concat : float in [0, 1]
        Probability that a clip shorter than a window is joined with more clips of its class
        (otherwise it is wrapped).
    seed : int
    balance : {"clip", "source"}
        Within a class, ``"clip"`` draws clips in proportion to their length (capped at 4 windows);
        ``"source"`` first draws one of the class's sources uniformly, then a clip of it that way,
        so that one large source (a game's 300 tracks) cannot dominate a class. Needs a ``source``
        column in ``clips.table``.
    speed_range : (float, float) or None
        Speed perturbation: each window is cut ``rate`` times its length (``rate`` uniform in the
        range) and resampled to the window's length, so that tempo and pitch change together by
        ``rate`` (as in speech recognition's 0.9-1.1 speed perturbation: more voices, instruments
        and machines than the corpus recorded). ``None`` draws exactly as without it.

    Raises
    ------
    ValueError
        A class of ``class_names`` has no clip in ``clips``, or ``balance`` is unknown.

    Notes
    -----
    ``dataset[i]`` is ``(y, label)``: ``y`` a torch.Tensor of shape (window_samples,), float32, in [-1, 1]
    when ``augment`` is set (it clips), and ``label`` an int index into ``class_names``.
    """

    def __init__(
        self,
        clips: ClipSet,
        class_names: Sequence[str],
        window_samples: int,
        *,
        windows_per_epoch: int = 2_000,
        augment: WaveAugment | None = WaveAugment(),
        transform: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None,
        background_class: str | None = "noise",
        p_concat: float = 0.7,
        seed: int = 0,
        balance: str = "clip",
        speed_range: tuple[float, float] | None = None,
    ):
        if balance not in ("clip", "source"):
            raise ValueError(f"balance={balance!r}; expected 'clip' or 'source'")
        if speed_range is not None:
            lo, hi = (float(r) for r in speed_range)
            if not 0.5 <= lo <= hi <= 2.0:
                raise ValueError(f"speed_range={speed_range!r}; expected 0.5 <= low <= high <= 2")
            speed_range = (lo, hi)
        self.speed_range = speed_range
        self.clips = clips
        self.class_names = list(class_names)
        self.n = window_samples
        self.windows_per_epoch = windows_per_epoch
        self.augment = augment
        self.transform = transform
        self.p_concat = p_concat
        self.seed = seed
        self.epoch = 0
        lengths = np.diff(clips.offsets)
        self.by_class: list[np.ndarray] = []
        self.weights: list[np.ndarray] = []
        for name in self.class_names:
            idx = np.flatnonzero(clips.table["class"].to_numpy() == name)
            if idx.size == 0:
                raise ValueError(f"no training clips of class {name!r}")
            self.by_class.append(idx)
            w = np.minimum(lengths[idx], window_samples * 4).astype(np.float64)  # long tracks: capped weight
            if balance == "source":  # each source's clips share one equal part of the class
                sources = clips.table["source"].to_numpy()[idx]
                totals = {src: w[sources == src].sum() for src in np.unique(sources)}
                w = w / np.array([totals[src] for src in sources])
            self.weights.append(w / w.sum())
        bg = np.flatnonzero(clips.table["class"].to_numpy() == background_class) if background_class else np.array([])
        self.background = bg

    def set_epoch(self, epoch: int) -> None:
        """Draw the windows of ``epoch`` from now on (:func:`~audioclf_lib.train.fit` calls it every epoch).

        Notebook: 02_train_cnn.ipynb (through :func:`~audioclf_lib.train.fit`)

        Parameters
        ----------
        epoch : int
        """
        self.epoch = epoch

    def __len__(self) -> int:
        return self.windows_per_epoch

    def _draw_clip(self, label: int, rng: np.random.Generator) -> np.ndarray:
        return self.clips.clip(int(rng.choice(self.by_class[label], p=self.weights[label])))

    def _random_crop(self, y: np.ndarray, rng: np.random.Generator, n: int | None = None) -> np.ndarray:
        """A window of ``n`` samples (default: the window's) at a uniformly random offset; a short clip is wrapped from a random start."""
        n = self.n if n is None else n
        if y.size >= n:
            return fix_length(y, n, offset=int(rng.integers(0, y.size - n + 1)))
        return fix_length(np.roll(y, int(rng.integers(0, y.size))), n)

    def _window(self, label: int, rng: np.random.Generator) -> np.ndarray:
        if self.speed_range is None:
            return self._cut(label, rng, self.n)
        # Cut rate x the window and squeeze it into the window: tempo and pitch x rate.
        source_n = int(round(self.n * rng.uniform(*self.speed_range)))
        y = self._cut(label, rng, source_n)
        return y if source_n == self.n else fix_length(soxr.resample(y, source_n, self.n), self.n)

    def _cut(self, label: int, rng: np.random.Generator, n: int) -> np.ndarray:
        y = self._draw_clip(label, rng)
        if y.size >= n or rng.random() >= self.p_concat:
            return self._random_crop(y, rng, n)
        pieces, total = [y], y.size
        while total < n:  # join more clips of the same class: a stretch of continuous speech
            nxt = self._draw_clip(label, rng)
            pieces.append(nxt)
            total += nxt.size
        joined = np.concatenate(pieces)
        return fix_length(joined, n, offset=int(rng.integers(0, joined.size - n + 1)))

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        rng = np.random.default_rng((self.seed, self.epoch, int(i)))
        label = int(rng.integers(len(self.class_names)))
        y = self._window(label, rng)
        if self.transform is not None:
            y = self.transform(y, rng)
        if self.augment is not None:
            background = None
            if self.background.size and self.class_names[label] != "noise":
                background = self._random_crop(self.clips.clip(int(rng.choice(self.background))), rng)
            y = self.augment(y, self.clips.sample_rate, rng, background)
        return torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32)), label


def eval_windows(
    clips: ClipSet, class_names: Sequence[str], window_samples: int, *, hop_samples: int | None = None
) -> tuple[np.ndarray, pd.DataFrame]:
    """Every clip of ``class_names`` cut into fixed windows (short clips wrapped to length).

    Notebook: 01_generate_spectrograms.ipynb (through :func:`~audioclf_lib.cache.eval_set`)

    Parameters
    ----------
    clips : ClipSet
    class_names : sequence of str
        Classes kept; ``label`` is the index into it.
    window_samples : int
        Window length in samples.
    hop_samples : int or None
        Hop between windows of one clip (default: back to back); see :func:`~audioclf_lib.audio.segment`.

    Returns
    -------
    windows : np.ndarray, shape (k, window_samples), float32
    table : pd.DataFrame
        One row per window: ``clip`` (index into ``clips``), ``path``, ``class``, ``label``,
        ``source``, ``start_s``. Empty (no columns) when no clip is of ``class_names``.
    """
    windows, rows = [], []
    table = clips.table
    for i, (path, cls, source) in enumerate(zip(table["path"], table["class"], table["source"])):
        if cls not in class_names:
            continue
        w, starts = segment(clips.clip(i), window_samples, hop=hop_samples)
        windows.append(w)
        for s in starts:
            rows.append({"clip": i, "path": path, "class": cls, "label": list(class_names).index(cls),
                         "source": source, "start_s": s / clips.sample_rate})
    if not windows:
        return np.zeros((0, window_samples), np.float32), pd.DataFrame(rows)
    return np.concatenate(windows), pd.DataFrame(rows)

