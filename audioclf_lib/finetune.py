"""Models for a device: fine-tuning on its recordings, device-robust training, and saving the result.

Notebook: 04_device_mismatch_finetune.ipynb

Everything here trains through the project's one loop (:func:`~audioclf_lib.train.fit`) and
records through :mod:`audioclf_lib.devices`; the ``finetune`` command, notebook 04 and the
scripts in ``experiments/`` share it.
"""
from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from .augment import WaveAugment
from .checkpoint import Checkpoint, save_checkpoint
from .config import FeatureConfig
from .data import ClipSet
from .devices import RandomDevice
from .models import freeze_base
from .train import TrainConfig, fit
from .windows import TrainWindows, eval_windows

__all__ = [
    "MixedWindows",
    "finetune_for_device",
    "RecordingsFineTune",
    "finetune_on_recordings",
    "train_robust",
    "save_device_checkpoint",
]


class MixedWindows(Dataset):
    """Training windows drawn from several :class:`~audioclf_lib.windows.TrainWindows` in fixed proportions.

    Notebook: 04_device_mismatch_finetune.ipynb

    The seed fine-tuned on "50 % smartphone + 50 % laptop data": ``MixedWindows([phone, laptop])``
    gives that mix inside every batch. Item ``i`` of epoch ``e`` comes from source ``k`` drawn with
    ``default_rng((seed, e, i))``; all sources must share their class names.

    Parameters
    ----------
    sources : datasets of ``(window, label)`` items with a ``class_names`` attribute.
    weights : share of each source (normalised; default equal).
    windows_per_epoch : dataset length.
    seed : seed of the source choice.
    """

    def __init__(self, sources: Sequence[Dataset], *, weights: Sequence[float] | None = None,
                 windows_per_epoch: int = 1_000, seed: int = 0):
        if not sources:
            raise ValueError("MixedWindows needs at least one source")
        names = [list(s.class_names) for s in sources]
        if any(n != names[0] for n in names):
            raise ValueError(f"sources disagree on class names: {names}")
        w = np.ones(len(sources)) if weights is None else np.asarray(weights, dtype=float)
        if len(w) != len(sources) or (w < 0).any() or w.sum() <= 0:
            raise ValueError(f"weights={weights} must be {len(sources)} non-negative numbers, not all zero")
        self.sources = list(sources)
        self.weights = w / w.sum()
        self.class_names = names[0]
        self.windows_per_epoch = windows_per_epoch
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Start epoch ``epoch`` here and in every source that has epochs (called by :func:`~audioclf_lib.train.fit`)."""
        self.epoch = epoch
        for s in self.sources:
            if hasattr(s, "set_epoch"):
                s.set_epoch(epoch)

    def __len__(self) -> int:
        return self.windows_per_epoch

    def __getitem__(self, i: int):
        rng = np.random.default_rng((self.seed, self.epoch, int(i), 7))
        k = int(rng.choice(len(self.sources), p=self.weights))
        source = self.sources[k]
        return source[int(rng.integers(len(source)))]


def finetune_for_device(
    model: torch.nn.Module,
    extractor: torch.nn.Module,
    phone_clips: ClipSet,
    device_clips: ClipSet,
    val_windows: np.ndarray,
    val_labels: np.ndarray,
    class_names: Sequence[str],
    *,
    num_epochs: int = 20,
    lr: float = 1e-4,
    windows_per_epoch: int = 256,
    device_share: float = 0.5,
    train_body: bool = False,
    keep: str = "best",
    phone_transform: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None,
    monitor: dict | None = None,
    seed: int = 0,
    progress: bool = False,
) -> tuple[torch.nn.Module, pd.DataFrame]:
    """The seed's fix: fine-tune a trained model on a 50/50 mix of phone and device windows.

    Notebook: 04_device_mismatch_finetune.ipynb

    Freezes the convolutional body (:func:`~audioclf_lib.models.freeze_base`, keeping its
    BatchNorm statistics) and trains the head, starting from the trained head, with a low
    ``lr`` (1e-4 in the seed) through the project's one training loop (:func:`~audioclf_lib.train.fit`).
    ``train_body=True`` fine-tunes everything instead (for comparison). The same function
    fine-tunes on simulated laptop clips and on clips you recorded yourself.

    Parameters
    ----------
    model : the trained model (left untouched).
    extractor : its front end (:class:`~audioclf_lib.features.FeatureExtractor`).
    phone_clips, device_clips : the base device's training clips and the new device's recordings.
    val_windows, val_labels : np.ndarray, shapes (k, window_samples) and (k,): they pick the epoch.
    class_names : the model's classes.
    num_epochs, lr, windows_per_epoch : the schedule.
    device_share : share of each batch drawn from ``device_clips``.
    train_body : fine-tune every layer instead of the head only.
    keep : ``"best"`` (the best epoch on ``val_windows``) or ``"last"`` (for when validation is not
        truly held out from the base model).
    phone_transform : shapes the phone windows (e.g. :class:`~audioclf_lib.devices.RandomDevice`,
        so that fine-tuning keeps the base's robustness).
    monitor : passed to :func:`~audioclf_lib.train.fit` (diagnostic scores only).
    seed : seed of the windows and of training.
    progress : show progress bars.

    Returns
    -------
    model : the fine-tuned model (a copy), eval mode.
    history : pandas.DataFrame, :func:`~audioclf_lib.train.fit`'s per-epoch table.
    """
    tuned = copy.deepcopy(model)
    if not train_body:
        freeze_base(tuned)
    n = extractor.config.window_samples
    phone = TrainWindows(phone_clips, class_names, n, windows_per_epoch=windows_per_epoch, augment=WaveAugment(),
                         transform=phone_transform, seed=seed)
    dev = TrainWindows(device_clips, class_names, n, windows_per_epoch=windows_per_epoch, augment=WaveAugment(p_noise=0.0),
                       background_class=None, seed=seed + 1)
    mix = MixedWindows([phone, dev], weights=[1.0 - device_share, device_share], windows_per_epoch=windows_per_epoch,
                       seed=seed)
    history = fit(tuned, extractor, mix, val_windows, val_labels,
                  config=TrainConfig(num_epochs=num_epochs, lr=lr, patience=num_epochs, seed=seed, keep=keep),
                  monitor=monitor, progress=progress)
    return tuned, history


@dataclass
class RecordingsFineTune:
    """What :func:`finetune_on_recordings` returns.

    Notebook: 04_device_mismatch_finetune.ipynb
    """

    model: torch.nn.Module  # the fine-tuned copy, eval mode
    history: pd.DataFrame  # fit's per-epoch table
    train_clips: ClipSet  # the device's clips it trained on
    held_out_clips: ClipSet  # every ``hold_out_every``-th clip: never trained on, part of validation


def finetune_on_recordings(
    model: torch.nn.Module,
    extractor: torch.nn.Module,
    base_clips: ClipSet,
    base_val_windows: np.ndarray,
    base_val_labels: np.ndarray,
    device_clips: ClipSet,
    class_names: Sequence[str],
    *,
    hold_out_every: int = 4,
    **recipe,
) -> RecordingsFineTune:
    """Fine-tune on recordings of your own device, keeping some of them out to see how it does.

    Notebook: 04_device_mismatch_finetune.ipynb (part 5); also ``python -m audioclf_lib finetune``.

    Every ``hold_out_every``-th device clip (in folder order, so each class with at least that
    many clips keeps one out) is held out of training; the epoch is picked on the base data's
    validation windows plus the held-out clips' windows, so the model must keep the base
    device and gain the new one.

    Parameters
    ----------
    model, extractor : the base model and its front end.
    base_clips : the base device's training clips.
    base_val_windows, base_val_labels : np.ndarray, shapes (k, window_samples) and (k,).
    device_clips : your recordings (:func:`~audioclf_lib.devices.load_device_clips`).
    class_names : the model's classes.
    hold_out_every : hold out every n-th clip (>= 2).
    **recipe : keyword arguments of :func:`finetune_for_device`.

    Returns
    -------
    RecordingsFineTune
    """
    if hold_out_every < 2:
        raise ValueError(f"hold_out_every={hold_out_every} must be >= 2 (some clips must stay for training)")
    held_out = np.arange(len(device_clips)) % hold_out_every == hold_out_every - 1
    train_clips, held_out_clips = device_clips.take(np.flatnonzero(~held_out)), device_clips.take(np.flatnonzero(held_out))
    held_out_windows, held_out_table = eval_windows(held_out_clips, list(class_names), extractor.config.window_samples)
    val_windows = np.concatenate([base_val_windows, held_out_windows])
    val_labels = np.concatenate([np.asarray(base_val_labels), held_out_table["label"].to_numpy()])
    tuned, history = finetune_for_device(model, extractor, base_clips, train_clips, val_windows, val_labels, class_names,
                                         **recipe)
    return RecordingsFineTune(tuned, history, train_clips, held_out_clips)


def train_robust(
    model: torch.nn.Module,
    extractor: torch.nn.Module,
    train_clips: ClipSet,
    val_windows: np.ndarray,
    val_labels: np.ndarray,
    class_names: Sequence[str],
    *,
    device_share: float = 0.8,
    num_epochs: int = 16,
    windows_per_epoch: int = 2048,
    lr: float = 1e-3,
    monitor: dict | None = None,
    seed: int = 0,
    progress: bool = False,
) -> tuple[torch.nn.Module, pd.DataFrame]:
    """Device-robust training: a trained model trained on with a share of its windows through random devices.

    Notebook: 04_device_mismatch_finetune.ipynb

    No recording of any particular device is used: each training window goes, with probability
    ``device_share``, through a fresh :func:`~audioclf_lib.devices.random_device`, and the epoch is
    picked on ``val_windows`` (notebook 04: phone windows plus fixed random-device recordings,
    :func:`~audioclf_lib.devices.random_device_clips`, never the laptop).

    Parameters
    ----------
    model : the starting model (left untouched), e.g. the phone-trained ``music-noise``.
    extractor : the front end to train with (it may differ from the starting model's, e.g. ``per_freq``).
    train_clips : the training split.
    val_windows, val_labels : np.ndarray, shapes (k, window_samples) and (k,).
    class_names : the model's classes.
    device_share : probability that a window goes through a random device; 0 trains without devices.
    num_epochs, windows_per_epoch, lr : the schedule.
    monitor : passed to :func:`~audioclf_lib.train.fit` (diagnostic scores only).
    seed : seed of the windows, the devices and training.
    progress : show progress bars.

    Returns
    -------
    model : the trained copy, eval mode.
    history : pandas.DataFrame, :func:`~audioclf_lib.train.fit`'s per-epoch table.
    """
    trained = copy.deepcopy(model)
    transform = RandomDevice(sr=extractor.config.sample_rate, p=device_share) if device_share > 0 else None
    train_set = TrainWindows(train_clips, class_names, extractor.config.window_samples,
                             windows_per_epoch=windows_per_epoch, transform=transform, seed=seed)
    history = fit(trained, extractor, train_set, val_windows, val_labels,
                  config=TrainConfig(num_epochs=num_epochs, lr=lr, patience=num_epochs, seed=seed), monitor=monitor,
                  progress=progress)
    return trained.eval(), history


def save_device_checkpoint(path: str | Path, model: torch.nn.Module, base: Checkpoint, *, train_summary: dict,
                           metrics: dict | None = None, feature_config: FeatureConfig | None = None) -> Path:
    """Save a model made for a device from ``base``: the one way device checkpoints are written.

    Notebook: 04_device_mismatch_finetune.ipynb; also ``python -m audioclf_lib finetune``.

    The architecture (model name and arguments) and the classes are the base's, the front end
    too unless the model was trained with another one (``feature_config``).

    Parameters
    ----------
    path : where to write (atomically).
    model : the fine-tuned or device-robust model.
    base : the checkpoint it was trained from.
    train_summary : how it was made (recipe, base name, device, schedule, validation score).
    metrics : its scores (e.g. ``{"test": ..., "test_laptop": ...}``).
    feature_config : the front end it was trained with, when not the base's.

    Returns
    -------
    Path of the written checkpoint.
    """
    return save_checkpoint(path, model, model_name=base.model_name, class_names=base.class_names,
                           feature_config=feature_config or base.feature_config, model_kwargs=base.model_kwargs,
                           train_summary=train_summary, metrics=metrics)
