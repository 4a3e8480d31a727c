"""checkpoint.py / predict.py: round trip, clear errors for wrong, truncated and mismatched checkpoints."""
import numpy as np
import pytest
import torch

from audioclf_lib.checkpoint import CheckpointError, FeatureConfigMismatch, load_checkpoint, save_checkpoint
from audioclf_lib.config import FeatureConfig
from audioclf_lib.models import build_model, count_parameters
from audioclf_lib.predict import Predictor
from tests.helpers import tone


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    model = build_model("mel_cnn", 3).eval()
    path = save_checkpoint(tmp_path / "m.pt", model, model_name="mel_cnn", class_names=["music", "speech", "noise"],
                           feature_config=FeatureConfig(), metrics={"test": {"window": {"balanced_accuracy": 0.5}}})
    return path, model


def test_round_trip_gives_the_same_outputs(saved):
    path, model = saved
    ckpt = load_checkpoint(path, expected_config=FeatureConfig())
    x = torch.randn(2, 1, 64, 313)
    assert torch.equal(model(x), ckpt.model(x))
    assert ckpt.class_names == ["music", "speech", "noise"] and ckpt.metrics["test"]["window"]["balanced_accuracy"] == 0.5
    assert not list(path.parent.glob("*.tmp"))  # atomic write left no temporary file


def test_feature_config_mismatch_lists_the_fields(saved):
    path, _ = saved
    with pytest.raises(FeatureConfigMismatch, match=r"n_mels: checkpoint 64 vs expected 128"):
        load_checkpoint(path, expected_config=FeatureConfig(n_mels=128))


def test_class_and_model_mismatch(saved):
    path, _ = saved
    with pytest.raises(CheckpointError, match="classes"):
        load_checkpoint(path, expected_classes=["music", "noise"])
    with pytest.raises(CheckpointError, match="expected 'seed_cnn2d'"):
        load_checkpoint(path, expected_model="seed_cnn2d")


def test_truncated_foreign_and_missing_files(saved, tmp_path):
    path, _ = saved
    data = path.read_bytes()
    (tmp_path / "trunc.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(tmp_path / "trunc.pt")
    torch.save({"state_dict": {}}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="not an audioclf checkpoint"):
        load_checkpoint(tmp_path / "foreign.pt")
    (tmp_path / "text.pt").write_text("hello")
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "text.pt")
    with pytest.raises(CheckpointError, match="not a bundled model"):
        load_checkpoint(tmp_path / "nope.pt")


def test_weights_of_another_architecture_are_refused(tmp_path):
    model = build_model("mel_cnn", 2)
    payload_path = save_checkpoint(tmp_path / "x.pt", model, model_name="mel_cnn", class_names=["a", "b"],
                                   feature_config=FeatureConfig())
    payload = torch.load(payload_path, weights_only=True)
    payload["model_name"] = "seed_cnn2d"
    payload["feature_config"] = FeatureConfig(representation="seed_rgb").to_dict()
    torch.save(payload, tmp_path / "y.pt")
    with pytest.raises(CheckpointError, match="weights do not fit"):
        load_checkpoint(tmp_path / "y.pt")


def test_seed_model_parameter_count():
    assert count_parameters(build_model("seed_cnn2d", 2)) == 5_920_098
    x = torch.randn(2, 3, 155, 154)
    logits, emb = build_model("seed_cnn2d", 2)(x, return_embedding=True)
    assert logits.shape == (2, 2) and emb.shape == (2, 128)


def test_predictor_handles_any_rate_length_and_silence(saved):
    path, _ = saved
    p = Predictor(path, device="cpu")
    out = p.predict(tone(440, 2.0, 44_100), 44_100)
    assert out.label in p.class_names and abs(sum(out.probabilities.values()) - 1) < 1e-5
    stereo = np.stack([tone(440, 1.0, 48_000)] * 2, axis=1)
    assert p.predict(stereo, 48_000).label in p.class_names
    assert p.predict(np.zeros(16_000, np.float32), 16_000).is_silence
    segs = p.predict_segments(tone(440, 12.0, 16_000), 16_000, hop_seconds=2.5)
    assert segs["start_s"].tolist() == [0.0, 2.5, 5.0, 7.5] and np.isclose(segs.filter(like="p_").sum(axis=1), 1).all()


def test_predict_file_streams_like_whole_file(saved, tmp_path):
    import soundfile as sf

    path, _ = saved
    p = Predictor(path, device="cpu")
    rng = np.random.default_rng(0)
    y = (0.1 * rng.standard_normal(16_000 * 23)).astype(np.float32)
    sf.write(tmp_path / "long.wav", y, 16_000, subtype="FLOAT")
    whole = p.predict_segments(y, 16_000, hop_seconds=2.0)
    streamed = p.predict_file(tmp_path / "long.wav", hop_seconds=2.0, block_seconds=3.3)
    assert streamed["start_s"].tolist() == whole["start_s"].tolist()
    assert np.allclose(streamed.filter(like="p_").to_numpy(), whole.filter(like="p_").to_numpy(), atol=1e-4)


def test_notebook_runs_never_write_over_the_bundled_checkpoints(monkeypatch, tmp_path):
    # A learner's run trains on data/starter: its checkpoints go to data/checkpoints, QUICK ones to the cache;
    # only `make release` (AUDIOCLF_RUN_CHECKPOINTS) writes the bundled folder, with models trained on corpus v2.
    from audioclf_lib.config import REPO_ROOT, checkpoints_dir, run_checkpoints_dir

    monkeypatch.delenv("AUDIOCLF_RUN_CHECKPOINTS", raising=False)
    monkeypatch.delenv("AUDIOCLF_CHECKPOINTS", raising=False)
    monkeypatch.setenv("AUDIOCLF_CACHE", str(tmp_path / "cache"))
    assert run_checkpoints_dir(False) == REPO_ROOT / "data" / "checkpoints"
    assert run_checkpoints_dir(True) == tmp_path / "cache" / "checkpoints-quick"
    assert checkpoints_dir() not in (run_checkpoints_dir(False), run_checkpoints_dir(True))
    monkeypatch.setenv("AUDIOCLF_RUN_CHECKPOINTS", str(checkpoints_dir()))
    assert run_checkpoints_dir(False) == checkpoints_dir()
