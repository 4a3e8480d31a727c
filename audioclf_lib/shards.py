"""Windows of a file, whole or cut into time shards that give exactly the windows of the whole-file run.

Command line: audioclf classify --dask --shard-minutes

:meth:`~audioclf_lib.predict.Predictor.segment_file` classifies windows of ``n`` samples every
``hop`` samples (a trailing piece of at least half a window kept, wrapped; a file shorter than a
window gives one wrapped window) and measures the level of every hop-long frame; the decision
policy then runs over all of them. Both grids start at sample 0, so cutting a file at multiples of
``hop`` cuts neither: a shard ``[start, stop)`` owns the windows and the frames that *start* in it,
and decodes ``[start, stop - hop + n)`` to have their samples. Every window of the whole-file run
is then computed by exactly one shard, from the same samples, and the shards' rows put end to end
(:func:`merge_scores`) are the whole file's rows. The policy (smoothing spans shard edges) runs
once, over the merged rows (:meth:`~audioclf_lib.predict.Predictor.segments_from_scores`).

Same samples: at the model's rate a shard seeks to its start (exact for WAV, FLAC and Ogg Vorbis;
MP3 decodes within ~1e-7 of the whole-file decode); at another rate it starts the streaming
resampler on a whole resampling period 1 s before the shard, which reproduces the whole-file
stream's samples to ~1e-7 (soxr's stream phase; probabilities then agree to well within 1e-6).

* :class:`FileWindows`: the windows of a file or of one shard, decoded in blocks (bounded memory).
* :func:`stream_range`: the audio of ``[start, stop)`` at a rate, as the whole-file stream has it.
* :func:`plan_shards`: shards of a file of a given length; :class:`Shard`.
* :class:`WindowScores`, :func:`merge_scores`: a shard's window rows, frame levels and (at the
  end of the file) its length; put end to end.
* :func:`save_scores` / :func:`load_scores`: one shard's scores on disk (written atomically,
  checked against a key on load), so that an interrupted run resumes without recomputing them.
"""
from __future__ import annotations

import io
import math
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import soundfile as sf
import soxr

from .audio import (MIN_SAMPLE_RATE, AudioError, audio_info, check_finite, fix_length, loud_level_dbfs,
                    stream_blocks, to_mono)
from .checkpoint import atomic_write_bytes
from .runtime import release_free_memory

__all__ = ["FileWindows", "stream_range", "Shard", "plan_shards", "WindowScores", "merge_scores", "save_scores",
           "load_scores"]

#: Audio decoded before a shard's start when resampling, so that the stream has settled (s).
PREROLL_SECONDS = 1.0


