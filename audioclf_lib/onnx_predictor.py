"""Classify without torch: the numpy front end and a cached, checked ONNX export, described by a sidecar file.

Command line: audioclf classify, audioclf evaluate (``--backend auto`` or ``numpy``)

``import torch`` alone takes about a second of every command-line start, and unpickling a checkpoint
needs it. Once a :class:`~audioclf_lib.predict.Predictor` has exported a checkpoint to ONNX and
checked it (:func:`~audioclf_lib.onnx_export.cached_onnx_model`), the cache folder also gets a small
JSON *sidecar* beside the ``.onnx`` file with what inference needs from the checkpoint: its feature
config, class names and model name, the ONNX file, the library versions, and how closely the numpy
front end (:class:`~audioclf_lib.features_numpy.LogMelNumpy`) matched the torch one on test windows
when it was written. The sidecar is named after the SHA-256 of the checkpoint *file*, which is
cheap to compute without torch, so a changed checkpoint finds no sidecar; :func:`load_onnx_predictor`
then returns None and the caller builds the torch Predictor, which exports again and writes a new
one. On load the feature config and class names are checked three ways: the sidecar's (copied from
the checkpoint) against the checksum, and against the metadata inside the ONNX file.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from .audio import SILENCE_DBFS
from .config import FeatureConfig, onnx_cache_dir
from .features_numpy import NUMPY_FRONT_END_VERSION, LogMelNumpy
from .scoring import PredictorBase

__all__ = ["OnnxModel", "OnnxPredictor", "SIDECAR_FORMAT", "checkpoint_file_hash", "sidecar_path", "read_sidecar",
           "load_onnx_predictor", "default_threads"]

SIDECAR_FORMAT = ("audioclf-onnx-sidecar", 1)


def default_threads() -> int:
    """Threads for ONNX Runtime where torch would choose them: ``$OMP_NUM_THREADS``, else the usable CPUs.

    Command line: audioclf classify (the main process; ``--jobs`` workers use one each)
    """
    try:
        return max(1, int(os.environ["OMP_NUM_THREADS"]))
    except (KeyError, ValueError):
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class OnnxModel:
    """ONNX Runtime session on the CPU: features (B, ...) float32 -> logits (B, n_classes).

    Notebook: 02_train_cnn.ipynb (the Predictor's ``onnx`` backend); Command line: audioclf classify

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
    metadata : dict of str -> str
        The file's ``audioclf.*`` metadata (feature config, class names, model name).
    """

    def __init__(self, path_or_bytes: str | Path | bytes, *, threads: int = 1):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        source = path_or_bytes if isinstance(path_or_bytes, bytes) else str(path_or_bytes)
        self.session = ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)
        meta = self.metadata
        self.class_names = json.loads(meta["audioclf.class_names"]) if "audioclf.class_names" in meta else None

    def __call__(self, features) -> np.ndarray:
        if not isinstance(features, np.ndarray):  # a torch.Tensor (the Predictor's front end)
            features = features.detach().cpu().numpy()
        return self.session.run(None, {"features": np.ascontiguousarray(features, dtype=np.float32)})[0]


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


class OnnxPredictor(PredictorBase):
    """A :class:`~audioclf_lib.predict.Predictor` without torch: numpy front end + ONNX Runtime, CPU only.

    Command line: audioclf classify, audioclf evaluate (what :func:`load_onnx_predictor` gives)

    Same methods and decisions as the Predictor (:class:`~audioclf_lib.scoring.PredictorBase`);
    probabilities agree with the Predictor's to ~1e-8 (the front ends differ in float rounding
    only; tested on real recordings). Windows of a file that share STFT frames share their
    computation (:meth:`~audioclf_lib.features_numpy.LogMelNumpy.stretch_features`).

    Parameters
    ----------
    config : FeatureConfig
        The checkpoint's (``logmel``).
    class_names : list of str
    model_name : str
    onnx_model : OnnxModel
    checkpoint_path : Path, optional
        The checkpoint it stands for (its stem is :attr:`name`).
    silence_dbfs : float or None
        As for the Predictor.
    batch_size : int
        Windows per model call.
    """

    backend = "onnx-numpy"
    device = "cpu"

    def __init__(self, *, config: FeatureConfig, class_names: list[str], model_name: str, onnx_model: OnnxModel,
                 checkpoint_path: Path | None = None, silence_dbfs: float | None = SILENCE_DBFS, batch_size: int = 32):
        self.config = config
        self.class_names = list(class_names)
        self.model_name = model_name
        self.onnx_model = onnx_model
        self.checkpoint_path = checkpoint_path
        self.silence_dbfs = silence_dbfs
        self.batch_size = batch_size
        self.front_end = LogMelNumpy(config)

    @property
    def name(self) -> str:
        """The checkpoint file's stem (``"music-noise"``), else the model's name."""
        return self.checkpoint_path.stem if self.checkpoint_path is not None else self.model_name

    def probabilities(self, windows: np.ndarray) -> np.ndarray:
        """Class probabilities of windows at the model's rate and length: shape (k, n_classes), float32.

        Command line: audioclf classify
        """
        windows = np.asarray(windows, dtype=np.float32)
        if windows.ndim == 1:
            windows = windows[None]
        out = [self._run(self.front_end.window_features(windows[i : i + self.batch_size]))
               for i in range(0, len(windows), self.batch_size)]
        return np.concatenate(out) if out else np.zeros((0, len(self.class_names)), np.float32)

    def stretch_probabilities(self, audio: np.ndarray, offset: int, starts: np.ndarray, n: int) -> np.ndarray:
        """Probabilities of overlapping model-length windows of one stretch, their inner STFT frames shared.

        Command line: audioclf classify (each decoded block of a file)
        """
        return self.stretch_scorer(audio, offset, starts, n)(np.arange(len(starts)))

    def stretch_scorer(self, audio: np.ndarray, offset: int, starts: np.ndarray, n: int):
        """``score(indices)`` over the windows of one stretch, its STFT frames computed once for every call.

        Command line: audioclf classify (coarse-to-fine scoring, :func:`~audioclf_lib.scoring.coarse_to_fine`)
        """
        if n != self.config.window_samples:  # longer or shorter windows: pieces or wrapped, one by one
            copied_out = super().stretch_probabilities
            return lambda indices: copied_out(audio, offset, starts[indices], n)
        db = self.front_end.stretch_db(audio, offset, starts, n)  # every window's frames, shared by the calls

        def score(indices: np.ndarray) -> np.ndarray:
            picked = db[indices]
            out = [self._run(self.front_end.normalise(picked[i : i + self.batch_size]))
                   for i in range(0, len(picked), self.batch_size)]
            return np.concatenate(out) if out else np.zeros((0, len(self.class_names)), np.float32)

        return score

    def _run(self, features: np.ndarray) -> np.ndarray:
        return _softmax(self.onnx_model(features))


def checkpoint_file_hash(path: str | Path) -> str:
    """SHA-256 of a checkpoint file's bytes (64 hex digits): what a sidecar is named after.

    Command line: audioclf classify
    """
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def sidecar_path(checkpoint_path: str | Path, digest: str, cache: str | Path | None = None) -> Path:
    """Where the sidecar of the checkpoint file with SHA-256 ``digest`` lives: ``<cache>/<stem>-ckpt-<digest[:24]>.json``.

    Command line: audioclf classify
    """
    folder = Path(cache) if cache is not None else onnx_cache_dir()
    return folder / f"{Path(checkpoint_path).stem}-ckpt-{digest[:24]}.json"


def _torch_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("torch")
    except PackageNotFoundError:
        return None


def read_sidecar(path: str | Path, digest: str) -> dict | None:
    """The sidecar at ``path`` when it describes the checkpoint with SHA-256 ``digest`` for the installed
    libraries and this numpy front end; None when missing, unreadable or made for anything else.

    Command line: audioclf classify

    Returns
    -------
    dict or None
        Keys ``checkpoint_sha256``, ``onnx_file``, ``model_name``, ``class_names``, ``feature_config``,
        ``versions``, ``parity`` (see :func:`~audioclf_lib.onnx_export.write_sidecar`).
    """
    import onnxruntime

    try:
        data = json.loads(Path(path).read_text())
        versions = data["versions"]
        ok = (data["format"], data["format_version"]) == SIDECAR_FORMAT and data["checkpoint_sha256"] == digest \
            and versions["numpy_front_end"] == NUMPY_FRONT_END_VERSION \
            and versions["onnxruntime"] == onnxruntime.__version__ and versions["torch"] == _torch_version()
        return data if ok else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def load_onnx_predictor(name_or_path: str | Path, *, cache: str | Path | None = None, threads: int | None = None,
                        silence_dbfs: float | None = SILENCE_DBFS) -> OnnxPredictor | None:
    """The torch-free predictor of a checkpoint when the cache holds its checked export and sidecar, else None.

    Command line: audioclf classify, audioclf evaluate (:func:`~audioclf_lib.commands.common.load_predictor`
    tries it first)

    Parameters
    ----------
    name_or_path : str or Path
        A bundled name or a checkpoint file (:func:`~audioclf_lib.checkpoint.resolve_checkpoint`).
    cache : str or Path, optional
        The ONNX cache folder (default :func:`~audioclf_lib.config.onnx_cache_dir`).
    threads : int, optional
        ONNX Runtime intra-op threads (default :func:`default_threads`).
    silence_dbfs : float or None
        As for the Predictor.

    Returns
    -------
    OnnxPredictor or None
        None when there is no valid sidecar for this file's content (never written, another
        checkpoint, other library versions), when the ONNX file is missing or unreadable, or
        when its metadata disagrees with the sidecar: the torch Predictor is the way then.

    Raises
    ------
    CheckpointError
        ``name_or_path`` is neither a bundled name nor a file.
    """
    from .checkpoint import resolve_checkpoint

    path = resolve_checkpoint(name_or_path)
    digest = checkpoint_file_hash(path)
    folder = Path(cache) if cache is not None else onnx_cache_dir()
    data = read_sidecar(sidecar_path(path, digest, folder), digest)
    if data is None:
        return None
    try:
        config = FeatureConfig.from_dict(data["feature_config"])
        onnx_path = folder / Path(data["onnx_file"]).name
        if config.representation != "logmel" or not onnx_path.is_file():
            return None
        model = OnnxModel(onnx_path, threads=threads if threads is not None else default_threads())
        meta = model.metadata
        if FeatureConfig.from_dict(json.loads(meta["audioclf.feature_config"])) != config \
                or model.class_names != list(data["class_names"]) or meta.get("audioclf.model_name") != data["model_name"]:
            return None
    except Exception:  # noqa: BLE001 - a damaged cache entry: the torch Predictor exports it again
        return None
    return OnnxPredictor(config=config, class_names=data["class_names"], model_name=data["model_name"],
                         onnx_model=model, checkpoint_path=path, silence_dbfs=silence_dbfs)
