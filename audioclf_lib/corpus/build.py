"""Build a clip corpus from registry packages: select by rule, decode, cut, deduplicate, write.

Notebook: 01_generate_spectrograms.ipynb (reads the corpus this writes)

:func:`build_corpus` turns :class:`~audioclf_lib.corpus.rules.Rule`\\ s into a folder that
:func:`audioclf_lib.data.build_manifest` reads like ``data/starter``::

    <out>/<class>/<source>__<name>[__sNN].ogg   16 kHz mono Ogg Vorbis, at most 10 s
    <out>/manifest.csv                          one row per clip (licence, package, registry)
    <out>/CREDITS.md                            one line per source
    <out>/.build_log.jsonl                      what was done with every original file

Every original file is decoded once; a file longer than one clip gives evenly spaced clips
(at most ``max_clips_per_file``) so a 20-minute track is sampled from beginning to end rather
than its first minute. A clip whose decoded 16-bit PCM equals an earlier clip's is dropped:
games often ship the same sound under two names, and a duplicate on both sides of a split
inflates every score. The build is resumable: files recorded in the log whose clips are on
disk are not decoded again, and a second run writes no clip.
"""
from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .clips import Candidate, _stable_key, clip_name, decode_segments, pcm_hash, select_files
from .fetch import FetchError, Fetcher
from .rules import ReservedPackageError, Rule, package_name

__all__ = ["MANIFEST_COLUMNS", "BuildReport", "build_corpus", "write_credits"]

#: Columns of ``manifest.csv``: those of ``data/starter/manifest.csv``, then the package and
#: registry each clip came from and the hash used to drop duplicates.
MANIFEST_COLUMNS = ["split", "class", "source", "file", "orig_candidate", "seg_start_s", "seg_dur_s", "orig_sr",
                    "license", "package", "registry", "pcm_sha1"]
_LOG_NAME = ".build_log.jsonl"


@dataclass
class SourceStats:
    """What one source gave in a build (counts of files and clips)."""

    files: int = 0
    clips: int = 0
    written: int = 0
    duplicates: int = 0
    silent: int = 0
    too_short: int = 0
    failed: int = 0


