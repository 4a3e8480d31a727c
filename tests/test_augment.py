"""augment.py and the training options for robustness: each augmentation does what its docstring says, the
default augmentation is unchanged, source-balanced sampling, and mixup in the training loop."""
import numpy as np
import pytest
import torch

from audioclf_lib.audio import load_audio
from audioclf_lib.augment import (WaveAugment, band_limit, lossy_codec, mix_at_snr, random_eq, reverberate,
                                  synthetic_rir)
from audioclf_lib.data import ClipSet
from audioclf_lib.train import TrainConfig, _mixup_draw, train_classifier
from audioclf_lib.windows import TrainWindows
from tests.helpers import starter_clip, tone
from tests.test_train import CONFIG, toy_splits  # noqa: F401  (the module's toy corpus fixture)

SR = 16_000


@pytest.fixture(scope="module")
def music():
    """Five seconds of a real music recording."""
    y, _ = load_audio(starter_clip("music", 3), SR)
    return np.resize(y, 5 * SR).astype(np.float32)


def _db(x: float) -> float:
    return 10 * np.log10(x)


def test_mix_at_snr_is_exact_and_band_limit_removes_the_highs():
    rng = np.random.default_rng(0)
    s, n = tone(440, 1, SR), rng.standard_normal(SR).astype(np.float32)
    mixed = mix_at_snr(s, n, 6.0)
    assert _db(np.mean(s.astype(float) ** 2) / np.mean((mixed - s).astype(float) ** 2)) == pytest.approx(6.0, abs=1e-3)
    spectrum = np.abs(np.fft.rfft(band_limit(n, SR, 3_000)))
    freqs = np.fft.rfftfreq(SR, 1 / SR)
    assert spectrum[freqs > 3_010].max() < 1e-3 * spectrum[freqs < 2_990].max()


@pytest.mark.parametrize("rt60_s, drr_db", [(0.3, 10.0), (1.0, 0.0)])
def test_synthetic_rir_has_its_reverberation_time_and_direct_to_reverberant_ratio(rt60_s, drr_db):
    rir = synthetic_rir(SR, rt60_s=rt60_s, drr_db=drr_db, rng=np.random.default_rng(1))
    assert rir.dtype == np.float32 and rir.size == round(rt60_s * SR) and rir[0] == 1.0
    tail = rir[1:].astype(np.float64)
    assert _db(1.0 / np.sum(tail**2)) == pytest.approx(drr_db, abs=0.01)
    # Schroeder's backward integration: the energy decay curve falls 60 dB per rt60 (fit between -5 and -25 dB)
    edc = _db(np.cumsum(tail[::-1] ** 2)[::-1] / np.sum(tail**2))
    t = np.arange(edc.size) / SR
    fit = (edc <= -5) & (edc >= -25)
    slope = np.polyfit(t[fit], edc[fit], 1)[0]  # dB per second
    assert -60 / slope == pytest.approx(rt60_s, rel=0.1)


def test_synthetic_rir_refuses_a_non_positive_reverberation_time():
    with pytest.raises(ValueError, match="rt60_s=0"):
        synthetic_rir(SR, rt60_s=0, drr_db=0, rng=np.random.default_rng(0))


def test_reverberation_keeps_length_and_level_and_smears_in_time(music):
    rir = synthetic_rir(SR, rt60_s=1.0, drr_db=-3.0, rng=np.random.default_rng(2))
    wet = reverberate(music, rir)
    assert wet.shape == music.shape and wet.dtype == np.float32
    assert np.sqrt(np.mean(wet.astype(float) ** 2)) == pytest.approx(np.sqrt(np.mean(music.astype(float) ** 2)), rel=1e-4)
    click = np.zeros(SR, np.float32)
    click[100] = 1.0
    echo = reverberate(click, rir)
    assert np.sum(echo[2_000:].astype(float) ** 2) > 0.1 * np.sum(echo.astype(float) ** 2)  # energy long after the click


def test_random_eq_is_identity_at_zero_gain_and_shapes_the_spectrum_otherwise(music):
    flat = random_eq(music, SR, np.random.default_rng(3), gain_db=(0.0, 0.0))
    np.testing.assert_allclose(flat, music, atol=1e-5)
    noise = np.random.default_rng(4).standard_normal(4 * SR).astype(np.float32)
    shaped = random_eq(noise, SR, np.random.default_rng(5), gain_db=(12.0, 12.0), n_bands=1)
    band_gain_db = _db(np.abs(np.fft.rfft(shaped)) ** 2 + 1e-9) - _db(np.abs(np.fft.rfft(noise)) ** 2 + 1e-9)
    smoothed = np.convolve(band_gain_db, np.ones(401) / 401, mode="same")
    assert smoothed.max() > 9.0 and np.median(smoothed) < 3.0  # one band boosted ~12 dB, most of the spectrum left alone


