"""crossval.py: folds over whole sources, no held-out source reaches training, metrics checked by hand, a tiny real run."""
import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from audioclf_lib.config import FeatureConfig
from audioclf_lib.crossval import (_scores, cross_validate, cv_metrics, per_fold_table, per_source_table, recipe_train_fn,
                                   source_folds, validation_sources)
from audioclf_lib.data import ClipSet, load_clips
from audioclf_lib.metrics import classification_metrics
from audioclf_lib.models import build_model
from audioclf_lib.train import TrainConfig
from tests.helpers import STARTER

CLASSES = ["music", "speech", "noise"]
TINY = FeatureConfig(window_seconds=0.5, n_mels=32, n_fft=512, hop_length=256)


def synthetic_manifest(sources_per_class=(7, 6, 5), seed=0) -> pd.DataFrame:
    """One row per clip; source ``<class>_<i>`` has 1-30 clips."""
    rng = np.random.default_rng(seed)
    rows = []
    for cls, n_sources in zip(CLASSES, sources_per_class):
        for i in range(n_sources):
            rows += [{"class": cls, "source": f"{cls}_{i}", "path": f"{cls}/{cls}_{i}__{j}.wav"}
                     for j in range(int(rng.integers(1, 31)))]
    return pd.DataFrame(rows)


def test_every_source_is_in_exactly_one_fold_and_every_fold_tests_every_class():
    manifest = synthetic_manifest()
    folds = source_folds(manifest, 5, seed=0)
    assert sorted(folds.index) == sorted(manifest["source"].unique())  # each source once (index is unique)
    assert folds.index.is_unique and set(folds) == set(range(5))
    table = manifest.merge(folds.reset_index(), on="source")
    assert (table.groupby("source")["fold"].nunique() == 1).all()
    per_fold = table.groupby(["fold", "class"])["source"].nunique().unstack(fill_value=0)
    assert (per_fold[CLASSES] >= 1).all().all()  # every class has >= 5 sources, so every fold tests it


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_classes_are_balanced_across_folds(seed):
    manifest = synthetic_manifest((13, 9, 6), seed=seed)
    folds = source_folds(manifest, 5, seed=seed)
    table = manifest.merge(folds.reset_index(), on="source")
    n_sources = table.groupby(["class", "fold"])["source"].nunique().unstack(fill_value=0)
    clips = table.groupby(["class", "fold"]).size().unstack(fill_value=0)
    largest = manifest.groupby(["class", "source"]).size().groupby("class").max()
    for cls in CLASSES:
        assert n_sources.loc[cls].max() - n_sources.loc[cls].min() <= 1, n_sources
        # Greedy largest-first: folds differ by at most the largest source of the class.
        assert clips.loc[cls].max() - clips.loc[cls].min() <= largest[cls], (cls, clips.loc[cls].tolist())
    assert source_folds(manifest, 5, seed=seed).equals(folds)  # deterministic


def test_a_class_with_fewer_sources_than_folds_warns_and_bad_fold_counts_raise():
    manifest = synthetic_manifest((7, 6, 3))
    with pytest.warns(UserWarning, match="'noise' has 3 source"):
        folds = source_folds(manifest, 5)
    assert folds.index.is_unique and len(folds) == 16
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        source_folds(manifest, 3)  # 3 folds: every class has enough sources, no warning
    with pytest.raises(ValueError, match="n_folds=1"):
        source_folds(manifest, 1)
    with pytest.raises(ValueError, match="n_folds=17"):
        source_folds(manifest, 17)
    with pytest.raises(ValueError, match="class"):
        source_folds(manifest, 3, classes=["music", "laughter"])


def test_validation_takes_whole_sources_and_leaves_each_class_a_training_source():
    manifest = synthetic_manifest((7, 2, 4))
    chosen = validation_sources(manifest, fraction=0.2, seed=0)
    by_class = manifest.groupby("source")["class"].first()
    for cls in CLASSES:
        assert 1 <= (by_class[chosen] == cls).sum() < (by_class == cls).sum()
    with pytest.warns(UserWarning, match="'speech' has 1 training source"):
        chosen = validation_sources(manifest[manifest["source"] != "speech_1"], fraction=0.2)
    assert not any(s.startswith("speech") for s in chosen)


def synthetic_clips(manifest: pd.DataFrame, seconds: float = 0.6) -> ClipSet:
    rng = np.random.default_rng(0)
    pieces = [(0.1 * rng.standard_normal(int(seconds * 16_000))).astype(np.float32) for _ in range(len(manifest))]
    return ClipSet.from_pieces(pieces, manifest, 16_000)


