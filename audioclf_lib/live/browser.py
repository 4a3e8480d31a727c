"""The browser's microphone as a live source: for kernels that have no microphone of their own.

Notebook: 05_live_demo.ipynb

A kernel on a remote machine (JupyterHub, a lab server, a container) has no microphone; the person in front of
the browser has one. :class:`BrowserSource` has the interface of every live source (see
:mod:`audioclf_lib.live.sources`), so the engine, its counters and the UI need no special case. Its audio comes
from a small `anywidget <https://anywidget.dev>`_ front end, :class:`BrowserMicWidget`:

* on Start the kernel sends ``{"cmd": "start"}``; the browser asks
  ``getUserMedia({audio: {echoCancellation: false, noiseSuppression: false, autoGainControl: false}})`` (the
  browser's own processing is the device effect notebook 04 studies, so it is off), runs an AudioWorklet (loaded
  from a Blob URL) that cuts the microphone into ~100-ms float32 mono blocks, and sends each one to the kernel as
  a binary buffer with its sequence number and the browser's sample rate;
* the browser reports its state in the ``state`` traitlet: ``requesting``, ``streaming``, ``hidden`` (the page is
  in the background; audio keeps flowing), ``denied``, ``no-device``, ``busy``, ``unsupported``, ``ended``,
  ``error``, ``stopped``; the failures reach the engine as a sentence (``sink.fail``);
* the kernel resamples the blocks to the model's rate and pushes them into the engine's
  :class:`~audioclf_lib.live.sources.Sink`; a missing sequence number is a lost block, counted in
  ``sink.dropped`` like the blocks a full queue drops;
* on Stop the kernel sends ``{"cmd": "stop"}``: the browser stops the tracks and closes its AudioContext.

``anywidget`` is imported when a :class:`BrowserSource` is built, so importing this module needs neither it nor
ipywidgets. The widget must be shown in the notebook (the live demo shows it) for a browser to run its front end.
"""
from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np

from .events import LiveError
from .sources import Sink

__all__ = ["BrowserSource", "BROWSER_STATES", "browser_mic_widget_class", "browser_source_if_available"]

#: Every ``state`` the front end reports, with the sentence shown for it.
BROWSER_STATES = {
    "idle": "not started",
    "requesting": "asking the browser for the microphone …",
    "streaming": "streaming from this browser's microphone",
    "hidden": "the page is in the background (audio keeps flowing)",
    "stopped": "stopped",
    "denied": "The browser refused the microphone. Allow it (the microphone icon in the address bar, or the "
              "site settings) and press Start again.",
    "no-device": "The browser found no microphone on this computer. Connect one and press Start again.",
    "busy": "The browser's microphone is in use by another program or cannot be read. Close it and press Start "
            "again.",
    "unsupported": "This browser cannot give the page a microphone: it needs a secure page (https:// or "
                   "localhost) and a current browser.",
    "ended": "The browser's microphone stopped delivering audio (unplugged, or switched off). Press Start again.",
    "error": "The browser's microphone could not be started.",
}
_FAILURES = ("denied", "no-device", "busy", "unsupported", "ended", "error")

_WORKLET = r"""
class AudioclfTap extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.n = options.processorOptions.n;
    this.buf = new Float32Array(this.n);
    this.i = 0;
  }
  process(inputs) {
    const ch = inputs[0] && inputs[0][0];
    if (ch) {
      let k = 0;
      while (k < ch.length) {
        const take = Math.min(ch.length - k, this.n - this.i);
        this.buf.set(ch.subarray(k, k + take), this.i);
        this.i += take;
        k += take;
        if (this.i === this.n) {
          this.port.postMessage(this.buf, [this.buf.buffer]);
          this.buf = new Float32Array(this.n);
          this.i = 0;
        }
      }
    }
    return true;
  }
}
registerProcessor("audioclf-tap", AudioclfTap);
"""

