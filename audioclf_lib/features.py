"""The one feature front end: waveform windows -> log-mel (and the two seed representations built on it).

Training, evaluation, the CLI and the live loop all call :class:`FeatureExtractor`; its
:class:`~audioclf_lib.config.FeatureConfig` travels inside every checkpoint.

Layouts: 2-D inputs are ``(B, C, n_mels, T)``; the 3-D binned input is ``(B, C, D, H, W)``
with C = 4 RGBA channels and D = intensity bins.
"""
from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

from .config import FeatureConfig
from .features_numpy import _hz_to_mel, _mel_to_hz, mel_filterbank_np  # noqa: F401 - viz and tests use them from here

_mel_filterbank_np = mel_filterbank_np  # the name the filterbank had before it moved

__all__ = [
    "FRONT_END_VERSION",
    "FeatureExtractor",
    "mel_filterbank",
    "colormap_lut",
    "intensity_bin",
    "extract_features",
    "seed_image_via_matplotlib",
]


#: Bumped whenever the front end's arithmetic changes (even only in float rounding, like the move
#: to a sparse mel projection in version 2): cached evaluation features carry it in their name,
#: so features computed by older code are not reused.
FRONT_END_VERSION = 2


def mel_filterbank(config: FeatureConfig) -> torch.Tensor:
    """librosa's Slaney mel filterbank for ``config``, shape (n_mels, n_fft // 2 + 1).

    Notebook: 01_generate_spectrograms.ipynb (inside :class:`FeatureExtractor`)

    Parameters
    ----------
    config : FeatureConfig
        Uses ``sample_rate``, ``n_fft``, ``n_mels``, ``fmin``, ``fmax``.

    Returns
    -------
    mel_fb : torch.Tensor, shape (n_mels, n_fft // 2 + 1), float32
        Non-negative triangle weights (cached per setting; the tensor shares the cache's memory).
    """
    return torch.from_numpy(
        mel_filterbank_np(config.sample_rate, config.n_fft, config.n_mels, config.fmin, config.fmax)
    )


def colormap_lut(name: str = "magma", n: int = 256) -> torch.Tensor:
    """RGBA lookup table of a matplotlib colormap, shape (n, 4), values in [0, 1].

    Notebook: 03_train_3d_cnn.ipynb

    Parameters
    ----------
    name : str
        A matplotlib colormap name.
    n : int
        Number of entries.

    Returns
    -------
    lut : torch.Tensor, shape (n, 4), float32, in [0, 1]
        Row 0 is the colour of the lowest intensity.
    """
    import matplotlib  # only the image representations need it: keep it out of the log-mel start-up

    cmap = matplotlib.colormaps[name].resampled(n)
    return torch.from_numpy(cmap(np.arange(n)).astype(np.float32))


def intensity_bin(u: torch.Tensor, n_bins: int) -> torch.Tensor:
    """Bin index of each intensity in [0, 1]: ``floor(u * n_bins)``, with 1.0 in the top bin.

    Notebook: 03_train_3d_cnn.ipynb (inside :class:`FeatureExtractor` for ``representation="binned3d"``)

    The seed-003 representation puts a pixel into layer ``k`` when its intensity falls in
    ``[k / n_bins, (k + 1) / n_bins)``.

    Parameters
    ----------
    u : torch.Tensor, any shape, float, in [0, 1]
    n_bins : int
        Number of layers D.

    Returns
    -------
    bins : torch.Tensor, same shape as ``u``, int64, in [0, n_bins - 1]
    """
    return torch.clamp((u * n_bins).long(), 0, n_bins - 1)


# torch warns once per process that sparse CSR support is "in beta"; sparse.mm, all we use of it,
# is long established. Take that one warning here, silenced, instead of in a user's notebook.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)
    torch.sparse_csr_tensor(torch.tensor([0, 1]), torch.tensor([0]), torch.tensor([1.0]), (1, 1))


