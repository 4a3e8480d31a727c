"""Augmentations that fit audio: on waveforms (gain, band-limiting, noise mixing) and on features (SpecAugment).

All take an explicit ``numpy.random.Generator`` or ``torch.Generator`` so runs are reproducible.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["WaveAugment", "band_limit", "mix_at_snr", "spec_augment"]


def band_limit(y: np.ndarray, sr: int, cutoff_hz: float) -> np.ndarray:
    """Brick-wall low-pass at ``cutoff_hz`` via the FFT (what an 8-kHz telephone recording looks like).

    Notebook: 01_generate_spectrograms.ipynb

    Parameters
    ----------
    y : np.ndarray, shape (n,)
    sr : int
        Rate of ``y`` in Hz.
    cutoff_hz : float
        In (0, sr / 2]; bins from it up are zeroed.

    Returns
    -------
    y : np.ndarray, shape (n,), float32
    """
    spectrum = np.fft.rfft(y)
    spectrum[int(cutoff_hz / (sr / 2) * (len(spectrum) - 1)) :] = 0
    return np.fft.irfft(spectrum, n=len(y)).astype(np.float32)


def mix_at_snr(signal: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """``signal + g * noise`` with ``g`` chosen so the signal-to-noise ratio is ``snr_db``.

    Notebook: 02_train_cnn.ipynb (inside :class:`WaveAugment`; notebook 04 calls it directly)

    Parameters
    ----------
    signal, noise : np.ndarray, shape (n,)
        Same length.
    snr_db : float
        Power ratio of ``signal`` to the scaled noise, in dB.

    Returns
    -------
    y : np.ndarray, shape (n,), float32
        Not clipped.
    """
    p_signal = float(np.mean(np.square(signal, dtype=np.float64))) + 1e-12
    p_noise = float(np.mean(np.square(noise, dtype=np.float64))) + 1e-12
    gain = np.sqrt(p_signal / (p_noise * 10.0 ** (snr_db / 10.0)))
    return (signal + gain * noise).astype(np.float32)


@dataclass(frozen=True)
class WaveAugment:
    """Random waveform augmentation for training windows.

    Notebook: 02_train_cnn.ipynb

    ``p_band_limit`` is applied to windows of *every* class: the public corpus' speech is half
    telephone band, and a model must not learn "narrow band means speech".

    Calling ``augment(y, sr, rng, background=None)`` applies, each with its probability, background
    mixing at a random SNR (:func:`mix_at_snr`, only when ``background`` is given), band-limiting
    (:func:`band_limit`) and a random gain, then clips to [-1, 1]: ``y`` and ``background`` of shape
    (n,), result (n,) float32.

    Parameters
    ----------
    p_gain, gain_db
        Probability and range (dB) of a random gain.
    p_band_limit, cutoff_hz
        Probability and range (Hz) of a band limit.
    p_noise, snr_db
        Probability and range (dB) of mixing in the background.
    """

    p_gain: float = 0.5
    gain_db: tuple[float, float] = (-20.0, 6.0)
    p_band_limit: float = 0.3
    cutoff_hz: tuple[float, float] = (3_000.0, 4_000.0)
    p_noise: float = 0.3
    snr_db: tuple[float, float] = (5.0, 30.0)

    def __call__(self, y: np.ndarray, sr: int, rng: np.random.Generator, background: np.ndarray | None = None) -> np.ndarray:
        if background is not None and rng.random() < self.p_noise:
            y = mix_at_snr(y, background, rng.uniform(*self.snr_db))
        if rng.random() < self.p_band_limit:
            y = band_limit(y, sr, rng.uniform(*self.cutoff_hz))
        if rng.random() < self.p_gain:
            y = y * np.float32(10.0 ** (rng.uniform(*self.gain_db) / 20.0))
        return np.clip(y, -1.0, 1.0).astype(np.float32, copy=False)


def spec_augment(
    x: torch.Tensor, *, generator: torch.Generator | None = None, freq_mask: int = 8, time_mask: int = 40, n_masks: int = 2
) -> torch.Tensor:
    """SpecAugment-style masks on a batch (B, C, F, T) or (B, C, D, F, T): bands and spans set to the minimum.

    Notebook: 02_train_cnn.ipynb (inside :func:`~audioclf_lib.train.fit`, switched by ``TrainConfig.spec_augment``)

    The masked value is the batch minimum (the dB floor), i.e. "nothing there", not zero.

    Parameters
    ----------
    x : torch.Tensor, shape (B, C, F, T) or (B, C, D, F, T)
        Features; not changed (a masked copy is returned).
    generator : torch.Generator or None
        For reproducible masks (drawn on the CPU).
    freq_mask, time_mask : int
        Widest band (mel bins) and span (frames) of one mask.
    n_masks : int
        Masks of each kind per example.

    Returns
    -------
    x : torch.Tensor, same shape as ``x``
    """
    x = x.clone()
    B, F_, T = x.shape[0], x.shape[-2], x.shape[-1]
    floor = x.amin()
    for _ in range(n_masks):
        f_width = torch.randint(0, freq_mask + 1, (B,), generator=generator)
        f_start = (torch.rand(B, generator=generator) * (F_ - f_width).clamp(min=1)).long()
        t_width = torch.randint(0, time_mask + 1, (B,), generator=generator)
        t_start = (torch.rand(B, generator=generator) * (T - t_width).clamp(min=1)).long()
        f_idx = torch.arange(F_)
        t_idx = torch.arange(T)
        f_mask = (f_idx[None] >= f_start[:, None]) & (f_idx[None] < (f_start + f_width)[:, None])  # (B, F)
        t_mask = (t_idx[None] >= t_start[:, None]) & (t_idx[None] < (t_start + t_width)[:, None])  # (B, T)
        mask = f_mask[:, :, None] | t_mask[:, None, :]  # (B, F, T)
        shape = (B,) + (1,) * (x.dim() - 3) + (F_, T)
        x = torch.where(mask.view(shape).to(x.device), floor, x)
    return x
