"""Plot helpers: each takes ``ax=None``, returns the figure and never calls ``plt.show()``."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.colors import Colormap
import numpy as np
import pandas as pd

from .config import figures_dir

__all__ = ["save_fig", "audio_players", "plot_waveform", "plot_spectrogram", "mel_ticks", "plot_confusion", "plot_history", "plot_segments"]


def _axes(ax, figsize=(6, 3)):
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax
    return ax.figure, ax


def save_fig(fig: plt.Figure, name: str) -> Path:
    """Save ``fig`` as ``figures/<name>.png`` (name prefixed with the notebook number, e.g. ``02_confusion``).

    Notebook: 01_generate_spectrograms.ipynb

    The folder is :func:`~audioclf_lib.config.figures_dir` (created when missing); the PNG is cropped
    to its tight bounding box and carries no ``Software`` metadata entry.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    name : str
        File stem.

    Returns
    -------
    Path
        The written file.
    """
    out = figures_dir() / f"{name}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, bbox_inches="tight", metadata={"Software": None})
    return out


def plot_waveform(y: np.ndarray, sr: int, *, ax=None, title: str | None = None) -> plt.Figure:
    """Waveform against time in seconds.

    Notebook: 01_generate_spectrograms.ipynb

    Parameters
    ----------
    y : np.ndarray, shape (n,)
        Audio, drawn as a 0.5-pt line.
    sr : int
        Its sample rate (Hz): the x axis spans ``n / sr`` seconds.
    ax : matplotlib Axes or None
        Draw there; ``None`` makes a new 6 x 3-inch figure.
    title : str or None

    Returns
    -------
    matplotlib.figure.Figure
        The figure of ``ax``.
    """
    fig, ax = _axes(ax)
    t = np.arange(len(y)) / sr
    ax.plot(t, y, lw=0.5)
    ax.set(xlabel="time (s)", ylabel="amplitude", xlim=(0, t[-1] if len(t) else 1), title=title)
    return fig


def plot_spectrogram(S: np.ndarray, *, sr: int | None = None, hop_length: int | None = None, ax=None,
                     title: str | None = None, vmin: float | None = None, vmax: float | None = None,
                     cmap: str | Colormap = "magma", colorbar: bool = True, label: str = "dB",
                     fmin: float = 20.0, fmax: float | None = 8_000.0) -> plt.Figure:
    """A (n_mels, T) mel feature image, low bands at the bottom, frequency axis in Hz, a colour bar.

    Notebook: 01_generate_spectrograms.ipynb

    The bands are mel bands between ``fmin`` and ``fmax`` (the front end's defaults): the y axis is
    ticked at round frequencies placed where their mel band lies, so 1 kHz sits where the model sees
    it. ``fmax=None`` labels bands by index instead (for images that are not mel-spaced).

    Parameters
    ----------
    S : np.ndarray, shape (n_mels, T)
        Any 2-D mel feature (dB, normalised log-mel, ...).
    sr, hop_length : int or None
        Both given: the x axis is in seconds; else in frames.
    ax, title
        As for :func:`plot_waveform`.
    vmin, vmax : float or None
        Colour range (default: the data's).
    cmap : str
        Matplotlib colormap.
    colorbar : bool
        Add a colour bar labelled ``label`` (e.g. ``"dB"``, ``"dB below the window's maximum"``).
    label : str
    fmin, fmax : float or None
        The mel filterbank's range (Hz), as in :class:`~audioclf_lib.config.FeatureConfig`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = _axes(ax)
    n_bands = S.shape[0]
    extent = (0, S.shape[1] * hop_length / sr if sr and hop_length else S.shape[1], -0.5, n_bands - 0.5)
    im = ax.imshow(S, origin="lower", aspect="auto", cmap=cmap, vmin=vmin, vmax=vmax, extent=extent, interpolation="nearest")
    ax.set(xlabel="time (s)" if sr and hop_length else "frame", title=title)
    if fmax is not None:
        ticks_hz, positions = mel_ticks(n_bands, fmin, fmax, min_gap=_bands_per_label(ax, n_bands))
        ax.set_yticks(positions, [f"{hz / 1000:g}k" if hz >= 1000 else str(hz) for hz in ticks_hz])
        ax.set_ylabel("frequency (Hz)")
    else:
        ax.set_ylabel("band")
    if colorbar:
        fig.colorbar(im, ax=ax, label=label, pad=0.02)
    return fig


def _bands_per_label(ax, n_bands: int, label_points: float = 11.0) -> float:
    """How many bands one tick label needs on ``ax`` (its height as laid out now), so labels never overlap."""
    height_points = ax.get_position().height * ax.figure.get_figheight() * 72
    return label_points * n_bands / max(height_points, 1.0)


def mel_ticks(n_bands: int, fmin: float, fmax: float, *, min_gap: float = 0.0) -> tuple[list[float], np.ndarray]:
    """Round frequencies inside ``[fmin, fmax]`` and their (fractional) mel band index, for axis ticks.

    Notebook: 01_generate_spectrograms.ipynb (through :func:`plot_spectrogram`)

    ``min_gap`` (in bands) drops ticks closer than that to the one above them, keeping the high ones (on a
    short axis, 100 and 250 Hz would print on top of each other).
    """
    from .features import _hz_to_mel

    # band k's triangle peaks at the (k+1)-th of n_bands + 2 points evenly spaced in mel from fmin to fmax
    centres = np.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), n_bands + 2)[1:-1]
    candidates = [50, 100, 250, 500, 1000, 2000, 4000, 8000, 16000]
    ticks = [hz for hz in candidates if centres[0] <= _hz_to_mel(float(hz)) <= centres[-1]]
    positions = np.interp(_hz_to_mel(np.array(ticks, dtype=float)), centres, np.arange(n_bands))
    keep = []
    for k in range(len(ticks) - 1, -1, -1):  # from the top down: the kHz ticks matter most
        if not keep or positions[keep[-1]] - positions[k] >= min_gap:
            keep.append(k)
    keep.reverse()
    return [ticks[k] for k in keep], positions[keep]


