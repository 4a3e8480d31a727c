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
from pathlib import Path

import numpy as np
import pandas as pd

from .audio import SILENCE_DBFS
from .config import FeatureConfig, cache_dir, data_dir
from .data import ClipSet, build_manifest, load_clips, scan_corpus, split_manifest
from .features import FRONT_END_VERSION, extract_features
from .windows import eval_windows

__all__ = ["SPLITS", "corpus_fingerprint", "audio_cache_path", "prepare_splits", "load_splits", "eval_set"]

SPLITS = ("train", "val", "test")


def corpus_fingerprint(root: str | Path) -> str:
    """8 hex digits identifying the corpus' file list (relative paths and sizes)."""
    root = Path(root)
    pairs, _ = scan_corpus(root)
    h = hashlib.sha1()
    for cls, path in pairs:
        h.update(f"{path.relative_to(root).as_posix()}:{path.stat().st_size}\n".encode())
    return h.hexdigest()[:8]


def audio_cache_path(sample_rate: int, *, root: str | Path | None = None, quick: bool = False, seed: int = 0) -> Path:
    """Folder of the decoded splits for this corpus, rate, seed and QUICK setting."""
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
    progress: bool = True,
) -> tuple[dict[str, ClipSet], pd.DataFrame, pd.DataFrame]:
    """Manifest -> grouped split -> decoded clips per split, written to :func:`audio_cache_path`.

    Notebook: 01_generate_spectrograms.ipynb

    Returns the splits, the manifest (with ``split``) and the report of skipped files.
    ``quick`` keeps ``quick_clips_per_class`` clips per class and split (after splitting, so
    QUICK runs see the same grouping as full ones).
    """
    root = Path(root) if root is not None else data_dir()
    manifest, skipped = build_manifest(root)
    manifest = split_manifest(manifest, group_by=group_by, seed=seed)
    if quick:
        share = {"train": quick_clips_per_class, "val": quick_clips_per_class // 2, "test": quick_clips_per_class // 2}
        manifest = pd.concat([g.sample(n=min(len(g), share[split]), random_state=seed)
                              for (_, split), g in manifest.groupby(["class", "split"])])
        manifest = manifest.sort_values("path").reset_index(drop=True)
    out = audio_cache_path(sample_rate, root=root, quick=quick, seed=seed)
    out.mkdir(parents=True, exist_ok=True)
    splits: dict[str, ClipSet] = {}
    reports = [skipped]
    for split in SPLITS:
        clips, report = load_clips(manifest[manifest["split"] == split].reset_index(drop=True), root, sample_rate,
                                   silence_dbfs=silence_dbfs, progress=progress)
        clips.save(out / split)
        splits[split] = clips
        reports.append(report)
    skipped = pd.concat(reports, ignore_index=True)
    manifest.to_csv(out / "manifest.csv", index=False)
    skipped.to_csv(out / "skipped.csv", index=False)
    (out / "info.json").write_text(json.dumps({"sample_rate": sample_rate, "seed": seed, "quick": quick,
                                               "silence_dbfs": silence_dbfs, "group_by": group_by,
                                               "clips": {s: len(c) for s, c in splits.items()}}, indent=1))
    return splits, manifest, skipped


def load_splits(sample_rate: int = 16_000, *, root: str | Path | None = None, quick: bool = False, seed: int = 0) -> dict[str, ClipSet]:
    """The splits notebook 01 prepared for the current corpus; a plain error if it has not run."""
    folder = audio_cache_path(sample_rate, root=root, quick=quick, seed=seed)
    if not all((folder / f"{s}.npz").exists() for s in SPLITS):
        raise FileNotFoundError(
            f"no prepared data for this corpus at {sample_rate} Hz (QUICK={quick}) in {folder.parent}: "
            "run notebooks/01_generate_spectrograms.ipynb first (or `make reproduce`)"
        )
    return {s: ClipSet.load(folder / s) for s in SPLITS}


def eval_set(
    clips: ClipSet, split: str, config: FeatureConfig, class_names: Sequence[str], *, with_features: bool = True
) -> tuple[np.ndarray, pd.DataFrame, np.ndarray | None]:
    """Fixed evaluation windows of a split, their table and (cached) features for ``config``.

    Notebook: 01_generate_spectrograms.ipynb

    Features are cached in ``data/cache/<config.slug()>/`` keyed by split, classes and the
    clip set's content, and recomputed when any of them changes.
    """
    windows, table = eval_windows(clips, list(class_names), config.window_samples)
    if not with_features:
        return windows, table, None
    key = hashlib.sha1(np.ascontiguousarray(windows[:, ::97]).tobytes()).hexdigest()[:8]
    path = cache_dir() / config.slug() / f"{split}-{'-'.join(class_names)}-{key}-fe{FRONT_END_VERSION}.npy"
    if path.exists():
        return windows, table, np.load(path)
    features = extract_features(windows, config)
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.parent / "config.json").write_text(json.dumps(config.to_dict(), indent=1))
    tmp = path.with_name(path.stem + ".tmp.npy")
    np.save(tmp, features)
    os.replace(tmp, path)
    return windows, table, features