def test_train_fn_never_sees_a_held_out_source():
    manifest = synthetic_manifest((6, 5, 5))
    manifest = manifest.groupby("source").head(2).reset_index(drop=True)  # 2 clips per source: fast
    clips = synthetic_clips(manifest)
    seen = {}

    def stub(train, val, fold):
        seen[fold] = (set(train.table["source"]), set(val.table["source"]))
        torch.manual_seed(fold)
        return SimpleNamespace(model=build_model("mel_cnn", 3, channels=(4, 8)).eval(), feature_config=TINY,
                               class_names=list(CLASSES))

    cv = cross_validate(clips, stub, class_names=CLASSES, n_folds=5, seed=0, progress=False)
    everything = set(manifest["source"])
    for fold in range(5):
        held_out = set(cv.folds.index[cv.folds == fold])
        train, val = seen[fold]
        assert not held_out & train and not held_out & val and not train & val
        assert train | val | held_out == everything
        assert set(cv.fold_table.loc[fold, "held_out"]) == held_out
    p = cv.predictions
    assert sorted(p["clip"]) == sorted(manifest["path"])  # every clip predicted once
    assert (p["fold"] == p["source"].map(cv.folds)).all()  # by the model of the fold that held its source out
    np.testing.assert_allclose(p[[f"p_{c}" for c in CLASSES]].sum(axis=1), 1.0, atol=1e-5)
    one = cross_validate(clips, stub, class_names=CLASSES, folds=cv.folds, only_folds=[2], progress=False)
    pd.testing.assert_frame_equal(one.predictions, p[p["fold"] == 2].reset_index(drop=True))  # a fold alone: same result

    wrong = lambda train, val, fold: SimpleNamespace(model=None, feature_config=TINY, class_names=["music", "noise"])  # noqa: E731
    with pytest.raises(ValueError, match="classes"):
        cross_validate(clips, wrong, class_names=CLASSES, n_folds=5, progress=False)
    lonely = manifest[~manifest["source"].isin(["noise_1", "noise_2", "noise_3", "noise_4"])].reset_index(drop=True)
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="nothing is left to train"):
        cross_validate(synthetic_clips(lonely), stub, class_names=CLASSES, n_folds=2, progress=False)


def hand_made_predictions() -> pd.DataFrame:
    rows = [("A", "music", "music"), ("A", "music", "music"), ("B", "music", "music"), ("B", "music", "noise"),
            ("C", "noise", "noise"), ("C", "noise", "music"),
            ("D", "speech", "speech"), ("D", "speech", "speech"), ("D", "speech", "speech"), ("D", "speech", "music")]
    p = pd.DataFrame(rows, columns=["source", "class", "predicted"])
    p["clip"] = [f"clip{i}" for i in range(len(p))]
    p["correct"] = p["class"] == p["predicted"]
    p["p_true"] = np.where(p["correct"], 0.8, 0.3)
    p["fold"] = p["source"].map({"A": 0, "B": 1, "C": 0, "D": 1})
    return p


def test_metrics_on_hand_made_predictions():
    m = cv_metrics(hand_made_predictions(), CLASSES, n_boot=200)
    # Recall: music 3/4, speech 3/4, noise 1/2. Precision: music 3/5, speech 3/3, noise 1/2.
    assert m["per_class"]["music"]["recall"] == pytest.approx(0.75)
    assert m["per_class"]["noise"]["recall"] == pytest.approx(0.5)
    assert m["balanced_accuracy"] == pytest.approx((0.75 + 0.75 + 0.5) / 3)
    f1 = [2 * 0.6 * 0.75 / 1.35, 2 * 1.0 * 0.75 / 1.75, 0.5]
    assert m["macro_f1"] == pytest.approx(np.mean(f1))
    assert m["accuracy"] == pytest.approx(0.7) and m["n_clips"] == 10 and m["n_sources"] == 4

    table = per_source_table(hand_made_predictions())
    assert table["source"].tolist() == ["B", "C", "D", "A"]  # worst first; ties: more clips, then name
    assert table["accuracy"].tolist() == pytest.approx([0.5, 0.5, 0.75, 1.0])
    assert table["clips"].tolist() == [2, 2, 4, 2]
    assert table["mostly_predicted_as"].tolist() == ["noise", "music", "music", ""]
    assert table["mean_p_true"].tolist() == pytest.approx([0.55, 0.55, 0.675, 0.8])

    folds = per_fold_table(hand_made_predictions(), CLASSES)
    assert folds["clips"].tolist() == [4, 6]
    assert folds["accuracy"].tolist() == pytest.approx([0.75, 4 / 6])


def test_vectorised_scores_match_classification_metrics():
    rng = np.random.default_rng(0)
    for _ in range(20):
        y, y_hat = rng.integers(0, 3, 40), rng.integers(0, 3, 40)
        y[y == 2] = rng.integers(0, 2)  # sometimes a class is absent: left out of the means by both
        ref = classification_metrics(y, y_hat, CLASSES)
        got = _scores(np.asarray(ref["confusion"]))
        for key in ("accuracy", "balanced_accuracy", "macro_f1"):
            assert got[key] == pytest.approx(ref[key]), key


