"""Notebook 03: the binned 3-D representation, the 3-D models, and the bundled ``music-speech-3d`` checkpoint.

tests/test_features.py already checks the binned shape, the [0, 1] range, "one layer per pixel" and
``intensity_bin``; here the whole binning path runs on a spectrogram whose values we choose by hand.
"""
from functools import lru_cache

import numpy as np
import pytest
import torch
from torch import nn

from audioclf_lib.audio import load_audio
from audioclf_lib.checkpoint import load_checkpoint
from audioclf_lib.config import FeatureConfig, checkpoints_dir
from audioclf_lib.data import build_manifest, corpus_splits
from audioclf_lib.features import FeatureExtractor, colormap_lut
from audioclf_lib.models import build_model, count_parameters
from audioclf_lib.predict import Predictor
from tests.helpers import STARTER, starter_clip

BUNDLED = checkpoints_dir() / "music-speech-3d.pt"


def _with_db(cfg: FeatureConfig, S_db: torch.Tensor) -> FeatureExtractor:
    """An extractor whose dB spectrogram is ``S_db`` (B, n_mels, T), so the binning can be checked by hand."""
    fe = FeatureExtractor(cfg)
    fe.relative_db = lambda y: S_db
    return fe


def test_binning_of_a_hand_made_spectrogram():
    # 2 mel bands x 3 frames, top_db 80: intensity u = S_db / 80 + 1.
    S_db = torch.tensor([[[-80.0, -36.0, 0.0],      # lowest band: u = 0, 0.55, 1
                          [-60.0, -20.0, -12.0]]])  # next band:   u = 0.25, 0.75, 0.85
    cfg = FeatureConfig(representation="binned3d", image_size=(2, 3), n_bins=4)
    x = _with_db(cfg, S_db)(torch.zeros(1, cfg.window_samples))
    assert x.shape == (1, 4, 4, 2, 3) and x.dtype == torch.float32
    # Image rows are flipped (low frequencies at the bottom, as specshow draws them).
    u = torch.tensor([[0.25, 0.75, 0.85], [0.0, 0.55, 1.0]])
    bins = torch.tensor([[1, 3, 3], [0, 2, 3]])  # floor(4 u), 1.0 in the top bin
    # colour: magma lookup-table entry round(255 u) = 64, 191, 217 / 0, 140, 255
    lut = colormap_lut("magma")
    for i in range(2):
        for j in range(3):
            k = int(bins[i, j])
            colour = lut[int(round(float(u[i, j]) * 255))]
            assert torch.allclose(x[0, :, k, i, j], colour, atol=1e-6), (i, j)
            others = [d for d in range(4) if d != k]
            assert x[0, :, others, i, j].abs().sum() == 0, (i, j)
    assert x[0, 3].sum(dim=0).eq(1).all()  # alpha: each pixel in exactly one layer


def test_binned_layers_sum_to_the_colour_image():
    """Binning only re-arranges the colour image: summing the layers gives it back."""
    y = load_audio(starter_clip("speech", 5), 16_000)[0]
    y = np.resize(y, 80_000).astype(np.float32)
    w = torch.from_numpy(y)[None]
    binned = FeatureExtractor(FeatureConfig(representation="binned3d", image_size=(64, 64)))(w)
    rgb = FeatureExtractor(FeatureConfig(representation="seed_rgb", image_size=(64, 64)))(w) * 0.5 + 0.5
    assert binned.shape == (1, 4, 10, 64, 64)
    assert torch.allclose(binned.sum(dim=2)[:, :3], rgb, atol=1e-5)
    assert binned.min() >= 0 and binned.max() <= 1
    assert ((binned != 0).float().mean() - 0.1).abs() < 0.01  # 1 of 10 layers holds each pixel's 4 values (dark bins: ~0)


def test_binned_features_are_gain_invariant():
    y = load_audio(starter_clip("music", 2), 16_000)[0][:80_000]
    fe = FeatureExtractor(FeatureConfig(representation="binned3d", image_size=(32, 32)))
    loud, quiet = fe(torch.from_numpy(y)[None]), fe(torch.from_numpy(y * 0.1)[None])
    # A pixel right on a bin edge may change layer through float rounding; nearly all must not. The gain is
    # -20 dB: Vorbis leaves mel bands above its low-pass near 1e-7 in power, and 40 dB quieter they would
    # reach the front end's 1e-10 power floor, which (by design) no gain change can move.
    assert (loud != quiet).any(dim=1).float().mean() < 0.005


