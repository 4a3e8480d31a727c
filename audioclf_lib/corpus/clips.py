"""Choosing and cutting clips: the files a rule selects, evenly spaced clips of each, names and hashes.

Notebook: 01_generate_spectrograms.ipynb (reads the corpus these clips make)

Part of the corpus builder (:mod:`audioclf_lib.corpus.build` writes what these functions choose).
"""
from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .fetch import PackageTree
from .rules import AUDIO_SUFFIXES, Rule

__all__ = ["Candidate", "select_files", "segment_starts", "decode_segments", "pcm_hash", "clip_name"]

_MAX_NAME = 90


@dataclass(frozen=True)
class Candidate:
    """One original file selected by a rule.

    Command line: ``corpus build`` (:mod:`audioclf_lib.corpus.command`)

    Attributes
    ----------
    rule : the rule that selected it.
    package : the package (normalised name) it lies in.
    path : the file on disk (inside the fetcher's tree).
    relpath : its path relative to the rule's ``where`` ('/'-separated).
    """

    rule: Rule
    package: str
    path: Path
    relpath: str

    @property
    def orig(self) -> str:
        """The original-recording key of the manifest: ``<class>/<source>/<package>/<relpath>``."""
        return f"{self.rule.label}/{self.rule.source}/{self.package}/{self.relpath}"


