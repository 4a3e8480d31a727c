"""Device simulation: presets, determinism, the SNR actually achieved, each stage's physical effect, recordings."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import signal as sps

from audioclf_lib import devices as d
from audioclf_lib.audio import load_audio
from audioclf_lib.data import ClipSet
from audioclf_lib.devices import chain
from tests.helpers import starter_clip, tone

SR = 16_000


@pytest.fixture(scope="module")
def music() -> np.ndarray:
    y, _ = load_audio(starter_clip("music", 3), SR)
    return y[: 5 * SR]


@pytest.fixture(scope="module")
def noise_clip() -> np.ndarray:
    y, _ = load_audio(starter_clip("noise", 5), SR)
    return y


def band_db(y: np.ndarray, lo: float, hi: float) -> float:
    f, p = sps.welch(y, fs=SR, nperseg=2048)
    return 10 * np.log10(p[(f >= lo) & (f < hi)].mean() + 1e-20)


def tiny_clipset(pieces: dict[str, list[np.ndarray]]) -> ClipSet:
    import pandas as pd

    rows, audio = [], []
    for cls, ys in pieces.items():
        for i, y in enumerate(ys):
            rows.append({"path": f"{cls}/toy__c{i}.wav", "class": cls, "source": "toy", "original": f"{cls}/c{i}",
                         "n_samples": len(y)})
            audio.append(y.astype(np.float32))
    table = pd.DataFrame(rows)
    offsets = np.concatenate([[0], np.cumsum(table["n_samples"])]).astype(np.int64)
    return ClipSet(np.concatenate(audio), offsets, table, SR)


# -- presets and determinism -----------------------------------------------------------------------

def test_presets_exist_and_phone_is_transparent(music):
    assert set(d.PRESETS) >= {"phone", "laptop"}
    assert d.get_profile("laptop") is d.LAPTOP
    out = d.simulate(music, SR, "phone", seed=1)
    np.testing.assert_array_equal(out, np.clip(music, -1, 1))
    with pytest.raises(ValueError, match="'tablet'"):
        d.get_profile("tablet")


def test_laptop_is_defined_from_cited_figures_not_from_the_loud_fan_chain():
    """LAPTOP states its figures (WebRTC's 100-Hz high-pass, 12-dB suppression and AGC1 gain, a 20-dB fan SNR);
    the severities are a stress sweep around it, not a calibration."""
    assert d.get_profile("laptop_loud_fan") is d.LAPTOP_LOUD_FAN
    assert (d.LAPTOP.highpass_hz, d.LAPTOP.highpass_order, d.LAPTOP.lowpass_hz) == (100.0, 2, None)
    assert d.LAPTOP.resonances == (d.Resonance(6_800.0, 6.0, 2.0),)
    assert d.LAPTOP.snr_db == 20.0 and d.LAPTOP.clip_db is None
    assert (d.LAPTOP.suppression_db, d.LAPTOP.suppression_over, d.LAPTOP.suppression_percentile) == (12.0, 1.0, 25.0)
    assert (d.LAPTOP.agc_target_dbfs, d.LAPTOP.agc_max_gain_db) == (-12.0, 9.0)
    from audioclf_lib.devices.profiles import _helmholtz_hz
    assert _helmholtz_hz() == pytest.approx(6_800.0, rel=0.01)  # the resonance is the stated geometry's
    assert d.LAPTOP_SEVERITY[0] == 0.0 and 1.0 in d.LAPTOP_SEVERITY and list(d.LAPTOP_SEVERITY) == sorted(d.LAPTOP_SEVERITY)
    # milder than the loud-fan stress case in every stage it shares with it
    assert d.LAPTOP.snr_db > d.LAPTOP_LOUD_FAN.snr_db and d.LAPTOP.suppression_db < d.LAPTOP_LOUD_FAN.suppression_db
    assert d.LAPTOP.highpass_hz < d.LAPTOP_LOUD_FAN.highpass_hz


@pytest.mark.parametrize("profile", ["laptop", "laptop_loud_fan", d.severity_profile(d.LAPTOP, 2.0)],
                         ids=["laptop", "laptop-loud-fan", "laptop-x2"])
def test_same_seed_same_output_other_seed_other_noise(music, profile):
    a = d.simulate(music, SR, profile, seed=7)
    b = d.simulate(music, SR, profile, seed=7)
    c = d.simulate(music, SR, profile, seed=8)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.dtype == np.float32 and a.shape == music.shape
    assert np.isfinite(a).all() and np.abs(a).max() <= 1.0


def test_generator_and_int_seeds_agree(music):
    np.testing.assert_array_equal(d.simulate(music, SR, "laptop", seed=3),
                                  d.simulate(music, SR, "laptop", seed=np.random.default_rng(3)))


def test_random_device_is_deterministic_and_varied(music):
    first = [d.random_device(np.random.default_rng((5, i))) for i in range(40)]
    again = [d.random_device(np.random.default_rng((5, i))) for i in range(40)]
    assert first == again
    assert len({p.snr_db for p in first}) > 20
    assert any(p.codec_sr == 8_000 for p in first) and any(p.agc_target_dbfs is not None for p in first)
    transform = d.RandomDevice(sr=SR, p=1.0)
    y1 = transform(music, np.random.default_rng(11))
    y2 = transform(music, np.random.default_rng(11))
    np.testing.assert_array_equal(y1, y2)
    assert y1.shape == music.shape and y1.dtype == np.float32 and np.isfinite(y1).all()


def test_many_random_devices_give_valid_audio(music):
    rng = np.random.default_rng(0)
    for _ in range(60):
        y = d.simulate(music[: 2 * SR], SR, d.random_device(rng), rng)
        assert y.shape == (2 * SR,) and np.isfinite(y).all() and np.abs(y).max() <= 1.0


# -- the SNR actually achieved -----------------------------------------------------------------------

@pytest.mark.parametrize("snr", [-5.0, 0.0, 6.0, 10.0, 20.0, 35.0])
@pytest.mark.parametrize("mix", [(0.0, 0.0), (0.15, 0.05), (0.6, 0.4)], ids=["fan", "laptop-mix", "hum+white"])
@pytest.mark.parametrize("preset", ["laptop", "laptop_loud_fan"])
def test_snr_is_achieved_within_half_a_db(music, snr, mix, preset):
    profile = d.get_profile(preset).replace(snr_db=snr, hum_share=mix[0], white_share=mix[1])
    parts = d.simulate(music, SR, profile, seed=int(snr * 10) + 100, return_parts=True)
    assert abs(d.measure_snr_db(parts.signal, parts.noise) - snr) < 0.5
    assert abs(parts.snr_db - snr) < 0.5


@pytest.mark.parametrize("snr", [0.0, 6.0, 15.0])
def test_snr_measured_at_the_output_of_a_linear_device(music, snr):
    """No non-linear stage: the output minus the filtered music is the noise, at the requested SNR."""
    profile = d.DeviceProfile(highpass_hz=300.0, resonances=(d.Resonance(3_200.0, 9.0, 2.5),), lowpass_hz=5_500.0,
                              snr_db=snr, hum_share=0.15, white_share=0.05)
    quiet = music * 0.2  # stays far from full scale: no clipping at the output either
    out = d.simulate(quiet, SR, profile, seed=1)
    filtered = sps.sosfilt(d.capsule_sos(profile, SR), quiet)
    assert abs(d.measure_snr_db(filtered, out - filtered) - snr) < 0.5


def test_silent_input_gets_noise_not_nan():
    out = d.simulate(np.zeros(SR, np.float32), SR, "laptop", seed=0)
    assert np.isfinite(out).all() and np.sqrt(np.mean(out ** 2)) > 0


# -- each stage does what it claims ----------------------------------------------------------------------

def test_laptop_capsule_has_a_high_pass_and_a_port_resonance():
    profile = d.DeviceProfile(highpass_hz=d.LAPTOP.highpass_hz, resonances=d.LAPTOP.resonances, lowpass_hz=d.LAPTOP.lowpass_hz)
    white = np.random.default_rng(0).standard_normal(10 * SR).astype(np.float32) * 0.1
    out = d.simulate(white, SR, profile)
    gain = {band: band_db(out, *band) - band_db(white, *band) for band in [(30, 50), (700, 900), (6_400, 7_200)]}
    assert gain[(30, 50)] < -10, gain  # 2nd-order high-pass at 100 Hz: 12 dB/octave below it
    assert abs(gain[(700, 900)]) < 1, gain  # flat in the middle
    assert gain[(6_400, 7_200)] > 4, gain  # the port's Helmholtz resonance
    response = d.capsule_response_db(profile, SR, np.array([40.0, 100.0, 1_000.0, 6_800.0]))
    np.testing.assert_allclose(response[1:], [-3.0, 0.0, 6.0], atol=0.3)
    assert response[0] < -14


def test_loud_fan_capsule_has_weak_lows_a_resonant_peak_and_early_rolloff():
    laptop = d.LAPTOP_LOUD_FAN
    profile = d.DeviceProfile(highpass_hz=laptop.highpass_hz, resonances=laptop.resonances, lowpass_hz=laptop.lowpass_hz)
    white = np.random.default_rng(0).standard_normal(10 * SR).astype(np.float32) * 0.1
    out = d.simulate(white, SR, profile)
    gain = {band: band_db(out, *band) - band_db(white, *band) for band in [(60, 120), (700, 900), (2_900, 3_500), (7_000, 7_900)]}
    assert gain[(60, 120)] < -15, gain  # weak lows
    assert gain[(2_900, 3_500)] > gain[(700, 900)] + 6, gain  # Helmholtz peak
    assert gain[(7_000, 7_900)] < -10, gain  # early roll-off
    response = d.capsule_response_db(profile, SR, np.array([100.0, 3_200.0, 7_500.0]))
    assert response[1] > 6 and response[0] < -15 and response[2] < -10


def test_hum_and_fan_have_their_lines():
    rng = np.random.default_rng(0)
    hum = d.mains_hum(4 * SR, SR, rng, hum_hz=60.0)
    f, p = sps.periodogram(hum, fs=SR)
    peaks = f[np.argsort(p)[-3:]]
    assert set(np.round(peaks)) <= {60.0, 180.0, 300.0, 120.0}
    assert np.sqrt(np.mean(hum ** 2)) == pytest.approx(1.0, rel=1e-3)
    fan = d.fan_noise(4 * SR, SR, rng, rpm=4_500, blades=31, tone_share=0.5)
    assert band_db(fan, 2_250, 2_400) > band_db(fan, 1_800, 2_000) + 6  # blade-pass tone at 2325 Hz


def test_agc_compresses_a_loud_and_a_quiet_half():
    y = np.concatenate([tone(440, 2.0, SR, 0.5), tone(440, 2.0, SR, 0.5 * 10 ** (-30 / 20))])
    out = d.simulate(y, SR, d.DeviceProfile(agc_target_dbfs=-20.0, agc_ratio=3.0, agc_max_gain_db=30.0))

    def level(x):
        return 10 * np.log10(np.mean(x ** 2))

    before = level(y[: SR]) - level(y[-SR:])
    after = level(out[SR // 2 : SR]) - level(out[-SR:])
    assert before == pytest.approx(30, abs=0.1)
    assert after == pytest.approx(before / 3, abs=2.0)  # 3:1 compression of the level difference


def test_clipping_suppression_and_codec():
    y = (tone(300, 2.0, SR, 0.5) + tone(5_000, 2.0, SR, 0.2)).astype(np.float32)
    parts = d.simulate(y, SR, d.DeviceProfile(clip_db=6.0), return_parts=True)
    assert parts.clipped_fraction > 0.1
    assert np.abs(parts.output).max() == pytest.approx(np.abs(y).max() * 10 ** (-6 / 20), rel=1e-3)
    phone_line = d.simulate(y, SR, d.DeviceProfile(codec_sr=8_000, mu_law=True))
    assert band_db(phone_line, 4_500, 5_500) < band_db(y, 4_500, 5_500) - 40  # nothing above 4 kHz
    assert abs(band_db(phone_line, 250, 350) - band_db(y, 250, 350)) < 1.0


def test_noise_suppression_removes_stationary_hiss_and_keeps_a_changing_sound():
    bursts = tone(1_000, 4.0, SR, 0.05) * (np.arange(4 * SR) // (SR // 4) % 2)  # 1 kHz, on and off every 0.25 s
    hiss = np.random.default_rng(1).standard_normal(4 * SR).astype(np.float32) * 0.003
    x = (bursts + hiss).astype(np.float32)
    out = d.simulate(x, SR, d.DeviceProfile(suppression_db=20.0, suppression_over=2.0))
    assert band_db(out, 5_000, 7_000) < band_db(x, 5_000, 7_000) - 6  # hiss: spectral subtraction leaves ~e^-2 of it
    assert band_db(out, 950, 1_050) > band_db(x, 950, 1_050) - 3  # the bursts stay


def test_severity_profile_spans_transparent_to_worse(music):
    assert d.severity_profile(d.LAPTOP, 0.0).describe().index.tolist() == ["(none)"]
    assert d.severity_profile(d.LAPTOP, 1.0).replace(name="laptop") == d.LAPTOP
    worse = d.severity_profile(d.LAPTOP, 2.0)
    assert worse.snr_db == d.LAPTOP.snr_db - 10 and worse.highpass_hz == 2 * d.LAPTOP.highpass_hz
    assert worse.suppression_db == 2 * d.LAPTOP.suppression_db and worse.resonances[0].gain_db == 12.0
    assert d.severity_profile(d.LAPTOP_LOUD_FAN, 2.0).lowpass_hz < d.LAPTOP_LOUD_FAN.lowpass_hz
    assert d.severity_profile(d.LAPTOP, 1.5, with_noise=False).snr_db is None
    with pytest.raises(ValueError, match="-1"):
        d.severity_profile(d.LAPTOP, -1)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"highpass_hz": -5.0}, "highpass_hz=-5.0"),
    ({"highpass_hz": 6_000.0, "lowpass_hz": 5_000.0}, "highpass_hz=6000.0"),
    ({"hum_share": 1.5}, "hum_share=1.5"),
    ({"hum_share": 0.7, "white_share": 0.6}, "exceeds 1"),
    ({"agc_ratio": 0.5}, "agc_ratio=0.5"),
    ({"bits": 1}, "bits=1"),
    ({"resonances": ((1000.0, 3.0, 0.0),)}, "q=0.0"),
])
def test_bad_settings_raise_with_the_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        d.DeviceProfile(**kwargs)


def test_simulate_rejects_bad_audio():
    with pytest.raises(ValueError, match="empty"):
        d.simulate(np.zeros(0, np.float32), SR, "laptop")
    with pytest.raises(ValueError, match=r"\(2, 100\)"):
        d.simulate(np.zeros((2, 100), np.float32), SR, "laptop")


# -- clip sets, selections, folders ----------------------------------------------------------------------------

def test_simulate_clips_is_reproducible_clip_by_clip(music, noise_clip):
    clips = tiny_clipset({"music": [music[:SR * 2], music[SR * 2:]], "noise": [noise_clip[: SR * 3]]})
    a = d.simulate_clips(clips, "laptop", seed=4)
    b = d.simulate_clips(clips, "laptop", seed=4)
    np.testing.assert_array_equal(a.audio, b.audio)
    assert list(np.diff(a.offsets)) == list(np.diff(clips.offsets))
    only_music = d.simulate_clips(clips, "laptop", seed=4, classes=["music"])
    assert len(only_music) == 2
    np.testing.assert_array_equal(only_music.clip(1), a.clip(1))  # a clip's device noise does not depend on the others


def test_random_device_clips_give_each_clip_its_own_reproducible_device(music, noise_clip):
    clips = tiny_clipset({"music": [music[:SR * 2], music[SR * 2:SR * 4]], "noise": [noise_clip[: SR * 3]]})
    a = d.random_device_clips(clips, seed=2)
    np.testing.assert_array_equal(a.audio, d.random_device_clips(clips, seed=2).audio)
    assert not np.array_equal(a.audio, d.random_device_clips(clips, seed=3).audio)
    assert list(np.diff(a.offsets)) == list(np.diff(clips.offsets))
    # the same recording as simulating clip i through the device drawn for it (the contract notebook 04 relies on)
    device_1 = d.random_device(np.random.default_rng((2, 99, 1)), SR)
    np.testing.assert_array_equal(a.clip(1), d.simulate(clips.clip(1), SR, device_1, np.random.default_rng((2 + 99, 1))))
    assert not np.allclose(a.clip(0), clips.clip(0))  # every clip really goes through a device


def test_device_folder_round_trip_and_missing_class(tmp_path, music, noise_clip):
    clips = tiny_clipset({"music": [music[: SR * 2]], "noise": [noise_clip[: SR * 2]]})
    table = d.write_device_clips(d.simulate_clips(clips, "laptop", seed=0), tmp_path / "sim")
    assert len(table) == 2 and all(p.exists() for p in table["path"])
    back = d.load_device_clips(tmp_path / "sim", ["music", "noise"])
    assert sorted(back.table["class"]) == ["music", "noise"]
    assert len(back.clip(0)) == 2 * SR
    with pytest.raises(ValueError, match="speech"):
        d.load_device_clips(tmp_path / "sim", ["music", "speech"])
    with pytest.raises(FileNotFoundError, match="record some clips"):
        d.load_device_clips(tmp_path / "nothing", ["music"])


def test_select_clips_is_balanced_nested_and_reproducible(music, noise_clip):
    pieces = {"music": [music[i * SR : (i + 1) * SR] for i in range(5)],
              "noise": [noise_clip[: SR // 2 + i * 100] for i in range(4)]}
    clips = tiny_clipset(pieces)
    five = d.select_clips(clips, 5, ["music", "noise"], seed=2)
    three = d.select_clips(clips, 3, ["music", "noise"], seed=2)
    assert sorted(five.table["class"]) == ["music"] * 3 + ["noise"] * 2
    assert set(three.table["path"]) <= set(five.table["path"])
    assert list(d.select_clips(clips, 5, ["music", "noise"], seed=2).table["path"]) == list(five.table["path"])
    np.testing.assert_array_equal(five.clip(0), clips.clip(int(np.flatnonzero(clips.table["path"] == five.table["path"][0])[0])))
    with pytest.raises(ValueError, match="noise"):
        d.select_clips(clips, 10, ["music", "noise"])
    taken = clips.take([8, 0])
    assert list(taken.table["path"]) == [clips.table["path"][8], clips.table["path"][0]]


@pytest.mark.parametrize("btype", ["lowpass", "highpass"])
@pytest.mark.parametrize("order", [1, 2, 3, 4, 6])
@pytest.mark.parametrize("cutoff_hz", [40.0, 300.0, 3_400.0, 7_800.0])
def test_butterworth_sections_match_scipy(btype, order, cutoff_hz):
    ours, reference = chain._butter_sos(order, cutoff_hz, btype, 16_000), sps.butter(order, cutoff_hz, btype=btype, fs=16_000, output="sos")
    assert ours.shape == reference.shape
    x = np.random.default_rng(order).standard_normal(8_000)
    np.testing.assert_allclose(sps.sosfilt(ours, x), sps.sosfilt(reference, x), atol=1e-7)


def test_the_package_exports_what_its_modules_list():
    assert [name for name in d.__all__ if not hasattr(d, name)] == []
    assert len(set(d.__all__)) == len(d.__all__)
