"""The live demo's user interface: ipywidgets on top of :mod:`audioclf_lib.live.engine`.

Notebook: 05_live_demo.ipynb

The widget only displays what the streaming core publishes; it never touches audio itself.
Every update is a widget *value* change sent from the core's worker thread (no ``print`` or
``display`` from threads), which ipykernel 7 delivers to the widget wherever it is shown.

    demo = LiveDemo(files={"music clip": [path]})
    demo            # shows the UI; Start / Stop, or from code:
    demo.start(); demo.wait_for_results(1); demo.stop()
"""
from __future__ import annotations

import html
import time
from collections import deque
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ..audio import SILENCE_DBFS
from ..config import CLASS_COLORS
from ..soundio import input_devices
from .browser import browser_source_if_available
from .engine import LiveClassifier
from .events import ENDED, ERROR, LISTENING, STARTING, LiveError, LiveProgress, LiveResult, LiveStatus, timer_text
from .render import save_window, spectrogram_png
from .sources import FileSource, MicSource, check_input_device

__all__ = ["LiveDemo", "COLORS", "MODEL_LABELS", "model_label"]

#: The seed's colour code (green music / orange noise / grey silence) plus blue speech.
COLORS = CLASS_COLORS  # the project's one colour per label
#: Friendly names of the bundled checkpoints in the model chooser.
MODEL_LABELS = {"music-noise": "2-class: music / noise", "music-speech-noise": "3-class: music / speech / noise",
                "music-noise-seed": "2-class: the seed's CNN",
                "music-noise-robust": "2-class: any microphone (trained through random devices)",
                "music-noise-laptop": "2-class: fine-tuned for the simulated laptop",
                "music-speech-3d": "2-class: music / speech, 3-D CNN (notebook 03)"}
_IDLE_COLOR = "#455a64"
_SPEC_INTERVAL_S = 0.25  # live spectrogram refresh while a window fills


def model_label(name: str | Path) -> str:
    """The model chooser's words for a checkpoint.

    Notebook: 05_live_demo.ipynb

    Parameters
    ----------
    name : str or Path
        A bundled checkpoint's name or a checkpoint file.

    Returns
    -------
    label : str
        ``yours (<device>): <name>`` for one fine-tuned on your recordings
        (``<devices_dir>/<device>/<name>.pt``), a bundled model's plain name, else the file name.
    """
    from ..devices import devices_dir

    path = Path(name)
    if path.suffix == ".pt" and path.resolve().parent.parent == devices_dir().resolve():
        return f"yours ({path.parent.name}): {path.stem}"
    return MODEL_LABELS.get(path.stem, path.stem)


_CONFIGS: dict = {}  # (checkpoint path, mtime) -> its FeatureConfig: read once per model, not per redraw


def _model_config(name: str | Path):
    """The :class:`~audioclf_lib.config.FeatureConfig` a checkpoint carries; the project's default when it cannot
    be read (Start then says why, in the status line)."""
    from ..checkpoint import CheckpointError, load_checkpoint, resolve_checkpoint
    from ..config import FeatureConfig

    try:
        path = resolve_checkpoint(name)
        key = (str(path), path.stat().st_mtime_ns)
        if key not in _CONFIGS:
            _CONFIGS[key] = load_checkpoint(path).feature_config
        return _CONFIGS[key]
    except (CheckpointError, OSError):
        return FeatureConfig()


def _short_path(path: Path) -> str:
    """A folder inside the repository as a relative path (no machine paths in saved notebooks)."""
    from ..config import REPO_ROOT

    path = Path(path).resolve()
    return path.relative_to(REPO_ROOT).as_posix() if path.is_relative_to(REPO_ROOT) else str(path)


def _full_path(text: str) -> Path:
    """Inverse of :func:`_short_path`: relative folders are relative to the repository root."""
    from ..config import REPO_ROOT

    path = Path(text).expanduser()
    return path if path.is_absolute() else REPO_ROOT / path


def _result_html(label: str, detail: str, color: str) -> str:
    return (f'<div style="background:{color};color:white;border-radius:8px;padding:10px 14px;text-align:center;'
            f'width:452px">\n<div style="font-size:30px;font-weight:700;letter-spacing:2px">{html.escape(label)}</div>\n'
            f'<div style="font-size:15px">{html.escape(detail)}</div>\n</div>')


