"""The corpus as a table: manifest and leak-free splits (decoded clips: :mod:`audioclf_lib.clipset`).

A corpus folder has one subfolder per class (``<class>/*.wav|flac|ogg|mp3``) and, optionally,
a ``manifest.csv`` with ``source`` and ``orig_candidate`` (original recording) columns, as the
bundled ``data/starter`` and the shared public corpus have. Without a manifest the source and
original recording are read from the file name (``<source>__<name>[__sNN].ext``).
"""
from __future__ import annotations

import os
import re
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .audio import AUDIO_EXTENSIONS, AudioError, audio_info
from .clipset import ClipSet, load_clips  # decoded clips; imported from here before they had a module


__all__ = [
    "MANIFEST_COLUMNS",
    "scan_corpus",
    "build_manifest",
    "split_manifest",
    "assigned_splits",
    "corpus_splits",
    "split_table",
    "ClipSet",
    "load_clips",
]

MANIFEST_COLUMNS = ["path", "class", "source", "original", "duration_s", "orig_sr", "license"]
_SEGMENT_SUFFIX = re.compile(r"__s\d+$")


def scan_corpus(root: str | Path, classes: Sequence[str] | None = None) -> tuple[list[tuple[str, Path]], list[str]]:
    """List ``(class, file)`` pairs under ``root/<class>/``, following no symlink loops.

    Notebook: 01_generate_spectrograms.ipynb (through :func:`build_manifest`); Command line: audioclf evaluate

    Folders starting with ``.`` or ``_`` and a folder named ``cache`` are not classes; audio files are
    found recursively (symlinked folders followed, each real folder walked once), in sorted order.

    Parameters
    ----------
    root : str or Path
        The corpus folder.
    classes : sequence of str or None
        Class folders to keep; others are noted as ignored. ``None``: every folder.

    Returns
    -------
    pairs : list of (str, Path)
        Class name and audio file (suffix in :data:`~audioclf_lib.audio.AUDIO_EXTENSIONS`, any case).
    notes : list of str
        One ``"<path>: <why>"`` line per thing skipped (non-audio files, unknown class folders,
        unreadable folders).

    Raises
    ------
    FileNotFoundError
        ``root`` does not exist.
    NotADirectoryError
        ``root`` is a file.
    ValueError
        No audio in any class folder.
    """
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"corpus folder {root} does not exist (set AUDIOCLF_DATA or pass a path)")
    if not root.is_dir():
        raise NotADirectoryError(f"corpus path {root} is not a folder")
    notes: list[str] = []
    pairs: list[tuple[str, Path]] = []
    for class_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        name = class_dir.name
        if name.startswith((".", "_")) or name == "cache":
            continue
        if classes is not None and name not in classes:
            notes.append(f"{class_dir}: folder ignored (class not in {list(classes)})")
            continue
        seen: set[tuple[int, int]] = set()

        def unreadable(err: OSError) -> None:
            notes.append(f"{err.filename}: skipped (cannot read folder: {err.strerror})")

        for dirpath, dirnames, filenames in os.walk(class_dir, followlinks=True, onerror=unreadable):
            st = os.stat(dirpath)
            if (st.st_dev, st.st_ino) in seen:  # a symlink loop: walk each real folder once
                dirnames[:] = []
                continue
            seen.add((st.st_dev, st.st_ino))
            dirnames.sort()
            for fname in sorted(filenames):
                path = Path(dirpath) / fname
                if path.suffix.lower() in AUDIO_EXTENSIONS:
                    pairs.append((name, path))
                elif not fname.startswith(".") and fname != "manifest.csv":
                    notes.append(f"{path}: skipped (not an audio file)")
    if not pairs:
        raise ValueError(f"no audio found under {root}: expected <class>/*.wav|flac|ogg|mp3 folders")
    return pairs, notes