class FeatureExtractor(nn.Module):
    """Waveform windows ``(B, N)`` at ``config.sample_rate`` -> model input.

    Notebook: 01_generate_spectrograms.ipynb

    Steps: remove DC -> ``torch.stft`` power spectrum -> librosa mel filterbank product (sparse on the CPU) ->
    dB -> normalisation -> representation (log-mel, seed RGB image, or binned RGBA layers).
    Runs on whatever device the module is moved to.

    Parameters
    ----------
    config : FeatureConfig
        The front end's settings; kept as :attr:`config` (checkpoints carry it).
    """

    def __init__(self, config: FeatureConfig):
        super().__init__()
        self.config = config
        self.register_buffer("window", torch.hann_window(config.n_fft), persistent=False)
        self.register_buffer("mel_fb", mel_filterbank(config), persistent=False)
        # The triangles touch ~3 % of the matrix (994 of 32,832 entries at 64 x 513): on the CPU, as a
        # sparse CSR matrix, the projection takes ~0.10 ms per 5-s window instead of ~0.24 ms (same
        # values to float rounding). The CSR parts are kept as dense buffers (a sparse buffer would break
        # deepcopy and pickling) and assembled per call, which costs a few microseconds.
        rows, cols = np.nonzero(self.mel_fb.numpy())
        crow = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=config.n_mels))])
        self.register_buffer("mel_crow", torch.from_numpy(crow), persistent=False)
        self.register_buffer("mel_col", torch.from_numpy(cols.astype(np.int64)), persistent=False)
        self.register_buffer("mel_val", self.mel_fb[rows, cols].contiguous(), persistent=False)
        if config.representation != "logmel":
            self.register_buffer("lut", colormap_lut(config.colormap), persistent=False)

    def power_mel(self, y: torch.Tensor) -> torch.Tensor:
        """Mel power spectrogram, same as ``librosa.feature.melspectrogram`` (center=True, constant pad).

        Notebook: 01_generate_spectrograms.ipynb

        Parameters
        ----------
        y : torch.Tensor, shape (B, N), float32
            Waveforms at ``config.sample_rate``.

        Returns
        -------
        S : torch.Tensor, shape (B, n_mels, T), float32, >= 0
            Power (not dB); ``T = 1 + N // hop_length``.
        """
        spec = torch.stft(
            y, n_fft=self.config.n_fft, hop_length=self.config.hop_length, window=self.window,
            center=True, pad_mode="constant", return_complex=True,
        )  # (B, n_fft//2+1, T)
        power = spec.real.square() + spec.imag.square()  # (B, n_freq, T)
        if power.device.type != "cpu":  # a GPU does the dense product in microseconds; sparse pays off on the CPU
            return torch.matmul(self.mel_fb, power)
        B, n_freq, T = power.shape
        frames = power.transpose(0, 1).reshape(n_freq, B * T)  # (n_freq, B*T); a view when B == 1
        mel = torch.sparse.mm(self._mel_csr(), frames)  # (n_mels, B*T)
        return mel.reshape(-1, B, T).transpose(0, 1)  # (B, n_mels, T)

    def _mel_csr(self) -> torch.Tensor:
        return torch.sparse_csr_tensor(self.mel_crow, self.mel_col, self.mel_val, self.mel_fb.shape,
                                       check_invariants=False)

    def relative_db(self, y: torch.Tensor) -> torch.Tensor:
        """Log-mel in dB below the window's maximum, clamped at ``-top_db``: (B, n_mels, T) in [-top_db, 0].

        Notebook: 01_generate_spectrograms.ipynb (section 5, normalisation; notebook 04 calls it to compare devices)

        Parameters
        ----------
        y : torch.Tensor, shape (B, N), float32
            Waveforms; each window's mean (DC) is removed first.

        Returns
        -------
        S_db : torch.Tensor, shape (B, n_mels, T), float32, in [-top_db, 0]
            0 dB at each window's loudest bin.
        """
        y = y - y.mean(dim=-1, keepdim=True)  # a DC offset from a cheap ADC says nothing about the class
        S_db = 10.0 * torch.log10(torch.clamp(self.power_mel(y), min=1e-10))
        S_db = S_db - S_db.amax(dim=(-2, -1), keepdim=True)
        return torch.clamp(S_db, min=-self.config.top_db)

    #: Windows per internal chunk: batching the STFT of many 5-s windows at once was 2-4x slower per
    #: window on a 2-core CPU (intermediates overflow the caches and page-fault), so large batches are
    #: processed in chunks; the model still sees the whole batch.
    chunk_size: int = 8

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        """y: (B, N) float32 -> (B, 1, n_mels, T) | (B, 3, H, W) | (B, 4, n_bins, H, W).

        Notebook: 01_generate_spectrograms.ipynb

        Batches larger than :attr:`chunk_size` are processed in chunks and concatenated.

        Parameters
        ----------
        y : torch.Tensor, shape (B, N) or (N,), float32
            Waveforms at ``config.sample_rate``; a single window gets a batch axis.

        Returns
        -------
        X : torch.Tensor, float32
            ``"logmel"``: shape (B, 1, n_mels, T), in [-1, 1] for ``"max_db"`` normalisation (``"per_freq"``:
            each band minus its mean, / 20); ``"seed_rgb"``: shape (B, 3, H, W) in [-1, 1];
            ``"binned3d"``: shape (B, 4, n_bins, H, W), RGBA in [0, 1] in the pixel's intensity layer, 0 elsewhere.
        """
        if y.dim() == 1:
            y = y.unsqueeze(0)
        if y.shape[0] > self.chunk_size:
            return torch.cat([self._features(part) for part in y.split(self.chunk_size)])
        return self._features(y)

    def _features(self, y: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        S_db = self.relative_db(y)  # (B, n_mels, T), dB in [-top_db, 0]
        if cfg.representation == "logmel":
            if cfg.normalization == "per_freq":
                # Subtracting each band's mean removes any fixed frequency response (a mic's EQ).
                x = (S_db - S_db.mean(dim=-1, keepdim=True)) / 20.0
            else:
                x = S_db / (cfg.top_db / 2) + 1.0  # [-1, 1]
            return x.unsqueeze(1)  # (B, 1, n_mels, T)
        # Image representations: intensity in [0, 1], low frequencies at the bottom as specshow draws them.
        u = (S_db / cfg.top_db + 1.0).flip(dims=(-2,)).unsqueeze(1)  # (B, 1, n_mels, T)
        u = F.interpolate(u, size=cfg.image_size, mode="bilinear", align_corners=False, antialias=True)
        u = u.squeeze(1).clamp(0.0, 1.0)  # (B, H, W)
        idx = (u * (self.lut.shape[0] - 1)).round().long()
        rgba = self.lut[idx]  # (B, H, W, 4)
        if cfg.representation == "seed_rgb":
            return (rgba[..., :3].permute(0, 3, 1, 2) - 0.5) / 0.5  # (B, 3, H, W) in [-1, 1]
        # binned3d: layer k keeps the RGBA pixels whose intensity falls in bin k, zeros elsewhere.
        bins = intensity_bin(u, cfg.n_bins)  # (B, H, W)
        onehot = F.one_hot(bins, cfg.n_bins).to(rgba.dtype)  # (B, H, W, D)
        layers = onehot.unsqueeze(-1) * rgba.unsqueeze(-2)  # (B, H, W, D, 4)
        return layers.permute(0, 4, 3, 1, 2).contiguous()  # (B, 4, D, H, W)


def extract_features(windows: np.ndarray, config: FeatureConfig, *, batch_size: int = 64) -> np.ndarray:
    """NumPy convenience: windows (k, N) -> features (k, ...) float32, on the CPU, in batches.

    Notebook: 01_generate_spectrograms.ipynb (through :func:`~audioclf_lib.cache.eval_set`)

    Parameters
    ----------
    windows : np.ndarray, shape (k, N), float32
        Waveform windows at ``config.sample_rate``.
    config : FeatureConfig
    batch_size : int
        Windows per :class:`FeatureExtractor` call.

    Returns
    -------
    X : np.ndarray, shape (k, ...) float32
        As :meth:`FeatureExtractor.forward` gives, e.g. (k, 1, n_mels, T); shape (0,) when ``k == 0``.
    """
    extractor = FeatureExtractor(config)
    out = []
    with torch.inference_mode():
        for start in range(0, len(windows), batch_size):
            out.append(extractor(torch.from_numpy(np.ascontiguousarray(windows[start : start + batch_size]))).numpy())
    return np.concatenate(out) if out else np.zeros((0,), np.float32)


def seed_image_via_matplotlib(y: np.ndarray, sr: int, *, image_size: tuple[int, int] = (155, 154)) -> np.ndarray:
    """The seed's own pipeline, kept for teaching and benchmarking: slow on purpose.

    Notebook: 01_generate_spectrograms.ipynb (notebook 02 times the seed model on it)

    librosa mel (128 bands) -> dB -> ``librosa.display.specshow`` on a 2 x 2-inch pyplot figure,
    axes off -> ``savefig(..., bbox_inches="tight", pad_inches=0)`` to a PNG file -> PIL reads it
    back -> resize -> (3, H, W) float32 in [-1, 1]. The tight bounding box of a 2-inch figure at
    100 dpi is exactly 155 x 154 pixels: the seed's odd input size, which is why we believe it
    rendered this way (the tight box costs a second draw).

    Parameters
    ----------
    y : np.ndarray, shape (n,), float32
    sr : int
        Rate of ``y`` in Hz.
    image_size : (int, int)
        (height, width) of the result.

    Returns
    -------
    image : np.ndarray, shape (3, H, W), float32, in [-1, 1]
    """
    import os
    import tempfile

    import librosa
    import librosa.display
    import matplotlib.pyplot as plt
    from PIL import Image

    S = librosa.feature.melspectrogram(y=y, sr=sr, n_mels=128)
    S_db = librosa.power_to_db(S, ref=np.max)
    fig = plt.figure(figsize=(2, 2), dpi=100)
    librosa.display.specshow(S_db, sr=sr, x_axis="time", y_axis="mel", cmap="magma")
    plt.axis("off")
    fd, path = tempfile.mkstemp(suffix=".png")
    os.close(fd)
    try:
        fig.savefig(path, bbox_inches="tight", pad_inches=0)
        img = Image.open(path).convert("RGB").resize((image_size[1], image_size[0]), Image.BILINEAR)
    finally:
        plt.close(fig)
        os.unlink(path)
    return ((np.asarray(img, dtype=np.float32) / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)
