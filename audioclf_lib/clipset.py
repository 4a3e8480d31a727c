"""Decoded clips: one split's audio in one flat float32 array, decoded from the manifest in parallel.

Notebook: 01_generate_spectrograms.ipynb

:func:`load_clips` decodes every clip of a manifest (:func:`~audioclf_lib.data.build_manifest`) at
one rate, leaves out unreadable and silent ones with the reason, and returns a :class:`ClipSet`;
the decoding runs in worker processes on this machine, or on Dask workers (``dask=``: a local
cluster or a scheduler address, :mod:`audioclf_lib.distributed`) with the same result bit for bit.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .audio import SILENCE_DBFS, AudioError, is_silent, load_audio

__all__ = ["ClipSet", "load_clips"]


@dataclass
class ClipSet:
    """Decoded clips of one split in one flat float32 array (fast to slice, cheap to cache).

    Notebook: 01_generate_spectrograms.ipynb (what :func:`~audioclf_lib.cache.prepare_splits` returns per split)

    Clip ``i`` is ``audio[offsets[i]:offsets[i + 1]]``; ``table`` carries its manifest row.

    Parameters
    ----------
    audio : np.ndarray, shape (total,), float32
        Every clip, back to back, at ``sample_rate``.
    offsets : np.ndarray, shape (n_clips + 1,), int64
        Start of each clip in ``audio``, then the end of the last.
    table : pd.DataFrame
        One manifest row per clip (``path``, ``class``, ``source``, ..., ``n_samples``).
    sample_rate : int
        Hz.
    """

    audio: np.ndarray
    offsets: np.ndarray
    table: pd.DataFrame
    sample_rate: int

    def __len__(self) -> int:
        return len(self.table)

    def clip(self, i: int) -> np.ndarray:
        """The samples of clip ``i``.

        Notebook: 01_generate_spectrograms.ipynb

        Parameters
        ----------
        i : int
            Row of :attr:`table`, in [0, len(self)).

        Returns
        -------
        y : np.ndarray, shape (n_samples_i,), float32
            A view into :attr:`audio`.
        """
        return self.audio[self.offsets[i] : self.offsets[i + 1]]

    @classmethod
    def from_pieces(cls, pieces: list[np.ndarray], table: pd.DataFrame, sample_rate: int) -> "ClipSet":
        """Clips given one array each, with ``table``'s rows in the same order (its ``n_samples`` column is set).

        Notebook: 01_generate_spectrograms.ipynb (through :func:`load_clips`)

        Parameters
        ----------
        pieces : list of np.ndarray, each shape (n_i,)
        table : pd.DataFrame
            One row per piece; copied with a fresh index.
        sample_rate : int

        Returns
        -------
        ClipSet
        """
        table = table.reset_index(drop=True).copy()
        table["n_samples"] = [len(p) for p in pieces]
        offsets = np.concatenate([[0], np.cumsum(table["n_samples"].to_numpy())]).astype(np.int64)
        audio = np.concatenate(pieces).astype(np.float32) if pieces else np.zeros(0, np.float32)
        return cls(audio, offsets, table, sample_rate)

    def take(self, indices) -> "ClipSet":
        """The clips at ``indices`` (in that order) as a new clip set.

        Notebook: 03_train_3d_cnn.ipynb

        Parameters
        ----------
        indices : array-like of int, shape (k,)

        Returns
        -------
        ClipSet
            k clips (copied), table rows in the same order.
        """
        indices = np.asarray(indices, dtype=np.int64)
        return ClipSet.from_pieces([self.clip(int(i)) for i in indices], self.table.iloc[indices], self.sample_rate)

    @classmethod
    def concat(cls, *sets: "ClipSet") -> "ClipSet":
        """One clip set holding the clips of ``sets`` in order (e.g. train + val for a final refit).

        Notebook: 02_train_cnn.ipynb (through :func:`~audioclf_lib.train.train_classifier` with ``refit=True``)

        Parameters
        ----------
        *sets : ClipSet
            At least one, all at the same sample rate.

        Returns
        -------
        ClipSet
            Clips of ``sets[0]`` first; tables joined with a fresh index.

        Raises
        ------
        ValueError
            No sets, or different sample rates.
        """
        if not sets or len({s.sample_rate for s in sets}) != 1:
            raise ValueError("concat needs at least one clip set, all at the same sample rate")
        starts = np.cumsum([0] + [s.offsets[-1] for s in sets[:-1]])
        offsets = np.concatenate([sets[0].offsets[:1]] + [s.offsets[1:] + start for s, start in zip(sets, starts)])
        return cls(np.concatenate([s.audio[: s.offsets[-1]] for s in sets]), offsets,
                   pd.concat([s.table for s in sets], ignore_index=True), sets[0].sample_rate)

    def save(self, path: str | Path) -> None:
        """Write ``<path>.npz`` + ``<path>.csv`` atomically (tmp file, then rename).

        Notebook: 01_generate_spectrograms.ipynb (through :func:`~audioclf_lib.cache.prepare_splits`)

        Parameters
        ----------
        path : str or Path
            Path without suffix (any suffix is replaced); the folder is created.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(tmp, audio=self.audio, offsets=self.offsets, sample_rate=self.sample_rate)
        tmp_csv = path.with_name(path.name + ".tmp.csv")
        self.table.to_csv(tmp_csv, index=False)
        os.replace(tmp_csv, path.with_suffix(".csv"))
        os.replace(tmp, path.with_suffix(".npz"))

    @classmethod
    def load(cls, path: str | Path) -> "ClipSet":
        """Read a clip set written by :meth:`save`.

        Notebook: 01_generate_spectrograms.ipynb (through :func:`~audioclf_lib.cache.load_splits`)

        Parameters
        ----------
        path : str or Path
            As given to :meth:`save`.

        Returns
        -------
        ClipSet
            What :meth:`save` wrote (the table as read back from its CSV).

        Raises
        ------
        ValueError
            The ``.npz`` and ``.csv`` disagree on the number of clips (rebuild the cache).
        FileNotFoundError
            Either file is missing.
        """
        path = Path(path)
        with np.load(path.with_suffix(".npz")) as z:
            audio, offsets, sr = z["audio"], z["offsets"], int(z["sample_rate"])
        table = pd.read_csv(path.with_suffix(".csv"))
        if len(offsets) != len(table) + 1:
            raise ValueError(f"{path}: cache is inconsistent ({len(offsets) - 1} clips vs {len(table)} rows); rebuild it")
        return cls(audio, offsets, table, sr)


