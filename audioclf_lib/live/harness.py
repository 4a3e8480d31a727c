"""Demo and test harness of the live loop: play into the room, pick held-out clips, stream them, compare.

Notebook: 05_live_demo.ipynb

The "room" is the virtual microphone of ``scripts/virtual_mic.sh`` (CI, tests, a headless run of
notebook 05): a PulseAudio null sink whose monitor is the default source, so what
:func:`play_into_room` plays on the speaker is what the microphone records. :func:`stream_clips`
feeds recordings through a :class:`~audioclf_lib.live.engine.LiveClassifier`, either through
that room (the whole PortAudio path) or from a :class:`~audioclf_lib.live.sources.FileSource`,
and returns every result with what was streamed, for the notebook's and the tests' assertions.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from .engine import LiveClassifier
from .events import LiveError, LiveResult
from .sources import FileSource, MicSource

__all__ = [
    "loopback_room_available",
    "RoomPlayback",
    "play_into_room",
    "demo_clips",
    "StreamRun",
    "stream_clips",
]


def loopback_room_available() -> bool:
    """True when the default microphone hears what the default speaker plays (a PulseAudio loopback).

    Notebook: 05_live_demo.ipynb

    That is the virtual microphone of ``scripts/virtual_mic.sh`` (CI, tests): its default source
    is ``vmic``, a remap of the speaker's monitor. Notebook 05 then streams its demo clips through
    the microphone path instead of the file source.

    Returns
    -------
    available : bool
    """
    if not os.environ.get("PULSE_SERVER") or shutil.which("pactl") is None:
        return False
    try:
        out = subprocess.run(["pactl", "get-default-source"], capture_output=True, text=True, timeout=3)
    except (OSError, subprocess.SubprocessError):
        return False
    name = out.stdout.strip()
    return out.returncode == 0 and (name == "vmic" or name.endswith(".monitor"))


class RoomPlayback:
    """A ``paplay`` process playing into the default speaker; :meth:`stop` ends it.

    Notebook: 05_live_demo.ipynb

    Parameters
    ----------
    process : subprocess.Popen
        The ``paplay`` process.
    temp : Path or None
        A temporary WAV file to delete when the playback is over.
    """

    def __init__(self, process: subprocess.Popen, temp: Path | None):
        self.process, self._temp = process, temp

    @property
    def playing(self) -> bool:
        """True while ``paplay`` runs."""
        return self.process.poll() is None

    def wait(self, timeout: float | None = None) -> None:
        """Wait until the clip has played out.

        Parameters
        ----------
        timeout : float, optional
            The longest wait (s); ``subprocess.TimeoutExpired`` after it.
        """
        try:
            self.process.wait(timeout)
        finally:
            self._cleanup()

    def stop(self) -> None:
        """End the playback now (idempotent)."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._cleanup()

    def _cleanup(self) -> None:
        if self._temp is not None and self.process.poll() is not None:
            self._temp.unlink(missing_ok=True)


