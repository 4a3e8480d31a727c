"""classify files or folders into merged music/speech/noise/silence segments (or window rows)

Every file goes through :meth:`~audioclf_lib.scoring.PredictorBase.segment_file`, the one decision
policy (:class:`~audioclf_lib.segments.DecisionPolicy`: silence gate, smoothing, minimum durations,
thresholds) that the live loop uses too, run by the torch-free
:class:`~audioclf_lib.onnx_predictor.OnnxPredictor` once the ONNX cache holds the model's checked
export, else by the :class:`~audioclf_lib.predict.Predictor` (:func:`~audioclf_lib.commands.common.load_predictor`).
Output:

* stdout: the segment table (``--windows``: one row per window), ``--max-rows`` rows;
* ``-o/--output PATH`` with ``--format {csv,jsonl,audacity,textgrid,rttm}``: a file for one input,
  a folder (one output per input, sub-folders mirrored) for several or when PATH is a folder;
* ``--csv OUT``: every window row of every file in one CSV (as before segments existed).

Batches: ``--jobs N`` worker processes (each builds its Predictor once, one thread each),
``--skip-existing`` resumes an interrupted run (outputs are written atomically, so an existing
one is complete), a progress bar over audio time on stderr (off with ``--quiet`` or without a
terminal), bad files reported with their reason while the rest goes on, and a summary line.
``--dask ADDRESS|local:N`` maps the files over Dask workers instead (:mod:`audioclf_lib.distributed`):
one file is one task, each worker builds its Predictor once, a task whose worker dies runs again
elsewhere, and the client writes the same outputs in the same order as the serial run. A file longer
than ``--shard-minutes`` is cut into time shards on the window grid (:mod:`audioclf_lib.shards`), one
task each; the client keeps each finished shard next to the output (written atomically, so that
``--skip-existing`` resumes inside a file), then runs the decision policy over the merged rows.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .common import UsageError, add_model_options, collect_audio_files, load_predictor

__all__ = ["add_arguments", "run"]

FORMATS = ("csv", "jsonl", "audacity", "textgrid", "rttm")
DEFAULT_SHARD_MINUTES = 10.0  # --dask: a 10-min shard is ~1,200 windows, seconds of work, 1 % of it re-decoded
WINDOW_FORMATS = ("csv", "jsonl")  # window rows have no single label span to draw in Audacity/Praat/RTTM


def _threshold(text: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    try:
        if not sep:
            raise ValueError
        return name, float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected CLASS=PROBABILITY, e.g. speech=0.6; got {text!r}") from None


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add the options of ``audioclf classify`` to ``p``: inputs, model, decision policy, outputs, batches.

    Command line: audioclf classify

    Parameters
    ----------
    p : argparse.ArgumentParser
        The subcommand's parser (:func:`audioclf_lib.cli.build_parser`).
    """
    p.add_argument("paths", nargs="+", help="audio files or folders (searched recursively)")
    add_model_options(p)
    g = p.add_argument_group("decision policy (the live demo decides the same way; defaults: segments.default_policy)")
    g.add_argument("--smoothing", choices=["none", "mean", "median", "viterbi"], default=None,
                   help="smoothing of frame probabilities (default viterbi)")
    g.add_argument("--smoothing-windows", type=int, default=None, help="hop-long frames a mean/median spans (default 3)")
    g.add_argument("--switch-penalty", type=float, default=None, help="viterbi: cost of a class change in nats (default 8)")
    g.add_argument("--min-segment", type=float, default=None, help="class segments shorter than this (s) are merged away (default 0)")
    g.add_argument("--min-gap", type=float, default=None, help="silences shorter than this (s) are absorbed (default 2)")
    g.add_argument("--threshold", type=_threshold, action="append", default=[], metavar="CLASS=P",
                   help="a window whose winner is below P is 'unknown' (repeatable)")
    g.add_argument("--coarse", type=float, default=None, metavar="SECONDS",
                   help="score the windows every SECONDS first, then every hop only where they disagree or doubt "
                        "(default 3.072; 0 scores every window; --windows and --csv always score every window)")
    g.add_argument("--silence-dbfs", type=float, default=None,
                   help="silence gate in dBFS (default: the model's, -60); see --no-silence-gate")
    g.add_argument("--no-silence-gate", action="store_true", help="classify every window, however quiet")
    o = p.add_argument_group("output")
    o.add_argument("--windows", action="store_true", help="window rows instead of merged segments")
    o.add_argument("-o", "--output", type=Path, help="output file (one input) or folder (one file per input)")
    o.add_argument("--format", choices=FORMATS, default=None,
                   help="output format (default: from the --output suffix, else csv)")
    o.add_argument("--csv", type=Path, help="also write every window row of every file to this CSV")
    o.add_argument("--max-rows", type=int, default=60, help="rows printed (the output files have all)")
    b = p.add_argument_group("batches")
    b.add_argument("--jobs", type=int, default=1, help="worker processes over files (default 1)")
    b.add_argument("--dask", metavar="ADDRESS|local:N", default=None,
                   help="map files over Dask workers: a scheduler address (tcp://host:8786; workers must see the "
                        "files under the same paths) or local:N worker processes (needs the dask extra)")
    b.add_argument("--shard-minutes", type=float, default=None, metavar="MIN",
                   help=f"with --dask: files longer than this are cut into time shards on the window grid, one "
                        f"task each (default {DEFAULT_SHARD_MINUTES:g}); with -o, finished shards are kept until "
                        "their file is written, so --skip-existing resumes inside a file")
    b.add_argument("--skip-existing", action="store_true", help="skip inputs whose output file exists (resume)")
    b.add_argument("--quiet", action="store_true", help="no progress bar")