_ESM = r"""
const WORKLET = %WORKLET%;
const CONSTRAINTS = {audio: {echoCancellation: false, noiseSuppression: false, autoGainControl: false}};

function failure(err) {
  const name = (err && err.name) || "Error";
  if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") return "denied";
  if (name === "NotFoundError" || name === "OverconstrainedError" || name === "DevicesNotFoundError") return "no-device";
  if (name === "NotReadableError" || name === "AbortError" || name === "TrackStartError") return "busy";
  return "error";
}

function initialize({ model }) {
  let session = null;  // {id, seq, stream, ctx, node}
  const report = (state, message = "") => {
    model.set("state", state);
    model.set("message", message);
    model.save_changes();
  };
  const close = (s) => {
    if (!s) return;
    if (s.stream) s.stream.getTracks().forEach((t) => { t.onended = null; t.stop(); });
    if (s.node) { s.node.port.onmessage = null; s.node.disconnect(); }
    if (s.ctx && s.ctx.state !== "closed") s.ctx.close();
  };
  async function start(id, blockSeconds) {
    close(session);
    const s = {id, seq: 0, stream: null, ctx: null, node: null};
    session = s;
    report("requesting");
    if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      session = null;
      report("unsupported", window.isSecureContext ? "no getUserMedia" : "not a secure context");
      return;
    }
    try {
      s.stream = await navigator.mediaDevices.getUserMedia(CONSTRAINTS);
    } catch (err) {
      if (session === s) { session = null; report(failure(err), `${err.name}: ${err.message}`); }
      return;
    }
    if (session !== s) { close(s); return; }  // stopped while the browser was asking
    try {
      s.ctx = new AudioContext();
      const url = URL.createObjectURL(new Blob([WORKLET], {type: "application/javascript"}));
      try { await s.ctx.audioWorklet.addModule(url); } finally { URL.revokeObjectURL(url); }
      if (session !== s) { close(s); return; }
      const rate = s.ctx.sampleRate;
      s.node = new AudioWorkletNode(s.ctx, "audioclf-tap", {
        numberOfInputs: 1, numberOfOutputs: 1, channelCount: 1, channelCountMode: "explicit",
        processorOptions: {n: Math.max(128, Math.round(rate * blockSeconds))},
      });
      s.node.port.onmessage = (e) => {
        if (session !== s) return;
        const block = e.data;
        const t = performance.timeOrigin + performance.now();  // ms since 1970, for the kernel's transit time
        model.send({type: "block", session: s.id, seq: s.seq++, rate: rate, n: block.length, t: t}, undefined,
                   [block.buffer]);
      };
      s.stream.getAudioTracks().forEach((t) => { t.onended = () => { if (session === s) { session = null; close(s); report("ended"); } }; });
      s.ctx.createMediaStreamSource(s.stream).connect(s.node);
      s.node.connect(s.ctx.destination);  // pulled by the graph; the tap writes no output, so this is silent
      await s.ctx.resume();
      model.set("browser_rate", rate);
      report(document.hidden ? "hidden" : "streaming", `${rate} Hz`);
    } catch (err) {
      if (session === s) { session = null; close(s); report("error", `${err.name}: ${err.message}`); }
    }
  }
  function stop() {
    const s = session;
    session = null;
    close(s);
    if (s) report("stopped");  // after a failure the failure stays on show
  }
  const onMessage = (msg) => {
    if (msg && msg.cmd === "start") start(msg.session, msg.block_seconds);
    else if (msg && msg.cmd === "stop") stop();
  };
  const onVisibility = () => {
    if (session && session.node) report(document.hidden ? "hidden" : "streaming", `${session.ctx.sampleRate} Hz`);
  };
  model.on("msg:custom", onMessage);
  document.addEventListener("visibilitychange", onVisibility);
  model.set("frontend_ready", true);
  model.save_changes();
  return () => {
    model.off("msg:custom", onMessage);
    document.removeEventListener("visibilitychange", onVisibility);
    close(session);
    session = null;
  };
}

const NAMES = ["state", "browser_rate", "received_samples", "gaps", "stream_seconds", "transit_ms"];

function render({ model, el }) {
  const line = document.createElement("div");
  line.className = "audioclf-browser-mic";
  line.style.fontSize = "12px";
  line.style.color = "#455a64";
  const draw = () => {
    const state = model.get("state");
    const rate = model.get("browser_rate");
    const got = model.get("received_samples");
    const gaps = model.get("gaps");
    let text = `browser microphone: ${state}`;
    if (rate) {
      text += ` | ${rate} Hz | received ${(got / rate).toFixed(1)} s in ${model.get("stream_seconds").toFixed(1)} s`;
      text += ` | lost blocks ${gaps} | transit ${model.get("transit_ms").toFixed(0)} ms`;
    }
    line.textContent = text;
  };
  for (const name of NAMES) model.on(`change:${name}`, draw);
  draw();
  el.appendChild(line);
  return () => { for (const name of NAMES) model.off(`change:${name}`, draw); };
}

export default { initialize, render };
"""

