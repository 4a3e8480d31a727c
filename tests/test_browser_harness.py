"""The browser harness drives a real JupyterLab: a widget button starts a thread that updates the page."""

from __future__ import annotations

import re

import nbformat
import numpy as np
import pytest

pytestmark = pytest.mark.browser

# A background thread moves a progress bar over ~2 s and then rewrites a label:
# the same pattern the live demo uses, in miniature.
WIDGET_CELL = """\
import threading, time
import ipywidgets as widgets

start = widgets.Button(description="Start")
progress = widgets.FloatProgress(value=0.0, min=0.0, max=1.0)
label = widgets.Label("waiting")
label.add_class("result-label")

def work():
    for step in range(1, 21):
        time.sleep(0.1)
        progress.value = step / 20
    label.value = f"done after {step} steps"

def on_click(_):
    label.value = "running"
    threading.Thread(target=work, daemon=True).start()

start.on_click(on_click)
widgets.VBox([start, progress, label])
"""


def write_widget_notebook(path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("# Harness check"),
                      nbformat.v4.new_code_cell(WIDGET_CELL)]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                       "language": "python"}
    nbformat.write(notebook, path)


def test_button_thread_updates_label_and_progress(lab_page, jupyter_lab, tmp_path):
    write_widget_notebook(tmp_path / "harness_check.ipynb")
    notebook = jupyter_lab.add_notebook(tmp_path / "harness_check.ipynb")

    lab_page.open_notebook(notebook)
    lab_page.run_all_cells()
    lab_page.wait_for_cells_done(timeout=60)
    assert lab_page.text(".result-label") == "waiting"
    assert lab_page.progress() == 0.0

    lab_page.click_button("Start")
    lab_page.wait_for_text(".result-label", "running", timeout=10)
    midway = lab_page.wait_for_progress(0.2, timeout=10)
    assert 0.2 <= midway < 1.0, "the bar should be seen moving, not only full"
    screenshot = lab_page.screenshot(tmp_path / "midway.png")

    final_text = lab_page.wait_for_text(".result-label", r"^done after 20 steps$", timeout=10)
    assert re.fullmatch(r"done after 20 steps", final_text)
    assert lab_page.progress() == pytest.approx(1.0)
    assert screenshot.stat().st_size > 10_000, "the screenshot should show a rendered page"


# The live-demo path end to end: button -> thread -> sounddevice in the kernel -> widget.
LISTEN_CELL = """\
import threading
import numpy as np
import sounddevice as sd
import ipywidgets as widgets

listen = widgets.Button(description="Listen")
heard = widgets.Label("silence")
heard.add_class("heard-label")

def record_and_report():
    sr = 16000
    y = sd.rec(sr // 2, samplerate=sr, channels=1, dtype="float32")[:, 0]
    sd.wait()
    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    heard.value = f"peak {np.fft.rfftfreq(len(y), 1 / sr)[spectrum.argmax()]:.0f} Hz"

listen.on_click(lambda _: threading.Thread(target=record_and_report, daemon=True).start())
widgets.VBox([listen, heard])
"""


@pytest.mark.audio
def test_kernel_records_what_the_virtual_mic_plays(lab_page, jupyter_lab, virtual_mic, tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(LISTEN_CELL)]
    nbformat.write(notebook, tmp_path / "listen_check.ipynb")
    lab_page.open_notebook(jupyter_lab.add_notebook(tmp_path / "listen_check.ipynb"))
    lab_page.run_all_cells()
    lab_page.wait_for_cells_done(timeout=60)

    sr = 16000
    t = np.arange(3 * sr) / sr
    playback = virtual_mic.play(0.4 * np.sin(2 * np.pi * 1000 * t), sr)
    try:
        lab_page.click_button("Listen")
        text = lab_page.wait_for_text(".heard-label", r"^peak \d+ Hz$", timeout=15)
    finally:
        playback.stop()
    assert abs(int(text.split()[1]) - 1000) <= 4, text
