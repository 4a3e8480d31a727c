"""Recordings of a device: clip sets played through simulated devices, and folders of real recordings.

Notebook: 04_device_mismatch_finetune.ipynb

A device's recordings live in ``<devices_dir>/<device>/<class>/*.wav`` (what the recorder
writes, what :func:`write_device_clips` writes for simulated ones) and the models fine-tuned on
them beside, as ``<devices_dir>/<device>/*.pt``.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from ..audio import SILENCE_DBFS
from ..config import REPO_ROOT
from ..data import ClipSet, build_manifest, load_clips
from .chain import simulate
from .profiles import DeviceProfile, random_device

__all__ = [
    "simulate_clips",
    "random_device_clips",
    "select_clips",
    "devices_dir",
    "device_checkpoints",
    "write_device_clips",
    "load_device_clips",
]


def simulate_clips(clips: ClipSet, device: DeviceProfile | str | Callable[[int], DeviceProfile], *, seed: int = 0,
                   classes: Sequence[str] | None = None) -> ClipSet:
    """Every clip of ``clips`` (optionally only ``classes``) recorded through a device.

    Notebook: 04_device_mismatch_finetune.ipynb

    Clip ``i`` uses the generator ``default_rng((seed, i))``: reproducible clip by clip, and a
    clip's recording does not depend on which other clips are recorded with it.

    Parameters
    ----------
    clips : the clips as the corpus holds them.
    device : a profile, a preset name, or ``f(i) -> DeviceProfile`` (a different device per clip).
    seed : seed of every clip's noise.
    classes : record only clips of these classes (all when ``None``).

    Returns
    -------
    ClipSet with the recorded clips, same lengths, rate and table rows as the kept clips.
    """
    keep = np.arange(len(clips)) if classes is None else np.flatnonzero(clips.table["class"].isin(list(classes)).to_numpy())
    pieces = []
    for i in keep:
        profile = device(int(i)) if callable(device) and not isinstance(device, (DeviceProfile, str)) else device
        pieces.append(simulate(clips.clip(int(i)), clips.sample_rate, profile, np.random.default_rng((seed, int(i)))))
    return ClipSet.from_pieces(pieces, clips.table.iloc[keep], clips.sample_rate)


def random_device_clips(clips: ClipSet, *, seed: int = 0, classes: Sequence[str] | None = None) -> ClipSet:
    """Every clip of ``clips`` recorded through a device of its own: a fixed "many microphones" set.

    Notebook: 04_device_mismatch_finetune.ipynb

    Clip ``i`` goes through ``random_device(default_rng((seed, 99, i)))`` with noise drawn from
    ``default_rng((seed + 99, i))``: the same clips and seed give the same recordings, so a model
    trained with :class:`~audioclf_lib.devices.RandomDevice` can pick its epoch on them without
    ever hearing a preset.

    Parameters
    ----------
    clips : the clips as the corpus holds them.
    seed : seed of the devices and their noise.
    classes : record only clips of these classes (all when ``None``).

    Returns
    -------
    ClipSet, as :func:`simulate_clips`.
    """
    return simulate_clips(clips, lambda i: random_device(np.random.default_rng((seed, 99, i)), clips.sample_rate),
                          seed=seed + 99, classes=classes)


def select_clips(clips: ClipSet, n_clips: int, class_names: Sequence[str], *, seed: int = 0) -> ClipSet:
    """``n_clips`` clips of ``class_names``, as evenly spread over the classes as possible (a new device's few recordings).

    Notebook: 04_device_mismatch_finetune.ipynb

    Each class's clips are shuffled once with ``seed`` and the first ones taken, so the
    selections for growing ``n_clips`` are nested (5 clips are among the 10), which keeps a
    learning curve free of selection noise. The first classes get the remainder.

    Parameters
    ----------
    clips : where to choose from.
    n_clips : how many clips in all (>= 0).
    class_names : the classes to spread them over.
    seed : seed of the shuffles.

    Returns
    -------
    ClipSet of the chosen clips, in their order in ``clips``; ``ValueError`` when a class has too few.
    """
    if n_clips < 0:
        raise ValueError(f"n_clips={n_clips} must be >= 0")
    classes = clips.table["class"].to_numpy()
    per_class = [n_clips // len(class_names) + (k < n_clips % len(class_names)) for k in range(len(class_names))]
    keep = []
    for k, (name, n) in enumerate(zip(class_names, per_class)):
        idx = np.flatnonzero(classes == name)
        if n > len(idx):
            raise ValueError(f"asked for {n} clips of {name!r}, the split has {len(idx)}")
        keep.extend(np.random.default_rng((seed, k)).permutation(idx)[:n].tolist())
    return clips.take(np.sort(np.asarray(keep, dtype=np.int64)))


def devices_dir() -> Path:
    """Where recordings of your own devices live.

    Notebook: 04_device_mismatch_finetune.ipynb

    Returns
    -------
    Path: ``$AUDIOCLF_DEVICES`` if set, else ``<repository>/data/devices`` (``<name>/<class>/*.wav``).
    """
    value = os.environ.get("AUDIOCLF_DEVICES")
    return Path(value).expanduser().resolve() if value else REPO_ROOT / "data" / "devices"


def device_checkpoints(root: str | Path | None = None) -> dict[str, Path]:
    """Checkpoints fine-tuned on your own recordings, as notebook 04 part 5 and the ``finetune`` command save them.

    Notebook: 05_live_demo.ipynb

    Parameters
    ----------
    root : the devices folder (default :func:`devices_dir`); checkpoints are ``<root>/<device>/*.pt``.

    Returns
    -------
    dict ``"<device>/<name>"`` -> path, sorted; empty when ``root`` does not exist.
    """
    root = Path(root) if root is not None else devices_dir()
    return {f"{p.parent.name}/{p.stem}": p for p in sorted(root.glob("*/*.pt")) if p.is_file()} if root.is_dir() else {}


def write_device_clips(clips: ClipSet, folder: str | Path, *, replace: bool = True) -> pd.DataFrame:
    """Write every clip as ``<folder>/<class>/<name>.wav`` (16-bit PCM), the recorder's layout.

    Notebook: 04_device_mismatch_finetune.ipynb

    Parameters
    ----------
    clips : the recordings to write.
    folder : the device's folder.
    replace : empty ``folder`` first, so a rerun never mixes old and new clips.

    Returns
    -------
    pandas.DataFrame, one row per file: ``path``, ``class``, ``seconds``.
    """
    folder = Path(folder)
    if replace and folder.exists():
        shutil.rmtree(folder)
    rows = []
    for i in range(len(clips)):
        row = clips.table.iloc[i]
        stem = Path(str(row["path"])).stem
        out = folder / str(row["class"]) / f"{stem}.wav"
        out.parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(out), clips.clip(i), clips.sample_rate, subtype="PCM_16")
        rows.append({"path": out, "class": row["class"], "seconds": len(clips.clip(i)) / clips.sample_rate})
    return pd.DataFrame(rows)


def load_device_clips(folder: str | Path, class_names: Sequence[str], *, sr: int = 16_000,
                      silence_dbfs: float = SILENCE_DBFS) -> ClipSet:
    """Clips recorded with one device (``<folder>/<class>/*.wav``) as a :class:`~audioclf_lib.data.ClipSet`.

    Notebook: 04_device_mismatch_finetune.ipynb

    Parameters
    ----------
    folder : the device's folder.
    class_names : the classes to load (other subfolders are ignored).
    sr : sample rate to resample to (Hz).
    silence_dbfs : clips whose loud frames stay below this level are skipped as silent (the
        predictor's silence gate, :data:`~audioclf_lib.audio.SILENCE_DBFS`).

    Returns
    -------
    ClipSet at ``sr``. Raises ``FileNotFoundError`` for a missing folder and ``ValueError`` when a
    class has no usable clip (with what was found), so half-finished recordings say what is missing.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no recordings at {folder}: record some clips first (data/devices/<name>/<class>/)")
    manifest, _ = build_manifest(folder, list(class_names))
    clips, skipped = load_clips(manifest, folder, sr, silence_dbfs=silence_dbfs, n_jobs=1, progress=False)
    counts = clips.table["class"].value_counts()
    missing = [c for c in class_names if counts.get(c, 0) == 0]
    if missing:
        raise ValueError(f"{folder}: no usable clips of class(es) {missing}; found {counts.to_dict()}, "
                         f"skipped {len(skipped)} (silent or unreadable)")
    return clips
