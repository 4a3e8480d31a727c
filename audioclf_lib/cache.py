"""Prepared data on disk, named after what made it, so no notebook ever reads stale features.

- ``data/cache/audio-sr16000-<corpus fingerprint>[-quick]/``: the decoded, resampled, split clips
  (``train|val|test.npz/.csv``), the manifest and the skip report. Written by notebook 01.
- ``data/cache/<FeatureConfig.slug()>/``: evaluation windows and their features per split.

The corpus fingerprint hashes every file's relative path and size: pointing ``AUDIOCLF_DATA``
elsewhere, or adding a file, gives a new folder instead of silently reusing the old one.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import pandas as pd

from .audio import SILENCE_DBFS
from .config import FeatureConfig, cache_dir, data_dir
from .clipset import ClipSet, load_clips
from .data import build_manifest, corpus_splits, scan_corpus
from .features import FRONT_END_VERSION, extract_features
from .windows import eval_windows

__all__ = ["SPLITS", "corpus_fingerprint", "audio_cache_path", "prepare_splits", "load_splits", "eval_set"]

SPLITS = ("train", "val", "test")


def corpus_fingerprint(root: str | Path) -> str:
    """8 hex digits identifying the corpus' file list (relative paths and sizes).

    Notebook: 01_generate_spectrograms.ipynb (through :func:`audio_cache_path`)

    Parameters
    ----------
    root : str or Path
        The corpus folder.

    Returns
    -------
    str
        The first 8 hex digits of a SHA-1 over every audio file's relative path and size.

    Raises
    ------
    FileNotFoundError, NotADirectoryError, ValueError
        As for :func:`~audioclf_lib.data.scan_corpus`.
    """
    root = Path(root)
    pairs, _ = scan_corpus(root)
    h = hashlib.sha1()
    for cls, path in pairs:
        h.update(f"{path.relative_to(root).as_posix()}:{path.stat().st_size}\n".encode())
    return h.hexdigest()[:8]


def audio_cache_path(sample_rate: int, *, root: str | Path | None = None, quick: bool = False, seed: int = 0) -> Path:
    """Folder of the decoded splits for this corpus, rate, seed and QUICK setting.

    Notebook: 01_generate_spectrograms.ipynb (through :func:`prepare_splits`)

    Parameters
    ----------
    sample_rate : int
        Hz.
    root : str or Path or None
        Corpus folder (default :func:`~audioclf_lib.config.data_dir`).
    quick : bool
        A QUICK (CI-sized) subset.
    seed : int
        The split seed.

    Returns
    -------
    Path
        ``<cache>/audio-sr<rate>-<fingerprint>-seed<seed>[-quick]`` (not created here).
    """
    root = Path(root) if root is not None else data_dir()
    name = f"audio-sr{sample_rate}-{corpus_fingerprint(root)}-seed{seed}" + ("-quick" if quick else "")
    return cache_dir() / name


def prepare_splits(
    root: str | Path | None = None,
    *,
    sample_rate: int = 16_000,
    seed: int = 0,
    quick: bool = False,
    quick_clips_per_class: int = 40,
    silence_dbfs: float = SILENCE_DBFS,
    group_by: str = "original",
    dask=None,
    progress: bool = True,
) -> tuple[dict[str, ClipSet], pd.DataFrame, pd.DataFrame]:
    """Manifest -> grouped split -> decoded clips per split, written to :func:`audio_cache_path`.

    Notebook: 01_generate_spectrograms.ipynb

    ``quick`` keeps ``quick_clips_per_class`` clips per class in train and half as many in val and
    test (after splitting, so QUICK runs see the same grouping as full ones).

    Parameters
    ----------
    root : str or Path or None
        Corpus folder (default :func:`~audioclf_lib.config.data_dir`).
    sample_rate : int
        Rate the clips are decoded at (Hz).
    seed : int
        Split and subset seed.
    quick : bool
        CI-sized subset.
    quick_clips_per_class : int
        Train clips per class with ``quick``.
    silence_dbfs : float
        Silent clips are left out (:func:`~audioclf_lib.data.load_clips`).
    group_by : str
        As for :func:`~audioclf_lib.data.split_manifest`; not used where the corpus' ``manifest.csv``
        assigns every clip its split (:func:`~audioclf_lib.data.assigned_splits`, as ``data/starter`` does).
    dask : str, distributed.Client or None
        Decode on Dask workers (``"local:N"``, a scheduler address or a client; one cluster for
        the three splits) instead of this machine's processes: the same cached arrays, bit for bit
        (:func:`~audioclf_lib.clipset.load_clips`).
    progress : bool
        Show decoding progress bars.

    Returns
    -------
    splits : dict of str -> ClipSet
        Keys :data:`SPLITS`.
    manifest : pd.DataFrame
        With a ``split`` column (also written as ``manifest.csv``).
    skipped : pd.DataFrame
        Columns ``path``, ``reason``: every file left out and why (also ``skipped.csv``).

    Raises
    ------
    FileNotFoundError, NotADirectoryError, ValueError
        As for :func:`~audioclf_lib.data.scan_corpus`.
    """
    root = Path(root) if root is not None else data_dir()
    manifest, skipped = build_manifest(root)
    manifest = corpus_splits(manifest, root, group_by=group_by, seed=seed)
    split_by = manifest.attrs["split_by"]
    if quick:
        share = {"train": quick_clips_per_class, "val": quick_clips_per_class // 2, "test": quick_clips_per_class // 2}
        manifest = pd.concat([g.sample(n=min(len(g), share[split]), random_state=seed)
                              for (_, split), g in manifest.groupby(["class", "split"])])
        manifest = manifest.sort_values("path").reset_index(drop=True)
    out = audio_cache_path(sample_rate, root=root, quick=quick, seed=seed)
    out.mkdir(parents=True, exist_ok=True)
    splits: dict[str, ClipSet] = {}
    reports = [skipped]
    with ExitStack() as stack:
        if dask is not None:
            from .distributed import using_client

            dask = stack.enter_context(using_client(dask))
        for split in SPLITS:
            clips, report = load_clips(manifest[manifest["split"] == split].reset_index(drop=True), root,
                                       sample_rate, silence_dbfs=silence_dbfs, dask=dask, progress=progress)
            clips.save(out / split)
            splits[split] = clips
            reports.append(report)
    skipped = pd.concat(reports, ignore_index=True)
    manifest.to_csv(out / "manifest.csv", index=False)
    skipped.to_csv(out / "skipped.csv", index=False)
    (out / "info.json").write_text(json.dumps({"sample_rate": sample_rate, "seed": seed, "quick": quick,
                                               "silence_dbfs": silence_dbfs,
                                               "group_by": split_by,
                                               "clips": {s: len(c) for s, c in splits.items()}}, indent=1))
    return splits, manifest, skipped


def load_splits(sample_rate: int = 16_000, *, root: str | Path | None = None, quick: bool = False, seed: int = 0) -> dict[str, ClipSet]:
    """The splits notebook 01 prepared for the current corpus; a plain error if it has not run.

    Notebook: 02_train_cnn.ipynb (notebooks 03 and 04 too; :func:`prepare_splits` in notebook 01 writes them)

    Parameters
    ----------
    sample_rate, root, quick, seed
        As for :func:`audio_cache_path`.

    Returns
    -------
    splits : dict of str -> ClipSet
        Keys :data:`SPLITS`.

    Raises
    ------
    FileNotFoundError
        No prepared splits for these settings: the message says to run notebook 01 first.
    """
    folder = audio_cache_path(sample_rate, root=root, quick=quick, seed=seed)
    if not all((folder / f"{s}.npz").exists() for s in SPLITS):
        raise FileNotFoundError(
            f"no prepared data for this corpus at {sample_rate} Hz (QUICK={quick}) in {folder.parent}: "
            "run notebooks/01_generate_spectrograms.ipynb first (or `make reproduce`)"
        )
    return {s: ClipSet.load(folder / s) for s in SPLITS}


#: Windows per front-end call when caching evaluation features (locally and per Dask task alike).
FEATURE_BATCH = 64


def _features_of_batch(windows: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """One Dask task of :func:`eval_set`: the features of one batch, as one local front-end call."""
    return extract_features(windows, config, batch_size=len(windows))


def eval_set(
    clips: ClipSet, split: str, config: FeatureConfig, class_names: Sequence[str], *, with_features: bool = True,
    dask=None,
) -> tuple[np.ndarray, pd.DataFrame, np.ndarray | None]:
    """Fixed evaluation windows of a split, their table and (cached) features for ``config``.

    Notebook: 01_generate_spectrograms.ipynb

    Features are cached in ``data/cache/<config.slug()>/`` keyed by split, classes, the
    clip set's content and :data:`~audioclf_lib.features.FRONT_END_VERSION`, and recomputed when
    any of them changes.

    Parameters
    ----------
    clips : ClipSet
        One split.
    split : str
        Its name (part of the cache file name).
    config : FeatureConfig
        Window length and front end.
    class_names : sequence of str
        Classes kept, in label order.
    with_features : bool
        ``False`` skips the features (``None`` is returned in their place).
    dask : str, distributed.Client or None
        Compute missing features on Dask workers (``"local:N"``, a scheduler address or a client, as for
        :func:`~audioclf_lib.distributed.using_client`), in the same batches as locally: the same
        arrays, bit for bit.

    Returns
    -------
    windows : np.ndarray, shape (k, config.window_samples), float32
    table : pd.DataFrame
        One row per window, as :func:`~audioclf_lib.windows.eval_windows` gives.
    X : np.ndarray, shape (k, ...), float32, or None
        As :meth:`~audioclf_lib.features.FeatureExtractor.forward` gives, e.g. (k, 1, n_mels, T).
    """
    windows, table = eval_windows(clips, list(class_names), config.window_samples)
    if not with_features:
        return windows, table, None
    key = hashlib.sha1(np.ascontiguousarray(windows[:, ::97]).tobytes()).hexdigest()[:8]
    path = cache_dir() / config.slug() / f"{split}-{'-'.join(class_names)}-{key}-fe{FRONT_END_VERSION}.npy"
    if path.exists():
        return windows, table, np.load(path)
    if dask is None:
        features = extract_features(windows, config, batch_size=FEATURE_BATCH)
    else:
        from .distributed import map_chunks

        batches = [windows[i : i + FEATURE_BATCH] for i in range(0, len(windows), FEATURE_BATCH)]
        parts = map_chunks(dask, _features_of_batch, batches, config, chunk_size=1, desc="features")
        features = np.concatenate(parts) if parts else np.zeros((0,), np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.parent / "config.json").write_text(json.dumps(config.to_dict(), indent=1))
    tmp = path.with_name(path.stem + ".tmp.npy")
    np.save(tmp, features)
    os.replace(tmp, path)
    return windows, table, features
