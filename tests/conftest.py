"""Shared pytest fixtures. Each group lives in its own module; import it here."""

from tests.audio_env import virtual_mic  # noqa: F401  (session: PulseAudio loopback)
from tests.jupyter_browser import chromium, jupyter_lab, lab_page  # noqa: F401  (JupyterLab + Chromium)