def _policy(args: argparse.Namespace, predictor):
    """segments.default_policy for the model's (or --window's) window, with the options given on the line."""
    from dataclasses import replace

    from ..segments import default_policy

    window = args.window if args.window is not None else predictor.config.window_seconds
    given = {"hop_seconds": args.hop, "smoothing": args.smoothing, "smoothing_windows": args.smoothing_windows,
             "switch_penalty": args.switch_penalty, "min_segment_seconds": args.min_segment,
             "min_gap_seconds": args.min_gap, "class_thresholds": dict(args.threshold) or None}
    try:
        policy = replace(default_policy(window), **{k: v for k, v in given.items() if v is not None})
        if args.coarse is not None and args.coarse < 0:
            raise ValueError(f"--coarse={args.coarse:g} must be >= 0 (0 scores every window)")
        if args.coarse == 0 or args.windows or args.csv is not None:  # window rows: every window really scored
            policy = replace(policy, coarse_seconds=None)
        elif args.coarse is not None:
            policy = replace(policy, coarse_seconds=args.coarse)
        policy.threshold_vector(predictor.class_names)  # a threshold for a class the model lacks: say so now
    except (TypeError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    return policy


def _outputs(files: list[Path], args: argparse.Namespace, fmt: str) -> list[Path | None]:
    """Where each input's result goes: None (stdout only), one file, or mirrored names in a folder."""
    from ..segments.formats import SUFFIXES

    out = args.output
    if out is None:
        return [None] * len(files)
    to_folder = out.is_dir() or len(files) > 1 or len(args.paths) > 1 or Path(args.paths[0]).is_dir() \
        or str(out).endswith(("/", "\\"))
    if not to_folder:
        return [out]
    targets = []
    roots = [Path(p) for p in args.paths if Path(p).is_dir()]
    for f in files:
        root = next((r for r in roots if r in f.parents), None)
        rel = f.relative_to(root).parent if root is not None else Path()
        targets.append(out / rel / (f.stem + SUFFIXES[fmt]))
    clashes = sorted({str(t) for t in targets if targets.count(t) > 1})
    if clashes:
        raise UsageError(f"several inputs would write the same output ({', '.join(clashes[:3])}): "
                         "give their folder instead of the files, or classify them separately")
    return targets


# -- the work of one file: the same code in the main process and in --jobs workers ---------------------

_WORKER: dict = {}


def _start_worker(model: str, device: str | None, backend: str, silence_dbfs, policy, keep_windows: bool) -> None:
    # N processes x 1 thread: threads inside each would fight for the same cores
    predictor = load_predictor(model, device, backend, threads=1)
    if silence_dbfs != "model":
        predictor.silence_dbfs = silence_dbfs
    _WORKER.update(predictor=predictor, policy=policy, keep_windows=keep_windows)


def _classify_one(path: Path):
    """(path, windows or None, segments, duration_s, error or None) for one file."""
    from ..audio import AudioError

    try:
        result = _WORKER["predictor"].segment_file(path, policy=_WORKER["policy"], window_levels=_WORKER["keep_windows"])
    except AudioError as exc:
        return path, None, None, 0.0, str(exc)
    windows = result.windows if _WORKER["keep_windows"] else None
    return path, windows, result.segments, result.duration_s, None


def _durations(files: list[Path]) -> list[float]:
    from ..audio import AudioError, audio_info

    seconds = []
    for f in files:
        try:
            info = audio_info(f)
            seconds.append(info.frames / info.samplerate)
        except AudioError:
            seconds.append(0.0)  # reported when it is classified
    return seconds


def run(args: argparse.Namespace) -> int:
    """Run ``audioclf classify`` on the ``args`` that :func:`add_arguments` defines.

    Command line: audioclf classify

    Returns
    -------
    int
        Exit status: 1 when any input failed (each is reported on stderr with its reason)
        or none was classified (and none skipped as done), else 0.

    Raises
    ------
    UsageError
        Bad arguments (exit status 2 through :func:`audioclf_lib.cli.main`).
    """
    import pandas as pd

    from ..segments.formats import format_for_path, rttm_file_id, write_segments

    if args.jobs < 1:
        raise UsageError(f"--jobs={args.jobs} must be >= 1")
    if args.dask is not None:
        from ..distributed import INSTALL_HINT, dask_available, parse_target

        if args.jobs != 1:
            raise UsageError(f"--jobs={args.jobs} and --dask are alternatives: give one")
        try:
            parse_target(args.dask)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        if not dask_available():
            raise UsageError(INSTALL_HINT)
    if args.shard_minutes is not None:
        if args.dask is None:
            raise UsageError("--shard-minutes cuts long files into tasks for --dask: give --dask too")
        if not args.shard_minutes > 0:
            raise UsageError(f"--shard-minutes={args.shard_minutes} must be > 0")
    fmt = args.format or (format_for_path(args.output) if args.output is not None and args.output.suffix else "csv")
    if args.windows and fmt not in WINDOW_FORMATS:
        raise UsageError(f"--windows writes {' or '.join(WINDOW_FORMATS)}, not {fmt}")
    # with --jobs N this process is one of the N workers: one thread each, as theirs
    predictor = load_predictor(args.model, args.device, args.backend, threads=1 if args.jobs > 1 else None)
    silence_dbfs = None if args.no_silence_gate else (args.silence_dbfs if args.silence_dbfs is not None else "model")
    policy = _policy(args, predictor)
    if silence_dbfs != "model":
        predictor.silence_dbfs = silence_dbfs
    files, problems = collect_audio_files(args.paths)
    targets = _outputs(files, args, fmt)
    skipped = 0
    if args.skip_existing:
        todo = [(f, t) for f, t in zip(files, targets) if t is None or not t.exists()]
        skipped = len(files) - len(todo)
        files, targets = [f for f, _ in todo], [t for _, t in todo]
    target_of = dict(zip(files, targets))
    keep_windows = args.windows or args.csv is not None
    seconds = _durations(files)
    show_bar = not args.quiet and sys.stderr.isatty() and len(files) > 0
    t0 = time.perf_counter()
    done, errors, audio_s = {}, {}, 0.0  # by input index: --dask delivers in completion order
    from tqdm import tqdm

    shards = {"classified": 0, "resumed": 0}  # --dask: shards of long files
    results = _results(files, args, policy, silence_dbfs, keep_windows, predictor, targets, seconds, shards)
    progressed: dict[int, float] = {}  # audio seconds of a file's finished shards, shown before the file is done
    with tqdm(total=round(sum(seconds), 1), unit="s", unit_scale=True, desc=f"{len(files)} file(s), audio",
              file=sys.stderr, dynamic_ncols=True, disable=not show_bar) as bar:
        for i, result in results:
            if isinstance(result, float):  # a shard of file i
                progressed[i] = progressed.get(i, 0.0) + result
                bar.update(result)
                continue
            path, windows, segments, duration_s, error = result
            bar.update(max(0.0, seconds[i] - progressed.pop(i, 0.0)))
            if error is not None:
                errors[i] = error
                continue
            audio_s += duration_s
            table = windows if args.windows else segments
            target = target_of[path]
            if target is not None:
                if args.windows:
                    _write_windows(table, target, fmt)
                else:
                    write_segments(segments, target, fmt, tier_name=predictor.name, duration_s=duration_s,
                                   file_id=rttm_file_id(path))
            done[i] = (windows, segments.assign(path=str(path))[["path", *segments.columns]])
    wall = time.perf_counter() - t0
    problems += [errors[i] for i in sorted(errors)]
    window_tables = [done[i][0] for i in sorted(done) if done[i][0] is not None]
    segment_tables = [done[i][1] for i in sorted(done)]
    for line in problems:
        print(f"skipped {line}", file=sys.stderr)
    if args.csv is not None and window_tables:
        pd.concat(window_tables, ignore_index=True).to_csv(args.csv, index=False)
    shown = window_tables if args.windows else segment_tables
    if shown:
        table = pd.concat(shown, ignore_index=True)
        print(table.to_string(index=False, max_rows=args.max_rows, float_format=lambda v: f"{v:.3f}"))
    n_done = len(segment_tables)
    speed = f", {audio_s / wall:,.0f}x real time" if wall > 0 and audio_s > 0 else ""
    print(f"{n_done} file(s) classified ({audio_s / 3600:.3f} h of audio in {wall:.1f} s{speed}), "
          f"{sum(len(s) for s in segment_tables)} segment(s), {len(problems)} problem(s)"
          + (f", {skipped} skipped (output exists)" if args.skip_existing else "")
          + (f", {shards['classified']} shard(s) of long files classified, {shards['resumed']} resumed from an "
             "earlier run" if any(shards.values()) else ""), file=sys.stderr)
    if n_done == 0 and not skipped:
        print("nothing classified", file=sys.stderr)
        return 1
    return 1 if problems else 0


def _results(files, args, policy, silence_dbfs, keep_windows, predictor, targets, seconds, shards):
    """(input index, result) pairs: in input order from this process (--jobs 1) or from worker
    processes (--jobs N), in completion order from Dask workers (--dask), where a float result is
    the audio seconds of a finished shard of that file."""
    if args.dask is not None and files:
        spec = _worker_spec(args.model, args.device, args.backend, silence_dbfs, policy, keep_windows)
        shard_s = 60 * (args.shard_minutes if args.shard_minutes is not None else DEFAULT_SHARD_MINUTES)
        plans = _shard_plans(files, targets, seconds, predictor, policy, shard_s, spec, args.skip_existing)
        yield from _dask_results(files, args.dask, spec, plans, predictor, policy, shards)
        return
    _WORKER.update(predictor=predictor, policy=policy, keep_windows=keep_windows)
    if args.jobs == 1 or len(files) < 2:
        yield from enumerate(map(_classify_one, files))
        return
    import multiprocessing as mp
    from collections import deque
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    # This process, whose predictor is loaded already, is one of the N: it classifies files while the N - 1
    # workers start (about 0.3 s each) and then alongside them, so --jobs 2 is never slower than --jobs 1.
    # spawn: a fork of a process that already runs torch/ONNX Runtime thread pools can hang.
    queue, pending, workers = deque(enumerate(files)), {}, min(args.jobs, len(files)) - 1
    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                             initializer=_start_worker,
                             initargs=(args.model, args.device, args.backend, silence_dbfs, policy,
                                       keep_windows)) as pool:
        while queue or pending:
            while queue and len(pending) < 2 * workers:  # two each: a worker never waits for the next
                i, path = queue.pop()  # from the end: this process takes the files from the front
                pending[pool.submit(_classify_one, path)] = i
            if queue:
                i, path = queue.popleft()
                yield i, _classify_one(path)
                finished = [future for future in pending if future.done()]
            else:
                finished = wait(pending, return_when=FIRST_COMPLETED).done
            for future in finished:
                yield pending.pop(future), future.result()


