"""Notebook 04's recorder on a remote kernel: JupyterLab whose kernel has no microphone, headless Chromium whose fake
microphone plays a held-out music clip, and the recorder writing that music as clips through the browser's microphone.
"""
from __future__ import annotations

import nbformat
import numpy as np
import pytest
import soundfile as sf

from audioclf_lib.audio import load_audio
from tests.browser_mic import OPEN_AUDIO, TRACK_AUDIO, fake_mic_chromium, heard_stretch, held_out_wav
from tests.jupyter_browser import LabPage

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SR = 16_000
ERROR_OUTPUT = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']"
# what notebook 04 does: the widget with the notebook's arguments, shown with display()
NOTEBOOK_CODE = """\
from IPython.display import display
from audioclf_lib.recorder import RecorderWidget
recorder = RecorderWidget({root!r}, ["music", "noise"], device_name="remote", n_clips=2, seconds=1.5, sr=16000)
display(recorder.widget)"""


def test_recorder_records_the_browser_microphone_when_the_kernel_has_none(lab_without_microphone, chromium, tmp_path):
    server = lab_without_microphone
    wav = held_out_wav("music", tmp_path)
    root = server.root_dir / "devices"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(NOTEBOOK_CODE.format(root=str(root)))]
    nbformat.write(nb, server.root_dir / "recorder.ipynb")
    with fake_mic_chromium(chromium, wav, fake_ui=True) as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.add_init_script(TRACK_AUDIO)
        page = context.new_page()
        page.set_default_timeout(30_000)
        lab = LabPage(page, server)
        try:
            lab.open_notebook("recorder.ipynb")
            lab.run_all_cells()
            lab.wait_for_cells_done(timeout=120)
            assert page.locator(ERROR_OUTPUT).count() == 0
            status = lab.wait_for_text(".recorder-status", r"^ready: ", timeout=20)
            assert "the kernel cannot record on its machine" in status and "browser's microphone" in status, status
            assert page.locator(".recorder-input select").input_value() == "browser microphone"
            lab.wait_for_text(".audioclf-browser-mic", r"browser microphone: idle", timeout=10)

            lab.click_button("Record")
            lab.wait_for_text(".audioclf-browser-mic", r"browser microphone: streaming \| \d+ Hz", timeout=20)
            done = lab.wait_for_text(".recorder-status", r"^(done|error)", timeout=30)
            assert done.startswith("done: 2 clip(s) of 'music' in remote/music/"), done
            lab.wait_for_text(".audioclf-browser-mic", r"browser microphone: stopped", timeout=10)
            assert page.locator(".widget-html-content", has_text="music: 2").count() == 1  # the clip counts
            page.wait_for_function("() => window.__audioclf.contexts.every(c => c.state === 'closed')", timeout=5000)
            audio = page.evaluate(OPEN_AUDIO)
            assert audio["contexts"] == 1 and audio["open"] == 0 and audio["tracks"] == 1 and audio["live"] == 0, audio
            assert page.locator(ERROR_OUTPUT).count() == 0
        finally:
            page.screenshot(path=str(tmp_path / "final.png"))
            context.close()
            server.shutdown_kernels()

    clips = sorted((root / "remote" / "music").glob("*.wav"))
    assert len(clips) == 2 and not list((root / "remote").rglob("*.part")), clips
    recorded = []
    for path in clips:
        y, sr = sf.read(str(path), dtype="float32")
        assert sr == SR and y.size == int(1.5 * SR), (path, sr, y.size)
        recorded.append(y)
    # the two clips, one after the other, are the music the fake microphone played (in a loop, from wherever it
    # was), with nothing lost or doubled where one clip ends and the next begins
    _, where = heard_stretch(np.concatenate(recorded), load_audio(wav, SR)[0], SR)
    assert where["r"] > 0.99 and not [t for t, _ in where["jumps"] if abs(t - 1.5) < 0.05], where
    print(f"recorder through the browser: {done}; the clips in the file: {where}")
