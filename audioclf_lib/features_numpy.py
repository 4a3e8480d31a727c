"""The log-mel front end of :class:`~audioclf_lib.features.FeatureExtractor` in numpy, for starting without torch.

Command line: audioclf classify (through :class:`~audioclf_lib.onnx_predictor.OnnxPredictor`)

The same arithmetic as the torch front end (remove each window's mean, ``center=True`` zero-padded
STFT with a periodic Hann window, power, Slaney mel filterbank, ``10 log10`` clamped at 1e-10,
dB below the window's maximum clamped at ``-top_db``, then the ``max_db`` or ``per_freq``
normalisation), agreeing with it to float rounding (~1e-5 on features in [-1, 1], ~1e-8 on
probabilities; tested). Only the ``logmel`` representation; the image representations stay in torch.

Overlapping windows share their STFT frames. The windows a file is cut into (every ``hop``
samples, 5 s long) have frames every ``hop_length`` samples from their own start; a frame that
lies wholly inside its window (all but ``2 + 2`` of the 313 of a 5-s window at ``n_fft`` 1024, hop
256) is the same for every window whose frame grid passes through it, so it is computed once per
stretch of audio on each grid the windows use (a 0.5-s hop is 31.25 frame hops: four grids, about
125 frames per window instead of 313). Removing a window's mean changes only FFT bins 0 and 1 of
such a frame (a periodic Hann window's spectrum has no other lines), which the mel filterbank
weighs with zero whenever ``fmin`` lies above bin 1 (20 Hz > 15.6 Hz at 16 kHz, 1024 points), so
only the padded frames at each end are computed per window. A config whose filterbank does weigh
bins 0 or 1 takes the per-window path.

The FFT is pocketfft's (scipy's C++ extension, loaded without ``scipy.fft``'s 0.15-s import of its
Python layers; numpy's own FFT, 2-3x slower here on float32, when that fails).
"""
from __future__ import annotations

import importlib.machinery
import importlib.util
import os
from functools import lru_cache

import numpy as np

from .config import FeatureConfig

__all__ = ["NUMPY_FRONT_END_VERSION", "LogMelNumpy", "mel_filterbank_np", "rfft"]

#: Bumped whenever this module's arithmetic changes; cached sidecars (:mod:`~audioclf_lib.onnx_predictor`)
#: record it, and a sidecar made by another version is checked again through torch.
NUMPY_FRONT_END_VERSION = 1