# -- --dask: one task per file (or per time shard of a long file) on Dask workers ---------------------

def _worker_spec(model: str, device: str | None, backend: str, silence_dbfs, policy, keep_windows: bool) -> tuple:
    """_start_worker's arguments, with a checkpoint given as a path made absolute (workers run elsewhere)."""
    if Path(model).exists():
        model = str(Path(model).resolve())
    return model, device, backend, silence_dbfs, policy, keep_windows


def _worker_state(spec: tuple) -> None:
    """_WORKER of this Dask worker process for ``spec``: its Predictor built on the first task only."""
    from ..distributed import worker_cached

    def build():
        _start_worker(*spec)
        return dict(_WORKER)

    _WORKER.update(worker_cached(("classify", repr(spec)), build))


def _classify_remote(path: Path, cwd: str, spec: tuple):
    """_classify_one on a Dask worker: the Predictor built once per worker process and ``spec``;
    a relative ``path`` is the client's (``cwd``), and it is reported as the client gave it."""
    _worker_state(spec)
    path = Path(path)
    full = path if path.is_absolute() else Path(cwd) / path
    _, windows, segments, duration_s, error = _classify_one(full)
    if full != path:
        if error is not None:
            error = error.replace(str(full), str(path))
        if windows is not None:
            windows["path"] = str(path)
    return path, windows, segments, duration_s, error