_WIDGET_CLASS = None


def browser_mic_widget_class():
    """The anywidget class of the front end (built on first use, so importing this module needs no anywidget).

    Notebook: 05_live_demo.ipynb

    Returns
    -------
    cls : type
        ``BrowserMicWidget``, an ``anywidget.AnyWidget`` with the traitlets ``state``, ``message``,
        ``browser_rate`` and ``frontend_ready`` (set by the browser) and ``received_samples``, ``gaps``,
        ``stream_seconds`` and ``transit_ms`` (set by the kernel, shown in its line).
    """
    global _WIDGET_CLASS
    if _WIDGET_CLASS is None:
        import json

        import anywidget
        import traitlets

        class BrowserMicWidget(anywidget.AnyWidget):
            """The browser half of :class:`BrowserSource`: microphone, AudioWorklet, blocks to the kernel."""

            _esm = _ESM.replace("%WORKLET%", json.dumps(_WORKLET))
            state = traitlets.Unicode("idle").tag(sync=True)
            message = traitlets.Unicode("").tag(sync=True)
            browser_rate = traitlets.Int(0).tag(sync=True)
            frontend_ready = traitlets.Bool(False).tag(sync=True)
            received_samples = traitlets.Int(0).tag(sync=True)
            gaps = traitlets.Int(0).tag(sync=True)
            stream_seconds = traitlets.Float(0.0).tag(sync=True)
            transit_ms = traitlets.Float(0.0).tag(sync=True)

        _WIDGET_CLASS = BrowserMicWidget
    return _WIDGET_CLASS


def browser_source_if_available(**kwargs) -> "BrowserSource | None":
    """A :class:`BrowserSource`, or ``None`` where anywidget is not installed (the input choosers then omit it).

    Notebook: 05_live_demo.ipynb (the live demo), 04_device_mismatch_finetune.ipynb (the recorder)

    Parameters
    ----------
    **kwargs
        Passed to :class:`BrowserSource` (``block_seconds``).

    Returns
    -------
    source : BrowserSource or None
    """
    import importlib.util

    return BrowserSource(**kwargs) if importlib.util.find_spec("anywidget") is not None else None


