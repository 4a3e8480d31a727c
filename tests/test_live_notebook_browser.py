"""Notebook 05 in a real JupyterLab, driven by headless Chromium: Start/Stop while the virtual microphone plays.

The notebook runs in a kernel started by the Jupyter server, whose environment points at the virtual PulseAudio
microphone; the test plays held-out recordings into it and clicks the widgets like a person would. The picture (one
run of the 3-class model hearing music, noise and speech, a window each) is saved in the test's temporary folder; with ``AUDIOCLF_UPDATE_FIGURES=1`` it replaces ``figures/05_live_demo.png``
(the README and the notebook show it), so an ordinary test run leaves the working tree untouched.
"""
from __future__ import annotations

import os
import re
import shutil
import time

import nbformat
import numpy as np
import pytest

from audioclf_lib.audio import load_audio
from audioclf_lib.config import figures_dir
from audioclf_lib.live import demo_clips
from tests.helpers import REPO_ROOT

pytestmark = [pytest.mark.browser, pytest.mark.audio, pytest.mark.slow]

SR = 16_000
NOTEBOOK = REPO_ROOT / "notebooks" / "05_live_demo.ipynb"


def notebook_for_clicking(tmp_path):
    """The committed notebook with papermill-style injected parameters: skip the scripted demo, a person clicks.

    (The scripted demo, with its asserted results, is executed against the virtual microphone in test_live.py.)
    """
    nb = nbformat.read(NOTEBOOK, as_version=4)
    index = next(i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", []))
    injected = nbformat.v4.new_code_cell("# Parameters injected by tests/test_live_notebook_browser.py\n"
                                         "HEADLESS_DEMO = False")
    injected.metadata["tags"] = ["injected-parameters"]
    injected.pop("id", None)
    nb.cells.insert(index + 1, injected)
    for cell in nb.cells:  # start from a clean page: no outputs or widget state of the reference run
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.metadata.pop("widgets", None)
    path = tmp_path / "05_live_demo.ipynb"
    nbformat.write(nb, path)
    return path


def clip_audio(predictor_name: str, cls: str, seconds: float = 8.0) -> np.ndarray:
    from audioclf_lib.predict import Predictor

    paths = demo_clips(cls, seconds=seconds, predictor=Predictor(predictor_name, silence_dbfs=None))
    return np.concatenate([load_audio(p, SR)[0] for p in paths])[: int(seconds * SR)]


def spectrogram_src(lab) -> str:
    return lab.page.locator("img.live-spectrogram").first.get_attribute("src") or ""


def listen(lab, virtual_mic, audio: np.ndarray, expected: str) -> dict:
    """Play ``audio`` into the virtual room, press Start, wait for the decision, press Stop."""
    playback = virtual_mic.play(audio, SR)
    try:
        time.sleep(0.3)  # the sound is already in the room when Start is pressed
        before = spectrogram_src(lab)
        lab.click_button("Start")
        lab.wait_for_text(".live-status", r"Listening", timeout=20)
        midway = lab.wait_for_progress(0.2, timeout=15)
        timer = lab.text(".live-timer")
        lab.page.wait_for_function(  # the live spectrogram is redrawn while the window fills
            "([sel, old]) => { const img = document.querySelector(sel); return img && img.src !== old; }",
            arg=["img.live-spectrogram", before], timeout=10_000, polling=50)
        during = spectrogram_src(lab)
        result = lab.wait_for_text(".live-result", rf"^\s*{expected.upper()}\s", timeout=25)
        after = spectrogram_src(lab)
        stats = lab.text(".live-stats")
        device = lab.text(".live-device")
        history = lab.text(".live-history")
    finally:
        playback.stop()
    return dict(midway=midway, timer=timer, before=before, during=during, after=after, result=result, stats=stats,
                device=device, history=history)


def stop(lab) -> None:
    lab.click_button("Stop")
    lab.wait_for_text(".live-status", r"Stopped", timeout=5)
    # The status and the progress reset are two widget messages: the page may show one before the other.
    deadline = time.monotonic() + 5
    while lab.progress() != 0.0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert lab.progress() == 0.0


def show_ui(lab) -> None:
    """Close the file browser and scroll the demo's cell to the top (cells out of view are not rendered)."""
    page = lab.page
    if page.locator("#jp-left-stack").is_visible():
        page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab").first.click()  # the active tab toggles the panel
    page.locator(".live-result").first.evaluate("e => e.closest('.jp-Cell').scrollIntoView({block: 'start'})")
    page.wait_for_timeout(300)


def select(lab, css: str, label: str) -> None:
    lab.page.locator(f"{css} select").select_option(label=label)


def three_classes_in_one_run(lab, virtual_mic, screenshot) -> str:
    """The picture: the 3-class model hears music, noise and speech, one 5-s window each, in one run (so the
    history strip's chips are this run's decisions); taken a second into the fourth window; returns the history."""
    select(lab, ".live-model", "3-class: music / speech / noise")
    audio = np.concatenate([clip_audio("music-speech-noise", "music", 5.0), clip_audio("music-speech-noise", "noise", 5.0),
                            clip_audio("music-speech-noise", "speech", 8.0)])
    playback = virtual_mic.play(audio, SR)
    try:
        time.sleep(0.3)  # the sound is already in the room when Start is pressed
        lab.click_button("Start")
        lab.wait_for_text(".live-stats", r"decisions: 3\b", timeout=40)
        lab.wait_for_progress(0.2, timeout=10)
        show_ui(lab)
        lab.screenshot(screenshot)
        stats, history = lab.text(".live-stats"), lab.text(".live-history")
    finally:
        playback.stop()
    stop(lab)
    assert re.match(r"Overflows: 0 \| dropped blocks: 0 \| decisions: 3\b", stats), stats
    chips = re.findall(r"(Music|Noise|Speech|Silence)", history)
    assert chips == ["Music", "Noise", "Speech"], history
    return history


def test_live_demo_start_stop_in_jupyterlab_with_the_virtual_microphone(lab_page, jupyter_lab, virtual_mic, tmp_path):
    assert NOTEBOOK.is_file(), "build notebooks/05_live_demo.ipynb with scripts/run_notebooks.py 05"
    audio = {("music-noise", "music"): clip_audio("music-noise", "music"),
             ("music-noise", "noise"): clip_audio("music-noise", "noise"),
             ("music-speech-noise", "speech"): clip_audio("music-speech-noise", "speech")}
    screenshot = tmp_path / "05_live_demo.png"

    lab_page.open_notebook(jupyter_lab.add_notebook(notebook_for_clicking(tmp_path)))
    lab_page.run_all_cells()
    lab_page.wait_for_cells_done(timeout=240)
    page = lab_page.page
    assert page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']").count() == 0
    show_ui(lab_page)
    lab_page.wait_for_text(".live-status", r"Ready", timeout=10)
    assert "READY" in lab_page.text(".live-result")
    assert page.locator(".live-input select").input_value() == "default microphone", "the kernel sees a microphone"
    three_classes_in_one_run(lab_page, virtual_mic, screenshot)

    seen = {}
    for (model, cls), y in audio.items():
        select(lab_page, ".live-model", {"music-noise": "2-class: music / noise",
                                         "music-speech-noise": "3-class: music / speech / noise"}[model])
        seen[cls] = got = listen(lab_page, virtual_mic, y, cls)
        assert 0.2 <= got["midway"] < 1.0, "the progress bar is seen moving, not only full"
        assert re.fullmatch(r"Recording… \d\.\d s / 5\.0 s", got["timer"]), got["timer"]
        assert got["before"] != got["during"] != got["after"], "the spectrogram image updates"
        assert re.search(r"Confidence: \d+\.\d%", got["result"]), got["result"]
        assert got["stats"].startswith("Overflows: 0 | dropped blocks: 0"), got["stats"]
        assert re.match(rf"Device: (CPU|CUDA) \| Duration: 5\.0s \| Model: {model}", got["device"]), got["device"]
        stop(lab_page)

    assert seen["speech"]["history"].count("Music") >= 1 and "Noise" in seen["speech"]["history"]
    assert "Speech" in seen["speech"]["history"]
    assert screenshot.stat().st_size > 30_000
    if os.environ.get("AUDIOCLF_UPDATE_FIGURES") == "1":
        figures_dir().mkdir(parents=True, exist_ok=True)
        shutil.copyfile(screenshot, figures_dir() / "05_live_demo.png")
