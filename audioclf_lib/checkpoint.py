"""Checkpoints that carry everything needed to use them: model name and arguments, classes,
the feature config, what they were trained on, and their metrics. Written atomically.
"""
from __future__ import annotations

import io
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .config import FeatureConfig, checkpoints_dir
from .models import AudioClassifier, build_model

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
    """A file that is not a usable audioclf checkpoint, with the reason."""


class FeatureConfigMismatch(CheckpointError):
    """The checkpoint was trained on different features than the caller expects."""


@dataclass
class Checkpoint:
    """A loaded checkpoint: the model (eval mode, CPU) and its metadata."""

    model: AudioClassifier
    model_name: str
    model_kwargs: dict
    class_names: list[str]
    feature_config: FeatureConfig
    train_summary: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    path: Path | None = None


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file + rename: never a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
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
    """
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
    """Name -> path of the reference checkpoints shipped with the package."""
    folder = checkpoints_dir()
    return {p.stem: p for p in sorted(folder.glob("*.pt"))} if folder.exists() else {}


def resolve_checkpoint(name_or_path: str | Path) -> Path:
    """A bundled name (``music-noise``) or a file path -> the checkpoint file."""
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

    Notebook: 02_train_cnn.ipynb

    Raises
    ------
    CheckpointError
        Not a file, truncated, not an audioclf checkpoint, unknown model, weights that do not fit.
    FeatureConfigMismatch
        ``expected_config`` given and different: the message lists every differing field.
    """
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