@pytest.mark.parametrize("codec", ["mp3", "opus", "vorbis"])
def test_lossy_codecs_round_trip_real_music(music, codec):
    decoded = lossy_codec(music, SR, codec, quality=1.0)
    assert decoded.shape == music.shape and decoded.dtype == np.float32 and np.isfinite(decoded).all()
    # codecs delay the signal by a few ms: compare at the best lag
    lags = range(0, 2_000)
    best = max(np.corrcoef(music[: -2_000], decoded[lag : lag - 2_000])[0, 1] for lag in lags[::1])
    assert best > 0.95, best
    worse = lossy_codec(music, SR, codec, quality=0.0)
    assert not np.allclose(worse, decoded)  # the quality setting reaches the encoder


def test_lossy_codec_refuses_unknown_codecs_and_qualities(music):
    with pytest.raises(ValueError, match="codec='aac'"):
        lossy_codec(music, SR, "aac")
    with pytest.raises(ValueError, match="quality=1.5"):
        lossy_codec(music, SR, "mp3", quality=1.5)


def _old_wave_augment(y, sr, rng, background):
    """WaveAugment() as the bundled models were trained with it (before reverberation, EQ and codecs)."""
    a = WaveAugment()
    if background is not None and rng.random() < a.p_noise:
        y = mix_at_snr(y, background, rng.uniform(*a.snr_db))
    if rng.random() < a.p_band_limit:
        y = band_limit(y, sr, rng.uniform(*a.cutoff_hz))
    if rng.random() < a.p_gain:
        y = y * np.float32(10.0 ** (rng.uniform(*a.gain_db) / 20.0))
    return np.clip(y, -1.0, 1.0).astype(np.float32, copy=False)


def test_default_augmentation_draws_exactly_what_it_drew_before(music):
    background = np.random.default_rng(9).standard_normal(music.size).astype(np.float32) * 0.1
    for seed in range(30):
        new = WaveAugment()(music, SR, np.random.default_rng(seed), background)
        old = _old_wave_augment(music, SR, np.random.default_rng(seed), background)
        np.testing.assert_array_equal(new, old)


def test_robust_augmentation_is_seeded_and_uses_its_new_stages(music, monkeypatch):
    import audioclf_lib.augment as augment

    calls = {"reverberate": 0, "random_eq": 0, "lossy_codec": 0}
    for name in calls:
        real = getattr(augment, name)
        monkeypatch.setattr(augment, name, lambda *a, _real=real, _name=name, **k: calls.__setitem__(_name, calls[_name] + 1) or _real(*a, **k))
    robust = WaveAugment.robust()
    a = [robust(music, SR, np.random.default_rng(s)) for s in range(24)]
    b = [robust(music, SR, np.random.default_rng(s)) for s in range(24)]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    # each stage on ~30 % of 48 calls: all three were used, none on every window
    assert all(4 <= n <= 30 for n in calls.values()), calls
    assert all(x.shape == music.shape and np.abs(x).max() <= 1.0 for x in a)


def _clipset(sources: dict[str, int], seconds: float = 2.0) -> ClipSet:
    """A music ClipSet with ``n`` clips per source, each a constant value identifying its source."""
    import pandas as pd

    rows, audio = [], []
    for k, (source, n) in enumerate(sources.items()):
        for i in range(n):
            rows.append({"class": "music", "source": source, "path": f"music/{source}__{i}.ogg"})
            audio.append(np.full(int(seconds * SR), (k + 1) / 10, np.float32))
    offsets = np.concatenate([[0], np.cumsum([a.size for a in audio])])
    return ClipSet(np.concatenate(audio), offsets, pd.DataFrame(rows), SR)


@pytest.mark.parametrize("balance, expected_big_share", [("clip", 0.9), ("source", 0.5)])
def test_source_balanced_sampling_stops_a_large_source_from_dominating(balance, expected_big_share):
    clips = _clipset({"big_game": 90, "small_game": 10})
    windows = TrainWindows(clips, ["music"], SR, windows_per_epoch=2_000, augment=None, background_class=None,
                           p_concat=0.0, balance=balance)
    values = np.array([float(windows[i][0][0]) for i in range(len(windows))])
    big_share = float(np.mean(np.isclose(values, 0.1)))
    assert big_share == pytest.approx(expected_big_share, abs=0.04)


def test_source_balance_needs_a_known_mode():
    with pytest.raises(ValueError, match="balance='sources'"):
        TrainWindows(_clipset({"a": 1}), ["music"], SR, balance="sources")