class BrowserSource:
    """The microphone of the browser showing the notebook, as a live source (see the module's docstring).

    Notebook: 05_live_demo.ipynb

    Show :attr:`widget` in the notebook (the live demo does) so that a browser runs its front end; then
    ``LiveClassifier(..., source=BrowserSource())`` works like the other sources.

    Parameters
    ----------
    block_seconds : float
        Length of the blocks the browser sends (s), ~0.1.
    """

    name = "browser microphone"
    #: the browser first asks the person: give them time to find and answer the prompt
    first_audio_timeout_s = 60.0

    def __init__(self, *, block_seconds: float = 0.1):
        if not 0.01 <= block_seconds <= 1.0:
            raise ValueError(f"block_seconds={block_seconds} must be between 0.01 and 1 s")
        self.block_seconds = float(block_seconds)
        self.sample_rate: int | None = None  #: the model's rate: blocks are resampled to it in the kernel
        self.widget = browser_mic_widget_class()()
        self.widget.on_msg(self._on_msg)
        self.widget.observe(self._on_state, "state")
        self._lock = threading.Lock()
        self._sink: Sink | None = None
        self._session = 0
        self._expected = 0
        self._resampler = None
        self._resampler_rate = 0
        self._t_first: float | None = None
        #: raw browser samples, lost blocks (sequence gaps) and arrival time of the first and last block this run
        self.received_samples = 0
        self.gaps = 0
        self.stream_seconds = 0.0
        #: per block of this run: browser's send -> kernel's receipt (ms; both clocks are wall clocks, so this is
        #: exact only when browser and kernel share a machine, as in the tests)
        self.transit_ms: deque[float] = deque(maxlen=10_000)

    @property
    def browser_rate(self) -> int:
        """The browser's sample rate (Hz) of the latest run, 0 before the first block."""
        return int(self.widget.browser_rate)

    @property
    def state(self) -> str:
        """The front end's state (a key of :data:`BROWSER_STATES`)."""
        return str(self.widget.state)

    @property
    def active(self) -> bool:
        """True while the browser streams into a sink."""
        return self._sink is not None and self.state in ("streaming", "hidden")

    def start(self, sink: Sink, preferred_rate: int) -> None:
        """Ask the browser to stream into ``sink``; returns at once, the audio follows once it is allowed.

        Parameters
        ----------
        sink : Sink
            Where the blocks go (from the kernel's message thread).
        preferred_rate : int
            The model's rate (Hz): the browser's blocks are resampled to it.

        Raises
        ------
        LiveError
            No browser shows the widget (the notebook runs headless, or the widget was never displayed).
        """
        if not self.widget.frontend_ready:
            raise LiveError("The browser microphone needs this notebook open in a browser (JupyterLab, Notebook, "
                            "VS Code) with its widget shown: no browser has loaded it. Choose another input.")
        with self._lock:
            self._session += 1
            self._expected = 0
            self._resampler = None
            self._t_first = None
            self.received_samples = self.gaps = 0
            self.stream_seconds = 0.0
            self.transit_ms.clear()
            self.sample_rate = int(preferred_rate)
            self._sink = sink
        self._show_counts()
        self.widget.send({"cmd": "start", "session": self._session, "block_seconds": self.block_seconds})

    def stop(self) -> None:
        """Tell the browser to stop its tracks and close its AudioContext (idempotent, any thread)."""
        with self._lock:
            sink, self._sink = self._sink, None
        if sink is not None:
            self.widget.send({"cmd": "stop"})
            self._show_counts()

    # -- from the browser ---------------------------------------------------------------------------------
    def _on_msg(self, _widget, content, buffers) -> None:
        if not isinstance(content, dict) or content.get("type") != "block" or not buffers:
            return
        with self._lock:
            sink = self._sink
            if sink is None or content.get("session") != self._session:
                return  # a block of an earlier run, still in flight
            seq, rate = int(content["seq"]), int(content["rate"])
            if seq > self._expected:  # the missing ones were lost on the way
                missing = seq - self._expected
                self.gaps += missing
                sink.dropped += missing
            self._expected = max(self._expected, seq + 1)
            block = np.frombuffer(buffers[0], dtype="<f4").astype(np.float32)
            if "t" in content:
                self.transit_ms.append(time.time() * 1e3 - float(content["t"]))
            now = time.monotonic()
            if self._t_first is None:
                self._t_first = now
            self.stream_seconds = now - self._t_first
            self.received_samples += block.size
            if rate != self.sample_rate:
                if self._resampler is None or self._resampler_rate != rate:
                    import soxr

                    self._resampler = soxr.ResampleStream(rate, self.sample_rate, 1, dtype="float32")
                    self._resampler_rate = rate
                block = self._resampler.resample_chunk(block)
        sink.push(block)
        if seq % 5 == 0:
            self._show_counts()

    def _on_state(self, change) -> None:
        state = change["new"]
        sink = self._sink
        if sink is not None and state in _FAILURES:
            detail = self.widget.message
            sentence = BROWSER_STATES[state]
            sink.fail(f"{sentence} ({detail})" if state in ("error", "unsupported") and detail else sentence)

    def _show_counts(self) -> None:
        w = self.widget
        w.received_samples, w.gaps, w.stream_seconds = self.received_samples, self.gaps, round(self.stream_seconds, 2)
        if self.transit_ms:
            w.transit_ms = round(float(np.median(list(self.transit_ms)[-50:])), 1)

    def __repr__(self) -> str:
        return f"BrowserSource(state={self.state!r}, block_seconds={self.block_seconds:g})"
