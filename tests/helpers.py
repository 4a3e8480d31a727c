"""Small builders shared by the tests: synthetic corpora and real starter clips."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

REPO_ROOT = Path(__file__).resolve().parents[1]
STARTER = REPO_ROOT / "data" / "starter"


def starter_clip(cls: str, index: int = 0) -> Path:
    """A real recording of class ``cls`` shipped with the repo."""
    return sorted((STARTER / cls).glob("*.ogg"))[index]


def steady_music_clip(min_rms: float = 0.03, stretch_s: float = 1.5) -> Path:
    """The first starter music clip with no quiet stretch: every ``stretch_s`` of it above ``min_rms`` (about -30 dBFS).

    Tests that record what the virtual microphone hears need audio that is never near silence; some soundtrack
    clips have quiet passages (``deb_0ad_music__Albian_Nocturne__s05`` dips to -50 dBFS).
    """
    import soundfile as sf

    for path in sorted((STARTER / "music").glob("*.ogg")):
        y, sr = sf.read(path, dtype="float32")
        step = int(sr * stretch_s)
        frames = y[: len(y) // step * step].reshape(-1, step)
        if len(frames) and np.sqrt((frames ** 2).mean(axis=1)).min() > min_rms:
            return path
    raise AssertionError("no steady music clip in data/starter")


def tone(freq: float, seconds: float, sr: int, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write_wav(path: Path, y: np.ndarray, sr: int, subtype: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), y, sr, subtype=subtype)
    return path


def toy_corpus(root: Path, *, sr: int = 16_000, originals_per_class: int = 6, segments: int = 2) -> Path:
    """A separable corpus: 'music' = low tones, 'noise' = white noise; several segments per original."""
    rng = np.random.default_rng(0)
    for o in range(originals_per_class):
        for s in range(segments):
            f = 200 + 40 * o + 10 * s
            write_wav(root / "music" / f"toysrc__orig{o}__s{s:02d}.wav", tone(f, 2.0, sr), sr)
            write_wav(root / "noise" / f"toysrc__orig{o}__s{s:02d}.wav",
                      (0.1 * rng.standard_normal(2 * sr)).astype(np.float32), sr)
    return root


def _sigint_default() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def popen_interruptible(args, **kwargs):
    """``subprocess.Popen`` for a child that a test stops with Ctrl-C (SIGINT).

    A shell started in the background (``make test &``, ``nohup``) ignores SIGINT, its children inherit
    that, and Python then installs no KeyboardInterrupt handler: the child would never see the test's
    Ctrl-C. The child gets the default SIGINT disposition back, as in a terminal.
    """
    import subprocess

    return subprocess.Popen(args, preexec_fn=_sigint_default, **kwargs)