def test_mixup_draw_keeps_the_batch_labels_major_and_is_seeded():
    lams = [_mixup_draw(0.4, 8, torch.Generator().manual_seed(s))[0] for s in range(50)]
    assert all(0.5 <= lam <= 1.0 for lam in lams) and len(set(lams)) > 40
    lam_a, perm_a = _mixup_draw(0.4, 8, torch.Generator().manual_seed(3))
    lam_b, perm_b = _mixup_draw(0.4, 8, torch.Generator().manual_seed(3))
    assert lam_a == lam_b and torch.equal(perm_a, perm_b) and sorted(perm_a.tolist()) == list(range(8))


def _train(splits, **kwargs):
    torch.set_num_threads(1)
    config = TrainConfig(num_epochs=kwargs.pop("epochs", 1), batch_size=16, seed=0, mixup_alpha=kwargs.pop("mixup_alpha", 0.0))
    return train_classifier("mel_cnn", ["music", "noise"], CONFIG, splits, windows_per_epoch=64, progress=False,
                            model_kwargs={"channels": (8, 16)}, train_config=config, device="cpu", **kwargs)


def test_training_with_mixup_and_the_robust_augmentation_is_deterministic_and_recorded(toy_splits):  # noqa: F811
    runs = [_train(toy_splits, mixup_alpha=0.4, augment=WaveAugment.robust()) for _ in range(2)]
    for (name, a), b in zip(runs[0].model.state_dict().items(), runs[1].model.state_dict().values()):
        assert torch.equal(a, b), name
    plain = _train(toy_splits)
    assert not torch.equal(plain.model.head.weight, runs[0].model.head.weight)  # mixup and augmentation changed training
    summary = runs[0].train_summary
    assert summary["train_config"]["mixup_alpha"] == 0.4 and summary["augment"]["p_codec"] == 0.3


def test_mixup_learns_the_separable_toy_problem(toy_splits):  # noqa: F811
    result = _train(toy_splits, mixup_alpha=0.4, epochs=6)
    assert result.metrics["window"]["balanced_accuracy"] >= 0.9, result.history.to_string()


def _three_class_clipset() -> ClipSet:
    """Random-noise clips of three classes and mixed lengths (short ones get joined or wrapped), one source each."""
    import pandas as pd

    rng = np.random.default_rng(7)
    rows, audio = [], []
    for k, (cls, seconds) in enumerate([("music", 7.0), ("music", 1.3), ("speech", 0.8), ("speech", 2.1),
                                        ("noise", 3.3), ("noise", 6.0)]):
        rows.append({"class": cls, "source": f"s{k}", "path": f"{cls}/s{k}.ogg"})
        audio.append(rng.standard_normal(int(seconds * SR)).astype(np.float32))
    offsets = np.concatenate([[0], np.cumsum([a.size for a in audio])])
    return ClipSet(np.concatenate(audio), offsets, pd.DataFrame(rows), SR)


def test_windows_without_speed_perturbation_are_drawn_as_before_it_existed():
    import hashlib

    windows = TrainWindows(_three_class_clipset(), ["music", "speech", "noise"], 2 * SR, windows_per_epoch=40,
                           augment=None, background_class=None, balance="source")
    h = hashlib.sha256()
    for i in range(len(windows)):
        y, label = windows[i]
        h.update(y.numpy().tobytes())
        h.update(bytes([label]))
    # The digest of the same 40 windows drawn by TrainWindows before speed_range existed (commit efc4a07): the
    # bundled recipe's training data must not move when the option is off.
    assert h.hexdigest() == "6cebcb737537af97e06e00794509673706b3fd70b6b31c48e5275c01715f5a7d"


@pytest.mark.parametrize("rate", [0.8, 1.25])
def test_speed_perturbation_scales_pitch_by_the_rate_and_keeps_the_window_length(rate):
    import pandas as pd

    y = tone(440, 20, SR)
    clips = ClipSet(y, np.array([0, y.size]), pd.DataFrame([{"class": "music", "source": "a", "path": "music/a.ogg"}]), SR)
    windows = TrainWindows(clips, ["music"], 2 * SR, windows_per_epoch=4, augment=None, background_class=None,
                           speed_range=(rate, rate))
    for i in range(len(windows)):
        x = windows[i][0].numpy()
        assert x.shape == (2 * SR,) and np.isfinite(x).all()
        spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
        peak_hz = np.fft.rfftfreq(x.size, 1 / SR)[np.argmax(spectrum)]
        assert peak_hz == pytest.approx(440 * rate, abs=2.0)  # a window cut 1.25x as long, squeezed: 550 Hz


@pytest.mark.parametrize("bad", [(1.1, 0.9), (0.2, 1.0), (1.0, 3.0)])
def test_speed_range_out_of_bounds_is_refused(bad):
    with pytest.raises(ValueError, match="speed_range"):
        TrainWindows(_three_class_clipset(), ["music"], SR, speed_range=bad)
