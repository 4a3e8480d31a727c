"""Augmentations that fit audio: on waveforms (gain, band-limiting, noise mixing, room reverberation, microphone
EQ, lossy codecs) and on features (SpecAugment).

All take an explicit ``numpy.random.Generator`` or ``torch.Generator`` so runs are reproducible. Mixup is a
training-loop option (``TrainConfig.mixup_alpha``), since it mixes two examples and their labels.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["WaveAugment", "band_limit", "lossy_codec", "mix_at_snr", "random_eq", "reverberate", "spec_augment",
           "synthetic_rir"]

#: Lossy codecs :func:`lossy_codec` runs through libsndfile (MP3 is MPEG-2 Layer III at 16 kHz).
CODECS = {"mp3": ("MP3", "MPEG_LAYER_III"), "opus": ("OGG", "OPUS"), "vorbis": ("OGG", "VORBIS")}


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


def synthetic_rir(sr: int, *, rt60_s: float, drr_db: float, rng: np.random.Generator) -> np.ndarray:
    """A room impulse response: a direct impulse, then exponentially decaying noise (the diffuse tail).

    Notebook: 02_train_cnn.ipynb (inside :class:`WaveAugment`)

    The tail's energy decays by 60 dB in ``rt60_s`` (Sabine's reverberation time) and it carries
    ``10 ** (-drr_db / 10)`` times the direct sound's energy: a small, damped room has a short
    RT60 and a high direct-to-reverberant ratio (DRR), a hall far from the source the opposite.
    Early reflections are not modelled apart; the tail starts 2.5 ms after the direct sound.

    Parameters
    ----------
    sr : int
        Sample rate in Hz.
    rt60_s : float
        Reverberation time in seconds, > 0; the response is ``rt60_s`` long.
    drr_db : float
        Direct-to-reverberant energy ratio in dB.
    rng : np.random.Generator

    Returns
    -------
    rir : np.ndarray, shape (round(rt60_s * sr),), float32
        ``rir[0] == 1`` (the direct sound).

    Raises
    ------
    ValueError
        ``rt60_s`` not positive.
    """
    if not rt60_s > 0:
        raise ValueError(f"rt60_s={rt60_s!r}; expected a positive reverberation time in seconds")
    n = max(int(round(rt60_s * sr)), 2)
    t = np.arange(n) / sr
    tail = rng.standard_normal(n) * np.exp(-3.0 * np.log(10.0) * t / rt60_s)  # -60 dB at t = rt60 (amplitude 1e-3)
    tail[: min(n, max(1, int(0.0025 * sr)))] = 0.0
    tail *= np.sqrt(10.0 ** (-drr_db / 10.0) / (float(np.sum(tail**2)) + 1e-12))
    tail[0] = 1.0
    return tail.astype(np.float32)


def reverberate(y: np.ndarray, rir: np.ndarray) -> np.ndarray:
    """``y`` heard in a room: convolved with ``rir``, cut to its length, at its RMS level.

    Notebook: 02_train_cnn.ipynb (inside :class:`WaveAugment`)

    Parameters
    ----------
    y : np.ndarray, shape (n,)
    rir : np.ndarray, shape (m,)
        E.g. :func:`synthetic_rir`.

    Returns
    -------
    y : np.ndarray, shape (n,), float32
        Not clipped.
    """
    from scipy.signal import fftconvolve

    wet = fftconvolve(y.astype(np.float64), rir.astype(np.float64))[: y.size]
    rms_in, rms_out = np.sqrt(np.mean(np.square(y, dtype=np.float64))), np.sqrt(np.mean(wet**2))
    return (wet * (rms_in / rms_out if rms_out > 0 else 1.0)).astype(np.float32)


def random_eq(y: np.ndarray, sr: int, rng: np.random.Generator, *, n_bands: int = 3,
              gain_db: tuple[float, float] = (-12.0, 12.0), q: tuple[float, float] = (0.5, 2.0)) -> np.ndarray:
    """A random equaliser: ``n_bands`` peaking filters at random frequencies, gains and widths.

    Notebook: 02_train_cnn.ipynb (inside :class:`WaveAugment`)

    What an unknown microphone, loudspeaker or room does to the spectrum's shape. The filters are
    the Audio EQ Cookbook's peaking biquads (R. Bristow-Johnson), centres log-uniform from 100 Hz
    to 0.4 ``sr``.

    Parameters
    ----------
    y : np.ndarray, shape (n,)
    sr : int
    rng : np.random.Generator
    n_bands : int
    gain_db, q : (low, high)
        Uniform ranges of each band's gain (dB) and quality factor.

    Returns
    -------
    y : np.ndarray, shape (n,), float32
        Not clipped.
    """
    from scipy.signal import sosfilt

    sos = []
    for _ in range(n_bands):
        f0 = float(np.exp(rng.uniform(np.log(100.0), np.log(0.4 * sr))))
        a = 10.0 ** (rng.uniform(*gain_db) / 40.0)
        w0 = 2 * np.pi * f0 / sr
        alpha = np.sin(w0) / (2 * rng.uniform(*q))
        b = np.array([1 + alpha * a, -2 * np.cos(w0), 1 - alpha * a])
        den = np.array([1 + alpha / a, -2 * np.cos(w0), 1 - alpha / a])
        sos.append(np.concatenate([b / den[0], den / den[0]]))
    return sosfilt(np.array(sos), y.astype(np.float64)).astype(np.float32)


def lossy_codec(y: np.ndarray, sr: int, codec: str, *, quality: float = 0.5) -> np.ndarray:
    """``y`` encoded with a lossy codec and decoded again (in memory, through libsndfile).

    Notebook: 02_train_cnn.ipynb (inside :class:`WaveAugment`)

    Recordings reach users as MP3, Opus (voice calls, web audio) and Vorbis: what the encoder
    throws away (high bands, quiet detail, pre-echo) is part of what a model hears.

    Parameters
    ----------
    y : np.ndarray, shape (n,)
        In [-1, 1].
    sr : int
        Opus needs 8, 12, 16, 24 or 48 kHz.
    codec : {"mp3", "opus", "vorbis"}
    quality : float in [0, 1]
        1 is the best quality (libsndfile's ``compression_level = 1 - quality``, at most 0.99). At 16 kHz,
        0 is about 15 kbit/s Opus, 24 kbit/s MP3 and 60 kbit/s Vorbis (measured on noise).

    Returns
    -------
    y : np.ndarray, shape (n,), float32
        The decoded audio, cut or zero-padded to ``n`` samples (codecs add a few ms of delay or padding).

    Raises
    ------
    ValueError
        Unknown codec or a quality outside [0, 1].
    """
    import io

    import soundfile as sf

    if codec not in CODECS:
        raise ValueError(f"codec={codec!r}; expected one of {sorted(CODECS)}")
    if not 0.0 <= quality <= 1.0:
        raise ValueError(f"quality={quality!r}; expected a value in [0, 1]")
    fmt, subtype = CODECS[codec]
    buf = io.BytesIO()
    # libsndfile's LAME wrapper refuses compression level 1.0 exactly; 0.99 is its strongest
    sf.write(buf, np.clip(y, -1.0, 1.0).astype(np.float32), sr, format=fmt, subtype=subtype,
             compression_level=min(1.0 - quality, 0.99))
    buf.seek(0)
    decoded, _ = sf.read(buf, dtype="float32")
    out = np.zeros(y.size, dtype=np.float32)
    out[: min(y.size, decoded.size)] = decoded[: y.size]
    return out


@dataclass(frozen=True)
class WaveAugment:
    """Random waveform augmentation for training windows.

    Notebook: 02_train_cnn.ipynb

    ``p_band_limit`` is applied to windows of *every* class: the public corpus' speech is half
    telephone band, and a model must not learn "narrow band means speech".

    Calling ``augment(y, sr, rng, background=None)`` applies, each with its probability and in the
    order sound meets them: room reverberation (:func:`synthetic_rir`, :func:`reverberate`),
    background mixing at a random SNR (:func:`mix_at_snr`, only when ``background`` is given), a
    random microphone EQ (:func:`random_eq`), band-limiting (:func:`band_limit`), a random gain,
    clipping to [-1, 1], and a lossy codec (:func:`lossy_codec`): ``y`` and ``background`` of shape
    (n,), result (n,) float32.

    The reverberation, EQ and codec stages are off by default (probability 0) and then draw no
    random number, so the default augmentation is the one the bundled models were trained with.

    Parameters
    ----------
    p_gain, gain_db
        Probability and range (dB) of a random gain.
    p_band_limit, cutoff_hz
        Probability and range (Hz) of a band limit.
    p_noise, snr_db
        Probability and range (dB) of mixing in the background.
    p_reverb, rt60_s, drr_db
        Probability of reverberation and the ranges of its RT60 (s) and direct-to-reverberant ratio (dB).
    p_eq, eq_gain_db
        Probability of a random 3-band EQ and the range of its band gains (dB).
    p_codec, codecs, codec_quality
        Probability of a lossy codec, the codecs drawn from, and the range of their quality in [0, 1].
    """

    p_gain: float = 0.5
    gain_db: tuple[float, float] = (-20.0, 6.0)
    p_band_limit: float = 0.3
    cutoff_hz: tuple[float, float] = (3_000.0, 4_000.0)
    p_noise: float = 0.3
    snr_db: tuple[float, float] = (5.0, 30.0)
    p_reverb: float = 0.0
    rt60_s: tuple[float, float] = (0.2, 1.2)
    drr_db: tuple[float, float] = (-3.0, 12.0)
    p_eq: float = 0.0
    eq_gain_db: tuple[float, float] = (-12.0, 12.0)
    p_codec: float = 0.0
    codecs: tuple[str, ...] = ("mp3", "opus", "vorbis")
    codec_quality: tuple[float, float] = (0.0, 0.6)

    @classmethod
    def robust(cls, **changes) -> "WaveAugment":
        """The default augmentation plus reverberation, microphone EQ and lossy codecs, each on a third of the windows.

        Notebook: 02_train_cnn.ipynb (the ablation in ``experiments/augment_ablation.py``)
        """
        return cls(**{"p_reverb": 0.3, "p_eq": 0.3, "p_codec": 0.3, **changes})

    def __call__(self, y: np.ndarray, sr: int, rng: np.random.Generator, background: np.ndarray | None = None) -> np.ndarray:
        # The new stages test their probability first: at 0 they draw nothing, and every other draw is unchanged.
        if self.p_reverb > 0 and rng.random() < self.p_reverb:
            y = reverberate(y, synthetic_rir(sr, rt60_s=rng.uniform(*self.rt60_s), drr_db=rng.uniform(*self.drr_db), rng=rng))
        if background is not None and rng.random() < self.p_noise:
            y = mix_at_snr(y, background, rng.uniform(*self.snr_db))
        if self.p_eq > 0 and rng.random() < self.p_eq:
            y = random_eq(y, sr, rng, gain_db=self.eq_gain_db)
        if rng.random() < self.p_band_limit:
            y = band_limit(y, sr, rng.uniform(*self.cutoff_hz))
        if rng.random() < self.p_gain:
            y = y * np.float32(10.0 ** (rng.uniform(*self.gain_db) / 20.0))
        y = np.clip(y, -1.0, 1.0).astype(np.float32, copy=False)
        if self.p_codec > 0 and rng.random() < self.p_codec:
            y = lossy_codec(y, sr, self.codecs[int(rng.integers(len(self.codecs)))],
                            quality=rng.uniform(*self.codec_quality))
        return y


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
