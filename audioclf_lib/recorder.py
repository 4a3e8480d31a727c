"""Record labelled clips from your own microphone into ``data/devices/<name>/<class>/`` (notebook 04).

Notebook: 04_device_mismatch_finetune.ipynb

Two layers, kept apart:

- the **recording core** (no UI): :func:`record_clips` records ``n`` consecutive clips from one
  open live source (the interface of :mod:`audioclf_lib.live.sources`: the kernel's microphone
  through :mod:`audioclf_lib.soundio`, or the browser's microphone) and writes each as a 16-bit
  WAV file, returning the paths it wrote;
- the **widget** :class:`RecorderWidget` (ipywidgets): an input, a device name, a class, a clip
  count, Record / Stop buttons, a progress bar and a status line. It runs :func:`record_clips` in
  a background thread and only displays what the core reports.

``sounddevice``, ``ipywidgets`` and ``anywidget`` are imported when first needed, so importing this
module never touches the audio system.
"""
from __future__ import annotations

import queue
import re
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from .live.browser import browser_source_if_available
from .live.events import LiveError
from .live.sources import MicSource, Sink, Source
from .soundio import input_device_status, input_devices

__all__ = [
    "RecorderError",
    "record_clips",
    "device_folder",
    "check_folder_name",
    "count_clips",
    "RecorderWidget",
]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class RecorderError(RuntimeError):
    """Recording failed; the message says why in plain words (no device, no audio arriving...).

    Notebook: 04_device_mismatch_finetune.ipynb
    """


def check_folder_name(value: str, what: str) -> str:
    """``value`` if it is a plain folder name (letters, digits, ``_ - .``); else ``ValueError`` naming ``what``.

    Notebook: 04_device_mismatch_finetune.ipynb

    Parameters
    ----------
    value : str
        A device or class name that becomes a folder.
    what : str
        The argument's name, for the message (``"class_name"``).

    Returns
    -------
    value : str
        Unchanged.
    """
    if not isinstance(value, str) or not _NAME.match(value):
        raise ValueError(f"{what}={value!r}: use letters, digits, '_', '-' or '.' (it becomes a folder name)")
    return value


def device_folder(root: str | Path, device_name: str) -> Path:
    """``<root>/<device_name>``, with the name checked to be a plain folder name.

    Notebook: 04_device_mismatch_finetune.ipynb

    Parameters
    ----------
    root : str or Path
        The folder of all devices (``data/devices``).
    device_name : str
        A plain folder name (:func:`check_folder_name`).

    Returns
    -------
    folder : Path
    """
    return Path(root) / check_folder_name(device_name, "device_name")


def count_clips(folder: str | Path, class_names: Sequence[str]) -> dict[str, int]:
    """Number of ``.wav`` clips per class under ``folder/<class>/``.

    Notebook: 04_device_mismatch_finetune.ipynb

    Parameters
    ----------
    folder : str or Path
        One device's folder.
    class_names : sequence of str

    Returns
    -------
    counts : dict of str to int
        Class -> number of clips (0 for a missing class folder).
    """
    folder = Path(folder)
    return {c: len(list((folder / c).glob("*.wav"))) if (folder / c).is_dir() else 0 for c in class_names}