@pytest.mark.parametrize("resample", ["clip", "source"])
def test_interval_contains_the_estimate_and_is_deterministic(resample):
    rng = np.random.default_rng(1)
    n = 300
    p = pd.DataFrame({"class": rng.choice(CLASSES, n), "source": [f"s{i}" for i in rng.integers(0, 30, n)]})
    p["predicted"] = np.where(rng.random(n) < 0.85, p["class"], rng.choice(CLASSES, n))
    a = cv_metrics(p, CLASSES, resample=resample, n_boot=500, seed=3)
    for key in ("accuracy", "balanced_accuracy", "macro_f1"):
        low, high = a["ci"][key]
        assert low <= a[key] <= high and 0.02 < high - low < 0.3, (key, low, a[key], high)
    for cls in CLASSES:
        low, high = a["ci"]["recall"][cls]
        assert low <= a["per_class"][cls]["recall"] <= high
    assert cv_metrics(p, CLASSES, resample=resample, n_boot=500, seed=3)["ci"] == a["ci"]
    assert cv_metrics(p, CLASSES, resample=resample, n_boot=500, seed=4)["ci"] != a["ci"]
    with pytest.raises(ValueError, match="resample='sources'"):
        cv_metrics(p, CLASSES, resample="sources")


def test_tiny_real_run_on_starter_clips(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDIOCLF_CACHE", str(tmp_path))  # the recipe caches its validation features
    torch.set_num_threads(1)
    starter = pd.read_csv(STARTER / "manifest.csv").rename(columns={"file": "path"})
    starter = starter[starter["class"].isin(["music", "noise"])]
    sources = [s for cls in ("music", "noise") for s in sorted(starter.loc[starter["class"] == cls, "source"].unique())[:3]]
    manifest = starter[starter["source"].isin(sources)].groupby("source").head(2).reset_index(drop=True)
    clips, skipped = load_clips(manifest, STARTER, TINY.sample_rate, n_jobs=1, progress=False)
    assert len(clips) == 12 and skipped.empty
    train_fn = recipe_train_fn("mel_cnn", ["music", "noise"], TINY, model_kwargs={"channels": (8, 16)}, device="cpu",
                               train_config=TrainConfig(num_epochs=1, batch_size=16), windows_per_epoch=32)
    cv = cross_validate(clips, train_fn, class_names=["music", "noise"], n_folds=3, progress=False)
    p = cv.predictions
    assert len(p) == 12 and set(p["fold"]) == {0, 1, 2} and (p["windows"] >= 1).all()
    for row in cv.fold_table.itertuples():
        assert not set(row.held_out) & (set(row.validation) | set(row.training))
        assert len(row.held_out) == 2 and row.epochs_run == 1
    summary = cv.summary(n_boot=100)
    assert summary["n_clips"] == 12 and 0.0 <= summary["balanced_accuracy"] <= 1.0
    assert len(cv.per_source()) == 6


def test_source_cv_devices_reads_a_device_run_and_says_none_without_one(tmp_path, monkeypatch):
    import json

    import audioclf_lib.config as config
    from audioclf_lib.crossval import source_cv_devices

    monkeypatch.setattr(config, "REPO_ROOT", tmp_path)
    assert source_cv_devices() is None  # no run in this repository
    results = tmp_path / "experiments" / "results"
    results.mkdir(parents=True)
    row = {"model": "m", "device": "webcam", "clips": 10, "sources": 4, "balanced_accuracy": 0.9, "ci": [0.85, 0.95],
           "music_recall": 0.92, "noise_recall": 0.88}
    run = {"date": "2026-12-01T07:00:00", "held_out_devices": ["telephone", "webcam"], "recipe": {"robust": {}},
           "table": [row, {**row, "device": "laptop", "balanced_accuracy": 0.94}]}
    (results / "source_cv_music-noise-robust.json").write_text(json.dumps(run))
    table = source_cv_devices()
    assert list(table["device"]) == ["webcam", "laptop"] and list(table["held_out_device"]) == [True, False]
    assert table.loc[0, "low"] == 0.85 and table.loc[1, "balanced_accuracy"] == 0.94 and table.attrs["date"] == "2026-12-01"
    (results / "source_cv_music-noise-robust.json").write_text("{not json")
    assert source_cv_devices() is None


def test_committed_source_cv_results_load_headline_and_ablation_runs():
    """source_cv_result reads the committed headline file and, with ``ablation``, one of the ablation's runs."""
    import json

    from audioclf_lib.config import REPO_ROOT
    from audioclf_lib.crossval import source_cv_result

    headline = source_cv_result("music-speech-3d")
    run = source_cv_result("music-speech-3d", ablation="source-balance_8x512")
    assert headline is not None and run is not None
    stored = json.loads((REPO_ROOT / "experiments/results/ablation/source_cv_music-speech-3d_source-balance_8x512.json")
                        .read_text())["summary"]["clip"]
    assert run["balanced_accuracy"] == stored["balanced_accuracy"] and set(run["recall"]) == {"music", "speech"}
    assert run["epochs"] == 8 and run["windows_per_epoch"] == 512 and run["folds"] == 5
    assert headline["balanced_accuracy"] == run["balanced_accuracy"]  # the headline is this variant's run
    assert source_cv_result("music-speech-3d", ablation="no-such-run_1x1") is None
