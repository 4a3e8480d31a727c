"""Checkpoints that carry everything needed to use them: model name and arguments, classes,
the feature config, what they were trained on, and their metrics. Written atomically.
"""
from __future__ import annotations

import io
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .config import FeatureConfig, checkpoints_dir

if TYPE_CHECKING:  # torch is imported where a checkpoint is saved or loaded: resolving a name needs none
    from .models import AudioClassifier

__all__ = [
    "CheckpointError",
    "FeatureConfigMismatch",
    "Checkpoint",
    "save_checkpoint",
    "load_checkpoint",
    "resolve_checkpoint",
    "bundled_checkpoints",
    "atomic_write_bytes",
]

FORMAT = "audioclf-checkpoint"
FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A file that is not a usable audioclf checkpoint, with the reason.

    Notebook: 02_train_cnn.ipynb (raised by :func:`load_checkpoint` and :func:`save_checkpoint`; notebook 04
    catches it); Command line: exit status 2 with the message.

    A subclass of ``ValueError``.
    """


class FeatureConfigMismatch(CheckpointError):
    """The checkpoint was trained on different features than the caller expects.

    Notebook: 03_train_3d_cnn.ipynb (:func:`load_checkpoint` with ``expected_config`` raises it)

    Its message lists every differing field with both values.
    """


@dataclass
class Checkpoint:
    """A loaded checkpoint: the model (eval mode, CPU) and its metadata.

    Notebook: 02_train_cnn.ipynb (what :func:`load_checkpoint` returns; the Predictor holds one)

    Attributes
    ----------
    model : AudioClassifier
        Eval mode, on the CPU.
    model_name : str
        Registry name (:data:`~audioclf_lib.models.MODELS`).
    model_kwargs : dict
        Constructor arguments.
    class_names : list of str
        In output order.
    feature_config : FeatureConfig
        The front end the model was trained with.
    train_summary, metrics : dict
        As saved (empty when none).
    path : Path or None
        The file it was loaded from.
    """

    model: AudioClassifier
    model_name: str
    model_kwargs: dict
    class_names: list[str]
    feature_config: FeatureConfig
    train_summary: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    path: Path | None = None


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file + rename: never a half-written file.

    Notebook: 02_train_cnn.ipynb (through :func:`save_checkpoint` and :func:`~audioclf_lib.train.fit`'s state file)

    The temporary file sits in the same folder (created when missing) and is fsynced before the
    rename; on any error it is removed and the error re-raised.

    Parameters
    ----------
    path : str or Path
    data : bytes
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; a checkpoint is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_checkpoint(
    path: str | Path,
    model: AudioClassifier,
    *,
    model_name: str,
    class_names: list[str],
    feature_config: FeatureConfig,
    model_kwargs: dict | None = None,
    train_summary: dict | None = None,
    metrics: dict | None = None,
    extra: dict | None = None,
) -> Path:
    """Save a model with its metadata (atomically).

    Notebook: 02_train_cnn.ipynb

    Parameters
    ----------
    path : str or Path
        The ``.pt`` file.
    model : AudioClassifier
        Its state dict is saved on the CPU.
    model_name : str
        Registry name, so :func:`load_checkpoint` can rebuild it.
    class_names : list of str
        One per output of ``model.head``.
    feature_config : FeatureConfig
        The front end the model was trained with (checked on load).
    model_kwargs : dict or None
        Constructor arguments for :func:`~audioclf_lib.models.build_model`.
    train_summary, metrics : dict or None
        Stored as given.
    extra : dict or None
        More top-level keys.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    CheckpointError
        The number of class names differs from the model's outputs.
    """
    import torch

    if len(class_names) != model.head.out_features:
        raise CheckpointError(f"{len(class_names)} class names for a model with {model.head.out_features} outputs")
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model_name": model_name,
        "model_kwargs": dict(model_kwargs or {}),
        "class_names": list(class_names),
        "feature_config": feature_config.to_dict(),
        "train_summary": dict(train_summary or {}),
        "metrics": dict(metrics or {}),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        **(extra or {}),
    }
    buf = io.BytesIO()
    torch.save(payload, buf)
    atomic_write_bytes(path, buf.getvalue())
    return Path(path)


def bundled_checkpoints() -> dict[str, Path]:
    """Name -> path of the reference checkpoints shipped with the package.

    Notebook: 05_live_demo.ipynb; Command line: audioclf models

    Returns
    -------
    dict of str -> Path
        File stem -> ``*.pt`` in :func:`~audioclf_lib.config.checkpoints_dir`, sorted; empty when the
        folder does not exist.
    """
    folder = checkpoints_dir()
    return {p.stem: p for p in sorted(folder.glob("*.pt"))} if folder.exists() else {}


def resolve_checkpoint(name_or_path: str | Path) -> Path:
    """A bundled name (``music-noise``) or a file path -> the checkpoint file.

    Notebook: 02_train_cnn.ipynb (through :func:`load_checkpoint`)

    Parameters
    ----------
    name_or_path : str or Path
        A bundled name wins over a file of the same name.

    Returns
    -------
    Path

    Raises
    ------
    CheckpointError
        Neither a bundled name nor an existing file (the bundled names are listed).
    """
    bundled = bundled_checkpoints()
    if str(name_or_path) in bundled:
        return bundled[str(name_or_path)]
    path = Path(name_or_path)
    if path.is_file():
        return path
    raise CheckpointError(
        f"no checkpoint {str(name_or_path)!r}: not a bundled model ({', '.join(sorted(bundled)) or 'none bundled'}) "
        "and not an existing file"
    )


def load_checkpoint(
    name_or_path: str | Path,
    *,
    expected_config: FeatureConfig | None = None,
    expected_classes: list[str] | None = None,
    expected_model: str | None = None,
) -> Checkpoint:
    """Load a checkpoint, checking it is one and matches what the caller expects.

    Notebook: 02_train_cnn.ipynb (through the Predictor; notebooks 03 and 04 call it directly)

    Parameters
    ----------
    name_or_path : str or Path
        A bundled name or a file (:func:`resolve_checkpoint`).
    expected_config : FeatureConfig or None
        The front end the caller will feed; ``None`` accepts any.
    expected_classes : list of str or None
        Class names in order; ``None`` accepts any.
    expected_model : str or None
        Registry name; ``None`` accepts any.

    Returns
    -------
    Checkpoint
        Model in eval mode on the CPU.

    Raises
    ------
    CheckpointError
        Not a file, truncated, not an audioclf checkpoint, unknown model, weights that do not fit.
    FeatureConfigMismatch
        ``expected_config`` given and different: the message lists every differing field.
    """
    import torch

    from .models import build_model

    path = resolve_checkpoint(name_or_path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch.load of arbitrary bytes can raise almost anything (KeyError, EOFError, ...)
        raise CheckpointError(f"{path}: not a readable checkpoint (truncated or another format: {str(exc)[:120]})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an audioclf checkpoint (no '{FORMAT}' marker)")
    if payload.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format {payload['format_version']} is newer than this audioclf ({FORMAT_VERSION})")
    try:
        config = FeatureConfig.from_dict(payload["feature_config"])
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: invalid feature config ({exc})") from None
    name, classes = payload["model_name"], list(payload["class_names"])
    if expected_model is not None and name != expected_model:
        raise CheckpointError(f"{path}: holds a {name!r} model, expected {expected_model!r}")
    if expected_config is not None and config != expected_config:
        diffs = "; ".join(f"{k}: checkpoint {a!r} vs expected {b!r}" for k, (a, b) in config.diff(expected_config).items())
        raise FeatureConfigMismatch(f"{path}: feature config does not match ({diffs})")
    if expected_classes is not None and classes != list(expected_classes):
        raise CheckpointError(f"{path}: classes {classes} do not match expected {list(expected_classes)}")
    try:
        model = build_model(name, len(classes), **payload.get("model_kwargs", {}))
        model.load_state_dict(payload["state_dict"])
    except (ValueError, RuntimeError, TypeError, KeyError) as exc:
        raise CheckpointError(f"{path}: weights do not fit model {name!r} ({str(exc)[:200]})") from None
    if getattr(model, "representation", config.representation) != config.representation:
        raise CheckpointError(f"{path}: model {name!r} expects {model.representation!r} input, config says {config.representation!r}")
    model.eval()
    return Checkpoint(model, name, payload.get("model_kwargs", {}), classes, config,
                      payload.get("train_summary", {}), payload.get("metrics", {}), path)