def _dask_task(unit: tuple, cwd: str, spec: tuple):
    """One Dask task: ``(path, None)`` a whole file (:func:`_classify_remote`), ``(path, shard)`` the
    window scores of one time shard: ``(path, WindowScores or None, error or None)``."""
    from ..audio import AudioError

    path, shard = unit
    if shard is None:
        return _classify_remote(path, cwd, spec)
    _worker_state(spec)
    path = Path(path)
    full = path if path.is_absolute() else Path(cwd) / path
    try:
        scores = _WORKER["predictor"].window_scores(full, policy=_WORKER["policy"], start=shard.start, stop=shard.stop)
    except AudioError as exc:
        return path, None, str(exc).replace(str(full), str(path))
    return path, scores, None


class _ShardedFile:
    """A long file's shards on the client: planned, finished (kept in ``folder`` when there is an output), merged."""

    def __init__(self, path: Path, shards: list, n_samples: int, sr: int, folder: Path | None, key: str):
        self.path, self.shards, self.n_samples, self.sr = path, shards, n_samples, sr
        self.folder, self.key = folder, key
        self.parts: dict = {}  # shard index -> WindowScores
        self.failed = False

    def part_path(self, shard) -> Path | None:
        return None if self.folder is None else self.folder / f"{shard.index:05d}.npz"

    def seconds(self, shard) -> float:
        stop = self.n_samples if shard.stop is None else min(shard.stop, self.n_samples)
        return max(0, stop - shard.start) / self.sr

    def add(self, shard, scores) -> None:
        from ..shards import save_scores

        if self.folder is not None:
            save_scores(self.part_path(shard), scores, key=f"{self.key}-{shard.start}-{shard.stop}")
        self.parts[shard.index] = scores

    def merged(self, predictor, policy, keep_windows: bool):
        """The file's result tuple (as :func:`_classify_one` gives) from its finished shards."""
        from ..shards import merge_scores

        result = predictor.segments_from_scores(merge_scores([self.parts[s.index] for s in self.shards]),
                                                path=self.path, policy=policy)
        return self.path, result.windows if keep_windows else None, result.segments, result.duration_s, None

    def clean(self) -> None:
        import shutil

        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


