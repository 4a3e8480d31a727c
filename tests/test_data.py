"""data.py / cache.py / windows.py: manifest, grouped splits without leakage, decoded clips, windows."""
import os

import numpy as np
import pandas as pd
import pytest

import soundfile as sf

from audioclf_lib.cache import prepare_splits, load_splits
from audioclf_lib.config import REPO_ROOT
from audioclf_lib.data import ClipSet, build_manifest, load_clips, split_manifest
from audioclf_lib.windows import TrainWindows, eval_windows
from tests.helpers import STARTER, toy_corpus, write_wav


@pytest.fixture(scope="module")
def starter_manifest():
    manifest, skipped = build_manifest(STARTER)
    return manifest


def test_starter_manifest_has_sources_and_originals(starter_manifest):
    m = starter_manifest
    assert set(m["class"]) == {"music", "speech", "noise"}
    # every clip from a package registry (Debian, PyPI, npm), every source of corpus v2 kept
    assert (m["duration_s"] > 0).all() and m["source"].str.startswith(("deb_", "pypi_", "npm_")).all()
    assert m["source"].nunique() >= 60
    assert m["original"].str.startswith(tuple(f"{c}/" for c in ("music", "speech", "noise"))).all()


@pytest.mark.parametrize("group_by", ["original", "source"])
def test_split_is_grouped_deterministic_and_covers_every_class(starter_manifest, group_by):
    a = split_manifest(starter_manifest, group_by=group_by, seed=3)
    b = split_manifest(starter_manifest, group_by=group_by, seed=3)
    assert a["split"].tolist() == b["split"].tolist()
    assert (a.groupby(group_by)["split"].nunique() == 1).all()
    assert set(a.groupby(["class", "split"]).size().index) == {(c, s) for c in ("music", "speech", "noise")
                                                               for s in ("train", "val", "test")}
    if group_by == "original":
        share = a.groupby("split")["duration_s"].sum() / a["duration_s"].sum()
        assert 0.6 < share["train"] < 0.8 and 0.08 < share["test"] < 0.22


def test_split_changes_with_seed(starter_manifest):
    assert split_manifest(starter_manifest, seed=0)["split"].tolist() != split_manifest(starter_manifest, seed=1)["split"].tolist()


def test_manifest_without_csv_reads_names_and_reports_junk(tmp_path):
    root = toy_corpus(tmp_path / "c")
    (root / "music" / "notes.txt").write_text("not audio")
    (root / "noise" / "broken.wav").write_bytes(b"RIFFxxxxWAVE")
    (root / "speech").mkdir()
    (root / "music" / "loop").symlink_to(root / "music")  # a symlink loop must not hang
    manifest, skipped = build_manifest(root)
    assert len(manifest) == 24
    assert set(manifest["source"]) == {"toysrc"}
    assert manifest["original"].str.endswith("orig0").any() and manifest["original"].nunique() == 12
    reasons = dict(zip(skipped["path"].map(lambda p: p.rsplit("/", 1)[-1]), skipped["reason"]))
    assert "not an audio file" in reasons["notes.txt"] and "unreadable" in reasons["broken.wav"]