class LiveDemo:
    """Start/Stop, a progress bar with the seed's timer, the colour-coded result, a live
    mel-spectrogram, a history strip, device/model line, settings and a debug switch.

    Notebook: 05_live_demo.ipynb

    Parameters
    ----------
    models : checkpoint names (or paths) offered by the model chooser; default: every bundled one, then
        every one fine-tuned on your own recordings (:func:`~audioclf_lib.devices.device_checkpoints`).
    model : the one selected at first (default: the 3-class model when present).
    files : label -> file(s) offered as input sources besides the microphones (played in real time).
    source : the input selected at first: ``"mic"`` (default microphone), ``"browser"`` (the microphone of the
        browser showing the notebook, :class:`~audioclf_lib.live.browser.BrowserSource`; offered when anywidget is
        installed), ``"file:<label>"``, or ``None``: the kernel's microphone when one can be opened, else the
        browser's (the status line says why), else the first file.
    mode : ``"windows"`` (back-to-back) or ``"sliding"``, selected at first.
    window_seconds : audio per decision; ``None`` (default): the chosen model's window, following the
        model chooser until the window slider is moved.
    hop_seconds, smoothing : sliding mode, see :class:`~audioclf_lib.live.engine.LiveClassifier`.
    silence_dbfs : the silence gate (dBFS), adjustable while running.
    debug_dir : where the debug switch saves classified windows (PNG + WAV).
    device : ``"cuda"`` / ``"cpu"`` / ``None`` (CUDA when available), passed to the Predictor.
    history : how many past decisions the history strip shows.

    The spectrogram and the timer take their sizes (window, rate, hop) from the model's
    :class:`~audioclf_lib.config.FeatureConfig`, and the spectrogram is drawn with the model's
    front end once it is loaded.
    """

    def __init__(self, *, models: Sequence[str | Path] | None = None, model: str | None = None,
                 files: Mapping[str, str | Path | Sequence[str | Path]] | None = None, source: str | None = None,
                 mode: str = "windows", window_seconds: float | None = None, hop_seconds: float = 0.5,
                 smoothing: int = 3, silence_dbfs: float = SILENCE_DBFS, debug_dir: str | Path | None = None,
                 device: str | None = None, history: int = 12):
        import ipywidgets as w

        from ..checkpoint import bundled_checkpoints
        from ..config import cache_dir
        from ..devices import device_checkpoints

        self.files = {k: ([v] if isinstance(v, (str, Path)) else list(v)) for k, v in (files or {}).items()}
        names = [str(m) for m in models] if models is not None else \
            list(bundled_checkpoints()) + [str(p) for p in device_checkpoints().values()]
        chosen = model if model in names else \
            ("music-speech-noise" if model is None and "music-speech-noise" in names else (names[0] if names else ""))
        config = _model_config(chosen)
        #: the window follows the chosen model's until the user moves the window slider
        self._window_from_model = window_seconds is None
        self.engine = LiveClassifier(model or (names[0] if names else "music-speech-noise"), mode=mode,
                                     window_seconds=window_seconds, hop_seconds=hop_seconds, smoothing=smoothing,
                                     silence_dbfs=silence_dbfs, device=device)
        self.engine.add_listener(self._on_event)
        self.debug_dir = Path(debug_dir) if debug_dir is not None else cache_dir() / "live-debug"
        self.saved: list[Path] = []
        self.update_latency_ms: deque[float] = deque(maxlen=1000)  #: window end -> widgets updated, per result
        self._history: deque[tuple[str, float]] = deque(maxlen=history)
        self._last_spec = 0.0
        #: the browser's microphone (one per demo, its widget shown under the buttons); None without anywidget
        self.browser = browser_source_if_available()
        self._default_reason = ""  # why the input chosen at first is not the kernel's microphone

        # -- widgets ------------------------------------------------------------------------------
        self.title = w.HTML("<b style='font-size:16px'>♪ Real-time audio classifier</b>")
        self.status = w.HTML()
        self.status.add_class("live-status")
        self.result = w.HTML(_result_html("READY", "press Start", _IDLE_COLOR))
        self.result.add_class("live-result")
        self.progress = w.FloatProgress(value=0.0, min=0.0, max=1.0, bar_style="info",
                                        layout=w.Layout(width="360px"))
        self.progress.add_class("live-progress")
        self.timer = w.Label(timer_text(0.0, window_seconds or config.window_seconds))
        self.timer.add_class("live-timer")
        self.spectrogram = w.Image(format="png", layout=w.Layout(width="480px", height="128px"))
        self.spectrogram.add_class("live-spectrogram")
        self.history = w.HTML()
        self.history.add_class("live-history")
        self.start_button = w.Button(description="Start", button_style="success", icon="play")
        self.stop_button = w.Button(description="Stop", button_style="danger", icon="stop", disabled=True)
        self.device_line = w.Label()
        self.device_line.add_class("live-device")
        self.stats_line = w.Label()
        self.stats_line.add_class("live-stats")

        style = {"description_width": "110px"}
        options = [(model_label(n), n) for n in names]
        self.model_choice = w.Dropdown(options=options or [("no trained model found", "")], value=chosen,
                                       description="model", style=style, layout=w.Layout(width="420px"))
        self.model_choice.add_class("live-model")
        self.source_choice = w.Dropdown(options=self._source_options(), description="input", style=style,
                                        layout=w.Layout(width="420px"))
        self.source_choice.add_class("live-input")
        self.source_choice.value = self._default_source(source)
        self.mode_choice = w.ToggleButtons(options=[("back-to-back", "windows"), ("sliding", "sliding")], value=mode,
                                           description="mode", style={**style, "button_width": "120px"})
        self.window_slider = w.FloatSlider(value=window_seconds or config.window_seconds, min=1.0, max=10.0, step=0.5,
                                           description="window (s)", style=style, readout_format=".1f")
        self.hop_slider = w.FloatSlider(value=hop_seconds, min=0.1, max=5.0, step=0.1, description="hop (s)",
                                        style=style, readout_format=".1f", disabled=mode != "sliding")
        self.silence_slider = w.FloatSlider(value=silence_dbfs, min=-90.0, max=-20.0, step=1.0,
                                            description="silence (dBFS)", style=style, readout_format=".0f")
        self.debug_toggle = w.Checkbox(value=False, description="debug: save windows (PNG + WAV)", indent=False)
        self.debug_folder = w.Text(value=_short_path(self.debug_dir), description="folder",
                                   style={"description_width": "50px"}, layout=w.Layout(width="420px"))

        self.start_button.on_click(lambda _: self.start())
        self.stop_button.on_click(lambda _: self.stop())
        self.mode_choice.observe(lambda ch: setattr(self.hop_slider, "disabled", ch["new"] != "sliding"), "value")
        self.silence_slider.observe(self._on_silence, "value")
        self.model_choice.observe(self._on_model, "value")
        self.window_slider.observe(self._on_window, "value")
        self._following = False  # True while the window slider is moved to follow the model
        self._settings = [self.model_choice, self.source_choice, self.mode_choice, self.window_slider, self.hop_slider]

        settings = w.VBox([self.model_choice, self.source_choice, self.mode_choice,
                           w.HBox([self.window_slider, self.hop_slider]), self.silence_slider,
                           w.HBox([self.debug_toggle, self.debug_folder])])
        self.widget = w.VBox([
            self.title, self.status, self.result,
            w.HBox([self.progress, self.timer]),
            self.spectrogram, self.history,
            w.HBox([self.start_button, self.stop_button]),
            *([self.browser.widget] if self.browser is not None else []),
            self.device_line, self.stats_line, settings,
        ], layout=w.Layout(padding="6px"))
        self.spectrogram.value = spectrogram_png(np.zeros(config.window_samples, np.float32), config.sample_rate,
                                                 config=config, width=config.n_frames)
        self._show_device_line()
        self._show_stats()
        self._show_history()
        if not names:
            self._status("⚠ No trained model found in audioclf_lib/checkpoints: run notebooks/02_train_cnn.ipynb first.",
                         error=True)
        elif self._default_reason:
            self._status(f"Ready. {self._default_reason}")
        else:
            self._status("Ready. Choose an input and press Start.")

    # -- display ---------------------------------------------------------------------------------
    def _ipython_display_(self):  # pragma: no cover - notebook display
        from IPython.display import display

        display(self.widget)

    def _source_options(self) -> list[tuple[str, str]]:
        options = [("default microphone", "mic")]
        options += [(f"microphone {i}: {name}", f"mic:{i}") for i, name in input_devices()]
        if self.browser is not None:
            options.append(("browser microphone", "browser"))
        options += [(f"file: {label} (real time)", f"file:{label}") for label in self.files]
        return options

    def _default_source(self, source: str | None) -> str:
        values = [v for _, v in self._source_options()]
        if source is not None:
            if source not in values:
                raise ValueError(f"source={source!r}; available: {values}")
            return source
        try:
            check_input_device(None)
            return "mic"
        except LiveError as exc:  # the kernel has no usable microphone: the browser's, else a recording
            reason = str(exc).split(". ")[0].rstrip(".")
            if self.browser is not None:
                self._default_reason = (f"The kernel cannot record on its machine ({reason}), so the input is "
                                        "this browser's microphone: press Start and allow it.")
                return "browser"
            if not self.files:
                return "mic"
            return f"file:{next(iter(self.files))}"

    def _make_source(self):
        value = self.source_choice.value
        if value == "mic":
            return MicSource()
        if value.startswith("mic:"):
            return MicSource(int(value[4:]))
        if value == "browser":
            return self.browser
        return FileSource(self.files[value[5:]])

    def _status(self, text: str, *, error: bool = False) -> None:
        color = "#b71c1c" if error else "#263238"
        self.status.value = f'<span style="color:{color};font-size:14px">{html.escape(text)}</span>'

    def _show_device_line(self) -> None:
        import torch

        p = self.engine.predictor
        device = str(p.device) if p is not None else ("cuda" if torch.cuda.is_available() else "cpu")
        model = Path(str(self.model_choice.value)).stem or "none"
        text = f"Device: {device.split(':')[0].upper()} | Duration: {self.window_slider.value:.1f}s | Model: {model}"
        rate = self.engine.stats.get("input_rate")
        if self.engine.running and rate:
            text += f" | Input: {self.engine.source.name} @ {int(rate)} Hz"
        self.device_line.value = text

    def _show_stats(self) -> None:
        s = self.engine.stats
        lat = f" | latency {np.median(list(self.update_latency_ms)[-20:]):.0f} ms" if self.update_latency_ms else ""
        saved = f" | saved {len(self.saved)} windows" if self.saved else ""
        self.stats_line.value = (f"Overflows: {int(s.get('overflows', 0))} | dropped blocks: {int(s.get('dropped_blocks', 0))}"
                                 f" | decisions: {int(s.get('decisions', 0))}{lat}{saved}")

    def _show_history(self) -> None:
        chips = "".join(
            f'<span title="{html.escape(lab)} {conf:.0%}" style="display:inline-block;background:{COLORS.get(lab, _IDLE_COLOR)};'
            f'color:white;border-radius:4px;padding:2px 6px;margin:1px;font-size:12px">{html.escape(lab[:1].upper() + lab[1:])}'
            f'{"" if lab == "silence" else f" {conf:.0%}"}</span>'
            for lab, conf in self._history)
        self.history.value = f'<div style="min-height:22px">history: {chips or "<i>no decisions yet</i>"}</div>'

    def _set_running(self, running: bool) -> None:
        self.start_button.disabled = running
        self.stop_button.disabled = not running
        for widget in self._settings:
            widget.disabled = running
        if not running:
            self.hop_slider.disabled = self.mode_choice.value != "sliding"

    # -- actions ---------------------------------------------------------------------------------
    def start(self) -> bool:
        """What the Start button does: the settings go to the engine, which starts.

        Returns
        -------
        started : bool
            ``False`` (with the reason in the status line) when it cannot start.
        """
        if self.engine.running:
            return False
        if not self.model_choice.value:
            self._status("⚠ No trained model found: run notebooks/02_train_cnn.ipynb first.", error=True)
            return False
        e = self.engine
        e.model = self.model_choice.value
        e.mode = self.mode_choice.value
        e.window_seconds = None if self._window_from_model else float(self.window_slider.value)
        e.hop_seconds = float(self.hop_slider.value)
        e.silence_dbfs = float(self.silence_slider.value)
        self.update_latency_ms.clear()
        self.saved.clear()
        self.progress.value = 0.0
        self.result.value = _result_html("LISTENING…", "waiting for the first window", _IDLE_COLOR)
        self._set_running(True)
        try:
            e.start(self._make_source())
        except LiveError as exc:  # the listener has already shown the sentence
            self._set_running(False)
            self.result.value = _result_html("—", "not running", _IDLE_COLOR)
            self._status(f"⚠ {exc}", error=True)
            return False
        self._show_device_line()
        return True

    def stop(self) -> bool:
        """What the Stop button does: returns once the stream is closed and the worker joined.

        Returns
        -------
        stopped : bool
            See :meth:`LiveClassifier.stop <audioclf_lib.live.engine.LiveClassifier.stop>`.
        """
        stopped = self.engine.stop()
        self._set_running(self.engine.running)
        self.progress.value = 0.0
        self._show_stats()
        return stopped

    def join(self, timeout: float | None = None) -> bool:
        """Wait until the worker ends by itself (a file source played out, an error).

        Parameters
        ----------
        timeout
            See :meth:`LiveClassifier.join <audioclf_lib.live.engine.LiveClassifier.join>`.

        Returns
        -------
        ended : bool
            What the engine's ``join`` returns.
        """
        return self.engine.join(timeout)

    def wait_for_results(self, n: int = 1, *, timeout: float = 30.0, skip_silence: bool = False) -> list[LiveResult]:
        """Block until ``n`` results were shown.

        Parameters
        ----------
        n, timeout, skip_silence
            See :meth:`LiveClassifier.wait_for_results <audioclf_lib.live.engine.LiveClassifier.wait_for_results>`.

        Returns
        -------
        results : list of LiveResult
        """
        return self.engine.wait_for_results(n, timeout=timeout, skip_silence=skip_silence)

    def _on_silence(self, change) -> None:
        self.engine.silence_dbfs = float(change["new"])  # read by the worker for every window

    def _on_model(self, change) -> None:
        if self._window_from_model:
            self._following = True
            try:
                self.window_slider.value = _model_config(change["new"]).window_seconds
            finally:
                self._following = False
        self._show_device_line()

    def _on_window(self, change) -> None:
        if not self._following:  # the user chose a window: it no longer follows the model
            self._window_from_model = False
        self._show_device_line()

    def _draw_spectrogram(self, y: np.ndarray, sr: int, n_samples: int) -> None:
        """Show ``y`` through the loaded model's front end, as wide as ``n_samples`` of frames (worker thread)."""
        p = self.engine.predictor
        self.spectrogram.value = spectrogram_png(y, sr, extractor=getattr(p, "extractor", None), config=p.config,
                                                 width=1 + n_samples // p.config.hop_length)

    # -- events from the worker thread ---------------------------------------------------------------
    def _on_event(self, event) -> None:
        if isinstance(event, LiveProgress):
            self.progress.value = event.fraction
            self.timer.value = event.text
            now = time.monotonic()
            if now - self._last_spec >= _SPEC_INTERVAL_S and event.audio.size:
                self._last_spec = now
                self._draw_spectrogram(event.audio, event.sample_rate, int(round(event.window_s * event.sample_rate)))
            self._show_stats()
        elif isinstance(event, LiveResult):
            self._on_result(event)
        elif isinstance(event, LiveStatus):
            self._on_status(event)

    def _on_result(self, r: LiveResult) -> None:
        color = COLORS.get(r.label, _IDLE_COLOR)
        detail = (f"level {r.level_dbfs:.0f} dBFS (below the {self.engine.silence_dbfs:.0f} dBFS gate)"
                  if r.is_silence else f"Confidence: {100 * r.confidence:.1f}%")
        self.result.value = _result_html(r.label.upper(), detail, color)
        self._history.append((r.label, r.confidence))
        self._show_history()
        self._draw_spectrogram(r.audio, r.sample_rate, r.audio.size)
        self._last_spec = time.monotonic()
        if self.debug_toggle.value:
            try:
                self.saved.extend(save_window(r, _full_path(self.debug_folder.value),
                                              extractor=getattr(self.engine.predictor, "extractor", None)))
            except OSError as exc:
                self.debug_toggle.value = False
                self._status(f"⚠ Debug saving switched off: cannot write to {self.debug_folder.value!r} ({exc}).",
                             error=True)
        self.update_latency_ms.append((time.monotonic() - r.window_end) * 1e3)
        self._show_stats()

    def _on_status(self, s: LiveStatus) -> None:
        if s.state not in (STARTING, LISTENING):
            self.progress.value = 0.0  # before the status text: widget messages arrive in the order they are set
        if s.state == ERROR:
            message = s.message
            if self.engine.source is self.browser and self.browser is not None and self.browser.state == "requesting":
                # the engine gave up waiting for audio while the browser still asks the person for the microphone
                message = ("The browser is still asking for permission to use the microphone: allow it (the prompt "
                           "or the microphone icon in the address bar), then press Start again.")
            self._status(f"⚠ {message}", error=True)
            if "LISTENING" in self.result.value:  # failed before its first decision (e.g. a refused microphone)
                self.result.value = _result_html("—", "not running", _IDLE_COLOR)
            self._set_running(False)
        elif s.state == LISTENING:
            self._status(f"● {s.message}")
            self._show_device_line()
        elif s.state == STARTING:
            self._status(s.message)
        elif s.state == ENDED:
            self._status(f"■ {s.message} Press Start to play it again.")
            self._set_running(False)
        else:
            self._status(f"■ {s.message or 'Stopped.'}")
            self._set_running(False)
        self._show_stats()