def _shard_plans(files, targets, seconds, predictor, policy, shard_s: float, spec: tuple, resume: bool) -> dict:
    """Input index -> _ShardedFile for every file longer than one shard; with ``resume``, the shards an
    earlier run of the same settings finished (same file size and time) are loaded instead of queued."""
    import hashlib

    from ..shards import load_scores, plan_shards

    sr = predictor.config.sample_rate
    grid = predictor.shard_grid(policy)  # shards that give exactly one run's scores
    plans = {}
    for i, (path, target, s) in enumerate(zip(files, targets, seconds)):
        shards = plan_shards(round(s * sr), shard_s, sr=sr, hop=grid)
        if len(shards) < 2:
            continue
        stat = path.stat()
        key = hashlib.sha1(repr((spec[:-1], str(path.resolve()), stat.st_size, stat.st_mtime_ns)).encode()).hexdigest()
        folder = None if target is None else target.parent / f".{target.name}.shards"
        plan = plans[i] = _ShardedFile(path, shards, round(s * sr), sr, folder, key)
        if resume and folder is not None and folder.is_dir():
            for shard in shards:
                scores = load_scores(plan.part_path(shard), key=f"{key}-{shard.start}-{shard.stop}")
                if scores is not None:
                    plan.parts[shard.index] = scores
    return plans


