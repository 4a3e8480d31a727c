"""The browser's microphone as a live source (audioclf_lib.live.browser): the kernel side, and the real thing in
JupyterLab 4 in Debian's headless Chromium with a fake microphone that plays a held-out music clip, then speech.

The browser tests run their own JupyterLab whose kernels cannot reach any sound server (so the demo must choose the
browser's microphone by itself, and say why) and their own Chromium with a fake capture device reading the clip.
They check: a refused microphone is a sentence and Start works again once it is allowed; the kernel receives as
much audio as streamed time, with no lost blocks; the live loop's decisions are those of ``audioclf classify`` on
the same file, window by window (``tests.browser_mic.check_against_classify`` says exactly what is compared); and
after Stop/Start ten times in a row every AudioContext and track is closed and the kernel holds the same threads,
widgets and comms as before (read through a second client on the notebook's kernel).
"""
from __future__ import annotations

import re
import time

import nbformat
import numpy as np
import pytest

from audioclf_lib.live import BrowserSource, LiveError, Sink
from tests.browser_mic import (BROWSER_RATE, OPEN_AUDIO, TRACK_AUDIO, check_against_classify, fake_mic_chromium,
                               held_out_wav, kernel_census, live_results)
from tests.jupyter_browser import LabPage

ERROR_OUTPUT = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']"
START_STOPS = 10  # Stop/Start this often in a row: nothing may pile up


def block_message(source: BrowserSource, seq: int, y: np.ndarray, rate: int = BROWSER_RATE, session: int | None = None):
    content = {"type": "block", "session": source._session if session is None else session, "seq": seq,
               "rate": rate, "n": y.size}
    source._on_msg(source.widget, content, [memoryview(y.astype("<f4").tobytes())])


def started(source: BrowserSource, rate: int = 16_000) -> Sink:
    source.widget.frontend_ready = True  # what the browser's front end reports when it loads
    sink = Sink(max_blocks=1000)
    source.start(sink, rate)
    return sink


def test_blocks_are_resampled_counted_and_gaps_are_dropped_blocks():
    source = BrowserSource()
    sink = started(source)
    rng = np.random.default_rng(0)
    blocks = [0.1 * rng.standard_normal(4800).astype(np.float32) for _ in range(10)]
    for seq, y in enumerate(blocks):
        if seq not in (3, 4):  # two blocks lost on the way
            block_message(source, seq, y)
    got = [sink.queue.get_nowait()[0] for _ in range(sink.queue.qsize())]
    assert len(got) == 8 and sink.dropped == 2 and source.gaps == 2
    assert source.received_samples == 8 * 4800
    total = sum(b.size for b in got)
    assert 8 * 1600 - 800 <= total <= 8 * 1600, total  # 48 kHz -> 16 kHz; the streaming resampler holds back its delay
    assert all(b.dtype == np.float32 for b in got)

    block_message(source, 10, blocks[0], session=source._session - 1)  # a block of an earlier run
    assert sink.queue.qsize() == 0 and source.received_samples == 8 * 4800
    source.stop()
    block_message(source, 10, blocks[0])  # arrives after Stop
    assert sink.queue.qsize() == 0


def test_the_model_rate_needs_no_resampling_and_sequence_restarts_per_run():
    source = BrowserSource()
    sink = started(source, rate=16_000)
    y = np.linspace(-0.5, 0.5, 1600, dtype=np.float32)
    block_message(source, 0, y, rate=16_000)
    np.testing.assert_array_equal(sink.queue.get_nowait()[0], y)
    source.stop()
    sink2 = started(source, rate=16_000)
    block_message(source, 0, y, rate=16_000)
    assert sink2.queue.qsize() == 1 and sink2.dropped == 0 and source.gaps == 0


@pytest.mark.parametrize("state, words", [("denied", "refused the microphone"), ("no-device", "found no microphone"),
                                          ("ended", "stopped delivering audio")])
def test_browser_failures_reach_the_engine_as_sentences(state, words):
    source = BrowserSource()
    sink = started(source)
    source.widget.state = state  # as the front end sets it
    assert sink.error and words in sink.error and "start again" in sink.error.lower()


def test_start_without_a_browser_says_so():
    source = BrowserSource()
    with pytest.raises(LiveError, match="needs this notebook open in a browser"):
        source.start(Sink(8), 16_000)
    assert not source.active


def test_the_demo_chooses_the_browser_when_the_kernel_has_no_microphone(monkeypatch):
    from audioclf_lib.live import ui

    def no_microphone(device=None):
        raise LiveError("No input device: no microphone is connected, or the sound server is not running. More.")

    monkeypatch.setattr(ui, "check_input_device", no_microphone)
    demo = ui.LiveDemo(models=["music-noise"], files={"music": []})
    assert demo.source_choice.value == "browser"
    assert ("browser microphone", "browser") in demo.source_choice.options
    assert "The kernel cannot record on its machine (No input device: no microphone is connected" in demo.status.value
    assert demo._make_source() is demo.browser and demo.browser.widget in demo.widget.children
    demo.source_choice.value = "file:music"  # the user can still choose a recording
    monkeypatch.setattr(ui, "check_input_device", lambda device=None: "a microphone")
    assert ui.LiveDemo(models=["music-noise"]).source_choice.value == "mic"