@dataclass
class BuildReport:
    """The outcome of :func:`build_corpus`.

    Command line: ``corpus build`` (:mod:`audioclf_lib.corpus.command`)

    Attributes
    ----------
    sources : per-source :class:`SourceStats` for the rules built in this run.
    problems : one line per package or rule that gave nothing (download failed, folder missing,
        no file matched, reserved name).
    failed_files : ``(source, file, reason)`` for each file that could not be decoded.
    downloads : packages downloaded in this run (0 when every package was cached).
    written : clips written in this run (0 on a repeated run).
    removed : clips deleted because their rule no longer selects them.
    rows : the final manifest rows (every source in the folder).
    """

    sources: dict[str, SourceStats] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    failed_files: list[tuple[str, str, str]] = field(default_factory=list)
    downloads: int = 0
    written: int = 0
    removed: int = 0
    rows: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no package, rule or file failed."""
        return not self.problems and not self.failed_files


# -- selection -----------------------------------------------------------------------------------
def _read_log(out: Path) -> dict[tuple[str, str], dict]:
    entries: dict[tuple[str, str], dict] = {}
    log_file = out / _LOG_NAME
    if log_file.exists():
        for line in log_file.read_text().splitlines():
            try:
                entry = json.loads(line)
                entries[(entry["source"], entry["orig"])] = entry
            except (ValueError, KeyError):
                continue  # a line cut by an interrupted run: that file is simply redone
    return entries


def _write_clip(path: Path, y: np.ndarray, sr: int) -> None:
    import soundfile as sf

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name("." + path.name + ".tmp")
    sf.write(str(tmp), y, sr, format="OGG", subtype="VORBIS")
    # renamed only when complete: an interrupted build never leaves half a clip
    os.replace(tmp, path)


def build_corpus(
    out: str | Path,
    rules: Iterable[Rule],
    fetcher: Fetcher,
    *,
    sr: int = 16_000,
    clip_seconds: float = 10.0,
    max_clips_per_file: int = 6,
    max_files_per_source: int | None = 600,
    min_seconds: float = 0.3,
    silence_peak: float = 1e-3,
    known_rules: Sequence[Rule] = (),
    log: Callable[[str], None] = print,
) -> BuildReport:
    """Fetch the rules' packages, select their files and write the clip corpus under ``out``.

    Command line: ``corpus build`` (:mod:`audioclf_lib.corpus.command`)

    Parameters
    ----------
    out : corpus folder (created); clips of sources not in ``rules`` are kept.
    rules : the rules to build, in order (earlier rules win duplicate clips).
    fetcher : downloads and unpacks packages (:class:`~audioclf_lib.corpus.fetch.Fetcher`).
    sr : output sample rate (Hz).
    clip_seconds : longest clip (s); longer files are cut into evenly spaced clips.
    max_clips_per_file : most clips from one file, unless its rule says otherwise.
    max_files_per_source : most files of one source, unless its rule says otherwise.
    min_seconds : files shorter than this (s) are skipped.
    silence_peak : clips whose peak is below this (linear, 1e-3 = -60 dBFS) are dropped.
    known_rules : further rules whose notes and versions ``CREDITS.md`` uses for sources
        already in ``out`` but not built now (a build of some ``--sources``).
    log : called with progress lines.

    Returns
    -------
    BuildReport
    """
    if clip_seconds <= 0 or max_clips_per_file < 1 or sr <= 0:
        raise ValueError(f"clip_seconds={clip_seconds}, max_clips_per_file={max_clips_per_file}, sr={sr}: "
                         "expected positive values")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rules = list(rules)
    names = [r.source for r in rules]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate source names: {sorted({n for n in names if names.count(n) > 1})}")
    report = BuildReport()
    # a package used by several rules is unpacked once, with every archive any of them needs
    archives: dict[tuple[str, str], set] = {}
    for rule in rules:
        for spec in rule.packages:
            needed = archives.setdefault((rule.registry, package_name(rule.registry, spec)), set())
            needed.update(rule.archives)
    old_log = _read_log(out)
    built_sources = set()
    seen_hashes: set[str] = set()
    new_log: list[dict] = []
    log_file = (out / _LOG_NAME).open("a")

    try:
        for rule in rules:
            trees = []
            for spec in rule.packages:
                try:
                    name = package_name(rule.registry, spec)
                    tree = fetcher.fetch(rule.registry, spec, archives[(rule.registry, name)])
                except (FetchError, ReservedPackageError) as exc:
                    report.problems.append(f"{rule.source}: {exc}")
                    log(f"PROBLEM {rule.source}: {exc}")
                    continue
                report.downloads += tree.downloaded
                trees.append(tree)
            if len(trees) < len(rule.packages):
                continue  # a missing package: the source keeps what an earlier build wrote
            candidates = select_files(rule, trees, max_files=max_files_per_source, problems=report.problems)
            if not candidates:
                report.problems.append(f"{rule.source}: no file matched include={rule.include!r} "
                                       f"exclude={rule.exclude!r} under {rule.where or '.'!r}")
                continue
            built_sources.add(rule.source)
            stats = report.sources.setdefault(rule.source, SourceStats())
            max_clips = rule.max_clips_per_file or max_clips_per_file
            used_names: set[str] = set()
            for cand, short in zip(candidates, _short_paths(candidates)):
                stats.files += 1
                entry = _process(cand, short, old_log.get((rule.source, cand.orig)), out=out, sr=sr,
                                 clip_seconds=clip_seconds, max_clips=max_clips, min_seconds=min_seconds,
                                 silence_peak=silence_peak, seen_hashes=seen_hashes, used_names=used_names,
                                 report=report, stats=stats)
                new_log.append(entry)
                if not entry.get("reused"):
                    log_file.write(json.dumps(entry) + "\n")
                    log_file.flush()
            log(f"{rule.label}/{rule.source}: {stats.files} files -> {stats.clips} clips "
                f"({stats.written} new, {stats.duplicates} duplicate, {stats.silent} silent, "
                f"{stats.too_short} too short, {stats.failed} failed)")
    finally:
        log_file.close()

    # sources not built now (not selected, or their package failed) keep their earlier clips
    for (source, _orig), entry in old_log.items():
        if source not in built_sources:
            new_log.append(entry)
    rows = []
    for entry in new_log:
        rows.extend(entry.get("rows", []))
    rows = [r for r in rows if (out / r["file"]).exists()]
    keep = {r["file"] for r in rows}
    for source in built_sources:
        for stale in out.glob(f"*/{source}__*.ogg"):
            rel = stale.relative_to(out).as_posix()
            if rel not in keep:
                stale.unlink()
                report.removed += 1
    rows.sort(key=lambda r: (r["class"], r["source"], r["file"]))
    report.rows = rows

    tmp_log = out / (_LOG_NAME + ".tmp")
    tmp_log.write_text("".join(json.dumps({k: v for k, v in e.items() if k != "reused"}) + "\n" for e in new_log))
    os.replace(tmp_log, out / _LOG_NAME)
    _write_manifest(out / "manifest.csv", rows)
    by_source = {r.source: r for r in known_rules} | {r.source: r for r in rules}
    write_credits(out / "CREDITS.md", rows, list(by_source.values()), fetcher)
    return report


def _short_paths(candidates: Sequence[Candidate]) -> list[str]:
    """Each candidate's path without the folders that all files of its package share.

    Clip names stay short (``deb_x__battle-epic``, not ``deb_x__usr_share_games_...``) even
    for rules that search a whole package.
    """
    folders: dict[str, list[list[str]]] = {}
    for cand in candidates:
        folders.setdefault(cand.package, []).append(cand.relpath.split("/")[:-1])
    common = {package: len(os.path.commonprefix(dirs)) for package, dirs in folders.items()}
    return ["/".join(c.relpath.split("/")[common[c.package]:]) for c in candidates]


def _process(cand: Candidate, name_path: str, previous: dict | None, *, out: Path, sr: int, clip_seconds: float,
             max_clips: int, min_seconds: float, silence_peak: float, seen_hashes: set[str], used_names: set[str],
             report: BuildReport, stats: SourceStats) -> dict:
    rule = cand.rule
    # what decides the clips of a file: a change redoes it
    settings = f"sr={sr} clip={clip_seconds} max_clips={max_clips} min={min_seconds} peak={silence_peak}"
    base = clip_name(rule.source, name_path)
    if base in used_names:  # the same relative path in two packages of one rule
        base = f"{base}_{_stable_key(cand.orig)[:8]}"
    used_names.add(base)
    # the rows of an earlier run are reused when they were cut the same way, under the same
    # name, and are all still there
    if previous is not None and previous.get("settings") == settings and previous.get("name") == base and \
            all((out / r["file"]).exists() for r in previous.get("rows", [])):
        fresh = [r for r in previous.get("rows", []) if r["pcm_sha1"] not in seen_hashes]
        seen_hashes.update(r["pcm_sha1"] for r in fresh)
        if previous.get("error"):
            stats.failed += 1
            report.failed_files.append((rule.source, str(cand.path), previous["error"]))
        stats.clips += len(fresh)
        stats.duplicates += previous.get("duplicates", 0) + len(previous.get("rows", [])) - len(fresh)
        stats.silent += previous.get("silent", 0)
        stats.too_short += previous.get("too_short", 0)
        return {**previous, "rows": fresh, "reused": True}

    entry = {"source": rule.source, "orig": cand.orig, "settings": settings, "name": base, "rows": [],
             "duplicates": 0, "silent": 0, "too_short": 0}
    try:
        orig_sr, duration, clips = decode_segments(cand.path, sr=sr, clip_seconds=clip_seconds, max_clips=max_clips)
    except (ValueError, RuntimeError, OSError, EOFError) as exc:
        reason = f"{type(exc).__name__}: {exc}"
        stats.failed += 1
        report.failed_files.append((rule.source, str(cand.path), reason))
        entry["error"] = reason
        return entry
    if duration < min_seconds:
        stats.too_short += 1
        entry["too_short"] = 1
        return entry
    for k, (start, y) in enumerate(clips):
        if len(y) < min_seconds * sr:
            stats.too_short += 1
            entry["too_short"] += 1
            continue
        if float(np.max(np.abs(y))) < silence_peak:
            stats.silent += 1
            entry["silent"] += 1
            continue
        digest = pcm_hash(y)
        if digest in seen_hashes:
            stats.duplicates += 1
            entry["duplicates"] += 1
            continue
        seen_hashes.add(digest)
        name = base + (f"__s{k:02d}" if duration > clip_seconds else "") + ".ogg"
        rel = f"{rule.label}/{name}"
        _write_clip(out / rel, y, sr)
        report.written += 1
        stats.written += 1
        stats.clips += 1
        entry["rows"].append({
            "split": "corpus", "class": rule.label, "source": rule.source, "file": rel, "orig_candidate": cand.orig,
            "seg_start_s": round(start, 3), "seg_dur_s": round(len(y) / sr, 3), "orig_sr": orig_sr,
            "license": rule.license, "package": cand.package, "registry": rule.registry, "pcm_sha1": digest,
        })
    return entry


def _write_manifest(path: Path, rows: list[dict]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=MANIFEST_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)


def _versions(fetcher: Fetcher, registry: str, packages: Iterable[str]) -> list[str]:
    shown = []
    for spec in packages:
        name = package_name(registry, spec)
        stamp = fetcher.stamp_path(registry, name)
        version = ""
        if stamp.exists():
            try:
                version = json.loads(stamp.read_text()).get("version", "")
            except ValueError:
                pass
        shown.append(f"{name} {version}".strip())
    return shown


def write_credits(path: str | Path, rows: Sequence[dict], rules: Sequence[Rule], fetcher: Fetcher) -> None:
    """``CREDITS.md``: one line per source with its package(s), licence, clips, minutes and note.

    Command line: ``corpus build`` (:mod:`audioclf_lib.corpus.command`)

    Sources in ``rows`` without a rule in ``rules`` (built earlier) get their package and
    licence from the manifest rows.
    """
    by_rule = {r.source: r for r in rules}
    per_source: dict[str, list[dict]] = {}
    for row in rows:
        per_source.setdefault(row["source"], []).append(row)
    lines = [
        "# Credits",
        "",
        "Every clip in this folder was cut unchanged (resampled to 16 kHz mono, at most 10 s) from audio",
        "that a package registry distributes: Debian packages, PyPI distributions and npm packages, named",
        "below with their versions. `manifest.csv` has one row per clip with its original file",
        "(`orig_candidate`: class/source/package/path), segment, original sample rate, licence, package and",
        "registry. The licences (GPL, LGPL, CC-BY, CC-BY-SA, CC0, MIT, BSD and others, as read from each",
        "package's copyright file) require attribution and, for the share-alike ones, that redistributions",
        "keep the same licence: keep this file and the manifest with the audio.",
        "",
        "| class | source | registry | package(s) | licence | clips | minutes | note |",
        "|---|---|---|---|---|---|---|---|",
    ]
    order = sorted(per_source, key=lambda s: (per_source[s][0]["class"], s))
    for source in order:
        clips = per_source[source]
        rule = by_rule.get(source)
        if rule is not None:
            packages = ", ".join(_versions(fetcher, rule.registry, rule.packages))
            registry, licence, note = rule.registry, rule.license, rule.note
        else:
            packages = ", ".join(sorted({r["package"] for r in clips}))
            registry, licence, note = clips[0].get("registry", ""), clips[0].get("license", ""), ""
        minutes = sum(float(r["seg_dur_s"]) for r in clips) / 60
        cells = [clips[0]["class"], source, registry, packages, licence, str(len(clips)), f"{minutes:.1f}", note]
        lines.append("| " + " | ".join(c.replace("|", "/").replace("\n", " ") for c in cells) + " |")
    total_min = sum(float(r["seg_dur_s"]) for r in rows) / 60
    lines += ["", f"{len(rows)} clips, {total_min:.0f} minutes, {len(per_source)} sources.", ""]
    Path(path).write_text("\n".join(lines))

