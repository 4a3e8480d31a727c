"""Settings as frozen dataclasses, and the paths every notebook resolves from the repository root.

The :class:`FeatureConfig` is the contract between training and inference: it is saved
inside every checkpoint and compared on load (see ``checkpoint.py``), and the feature
cache of notebook 01 lives in a folder named after it (:meth:`FeatureConfig.slug`).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CLASS_NAMES",
    "CLASS_COLORS",
    "FeatureConfig",
    "REPO_ROOT",
    "data_dir",
    "cache_dir",
    "figures_dir",
    "checkpoints_dir",
    "run_checkpoints_dir",
    "onnx_cache_dir",
    "quick_mode",
]

#: Every class the project knows, in the order used by the 3-class model.
CLASS_NAMES: tuple[str, ...] = ("music", "speech", "noise")
#: One colour per label wherever labels are drawn (the live demo, segment timelines).
CLASS_COLORS = {"music": "#2e7d32", "noise": "#ef6c00", "speech": "#1565c0", "silence": "#757575", "unknown": "#bdbdbd"}

#: The repository root (the folder holding ``pyproject.toml``); the package is installed editable.
REPO_ROOT = Path(__file__).resolve().parent.parent

REPRESENTATIONS = ("logmel", "seed_rgb", "binned3d")
NORMALIZATIONS = ("max_db", "per_freq")


@dataclass(frozen=True)
class FeatureConfig:
    """How a window of audio becomes the tensor a model sees.

    Notebook: 01_generate_spectrograms.ipynb

    Every field is documented below; the dataclass is frozen and hashable. ``image_size`` given as a
    list (a JSON round trip) is stored as a tuple.

    Raises
    ------
    ValueError
        On construction, with the offending value: an unknown ``representation`` or ``normalization``,
        ``sample_rate`` below 4 kHz, not ``0 <= fmin < fmax <= sample_rate / 2``, a non-positive
        ``n_fft``, ``hop_length``, ``n_mels`` or ``window_seconds``.
    """

    #: Rate every input is resampled to (Hz). 16 kHz keeps everything up to 8 kHz, where
    #: music, speech and noise differ, and matches the public corpus.
    sample_rate: int = 16_000
    #: Length of one classified window (s); the seed records back-to-back 5-s windows.
    window_seconds: float = 5.0
    #: FFT size (samples): 64 ms at 16 kHz, fine enough for pitch harmonics of music.
    n_fft: int = 1024
    #: Hop between frames (samples): 16 ms, 313 frames per 5-s window.
    hop_length: int = 256
    #: Number of mel bands.
    n_mels: int = 64
    #: Lowest / highest mel band edge (Hz).
    fmin: float = 20.0
    fmax: float = 8_000.0
    #: Dynamic range kept below the window's loudest bin (dB); quieter bins are clamped.
    top_db: float = 80.0
    #: ``"max_db"``: dB relative to the window's maximum, scaled to [-1, 1] (gain invariant).
    #: ``"per_freq"``: each mel band minus its mean over the window, which removes a
    #: stationary microphone frequency response (used in notebook 04).
    normalization: str = "max_db"
    #: ``"logmel"`` (1 x n_mels x T), ``"seed_rgb"`` (the seed's 3 x 155 x 154 magma image)
    #: or ``"binned3d"`` (the seed-003 intensity-binned RGBA layers, 4 x bins x H x W).
    representation: str = "logmel"
    #: Image size (height, width) for ``seed_rgb`` and ``binned3d``.
    image_size: tuple[int, int] = (155, 154)
    #: Number of intensity bins (layers) for ``binned3d``.
    n_bins: int = 10
    #: Colormap for the image representations (matplotlib name; ``specshow``'s default).
    colormap: str = "magma"

    def __post_init__(self) -> None:
        if self.representation not in REPRESENTATIONS:
            raise ValueError(f"representation={self.representation!r}; expected one of {REPRESENTATIONS}")
        if self.normalization not in NORMALIZATIONS:
            raise ValueError(f"normalization={self.normalization!r}; expected one of {NORMALIZATIONS}")
        if self.sample_rate < 4_000:
            raise ValueError(f"sample_rate={self.sample_rate} Hz is too low for audio classification")
        if not 0 <= self.fmin < self.fmax <= self.sample_rate / 2:
            raise ValueError(f"need 0 <= fmin < fmax <= sample_rate/2, got fmin={self.fmin}, fmax={self.fmax}")
        if self.hop_length <= 0 or self.n_fft <= 0 or self.n_mels <= 0:
            raise ValueError(f"n_fft, hop_length, n_mels must be positive: {self.n_fft}, {self.hop_length}, {self.n_mels}")
        if self.window_seconds <= 0:
            raise ValueError(f"window_seconds={self.window_seconds} must be positive")
        # JSON round trips give lists; keep the frozen dataclass hashable and comparable.
        object.__setattr__(self, "image_size", tuple(int(v) for v in self.image_size))

    @property
    def window_samples(self) -> int:
        """Samples in one window at :attr:`sample_rate`: ``round(window_seconds * sample_rate)``.

        Notebook: 01_generate_spectrograms.ipynb
        """
        return int(round(self.window_seconds * self.sample_rate))

    @property
    def n_frames(self) -> int:
        """STFT frames in one window (``center=True``): ``1 + window_samples // hop_length``, T of (B, 1, n_mels, T).

        Notebook: 03_train_3d_cnn.ipynb
        """
        return 1 + self.window_samples // self.hop_length

    def to_dict(self) -> dict:
        """Plain-JSON form, stored in checkpoints and cache folders.

        Notebook: 01_generate_spectrograms.ipynb (the cache's ``config.json``; checkpoints from notebook 02)

        Returns
        -------
        dict
            Field name -> value, ``image_size`` as a list.
        """
        d = dataclasses.asdict(self)
        d["image_size"] = list(self.image_size)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "FeatureConfig":
        """Inverse of :meth:`to_dict`; unknown keys are an error, not silently dropped.

        Notebook: 02_train_cnn.ipynb (through :func:`~audioclf_lib.checkpoint.load_checkpoint`)

        Parameters
        ----------
        d : dict
            Field name -> value; missing fields take their defaults.

        Returns
        -------
        FeatureConfig
            For ``d = c.to_dict()``, a config equal to ``c``.

        Raises
        ------
        ValueError
            Unknown field names (listed), or any value :class:`FeatureConfig` rejects.
        """
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown FeatureConfig fields {sorted(unknown)}; was this written by a newer audioclf?")
        return cls(**d)

    def diff(self, other: "FeatureConfig") -> dict[str, tuple]:
        """Fields whose values differ, as ``{name: (self_value, other_value)}``.

        Notebook: 03_train_3d_cnn.ipynb (the message of :class:`~audioclf_lib.checkpoint.FeatureConfigMismatch`)

        Parameters
        ----------
        other : FeatureConfig

        Returns
        -------
        dict of str -> (value, value)
            Empty when the configs are equal; values in :meth:`to_dict` form.
        """
        a, b = self.to_dict(), other.to_dict()
        return {k: (a[k], b[k]) for k in a if a[k] != b[k]}

    def slug(self) -> str:
        """Folder name for caches made with this config, e.g. ``logmel-sr16000-m64-5s-3fa2c1d0``.

        Notebook: 01_generate_spectrograms.ipynb

        Returns
        -------
        str
            Representation, rate, mel bands, window length and the first 8 hex digits of a SHA-1 over every field.
        """
        digest = hashlib.sha1(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:8]
        return f"{self.representation}-sr{self.sample_rate}-m{self.n_mels}-{self.window_seconds:g}s-{digest}"

    def replace(self, **changes) -> "FeatureConfig":
        """A copy with some fields changed (validated again).

        Notebook: 01_generate_spectrograms.ipynb

        Parameters
        ----------
        **changes
            Field name -> new value.

        Returns
        -------
        FeatureConfig
            A new object; ``self`` is frozen and stays as it is.

        Raises
        ------
        ValueError
            As on construction; ``TypeError`` for an unknown field name.
        """
        return dataclasses.replace(self, **changes)


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


def data_dir() -> Path:
    """The audio corpus: ``$AUDIOCLF_DATA`` if set, else the bundled ``data/starter``.

    Notebook: 01_generate_spectrograms.ipynb

    Layout: ``<class>/*.wav|flac|ogg|mp3`` (optionally with a ``manifest.csv``).

    Returns
    -------
    Path
        Absolute (the variable is expanded and resolved); not checked for existence.
    """
    return _env_path("AUDIOCLF_DATA", REPO_ROOT / "data" / "starter")


def cache_dir() -> Path:
    """Where notebook 01 writes features: ``$AUDIOCLF_CACHE`` or ``data/cache``.

    Notebook: 01_generate_spectrograms.ipynb (through :func:`~audioclf_lib.cache.prepare_splits`)

    Returns
    -------
    Path
        Absolute; created by whoever writes into it.
    """
    return _env_path("AUDIOCLF_CACHE", REPO_ROOT / "data" / "cache")


def figures_dir() -> Path:
    """Where ``viz.save_fig`` writes: ``$AUDIOCLF_FIGURES`` or ``figures/``.

    Notebook: 01_generate_spectrograms.ipynb (through :func:`~audioclf_lib.viz.save_fig`)

    Returns
    -------
    Path
        Absolute; created by :func:`~audioclf_lib.viz.save_fig` when missing.
    """
    return _env_path("AUDIOCLF_FIGURES", REPO_ROOT / "figures")


def checkpoints_dir() -> Path:
    """Bundled reference checkpoints (installed with the package): ``$AUDIOCLF_CHECKPOINTS`` overrides.

    Notebook: 02_train_cnn.ipynb (through :func:`run_checkpoints_dir`; notebook 05 lists it)

    Returns
    -------
    Path
        ``audioclf_lib/checkpoints`` unless overridden.
    """
    return _env_path("AUDIOCLF_CHECKPOINTS", Path(__file__).resolve().parent / "checkpoints")


def run_checkpoints_dir(quick: bool) -> Path:
    """Where a notebook run writes the checkpoints it trains, and where later notebooks read them.

    Notebook: 02_train_cnn.ipynb

    ``$AUDIOCLF_RUN_CHECKPOINTS`` when set (the release run, ``make release``, points it at the
    bundled folder :func:`checkpoints_dir`); otherwise ``data/checkpoints`` for a full run and
    ``<cache>/checkpoints-quick`` for a QUICK one. A notebook run on ``data/starter`` therefore never
    overwrites the bundled checkpoints, which are trained on the full corpus.

    Parameters
    ----------
    quick : bool
        The notebook's ``QUICK`` setting.

    Returns
    -------
    Path
        Not created here.
    """
    default = cache_dir() / "checkpoints-quick" if quick else REPO_ROOT / "data" / "checkpoints"
    return _env_path("AUDIOCLF_RUN_CHECKPOINTS", default)


def onnx_cache_dir() -> Path:
    """Where ONNX exports of checkpoints are kept between runs: ``$AUDIOCLF_ONNX_CACHE``, else the user's
    cache folder (``$XDG_CACHE_HOME/audioclf/onnx`` or ``~/.cache/audioclf/onnx``).

    Notebook: 02_train_cnn.ipynb (through the :class:`~audioclf_lib.predict.Predictor`'s ONNX backend)

    Never inside the installed package, which may be read-only or shared by several users.

    Returns
    -------
    Path
        Created when the first export is written.
    """
    xdg = os.environ.get("XDG_CACHE_HOME")
    user_cache = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return _env_path("AUDIOCLF_ONNX_CACHE", user_cache / "audioclf" / "onnx")


def quick_mode() -> bool:
    """True when ``QUICK`` is set to 1/true/yes/on (any case): CI-sized runs.

    Command line: audioclf finetune (the corpus splits it prepares); the notebooks read ``QUICK``
    in their parameters cell.

    Returns
    -------
    bool
    """
    return os.environ.get("QUICK", "0").strip().lower() in {"1", "true", "yes", "on"}