def record_clips(
    n_clips: int,
    folder: str | Path,
    class_name: str,
    *,
    seconds: float = 5.0,
    sr: int = 16_000,
    device: int | str | None = None,
    source: Source | None = None,
    prefix: str = "clip",
    on_progress: Callable[[int, int, Path], None] | None = None,
    stop_event: threading.Event | None = None,
    timeout_s: float = 5.0,
) -> list[Path]:
    """Record ``n_clips`` consecutive clips of ``seconds`` into ``folder/<class_name>/`` as 16-bit WAV.

    Notebook: 04_device_mismatch_finetune.ipynb

    The audio comes from a live source (the interface of :mod:`audioclf_lib.live.sources`): the
    kernel's microphone (:class:`~audioclf_lib.live.sources.MicSource` on ``device``, the default)
    or any other, such as the browser's microphone (:class:`~audioclf_lib.live.browser.BrowserSource`).
    The source stays open for all clips, so they follow each other without gaps. Each clip is
    written as soon as it is complete (``<prefix>_<timestamp>_<k>.wav``, never over an existing
    file) and ``on_progress(k, n_clips, path)`` is called. Setting ``stop_event`` stops after the
    clip being recorded is dropped; the clips already written stay.

    Parameters
    ----------
    n_clips : int
        How many clips (>= 1).
    folder : str or Path
        The device's folder; clips go to ``folder/<class_name>/``.
    class_name : str
        A plain folder name.
    seconds : float
        Length of each clip, 0.1-600 s; each file holds ``round(seconds * sr)`` samples.
    sr : int
        Recording rate (Hz), 1000-192000; a source that delivers another rate is resampled to it.
    device : int, str or None
        Input device index or name for the kernel's microphone (``None``: the default input).
    source : Source, optional
        Record from this live source instead of the kernel's microphone (then ``device`` must be ``None``).
    prefix : str
        File name prefix.
    on_progress : callable, optional
        ``on_progress(k, n_clips, path)`` after each clip is written.
    stop_event : threading.Event, optional
        Set it to stop after the current clip (which is dropped).
    timeout_s : float
        How long to wait for audio before giving up (for the first block at least the source's
        ``first_audio_timeout_s``: the browser first asks the person for permission).

    Returns
    -------
    paths : list of Path
        The files written, in order.

    Raises
    ------
    ValueError
        Bad counts, lengths, rates or names (the offending value in the message).
    RecorderError
        No usable input, the source failed (its sentence), ended, or delivered no audio in time.
    """
    if int(n_clips) != n_clips or n_clips < 1:
        raise ValueError(f"n_clips={n_clips} must be a positive integer")
    if not 0.1 <= seconds <= 600:
        raise ValueError(f"seconds={seconds} must lie between 0.1 and 600")
    if not 1_000 <= sr <= 192_000:
        raise ValueError(f"sr={sr} Hz must lie between 1000 and 192000")
    if source is not None and device is not None:
        raise ValueError(f"device={device!r} and source={source!r}: give one of them")
    check_folder_name(class_name, "class_name")
    check_folder_name(prefix, "prefix")
    if source is None:
        source = MicSource(device, alternative=None)
    out_dir = Path(folder) / class_name
    n = int(round(seconds * sr))
    # generous: the loop below only copies and writes, so a full queue means a stalled disk
    sink = Sink(max_blocks=max(64, int(30.0 / getattr(source, "block_seconds", 0.05))))
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    written: list[Path] = []
    try:
        source.start(sink, sr)
    except LiveError as exc:
        raise RecorderError(str(exc)) from None
    try:
        rate = int(source.sample_rate or sr)
        resampler = soxr.ResampleStream(rate, sr, 1, dtype="float32") if rate != sr else None
        first_wait = max(timeout_s, float(getattr(source, "first_audio_timeout_s", timeout_s)))
        pending: list[np.ndarray] = []
        have = 0
        got_audio, last = False, time.monotonic()
        while len(written) < n_clips:
            if stop_event is not None and stop_event.is_set():
                break
            if sink.error:
                raise RecorderError(f"{sink.error} ({len(written)} of {n_clips} clips written)")
            try:
                block, _ = sink.queue.get(timeout=0.05)
            except queue.Empty:
                wait = timeout_s if got_audio else first_wait
                if sink.ended:
                    raise RecorderError(f"{source.name} ended ({len(written)} of {n_clips} clips written)") from None
                if time.monotonic() - last > wait:
                    raise RecorderError(f"the input device delivered no audio for {wait:g} s "
                                        f"({len(written)} of {n_clips} clips written)") from None
                continue
            got_audio, last = True, time.monotonic()
            if resampler is not None:
                block = resampler.resample_chunk(block)
            pending.append(block)
            have += len(block)
            while have >= n and len(written) < n_clips:
                joined = np.concatenate(pending)
                clip, rest = joined[:n], joined[n:]
                pending, have = [rest], len(rest)
                written.append(_write_clip(clip, sr, out_dir, f"{prefix}_{stamp}", len(written)))
                if on_progress is not None:
                    on_progress(len(written), n_clips, written[-1])
    finally:
        source.stop()
    if sink.overflows or sink.dropped:
        warnings.warn(f"the input reported {sink.overflows} overflow(s) and lost {sink.dropped} block(s): some audio "
                      "may have been dropped; a busy machine records gaps", stacklevel=2)
    return written