def _dask_results(files: list[Path], target: str, spec: tuple, plans: dict, predictor, policy, counts: dict):
    import os

    from ..distributed import dask_client, map_unordered

    keep_windows = spec[-1]
    units = []  # (input index, shard or None): one task each
    for i, path in enumerate(files):
        plan = plans.get(i)
        units += [(i, None)] if plan is None else [(i, s) for s in plan.shards if s.index not in plan.parts]
    for i, plan in plans.items():
        counts["resumed"] += len(plan.parts)
        if len(plan.parts) == len(plan.shards):  # every shard finished before the interruption
            yield i, plan.merged(predictor, policy, keep_windows)
            plan.clean()
    if not units:
        return
    with dask_client(target) as client:
        items = [(files[i], shard) for i, shard in units]
        for k, result, error in map_unordered(client, _dask_task, items, os.getcwd(), spec, retries=2,
                                              name="classify"):
            i, shard = units[k]
            died = None if error is None else f"{files[i]}: every Dask worker that ran it died ({error})"
            if shard is None:  # KilledWorker: a crash in a decoder, out of memory... on every try
                yield i, result if died is None else (files[i], None, None, 0.0, died)
                continue
            plan = plans[i]
            _, scores, problem = result if died is None else (files[i], None, died)
            if plan.failed:
                continue
            if problem is not None:
                plan.failed = True
                yield i, (files[i], None, None, 0.0, problem)
                continue
            counts["classified"] += 1
            plan.add(shard, scores)
            if len(plan.parts) < len(plan.shards):
                yield i, plan.seconds(shard)
            else:
                yield i, plan.merged(predictor, policy, keep_windows)
                plan.clean()  # after the output is written: the caller writes it before asking for more


def _write_windows(table, path: Path, fmt: str) -> None:
    from ..segments.formats import atomic_write_text

    text = table.to_csv(index=False) if fmt == "csv" else table.to_json(orient="records", lines=True)
    atomic_write_text(path, text)