def test_a_person_slow_to_allow_the_microphone_is_told_what_to_do():
    from audioclf_lib.live import ERROR, LiveStatus, ui

    demo = ui.LiveDemo(models=["music-noise"], source="browser")
    demo.engine.source = demo.browser
    demo.browser.widget.state = "requesting"  # the browser's prompt is still open
    demo._on_status(LiveStatus(ERROR, "The input device stopped delivering audio (no audio arrived since Start)."))
    assert "still asking for permission" in demo.status.value and "press Start again" in demo.status.value
    assert "—" in demo.result.value or "READY" in demo.result.value
    demo.browser.widget.state = "stopped"
    demo._on_status(LiveStatus(ERROR, "Something else."))
    assert "Something else." in demo.status.value


# ------------------------------------------------------------------------------------------------------------------
# in JupyterLab, in headless Chromium with a fake microphone

NOTEBOOK = "browser_mic.ipynb"
NOTEBOOK_CODE = """\
from audioclf_lib.live import LiveDemo
demo = LiveDemo(models=["music-speech-noise"], device="cpu")
demo"""


@pytest.fixture(scope="module")
def music_wav(tmp_path_factory):
    return held_out_wav("music", tmp_path_factory.mktemp("fake-mic"))


@pytest.fixture
def chromium_fake_mic(chromium, music_wav):
    """Chromium whose fake microphone plays ``music_wav``; a page gets it only once the test grants it."""
    with fake_mic_chromium(chromium, music_wav, fake_ui=False) as browser:
        yield browser


def browser_line(lab) -> dict:
    text = lab.text(".audioclf-browser-mic")
    m = re.search(r"browser microphone: (\S+) \| (\d+) Hz \| received ([\d.]+) s in ([\d.]+) s \| lost blocks (\d+)"
                  r" \| transit (\d+) ms", text)
    assert m, text
    return dict(state=m[1], rate=int(m[2]), received=float(m[3]), seconds=float(m[4]), lost=int(m[5]),
                transit_ms=int(m[6]))


