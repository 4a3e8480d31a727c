"""Export a checkpoint's model to ONNX and run it with ONNX Runtime (the front end stays in torch).

    audioclf export-onnx --model music-speech-noise [--out model.onnx]

The export is checked against PyTorch on real front-end features before it is used or written;
the ONNX file carries the feature config and class names as metadata, so it is self-describing.
The :class:`~audioclf_lib.predict.Predictor` uses the same export for its ``onnx`` backend (the
default on the CPU when ONNX Runtime is installed), through :func:`cached_onnx_model`: exporting and
checking takes seconds, so the checked export is kept on disk, keyed by the model's content and the
versions that made it, and a command-line start only loads it.
"""
from __future__ import annotations

import hashlib
import io
import json
import warnings
from pathlib import Path

import numpy as np
import torch

from .checkpoint import Checkpoint, atomic_write_bytes, load_checkpoint
from .config import onnx_cache_dir
from .features import FRONT_END_VERSION, FeatureExtractor
from .onnx_predictor import OnnxModel

__all__ = ["onnx_available", "onnx_bytes", "export_onnx", "OnnxModel", "model_content_hash", "cached_onnx_model",
           "write_sidecar"]

OPSET = 17


def onnx_available() -> bool:
    """Whether ``onnx`` and ``onnxruntime`` can be imported (both are needed to export and run).

    Notebook: 02_train_cnn.ipynb (the Predictor's ``backend="auto"`` asks it); Benchmarks: make bench

    Returns
    -------
    bool
    """
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def _example_input(ckpt: Checkpoint) -> torch.Tensor:
    extractor = FeatureExtractor(ckpt.feature_config)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        return extractor(torch.randn(2, ckpt.feature_config.window_samples, generator=gen) * 0.1)


def onnx_bytes(ckpt: Checkpoint, *, atol: float = 1e-4, threads: int = 1) -> tuple[bytes, "OnnxModel", float]:
    """The checkpoint's model as an ONNX file in memory (dynamic batch, metadata attached), a session
    on it, and the max |ONNX - PyTorch| on example features.

    Notebook: 02_train_cnn.ipynb (through :func:`cached_onnx_model`, the Predictor's start-up)

    Raises ``RuntimeError`` if ONNX Runtime disagrees with PyTorch by more than ``atol``, so an
    export is never used silently wrong.

    Parameters
    ----------
    ckpt : Checkpoint
        Its model is moved to the CPU and put in eval mode.
    atol : float
        Largest accepted |ONNX - PyTorch| on the logits of two random example windows.
    threads : int
        ONNX Runtime intra-op threads of the returned session.

    Returns
    -------
    data : bytes
        The ONNX model (opset :data:`OPSET`; input ``features`` (batch, ...), output ``logits``
        (batch, n_classes)), with ``audioclf.feature_config``, ``audioclf.class_names`` and
        ``audioclf.model_name`` metadata.
    runner : OnnxModel
        A session on ``data``.
    diff : float
        The measured max |ONNX - PyTorch|.

    Raises
    ------
    RuntimeError
        ``diff > atol``.
    ImportError
        ``onnx`` is not installed.
    """
    import onnx

    model = ckpt.model.cpu().eval()
    x = _example_input(ckpt)
    buf = io.BytesIO()
    with warnings.catch_warnings():  # the tracer's notes on Python-level branches (return_embedding) are expected
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", DeprecationWarning)  # torch 2.13 notes its TorchScript-based exporter's future
        torch.onnx.export(model, (x,), buf, dynamo=False, opset_version=OPSET, input_names=["features"],
                          output_names=["logits"], dynamic_axes={"features": {0: "batch"}, "logits": {0: "batch"}})
    proto = onnx.load_from_string(buf.getvalue())
    for key, value in (("audioclf.feature_config", json.dumps(ckpt.feature_config.to_dict())),
                       ("audioclf.class_names", json.dumps(ckpt.class_names)), ("audioclf.model_name", ckpt.model_name)):
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    data = proto.SerializeToString()
    runner = OnnxModel(data, threads=threads)
    with torch.no_grad():
        diff = float(np.abs(runner(x.numpy()) - model(x).numpy()).max())
    if diff > atol:
        raise RuntimeError(f"ONNX export of {ckpt.model_name} differs from PyTorch by {diff:.2e} (> {atol:g})")
    return data, runner, diff


