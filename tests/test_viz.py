"""Figure hygiene: every spectrogram the library draws has a colour bar and a frequency axis in Hz."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from audioclf_lib import viz
from audioclf_lib.features import _hz_to_mel


def test_mel_ticks_sit_on_the_band_whose_centre_is_that_frequency():
    ticks, positions = viz.mel_ticks(64, 20.0, 8_000.0)
    assert ticks == [100, 250, 500, 1000, 2000, 4000]
    # mel spacing: the band index is linear in mel, so 1 kHz lies where its mel value falls between the ends
    edges = np.linspace(_hz_to_mel(20.0), _hz_to_mel(8_000.0), 66)
    step = edges[1] - edges[0]
    expected = (_hz_to_mel(1000.0) - edges[1]) / step
    assert positions[ticks.index(1000)] == pytest.approx(expected)
    assert np.all(np.diff(positions) > 0)


def test_spectrogram_has_a_db_colour_bar_and_hz_axis():
    fig = viz.plot_spectrogram(-80 * np.random.default_rng(0).random((64, 313)), sr=16_000, hop_length=256)
    image_ax, colour_ax = fig.axes
    assert colour_ax.get_ylabel() == "dB"
    assert image_ax.get_ylabel() == "frequency (Hz)"
    labels = [t.get_text() for t in image_ax.get_yticklabels()]
    assert labels[-4:] == ["500", "1k", "2k", "4k"] and set(labels) <= {"100", "250", "500", "1k", "2k", "4k"}
    assert image_ax.get_xlabel() == "time (s)" and image_ax.get_xlim()[1] == pytest.approx(313 * 256 / 16_000)
    plt.close(fig)


def test_segment_timeline_shares_the_hz_axis():
    sr = 16_000
    y = np.random.default_rng(1).standard_normal(sr * 4).astype(np.float32) * 0.1
    segments = pd.DataFrame({"start": [0.0, 2.0], "end": [2.0, 4.0], "label": ["music", "noise"]})
    fig = viz.plot_segments(y, sr, segments)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert "1k" in labels and fig.axes[-1].get_label() == "<colorbar>"
    plt.close(fig)


def test_audio_players_embed_decodable_ogg_that_stays_small():
    import base64
    import io
    import re

    import soundfile as sf

    sr = 16_000
    t = np.arange(sr * 5) / sr
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    html = viz.audio_players({"a tone": tone, "<noise>": np.full(sr, np.nan, np.float32)}, sr).data
    uris = re.findall(r'src="data:audio/ogg;base64,([^"]+)"', html)
    assert len(uris) == 2 and html.count("<audio") == 2 and "&lt;noise&gt;" in html
    assert len(uris[0]) < 60_000  # 5 s: a WAV would be 213 KB of base64
    y, rate = sf.read(io.BytesIO(base64.b64decode(uris[0])))
    assert rate == sr and abs(len(y) - len(tone)) < 1024
    assert np.corrcoef(y[2000:70000], tone[2000:70000])[0, 1] > 0.95


def test_tick_labels_are_thinned_on_a_short_axis():
    fig, (tall, short) = plt.subplots(1, 2, figsize=(6, 4), gridspec_kw={})
    short.set_position([0.6, 0.1, 0.3, 0.12])  # about 35 points high
    S = np.zeros((64, 10))
    viz.plot_spectrogram(S, ax=tall, colorbar=False)
    viz.plot_spectrogram(S, ax=short, colorbar=False)
    tall_labels = [t.get_text() for t in tall.get_yticklabels()]
    short_labels = [t.get_text() for t in short.get_yticklabels()]
    assert tall_labels[-4:] == ["500", "1k", "2k", "4k"]
    assert short_labels[-1] == "4k" and len(short_labels) < len(tall_labels)
    for ax, height_points in ((tall, tall.get_position().height * 4 * 72), (short, 0.12 * 4 * 72)):
        assert np.min(np.diff(ax.get_yticks())) * height_points / 64 >= 10  # labels at least ~10 points apart
    plt.close(fig)