def _write_clip(clip: np.ndarray, sr: int, out_dir: Path, stem: str, k: int) -> Path:
    """``out_dir/<stem>_<k>.wav`` as 16-bit WAV (``k`` + 1000 while the name is taken), written atomically."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{stem}_{k:03d}.wav"
    while path.exists():  # a second recording within the same second
        k += 1000
        path = out_dir / f"{stem}_{k:03d}.wav"
    # Written under a temporary name and renamed: an interrupted write never leaves half a clip.
    partial = path.with_name(path.name + ".part")
    sf.write(str(partial), clip, sr, subtype="PCM_16", format="WAV")
    partial.replace(path)
    return path


class RecorderWidget:
    """A small recorder for notebooks: pick an input, a device name and a class, record N clips, see progress.

    Notebook: 04_device_mismatch_finetune.ipynb

    Clips go to ``<root>/<device name>/<class>/`` through :func:`record_clips`, in a background
    thread, so the notebook stays responsive and Stop works. Show it with ``display(rec.widget)``
    (or just ``rec`` as the last expression of a cell); :meth:`start`, :meth:`stop` and
    :meth:`join` do from code what the buttons do (tests, headless runs).

    The ``input`` chooser offers the kernel's microphones (sounddevice) and the microphone of the
    browser showing the notebook (:class:`~audioclf_lib.live.browser.BrowserSource`, the live demo's
    source), so a person on a remote kernel records their own microphone. When the kernel has no
    input device the browser's is chosen at first and the status line says why; a kernel microphone
    that cannot be opened disables Record, and the status line says why
    (:func:`audioclf_lib.soundio.input_device_status`).

    Parameters
    ----------
    root : str or Path
        The folder of all devices (``data/devices``).
    class_names : sequence of str
        The classes offered.
    device_name : str
        Initial device (folder) name.
    n_clips : int
        Initial clip count.
    seconds : float
        Initial clip length (s).
    sr : int
        Recording rate (Hz).
    input_device : int, str or None
        The kernel microphone's device index or name (``None``: the default input).
    source : str, optional
        The input chosen at first: ``"mic"`` (the kernel's microphone ``input_device``), ``"mic:<index>"``
        (a listed one), ``"browser"``, or ``None``: the kernel's microphone when it can be opened, else
        the browser's.
    """

    def __init__(self, root: str | Path, class_names: Sequence[str] = ("music", "noise"), *,
                 device_name: str = "my_laptop", n_clips: int = 10, seconds: float = 5.0, sr: int = 16_000,
                 input_device: int | str | None = None, source: str | None = None):
        import ipywidgets as w

        self.root = Path(root)
        self.class_names = list(class_names)
        self.sr = sr
        self.input_device = input_device
        self.written: list[Path] = []
        self.error: str | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._why_browser: str | None = None  # why the browser's microphone was chosen at first
        #: the browser's microphone (its widget shown while it is the input); None without anywidget
        self.browser = browser_source_if_available()
        self.device_name = w.Text(value=device_name, description="device")
        self.class_name = w.Dropdown(options=self.class_names, value=self.class_names[0], description="class")
        self.n_clips = w.BoundedIntText(value=n_clips, min=1, max=500, description="clips")
        self.seconds = w.BoundedFloatText(value=seconds, min=0.5, max=60.0, step=0.5, description="seconds")
        self.input_choice = w.Dropdown(options=self._input_options(), description="input",
                                       layout=w.Layout(width="420px"))
        self.input_choice.add_class("recorder-input")
        self.record_button = w.Button(description="Record", button_style="danger", icon="circle")
        self.stop_button = w.Button(description="Stop", icon="stop", disabled=True)
        self.progress = w.FloatProgress(value=0.0, min=0.0, max=1.0, description="progress")
        self.status = w.Label()
        self.status.add_class("recorder-status")
        self.counts = w.HTML()
        self.record_button.on_click(lambda _: self.start())
        self.stop_button.on_click(lambda _: self.stop())
        self.available, self.device_info = False, ""
        self.input_choice.value = self._default_input(source)
        self._on_input()
        self.input_choice.observe(lambda _: self._on_input(), "value")
        self._update_counts()
        self.widget = w.VBox([
            self.input_choice,
            w.HBox([self.device_name, self.class_name]),
            w.HBox([self.n_clips, self.seconds]),
            w.HBox([self.record_button, self.stop_button, self.progress]),
            *([self.browser.widget] if self.browser is not None else []),
            self.status,
            self.counts,
        ])

    def _ipython_display_(self):  # pragma: no cover - notebook display
        from IPython.display import display

        display(self.widget)

    # -- the input ---------------------------------------------------------------------------------
    def _input_options(self) -> list[tuple[str, str]]:
        first = "default microphone" if self.input_device is None else f"microphone {self.input_device!r}"
        options = [(f"kernel: {first}", "mic")]
        options += [(f"kernel: microphone {i}: {name}", f"mic:{i}") for i, name in input_devices()]
        if self.browser is not None:
            options.append(("browser microphone", "browser"))
        return options

    def _default_input(self, source: str | None) -> str:
        values = [v for _, v in self.input_choice.options]
        if source is not None:
            if source not in values:
                raise ValueError(f"source={source!r}; available: {values}")
            return source
        ok, why = input_device_status(self.input_device)
        if ok or self.browser is None:
            return "mic"
        self._why_browser = why  # shown in the status line
        return "browser"

    def _kernel_device(self) -> int | str | None:
        value = self.input_choice.value
        return int(value[4:]) if value.startswith("mic:") else self.input_device

    def _on_input(self) -> None:
        """The input changed: whether Record can work with it, in the status line."""
        browser = self.input_choice.value == "browser"
        if browser:
            why = self._why_browser
            self.available = True
            self.device_info = ("this browser's microphone: press Record, then allow it in the browser" if why is None
                                else f"the kernel cannot record on its machine ({why}), so the input is this "
                                     "browser's microphone: press Record, then allow it in the browser")
        else:
            self.available, self.device_info = input_device_status(self._kernel_device())
        if self.browser is not None:
            self.browser.widget.layout.display = None if browser else "none"
        if not self.running:
            self.record_button.disabled = not self.available
            self.status.value = (f"ready: {self.device_info}" if self.available
                                 else f"recording unavailable: {self.device_info}")

    def make_source(self) -> Source:
        """The live source for the chosen input (the one :class:`BrowserSource` for the browser).

        Returns
        -------
        source : Source
            A :class:`~audioclf_lib.live.sources.MicSource` or :attr:`browser`.
        """
        if self.input_choice.value == "browser":
            return self.browser
        alternative = "the browser microphone (input)" if self.browser is not None else None
        return MicSource(self._kernel_device(), alternative=alternative)

    # -- recording ---------------------------------------------------------------------------------
    @property
    def folder(self) -> Path:
        """``<root>/<device name>``: where the clips of the current device go."""
        return device_folder(self.root, self.device_name.value)

    @property
    def running(self) -> bool:
        """True while the recording thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def _update_counts(self) -> None:
        try:
            counts = count_clips(self.folder, self.class_names)
        except ValueError as exc:
            self.counts.value = f"<i>{exc}</i>"
            return
        cells = " · ".join(f"{c}: <b>{k}</b>" for c, k in counts.items())
        self.counts.value = f"clips in <code>{self.device_name.value}/</code>: {cells}"

    def start(self) -> bool:
        """Start recording with the current settings, in a background thread.

        Returns
        -------
        started : bool
            ``False`` if it cannot (the status line says why).
        """
        if self.running:
            return False
        if not self.available:
            self.status.value = f"recording unavailable: {self.device_info}"
            return False
        try:
            folder = self.folder
        except ValueError as exc:
            self.status.value = str(exc)
            return False
        n, cls, seconds = int(self.n_clips.value), self.class_name.value, float(self.seconds.value)
        source = self.make_source()
        self._stop.clear()
        self.error = None
        self.progress.value = 0.0
        self.record_button.disabled = self.input_choice.disabled = True
        self.stop_button.disabled = False
        self.status.value = f"recording {n} × {seconds:g} s of {cls!r} from the {source.name} ..."

        def on_progress(k: int, total: int, path: Path) -> None:
            self.written.append(path)
            self.progress.value = k / total
            self.status.value = f"recording {cls!r}: {k}/{total} clips written"
            self._update_counts()

        def work() -> None:
            t0 = time.perf_counter()
            try:
                paths = record_clips(n, folder, cls, seconds=seconds, sr=self.sr, source=source,
                                     on_progress=on_progress, stop_event=self._stop)
                what = "stopped" if self._stop.is_set() else "done"
                self.status.value = (f"{what}: {len(paths)} clip(s) of {cls!r} in {folder.name}/{cls}/ "
                                     f"({time.perf_counter() - t0:.1f} s)")
            except (RecorderError, ValueError, OSError) as exc:
                self.error = re.sub(r"\b([Pp]ress) Start\b", r"\1 Record", str(exc))  # this widget's button
                self.status.value = f"error: {self.error}"
            finally:
                self.record_button.disabled = self.input_choice.disabled = False
                self.stop_button.disabled = True
                self._update_counts()

        self._thread = threading.Thread(target=work, name="audioclf-recorder", daemon=True)
        self._thread.start()
        return True

    def stop(self) -> None:
        """Stop after the clip being recorded (clips already written stay)."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the recording thread, at most ``timeout`` seconds (``None``: no limit).

        Parameters
        ----------
        timeout : float, optional

        Returns
        -------
        finished : bool
            ``True`` when the thread has ended.
        """
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running
