"""Notebook 04's laptop study as one recipe: its settings, recordings, fine-tuning data and bases.

Notebook: 04_device_mismatch_finetune.ipynb

The notebook and the scripts in ``experiments/`` import :class:`LaptopRecipe` instead of
restating it, so an experiment's seed-0 run reproduces the notebook's and every experiment
measures the same thing: the same simulated recordings (clip ``i`` through a device with the
generator ``(device_seed, i)``), the same 50 laptop clips, the same validation windows.
"""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .checkpoint import load_checkpoint
from .config import FeatureConfig, cache_dir
from .data import ClipSet
from .devices import LAPTOP, PHONE, DeviceProfile, random_device_clips, select_clips, simulate_clips
from .train import TrainConfig, train_classifier
from .windows import eval_windows

__all__ = ["LaptopRecipe", "join_windows", "train_only_base_path"]


@dataclass(frozen=True)
class LaptopRecipe:
    """Notebook 04's settings (a full run); :meth:`quick` gives the CI-sized ones.

    Notebook: 04_device_mismatch_finetune.ipynb
    """

    #: The two classes of the study (the seed's music-vs-noise task, model ``music-noise``).
    class_names: tuple[str, ...] = ("music", "noise")
    #: Seed of every training run, clip selection and fixed random-device recording.
    seed: int = 0
    #: Seed of every simulated phone or laptop recording: clip ``i`` uses ``default_rng((device_seed, i))``.
    device_seed: int = 1
    #: Laptop recordings to fine-tune on (the seed recorded "50+"), half music, half noise.
    ft_clips: int = 50
    #: Training clips recorded through the laptop once; the fine-tuning and learning-curve selections are nested in them.
    pool_clips: int = 100
    #: Fine-tuning epochs (the seed's 20) and random windows per epoch, half phone, half laptop.
    ft_epochs: int = 20
    ft_windows_per_epoch: int = 512
    #: Learning rate of the seed's frozen-body recipe.
    ft_lr: float = 1e-4
    #: Learning rate when the whole network is fine-tuned (chosen on validation, docs/experiments.md).
    whole_lr: float = 1e-3
    #: Device-robust training from the phone model: epochs, windows per epoch, learning rate
    #: (chosen on validation, docs/experiments.md) and the share of windows through random devices.
    robust_epochs: int = 16
    robust_windows_per_epoch: int = 2048
    robust_lr: float = 1e-3
    robust_device_share: float = 0.8

    @classmethod
    def quick(cls) -> LaptopRecipe:
        """The CI-sized recipe (``QUICK=1``): a few epochs on tiny data, scores that mean nothing.

        Notebook: 04_device_mismatch_finetune.ipynb

        Returns
        -------
        LaptopRecipe
        """
        return cls(ft_clips=10, pool_clips=10, ft_epochs=3, ft_windows_per_epoch=32, robust_epochs=2,
                   robust_windows_per_epoch=64)

    def replace(self, **changes) -> LaptopRecipe:
        """A copy with some settings changed.

        Notebook: 04_device_mismatch_finetune.ipynb

        Parameters
        ----------
        **changes : field names and their new values.

        Returns
        -------
        LaptopRecipe
        """
        return dataclasses.replace(self, **changes)

    @property
    def classes(self) -> list[str]:
        """The class names as a list (what the training functions take)."""
        return list(self.class_names)

    def record(self, clips: ClipSet, profile: DeviceProfile | str, *, seed: int | None = None) -> ClipSet:
        """The music and noise clips of ``clips`` as recorded by ``profile`` (a new clip set, same order).

        Notebook: 04_device_mismatch_finetune.ipynb

        Parameters
        ----------
        clips : a split, or a selection of it.
        profile : the device (``PHONE`` is transparent: the corpus recordings themselves).
        seed : seed of the recordings (default :attr:`device_seed`: every run hears the same ones).

        Returns
        -------
        ClipSet
        """
        return simulate_clips(clips, profile, seed=self.device_seed if seed is None else seed, classes=self.class_names)

    def recorded_windows(self, clips: ClipSet, profile: DeviceProfile | str,
                         window_samples: int) -> tuple[np.ndarray, pd.DataFrame]:
        """Evaluation windows of :meth:`record`'s recordings (validation and test sets).

        Notebook: 04_device_mismatch_finetune.ipynb

        Parameters
        ----------
        clips : a split.
        profile : the device.
        window_samples : window length in samples.

        Returns
        -------
        windows : np.ndarray, shape (k, window_samples), float32.
        table : pandas.DataFrame, one row per window (``label``, ``clip``, ``class``, ...).
        """
        return eval_windows(self.record(clips, profile), self.classes, window_samples)

    def random_device_windows(self, clips: ClipSet, window_samples: int) -> tuple[np.ndarray, pd.DataFrame]:
        """Evaluation windows of ``clips``, each clip through a fixed random device of its own.

        Notebook: 04_device_mismatch_finetune.ipynb

        With the phone windows they pick the robust models' epochs: devices of every kind, never the laptop.

        Parameters
        ----------
        clips : a split (notebook 04: validation).
        window_samples : window length in samples.

        Returns
        -------
        windows : np.ndarray, shape (k, window_samples), float32.
        table : pandas.DataFrame, one row per window.
        """
        return eval_windows(random_device_clips(clips, seed=self.seed, classes=self.class_names), self.classes,
                            window_samples)

    def select(self, clips: ClipSet, n_clips: int) -> ClipSet:
        """``n_clips`` clips, half music and half noise, nested for growing ``n_clips``.

        Notebook: 04_device_mismatch_finetune.ipynb

        Parameters
        ----------
        clips : where to choose from.
        n_clips : how many.

        Returns
        -------
        ClipSet (:func:`~audioclf_lib.devices.select_clips` with :attr:`seed`).
        """
        return select_clips(clips, n_clips, self.classes, seed=self.seed)

    def laptop_pool(self, train_clips: ClipSet, n_clips: int | None = None) -> ClipSet:
        """Training clips recorded once through the laptop: what the fine-tuning selections draw from.

        Notebook: 04_device_mismatch_finetune.ipynb

        Parameters
        ----------
        train_clips : the training split.
        n_clips : pool size (default :attr:`pool_clips`).

        Returns
        -------
        ClipSet of ``n_clips`` laptop recordings.
        """
        return self.record(self.select(train_clips, self.pool_clips if n_clips is None else n_clips), LAPTOP)

    def finetune_data(self, splits: Mapping[str, ClipSet], laptop_clips: int | str | None = None) -> tuple[ClipSet, ClipSet]:
        """What notebook 04 fine-tunes on: the phone's training clips and some laptop recordings.

        Notebook: 04_device_mismatch_finetune.ipynb

        Parameters
        ----------
        splits : the corpus splits (``"train"`` is used).
        laptop_clips : how many laptop recordings (default :attr:`ft_clips`; up to :attr:`pool_clips`, nested
            selections of the pool), or ``"all"``: every training clip recorded once through the laptop.

        Returns
        -------
        phone_train : ClipSet, the training split as the phone records it.
        laptop : ClipSet, the laptop recordings.
        """
        phone_train = self.record(splits["train"], PHONE)
        if laptop_clips == "all":
            return phone_train, self.record(splits["train"], LAPTOP)
        n = self.ft_clips if laptop_clips is None else int(laptop_clips)
        return phone_train, self.select(self.laptop_pool(splits["train"], max(self.pool_clips, n)), n)

    def finetune_settings(self, *, train_body: bool = True) -> dict:
        """Keyword arguments of :func:`~audioclf_lib.finetune.finetune_for_device` for this recipe.

        Notebook: 04_device_mismatch_finetune.ipynb

        Parameters
        ----------
        train_body : the whole network at :attr:`whole_lr`; ``False``: the seed's frozen body at :attr:`ft_lr`.

        Returns
        -------
        dict with ``num_epochs``, ``lr``, ``windows_per_epoch``, ``train_body``.
        """
        return {"num_epochs": self.ft_epochs, "lr": self.whole_lr if train_body else self.ft_lr,
                "windows_per_epoch": self.ft_windows_per_epoch, "train_body": train_body}

    def robust_settings(self, *, random_devices: bool = True) -> dict:
        """Keyword arguments of :func:`~audioclf_lib.finetune.train_robust` for this recipe.

        Notebook: 04_device_mismatch_finetune.ipynb

        Parameters
        ----------
        random_devices : ``False``: the same schedule without devices (notebook 04's "per_freq only").

        Returns
        -------
        dict with ``device_share``, ``num_epochs``, ``windows_per_epoch``, ``lr``.
        """
        return {"device_share": self.robust_device_share if random_devices else 0.0, "num_epochs": self.robust_epochs,
                "windows_per_epoch": self.robust_windows_per_epoch, "lr": self.robust_lr}

    def train_only_base(self, splits: Mapping[str, ClipSet], path: str | Path | None = None) -> tuple[torch.nn.Module, FeatureConfig]:
        """Notebook 02's validation run: its recipe on the training clips only, best validation epoch.

        Notebook: 04_device_mismatch_finetune.ipynb (part 4d)

        The bundled ``music-noise`` was refit on train + validation, so notebook 04's validation
        clips are not unseen by it; for this base they are. Trained once (about 3 minutes) and
        cached at ``path`` (default :func:`train_only_base_path`); never bundled.

        Parameters
        ----------
        splits : the corpus splits.
        path : where the checkpoint is cached.

        Returns
        -------
        model : eval mode.
        feature_config : its front end.
        """
        path = Path(path) if path is not None else train_only_base_path()
        if not path.exists():
            t0 = time.perf_counter()
            run = train_classifier("mel_cnn", self.classes, FeatureConfig(), splits, windows_per_epoch=4096, progress=False,
                                   train_config=TrainConfig(num_epochs=30, lr=2e-3, patience=10, seed=self.seed))
            run.save(path, note="development base: training clips only (LaptopRecipe.train_only_base); never bundled")
            print(f"train-only base: best epoch {run.train_summary['best_epoch']}, validation "
                  f"{run.history['val_bal_acc'].max():.3f}, {time.perf_counter() - t0:.0f} s", flush=True)
        ckpt = load_checkpoint(path, expected_classes=self.classes)
        return ckpt.model.eval(), ckpt.feature_config


def join_windows(*sets: tuple[np.ndarray, pd.DataFrame]) -> tuple[np.ndarray, np.ndarray]:
    """Several ``(windows, table)`` pairs as one validation set (e.g. phone + laptop windows).

    Notebook: 04_device_mismatch_finetune.ipynb

    Parameters
    ----------
    *sets : what :meth:`LaptopRecipe.recorded_windows` returns, in order.

    Returns
    -------
    windows : np.ndarray, shape (sum of k, window_samples).
    labels : np.ndarray, shape (sum of k,), int.
    """
    return np.concatenate([w for w, _ in sets]), np.concatenate([t["label"].to_numpy() for _, t in sets])


def train_only_base_path() -> Path:
    """Where :meth:`LaptopRecipe.train_only_base` caches its model: ``<cache>/dev/music-noise-train-only.pt``.

    Notebook: 04_device_mismatch_finetune.ipynb

    Returns
    -------
    Path under :func:`~audioclf_lib.config.cache_dir` (``$AUDIOCLF_CACHE`` or ``data/cache``).
    """
    return cache_dir() / "dev" / "music-noise-train-only.pt"
