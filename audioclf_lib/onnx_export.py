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
from .features import FeatureExtractor

__all__ = ["onnx_available", "onnx_bytes", "export_onnx", "OnnxModel", "model_content_hash", "cached_onnx_model"]

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
    path = folder / f"{stem}-{model_content_hash(ckpt)[:24]}.onnx"
    if path.is_file():
        try:
            return OnnxModel(path, threads=threads), path
        except Exception:  # noqa: BLE001 - a truncated or foreign file: export again below
            pass
    data, runner, _ = onnx_bytes(ckpt, atol=atol, threads=threads)
    try:
        atomic_write_bytes(path, data)
    except OSError:  # a read-only or full cache: this process still runs the checked export
        pass
    return runner, path


class OnnxModel:
    """ONNX Runtime session on the CPU: features (B, ...) float32 -> logits (B, n_classes).

    Notebook: 02_train_cnn.ipynb (the Predictor's ``onnx`` backend)

    Its threads do not spin while idle: in a notebook the same cores serve the audio callback,
    the UI and the kernel, and a spinning pool would steal them between windows.

    Calling ``model(X)`` with ``X`` an np.ndarray or torch.Tensor of features, e.g. shape
    (B, 1, n_mels, T), returns the logits as an np.ndarray of shape (B, n_classes), float32.

    Parameters
    ----------
    path_or_bytes : str or Path or bytes
        An ``.onnx`` file, or its contents.
    threads : int
        Intra-op threads (at least 1); one inter-op thread.

    Attributes
    ----------
    session : onnxruntime.InferenceSession
    class_names : list of str or None
        From the ``audioclf.class_names`` metadata, when present.
    """

    def __init__(self, path_or_bytes: str | Path | bytes, *, threads: int = 1):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        source = path_or_bytes if isinstance(path_or_bytes, bytes) else str(path_or_bytes)
        self.session = ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
        meta = self.session.get_modelmeta().custom_metadata_map
        self.class_names = json.loads(meta["audioclf.class_names"]) if "audioclf.class_names" in meta else None

    def __call__(self, features: np.ndarray | torch.Tensor) -> np.ndarray:
        if isinstance(features, torch.Tensor):
            features = features.detach().cpu().numpy()
        return self.session.run(None, {"features": np.ascontiguousarray(features, dtype=np.float32)})[0]

