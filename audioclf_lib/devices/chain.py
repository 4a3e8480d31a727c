"""The device chain: record audio through a :class:`~audioclf_lib.devices.DeviceProfile`, stage by stage.

Notebook: 04_device_mismatch_finetune.ipynb

Stages, in the order sound meets them (each off unless the profile sets it):

1. **capsule** (acoustic + analogue): high-pass, resonant peaks, early high-frequency roll-off.
2. **noise** at an exact SNR: fan noise passes through the capsule like the music does; mains
   hum and preamplifier self-noise are picked up after it.
3. **ADC overload**: the loudest peaks clipped past full scale.
4. **noise suppression**: spectral subtraction with a minimum-statistics noise estimate.
5. **automatic gain control**: levels towards a target with attack/release times.
6. **codec**: a lower sample rate, mu-law companding or coarse quantisation, back at the input rate.

Everything random takes a seed or a ``numpy.random.Generator``: the same seed gives the same
output, sample for sample.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.fft as sfft
import soxr
from scipy import signal as sps

from .profiles import DeviceProfile, get_profile, random_device

__all__ = [
    "capsule_sos",
    "capsule_response_db",
    "fan_noise",
    "mains_hum",
    "measure_snr_db",
    "SimulationParts",
    "simulate",
    "RandomDevice",
]


def _rng(seed: int | Sequence[int] | np.random.Generator | None) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _peaking_sos(freq_hz: float, gain_db: float, q: float, sr: int) -> np.ndarray:
    """RBJ audio-EQ-cookbook peaking biquad as one SOS row."""
    a_gain = 10.0 ** (gain_db / 40.0)
    w0 = 2.0 * math.pi * freq_hz / sr
    alpha = math.sin(w0) / (2.0 * q)
    b = np.array([1 + alpha * a_gain, -2 * math.cos(w0), 1 - alpha * a_gain])
    a = np.array([1 + alpha / a_gain, -2 * math.cos(w0), 1 - alpha / a_gain])
    return np.concatenate([b / a[0], a / a[0]])[None, :]


def _butter_sos(order: int, cutoff_hz: float, btype: str, sr: int) -> np.ndarray:
    """Digital Butterworth high- or low-pass (bilinear transform, pre-warped) as second-order sections.

    The same filter as ``scipy.signal.butter(order, cutoff_hz, btype, fs=sr, output="sos")`` (to
    float rounding) in a fifteenth of the time: random devices design two per training window.
    """
    warped = 2.0 * sr * math.tan(math.pi * cutoff_hz / sr)
    k = np.arange(1, order + 1)
    prototype = np.exp(1j * np.pi * (2 * k + order - 1) / (2 * order))  # analogue poles, left half-plane
    poles = prototype * warped if btype == "lowpass" else warped / prototype
    poles = (2.0 * sr + poles) / (2.0 * sr - poles)  # bilinear transform
    zero = -1.0 if btype == "lowpass" else 1.0  # all zeros at Nyquist (low-pass) or DC (high-pass)
    rows = [[1.0, -2.0 * zero, 1.0, 1.0, -2.0 * p.real, abs(p) ** 2] for p in poles[poles.imag > 1e-12]]
    if order % 2:
        rows.append([1.0, -zero, 0.0, 1.0, -float(poles[np.argmin(np.abs(poles.imag))].real), 0.0])
    sos = np.array(rows)
    at = 1.0 if btype == "lowpass" else -1.0  # each section gets unity gain at DC (low-pass) or Nyquist
    sos[:, :3] *= ((sos[:, 3] + sos[:, 4] * at + sos[:, 5]) / (sos[:, 0] + sos[:, 1] * at + sos[:, 2]))[:, None]
    return sos


def capsule_sos(profile: DeviceProfile, sr: int) -> np.ndarray | None:
    """The capsule's frequency response as second-order sections at rate ``sr``.

    Notebook: 04_device_mismatch_finetune.ipynb

    Stages above the Nyquist frequency are skipped (a 6-kHz resonance does not exist at 8 kHz).

    Parameters
    ----------
    profile : the device (only its capsule fields are read).
    sr : sample rate (Hz).

    Returns
    -------
    np.ndarray, shape (n_sections, 6), for ``scipy.signal.sosfilt``; ``None`` for a flat capsule.
    """
    nyq = sr / 2.0
    sections = []
    if profile.highpass_hz is not None and profile.highpass_hz < nyq * 0.95:
        sections.append(_butter_sos(profile.highpass_order, profile.highpass_hz, "highpass", sr))
    for r in profile.resonances:
        if r.freq_hz < nyq * 0.95 and r.gain_db != 0:
            sections.append(_peaking_sos(r.freq_hz, r.gain_db, r.q, sr))
    if profile.lowpass_hz is not None and profile.lowpass_hz < nyq * 0.95:
        sections.append(_butter_sos(profile.lowpass_order, profile.lowpass_hz, "lowpass", sr))
    return np.concatenate(sections) if sections else None


def capsule_response_db(profile: DeviceProfile, sr: int, freqs_hz: np.ndarray) -> np.ndarray:
    """Magnitude response (dB) of the capsule stage at ``freqs_hz``, for plots.

    Notebook: 04_device_mismatch_finetune.ipynb

    Parameters
    ----------
    profile : the device.
    sr : sample rate (Hz) the response is designed at.
    freqs_hz : np.ndarray, shape (k,), frequencies to evaluate.

    Returns
    -------
    np.ndarray, shape (k,), gain in dB (0 everywhere for a flat capsule).
    """
    sos = capsule_sos(profile, sr)
    if sos is None:
        return np.zeros(len(freqs_hz))
    _, h = sps.sosfreqz(sos, worN=np.asarray(freqs_hz, dtype=float), fs=sr)
    return 20.0 * np.log10(np.abs(h) + 1e-12)


def _apply_capsule(y: np.ndarray, sos: np.ndarray | None) -> np.ndarray:
    return y if sos is None else sps.sosfilt(sos, y).astype(np.float32)


def _unit_rms(y: np.ndarray) -> np.ndarray:
    r = float(np.sqrt(np.mean(np.square(y, dtype=np.float64))))
    return (y / r).astype(np.float32) if r > 0 else y.astype(np.float32)


def _line_bins(freqs_hz: np.ndarray, n: int, sr: int) -> np.ndarray:
    return np.clip(np.round(np.asarray(freqs_hz) * n / sr).astype(int), 1, n // 2)


def fan_noise(n: int, sr: int, rng: np.random.Generator, *, rpm: float = 4_500.0, blades: int = 31,
              corner_hz: float = 600.0, slope_db_per_octave: float = -5.0, tone_share: float = 0.2,
              n_tones: int = 3) -> np.ndarray:
    """Fan noise, unit RMS, shape (n,): broadband turbulence plus blade-pass tones.

    Notebook: 04_device_mismatch_finetune.ipynb

    Built in the frequency domain (one inverse FFT): Gaussian noise whose spectrum is flat
    below ``corner_hz`` and falls ``slope_db_per_octave`` above, plus narrow bands (1 % wide,
    the speed wobble of a fan controller) at the blade-pass frequency ``rpm / 60 * blades`` and
    its harmonics (amplitude 1/k), holding ``tone_share`` of the power.

    Parameters
    ----------
    n : length in samples.
    sr : sample rate (Hz).
    rng : source of the random spectrum.
    rpm, blades : fan speed and blade count (blade-pass frequency ``rpm / 60 * blades``).
    corner_hz, slope_db_per_octave : the broadband part's shape.
    tone_share : share of the power in the tones (0-1).
    n_tones : blade-pass harmonics included (those below Nyquist).

    Returns
    -------
    np.ndarray, shape (n,), float32, unit RMS.
    """
    freqs = np.fft.rfftfreq(n, 1.0 / sr)
    octaves = np.log2(np.maximum(freqs, 1.0) / corner_hz)
    mag = 10.0 ** (np.maximum(octaves, 0.0) * slope_db_per_octave / 20.0)  # flat below the corner
    mag[0] = 0.0
    mag /= np.sqrt(np.sum(mag ** 2))
    bpf = rpm / 60.0 * blades
    if tone_share > 0 and bpf < sr / 2:
        tones = np.zeros_like(mag)
        for k in range(1, n_tones + 1):
            f = k * bpf
            if f >= sr / 2:
                break
            width = max(0.01 * f, 2.0 * sr / n)  # at least two bins
            lo, hi = np.searchsorted(freqs, [f - 2 * width, f + 2 * width])
            tones[lo:hi] += np.exp(-0.5 * ((freqs[lo:hi] - f) / (0.5 * width)) ** 2) / k
        tones /= np.sqrt(np.sum(tones ** 2))
        mag = math.sqrt(1.0 - tone_share) * mag + math.sqrt(tone_share) * tones
    mag = mag.astype(np.float32)
    spectrum = (rng.standard_normal(len(freqs), dtype=np.float32) + 1j * rng.standard_normal(len(freqs), dtype=np.float32)) * mag
    return _unit_rms(sfft.irfft(spectrum.astype(np.complex64), n=n))


def mains_hum(n: int, sr: int, rng: np.random.Generator, *, hum_hz: float = 50.0, harmonics: int = 12) -> np.ndarray:
    """Mains hum and buzz, unit RMS, shape (n,): ``hum_hz`` and its harmonics below Nyquist.

    Notebook: 04_device_mismatch_finetune.ipynb

    Odd harmonics (amplitude 1/k) dominate, as from a transformer or a charger's rectifier;
    even ones come in at a third of that. Phases are random. Built as spectral lines (one
    inverse FFT; each line on the nearest FFT bin, within ``sr / (2 n)`` Hz of its frequency).

    Parameters
    ----------
    n : length in samples.
    sr : sample rate (Hz).
    rng : source of the random phases.
    hum_hz : mains frequency (50 or 60 Hz).
    harmonics : number of harmonics (those below Nyquist are kept).

    Returns
    -------
    np.ndarray, shape (n,), float32, unit RMS.
    """
    k = np.arange(1, harmonics + 1)
    k = k[k * hum_hz < sr / 2]
    spectrum = np.zeros(n // 2 + 1, dtype=complex)
    amp = np.where(k % 2 == 1, 1.0, 0.33) / k
    np.add.at(spectrum, _line_bins(k * hum_hz, n, sr), amp * np.exp(1j * rng.uniform(0, 2 * np.pi, len(k))))
    return _unit_rms(sfft.irfft(spectrum.astype(np.complex64), n=n))


def measure_snr_db(signal: np.ndarray, noise: np.ndarray) -> float:
    """Signal-to-noise ratio ``10 log10(P_signal / P_noise)`` over the whole arrays.

    Notebook: 04_device_mismatch_finetune.ipynb

    Parameters
    ----------
    signal, noise : np.ndarray, shape (n,) each (any lengths: mean powers are compared).

    Returns
    -------
    float, dB (powers floored at 1e-20, so silence gives a finite number).
    """
    p_s = float(np.mean(np.square(signal, dtype=np.float64)))
    p_n = float(np.mean(np.square(noise, dtype=np.float64)))
    return 10.0 * math.log10(max(p_s, 1e-20) / max(p_n, 1e-20))


def _clip(y: np.ndarray, clip_db: float) -> np.ndarray:
    peak = float(np.max(np.abs(y), initial=0.0))
    if peak == 0:
        return y
    level = peak * 10.0 ** (-clip_db / 20.0)
    return np.clip(y, -level, level)


def _stft(y: np.ndarray, n_fft: int, hop: int) -> tuple[np.ndarray, int]:
    pad = n_fft
    padded = np.pad(y, (pad, pad + (-(len(y) + 2 * pad - n_fft) % hop)))
    window = np.sqrt(np.hanning(n_fft + 1)[:-1])  # sqrt-Hann analysis + synthesis, 50 % overlap: exact
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop] * window
    return sfft.rfft(frames.astype(np.float32), axis=1), len(padded)


def _istft(spec: np.ndarray, n_fft: int, hop: int, length: int, n: int) -> np.ndarray:
    window = np.sqrt(np.hanning(n_fft + 1)[:-1])
    frames = sfft.irfft(spec, n=n_fft, axis=1) * window.astype(np.float32)
    half = n_fft // 2  # hop == n_fft / 2: each output block is the sum of two half frames
    out = np.zeros((len(frames) + 1, half), dtype=np.float32)
    out[:-1] += frames[:, :half]
    out[1:] += frames[:, half:]
    out = out.ravel()
    return out[n_fft : n_fft + n]


def _suppress(y: np.ndarray, sr: int, profile: DeviceProfile) -> np.ndarray:
    """Spectral-subtraction noise suppressor with a minimum-statistics noise estimate."""
    n_fft = 512 if sr <= 16_000 else 1024
    hop = n_fft // 2
    spec, length = _stft(y.astype(np.float32), n_fft, hop)
    power = np.abs(spec) ** 2
    k = int(round(profile.suppression_percentile / 100.0 * (len(power) - 1)))
    q = k / max(len(power) - 1, 1)
    # The q-quantile of a noise bin's power (exponentially distributed) is -ln(1 - q) times its mean.
    noise = np.partition(power, k, axis=0)[k : k + 1] / max(-np.log1p(-q), 1e-3) + 1e-12
    floor = 10.0 ** (-profile.suppression_db / 20.0)
    gain = np.sqrt(np.maximum(1.0 - profile.suppression_over * noise / (power + 1e-12), 0.0))
    gain = np.maximum(gain, floor).astype(np.float32)
    # A little smoothing over time, as real suppressors do (it does not remove the musical noise).
    gain[1:] = np.maximum(gain[1:], 0.5 * gain[:-1])
    return _istft(spec * gain, n_fft, hop, length, len(y)).astype(np.float32)


def _agc(y: np.ndarray, sr: int, profile: DeviceProfile) -> np.ndarray:
    """Feed-forward AGC/compressor on 10-ms frame levels with attack/release smoothing."""
    frame = max(1, int(0.01 * sr))
    n_frames = int(math.ceil(len(y) / frame))
    padded = np.pad(y, (0, n_frames * frame - len(y)))
    level = 10.0 * np.log10(np.mean(np.square(padded.reshape(n_frames, frame), dtype=np.float64), axis=1) + 1e-10)
    a_att = math.exp(-0.01 / max(profile.agc_attack_s, 1e-4))
    a_rel = math.exp(-0.01 / max(profile.agc_release_s, 1e-4))
    env = []
    e = float(np.max(level[: max(1, int(0.1 / 0.01))]))  # start settled on the first 100 ms
    for x in level.tolist():  # plain floats: 4x faster than iterating over numpy scalars, same values
        a = a_att if x > e else a_rel
        e = a * e + (1.0 - a) * x
        env.append(e)
    env = np.asarray(env)
    gain_db = (profile.agc_target_dbfs - env) * (1.0 - 1.0 / profile.agc_ratio)
    gain_db = np.minimum(gain_db, profile.agc_max_gain_db)
    centres = (np.arange(n_frames) + 0.5) * frame
    gain = 10.0 ** (np.interp(np.arange(len(y)), centres, gain_db) / 20.0)
    return (y * gain).astype(np.float32)


def _codec(y: np.ndarray, sr: int, profile: DeviceProfile) -> np.ndarray:
    x = y
    if profile.codec_sr is not None and profile.codec_sr < sr:
        x = soxr.resample(x.astype(np.float32), sr, profile.codec_sr)
    if profile.mu_law:
        mu = 255.0
        c = np.sign(x) * np.log1p(mu * np.minimum(np.abs(x), 1.0)) / math.log1p(mu)
        c = np.round(c * 127.0) / 127.0  # 8-bit code words
        x = np.sign(c) * ((1.0 + mu) ** np.abs(c) - 1.0) / mu
    if profile.bits is not None:
        q = 2.0 ** (profile.bits - 1)
        x = np.round(np.clip(x, -1.0, 1.0) * q) / q
    if profile.codec_sr is not None and profile.codec_sr < sr:
        x = soxr.resample(np.asarray(x, dtype=np.float32), profile.codec_sr, sr)
        x = x[: len(y)] if len(x) >= len(y) else np.pad(x, (0, len(y) - len(x)))
    return np.asarray(x, dtype=np.float32)


@dataclass
class SimulationParts:
    """What :func:`simulate` did, for tests and plots (``return_parts=True``).

    Notebook: 04_device_mismatch_finetune.ipynb

    ``signal`` and ``noise`` are the two components at the point where they are mixed (after
    the capsule, before any non-linear stage); ``snr_db`` is measured from them.
    """

    output: np.ndarray
    signal: np.ndarray
    noise: np.ndarray | None
    snr_db: float | None
    clipped_fraction: float = 0.0


def simulate(y: np.ndarray, sr: int, profile: DeviceProfile | str, seed: int | Sequence[int] | np.random.Generator | None = 0,
             *, return_parts: bool = False) -> np.ndarray | SimulationParts:
    """Record ``y`` (float32 mono at ``sr``) through ``profile``; same length and rate out.

    Notebook: 04_device_mismatch_finetune.ipynb

    Parameters
    ----------
    y : np.ndarray, shape (n,), float32, the sound in the room.
    sr : sample rate of ``y`` (Hz).
    profile : a :class:`DeviceProfile` or a preset name.
    seed : int, tuple of ints or ``numpy.random.Generator``; the same seed gives the same output.
    return_parts : return a :class:`SimulationParts` with the clean and noise components too.

    Returns
    -------
    np.ndarray, shape (n,), float32 in [-1, 1] (digital full scale), or :class:`SimulationParts`.
    """
    profile = get_profile(profile)
    rng = _rng(seed)
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise ValueError(f"simulate expects mono audio of shape (n,), got {y.shape}")
    if y.size == 0:
        raise ValueError("simulate got empty audio")
    sos = capsule_sos(profile, sr)
    s = _apply_capsule(y, sos)
    noise = None
    snr = None
    x = s
    if profile.snr_db is not None:
        n = len(y)
        fan_share = max(0.0, 1.0 - profile.hum_share - profile.white_share)
        parts = []
        if fan_share > 0:
            fan = fan_noise(n, sr, rng, rpm=profile.fan_rpm, blades=profile.fan_blades, corner_hz=profile.fan_corner_hz,
                            slope_db_per_octave=profile.fan_slope_db_per_octave, tone_share=profile.fan_tone_share)
            parts.append(math.sqrt(fan_share) * _unit_rms(_apply_capsule(fan, sos)))  # acoustic: through the capsule
        if profile.hum_share > 0:
            parts.append(math.sqrt(profile.hum_share) * mains_hum(n, sr, rng, hum_hz=profile.hum_hz,
                                                                  harmonics=profile.hum_harmonics))
        if profile.white_share > 0:
            parts.append(math.sqrt(profile.white_share) * rng.standard_normal(n).astype(np.float32))
        total = np.sum(parts, axis=0)
        p_signal = float(np.mean(np.square(s, dtype=np.float64)))
        p_total = float(np.mean(np.square(total, dtype=np.float64)))
        if p_signal > 0 and p_total > 0:
            # Scale the sum (not each part) so the SNR is exact whatever the parts' correlation.
            noise = (total * math.sqrt(p_signal / (p_total * 10.0 ** (profile.snr_db / 10.0)))).astype(np.float32)
        else:  # silent input: noise at the level it would have against a -40 dBFS signal
            noise = (total * 10.0 ** ((-40.0 - profile.snr_db) / 20.0) / math.sqrt(max(p_total, 1e-20))).astype(np.float32)
        snr = measure_snr_db(s, noise)
        x = s + noise
    clipped = 0.0
    if profile.clip_db is not None and profile.clip_db > 0:
        before = x
        x = _clip(x, profile.clip_db)
        clipped = float(np.mean(x != before))
    if profile.suppression_db is not None and profile.suppression_db > 0:
        x = _suppress(x, sr, profile)
    if profile.agc_target_dbfs is not None:
        x = _agc(x, sr, profile)
    if profile.codec_sr is not None or profile.mu_law or profile.bits is not None:
        x = _codec(x, sr, profile)
    out = np.clip(x, -1.0, 1.0).astype(np.float32)  # digital full scale
    if return_parts:
        return SimulationParts(out, s, noise, snr, clipped)
    return out


@dataclass(frozen=True)
class RandomDevice:
    """A training-window transform ``f(y, rng) -> y``: with probability ``p``, record ``y`` through
    a fresh :func:`~audioclf_lib.devices.random_device` (for ``windows.TrainWindows(transform=...)``).

    Notebook: 04_device_mismatch_finetune.ipynb

    Parameters
    ----------
    sr : sample rate of the windows (Hz).
    p : probability that a window goes through a device (0-1).

    Calling it with ``y`` (np.ndarray, shape (n,)) and the window's generator returns shape (n,), float32.
    """

    sr: int = 16_000
    p: float = 0.8

    def __call__(self, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if rng.random() >= self.p:
            return y
        return simulate(y, self.sr, random_device(rng, self.sr), rng)