def build_manifest(
    root: str | Path, classes: Sequence[str] | None = None, *, check_audio: bool = True
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per clip: path, class, source, original recording, duration, original rate, licence.

    Notebook: 01_generate_spectrograms.ipynb

    Files whose header cannot be read are not in the manifest but in the second table
    (``path``, ``reason``), so one bad file never aborts a corpus.

    Parameters
    ----------
    root : str or Path
        Corpus folder (``<class>/*.wav|flac|ogg|mp3``, optional ``manifest.csv``).
    classes : sequence of str or None
        As for :func:`scan_corpus`.
    check_audio : bool
        Read every header (duration, rate); ``False`` leaves ``duration_s`` NaN and skips nothing
        for unreadable audio.

    Returns
    -------
    manifest : pd.DataFrame
        Columns :data:`MANIFEST_COLUMNS`; ``path`` relative to ``root`` (POSIX), ``duration_s`` in
        seconds; ``manifest.attrs["root"]`` is ``str(root)``.
    skipped : pd.DataFrame
        Columns ``path``, ``reason``: the notes of :func:`scan_corpus` and unreadable files.

    Raises
    ------
    FileNotFoundError, NotADirectoryError, ValueError
        As for :func:`scan_corpus`.
    """
    root = Path(root)
    pairs, notes = scan_corpus(root, classes)
    known = _read_known_manifest(root)
    rows, skipped = [], [{"path": n.split(": ", 1)[0], "reason": n.split(": ", 1)[1]} for n in notes]
    for cls, path in pairs:
        rel = path.relative_to(root).as_posix()
        try:
            info = audio_info(path) if check_audio else None
        except AudioError as exc:
            skipped.append({"path": str(path), "reason": exc.reason})
            continue
        meta = known.get(rel, {})
        source, original = _source_and_original(path, cls)
        rows.append({
            "path": rel,
            "class": cls,
            "source": meta.get("source", source),
            "original": meta.get("orig_candidate", original),
            "duration_s": info.frames / info.samplerate if info else np.nan,
            "orig_sr": int(meta.get("orig_sr", info.samplerate if info else 0)),
            "license": meta.get("license", ""),
        })
    manifest = pd.DataFrame(rows, columns=MANIFEST_COLUMNS)
    manifest.attrs["root"] = str(root)
    return manifest, pd.DataFrame(skipped, columns=["path", "reason"])


def split_manifest(
    manifest: pd.DataFrame,
    *,
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
    group_by: str = "original",
    seed: int = 0,
) -> pd.DataFrame:
    """Add a ``split`` column (train/val/test) with no group in two splits.

    Notebook: 01_generate_spectrograms.ipynb

    Groups (``original`` recordings by default, or whole ``source``s) are shuffled with
    ``seed`` per class and assigned greedily until each split holds its fraction of the
    class's audio minutes, so every class is represented in every split.

    Parameters
    ----------
    manifest : pd.DataFrame
        From :func:`build_manifest` (needs ``class``, ``duration_s`` and the ``group_by`` column).
    fractions : (float, float, float)
        Shares of train, val and test, each >= 0, summing to 1.
    group_by : str
        The manifest column whose values never straddle two splits.
    seed : int
        Shuffle seed.

    Returns
    -------
    manifest : pd.DataFrame
        A copy with a ``split`` column in {"train", "val", "test"}.

    Raises
    ------
    ValueError
        ``group_by`` is not a column, or bad ``fractions`` (the value is in the message).

    Warns
    -----
    UserWarning
        A class with fewer than 3 groups (some splits then get none of it).
    """
    if group_by not in manifest.columns:
        raise ValueError(f"group_by={group_by!r} is not a manifest column")
    if len(fractions) != 3 or min(fractions) < 0 or not np.isclose(sum(fractions), 1.0):
        raise ValueError(f"fractions={fractions} must be three non-negative numbers summing to 1")
    names = ("train", "val", "test")
    split_of_group: dict[tuple[str, str], str] = {}
    for cls, rows in manifest.groupby("class", sort=True):
        minutes = rows.groupby(group_by)["duration_s"].sum().sort_index()
        order = np.random.default_rng(seed).permutation(len(minutes))
        groups = minutes.iloc[order]
        total = float(groups.sum())
        if len(groups) < 3:
            warnings.warn(f"class {cls!r} has {len(groups)} {group_by} group(s): some splits get none", stacklevel=2)
        filled = dict.fromkeys(names, 0.0)
        # Smallest splits first, so val/test reach their share before train swallows the rest.
        for i, (group, dur) in enumerate(groups.items()):
            remaining = len(groups) - i
            empty = [n for n in ("test", "val") if filled[n] == 0 and fractions[names.index(n)] > 0]
            if empty and remaining <= len(empty):
                target = empty[0]
            else:
                deficit = {n: fractions[k] * total - filled[n] for k, n in enumerate(names)}
                target = max(("test", "val", "train"), key=lambda n: deficit[n])
            split_of_group[(cls, group)] = target
            filled[target] += float(dur)
    out = manifest.copy()
    out["split"] = [split_of_group[(c, g)] for c, g in zip(out["class"], out[group_by])]
    return out


def assigned_splits(manifest: pd.DataFrame, root: str | Path) -> pd.DataFrame | None:
    """The split each clip was given where the corpus was cut from a larger one, else ``None``.

    Notebook: 01_generate_spectrograms.ipynb (through :func:`~audioclf_lib.cache.prepare_splits`)

    ``data/starter`` is a subset of corpus v2, and its ``manifest.csv`` keeps the train/val/test
    split each clip has in v2 (``split`` column). Splitting the subset afresh would put clips that
    the bundled checkpoints trained on (v2's train split) into the starter's test split; keeping
    v2's assignment means every test clip here is a test clip there too.

    Parameters
    ----------
    manifest : pd.DataFrame
        From :func:`build_manifest` on ``root``.
    root : str or Path
        The corpus folder whose ``manifest.csv`` may carry the ``split`` column.

    Returns
    -------
    manifest : pd.DataFrame or None
        A copy with the assigned ``split`` column, or ``None`` when ``manifest.csv`` has no such
        column or leaves a clip without one of train/val/test (then :func:`split_manifest` splits).
    """
    known = _read_known_manifest(Path(root))
    assigned = [known.get(path, {}).get("split") for path in manifest["path"]]
    if not assigned or any(s not in ("train", "val", "test") for s in assigned):
        return None
    return manifest.assign(split=assigned)


def corpus_splits(manifest: pd.DataFrame, root: str | Path, *, group_by: str = "original", seed: int = 0) -> pd.DataFrame:
    """``manifest`` with the split notebook 01 gives it: the one assigned in ``manifest.csv``, else a fresh one.

    Notebook: 01_generate_spectrograms.ipynb (through :func:`~audioclf_lib.cache.prepare_splits`; the tests,
    benchmarks and the live harness pick "held-out" clips with it too)

    Parameters
    ----------
    manifest : pd.DataFrame
        From :func:`build_manifest` on ``root``.
    root : str or Path
        The corpus folder.
    group_by, seed
        As for :func:`split_manifest`, when the corpus assigns no split.

    Returns
    -------
    pd.DataFrame
        A copy with a ``split`` column; ``attrs["split_by"]`` says which split it is.
    """
    assigned = assigned_splits(manifest, root)
    if assigned is not None:
        assigned.attrs["split_by"] = "assigned in manifest.csv"
        return assigned
    fresh = split_manifest(manifest, group_by=group_by, seed=seed)
    fresh.attrs["split_by"] = group_by
    return fresh


def split_table(manifest: pd.DataFrame) -> pd.DataFrame:
    """Clips and minutes per class and split (rows: class, columns: split).

    Notebook: 01_generate_spectrograms.ipynb

    Parameters
    ----------
    manifest : pd.DataFrame
        With ``class``, ``split`` and ``duration_s`` (:func:`split_manifest`).

    Returns
    -------
    table : pd.DataFrame
        Index ``class``; columns ``"<split> clips"`` (int) then ``"<split> min"`` (minutes, 1 decimal).
    """
    table = manifest.pivot_table(index="class", columns="split", values="duration_s", aggfunc=["count", "sum"])
    clips = table["count"].astype(int).add_suffix(" clips")
    minutes = (table["sum"] / 60).round(1).add_suffix(" min")
    return pd.concat([clips, minutes], axis=1)


def _read_known_manifest(root: Path) -> dict[str, dict]:
    path = root / "manifest.csv"
    if not path.exists():
        return {}
    df = pd.read_csv(path)
    if "file" not in df.columns:
        return {}
    return {row["file"]: row for row in df.to_dict("records")}


def _source_and_original(path: Path, cls: str) -> tuple[str, str]:
    stem = path.stem
    source = stem.split("__", 1)[0] if "__" in stem else path.parent.name
    original = _SEGMENT_SUFFIX.sub("", stem)
    return source, f"{cls}/{original}"