# Slaney's mel scale as librosa computes it: linear below 1 kHz, logarithmic above.
_F_SP, _MIN_LOG_HZ = 200.0 / 3, 1000.0
_MIN_LOG_MEL, _LOGSTEP = _MIN_LOG_HZ / _F_SP, np.log(6.4) / 27.0


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    f = np.asarray(f, dtype=np.float64)
    return np.where(f >= _MIN_LOG_HZ, _MIN_LOG_MEL + np.log(np.maximum(f, _MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOGSTEP, f / _F_SP)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    return np.where(m >= _MIN_LOG_MEL, _MIN_LOG_HZ * np.exp(_LOGSTEP * (m - _MIN_LOG_MEL)), _F_SP * m)


@lru_cache(maxsize=16)
def mel_filterbank_np(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """librosa's Slaney mel filterbank, bit for bit, without librosa: shape (n_mels, n_fft // 2 + 1), float32.

    Notebook: 01_generate_spectrograms.ipynb (through :func:`~audioclf_lib.features.mel_filterbank`)

    librosa.filters.mel (Slaney scale and norm) written out step for step, in its order and
    dtypes, so the weights are bit-identical (tested) without importing librosa, whose import
    (numba, scipy.signal) took about 2 s of every command-line start. Cached per setting: do not
    modify the returned array.
    """
    fftfreqs = np.fft.rfftfreq(n=n_fft, d=1.0 / sr)
    mel_f = _mel_to_hz(np.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper)).astype(np.float32)
    weights *= (2.0 / (mel_f[2:] - mel_f[:-2]))[:, None]
    return weights


@lru_cache(maxsize=1)
def _pocketfft():
    """scipy's pypocketfft extension module, loaded on its own (None when that is not possible)."""
    try:
        spec = importlib.util.find_spec("scipy")  # finds the package without importing it
        folder = os.path.join(os.path.dirname(spec.origin), "fft", "_pocketfft")
        suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
        name = next(f for f in sorted(os.listdir(folder)) if f.startswith("pypocketfft.") and f.endswith(suffixes))
        module_spec = importlib.util.spec_from_file_location("pypocketfft", os.path.join(folder, name))
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
        module.r2c(np.zeros((1, 4), np.float32), (1,), True, 0, None, 1)  # the call signature we rely on
        return module
    except Exception:  # noqa: BLE001 - another scipy layout, no scipy: numpy's FFT below
        return None


def rfft(frames: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Real FFT of each row of ``frames`` (float32 in, complex64 out), as ``scipy.fft.rfft(frames, axis=-1)``.

    Command line: audioclf classify (inside :class:`LogMelNumpy`)

    Parameters
    ----------
    frames : np.ndarray, shape (k, n_fft), float32
    out : np.ndarray, shape (k, n_fft // 2 + 1), complex64, optional
        Written in place when given (pocketfft only).

    Returns
    -------
    np.ndarray, shape (k, n_fft // 2 + 1), complex64
    """
    module = _pocketfft()
    if module is not None:
        return module.r2c(frames, (frames.ndim - 1,), True, 0, out, 1)
    spectrum = np.fft.rfft(frames, axis=-1).astype(np.complex64, copy=False)
    if out is not None:
        out[...] = spectrum
        return out
    return spectrum


def _prefix_sums(audio: np.ndarray, ends: np.ndarray, group: int = 256) -> np.ndarray:
    """``audio[:e].sum()`` in float64 for each ``e`` in ``ends``: sums of 256-sample groups, added up, plus the rest
    (a window's mean in a fraction of the time of a cumulative sum over every sample)."""
    whole = audio[: audio.size // group * group].reshape(-1, group).sum(axis=1, dtype=np.float64)
    groups = np.concatenate([[0.0], np.cumsum(whole)])
    q = np.minimum(ends // group, len(whole))
    rest = np.array([audio[k * group : e].sum(dtype=np.float64) for k, e in zip(q, ends)])
    return groups[q] + rest


class LogMelNumpy:
    """Waveform windows -> the torch front end's ``logmel`` model input, in numpy.

    Command line: audioclf classify (the model input of :class:`~audioclf_lib.onnx_predictor.OnnxPredictor`)

    Parameters
    ----------
    config : FeatureConfig
        ``representation`` must be ``"logmel"``.
    chunk_frames : int
        STFT frames transformed at a time (their buffers stay in the CPU's L2 cache).

    Raises
    ------
    ValueError
        Another representation (the seed's images need the torch front end).
    """

    def __init__(self, config: FeatureConfig, *, chunk_frames: int = 128):
        if config.representation != "logmel":
            raise ValueError(f"representation={config.representation!r}: the numpy front end computes 'logmel' only")
        self.config = config
        self.n_fft, self.hop = config.n_fft, config.hop_length
        self.n_freq = config.n_fft // 2 + 1
        self.window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(config.n_fft) / config.n_fft)).astype(np.float32)
        fb = mel_filterbank_np(config.sample_rate, config.n_fft, config.n_mels, config.fmin, config.fmax)
        # bins 0 and 1 unweighted: a window's mean does not reach its inner frames' mel bands (module notes)
        self.shared_frames = not fb[:, :2].any()
        # The triangles touch ~3 % of the matrix: groups of 8 neighbouring bands times the bins they span,
        # as small dense products (~4,500 multiply-adds per frame instead of 32,832).
        self.mel_groups = []
        for a in range(0, config.n_mels, 8):
            b = min(a + 8, config.n_mels)
            cols = np.nonzero(fb[a:b].any(axis=0))[0]
            lo, hi = (int(cols[0]), int(cols[-1]) + 1) if cols.size else (0, 1)
            self.mel_groups.append((a, b, lo, hi, np.ascontiguousarray(fb[a:b, lo:hi].T)))
        self.chunk_frames = chunk_frames
        self._buffers = (np.empty((chunk_frames, self.n_fft), np.float32),
                         np.empty((chunk_frames, self.n_freq), np.complex64),
                         np.empty((chunk_frames, self.n_freq), np.float32))

    def n_frames(self, n: int) -> int:
        """STFT frames of an ``n``-sample window: ``1 + n // hop_length``.

        Command line: audioclf classify
        """
        return 1 + n // self.hop

    def frames_db(self, frames: np.ndarray, out: np.ndarray) -> None:
        """``10 log10(max(mel power, 1e-10))`` of each row of ``frames`` (k, n_fft), written to ``out`` (k, n_mels).

        Command line: audioclf classify
        """
        window_buf, spectrum_buf, power_buf = self._buffers
        for i in range(0, len(frames), self.chunk_frames):
            part = frames[i : i + self.chunk_frames]
            k = len(part)
            windowed = np.multiply(part, self.window, out=window_buf[:k])
            spectrum = rfft(windowed, out=spectrum_buf[:k])
            pairs = spectrum.view(np.float32)  # (k, 2 * n_freq): re, im, re, im, ...
            np.square(pairs, out=pairs)
            power = np.add(pairs[:, 0::2], pairs[:, 1::2], out=power_buf[:k])  # (k, n_freq)
            mel = out[i : i + k]
            for a, b, lo, hi, weights in self.mel_groups:
                np.matmul(power[:, lo:hi], weights, out=mel[:, a:b])
            np.maximum(mel, np.float32(1e-10), out=mel)
            np.log10(mel, out=mel)
            np.multiply(mel, np.float32(10.0), out=mel)

    def window_features(self, windows: np.ndarray) -> np.ndarray:
        """Model input of whole windows, each framed on its own (the torch front end step for step).

        Command line: audioclf classify (windows that are not part of a longer stretch: wrapped
        pieces, the model-length pieces of longer windows)

        Parameters
        ----------
        windows : np.ndarray, shape (k, n), float32
            At ``config.sample_rate``; ``n`` at least ``n_fft // 2 + 1``.

        Returns
        -------
        X : np.ndarray, shape (k, 1, n_mels, 1 + n // hop_length), float32
        """
        return self.normalise(self._window_db(np.asarray(windows, dtype=np.float32)))

    def _window_db(self, windows: np.ndarray) -> np.ndarray:
        """(k, n) windows -> (k, T, n_mels) dB, each window centred and framed on its own."""
        k, n = windows.shape
        pad = self.n_fft // 2
        padded = np.zeros((k, n + 2 * pad), np.float32)
        np.subtract(windows, windows.mean(axis=1, keepdims=True), out=padded[:, pad : pad + n])
        T = self.n_frames(n)
        frames = np.lib.stride_tricks.sliding_window_view(padded, self.n_fft, axis=1)[:, :: self.hop][:, :T]
        db = np.empty((k * T, self.config.n_mels), np.float32)
        self.frames_db(frames.reshape(k * T, self.n_fft), db)
        return db.reshape(k, T, -1)

    def stretch_features(self, audio: np.ndarray, offset: int, starts: np.ndarray, n: int, *,
                         batch_size: int | None = None):
        """Model input of the windows ``audio[s - offset : s - offset + n]``, inner frames computed once.

        Command line: audioclf classify (each decoded block of a file, :meth:`~audioclf_lib.shards.FileWindows.stretches`)

        Parameters
        ----------
        audio : np.ndarray, shape (m,), float32
            A stretch of audio at ``config.sample_rate``.
        offset : int
            The sample where ``audio`` begins (in the same count as ``starts``).
        starts : np.ndarray, shape (k,), int
            Window starts; every window lies inside ``audio``.
        n : int
            Window length in samples.
        batch_size : int, optional
            Yield the model input in batches of this many windows (the frames are still shared
            by all of them) instead of returning one array.

        Returns
        -------
        X : np.ndarray, shape (k, 1, n_mels, 1 + n // hop_length), float32
            Equal to :meth:`window_features` of the same windows up to float rounding; with
            ``batch_size``, an iterator over consecutive batches of it.
        """
        db = self.stretch_db(audio, offset, starts, n)
        if batch_size is None:
            return self.normalise(db)
        return (self.normalise(db[i : i + batch_size]) for i in range(0, len(db), batch_size))

    def stretch_db(self, audio: np.ndarray, offset: int, starts: np.ndarray, n: int) -> np.ndarray:
        """The dB frames of :meth:`stretch_features` before the per-window normalisation: shape (k, T, n_mels).

        Command line: audioclf classify
        """
        audio = np.ascontiguousarray(audio, dtype=np.float32)
        rel = np.asarray(starts, dtype=np.int64) - offset
        k = len(rel)
        T = self.n_frames(n)
        if not self.shared_frames or k == 0:
            windows = np.stack([audio[s : s + n] for s in rel]) if k else np.zeros((0, n), np.float32)
            return self._window_db(windows)
        hop, n_fft, pad = self.hop, self.n_fft, self.n_fft // 2
        t_lo = -(-pad // hop)  # first frame with no zero padding: t * hop - pad >= 0
        t_hi = (n - n_fft + pad) // hop  # last one: t * hop - pad + n_fft <= n
        db = np.empty((k, T, self.config.n_mels), np.float32)
        if t_hi >= t_lo:
            first = rel + t_lo * hop - pad  # sample where each window's first inner frame starts
            grids = first % hop
            for grid in np.unique(grids):
                members = np.flatnonzero(grids == grid)
                j = (first[members] - grid) // hop  # that frame's index on this grid
                j0, j1 = int(j.min()), int(j.max()) + t_hi - t_lo + 1
                begin = int(grid) + j0 * hop
                frames = np.lib.stride_tricks.sliding_window_view(audio[begin : begin + (j1 - j0 - 1) * hop + n_fft],
                                                                  n_fft)[::hop]
                grid_db = np.empty((j1 - j0, self.config.n_mels), np.float32)
                self.frames_db(frames, grid_db)
                for member, jm in zip(members, j - j0):
                    db[member, t_lo : t_hi + 1] = grid_db[jm : jm + t_hi - t_lo + 1]
        edges = [t for t in range(T) if not t_lo <= t <= t_hi]
        if edges:
            means = ((_prefix_sums(audio, rel + n) - _prefix_sums(audio, rel)) / n).astype(np.float32)
            frames = np.zeros((k, len(edges), n_fft), np.float32)
            for e, t in enumerate(edges):
                lo = t * hop - pad
                a0, a1 = max(lo, 0), min(lo + n_fft, n)
                if a1 > a0:
                    rows = np.lib.stride_tricks.sliding_window_view(audio, a1 - a0)[rel + a0]  # (k, a1 - a0)
                    np.subtract(rows, means[:, None], out=frames[:, e, a0 - lo : a1 - lo])
            edge_db = np.empty((k * len(edges), self.config.n_mels), np.float32)
            self.frames_db(frames.reshape(-1, n_fft), edge_db)
            db[:, edges] = edge_db.reshape(k, len(edges), -1)
        return db

    def normalise(self, db: np.ndarray) -> np.ndarray:
        """(k, T, n_mels) dB -> (k, 1, n_mels, T) model input: below each window's maximum, clamped, normalised.

        Command line: audioclf classify
        """
        cfg = self.config
        X = np.empty((db.shape[0], 1, db.shape[2], db.shape[1]), np.float32)
        x = X[:, 0]
        np.subtract(db.transpose(0, 2, 1), db.max(axis=(1, 2))[:, None, None], out=x)
        np.maximum(x, np.float32(-cfg.top_db), out=x)
        if cfg.normalization == "per_freq":
            x -= x.mean(axis=-1, keepdims=True)
            x /= np.float32(20.0)
        else:
            x /= np.float32(cfg.top_db / 2)
            x += np.float32(1.0)
        return X
