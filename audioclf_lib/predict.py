"""The ``Predictor``: checkpoint + its feature front end + model in eval mode, for one window or long audio.

Notebook: 02_train_cnn.ipynb

The CLI, evaluation and the live loop all classify through this one class (or, on the command line,
through its torch-free twin :class:`~audioclf_lib.onnx_predictor.OnnxPredictor`), so what a notebook
measures is what a user gets. Everything above the model (input checks, the silence gate, windows of
files, the decision policy) is :class:`~audioclf_lib.scoring.PredictorBase`, shared by both; this
module adds the torch front end and the model. :class:`Prediction`, :class:`SegmentedFile`,
:func:`decide_window` and :func:`window_probabilities` live in :mod:`audioclf_lib.scoring` and are
importable from here as before.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .audio import SILENCE_DBFS
from .checkpoint import Checkpoint, load_checkpoint
from .features import FeatureExtractor
from .runtime import default_device
from .scoring import Prediction, PredictorBase, SegmentedFile, decide_window, window_probabilities

__all__ = ["Prediction", "Predictor", "SegmentedFile", "decide_window", "window_probabilities"]


class Predictor(PredictorBase):
    """Classify audio with a checkpoint.

    Notebook: 02_train_cnn.ipynb

    Parameters
    ----------
    checkpoint : bundled name, path, or a loaded :class:`~audioclf_lib.checkpoint.Checkpoint`.
    device : ``"cuda"``, ``"cpu"`` or ``None`` (CUDA when present).
    silence_dbfs : silence gate for :meth:`predict` (``None`` disables it).
    backend : who runs the model (the front end is always the torch one): ``"torch"``, ``"onnx"``
        (ONNX Runtime, CPU only) or ``"auto"``: ONNX Runtime on the CPU when it is installed and
        the export matches PyTorch, else torch. On one CPU thread ONNX Runtime runs the small
        CNNs several times faster than torch's eager mode (``make bench`` measures both).
    """

    BACKENDS = ("auto", "torch", "onnx")

    def __init__(self, checkpoint: str | Path | Checkpoint, *, device: str | torch.device | None = None,
                 silence_dbfs: float | None = SILENCE_DBFS, backend: str = "auto"):
        if backend not in self.BACKENDS:
            raise ValueError(f"backend={backend!r}; expected one of {self.BACKENDS}")
        self.checkpoint = checkpoint if isinstance(checkpoint, Checkpoint) else load_checkpoint(checkpoint)
        self.config = self.checkpoint.feature_config
        self.class_names = list(self.checkpoint.class_names)
        self.device = torch.device(device) if device is not None else default_device()
        if backend == "onnx" and self.device.type != "cpu":
            raise ValueError(f"backend='onnx' runs on the CPU only, not on {self.device}")
        self.extractor = FeatureExtractor(self.config).to(self.device).eval()
        self.model = self.checkpoint.model.to(self.device).eval()
        self.onnx_model = self._onnx_model(backend)
        self.backend = "onnx" if self.onnx_model is not None else "torch"
        self.silence_dbfs = silence_dbfs

    def _onnx_model(self, backend: str):
        if backend == "torch" or self.device.type != "cpu":
            return None
        from .onnx_export import cached_onnx_model, onnx_available

        if not onnx_available():
            if backend == "onnx":
                raise ImportError("backend='onnx' needs the onnx and onnxruntime packages (core dependencies: pip install -e .)")
            return None
        try:
            return cached_onnx_model(self.checkpoint, threads=torch.get_num_threads())[0]
        except Exception:  # an architecture the exporter cannot express, or no parity: torch runs it
            if backend == "onnx":
                raise
            return None

    @property
    def model_name(self) -> str:
        """The model's registry name (``"mel_cnn"``)."""
        return self.checkpoint.model_name

    @property
    def name(self) -> str:
        """The checkpoint file's stem (``"music-noise"``), else the model's name."""
        path = self.checkpoint.path
        return path.stem if path is not None else self.checkpoint.model_name

    @torch.inference_mode()
    def probabilities(self, windows: np.ndarray | torch.Tensor, *, batch_size: int = 64) -> np.ndarray:
        """Class probabilities of windows already at the model's rate and length.

        Parameters
        ----------
        windows : np.ndarray or torch.Tensor, shape (k, window_samples) or (window_samples,)
            Audio at ``config.sample_rate``.
        batch_size : int
            Windows per model call.

        Returns
        -------
        probs : np.ndarray, shape (k, n_classes), float32
            Softmax of the model's outputs, columns in ``class_names`` order.
        """
        windows = torch.as_tensor(windows, dtype=torch.float32)
        if windows.dim() == 1:
            windows = windows.unsqueeze(0)
        out = []
        for start in range(0, len(windows), batch_size):
            x = self.extractor(windows[start : start + batch_size].to(self.device))
            logits = torch.from_numpy(self.onnx_model(x)) if self.onnx_model is not None else self.model(x).float()
            out.append(torch.softmax(logits, dim=-1).cpu())
        return torch.cat(out).numpy() if out else np.zeros((0, len(self.class_names)), np.float32)