def _stable_key(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def select_files(rule: Rule, trees: Sequence[PackageTree], *, max_files: int | None = None,
                 problems: list[str] | None = None) -> list[Candidate]:
    """The files ``rule`` takes from the unpacked ``trees`` (one per package of the rule).

    Command line: ``corpus build`` (:mod:`audioclf_lib.corpus.command`)

    Parameters
    ----------
    rule : the rule.
    trees : the unpacked packages, in the rule's order.
    max_files : cap when the rule sets none; the kept files are those first in the order of
        a hash of their paths, a spread over folders and languages that does not change when
        other files are added.
    problems : list to append a line to when a package has no ``where`` folder.

    Returns
    -------
    list of Candidate, sorted by package then path.
    """
    found: list[Candidate] = []
    for tree in trees:
        base = tree.root / rule.where if rule.where else tree.root
        if not base.is_dir():
            if problems is not None:
                problems.append(f"{rule.source}: folder {rule.where or '.'!r} not found in {tree.registry}:{tree.name}")
            continue
        for dirpath, _dirs, files in os.walk(base):
            for fname in files:
                if not fname.lower().endswith(AUDIO_SUFFIXES):
                    continue
                path = Path(dirpath) / fname
                rel = path.relative_to(base).as_posix()
                if rule.selects(rel):
                    found.append(Candidate(rule, tree.name, path, rel))
    found.sort(key=lambda c: (c.package, c.relpath))
    cap = rule.max_files if rule.max_files is not None else max_files
    if cap is not None and len(found) > cap:
        keep = set(sorted(range(len(found)), key=lambda i: _stable_key(found[i].orig))[:cap])
        found = [c for i, c in enumerate(found) if i in keep]
    return found


# -- decoding ------------------------------------------------------------------------------------
def segment_starts(duration_s: float, *, clip_seconds: float = 10.0, max_clips: int = 6) -> list[float]:
    """Start times (s) of evenly spaced clips of ``clip_seconds`` in a file of ``duration_s``.

    Command line: ``corpus build`` (:mod:`audioclf_lib.corpus.command`)

    A file no longer than one clip gives ``[0.0]`` (the whole file). A longer one gives
    ``n = min(max_clips, floor(duration / clip_seconds))`` clips, each centred in one of
    ``n`` equal parts of the file.

    Examples
    --------
    >>> segment_starts(8.0)
    [0.0]
    >>> segment_starts(60.0, max_clips=3)
    [5.0, 25.0, 45.0]
    """
    if duration_s <= clip_seconds:
        return [0.0]
    n = max(1, min(max_clips, int(duration_s // clip_seconds)))
    part = duration_s / n
    return [round(k * part + (part - clip_seconds) / 2, 3) for k in range(n)]


def _to_mono_16k(x: np.ndarray, sr: int, target_sr: int) -> np.ndarray:
    import soxr

    y = x.mean(axis=1) if x.ndim == 2 else x
    y = np.ascontiguousarray(y, dtype=np.float32)
    if sr != target_sr and len(y):
        y = soxr.resample(y, sr, target_sr, quality="HQ").astype(np.float32)
    if not np.all(np.isfinite(y)):
        raise ValueError("decoded audio has NaN or infinite samples")
    return np.clip(y, -1.0, 1.0)


def decode_segments(path: str | Path, *, sr: int = 16_000, clip_seconds: float = 10.0,
                    max_clips: int = 6) -> tuple[int, float, list[tuple[float, np.ndarray]]]:
    """Decode the evenly spaced clips of one file as mono float32 at ``sr``.

    Command line: ``corpus build`` (:mod:`audioclf_lib.corpus.command`)

    libsndfile (WAV, FLAC, Ogg Vorbis/Opus, MP3) seeks to each clip, so a long track is never
    decoded whole; files it cannot open go through ``librosa.load``.

    Returns
    -------
    orig_sr : the file's sample rate.
    duration_s : its length (s).
    clips : ``(start_s, y)`` pairs, ``y`` of shape ``(n,)`` in [-1, 1], ``n <= clip_seconds * sr``.

    Raises
    ------
    ValueError, RuntimeError, OSError : when the file cannot be decoded (the message says why).
    """
    import soundfile as sf

    try:
        with sf.SoundFile(str(path)) as f:
            orig_sr, frames = f.samplerate, f.frames
            if frames <= 0:
                raise ValueError("no audio frames")
            duration = frames / orig_sr
            clips = []
            for start in segment_starts(duration, clip_seconds=clip_seconds, max_clips=max_clips):
                f.seek(int(round(start * orig_sr)))
                x = f.read(int(round(clip_seconds * orig_sr)), dtype="float32", always_2d=True)
                clips.append((start, _to_mono_16k(x, orig_sr, sr)))
            return orig_sr, duration, clips
    except sf.LibsndfileError as exc:
        sndfile_error = exc
    import warnings

    import librosa

    try:
        with warnings.catch_warnings():
            # librosa announces its audioread fallback; the failure, if any, is reported below
            warnings.simplefilter("ignore")
            x, orig_sr = librosa.load(str(path), sr=None, mono=False)
    except Exception as exc:  # audioread raises many kinds; the reason is what matters
        raise ValueError(f"libsndfile: {sndfile_error}; librosa: {type(exc).__name__}: {exc}") from None
    x = x.T if x.ndim == 2 else x
    duration = len(x) / orig_sr
    clips = []
    for start in segment_starts(duration, clip_seconds=clip_seconds, max_clips=max_clips):
        a = int(round(start * orig_sr))
        clips.append((start, _to_mono_16k(x[a:a + int(round(clip_seconds * orig_sr))], orig_sr, sr)))
    return int(orig_sr), duration, clips


def pcm_hash(y: np.ndarray) -> str:
    """SHA-1 of the clip as 16-bit PCM: equal for clips that decode to the same samples.

    Command line: ``corpus build`` (:mod:`audioclf_lib.corpus.command`)
    """
    pcm = np.round(np.clip(y, -1.0, 1.0) * 32767.0).astype("<i2")
    return hashlib.sha1(pcm.tobytes()).hexdigest()


def clip_name(source: str, relpath: str) -> str:
    """``<source>__<name>``: the file's path (relative to the rule's folder) made filename-safe.

    Command line: ``corpus build`` (:mod:`audioclf_lib.corpus.command`)

    Folders become ``_``, runs of ``_`` collapse (``__`` separates the source and segment
    index), and long names are shortened with a hash so they stay unique.
    """
    stem = relpath.rsplit(".", 1)[0] if "." in relpath.rsplit("/", 1)[-1] else relpath
    name = re.sub(r"[^A-Za-z0-9.+-]+", "_", stem).strip("_.") or "clip"
    name = re.sub(r"_+", "_", name)
    if len(name) > _MAX_NAME:
        name = name[:_MAX_NAME - 9].rstrip("_") + "_" + _stable_key(relpath)[:8]
    return f"{source}__{name}"


# -- the build -----------------------------------------------------------------------------------