def play_into_room(audio: str | Path | np.ndarray, sr: int | None = None) -> RoomPlayback:
    """Play a file or an array on the default speaker with ``paplay`` (returns at once).

    Notebook: 05_live_demo.ipynb

    With the virtual microphone this is how a clip reaches the microphone path.

    Parameters
    ----------
    audio : str, Path or np.ndarray of shape (n,)
        A file ``paplay`` can read, or float audio in [-1, 1] (written to a temporary 16-bit WAV).
    sr : int, optional
        Rate of ``audio`` when it is an array.

    Returns
    -------
    playback : RoomPlayback
    """
    if shutil.which("paplay") is None:
        raise LiveError("paplay (pulseaudio-utils) is not installed: cannot play into the room")
    temp = None
    if isinstance(audio, np.ndarray):
        if sr is None:
            raise ValueError("play_into_room(array) needs sr=, the array's sample rate")
        fd, name = tempfile.mkstemp(suffix=".wav", prefix="audioclf-play-")
        os.close(fd)
        temp = Path(name)
        sf.write(temp, np.clip(audio, -1.0, 1.0), sr, subtype="PCM_16")
        audio = temp
    process = subprocess.Popen(["paplay", "--latency-msec=50", str(audio)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    return RoomPlayback(process, temp)


_MANIFESTS: dict = {}


def demo_clips(cls: str, *, seconds: float = 10.0, predictor=None, split: str = "test", seed: int = 0,
               min_confidence: float = 0.8, root: str | Path | None = None) -> list[Path]:
    """Held-out recordings of class ``cls``, together at least ``seconds`` long, to stream in a demo or test.

    Notebook: 05_live_demo.ipynb

    Clips come from ``split`` of the grouped split of notebook 01 (``seed``), so a model trained on
    the train split has never heard them, taken round-robin over their sources. With a
    ``predictor``, only clips it classifies correctly offline (whole-clip decision, confidence
    at least ``min_confidence``) are used: the demo then checks that the *live path* reproduces
    the offline decision; the model's accuracy is measured in notebook 02.

    Parameters
    ----------
    cls : str
        A class of the corpus.
    seconds : float
        Total length wanted (s); fewer clips are returned when the split has no more.
    predictor : Predictor, optional
        Keep only clips it gets right offline.
    split : str
        ``"train"``, ``"val"`` or ``"test"``.
    seed : int
        Seed of notebook 01's split.
    min_confidence : float
        With ``predictor``: the lowest whole-clip probability of ``cls`` accepted.
    root : str or Path, optional
        The corpus folder (default: :func:`~audioclf_lib.config.data_dir`).

    Returns
    -------
    paths : list of Path

    Raises
    ------
    ValueError
        No such clip in the split (or none the predictor gets right).
    """
    from ..config import data_dir
    from ..data import build_manifest, corpus_splits

    root = Path(root) if root is not None else data_dir()
    key = (str(root), seed)
    if key not in _MANIFESTS:
        _MANIFESTS[key] = corpus_splits(build_manifest(root)[0], root, seed=seed)
    table = _MANIFESTS[key]
    rows = table[(table["class"] == cls) & (table["split"] == split)].sort_values("path")
    if rows.empty:
        raise ValueError(f"no {split!r} clips of class {cls!r} under {root}")
    by_source = [list(g.itertuples()) for _, g in rows.groupby("source", sort=True)]
    order = [group[i] for i in range(max(map(len, by_source))) for group in by_source if i < len(group)]
    picked, total = [], 0.0
    for row in order:
        path = root / row.path
        if predictor is not None:
            label, probs = predictor.classify_file(path)
            if label != cls or float(probs.max()) < min_confidence:
                continue
        picked.append(path)
        total += float(row.duration_s)
        if total >= seconds:
            return picked
    if not picked:
        raise ValueError(f"no {split!r} clip of class {cls!r} is classified as {cls!r} with confidence >= {min_confidence}")
    return picked


@dataclass
class StreamRun:
    """What :func:`stream_clips` returns.

    Notebook: 05_live_demo.ipynb
    """

    results: list[LiveResult]
    audio: np.ndarray = field(repr=False)  #: what was streamed, at ``sample_rate``
    sample_rate: int
    #: position in ``audio`` (s) of the loop's first sample: how long the clip had been playing when
    #: the microphone opened (0 for the file source)
    offset_s: float
    via_room: bool
    stats: dict

    def expected(self, segments: Sequence[tuple[float, float, str]], margin_s: float = 0.3) -> list[str | None]:
        """For each result, the class of the segment holding its whole window, else ``None``.

        Parameters
        ----------
        segments : sequence of (float, float, str)
            ``(start_s, end_s, class)`` of what was played, in seconds of :attr:`audio`.
        margin_s : float
            How far a window may reach over a segment's edges (s).

        Returns
        -------
        classes : list of str or None
            One per result.
        """
        out = []
        for r in self.results:
            a = r.start_s + self.offset_s
            b = a + r.audio.size / r.sample_rate
            out.append(next((c for s0, s1, c in segments if a >= s0 - margin_s and b <= s1 + margin_s), None))
        return out


def stream_clips(engine: LiveClassifier, clips: Sequence[str | Path] | np.ndarray, *, via_room: bool = False,
                 lead_in_s: float = 0.3, timeout_s: float | None = None) -> StreamRun:
    """Stream recordings through ``engine`` and return its results: the demo and test harness of notebook 05.

    Notebook: 05_live_demo.ipynb

    ``via_room=False``: a :class:`FileSource` plays the clips in real time. ``via_room=True``: the
    clips are played on the speaker (:func:`play_into_room`), and ``lead_in_s`` later the loop
    starts on the default microphone, as if a user pressed Start while the music was playing;
    it stops when the windows that fit inside the clip have been classified.

    Parameters
    ----------
    engine : LiveClassifier
        Its model is loaded first; its mode and window apply.
    clips : sequence of paths, or np.ndarray of shape (n,)
        Recordings played one after the other, or audio at the model's rate.
    via_room : bool
        Through the virtual microphone (needs :func:`loopback_room_available`) or the file source.
    lead_in_s : float
        Via the room: how long the clip plays before the microphone opens (s).
    timeout_s : float, optional
        The longest wait for the results (default: from the audio's length).

    Returns
    -------
    run : StreamRun
        Every result, with what was streamed.
    """
    engine.load()
    sr = engine.predictor.config.sample_rate
    if isinstance(clips, np.ndarray):
        y = np.asarray(clips, dtype=np.float32)
    else:
        from ..audio import load_audio

        y = np.concatenate([load_audio(p, sr)[0] for p in clips])
    duration = y.size / sr
    results: list[LiveResult] = []  # every result (engine.results keeps only the latest few)
    collect = engine.add_listener(lambda e: results.append(e) if isinstance(e, LiveResult) else None)
    try:
        return _stream(engine, y, sr, duration, results, via_room, lead_in_s, timeout_s)
    finally:
        engine.remove_listener(collect)


def _stream(engine, y, sr, duration, results, via_room, lead_in_s, timeout_s) -> StreamRun:
    if not via_room:
        engine.start(FileSource(y, sr))
        engine.join(timeout_s if timeout_s is not None else duration * 3 + 30)
        engine.stop()
        return StreamRun(results, y, sr, 0.0, False, dict(engine.stats))
    window = engine.window_s
    usable = duration - lead_in_s - 0.5  # room for the loop's start-up and the loopback latency
    if engine.mode == "sliding":
        n = int(max(0.0, usable - window) // engine.hop_seconds) + 1
    else:
        n = int(usable // window)
    if n < 1:
        raise ValueError(f"{duration:.1f} s of audio leaves no full {window:g}-s window after a {lead_in_s:g}-s lead-in")
    playback = play_into_room(y, sr)
    t_play = time.monotonic()
    try:
        time.sleep(lead_in_s)
        engine.start(MicSource())
        engine.wait_for_results(n, timeout=timeout_s if timeout_s is not None else duration + 15)
        engine.stop()
    finally:
        playback.stop()
        engine.stop()
    first = engine.stats.get("first_block_at") or t_play + lead_in_s
    offset = max(0.0, first - t_play - 0.05)  # ~50 ms: paplay's buffer before the sound reaches the microphone
    return StreamRun(results[:n], y, sr, offset, True, dict(engine.stats))