def open_demo(server, page, name: str) -> LabPage:
    """A notebook with the live demo, run in the server's JupyterLab; returns the page once the demo is ready."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(NOTEBOOK_CODE)]
    nbformat.write(nb, server.root_dir / name)
    page.set_default_timeout(30_000)
    lab = LabPage(page, server)
    lab.open_notebook(name)
    lab.run_all_cells()
    lab.wait_for_cells_done(timeout=120)
    assert page.locator(ERROR_OUTPUT).count() == 0
    return lab


@pytest.mark.browser
@pytest.mark.slow
def test_browser_microphone_in_jupyterlab_denied_then_allowed(lab_without_microphone, chromium_fake_mic, music_wav,
                                                              tmp_path):
    server = lab_without_microphone
    context = chromium_fake_mic.new_context(viewport={"width": 1280, "height": 1000})
    context.add_init_script(TRACK_AUDIO)
    page = context.new_page()
    lab = None
    try:
        lab = open_demo(server, page, NOTEBOOK)
        status = lab.wait_for_text(".live-status", r"Ready", timeout=20)
        assert "The kernel cannot record on its machine" in status and "browser's microphone" in status, status
        assert page.locator(".live-input select").input_value() == "browser microphone"
        lab.wait_for_text(".audioclf-browser-mic", r"browser microphone: idle", timeout=10)

        # 1. the page has no permission: a sentence, no traceback, Start enabled again
        lab.click_button("Start")
        denied = lab.wait_for_text(".live-status", r"refused the microphone", timeout=20)
        assert "Allow it" in denied and "Traceback" not in denied
        assert page.locator(ERROR_OUTPUT).count() == 0
        page.wait_for_function("() => !document.querySelector('button.widget-button').disabled", timeout=10_000)
        lab.screenshot(tmp_path / "denied.png")

        # 2. allowed: the live loop hears the music the fake microphone plays
        context.grant_permissions(["microphone"], origin=server.url)
        t0 = time.monotonic()
        lab.click_button("Start")
        lab.wait_for_text(".live-status", r"Listening", timeout=20)
        lab.wait_for_text(".audioclf-browser-mic", r"browser microphone: streaming \| \d+ Hz", timeout=20)
        first = lab.wait_for_text(".live-result", r"^\s*(MUSIC|SPEECH|NOISE|SILENCE)\s", timeout=30)
        assert first.split()[0] == "MUSIC", first
        lab.wait_for_text(".live-stats", r"decisions: [2-9]", timeout=20)
        second = lab.text(".live-result")
        assert second.split()[0] == "MUSIC", second
        time.sleep(0.5)  # let the kernel's counters reach the page
        during = browser_line(lab)
        lab.screenshot(tmp_path / "streaming.png")
        lab.click_button("Stop")
        lab.wait_for_text(".live-status", r"Stopped", timeout=10)
        lab.wait_for_text(".audioclf-browser-mic", r"browser microphone: stopped", timeout=10)
        elapsed = time.monotonic() - t0
        # the live loop decided what `audioclf classify` decides on the same file, window by window
        live = live_results(server, NOTEBOOK, tmp_path / "live.npz")
        assert len(live["labels"]) >= 2, live["labels"]
        compared = check_against_classify(live, music_wav, tmp_path, expected="music")
        stats = lab.text(".live-stats")
        assert stats.startswith("Overflows: 0 | dropped blocks: 0"), stats
        after = browser_line(lab)
        assert after["lost"] == 0 and during["lost"] == 0 and after["transit_ms"] < 1000, after
        assert after["rate"] in (44_100, 48_000), after
        # about duration x rate samples: the audio received equals the time it streamed (+ one block)
        assert 8.0 <= after["seconds"] <= elapsed, (after, elapsed)
        assert abs(after["received"] - after["seconds"]) <= 0.4, after
        # the browser's own processing is off, and Stop closed the AudioContext and stopped the tracks
        audio = page.evaluate(OPEN_AUDIO)
        assert audio["contexts"] == 1 and audio["open"] == 0 and audio["tracks"] == 1 and audio["live"] == 0, audio
        setting = audio["settings"][0]
        assert not setting.get("echoCancellation") and not setting.get("noiseSuppression"), setting
        assert not setting.get("autoGainControl"), setting

        # 3. Stop / Start again and again: every run opens one context and one track and closes them, and the
        # kernel ends each run with the threads, widgets and comms it had after the first one
        before = kernel_census(server, NOTEBOOK)
        for i in range(START_STOPS):
            lab.click_button("Start")
            lab.wait_for_text(".audioclf-browser-mic", r"browser microphone: streaming", timeout=20)
            lab.wait_for_text(".live-status", r"Listening", timeout=20)
            lab.click_button("Stop")
            lab.wait_for_text(".audioclf-browser-mic", r"browser microphone: stopped", timeout=10)
            lab.wait_for_text(".live-status", r"Stopped", timeout=10)
        page.wait_for_function("() => window.__audioclf.contexts.every(c => c.state === 'closed')", timeout=5000)
        audio = page.evaluate(OPEN_AUDIO)
        runs = 1 + START_STOPS
        assert audio["contexts"] == runs and audio["open"] == 0, audio
        assert audio["tracks"] == runs and audio["live"] == 0, audio
        assert page.locator(".audioclf-browser-mic").count() == 1  # one front end, shown once
        after_runs = kernel_census(server, NOTEBOOK)
        assert after_runs == before, (before, after_runs)
        assert not any(name.startswith("audioclf-") for name in after_runs["threads"]), after_runs
        assert page.locator(ERROR_OUTPUT).count() == 0
        print(f"browser microphone: {after}, {elapsed:.1f} s from Start to Stop; first run {during}; "
              f"{ {k: v for k, v in audio.items() if k != 'settings'} }; kernel after {START_STOPS} more runs: "
              f"{len(after_runs['threads'])} threads, {after_runs['widgets']} widgets, {after_runs['comms']} comms; "
              f"live vs classify: {compared}")
    finally:
        page.screenshot(path=str(tmp_path / "final.png"))
        context.close()
        server.shutdown_kernels()


@pytest.mark.browser
@pytest.mark.slow
def test_browser_microphone_with_the_fake_permission_ui_hears_speech(lab_without_microphone, chromium, tmp_path):
    """Chromium started with --use-fake-ui-for-media-stream (the page is allowed at once), the fake microphone
    playing held-out speech."""
    server = lab_without_microphone
    speech_wav = held_out_wav("speech", tmp_path)
    with fake_mic_chromium(chromium, speech_wav, fake_ui=True) as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        page = context.new_page()
        try:
            lab = open_demo(server, page, "browser_mic_speech.ipynb")
            assert page.locator(".live-input select").input_value() == "browser microphone"
            lab.click_button("Start")
            lab.wait_for_text(".audioclf-browser-mic", r"browser microphone: streaming \| \d+ Hz", timeout=20)
            first = lab.wait_for_text(".live-result", r"^\s*(MUSIC|SPEECH|NOISE|SILENCE)\s", timeout=30)
            assert first.split()[0] == "SPEECH", first
            lab.wait_for_text(".live-stats", r"decisions: [2-9]", timeout=20)
            lab.click_button("Stop")
            lab.wait_for_text(".audioclf-browser-mic", r"browser microphone: stopped", timeout=10)
            stats = lab.text(".live-stats")
            assert stats.startswith("Overflows: 0 | dropped blocks: 0"), stats
            line = browser_line(lab)
            assert line["lost"] == 0 and abs(line["received"] - line["seconds"]) <= 0.4, line
            assert page.locator(ERROR_OUTPUT).count() == 0
            live = live_results(server, "browser_mic_speech.ipynb", tmp_path / "live.npz")
            compared = check_against_classify(live, speech_wav, tmp_path, expected="speech")
            print(f"speech: live vs classify: {compared}")
        finally:
            page.screenshot(path=str(tmp_path / "final.png"))
            context.close()
            server.shutdown_kernels()
