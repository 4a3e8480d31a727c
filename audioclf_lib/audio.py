"""Audio in: load any common format to float32 mono at a target rate, normalise, detect silence, window.

Notebook: 01_generate_spectrograms.ipynb

Every error names the file it is about, so a batch over thousands of clips can report
exactly which one was skipped and why (see :func:`audioclf_lib.data.build_manifest`).
"""
from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

__all__ = [
    "AudioError",
    "AUDIO_EXTENSIONS",
    "MIN_SAMPLE_RATE",
    "SILENCE_DBFS",
    "load_audio",
    "audio_info",
    "resample",
    "to_mono",
    "check_finite",
    "peak_normalize",
    "rms_normalize",
    "rms_dbfs",
    "frame_rms_dbfs",
    "loud_level_dbfs",
    "is_silent",
    "fix_length",
    "segment",
    "stream_blocks",
]

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")
#: Rates below this cannot hold any of the classes' content (and usually mean a broken header).
MIN_SAMPLE_RATE = 1_000
#: Default silence gate: a window whose loud frames stay below this level (dBFS) is silent.
#: The seed gated on an amplitude of 0.005 (-46 dBFS) and had to lower it for a quieter
#: laptop microphone; frame RMS in dBFS with a lower default keeps quiet music.
SILENCE_DBFS = -60.0


class AudioError(ValueError):
    """Audio that cannot be used, with the file (or source) named in the message.

    Notebook: 01_generate_spectrograms.ipynb (raised by :func:`load_audio`; :func:`~audioclf_lib.data.build_manifest`
    and :func:`~audioclf_lib.data.load_clips` turn it into a skip report)

    A subclass of ``ValueError``; ``str(exc)`` is ``"<source>: <reason>"``.

    Parameters
    ----------
    source : object
        The file path (or a name such as ``"<array>"``); kept as ``str`` in :attr:`source`.
    reason : str
        What is wrong, one line; kept in :attr:`reason` (skip reports show it without the path).
    """

    def __init__(self, source: object, reason: str):
        self.source = str(source)
        self.reason = reason
        super().__init__(f"{source}: {reason}")


def audio_info(path: str | Path) -> sf._SoundFileInfo:
    """Header of an audio file (rate, channels, frames) without decoding it.

    Notebook: 01_generate_spectrograms.ipynb (through :func:`~audioclf_lib.data.build_manifest`)

    Parameters
    ----------
    path : str or Path
        Any file libsndfile reads.

    Returns
    -------
    info : soundfile's info object
        ``samplerate``, ``channels``, ``frames``, ``duration``, ``format``.

    Raises
    ------
    AudioError
        Missing file, a folder, an empty (0-byte) file, or a header libsndfile cannot read.
    """
    path = Path(path)
    _check_file(path)
    try:
        return sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise AudioError(path, f"unreadable audio ({_short(exc)})") from None


