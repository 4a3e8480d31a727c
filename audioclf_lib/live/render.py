"""Pictures of live windows: a log-mel image without matplotlib, as PNG, and the debug switch's files.

Notebook: 05_live_demo.ipynb
"""
from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from .events import LiveResult

__all__ = ["spectrogram_rgb", "spectrogram_png", "save_window"]

_CACHE: dict = {}  # front ends per feature config and colour tables per colormap: built once, reused per frame


def _extractor(config):
    from ..features import FeatureExtractor

    if ("extractor", config) not in _CACHE:
        _CACHE[("extractor", config)] = FeatureExtractor(config).eval()
    return _CACHE[("extractor", config)]


def _lut(colormap: str) -> np.ndarray:
    from ..features import colormap_lut

    if ("lut", colormap) not in _CACHE:
        _CACHE[("lut", colormap)] = (colormap_lut(colormap).numpy()[:, :3] * 255).round().astype(np.uint8)
    return _CACHE[("lut", colormap)]


def spectrogram_rgb(y: np.ndarray, sr: int, *, extractor=None, config=None, width: int | None = None,
                    colormap: str = "magma", floor_db: float = -20.0) -> np.ndarray:
    """Log-mel image of ``y``, low bands at the bottom, no figure involved.

    Notebook: 05_live_demo.ipynb

    The project's front end (dB below the window's maximum, ``top_db`` range) through a
    colormap lookup table: about 2 ms for 5 s of audio, against ~75 ms for a matplotlib figure.
    One difference from what the model sees: the reference is never lower than ``floor_db``
    (mel power in dB, about 50 dB below the peak of a full-scale sine), so silence is drawn dark
    instead of being stretched to full contrast.

    Parameters
    ----------
    y : np.ndarray, shape (n,)
        Audio at ``sr`` (at least one FFT frame is drawn; shorter audio is zero-padded).
    sr : int
        Sample rate of ``y``; it must be the front end's rate.
    extractor : FeatureExtractor, optional
        The model's front end (``predictor.extractor``), so the picture has the model's mel bands,
        FFT, hop and range.
    config : FeatureConfig, optional
        Without ``extractor``: the model's feature config (``predictor.config``), whose front end
        is built once and kept. Without either: the project's default config at ``sr``.
    width : int, optional
        Pad (darkest colour) or crop to this many frames, so a window that is still filling up
        grows from the left.
    colormap : str
        Matplotlib colormap name.
    floor_db : float
        Lowest reference level (dB of mel power).

    Returns
    -------
    rgb : np.ndarray, shape (n_mels, T, 3), uint8
    """
    import torch

    from ..config import FeatureConfig

    if extractor is None:
        extractor = _extractor(config if config is not None else FeatureConfig(sample_rate=sr))
    lut = _lut(colormap)
    cfg = extractor.config
    if cfg.sample_rate != sr:
        raise ValueError(f"sr={sr} Hz, but the front end runs at {cfg.sample_rate} Hz: resample the audio first")
    y = np.asarray(y, dtype=np.float32)
    if y.size < cfg.n_fft:
        y = np.pad(y, (0, cfg.n_fft - y.size))
    with torch.inference_mode():
        device = extractor.window.device
        x = torch.from_numpy(y)[None].to(device)
        S_db = 10.0 * torch.log10(torch.clamp(extractor.power_mel(x - x.mean()), min=1e-10))[0].cpu().numpy()
    S_db = S_db - max(float(S_db.max()), floor_db)  # (n_mels, T), dB below the window's maximum (or the floor)
    idx = np.clip((S_db / cfg.top_db + 1.0) * 255, 0, 255).astype(np.uint8)[::-1]
    if width is not None:
        idx = idx[:, -width:] if idx.shape[1] >= width else np.pad(idx, ((0, 0), (0, width - idx.shape[1])))
    return lut[idx]


def spectrogram_png(y: np.ndarray, sr: int, *, extractor=None, config=None, scale: int = 2,
                    width: int | None = None) -> bytes:
    """:func:`spectrogram_rgb` as PNG bytes, each mel band ``scale`` pixels high (for an ``ipywidgets.Image``).

    Notebook: 05_live_demo.ipynb

    Parameters
    ----------
    y, sr, extractor, config, width
        As for :func:`spectrogram_rgb`.
    scale : int
        Pixels per mel band (vertical).

    Returns
    -------
    png : bytes
        An RGB PNG of ``n_mels * scale`` x ``T`` pixels.
    """
    from PIL import Image

    rgb = spectrogram_rgb(y, sr, extractor=extractor, config=config, width=width)
    if scale > 1:
        rgb = np.repeat(rgb, scale, axis=0)
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def save_window(result: LiveResult, folder: str | Path, *, extractor=None, scale: int = 2) -> tuple[Path, Path]:
    """Write a result's window as ``<folder>/<time>_<index>_<label>_<confidence>.wav`` and its spectrogram ``.png``.

    Notebook: 05_live_demo.ipynb (the debug toggle; the seed saved spectrograms "for visual inspection").

    Parameters
    ----------
    result : LiveResult
        A published decision; its ``audio`` (shape (n,), float32 at ``sample_rate``) is written.
    folder : str or Path
        Created if missing.
    extractor, scale
        As for :func:`spectrogram_png`.

    Returns
    -------
    wav, png : Path
        The two files written (16-bit PCM WAV, RGB PNG).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(result.timestamp))
    stem = folder / f"{stamp}_{result.index:04d}_{result.label}_{round(100 * result.confidence):d}"
    wav, png = stem.with_suffix(".wav"), stem.with_suffix(".png")
    sf.write(wav, result.audio, result.sample_rate, subtype="PCM_16")
    png.write_bytes(spectrogram_png(result.audio, result.sample_rate, extractor=extractor, scale=scale))
    return wav, png
