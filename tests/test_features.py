"""features.py: the one front end matches librosa, its config round-trips, the seed representations are right."""
import dataclasses
import json

import librosa
import numpy as np
import pytest
import torch

from audioclf_lib.audio import fix_length, load_audio
from audioclf_lib.config import FeatureConfig
from audioclf_lib.features import FeatureExtractor, colormap_lut, extract_features, intensity_bin
from tests.helpers import starter_clip


@pytest.fixture(scope="module")
def music_window():
    cfg = FeatureConfig()
    y, _ = load_audio(starter_clip("music", 3), cfg.sample_rate)
    return fix_length(y, cfg.window_samples)


def test_mel_matches_librosa(music_window):
    cfg = FeatureConfig()
    ours = FeatureExtractor(cfg).power_mel(torch.from_numpy(music_window)[None])[0].numpy()
    ref = librosa.feature.melspectrogram(y=music_window, sr=cfg.sample_rate, n_fft=cfg.n_fft, hop_length=cfg.hop_length,
                                         n_mels=cfg.n_mels, fmin=cfg.fmin, fmax=cfg.fmax)
    assert ours.shape == ref.shape == (cfg.n_mels, cfg.n_frames)
    assert np.abs(ours - ref).max() / ref.max() < 1e-4


@pytest.mark.parametrize("n_mels", [64, 128])
def test_sparse_mel_projection_equals_the_dense_one(music_window, n_mels):
    # The CPU's sparse product and the dense matmul other devices use must give the same spectrogram, batched or not.
    fe = FeatureExtractor(FeatureConfig(n_mels=n_mels))
    y = torch.from_numpy(np.stack([music_window, 0.5 * music_window[::-1].copy(), np.zeros_like(music_window)]))
    spec = torch.stft(y, n_fft=fe.config.n_fft, hop_length=fe.config.hop_length, window=fe.window, center=True,
                      pad_mode="constant", return_complex=True)
    dense = torch.matmul(fe.mel_fb, spec.abs().square())
    batched, single = fe.power_mel(y), torch.cat([fe.power_mel(y[i : i + 1]) for i in range(len(y))])
    assert batched.shape == dense.shape
    for ours in (batched, single):
        assert float((ours - dense).abs().max()) <= 1e-5 * float(dense.abs().max())


def test_logmel_shape_dtype_range(music_window):
    cfg = FeatureConfig()
    x = FeatureExtractor(cfg)(torch.from_numpy(np.stack([music_window, music_window * 0.5])))
    assert x.shape == (2, 1, 64, 313) and x.dtype == torch.float32
    assert x.min() >= -1.0 - 1e-6 and x.max() <= 1.0 + 1e-6
    assert torch.allclose(x[0], x[1], atol=1e-4)  # gain invariant


def test_per_freq_normalisation_removes_a_fixed_eq(music_window):
    cfg = FeatureConfig(normalization="per_freq")
    fe = FeatureExtractor(cfg)
    x = fe(torch.from_numpy(music_window)[None])
    assert torch.allclose(x.mean(dim=-1), torch.zeros(1), atol=1e-5)


def test_seed_rgb_and_binned_shapes(music_window):
    w = torch.from_numpy(music_window)[None]
    rgb = FeatureExtractor(FeatureConfig(representation="seed_rgb"))(w)
    assert rgb.shape == (1, 3, 155, 154) and rgb.min() >= -1 and rgb.max() <= 1
    cfg = FeatureConfig(representation="binned3d", image_size=(32, 40), n_bins=10)
    binned = FeatureExtractor(cfg)(w)
    assert binned.shape == (1, 4, 10, 32, 40)
    assert binned.min() >= 0 and binned.max() <= 1
    # every pixel lives in exactly one layer: alpha (always 1 for magma) sums to one over the bins
    assert torch.allclose(binned[0, 3].sum(dim=0), torch.ones(32, 40))


def test_intensity_bin_hand_checked():
    u = torch.tensor([0.0, 0.05, 0.1, 0.15, 0.5, 0.99, 1.0])
    assert intensity_bin(u, 10).tolist() == [0, 0, 1, 1, 5, 9, 9]
    assert intensity_bin(torch.tensor([0.0, 0.34, 0.67, 1.0]), 3).tolist() == [0, 1, 2, 2]


def test_binned_layers_tiny_example():
    """A 2x2 image with known intensities lands in the layers we compute by hand."""
    cfg = FeatureConfig(representation="binned3d", image_size=(2, 2), n_bins=4)
    fe = FeatureExtractor(cfg)
    u = torch.tensor([[0.0, 0.3], [0.6, 1.0]])  # bins 0, 1, 2, 3
    lut = colormap_lut("magma")
    rgba = lut[(u * 255).round().long()]
    onehot = torch.nn.functional.one_hot(intensity_bin(u, 4), 4).float()
    layers = (onehot[..., None] * rgba[..., None, :]).permute(3, 2, 0, 1)  # (4 ch, D, H, W)
    assert layers.shape == (4, 4, 2, 2)
    assert torch.equal(layers[:, 0, 0, 0], rgba[0, 0]) and layers[:, 0, 0, 1].abs().sum() == 0
    assert torch.equal(layers[:, 3, 1, 1], lut[255])
    assert fe.lut.shape == (256, 4)


def test_config_round_trip_and_slug():
    cfg = FeatureConfig(n_mels=128, representation="seed_rgb")
    again = FeatureConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg and again.slug() == cfg.slug()
    assert FeatureConfig().slug() != FeatureConfig(n_mels=32).slug()
    assert cfg.diff(FeatureConfig()) == {"n_mels": (128, 64), "representation": ("seed_rgb", "logmel")}
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.n_mels = 3
    with pytest.raises(ValueError, match="unknown FeatureConfig fields"):
        FeatureConfig.from_dict({**cfg.to_dict(), "bogus": 1})


@pytest.mark.parametrize("bad", [dict(representation="rgb"), dict(fmax=9000), dict(sample_rate=100), dict(n_mels=0)])
def test_bad_config_names_the_value(bad):
    with pytest.raises(ValueError) as err:
        FeatureConfig(**bad)
    assert str(list(bad.values())[0]) in str(err.value)


def test_extract_features_batches(music_window):
    feats = extract_features(np.stack([music_window] * 3), FeatureConfig(), batch_size=2)
    assert feats.shape == (3, 1, 64, 313) and feats.dtype == np.float32


@pytest.mark.parametrize("sr,n_fft,n_mels,fmin,fmax", [(16_000, 1024, 64, 20.0, 8_000.0), (22_050, 2048, 128, 0.0, 11_025.0),
                                                      (44_100, 512, 40, 300.0, 6_000.0), (8_000, 256, 32, 0.0, 4_000.0)])
def test_mel_filterbank_is_librosas_bit_for_bit(sr, n_fft, n_mels, fmin, fmax):
    import librosa

    from audioclf_lib.features import _mel_filterbank_np

    expected = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax).astype(np.float32)
    assert np.array_equal(_mel_filterbank_np(sr, n_fft, n_mels, fmin, fmax), expected)
