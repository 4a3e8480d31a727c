"""audio.py: loading every common format and rate to float32 mono, and clear errors for bad input."""
import numpy as np
import pytest
import soundfile as sf

from audioclf_lib import audio
from tests.helpers import starter_clip, tone, write_wav


@pytest.mark.parametrize("subtype", ["PCM_U8", "PCM_16", "PCM_24", "FLOAT"])
def test_wav_subtypes_load_as_float32(tmp_path, subtype):
    y = tone(440, 0.5, 22_050)
    path = write_wav(tmp_path / "a.wav", y, 22_050, subtype=subtype)
    out, sr = audio.load_audio(path)
    assert out.dtype == np.float32 and sr == 22_050
    assert np.abs(out - y).max() < (0.02 if subtype == "PCM_U8" else 1e-3)


@pytest.mark.parametrize("fmt", ["flac", "ogg", "mp3"])
def test_compressed_formats(tmp_path, fmt):
    y = tone(1000, 1.0, 44_100)
    path = tmp_path / f"a.{fmt}"
    sf.write(str(path), y, 44_100, format=fmt.upper() if fmt != "mp3" else "MP3")
    out, sr = audio.load_audio(path, 16_000)
    assert sr == 16_000 and abs(out.size - 16_000) < 1_200  # mp3 adds encoder delay
    spectrum = np.abs(np.fft.rfft(out))
    assert abs(np.argmax(spectrum) * sr / out.size - 1000) < 5


def test_real_starter_clip_resampled(tmp_path):
    y, sr = audio.load_audio(starter_clip("music"), 22_050)
    assert sr == 22_050 and y.dtype == np.float32 and y.ndim == 1 and np.isfinite(y).all()


def test_stereo_is_averaged_to_mono(tmp_path):
    left, right = tone(300, 0.5, 16_000), np.zeros(8_000, np.float32)
    path = write_wav(tmp_path / "st.wav", np.stack([left, right], axis=1), 16_000, subtype="FLOAT")
    y, _ = audio.load_audio(path)
    assert y.ndim == 1 and np.allclose(y, left / 2, atol=1e-6)


def test_resample_keeps_frequency():
    y = tone(1234, 1.0, 44_100)
    out = audio.resample(y, 44_100, 16_000)
    assert out.size == 16_000
    assert abs(np.argmax(np.abs(np.fft.rfft(out))) - 1234) <= 1


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda p: p, "file not found"),
        (lambda p: (p.write_bytes(b""), p)[1], "empty file"),
        (lambda p: (p.write_bytes(b"RIFF\x00\x00garbage" * 10), p)[1], "unreadable audio"),
        (lambda p: write_wav(p, np.zeros(0, np.float32), 16_000), "empty audio"),
        (lambda p: write_wav(p, np.array([0.1, np.nan, 0.2] * 100, np.float32), 16_000, "FLOAT"), "NaN/Inf"),
        (lambda p: write_wav(p, np.zeros(100, np.float32), 8), "below 1000 Hz"),
    ],
    ids=["missing", "zero-bytes", "garbage", "no-samples", "nan", "rate-8Hz"],
)
def test_bad_audio_errors_name_the_file(tmp_path, make, reason):
    path = make(tmp_path / "bad.wav")
    with pytest.raises(audio.AudioError) as err:
        audio.load_audio(path, 16_000)
    assert reason in str(err.value) and "bad.wav" in str(err.value)


def test_silence_detection_in_dbfs():
    sr = 16_000
    loud = tone(440, 1.0, sr, amp=0.1)  # about -23 dBFS
    assert not audio.is_silent(loud)
    assert audio.is_silent(loud * 1e-3)  # about -83 dBFS
    assert audio.is_silent(np.zeros(sr, np.float32))
    clicks = np.zeros(2 * sr, np.float32)
    clicks[sr] = 1.0  # one click in 2 s (2 of 61 frames) is not content
    assert audio.is_silent(clicks)
    assert abs(audio.rms_dbfs(tone(100, 1.0, sr, amp=1.0)) + 3.01) < 0.05


@pytest.mark.parametrize("n", [1024, 1535, 1536, 16_000, 80_001])
@pytest.mark.parametrize("frame_length,hop_length", [(1024, 512), (1024, 256), (1000, 300)])
def test_frame_levels_equal_the_definition(n, frame_length, hop_length):
    # The hop-sum shortcut must give every frame's mean square exactly as squaring each frame does.
    y = np.random.default_rng(n).standard_normal(n).astype(np.float32) * 0.1
    frames = np.lib.stride_tricks.sliding_window_view(y, frame_length)[::hop_length]
    expected = 10.0 * np.log10(np.mean(np.square(frames, dtype=np.float64), axis=1) + 1e-10)
    got = audio.frame_rms_dbfs(y, frame_length=frame_length, hop_length=hop_length)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-9)


def test_normalisation():
    y = tone(440, 0.5, 16_000, amp=0.05)
    assert abs(np.abs(audio.peak_normalize(y)).max() - 1.0) < 1e-6
    assert abs(audio.rms_dbfs(audio.rms_normalize(y, target_dbfs=-20)) + 20) < 0.01


def test_fix_length_and_segment():
    y = np.arange(10, dtype=np.float32)
    assert np.array_equal(audio.fix_length(y, 4, offset=3), [3, 4, 5, 6])
    assert np.array_equal(audio.fix_length(y[:3], 7), [0, 1, 2, 0, 1, 2, 0])
    assert np.array_equal(audio.fix_length(y[:3], 5, mode="constant"), [0, 1, 2, 0, 0])
    windows, starts = audio.segment(np.arange(25, dtype=np.float32), 10)
    assert windows.shape == (3, 10) and list(starts) == [0, 10, 20]  # 5-sample tail kept (>= half a window)
    windows, starts = audio.segment(np.arange(23, dtype=np.float32), 10)
    assert list(starts) == [0, 10]  # 3-sample tail dropped
    windows, starts = audio.segment(np.arange(4, dtype=np.float32), 10)
    assert windows.shape == (1, 10)


def test_stream_blocks_matches_whole_file(tmp_path):
    rng = np.random.default_rng(1)
    y = (0.1 * rng.standard_normal(44_100 * 3)).astype(np.float32)
    path = write_wav(tmp_path / "long.wav", y, 44_100, "FLOAT")
    whole, _ = audio.load_audio(path, 16_000)
    streamed = np.concatenate(list(audio.stream_blocks(path, 16_000, block_seconds=0.7)))
    assert abs(streamed.size - whole.size) <= 2
    n = min(streamed.size, whole.size)
    assert np.abs(streamed[100 : n - 100] - whole[100 : n - 100]).max() < 1e-3


@pytest.mark.parametrize("n", [1024, 3000, 80_000])
@pytest.mark.parametrize("q", [0.0, 0.5, 0.95, 1.0])
def test_loud_level_is_the_linear_quantile_of_frame_levels(n, q):
    y = (np.random.default_rng(n).standard_normal(n) * np.linspace(0.01, 1.0, n)).astype(np.float32)
    levels = audio.frame_rms_dbfs(y, frame_length=1024, hop_length=512)
    assert audio.loud_level_dbfs(y, loud_quantile=q) == pytest.approx(float(np.quantile(levels, q)), abs=1e-9)
