"""Shared pytest fixtures. Each group lives in its own module; import it here."""

from tests.audio_env import virtual_mic  # noqa: F401  (session: PulseAudio loopback)
from tests.jupyter_browser import chromium, jupyter_lab, lab_page  # noqa: F401  (JupyterLab + Chromium)
from tests.browser_mic import lab_without_microphone  # noqa: F401  (JupyterLab whose kernels have no microphone)


import os  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def onnx_cache(tmp_path_factory):
    """ONNX exports of this test run go to a fresh folder (child processes inherit it), not the user's cache."""
    folder = tmp_path_factory.mktemp("onnx-cache")
    previous = os.environ.get("AUDIOCLF_ONNX_CACHE")
    os.environ["AUDIOCLF_ONNX_CACHE"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("AUDIOCLF_ONNX_CACHE", None)
    else:
        os.environ["AUDIOCLF_ONNX_CACHE"] = previous
