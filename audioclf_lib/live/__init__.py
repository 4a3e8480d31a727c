"""Live classification: audio blocks in, a decision per window out, and a Jupyter UI on top.

Notebook: 05_live_demo.ipynb

One module per concern:

- :mod:`~audioclf_lib.live.events`: what the loop publishes (:class:`LiveStatus`,
  :class:`LiveProgress`, :class:`LiveResult`) and :class:`LiveError`, the sentence a user sees;
- :mod:`~audioclf_lib.live.sources`: where audio comes from (:class:`MicSource`,
  :class:`FileSource`), the :class:`~audioclf_lib.live.sources.Sink` they feed and the interface a new
  source implements;
- :mod:`~audioclf_lib.live.browser`: :class:`BrowserSource`, the microphone of the browser showing the
  notebook (an anywidget front end), for kernels that have none;
- :mod:`~audioclf_lib.live.engine`: :class:`LiveClassifier`, the worker thread that turns blocks into
  decisions with the project's :class:`~audioclf_lib.predict.Predictor`;
- :mod:`~audioclf_lib.live.render`: the live spectrogram image and the debug switch's files;
- :mod:`~audioclf_lib.live.ui`: :class:`LiveDemo`, the ipywidgets UI (a listener, no audio in it);
- :mod:`~audioclf_lib.live.harness`: playing into the virtual microphone's room, held-out demo
  clips and :func:`stream_clips`, for the notebook and the tests;
- :mod:`~audioclf_lib.live.bench`: the benchmark, ``python -m audioclf_lib.live.bench``.

Importing this package touches neither the audio system nor ipywidgets: ``sounddevice`` is
imported when a microphone is opened, ``ipywidgets`` (and ``anywidget``) when a :class:`LiveDemo` or a
:class:`BrowserSource` is built.
"""
from ..soundio import input_devices
from . import browser, engine, events, harness, render, sources, ui
from .browser import BROWSER_STATES, BrowserSource, browser_mic_widget_class, browser_source_if_available
from .engine import LiveClassifier
from .events import (ENDED, ERROR, IDLE, LISTENING, STARTING, STOPPED, LiveError, LiveProgress, LiveResult,
                     LiveStatus, timer_text)
from .harness import RoomPlayback, StreamRun, demo_clips, loopback_room_available, play_into_room, stream_clips
from .render import save_window, spectrogram_png, spectrogram_rgb
from .sources import FileSource, MicSource, Sink, Source, check_input_device
from .ui import COLORS, MODEL_LABELS, LiveDemo, model_label

# The public names of every module, and the microphones PortAudio lists.
__all__ = [*events.__all__, *sources.__all__, *browser.__all__, "input_devices", *engine.__all__, *render.__all__,
           *ui.__all__, *harness.__all__]
