"""Bad input gets a defined outcome: processed correctly, or an AudioError naming the file; never a crash or NaN."""
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import soundfile as sf
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audioclf_lib.audio import AudioError, load_audio
from audioclf_lib.checkpoint import save_checkpoint
from audioclf_lib.config import FeatureConfig
from audioclf_lib.features import FeatureExtractor
from audioclf_lib.models import build_model
from audioclf_lib.predict import Predictor
from tests.helpers import starter_clip, tone, write_wav


@pytest.fixture(scope="module")
def predictor(tmp_path_factory):
    torch.manual_seed(0)
    path = save_checkpoint(tmp_path_factory.mktemp("ck") / "m.pt", build_model("mel_cnn", 3).eval(), model_name="mel_cnn",
                           class_names=["music", "speech", "noise"], feature_config=FeatureConfig())
    return Predictor(path, device="cpu")


def _assert_valid(table, predictor):
    probs = table[[f"p_{c}" for c in predictor.class_names]].to_numpy()
    assert np.isfinite(probs).all() and np.allclose(probs.sum(axis=1), 1, atol=1e-4)


@pytest.mark.parametrize("sr", [1_000, 8_000, 11_025, 96_000, 384_000])
def test_odd_rates_are_resampled(tmp_path, sr, predictor):
    path = write_wav(tmp_path / "a.wav", tone(400, 1.5, sr), sr, "FLOAT")
    y, out_sr = load_audio(path, 16_000)
    assert out_sr == 16_000 and abs(y.size - 24_000) <= 2
    _assert_valid(predictor.predict_file(path), predictor)


def test_multichannel_dc_and_clipping(tmp_path, predictor):
    sr = 16_000
    music, _ = load_audio(starter_clip("music", 5), sr)
    six = np.stack([music] * 6, axis=1)
    assert np.allclose(load_audio(write_wav(tmp_path / "six.wav", six, sr, "FLOAT"), sr)[0], music, atol=1e-6)
    fe = FeatureExtractor(FeatureConfig())
    w = torch.from_numpy(music[: 5 * sr].copy())[None]
    assert torch.allclose(fe(w), fe(w + 0.3), atol=1e-3)  # a DC offset changes nothing
    clipped = np.clip(music * 50, -1, 1)  # full-scale clipping: still a finite, valid answer
    _assert_valid(predictor.predict_segments(clipped, sr), predictor)


def test_wrong_extension_and_unsupported_content(tmp_path):
    y = tone(300, 0.5, 16_000)
    sf.write(tmp_path / "really_wav.mp3", y, 16_000, format="WAV")
    assert load_audio(tmp_path / "really_wav.mp3")[0].size == 8_000  # decoded by content, not by name
    (tmp_path / "text.flac").write_text("this is not audio\n" * 50)
    with pytest.raises(AudioError, match="text.flac"):
        load_audio(tmp_path / "text.flac")
    data = (tmp_path / "really_wav.mp3").read_bytes()
    (tmp_path / "truncated.wav").write_bytes(data[:30])
    with pytest.raises(AudioError, match="truncated.wav"):
        load_audio(tmp_path / "truncated.wav")


def test_inf_samples_are_refused(tmp_path, predictor):
    y = tone(300, 1.0, 16_000)
    y[100] = np.inf
    path = write_wav(tmp_path / "inf.wav", y, 16_000, "FLOAT")
    with pytest.raises(AudioError, match="inf.wav: 1 NaN/Inf"):
        predictor.predict_file(path)
    with pytest.raises(AudioError, match="NaN/Inf"):
        predictor.predict(y, 16_000)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(min_size=0, max_size=4096))
def test_random_bytes_never_crash_the_loader(tmp_path, data):
    path = tmp_path / "random.wav"
    path.write_bytes(data)
    try:
        y, sr = load_audio(path, 16_000)
    except AudioError as exc:
        assert "random.wav" in str(exc)
    else:
        assert y.dtype == np.float32 and np.isfinite(y).all()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    sr=st.integers(min_value=1, max_value=400_000),
    channels=st.integers(min_value=1, max_value=8),
    n=st.integers(min_value=0, max_value=40_000),
    scale=st.sampled_from([0.0, 1e-7, 1e-3, 0.5, 1.0, 1e3]),
    poison=st.sampled_from([None, np.nan, np.inf]),
    subtype=st.sampled_from(["FLOAT", "PCM_16", "PCM_24", "PCM_U8"]),
)
def test_valid_but_odd_audio_gives_an_answer_or_a_reason(tmp_path, predictor, sr, channels, n, scale, poison, subtype):
    rng = np.random.default_rng(n)
    y = (scale * rng.standard_normal((n, channels))).astype(np.float32)
    if poison is not None and n and subtype == "FLOAT":
        y[n // 2, 0] = poison
    path = tmp_path / "odd.wav"
    try:
        sf.write(path, y, sr, subtype=subtype)
    except Exception:  # libsndfile refuses some combinations itself: nothing to classify
        return
    try:
        table = predictor.predict_file(path)
    except AudioError as exc:
        assert "odd.wav" in str(exc)
    else:
        _assert_valid(table, predictor)


@pytest.mark.slow
def test_hours_long_file_in_bounded_memory(tmp_path, predictor):
    """A 2-hour file is classified block by block: peak memory stays far below the decoded file's size."""
    sr, hours = 16_000, 2
    path = tmp_path / "long.wav"
    block = (0.05 * np.random.default_rng(0).standard_normal(sr * 600)).astype(np.float32)
    with sf.SoundFile(path, "w", sr, 1, subtype="PCM_16") as f:
        for _ in range(hours * 6):
            f.write(block)
    short = tmp_path / "short.wav"
    sf.write(short, np.concatenate([block, block])[: sr * 300], sr, subtype="PCM_16")
    decoded_mb = hours * 3600 * sr * 4 / 2**20  # 440 MiB as float32
    script = textwrap.dedent(f"""
        import json, torch
        from audioclf_lib.predict import Predictor
        from audioclf_lib.timing import peak_rss_mb
        p = Predictor({str(predictor.checkpoint.path)!r}, device="cpu")
        p.predict_file({str(short)!r}, block_seconds=120)  # warm-up: allocator and library workspaces
        base = peak_rss_mb()  # this process image's own peak (ru_maxrss would include pytest's, from before exec)
        table = p.predict_file({str(path)!r}, block_seconds=120)
        peak = peak_rss_mb()
        print(json.dumps({{"rows": len(table), "growth_mb": peak - base, "finite": bool(table.filter(like="p_").notna().all().all())}}))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["rows"] == hours * 3600 // 5 and r["finite"]
    assert r["growth_mb"] < decoded_mb / 4, r