def load_audio(
    path: str | Path,
    sr: int | None = None,
    *,
    max_seconds: float | None = None,
) -> tuple[np.ndarray, int]:
    """Load a file as float32 mono, resampled to ``sr`` (``None`` keeps the file's rate).

    Notebook: 01_generate_spectrograms.ipynb

    Parameters
    ----------
    path : str or Path
        wav, flac, ogg or mp3 file (anything libsndfile decodes).
    sr : int or None
        Target sample rate in Hz, or ``None`` for the file's own rate.
    max_seconds : float or None
        Read at most this much from the start (bounded memory for huge files;
        :func:`stream_blocks` walks a whole long file instead).

    Returns
    -------
    y : np.ndarray, shape (n,), float32, finite
        Channels averaged, n >= 1.
    sr : int
        The rate of ``y``: ``sr`` if given, else the file's.

    Raises
    ------
    AudioError
        Missing, empty, unreadable, NaN/Inf or implausible-rate (< :data:`MIN_SAMPLE_RATE`) audio,
        naming the file.
    """
    path = Path(path)
    info = audio_info(path)
    _check_rate(path, info.samplerate)
    frames = -1 if max_seconds is None else int(max_seconds * info.samplerate)
    try:
        data, file_sr = sf.read(str(path), frames=frames, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise AudioError(path, f"cannot decode audio ({_short(exc)})") from None
    if data.shape[0] == 0:
        raise AudioError(path, "empty audio (0 samples)")
    y = check_finite(to_mono(data), source=path)
    if sr is not None and sr != file_sr:
        y = resample(y, file_sr, sr)
        file_sr = sr
    return y, int(file_sr)


def stream_blocks(
    path: str | Path, sr: int, *, block_seconds: float = 60.0
) -> Iterator[np.ndarray]:
    """Yield consecutive float32 mono blocks of a (possibly hours-long) file at rate ``sr``.

    Notebook: 05_live_demo.ipynb (the file source of the live demo); Command line: audioclf classify

    Memory stays bounded by one block: the file is decoded block by block and resampled
    with a streaming resampler, so block edges carry no artefacts.

    Parameters
    ----------
    path : str or Path
        Any file libsndfile decodes.
    sr : int
        Output rate in Hz.
    block_seconds : float
        Length of a decoded block in seconds of the file (at least one frame).

    Yields
    ------
    y : np.ndarray, shape (m,), float32
        The next stretch of audio at ``sr``; lengths vary around ``block_seconds * sr`` (the
        resampler holds some samples back until the last block, which may be short or empty).

    Raises
    ------
    AudioError
        Missing, empty, unreadable, NaN/Inf or implausible-rate audio, naming the file.
    """
    path = Path(path)
    info = audio_info(path)
    _check_rate(path, info.samplerate)
    resampler = None if info.samplerate == sr else soxr.ResampleStream(info.samplerate, sr, 1, dtype="float32")
    block_frames = max(1, int(block_seconds * info.samplerate))
    any_samples = False
    try:
        with sf.SoundFile(str(path)) as f:
            while True:
                data = f.read(block_frames, dtype="float32", always_2d=True)
                last = data.shape[0] < block_frames
                if data.shape[0]:
                    any_samples = True
                    y = check_finite(to_mono(data), source=path)
                    yield y if resampler is None else resampler.resample_chunk(y, last=last)
                elif resampler is not None and any_samples:
                    yield resampler.resample_chunk(np.zeros(0, np.float32), last=True)
                if last:
                    break
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioError(path, f"cannot decode audio ({_short(exc)})") from None
    if not any_samples:
        raise AudioError(path, "empty audio (0 samples)")


def resample(y: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Resample with soxr (high quality, ~0.5 ms for 5 s at 44.1 kHz -> 22.05 kHz).

    Notebook: 01_generate_spectrograms.ipynb (through :func:`load_audio`)

    Parameters
    ----------
    y : np.ndarray, shape (n,)
        Mono audio (converted to float32).
    orig_sr, target_sr : int
        Rates in Hz; equal rates return ``y`` as float32 unchanged.

    Returns
    -------
    y : np.ndarray, shape (about n * target_sr / orig_sr,), float32

    Raises
    ------
    AudioError
        ``orig_sr`` below :data:`MIN_SAMPLE_RATE` (when the rates differ).
    """
    if orig_sr == target_sr:
        return np.asarray(y, dtype=np.float32)
    if orig_sr < MIN_SAMPLE_RATE:
        raise AudioError("<array>", f"sample rate {orig_sr} Hz is below {MIN_SAMPLE_RATE} Hz")
    return soxr.resample(np.asarray(y, dtype=np.float32), orig_sr, target_sr).astype(np.float32, copy=False)


def to_mono(data: np.ndarray) -> np.ndarray:
    """(n,) or (n, channels) -> (n,) float32 by averaging channels.

    Notebook: 01_generate_spectrograms.ipynb (through :func:`load_audio`)

    Parameters
    ----------
    data : np.ndarray, shape (n,) or (n, channels)

    Returns
    -------
    y : np.ndarray, shape (n,), float32

    Raises
    ------
    ValueError
        Any other number of dimensions, with the shape in the message.
    """
    data = np.asarray(data, dtype=np.float32)
    if data.ndim == 1:
        return data
    if data.ndim != 2:
        raise ValueError(f"audio must be (n,) or (n, channels), got shape {data.shape}")
    return data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]


def check_finite(y: np.ndarray, *, source: object = "<array>") -> np.ndarray:
    """Raise :class:`AudioError` if ``y`` holds NaN or Inf (they would poison every feature).

    Notebook: 01_generate_spectrograms.ipynb (through :func:`load_audio`)

    Parameters
    ----------
    y : np.ndarray
        Audio of any shape.
    source : object
        Named in the error (a file path, or ``"<array>"``).

    Returns
    -------
    y : np.ndarray
        ``y`` itself, unchanged, so calls can be chained.

    Raises
    ------
    AudioError
        With the number of NaN/Inf samples.
    """
    if not np.isfinite(y).all():
        bad = int((~np.isfinite(y)).sum())
        raise AudioError(source, f"{bad} NaN/Inf samples")
    return y


def peak_normalize(y: np.ndarray, *, peak: float = 1.0, eps: float = 1e-8) -> np.ndarray:
    """Scale so that max(|y|) == ``peak`` (the seed's "normalise to [-1, 1]").

    Notebook: 01_generate_spectrograms.ipynb, section 5 (normalisation): the notebook shows that the front end
    is gain invariant, so neither training nor inference calls this.

    Parameters
    ----------
    y : np.ndarray, shape (n,)
    peak : float
        Target peak magnitude (1.0: full scale).
    eps : float
        Floor of the measured peak, so an all-zero ``y`` is not divided by zero (it stays zero).

    Returns
    -------
    y : np.ndarray, shape (n,), float32, in [-peak, peak]
    """
    return (y * (peak / max(float(np.max(np.abs(y), initial=0.0)), eps))).astype(np.float32)


def rms_dbfs(y: np.ndarray, *, eps: float = 1e-10) -> float:
    """Root-mean-square level of ``y`` in dB relative to full scale (a full-scale sine is -3 dBFS).

    Notebook: 01_generate_spectrograms.ipynb

    Parameters
    ----------
    y : np.ndarray, shape (n,)
    eps : float
        Added to the mean square before the log, so silence gives -100 dBFS, not -inf.

    Returns
    -------
    level : float
        dBFS, <= 0 for audio in [-1, 1].
    """
    return 10.0 * math.log10(float(np.mean(np.square(y, dtype=np.float64))) + eps)


def rms_normalize(y: np.ndarray, *, target_dbfs: float = -20.0, eps: float = 1e-10) -> np.ndarray:
    """Scale to an RMS level of ``target_dbfs``; silence stays silence.

    Notebook: 01_generate_spectrograms.ipynb, section 5 (normalisation): as for :func:`peak_normalize`, no
    training or inference path calls this.

    Parameters
    ----------
    y : np.ndarray, shape (n,)
    target_dbfs : float
        RMS level to reach (dBFS).
    eps : float
        As for :func:`rms_dbfs`; the gain is capped at 1e6 (+120 dB).

    Returns
    -------
    y : np.ndarray, shape (n,), float32
        Not clipped: peaks may exceed full scale.
    """
    gain = 10.0 ** ((target_dbfs - rms_dbfs(y, eps=eps)) / 20.0)
    return (y * min(gain, 1e6)).astype(np.float32)


def frame_rms_dbfs(y: np.ndarray, *, frame_length: int = 1024, hop_length: int = 512) -> np.ndarray:
    """RMS level (dBFS) of each frame, shape (n_frames,). A short input gives one frame.

    Notebook: 01_generate_spectrograms.ipynb

    Parameters
    ----------
    y : np.ndarray, shape (n,)
    frame_length, hop_length : int
        Frame and hop in samples.

    Returns
    -------
    levels : np.ndarray, shape (1 + (n - frame_length) // hop_length,), float64
        One level per whole frame; ``[rms_dbfs(y)]`` when ``n < frame_length``, ``[-100.0]`` when ``n == 0``.
    """
    y = np.asarray(y, dtype=np.float32)
    if y.size < frame_length:
        return np.array([rms_dbfs(y)]) if y.size else np.array([-100.0])
    n_frames = (y.size - frame_length) // hop_length + 1
    if frame_length % hop_length:
        frames = np.lib.stride_tricks.sliding_window_view(y, frame_length)[::hop_length]
        return 10.0 * np.log10(np.mean(np.square(frames, dtype=np.float64), axis=1) + 1e-10)
    # Overlapping frames made of whole hops: square each sample once, sum per hop, then add up
    # ``frame_length / hop_length`` neighbouring hop sums (3x faster than squaring every frame).
    per_frame = frame_length // hop_length
    n_hops = n_frames + per_frame - 1
    hops = y[: n_hops * hop_length].reshape(n_hops, hop_length).astype(np.float64)
    energy = np.concatenate([[0.0], np.cumsum(np.einsum("ij,ij->i", hops, hops))])
    return 10.0 * np.log10((energy[per_frame:] - energy[:-per_frame]) / frame_length + 1e-10)


def loud_level_dbfs(y: np.ndarray, *, frame_length: int = 1024, loud_quantile: float = 0.95) -> float:
    """Level of the loud frames of ``y`` (dBFS): the ``loud_quantile`` of frame RMS levels.

    Notebook: 01_generate_spectrograms.ipynb (through :func:`is_silent`)

    This is what the silence gate compares with its threshold (:func:`is_silent`).

    Parameters
    ----------
    y : np.ndarray, shape (n,)
    frame_length : int
        Frame length in samples; frames overlap by half.
    loud_quantile : float in [0, 1]
        Which quantile of the frame levels counts as "the loud frames" (linear interpolation).

    Returns
    -------
    level : float
        dBFS.
    """
    levels = np.sort(frame_rms_dbfs(y, frame_length=frame_length, hop_length=frame_length // 2))
    # np.quantile's default (linear) rule, written out: np.quantile's dispatch cost more than the
    # rest of the gate put together in the live loop's and the Predictor's per-window path.
    position = loud_quantile * (levels.size - 1)
    below = int(position)
    above = min(below + 1, levels.size - 1)
    return float(levels[below] + (levels[above] - levels[below]) * (position - below))


def is_silent(
    y: np.ndarray, *, threshold_dbfs: float = SILENCE_DBFS, frame_length: int = 1024, loud_quantile: float = 0.95
) -> bool:
    """True when even the loud frames of ``y`` stay below ``threshold_dbfs``.

    Notebook: 01_generate_spectrograms.ipynb

    Using a high quantile of frame levels, not one global peak, means a single click does not
    make a silent window "loud", and a quiet but continuous piece of music is not "silent".

    Parameters
    ----------
    y : np.ndarray, shape (n,)
    threshold_dbfs : float
        The gate (default :data:`SILENCE_DBFS`).
    frame_length, loud_quantile
        As for :func:`loud_level_dbfs`.

    Returns
    -------
    bool
    """
    return loud_level_dbfs(y, frame_length=frame_length, loud_quantile=loud_quantile) < threshold_dbfs


def fix_length(y: np.ndarray, n: int, *, mode: str = "wrap", offset: int = 0) -> np.ndarray:
    """Crop ``y`` to ``n`` samples starting at ``offset``, or pad a short ``y``.

    Notebook: 01_generate_spectrograms.ipynb

    ``mode="wrap"`` repeats a short clip (a 1-s word becomes 5 s of speech, which is what a
    microphone hears when someone talks); ``"constant"`` pads with zeros.

    Parameters
    ----------
    y : np.ndarray, shape (m,), m >= 1
    n : int
        Length wanted, > 0.
    mode : {"wrap", "constant"}
        How a short ``y`` is padded.
    offset : int
        Start of the crop of a long ``y``, clipped to [0, m - n].

    Returns
    -------
    y : np.ndarray, shape (n,)
        A long ``y`` is cropped as a view (its own dtype); a short one is padded to float32.

    Raises
    ------
    ValueError
        ``n <= 0``, empty ``y``, or an unknown ``mode``.
    """
    if n <= 0:
        raise ValueError(f"n={n} must be positive")
    if y.size == 0:
        raise ValueError("cannot fix the length of empty audio")
    if y.size >= n:
        offset = int(np.clip(offset, 0, y.size - n))
        return y[offset : offset + n]
    if mode == "wrap":
        return np.resize(y, n).astype(np.float32, copy=False)
    if mode == "constant":
        return np.pad(y, (0, n - y.size)).astype(np.float32, copy=False)
    raise ValueError(f"mode={mode!r}; expected 'wrap' or 'constant'")


def segment(y: np.ndarray, n: int, *, hop: int | None = None, min_last: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Cut ``y`` into windows of ``n`` samples every ``hop`` samples.

    Notebook: 01_generate_spectrograms.ipynb (through :func:`~audioclf_lib.cache.eval_set`'s evaluation windows)

    A trailing piece shorter than ``n`` is kept (wrapped to length) when it is at least
    ``min_last * n`` long; a clip shorter than one window gives one wrapped window.

    Parameters
    ----------
    y : np.ndarray, shape (m,), m >= 1
    n : int
        Window length in samples.
    hop : int or None
        Hop in samples, > 0; ``None``: ``n`` (back-to-back windows).
    min_last : float in [0, 1]
        Shortest trailing piece kept, as a fraction of ``n``.

    Returns
    -------
    windows : np.ndarray, shape (k, n), float32
    starts : np.ndarray, shape (k,), int64
        Start sample of each window in ``y``.

    Raises
    ------
    ValueError
        ``hop <= 0`` (or, from :func:`fix_length`, ``n <= 0``).
    """
    hop = n if hop is None else hop
    if hop <= 0:
        raise ValueError(f"hop={hop} must be positive")
    if y.size <= n:
        return fix_length(y, n)[None, :], np.zeros(1, dtype=np.int64)
    starts = list(range(0, y.size - n + 1, hop))
    tail_start = starts[-1] + hop
    if tail_start < y.size and y.size - tail_start >= min_last * n:
        starts.append(tail_start)
    windows = np.stack([fix_length(y[s : s + n], n) for s in starts])
    return windows.astype(np.float32, copy=False), np.asarray(starts, dtype=np.int64)


def _check_file(path: Path) -> None:
    if not path.exists():
        raise AudioError(path, "file not found")
    if path.is_dir():
        raise AudioError(path, "is a folder, not an audio file")
    if path.stat().st_size == 0:
        raise AudioError(path, "empty file (0 bytes)")


def _check_rate(path: Path, sr: int) -> None:
    if sr < MIN_SAMPLE_RATE:
        raise AudioError(path, f"sample rate {sr} Hz is below {MIN_SAMPLE_RATE} Hz (broken header?)")


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[-1][:160] if text else type(exc).__name__