def test_seed_cnn3d_matches_the_seed_readme():
    model = build_model("seed_cnn3d", 2)
    n_moving = sum(m.running_mean.numel() + m.running_var.numel() for m in model.modules() if isinstance(m, nn.BatchNorm3d))
    assert count_parameters(model) == 346_786
    assert count_parameters(model) + n_moving == 347_234  # Keras counts BatchNorm's moving statistics too
    model.eval()
    for shape in [(2, 4, 10, 64, 64), (1, 4, 10, 16, 32), (1, 4, 10, 23, 41)]:
        logits, e = model(torch.rand(shape), return_embedding=True)
        assert logits.shape == (shape[0], 2) and e.shape == (shape[0], 128)
    assert build_model("seed_cnn3d", 2, in_channels=1)(torch.rand(1, 1, 10, 16, 16)).shape == (1, 2)


@pytest.mark.parametrize("shape", [(3, 4, 10, 64, 64), (1, 4, 10, 32, 40), (2, 4, 5, 17, 29)])
def test_small_cnn3d_shapes(shape):
    model = build_model("small_cnn3d", 2).eval()
    assert model.representation == "binned3d"
    logits, e = model(torch.rand(shape), return_embedding=True)
    assert logits.shape == (shape[0], 2) and e.shape == (shape[0], model.embedding_dim) == (shape[0], 256)
    assert torch.isfinite(logits).all()
    assert count_parameters(model) < count_parameters(build_model("seed_cnn3d", 2))
    assert build_model("small_cnn3d", 3, in_channels=1, channels=(8, 16))(torch.rand(1, 1, 10, 32, 32)).shape == (1, 3)


def test_small_cnn3d_trains_in_channels_last_and_backprops():
    model = build_model("small_cnn3d", 2)
    x = torch.rand(4, 4, 10, 32, 32)
    loss = nn.functional.cross_entropy(model(x), torch.tensor([0, 1, 0, 1]))
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_colormap_cnn2d_takes_the_colour_image():
    model = build_model("colormap_cnn2d", 2).eval()
    assert model.representation == "seed_rgb"
    cfg = FeatureConfig(representation="seed_rgb", image_size=(64, 313))
    x = FeatureExtractor(cfg)(torch.randn(2, cfg.window_samples) * 0.1)
    assert x.shape == (2, 3, 64, 313) and model(x).shape == (2, 2)
    # the same network as mel_cnn apart from the first convolution's input channels
    assert count_parameters(model) - count_parameters(build_model("mel_cnn", 2)) == 2 * 16 * 9


@lru_cache(maxsize=1)
def _test_split_files() -> dict[str, list]:
    """Starter clips of the held-out test split (the split notebook 01 uses: corpus v2's, kept in the manifest)."""
    manifest, _ = build_manifest(STARTER, ["music", "speech"])
    split = corpus_splits(manifest, STARTER)
    test = split[split["split"] == "test"].sort_values("path")
    return {cls: [STARTER / p for p in test.loc[test["class"] == cls, "path"]] for cls in ("music", "speech")}


def test_bundled_checkpoint_loads_with_its_config():
    ckpt = load_checkpoint(BUNDLED)
    assert ckpt.model_name == "small_cnn3d" and ckpt.class_names == ["music", "speech"]
    assert ckpt.feature_config.representation == "binned3d" and ckpt.model.representation == "binned3d"
    assert ckpt.metrics["test"]["window"]["balanced_accuracy"] >= 0.97
    with pytest.raises(ValueError, match="image_size"):
        load_checkpoint(BUNDLED, expected_config=ckpt.feature_config.replace(image_size=(128, 128)))


@pytest.mark.parametrize("cls", ["music", "speech"])
def test_bundled_checkpoint_classifies_held_out_clips(cls):
    predictor = Predictor(load_checkpoint(BUNDLED), device="cpu")
    files = _test_split_files()[cls]
    first = files[0]
    y, sr = load_audio(first)
    assert predictor.predict(y, sr).label == cls, first.name
    label, probs = predictor.classify_file(first)
    assert label == cls and probs.shape == (2,)
    # and most of the first 10 test clips of the class, not just one lucky file
    hits = [predictor.classify_file(p)[0] == cls for p in files[:10]]
    assert sum(hits) >= 9, hits