def test_missing_and_empty_folders(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        build_manifest(tmp_path / "nope")
    (tmp_path / "music").mkdir()
    with pytest.raises(ValueError, match="no audio found"):
        build_manifest(tmp_path)


def test_load_clips_skips_silent_and_round_trips(tmp_path):
    root = toy_corpus(tmp_path / "c", originals_per_class=2, segments=1)
    write_wav(root / "music" / "quiet__x.wav", np.zeros(16_000, np.float32), 16_000)
    manifest, _ = build_manifest(root)
    clips, report = load_clips(manifest, root, 16_000, progress=False)
    assert len(clips) == 4 and report["reason"].str.contains("silent").sum() == 1
    clips.save(tmp_path / "cache" / "train")
    again = ClipSet.load(tmp_path / "cache" / "train")
    assert np.array_equal(again.audio, clips.audio) and again.table["path"].tolist() == clips.table["path"].tolist()


def test_prepare_and_load_splits(tmp_path, monkeypatch):
    root = toy_corpus(tmp_path / "c", originals_per_class=8)
    monkeypatch.setenv("AUDIOCLF_CACHE", str(tmp_path / "cache"))
    with pytest.raises(FileNotFoundError, match="run notebooks/01_generate_spectrograms.ipynb first"):
        load_splits(root=root)
    splits, manifest, _ = prepare_splits(root, progress=False)
    loaded = load_splits(root=root)
    assert {k: len(v) for k, v in loaded.items()} == {k: len(v) for k, v in splits.items()}
    write_wav(root / "music" / "new__clip.wav", np.ones(100, np.float32) * 0.1, 16_000)
    with pytest.raises(FileNotFoundError):  # the corpus changed: the old cache is not reused
        load_splits(root=root)


def test_train_windows_balanced_deterministic(tmp_path):
    root = toy_corpus(tmp_path / "c", originals_per_class=4)
    manifest, _ = build_manifest(root)
    clips, _ = load_clips(manifest, root, 16_000, progress=False)
    ds = TrainWindows(clips, ["music", "noise"], 16_000 * 5, windows_per_epoch=200, seed=1)
    labels = [ds[i][1] for i in range(200)]
    assert 70 < sum(labels) < 130
    y0, _ = ds[5]
    assert y0.shape == (80_000,) and y0.dtype.is_floating_point
    assert np.array_equal(ds[5][0].numpy(), y0.numpy())
    ds.set_epoch(1)
    assert not np.array_equal(ds[5][0].numpy(), y0.numpy())
    windows, table = eval_windows(clips, ["music", "noise"], 80_000)
    assert windows.shape == (len(clips), 80_000) and set(table["label"]) == {0, 1}


def test_random_crops_cover_long_and_short_clips_uniformly():
    """Training and background crops start anywhere in a clip, not mostly at its beginning."""
    n = 1_000
    ramp = np.arange(20 * n, dtype=np.float32)  # each sample's value is its index
    clips = ClipSet(ramp, np.array([0, 20 * n]), pd.DataFrame({"class": ["noise"]}), 16_000)
    ds = TrainWindows(clips, ["noise"], n, background_class=None)
    rng = np.random.default_rng(0)
    starts = np.array([ds._random_crop(ramp, rng)[0] for _ in range(4_000)])
    assert starts.min() < 0.02 * 19 * n and starts.max() > 0.98 * 19 * n
    assert abs(np.mean(starts) / (19 * n) - 0.5) < 0.03 and abs(np.mean(starts < 9.5 * n) - 0.5) < 0.03
    short = ramp[: n // 4]
    firsts = np.array([ds._random_crop(short, rng)[0] for _ in range(2_000)])
    assert len(np.unique(firsts)) > 200  # wrapped from a random start


def test_class_with_one_file_and_a_folder_named_like_audio(tmp_path):
    root = toy_corpus(tmp_path / "c", originals_per_class=4)
    (root / "speech").mkdir()
    write_wav(root / "speech" / "only__one.wav", np.full(16_000, 0.1, np.float32), 16_000)
    (root / "noise" / "not_a_file.wav").mkdir()  # a folder with an audio name is skipped, not decoded
    manifest, skipped = build_manifest(root)
    assert (manifest["class"] == "speech").sum() == 1
    with pytest.warns(UserWarning, match="class 'speech' has 1 original group"):
        split = split_manifest(manifest)
    assert (split["class"] == "speech").sum() == 1 and split.loc[split["class"] == "speech", "split"].item() in {"train", "val", "test"}


def test_unreadable_files_and_folders_are_reported(tmp_path, monkeypatch):
    """As root every file is readable, so permission errors are injected where the OS would raise them."""
    import soundfile as sf

    root = toy_corpus(tmp_path / "c", originals_per_class=2, segments=1)
    (root / "speech").mkdir()
    write_wav(root / "speech" / "locked__a.wav", np.full(8_000, 0.1, np.float32), 16_000)
    locked_file = sorted((root / "music").glob("*.wav"))[0]
    real_scandir, real_info = os.scandir, sf.info

    def scandir(path="."):
        if os.fspath(path) == str(root / "speech"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    def info(path, *args, **kwargs):
        if os.fspath(path) == str(locked_file):
            raise sf.LibsndfileError(0, prefix=f"Error opening {path!r}: Permission denied ")
        return real_info(path, *args, **kwargs)

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(sf, "info", info)
    manifest, skipped = build_manifest(root)
    assert len(manifest) == 3  # 2 music + 2 noise, minus the locked file; the locked folder contributes nothing
    reasons = skipped["reason"].tolist()
    assert any("cannot read folder" in r for r in reasons) and any("unreadable audio" in r for r in reasons)


def test_clipset_concat_keeps_every_clip_in_order():
    def clips(lengths, start):
        audio = np.arange(start, start + sum(lengths), dtype=np.float32)
        table = pd.DataFrame({"class": ["music"] * len(lengths), "n": lengths})
        return ClipSet(audio, np.concatenate([[0], np.cumsum(lengths)]), table, 16_000)

    a, b = clips([3, 5], 0), clips([2, 4, 1], 100)
    both = ClipSet.concat(a, b)
    assert len(both) == 5 and both.table["n"].tolist() == [3, 5, 2, 4, 1]
    for i, (s, j) in enumerate([(a, 0), (a, 1), (b, 0), (b, 1), (b, 2)]):
        np.testing.assert_array_equal(both.clip(i), s.clip(j))
    with pytest.raises(ValueError, match="sample rate"):
        ClipSet.concat(a, ClipSet(b.audio, b.offsets, b.table, 22_050))


def test_clipset_take_returns_the_chosen_clips_in_the_given_order():
    lengths = [3, 5, 2, 4]
    audio = np.arange(sum(lengths), dtype=np.float32)
    clips = ClipSet(audio, np.concatenate([[0], np.cumsum(lengths)]), pd.DataFrame({"n": lengths}), 16_000)
    taken = clips.take([3, 0])
    assert len(taken) == 2 and taken.table["n"].tolist() == [4, 3] and taken.table.index.tolist() == [0, 1]
    np.testing.assert_array_equal(taken.clip(0), clips.clip(3))
    np.testing.assert_array_equal(taken.clip(1), clips.clip(0))
    assert len(clips.take([])) == 0


def test_assigned_splits_are_kept_and_partial_ones_ignored(tmp_path):
    # data/starter carries the split each clip has in corpus v2; notebook 01 must keep it, and fall
    # back to splitting afresh when the manifest does not assign every clip.
    from audioclf_lib.data import assigned_splits, build_manifest

    rows = []
    for cls in ("music", "noise"):
        (tmp_path / cls).mkdir()
        for i, split in enumerate(("train", "val", "test")):
            rel = f"{cls}/src{i}__clip{i}.wav"
            sf.write(tmp_path / rel, np.full(1600, 0.1, dtype=np.float32), 16_000)
            rows.append({"split": split, "class": cls, "source": f"src{i}", "file": rel, "orig_candidate": rel})
    pd.DataFrame(rows).to_csv(tmp_path / "manifest.csv", index=False)
    manifest, _ = build_manifest(tmp_path)
    kept = assigned_splits(manifest, tmp_path)
    assert dict(zip(kept["path"], kept["split"])) == {r["file"]: r["split"] for r in rows}

    pd.DataFrame(rows[1:]).to_csv(tmp_path / "manifest.csv", index=False)  # one clip without a split
    assert assigned_splits(manifest, tmp_path) is None
    pd.DataFrame(rows).assign(split="corpus").to_csv(tmp_path / "manifest.csv", index=False)
    assert assigned_splits(manifest, tmp_path) is None


def test_starter_splits_come_from_its_manifest():
    from audioclf_lib.data import assigned_splits, build_manifest

    starter = REPO_ROOT / "data" / "starter"
    manifest, _ = build_manifest(starter, check_audio=False)
    kept = assigned_splits(manifest, starter)
    assert kept is not None
    listed = pd.read_csv(starter / "manifest.csv").set_index("file")["split"]
    assert (kept.set_index("path")["split"] == listed.reindex(kept["path"]).to_numpy()).all()
    # no original recording straddles two splits
    assert kept.groupby("original")["split"].nunique().max() == 1


def test_corpus_splits_is_the_split_notebook_01_caches(tmp_path):
    # tests, benchmarks and the live harness pick held-out clips with corpus_splits: it must be prepare_splits' split
    from audioclf_lib.data import corpus_splits

    root = toy_corpus(tmp_path / "toy")
    _, manifest, _ = prepare_splits(root, progress=False)
    scanned, _ = build_manifest(root)
    again = corpus_splits(scanned, root)
    assert dict(zip(again["path"], again["split"])) == dict(zip(manifest["path"], manifest["split"]))
