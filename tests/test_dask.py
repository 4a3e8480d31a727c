"""audioclf classify --dask (issue 19): the same rows as the serial run, on local Dask worker processes.

Each run starts 2 worker processes (one thread each), so the tests fit the 2-core CI machine: four
20-40 s files cut from the starter clips, a bad file among them, a worker killed mid-run, an
interrupted run resumed; a 2-minute file cut into 24-s time shards (--shard-minutes 0.4), its rows
and segments against the serial run's, and an interrupted sharded run resumed. Worker plugins
(defined here) kill, slow or count tasks at a chosen moment.
"""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from tests.helpers import popen_interruptible, starter_clip, write_wav

pytest.importorskip("distributed")

MODEL = "music-speech-noise"
SR = 16_000


def cli(*args, timeout=240):
    return subprocess.run([sys.executable, "-m", "audioclf_lib", "classify", "--model", MODEL, *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """Four 20-40 s files (starter clips of mixed classes, end to end) and an unreadable one in the middle."""
    root = tmp_path_factory.mktemp("dask-batch")
    plans = [[("music", 0), ("speech", 0)], [("speech", 1), ("noise", 0), ("music", 1)],
             [("noise", 1), ("noise", 2), ("speech", 2), ("music", 2)], [("music", 3), ("speech", 3)]]
    files = []
    for k, plan in enumerate(plans):
        y = np.concatenate([sf.read(starter_clip(cls, i), dtype="float32")[0] for cls, i in plan])
        files.append(write_wav(root / f"long{k}.wav", y, SR))
    bad = root / "bad.wav"
    bad.write_bytes(b"not audio at all")
    return files[:2] + [bad] + files[2:]


@pytest.fixture(scope="module")
def runs(batch, tmp_path_factory):
    """The serial run and a --dask local:2 run of the same batch: window CSV, -o folder, stdout, stderr."""
    out = tmp_path_factory.mktemp("dask-runs")
    done = {}
    for name, extra in [("serial", []), ("dask", ["--dask", "local:2"])]:
        proc = cli(*batch, "--windows", "--csv", out / f"{name}.csv", "-o", out / name, "--max-rows", "10000",
                   "--quiet", *extra)
        done[name] = (proc, pd.read_csv(out / f"{name}.csv"), out / name)
    return done


def _same_rows(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b)
    assert a["path"].tolist() == b["path"].tolist()
    assert np.array_equal(a["start_s"], b["start_s"]) and np.array_equal(a["end_s"], b["end_s"])
    assert a["label"].tolist() == b["label"].tolist()
    p = [c for c in a.columns if c.startswith("p_")]
    assert p and np.abs(a[p].to_numpy(float) - b[p].to_numpy(float)).max() <= 1e-6


def test_dask_run_gives_the_serial_rows(runs, batch):
    (serial, a, serial_dir), (dask, b, dask_dir) = runs["serial"], runs["dask"]
    _same_rows(a, b)
    assert a["path"].unique().tolist() == [str(f) for f in batch if f.name != "bad.wav"]  # input order
    assert len(a) >= 4 * 4  # 4-8 windows of 5 s per file
    names = sorted(p.name for p in serial_dir.iterdir())
    assert names == sorted(p.name for p in dask_dir.iterdir()) and len(names) == 4
    for name in names:
        _same_rows(pd.read_csv(serial_dir / name), pd.read_csv(dask_dir / name))
    assert dask.stdout.splitlines()[0] == serial.stdout.splitlines()[0]  # the printed table's header
    assert len(dask.stdout.splitlines()) == len(serial.stdout.splitlines())


def test_dask_reports_a_bad_file_and_completes_the_rest(runs):
    (serial, *_), (dask, *_) = runs["serial"], runs["dask"]
    assert serial.returncode == dask.returncode == 1
    problem = [line for line in dask.stderr.splitlines() if line.startswith("skipped ")]
    assert problem == [line for line in serial.stderr.splitlines() if line.startswith("skipped ")]
    assert len(problem) == 1 and "bad.wav" in problem[0]
    assert "4 file(s) classified" in dask.stderr and "1 problem(s)" in dask.stderr


# -- a worker killed mid-run --------------------------------------------------------------------------

try:
    from distributed import WorkerPlugin
except ImportError:  # importorskip above skips the module; keep the class definable
    WorkerPlugin = object


class KillOnce(WorkerPlugin):
    """On a worker: after some classify task has finished anywhere, the next one to start kills its worker.

    Exactly once per folder (an exclusive marker file), so the retry on the new worker runs normally.
    """

    def __init__(self, folder: str):
        self.folder = folder

    def transition(self, key, start, finish, **kwargs):
        if not str(key).startswith("classify"):
            return
        folder = Path(self.folder)
        if finish == "memory":
            (folder / "first-done").touch()
        elif finish == "executing" and (folder / "first-done").exists():
            try:
                fd = os.open(folder / "killed", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                return
            os.write(fd, str(key).encode())
            os.close(fd)
            os._exit(1)


def test_dask_worker_killed_mid_run_loses_and_duplicates_nothing(runs, batch, tmp_path):
    from distributed import Client, LocalCluster

    markers = tmp_path / "markers"
    markers.mkdir()
    good = [f for f in batch if f.name != "bad.wav"]
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        client.register_plugin(KillOnce(str(markers)), name="kill-once")
        proc = cli(*good, "--windows", "--csv", tmp_path / "killed.csv", "--quiet", "--dask", cluster.scheduler_address)
    assert proc.returncode == 0, proc.stderr
    assert (markers / "killed").exists(), "no worker was killed: the test did not test anything"
    _same_rows(runs["serial"][1], pd.read_csv(tmp_path / "killed.csv"))


# -- an interrupted run resumed -----------------------------------------------------------------------

class SlowAfterTwo(WorkerPlugin):
    """On a worker: once two classify tasks have finished, each one that starts waits 10 s first,
    so that an interruption is sure to fall in the middle of the batch."""

    def __init__(self, folder: str):
        self.folder = folder

    def transition(self, key, start, finish, **kwargs):
        if not str(key).startswith("classify"):
            return
        folder = Path(self.folder)
        if finish == "memory":
            (folder / f"done-{key}").touch()
        elif finish == "executing" and len(list(folder.glob("done-*"))) >= 2:
            time.sleep(10)


def interrupt_run(args: list, markers: Path, finished) -> None:
    """classify ``args`` on a 2-worker cluster that slows every task after two (:class:`SlowAfterTwo`),
    stopped with Ctrl-C (SIGINT) as soon as ``finished()`` counts 2 finished outputs."""
    from distributed import Client, LocalCluster

    markers.mkdir()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        client.register_plugin(SlowAfterTwo(str(markers)), name="slow-after-two")
        command = [sys.executable, "-m", "audioclf_lib", "classify", "--model", MODEL, *map(str, args),
                   "--dask", cluster.scheduler_address]
        proc = popen_interruptible(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and finished() < 2 and proc.poll() is None:
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 130, proc.stderr.read()


def test_dask_interrupted_run_resumes_without_recomputing_finished_files(runs, batch, tmp_path):
    good = [f for f in batch if f.name != "bad.wav"]
    out = tmp_path / "out"
    args = [*good, "-o", out, "--windows", "--quiet", "--skip-existing"]
    interrupt_run(args, tmp_path / "markers", lambda: len(list(out.glob("*.csv"))))
    first = {p.name: p.stat().st_mtime_ns for p in out.glob("*.csv")}
    assert 2 <= len(first) < 4, "the run should have been stopped part-way"
    assert not [p for p in out.iterdir() if p.suffix != ".csv"], "no half-written outputs"
    resumed = cli(*args, "--dask", "local:2")
    assert resumed.returncode == 0, resumed.stderr
    # the finished files were neither classified again (the count) nor rewritten (their mtimes)
    assert f"{4 - len(first)} file(s) classified" in resumed.stderr
    assert f"{len(first)} skipped (output exists)" in resumed.stderr
    assert {name: (out / name).stat().st_mtime_ns for name in first} == first
    assert sorted(p.name for p in out.iterdir()) == [f"long{k}.csv" for k in range(4)]
    for k in range(4):
        _same_rows(pd.read_csv(runs["serial"][2] / f"long{k}.csv"), pd.read_csv(out / f"long{k}.csv"))


def test_dask_usage_errors(batch):
    for bad, says in [("local:0", "must be >= 1"), ("local:x", "local:N")]:
        proc = cli(batch[0], "--dask", bad)
        assert proc.returncode == 2 and says in proc.stderr
    proc = cli(batch[0], "--dask", "local:2", "--jobs", "2")
    assert proc.returncode == 2 and "alternatives" in proc.stderr
    proc = cli(batch[0], "--shard-minutes", "1")
    assert proc.returncode == 2 and "give --dask too" in proc.stderr
    proc = cli(batch[0], "--dask", "local:2", "--shard-minutes", "0")
    assert proc.returncode == 2 and "--shard-minutes=0.0 must be > 0" in proc.stderr


# -- a long file cut into time shards -------------------------------------------------------------------

SHARD = ["--shard-minutes", "0.4"]  # 24 s: the long file below is 5 shards


@pytest.fixture(scope="module")
def long_file(tmp_path_factory):
    """About 2 minutes at 16 kHz: four times music (10 s), speech (eight ~1-s clips), noise (10 s)."""
    root = tmp_path_factory.mktemp("dask-long")
    parts = []
    for k in range(4):
        parts += [("music", 4 + k)] + [("speech", 8 * k + j) for j in range(8)] + [("noise", 4 + k)]
    y = np.concatenate([sf.read(starter_clip(cls, i), dtype="float32")[0] for cls, i in parts])
    assert 96 < y.size / SR < 120
    return write_wav(root / "archive.wav", y, SR)


@pytest.fixture(scope="module")
def sharded_runs(long_file, tmp_path_factory):
    """The serial run and a sharded --dask local:2 run of the long file: window CSV, segment CSV, stderr."""
    out = tmp_path_factory.mktemp("dask-sharded")
    done = {}
    for name, extra in [("serial", []), ("dask", ["--dask", "local:2", *SHARD])]:
        proc = cli(long_file, "--csv", out / f"{name}-windows.csv", "-o", out / f"{name}-segments.csv", "--quiet",
                   *extra)
        assert proc.returncode == 0, proc.stderr
        done[name] = (proc, pd.read_csv(out / f"{name}-windows.csv"), pd.read_csv(out / f"{name}-segments.csv"))
    done["folder"] = out
    return done


def test_sharded_run_gives_the_serial_rows_and_segments(sharded_runs):
    (serial, windows_a, segments_a), (dask, windows_b, segments_b) = sharded_runs["serial"], sharded_runs["dask"]
    assert "5 shard(s) of long files classified, 0 resumed" in dask.stderr
    assert "shard" not in serial.stderr
    _same_rows(windows_a, windows_b)
    assert np.array_equal(windows_a["level_dbfs"], windows_b["level_dbfs"])
    assert len(windows_a) > 180 and windows_a["label"].nunique() == 3  # every class, so the policy has work
    pd.testing.assert_frame_equal(segments_a, segments_b)
    assert len(segments_a) >= 6
    assert sorted(p.name for p in sharded_runs["folder"].iterdir()) == sorted(
        f"{name}-{kind}.csv" for name in ("serial", "dask") for kind in ("windows", "segments"))  # shards cleaned up


def test_sharded_run_scored_coarse_to_fine_gives_the_serial_segments(long_file, tmp_path):
    """The default coarse-to-fine scoring: shards start on whole groups of windows (Predictor.shard_grid, 61.44 s
    here), so the sharded run interpolates exactly the windows the serial run does."""
    runs = {}
    for name, extra in [("serial", []), ("dask", ["--dask", "local:2", *SHARD])]:
        proc = cli(long_file, "-o", tmp_path / f"{name}.csv", "--quiet", *extra)
        assert proc.returncode == 0, proc.stderr
        runs[name] = (proc, pd.read_csv(tmp_path / f"{name}.csv"))
    assert "2 shard(s) of long files classified, 0 resumed" in runs["dask"][0].stderr
    pd.testing.assert_frame_equal(runs["serial"][1], runs["dask"][1])
    assert len(runs["serial"][1]) >= 6


class CountStarts(WorkerPlugin):
    """On a worker: one marker file per classify task that starts executing (a retry keeps its key)."""

    def __init__(self, folder: str):
        self.folder = folder

    def transition(self, key, start, finish, **kwargs):
        if str(key).startswith("classify") and finish == "executing":
            (Path(self.folder) / f"started-{key}").touch()


def test_interrupted_sharded_run_resumes_without_recomputing_finished_shards(sharded_runs, long_file, tmp_path):
    from distributed import Client, LocalCluster

    out, counted = tmp_path / "out", tmp_path / "counted"
    counted.mkdir()
    parts = out / ".archive.csv.shards"  # where the client keeps the finished shards of out/archive.csv
    # every window scored (--coarse 0), as the serial run with --csv: five 24-s shards on the hop grid
    args = [long_file, "-o", out / "archive.csv", "--quiet", "--skip-existing", "--coarse", "0", *SHARD]
    interrupt_run(args, tmp_path / "slow", lambda: len(list(parts.glob("*.npz"))))
    finished = sorted(p.name for p in parts.glob("*.npz"))
    assert 2 <= len(finished) < 5, "the run should have been stopped part-way"
    assert sorted(p.name for p in out.iterdir()) == [parts.name], "no output for a file whose shards are not all done"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        client.register_plugin(CountStarts(str(counted)), name="count-starts")
        resumed = cli(*args, "--dask", cluster.scheduler_address)
    assert resumed.returncode == 0, resumed.stderr
    # the finished shards were loaded, not computed again: only the others ran on the workers
    assert len(list(counted.iterdir())) == 5 - len(finished)
    assert f"{5 - len(finished)} shard(s) of long files classified, {len(finished)} resumed" in resumed.stderr
    assert sorted(p.name for p in out.iterdir()) == ["archive.csv"]  # the shards are gone once the file is written
    pd.testing.assert_frame_equal(pd.read_csv(out / "archive.csv"), sharded_runs["serial"][2])


# -- notebook 01's decoding on Dask ---------------------------------------------------------------------

def test_prepare_splits_on_dask_caches_the_same_arrays(tmp_path, monkeypatch):
    """prepare_splits(dask="local:2") caches what this machine's processes cache: the same arrays bit for bit,
    the same tables, skip report and info, from real clips (some through the resampler), a silent and a broken file;
    eval_set(dask=...) caches the same features."""
    import shutil

    import soxr

    from audioclf_lib.cache import SPLITS, audio_cache_path, prepare_splits

    root = tmp_path / "corpus"
    for cls in ("music", "speech", "noise"):
        (root / cls).mkdir(parents=True)
        for i in range(14):
            src = starter_clip(cls, 20 + i)
            if i % 3 == 0:  # 44.1 kHz: decoding includes resampling
                y = sf.read(src, dtype="float32")[0]
                write_wav(root / cls / f"{src.stem}.wav", soxr.resample(y, SR, 44_100), 44_100)
            else:
                shutil.copy(src, root / cls / src.name)
    write_wav(root / "noise" / "quiet__room__s00.wav", np.zeros(SR, np.float32), SR)
    (root / "music" / "broken__file__s00.wav").write_bytes(b"RIFF but not a wave file at all")
    runs = {}
    for name, dask in [("processes", None), ("dask", "local:2")]:
        monkeypatch.setenv("AUDIOCLF_CACHE", str(tmp_path / f"cache-{name}"))
        splits, _, skipped = prepare_splits(root, dask=dask, progress=False)
        runs[name] = audio_cache_path(SR, root=root), splits, skipped
    (a, splits_a, skipped_a), (b, splits_b, skipped_b) = runs["processes"], runs["dask"]
    assert len(splits_a["train"]) > 16  # more than one chunk of 16, and the local run's process pool was used
    assert skipped_a["reason"].str.contains("silent").sum() == 1 and len(skipped_a) >= 2
    pd.testing.assert_frame_equal(skipped_a, skipped_b)
    assert sorted(p.name for p in a.iterdir()) == sorted(p.name for p in b.iterdir())
    for split in SPLITS:
        with np.load(a / f"{split}.npz") as za, np.load(b / f"{split}.npz") as zb:
            assert sorted(za.files) == sorted(zb.files)
            for key in za.files:
                assert za[key].dtype == zb[key].dtype and np.array_equal(za[key], zb[key]), (split, key)
    for name in sorted(p.name for p in a.iterdir() if p.suffix != ".npz"):  # tables, manifest, skip report, info
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    # notebook 01's evaluation features: the same batches on workers, the same cached arrays
    import audioclf_lib.cache as cache
    from audioclf_lib.config import FeatureConfig

    monkeypatch.setattr(cache, "FEATURE_BATCH", 16)  # several tasks from this small corpus
    features = {}
    for name, dask in [("processes", None), ("dask", "local:2")]:
        monkeypatch.setenv("AUDIOCLF_CACHE", str(tmp_path / f"cache-{name}"))
        windows, _, features[name] = cache.eval_set(runs[name][1]["train"], "train", FeatureConfig(),
                                              ["music", "speech", "noise"], dask=dask)
    assert len(windows) > 2 * 16
    assert features["dask"].dtype == np.float32 and np.array_equal(features["processes"], features["dask"])
    cached = [sorted((tmp_path / f"cache-{name}").glob("*/train-*.npy")) for name in ("processes", "dask")]
    assert [p.name for p in cached[0]] == [p.name for p in cached[1]] and len(cached[0]) == 1
    assert cached[0][0].read_bytes() == cached[1][0].read_bytes()