def export_onnx(checkpoint: str | Path | Checkpoint, out_path: str | Path, *, atol: float = 1e-4) -> tuple[Path, float]:
    """Write the model as ONNX (dynamic batch) and return the path and the max |ONNX - PyTorch| on test input.

    Command line: audioclf export-onnx

    Parameters
    ----------
    checkpoint : str or Path or Checkpoint
        A bundled name, a checkpoint file (:func:`~audioclf_lib.checkpoint.load_checkpoint`) or a loaded one.
    out_path : str or Path
        Written atomically, only after the parity check passed.
    atol : float
        As for :func:`onnx_bytes`.

    Returns
    -------
    path : Path
    diff : float

    Raises
    ------
    RuntimeError
        The export disagrees with PyTorch (nothing is written).
    CheckpointError
        ``checkpoint`` cannot be loaded.
    """
    ckpt = checkpoint if isinstance(checkpoint, Checkpoint) else load_checkpoint(checkpoint)
    data, _, diff = onnx_bytes(ckpt, atol=atol)
    atomic_write_bytes(out_path, data)
    return Path(out_path), diff


def model_content_hash(ckpt: Checkpoint) -> str:
    """SHA-256 over what the ONNX file is made of: model name and arguments, classes, every weight, and the
    torch / onnx / onnxruntime versions and opset that export and run it.

    Notebook: 02_train_cnn.ipynb (through :func:`cached_onnx_model`, the Predictor's start-up)

    Parameters
    ----------
    ckpt : Checkpoint
        Loaded checkpoint (with or without a file behind it).

    Returns
    -------
    str
        64 hex digits; any changed weight, class name or library version gives another key.
    """
    import onnx
    import onnxruntime

    h = hashlib.sha256()
    header = {"model": ckpt.model_name, "kwargs": ckpt.model_kwargs, "classes": list(ckpt.class_names),
              "features": ckpt.feature_config.to_dict(), "opset": OPSET, "torch": torch.__version__,
              "onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__}
    h.update(json.dumps(header, sort_keys=True, default=str).encode())
    for name, tensor in sorted(ckpt.model.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def cached_onnx_model(ckpt: Checkpoint, *, threads: int = 1, cache: str | Path | None = None,
                      atol: float = 1e-4) -> tuple["OnnxModel", Path]:
    """An ONNX Runtime session on the checkpoint's model, from the on-disk cache when it holds this model.

    Notebook: 02_train_cnn.ipynb (the Predictor's start-up: its default backend on the CPU; the live loop of
    notebook 05 starts the same way)

    The first call exports, checks parity against PyTorch (:func:`onnx_bytes`) and writes the file
    atomically; later calls (other processes included) load it without exporting again. A changed
    checkpoint or library version has another key and so another file; an unreadable cache file is
    exported anew; a read-only cache folder is tolerated (the export is used from memory).

    Parameters
    ----------
    ckpt : Checkpoint
        The model to run.
    threads : int
        ONNX Runtime intra-op threads.
    cache : str or Path, optional
        Cache folder (default :func:`~audioclf_lib.config.onnx_cache_dir`).
    atol : float
        Parity tolerance of a new export.

    Returns
    -------
    (OnnxModel, Path)
        The session and the cache file it belongs to.

    Raises
    ------
    RuntimeError
        A new export disagrees with PyTorch by more than ``atol``.
    """
    folder = Path(cache) if cache is not None else onnx_cache_dir()
    stem = ckpt.path.stem if ckpt.path is not None else ckpt.model_name  # a readable name; the key decides
    key = model_content_hash(ckpt)
    path = folder / f"{stem}-{key[:24]}.onnx"
    runner = None
    if path.is_file():
        try:
            runner = OnnxModel(path, threads=threads)
        except Exception:  # noqa: BLE001 - a truncated or foreign file: export again below
            pass
    if runner is None:
        data, runner, _ = onnx_bytes(ckpt, atol=atol, threads=threads)
        try:
            atomic_write_bytes(path, data)
        except OSError:  # a read-only or full cache: this process still runs the checked export
            return runner, path
    try:
        write_sidecar(ckpt, path, runner, key=key)
    except Exception:  # noqa: BLE001 - best effort: without a sidecar the command line takes this torch path
        pass
    return runner, path


#: The numpy front end may differ from torch's by float rounding only: a sidecar is written when the
#: probabilities of the test windows agree this closely.
SIDECAR_ATOL = 1e-5


def write_sidecar(ckpt: Checkpoint, onnx_path: str | Path, runner: OnnxModel, *, key: str | None = None) -> Path | None:
    """Describe a cached export for the torch-free command line (:mod:`audioclf_lib.onnx_predictor`), once checked.

    Command line: audioclf classify (the first run of a checkpoint writes it, through the Predictor's
    :func:`cached_onnx_model`)

    Written (atomically, next to ``onnx_path``) only when ``ckpt`` is what its file holds (an
    in-memory change to the weights has another content key), its representation is ``logmel``,
    and the numpy front end gives the same probabilities as the torch one within
    :data:`SIDECAR_ATOL` on test windows (noise, a tone over a DC offset and near silence, framed
    alone and as overlapping windows of one stretch). An existing sidecar for the same checkpoint
    file and export is left as it is.

    Parameters
    ----------
    ckpt : Checkpoint
        Loaded from a file (``ckpt.path``).
    onnx_path : str or Path
        Its checked export in the cache.
    runner : OnnxModel
        A session on that export.
    key : str, optional
        :func:`model_content_hash` of ``ckpt`` (computed when not given).

    Returns
    -------
    Path or None
        The sidecar, or None when none applies (no file behind ``ckpt``, another representation,
        weights changed in memory, front ends that disagree).
    """
    from .features_numpy import NUMPY_FRONT_END_VERSION, LogMelNumpy
    from .onnx_predictor import SIDECAR_FORMAT, _softmax, _torch_version, checkpoint_file_hash, read_sidecar, sidecar_path

    if ckpt.path is None or ckpt.feature_config.representation != "logmel":
        return None
    onnx_path = Path(onnx_path)
    digest = checkpoint_file_hash(ckpt.path)
    target = sidecar_path(ckpt.path, digest, onnx_path.parent)
    existing = read_sidecar(target, digest)
    if existing is not None and existing["onnx_file"] == onnx_path.name:
        return target
    key = key or model_content_hash(ckpt)
    if model_content_hash(load_checkpoint(ckpt.path)) != key:  # the weights in memory are not the file's
        return None
    config = ckpt.feature_config
    n = config.window_samples
    gen = torch.Generator().manual_seed(1)
    t = torch.arange(n + 3 * n // 4) / config.sample_rate
    stretch = (0.3 * torch.sin(2 * torch.pi * 440 * t) + 0.05 + 0.01 * torch.randn(t.shape, generator=gen)).numpy()
    starts = np.array([0, n // 4 + 8, n // 2 + 64, 3 * n // 4])  # frame grids of several phases
    windows = np.stack([stretch[s : s + n] for s in starts] + [np.random.default_rng(1).normal(0, 0.1, n),
                                                                np.full(n, 1e-6) + np.random.default_rng(2).normal(0, 1e-6, n)])
    windows = windows.astype(np.float32)
    with torch.no_grad():
        reference = FeatureExtractor(config)(torch.from_numpy(windows)).numpy()
    front_end = LogMelNumpy(config)
    ours = np.concatenate([front_end.stretch_features(stretch.astype(np.float32), 0, starts, n),
                           front_end.window_features(windows[len(starts):])])
    p_ref, p_ours = _softmax(runner(reference)), _softmax(runner(ours))
    feature_diff, prob_diff = float(np.abs(ours - reference).max()), float(np.abs(p_ours - p_ref).max())
    if not prob_diff <= SIDECAR_ATOL:
        return None
    import onnxruntime

    data = {"format": SIDECAR_FORMAT[0], "format_version": SIDECAR_FORMAT[1], "checkpoint_sha256": digest,
            "checkpoint": str(ckpt.path), "onnx_file": onnx_path.name, "onnx_key": key, "model_name": ckpt.model_name,
            "class_names": list(ckpt.class_names), "feature_config": config.to_dict(),
            "versions": {"onnxruntime": onnxruntime.__version__, "torch": _torch_version(),
                         "numpy_front_end": NUMPY_FRONT_END_VERSION, "torch_front_end": FRONT_END_VERSION},
            "parity": {"windows": len(windows), "features_max_abs": feature_diff, "probabilities_max_abs": prob_diff}}
    atomic_write_bytes(target, (json.dumps(data, indent=1) + "\n").encode())
    return target