def stream_range(path: str | Path, sr: int, start: int = 0, stop: int | None = None, *,
                 block_seconds: float = 60.0) -> Iterator[np.ndarray]:
    """Float32 mono blocks of samples ``[start, stop)`` of a file at rate ``sr``, as the whole-file stream has them.

    Command line: audioclf classify --dask --shard-minutes (one shard of a long file)

    Parameters
    ----------
    path : str or Path
        Any file libsndfile decodes.
    sr : int
        Output rate in Hz.
    start, stop : int
        Sample indices at ``sr`` (``stop=None``: to the end of the file). A ``start`` beyond the
        end yields nothing.
    block_seconds : float
        Decoded at a time (s of the file).

    Yields
    ------
    y : np.ndarray, shape (m,), float32
        Consecutive stretches; together ``min(stop, length) - start`` samples, equal to that part
        of :func:`~audioclf_lib.audio.stream_blocks`' output (bit for bit without resampling;
        within ~1e-7 with it, see the module's notes).

    Raises
    ------
    AudioError
        Unreadable, NaN/Inf or implausible-rate audio, naming the file.
    """
    if start < 0 or (stop is not None and stop < start):
        raise ValueError(f"start={start}, stop={stop}: need 0 <= start <= stop")
    path = Path(path)
    info = audio_info(path)
    if info.samplerate < MIN_SAMPLE_RATE:
        raise AudioError(path, f"sample rate {info.samplerate} Hz is below {MIN_SAMPLE_RATE} Hz (broken header?)")
    g = math.gcd(info.samplerate, sr)
    period_in, period_out = info.samplerate // g, sr // g  # the resampler's grids meet every period
    if info.samplerate == sr:
        first_in, discard, resampler = start, 0, None
    else:
        periods = max(0, start // period_out - math.ceil(PREROLL_SECONDS * info.samplerate / period_in))
        first_in, discard = periods * period_in, start - periods * period_out
        resampler = soxr.ResampleStream(info.samplerate, sr, 1, dtype="float32")
    if info.frames and first_in >= info.frames:
        return
    block_frames = max(1, int(block_seconds * info.samplerate))
    want = None if stop is None else stop - start
    produced = 0
    try:
        with sf.SoundFile(str(path)) as f:
            if first_in:
                f.seek(first_in)
            while want is None or produced < want:
                data = f.read(block_frames, dtype="float32", always_2d=True)
                last = data.shape[0] < block_frames
                y = check_finite(to_mono(data), source=path) if data.shape[0] else np.zeros(0, np.float32)
                if resampler is not None:
                    y = resampler.resample_chunk(y, last=last)
                if discard:
                    cut = min(discard, y.size)
                    y, discard = y[cut:], discard - cut
                if want is not None:
                    y = y[: want - produced]
                if y.size:
                    produced += y.size
                    yield y
                if last:
                    break
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioError(path, f"cannot decode audio ({str(exc).strip()[:160]})") from None


class FileWindows:
    """Windows of a file (or of the shard ``[start, stop)``) decoded in blocks: iterate for ``(windows, starts)``.

    Command line: audioclf classify (:meth:`~audioclf_lib.predict.Predictor.window_scores`)

    Windows follow :func:`audioclf_lib.audio.segment` (every ``hop``; a trailing piece of at least
    half a window is kept, wrapped; a short file gives one wrapped window), so a long file gives
    the same windows as loading it whole, and its shards give those windows between them. After
    the loop, ``total`` is the last sample decoded (the file's length when ``at_end``) and, with
    ``frame_levels``, ``levels`` holds the loud level of every ``hop``-long frame the shard owns
    (the file's last, shorter frame included).

    Parameters
    ----------
    path : str or Path
    sr : int
        Rate of the windows (Hz).
    n, hop : int
        Window length and hop in samples.
    block_seconds : float
        Decoded at a time (s).
    check_length : callable
        ``(path, n_samples)``; raises :class:`~audioclf_lib.audio.AudioError` for a file too
        short to classify (called for the first shard only).
    frame_levels : bool
        Measure the level of every hop-long frame.
    group : int, optional
        Cut the stretches at whole groups of this many windows, counted from the file's start (the
        last may be shorter), whatever the decoded blocks: shards that start on group boundaries
        then see the same stretches as one run over the file (coarse-to-fine scoring depends on them).
    start, stop : int
        The shard: windows and frames starting in ``[start, stop)`` (multiples of ``hop``;
        ``stop=None``: to the end of the file).
    """

    def __init__(self, path, sr: int, n: int, hop: int, block_seconds: float, *, check_length,
                 frame_levels: bool = False, start: int = 0, stop: int | None = None, group: int | None = None):
        if start < 0 or start % hop or (stop is not None and (stop % hop or stop <= start)):
            raise ValueError(f"shard [{start}, {stop}) must start >= 0 and lie on the hop grid ({hop} samples)")
        self.path, self.sr, self.n, self.hop, self.block_seconds = path, sr, n, hop, block_seconds
        self.start, self.stop = start, stop
        self.group = group if group is not None and group > 1 else None
        self.check_length = check_length
        self.total = start
        self.at_end = False
        self.levels: list[float] | None = [] if frame_levels else None

    def __iter__(self):
        n = self.n
        for audio, offset, starts in self.stretches():
            yield np.stack([audio[s - offset : s - offset + n] for s in starts]), starts

    def stretches(self):
        """Iterate for ``(audio, offset, starts)``: the windows of :meth:`__iter__` without copying them out.

        Command line: audioclf classify (the numpy front end computes one STFT per stretch,
        :meth:`~audioclf_lib.features_numpy.LogMelNumpy.stretch_features`)

        Yields
        ------
        audio : np.ndarray, shape (m,), float32
            Decoded audio holding every window of ``starts``: window ``s`` is
            ``audio[s - offset : s - offset + n]`` (the trailing piece comes wrapped to ``n`` as a
            stretch of its own).
        offset : int
            Sample of the file (at ``sr``) where ``audio`` begins.
        starts : np.ndarray, shape (k,), int64
            Window starts in samples of the file.
        """
        n, hop, start, stop = self.n, self.hop, self.start, self.stop
        limit = sys.maxsize if stop is None else stop  # the first window start this shard does not own
        # one sample past what the last owned window needs: reading it proves the file goes on
        read_end = None if stop is None else max(stop - hop + n, stop) + 1
        if start == 0 and stop is None:
            blocks = stream_blocks(self.path, self.sr, block_seconds=self.block_seconds)
        else:
            blocks = stream_range(self.path, self.sr, start, read_end, block_seconds=self.block_seconds)
        buffer, buffer_start, next_start = np.zeros(0, np.float32), start, start
        pending = np.zeros(0, np.float32)  # audio not yet cut into level frames
        for block in blocks:
            buffer = np.concatenate([buffer, block])
            self.total += block.size
            if self.levels is not None:
                pending = self._add_levels(np.concatenate([pending, block]))
            starts = np.arange(next_start, min(self.total - n + 1, limit), hop)
            if self.group and starts.size:  # whole groups only; the rest waits for more audio or the end
                starts = starts[starts < (int(starts[-1]) // hop + 1) // self.group * self.group * hop]
            if starts.size:
                yield buffer, buffer_start, starts
                next_start = int(starts[-1]) + hop
            buffer = buffer[max(0, next_start - buffer_start) :]  # keep only what later windows need
            buffer_start = max(buffer_start, next_start)
            release_free_memory()
        rest = np.arange(next_start, min(self.total - n + 1, limit), hop)
        if rest.size:  # grouped: the last, incomplete group
            yield buffer, buffer_start, rest
            next_start = int(rest[-1]) + hop
        self.at_end = read_end is None or self.total < read_end
        if start == 0:
            self.check_length(self.path, self.total)
        if self.levels is not None:
            if self.at_end and pending.size:
                self.levels.append(loud_level_dbfs(pending))
            if stop is not None:
                del self.levels[(stop - start) // hop :]
        if not self.at_end:
            return
        total = self.total
        if total < n:  # no whole window anywhere: the file is one wrapped window, the first shard's
            tail = 0 if start == 0 and total > 0 else None
        else:  # the whole-file run's trailing piece, if this shard owns it
            tail = ((total - n) // hop + 1) * hop
            tail = tail if start <= tail < limit and tail < total and total - tail >= n / 2 else None
        if tail is not None:
            piece = buffer[tail - buffer_start :]
            if piece.size:
                yield np.ascontiguousarray(fix_length(piece, n), dtype=np.float32), tail, np.array([tail])

    def _add_levels(self, audio: np.ndarray) -> np.ndarray:
        whole = audio.size // self.hop * self.hop
        self.levels.extend(loud_level_dbfs(frame) for frame in audio[:whole].reshape(-1, self.hop))
        return audio[whole:]


class Shard(NamedTuple):
    """The windows and frames of a file that start in ``[start, stop)`` (samples at the model's rate).

    Command line: audioclf classify --dask --shard-minutes
    """

    index: int
    start: int
    stop: int | None  #: None: to the end of the file (the last shard)


def plan_shards(n_samples: int, shard_seconds: float, *, sr: int, hop: int) -> list[Shard]:
    """Cut a file of about ``n_samples`` into shards of ``shard_seconds`` on the hop grid.

    Command line: audioclf classify --dask --shard-minutes

    Parameters
    ----------
    n_samples : int
        The file's length at ``sr`` (an estimate will do: the last shard runs to the end of the
        file, and a shard that starts beyond it is empty).
    shard_seconds : float
        Length of a shard, rounded down to a multiple of the hop (at least one hop).
    sr : int
        Hz.
    hop : int
        Window hop in samples.

    Returns
    -------
    list of Shard
        ``[Shard(0, 0, None)]`` (the whole file) when it is no longer than one shard.

    Raises
    ------
    ValueError
        A non-positive ``shard_seconds`` or ``hop`` (the value is in the message).
    """
    if not shard_seconds > 0 or hop <= 0:
        raise ValueError(f"shard_seconds={shard_seconds} and hop={hop} must be > 0")
    length = max(hop, int(shard_seconds * sr) // hop * hop)
    count = max(1, math.ceil(n_samples / length))
    return [Shard(k, k * length, (k + 1) * length if k < count - 1 else None) for k in range(count)]


@dataclass
class WindowScores:
    """Window rows and frame levels of a file or of one shard.

    Command line: audioclf classify --dask (what a shard's task returns)
    """

    windows: pd.DataFrame  #: start_s, end_s, level_dbfs, label (argmax), p_<class>: the windows the shard owns
    levels: np.ndarray  #: (frames,) float64: loud level (dBFS) of each hop-long frame the shard owns
    end: int | None  #: the file's length in samples, when the shard reached the end of the file


def merge_scores(parts: Sequence[WindowScores]) -> WindowScores:
    """The shards of a file, in order, as one :class:`WindowScores` (the whole-file run's rows and levels).

    Command line: audioclf classify --dask

    Raises
    ------
    ValueError
        No part reached the end of the file (a shard is missing).
    """
    ends = [p.end for p in parts if p.end is not None]
    if not ends:
        raise ValueError("no shard reached the end of the file: a shard is missing")
    tables = [p.windows for p in parts if len(p.windows)] or [parts[0].windows]
    levels = np.concatenate([np.asarray(p.levels, np.float64) for p in parts])
    return WindowScores(pd.concat(tables, ignore_index=True), levels, min(ends))


def save_scores(path: str | Path, scores: WindowScores, *, key: str) -> Path:
    """Write one shard's scores to ``path`` (``.npz``) atomically, with the ``key`` of what made them.

    Command line: audioclf classify --dask -o OUT (a long file's finished shards, for --skip-existing)
    """
    w = scores.windows
    p_columns = [c for c in w.columns if c.startswith("p_")]
    buf = io.BytesIO()
    np.savez(buf, key=np.array(key), start_s=w["start_s"].to_numpy(np.float64), end_s=w["end_s"].to_numpy(np.float64),
             level_dbfs=w["level_dbfs"].to_numpy(np.float64), label=w["label"].to_numpy(str),
             columns=np.array(p_columns, dtype=str), probs=w[p_columns].to_numpy(np.float32),
             levels=np.asarray(scores.levels, np.float64), end=np.int64(-1 if scores.end is None else scores.end))
    atomic_write_bytes(path, buf.getvalue())
    return Path(path)


def load_scores(path: str | Path, *, key: str) -> WindowScores | None:
    """A shard's scores written by :func:`save_scores`; None when missing, unreadable or made with another key.

    Command line: audioclf classify --dask -o OUT --skip-existing
    """
    try:
        with np.load(path, allow_pickle=False) as z:
            if str(z["key"]) != key:
                return None
            windows = pd.DataFrame({"start_s": z["start_s"], "end_s": z["end_s"], "level_dbfs": z["level_dbfs"],
                                    "label": z["label"].astype(object)})
            for k, column in enumerate(z["columns"]):
                windows[str(column)] = z["probs"][:, k]
            end = int(z["end"])
            return WindowScores(windows, z["levels"].copy(), None if end < 0 else end)
    except (OSError, ValueError, KeyError):
        return None