def _decode_one(args: tuple[str, int, float]) -> tuple[np.ndarray | None, str]:
    path, sr, silence_dbfs = args
    try:
        y, _ = load_audio(path, sr)
    except AudioError as exc:
        return None, exc.reason
    if is_silent(y, threshold_dbfs=silence_dbfs):
        return None, f"silent (loud frames below {silence_dbfs:g} dBFS)"
    return y, ""


def load_clips(
    manifest: pd.DataFrame,
    root: str | Path,
    sr: int,
    *,
    silence_dbfs: float = SILENCE_DBFS,
    n_jobs: int | None = None,
    dask=None,
    progress: bool = True,
) -> tuple[ClipSet, pd.DataFrame]:
    """Decode every clip of ``manifest`` at rate ``sr`` (in parallel) into one :class:`ClipSet`.

    Notebook: 01_generate_spectrograms.ipynb

    Unreadable and silent clips are left out and listed in the returned report
    (``path``, ``reason``).

    Parameters
    ----------
    manifest : pd.DataFrame
        With ``path`` relative to ``root`` (:func:`build_manifest`).
    root : str or Path
        The corpus folder.
    sr : int
        Rate to decode at (Hz).
    silence_dbfs : float
        Clips whose loud frames stay below this level are left out
        (:func:`~audioclf_lib.audio.is_silent`).
    n_jobs : int or None
        Worker processes (default: one per CPU, at most one per clip); with more than one worker and
        more than 16 clips, clips are decoded in parallel.
    dask : str, distributed.Client or None
        Decode on Dask workers instead (16 clips a task): ``"local:N"``, a scheduler address or a
        client (:func:`~audioclf_lib.distributed.map_chunks`; needs the ``dask`` extra, and workers
        that see ``root`` under the same path). Same clip set, bit for bit.
    progress : bool
        Show a tqdm bar.

    Returns
    -------
    clips : ClipSet
        The usable clips, in manifest order.
    skipped : pd.DataFrame
        Columns ``path``, ``reason``.
    """
    from concurrent.futures import ProcessPoolExecutor

    from tqdm.auto import tqdm

    root = Path(root)
    jobs = [(str(root / p), sr, silence_dbfs) for p in manifest["path"]]
    n_jobs = n_jobs or min(len(jobs), os.cpu_count() or 1)
    if dask is not None:
        from .distributed import map_chunks

        results = map_chunks(dask, _decode_one, jobs, chunk_size=16, progress=progress, desc="decode")
    elif n_jobs > 1 and len(jobs) > 16:
        with ProcessPoolExecutor(n_jobs) as pool:
            results = list(tqdm(pool.map(_decode_one, jobs, chunksize=16), total=len(jobs), disable=not progress, desc="decode"))
    else:
        results = [_decode_one(j) for j in tqdm(jobs, disable=not progress, desc="decode")]
    keep, skipped, pieces = [], [], []
    for (y, reason), path in zip(results, manifest["path"]):
        if y is None:
            skipped.append({"path": path, "reason": reason})
        else:
            pieces.append(y)
        keep.append(y is not None)
    clips = ClipSet.from_pieces(pieces, manifest[np.asarray(keep, dtype=bool)], sr)
    return clips, pd.DataFrame(skipped, columns=["path", "reason"])