def plot_confusion(cm: np.ndarray | Sequence, class_names: Sequence[str], *, ax=None, title: str | None = None,
                   normalize: bool = True) -> plt.Figure:
    """Confusion matrix with counts (and row-normalised shading).

    Notebook: 02_train_cnn.ipynb

    Parameters
    ----------
    cm : array-like, shape (n_classes, n_classes)
        Counts, rows true, columns predicted (``metrics["confusion"]``).
    class_names : sequence of str
    ax, title
        As for :func:`plot_waveform` (the new figure is 3.6 x 3.2 inches).
    normalize : bool
        Shade by each row's share (recall) in [0, 1]; ``False`` shades by counts.

    Returns
    -------
    matplotlib.figure.Figure
    """
    cm = np.asarray(cm)
    fig, ax = _axes(ax, figsize=(3.6, 3.2))
    shade = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
    ax.imshow(shade, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            ax.text(j, i, f"{cm[i, j]}", ha="center", va="center", color="white" if shade[i, j] > 0.6 else "black")
    ax.set(xticks=range(len(class_names)), yticks=range(len(class_names)), xticklabels=class_names,
           yticklabels=class_names, xlabel="predicted", ylabel="true", title=title)
    return fig


def plot_history(history: pd.DataFrame, *, ax=None, title: str | None = None) -> plt.Figure:
    """Training loss and validation balanced accuracy per epoch.

    Notebook: 02_train_cnn.ipynb

    Parameters
    ----------
    history : pd.DataFrame
        As :func:`~audioclf_lib.train.fit` returns (``epoch``, ``train_loss``, ``val_loss``, ``val_bal_acc``).
    ax, title
        As for :func:`plot_waveform` (the new figure is 5 x 3 inches); the accuracy gets a twin axis in [0, 1.02].

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = _axes(ax, figsize=(5, 3))
    ax.plot(history["epoch"], history["train_loss"], label="train loss")
    ax.plot(history["epoch"], history["val_loss"], label="val loss")
    ax2 = ax.twinx()
    ax2.plot(history["epoch"], history["val_bal_acc"], color="tab:green", label="val balanced acc.")
    ax2.set_ylim(0, 1.02)
    ax.set(xlabel="epoch", ylabel="loss", title=title)
    lines = ax.get_lines() + ax2.get_lines()
    ax.legend(lines, [line.get_label() for line in lines], loc="center right", fontsize=8)
    return fig


def plot_segments(y: np.ndarray, sr: int, segments: pd.DataFrame, *, reference: pd.DataFrame | None = None,
                  config=None, title: str | None = None, figsize=(12, 4)) -> plt.Figure:
    """A long recording's mel-spectrogram with its segments as coloured timelines underneath.

    Notebook: 05_live_demo.ipynb

    The spectrogram is the models' own front end (:class:`~audioclf_lib.features.FeatureExtractor`:
    mel power in dB below the recording's maximum) with the frequency axis in Hz and a dB colour bar.

    Parameters
    ----------
    y : np.ndarray, shape (n,), float32
        The recording at ``sr`` (the config's sample rate).
    sr : int
        Its sample rate (Hz).
    segments : pd.DataFrame
        ``start``, ``end``, ``label`` (seconds): the prediction.
    reference : pd.DataFrame, optional
        The true segments, drawn as a second timeline.
    config : FeatureConfig, optional
        Front-end settings (default: the project's ``FeatureConfig()``).
    title : str, optional
    figsize : (float, float)

    Returns
    -------
    matplotlib.figure.Figure
    """
    import torch

    from .config import CLASS_COLORS, FeatureConfig
    from .features import FeatureExtractor

    config = config or FeatureConfig()
    with torch.no_grad():
        S_db = FeatureExtractor(config).relative_db(torch.from_numpy(np.asarray(y, np.float32))[None])[0].numpy()
    rows = [("prediction", segments)] + ([("reference", reference)] if reference is not None else [])
    fig, axes = plt.subplots(1 + len(rows), 1, figsize=figsize, sharex=True,
                             gridspec_kw={"height_ratios": [6] + [1] * len(rows)})
    duration = len(y) / sr
    im = axes[0].imshow(S_db, origin="lower", aspect="auto", cmap="magma",
                        extent=(0, duration, -0.5, config.n_mels - 0.5), interpolation="nearest")
    ticks_hz, positions = mel_ticks(config.n_mels, config.fmin, config.fmax,
                                    min_gap=_bands_per_label(axes[0], config.n_mels))
    axes[0].set_yticks(positions, [f"{f / 1000:g}k" if f >= 1000 else str(f) for f in ticks_hz])
    axes[0].set(ylabel="frequency (Hz)", title=title)
    fig.colorbar(im, ax=axes, label="dB below the maximum", fraction=0.025, pad=0.01)
    seen = {}
    for ax, (name, table) in zip(axes[1:], rows):
        for start, end, label in table[["start", "end", "label"]].itertuples(index=False):
            seen[label] = ax.axvspan(start, end, color=CLASS_COLORS.get(label, "#000000"), lw=0)
        ax.set_yticks([])
        ax.set_ylabel(name, rotation=0, ha="right", va="center")
    axes[-1].set(xlabel="time (s)", xlim=(0, duration))
    axes[-1].legend(seen.values(), seen.keys(), loc="upper center", bbox_to_anchor=(0.5, -1.8), ncol=len(seen),
                    frameon=False)
    return fig


def audio_players(clips: dict[str, np.ndarray] | Sequence[tuple[str, np.ndarray]], sr: int, *,
                  quality: float = 0.6):
    """Audio players in a row, one per labelled clip, to listen beside a figure.

    Notebook: 01_generate_spectrograms.ipynb (02 and 04 too)

    Each clip is embedded as a small Ogg Vorbis data URI (about 6 KB of notebook per second at 16 kHz), not
    as the WAV that ``IPython.display.Audio`` embeds (43 KB per second): a notebook can carry a dozen players
    and stay small, and it plays wherever the HTML output is shown (Chromium, Firefox; Safari has no Ogg),
    with no file beside it.

    Parameters
    ----------
    clips : dict of str -> np.ndarray, or sequence of (str, np.ndarray)
        Label -> mono float audio in [-1, 1] (peaks above are clipped by the encoder).
    sr : int
        Their sample rate (Hz).
    quality : float
        Vorbis compression level, 0 (best) to 0.99 (smallest).

    Returns
    -------
    IPython.display.HTML
        Display it (the last expression of a cell, or ``display(...)``).
    """
    import base64
    import html
    import io

    import soundfile as sf
    from IPython.display import HTML

    items = clips.items() if isinstance(clips, dict) else clips
    cells = []
    for label, y in items:
        buffer = io.BytesIO()
        y = np.clip(np.nan_to_num(np.asarray(y, np.float32)), -1.0, 1.0)
        sf.write(buffer, y, sr, format="OGG", subtype="VORBIS", compression_level=min(quality, 0.99))
        uri = "data:audio/ogg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
        cells.append(f'<figure style="margin:0 12px 6px 0"><figcaption style="font-size:90%">{html.escape(label)}'
                     f'</figcaption><audio controls preload="none" src="{uri}"></audio></figure>')
    return HTML('<div style="display:flex;flex-wrap:wrap">' + "".join(cells) + "</div>")
