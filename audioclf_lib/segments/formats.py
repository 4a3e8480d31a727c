"""Segment tables to and from the files people open them in: CSV, JSON lines, Audacity labels,
Praat TextGrid and RTTM.

Notebook: 05_live_demo.ipynb

A segment table has the columns ``start``, ``end`` (seconds), ``label`` and ``confidence``
(:data:`audioclf_lib.segments.SEGMENT_COLUMNS`). What each format keeps:

============  ====================  =================================================================
format        suffix                keeps
============  ====================  =================================================================
``csv``       ``.csv``              every column, full float precision
``jsonl``     ``.jsonl``            every column, full float precision; one JSON object per line
``audacity``  ``.txt``              ``start<TAB>end<TAB>label``, 6 decimals (what Audacity exports)
``textgrid``  ``.TextGrid``         one IntervalTier over ``0..duration``; gaps become empty intervals
``rttm``      ``.rttm``             ``SPEAKER`` lines, 3 decimals; silence left out (RTTM marks activity)
============  ====================  =================================================================

Readers give the same columns back (``confidence`` is NaN where the format has none). Files are
written atomically: to a temporary file in the same folder, then renamed over the target, so an
interrupted run never leaves a half-written file under the real name.
"""
from __future__ import annotations

import io
import json
import math
import os
import re
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from ..audio import AUDIO_EXTENSIONS
from .merge import check_segments
from .policy import SEGMENT_COLUMNS

__all__ = [
    "FORMATS",
    "SUFFIXES",
    "format_for_path",
    "rttm_file_id",
    "atomic_write_text",
    "format_segments",
    "parse_segments",
    "write_segments",
    "read_segments",
]

#: Output formats, in the order ``--format`` lists them.
FORMATS = ("csv", "jsonl", "audacity", "textgrid", "rttm")
#: File suffix per format (one output file per input names it ``<stem><suffix>``).
SUFFIXES = {"csv": ".csv", "jsonl": ".jsonl", "audacity": ".txt", "textgrid": ".TextGrid", "rttm": ".rttm"}


def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"format={fmt!r}; expected one of {FORMATS}")
    return fmt


def format_for_path(path: str | Path) -> str:
    """The format a file name asks for, from its suffix (case-insensitive; ``.lab`` is Audacity too).

    Command line: audioclf classify -o, audioclf evaluate-segments
    """
    suffix = Path(path).suffix.lower()
    by_suffix = {s.lower(): f for f, s in SUFFIXES.items()} | {".lab": "audacity"}
    if suffix not in by_suffix:
        raise ValueError(f"cannot tell the format of {str(path)!r} from its suffix {suffix!r}; "
                         f"use one of {sorted(by_suffix)} or give the format")
    return by_suffix[suffix]


def rttm_file_id(source: str | Path) -> str:
    """RTTM file id for an audio file: its name without an audio extension, whitespace runs as ``_``.

    Command line: audioclf classify --format rttm

    RTTM fields are separated by whitespace, so an id (``"my talk.wav"`` -> ``"my_talk"``) may not
    contain any; other characters, dots included (``"take.2.flac"`` -> ``"take.2"``), stay.
    """
    name = Path(str(source)).name
    if Path(name).suffix.lower() in AUDIO_EXTENSIONS:
        name = Path(name).stem
    file_id = re.sub(r"\s+", "_", name.strip())
    if not file_id:
        raise ValueError(f"no RTTM file id can be made from {str(source)!r}")
    return file_id


def atomic_write_text(path: str | Path, text: str, *, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` all at once: a temporary file in the same folder, renamed over ``path``.

    Command line: audioclf classify -o (an interrupted batch never leaves half a file)

    The folder is created when missing. On any error (or Ctrl-C) the temporary file is removed and
    an existing ``path`` keeps its old content.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    # os.open with 0o666 lets the umask decide the mode, like a plain open() would (mkstemp gives 0600).
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())  # the data is on disk before the name points at it
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


# -- writers -----------------------------------------------------------------------------------------


def _rows(segments: pd.DataFrame):
    check_segments(segments)
    confidence = segments["confidence"] if "confidence" in segments.columns else pd.Series(np.nan, index=segments.index)
    return zip(segments["start"].astype(float), segments["end"].astype(float), segments["label"].astype(str),
               confidence.astype(float))


def _check_text_label(label: str, fmt: str, forbidden: str) -> str:
    if any(ch in forbidden for ch in label):
        raise ValueError(f"label {label!r} cannot be written as {fmt}: it contains whitespace the format splits on")
    return label


def _ordered(segments: pd.DataFrame) -> pd.DataFrame:
    columns = [c for c in SEGMENT_COLUMNS if c in segments.columns]
    return segments[columns + [c for c in segments.columns if c not in columns]]


def _csv_text(segments: pd.DataFrame) -> str:
    check_segments(segments)
    buffer = io.StringIO()
    _ordered(segments).to_csv(buffer, index=False, lineterminator="\n")  # str(float): exact round trip
    return buffer.getvalue()


def _json_value(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)  # JSON has no NaN
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _jsonl_text(segments: pd.DataFrame) -> str:
    check_segments(segments)
    table = _ordered(segments)
    lines = [json.dumps({k: _json_value(v) for k, v in zip(table.columns, row)}, ensure_ascii=False)
             for row in table.itertuples(index=False, name=None)]
    return "".join(line + "\n" for line in lines)


def _audacity_text(segments: pd.DataFrame) -> str:
    lines = []
    for start, end, label, _ in _rows(segments):
        start_text, end_text = f"{start:.6f}", f"{end:.6f}"
        if start_text == end_text:
            continue  # shorter than the format's microsecond: a point label would mean something else
        lines.append(f"{start_text}\t{end_text}\t{_check_text_label(label, 'Audacity labels', chr(9) + chr(10) + chr(13))}\n")
    return "".join(lines)


def _praat_string(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _praat_number(x: float) -> str:
    return repr(float(x)) if x != int(x) else str(int(x))  # shortest exact form, "10" not "10.0"


def _textgrid_text(segments: pd.DataFrame, *, tier_name: str, duration_s: float | None) -> str:
    rows = list(_rows(segments))
    end_all = max([end for _, end, _, _ in rows], default=0.0)
    xmax = end_all if duration_s is None else float(duration_s)
    if not xmax > 0:
        raise ValueError(f"a TextGrid needs a positive duration; got duration_s={duration_s!r} and no segments")
    check_segments(segments, duration_s=xmax)
    intervals: list[tuple[float, float, str]] = []
    t = 0.0
    for start, end, label, _ in rows:
        if start > t + 1e-9:  # Praat's tiers have no holes: an empty interval fills each gap
            intervals.append((t, start, ""))
        intervals.append((max(start, t), end, label))
        t = end
    if t < xmax - 1e-9:
        intervals.append((t, xmax, ""))
    out = [
        'File type = "ooTextFile"',
        'Object class = "TextGrid"',
        "",
        "xmin = 0 ",
        f"xmax = {_praat_number(xmax)} ",
        "tiers? <exists> ",
        "size = 1 ",
        "item []: ",
        "    item [1]:",
        '        class = "IntervalTier" ',
        f"        name = {_praat_string(tier_name)} ",
        "        xmin = 0 ",
        f"        xmax = {_praat_number(xmax)} ",
        f"        intervals: size = {len(intervals)} ",
    ]
    for k, (start, end, label) in enumerate(intervals, 1):
        out += [
            f"        intervals [{k}]:",
            f"            xmin = {_praat_number(start)} ",
            f"            xmax = {_praat_number(end)} ",
            f"            text = {_praat_string(label)} ",
        ]
    return "\n".join(out) + "\n"


def _rttm_text(segments: pd.DataFrame, *, file_id: str, include_silence: bool, silence_label: str) -> str:
    if not file_id or re.search(r"\s", file_id):
        raise ValueError(f"RTTM file_id={file_id!r} must be non-empty without whitespace (see rttm_file_id)")
    lines = []
    for start, end, label, _ in _rows(segments):
        if label == silence_label and not include_silence:
            continue
        # Round the boundaries, then take the difference, so neighbours still meet exactly.
        start_ms, end_ms = round(start * 1000), round(end * 1000)
        if end_ms <= start_ms:
            continue
        label = _check_text_label(label, "RTTM", " \t\n\r\f\v")
        lines.append(f"SPEAKER {file_id} 1 {start_ms / 1000:.3f} {(end_ms - start_ms) / 1000:.3f} "
                     f"<NA> <NA> {label} <NA> <NA>\n")
    return "".join(lines)


def format_segments(segments: pd.DataFrame, fmt: str, *, tier_name: str = "labels", duration_s: float | None = None,
                    file_id: str = "audio", include_silence: bool = False, silence_label: str = "silence") -> str:
    """A segment table as the text of one file in format ``fmt``.

    Notebook: 05_live_demo.ipynb

    Parameters
    ----------
    segments : pd.DataFrame
        ``start``, ``end``, ``label`` (and ``confidence``); sorted, no overlaps. Extra columns are
        kept by ``csv`` and ``jsonl`` only.
    fmt : {'csv', 'jsonl', 'audacity', 'textgrid', 'rttm'}
    tier_name : str
        TextGrid: name of the IntervalTier (e.g. the model's name).
    duration_s : float or None
        TextGrid: end of the tier (default: the last segment's end).
    file_id : str
        RTTM: the file id field (:func:`rttm_file_id` makes one from a file name).
    include_silence : bool
        RTTM: also write ``silence_label`` segments (RTTM usually lists only what is active).
    silence_label : str

    Returns
    -------
    str
        The file's text, ``\\n`` line ends.
    """
    fmt = _check_format(fmt)
    if fmt == "csv":
        return _csv_text(segments)
    if fmt == "jsonl":
        return _jsonl_text(segments)
    if fmt == "audacity":
        return _audacity_text(segments)
    if fmt == "textgrid":
        return _textgrid_text(segments, tier_name=tier_name, duration_s=duration_s)
    return _rttm_text(segments, file_id=file_id, include_silence=include_silence, silence_label=silence_label)


def write_segments(segments: pd.DataFrame, path: str | Path, fmt: str | None = None, **options) -> Path:
    """Write a segment table to ``path`` atomically; ``fmt`` defaults to the one the suffix names.

    Notebook: 05_live_demo.ipynb

    ``options`` go to :func:`format_segments`. Returns ``path``.
    """
    fmt = format_for_path(path) if fmt is None else _check_format(fmt)
    return atomic_write_text(path, format_segments(segments, fmt, **options))


# -- readers -----------------------------------------------------------------------------------------


def _table(rows: list[tuple[float, float, str, float]]) -> pd.DataFrame:
    table = pd.DataFrame(rows, columns=list(SEGMENT_COLUMNS))
    table = table.astype({"start": np.float64, "end": np.float64, "confidence": np.float64})
    table["label"] = table["label"].astype(object)
    return table


def _read_csv(text: str) -> pd.DataFrame:
    # Labels are text even when they look like "NA" or "null"; only a missing confidence is NaN.
    table = pd.read_csv(io.StringIO(text), keep_default_na=False, na_values={"confidence": [""]},
                        dtype={"label": str})
    if "confidence" not in table.columns:
        table["confidence"] = np.nan
    return table


def _read_jsonl(text: str) -> pd.DataFrame:
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"line {number} is not JSON: {exc.msg}") from None
    table = pd.DataFrame.from_records(records, columns=None if records else list(SEGMENT_COLUMNS))
    if "confidence" not in table.columns:
        table["confidence"] = np.nan
    return table.astype({"confidence": np.float64})


def _read_audacity(text: str) -> pd.DataFrame:
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("\\"):  # "\" lines hold spectral labels' frequencies
            continue
        fields = line.split("\t")
        if len(fields) < 2:
            raise ValueError(f"line {number} is not an Audacity label (start<TAB>end<TAB>label): {line!r}")
        rows.append((float(fields[0]), float(fields[1]), fields[2] if len(fields) > 2 else "", np.nan))
    return _table(rows)


# A string (quotes doubled inside), a long-format index such as "[1]" (skipped), a flag, a number.
_PRAAT_TOKEN = re.compile(r'"((?:[^"]|"")*)"|(\[\s*\d*\s*\])|(<exists>|<absent>)|([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)')


def _read_textgrid(text: str, *, tier_name: str | None = None) -> pd.DataFrame:
    # The long and the short text format are the same stream of strings, numbers and the <exists>
    # flag once the long format's "[1]" indices are skipped (scanned left to right, so a "[1]" or
    # a digit inside a label stays part of its string).
    tokens = []
    for string, index, flag, number in _PRAAT_TOKEN.findall(text):
        if index:
            continue
        tokens.append(flag if flag else float(number) if number else string.replace('""', '"'))
    if len(tokens) < 5 or tokens[0] not in ("ooTextFile", "ooTextFile short") or tokens[1] != "TextGrid":
        raise ValueError("not a Praat TextGrid in text format (File type = \"ooTextFile\", Object class = \"TextGrid\")")
    pos = 5  # "ooTextFile" "TextGrid" xmin xmax <exists>
    if tokens[4] != "<exists>":
        return _table([])
    n_tiers, pos = int(tokens[pos]), pos + 1
    found = []
    for _ in range(n_tiers):
        kind, name, n = tokens[pos], tokens[pos + 1], int(tokens[pos + 4])
        pos += 5
        width = 3 if kind == "IntervalTier" else 2  # TextTier: (time, mark) points
        items = tokens[pos : pos + width * n]
        pos += width * n
        if kind == "IntervalTier":
            found.append(name)
            if tier_name is None or name == tier_name:
                rows = [(items[k], items[k + 1], items[k + 2], np.nan) for k in range(0, len(items), 3)
                        if str(items[k + 2]).strip()]  # empty intervals are gaps, not labels
                return _table(rows)
    raise ValueError(f"no IntervalTier named {tier_name!r} in the TextGrid (interval tiers: {found})")


def _read_rttm(text: str, *, file_id: str | None = None, duration_s: float | None = None,
               silence_label: str = "silence") -> pd.DataFrame:
    rows, ids = [], set()
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields or fields[0] != "SPEAKER":
            continue  # comments (;;) and other record types (SPKR-INFO, ...) carry no segments
        if len(fields) < 8:
            raise ValueError(f"line {number}: a SPEAKER line needs at least 8 fields: {line!r}")
        ids.add(fields[1])
        if file_id is None or fields[1] == file_id:
            start, duration = float(fields[3]), float(fields[4])
            rows.append((start, start + duration, fields[7], np.nan))
    if file_id is None and len(ids) > 1:
        raise ValueError(f"the RTTM holds several files {sorted(ids)}: choose one with file_id")
    rows.sort()
    if duration_s is not None:  # what RTTM leaves out is silence: put it back to tile the file
        filled, t = [], 0.0
        for row in rows:
            if row[0] > t + 1e-6:
                filled.append((t, row[0], silence_label, np.nan))
            filled.append(row)
            t = max(t, row[1])
        if t < duration_s - 1e-6:
            filled.append((t, float(duration_s), silence_label, np.nan))
        rows = filled
    return _table(rows)


def parse_segments(text: str, fmt: str, *, tier_name: str | None = None, file_id: str | None = None,
                   duration_s: float | None = None, silence_label: str = "silence") -> pd.DataFrame:
    """Read a segment table from the text of a file in format ``fmt``.

    Notebook: 05_live_demo.ipynb

    Parameters
    ----------
    text : str
    fmt : {'csv', 'jsonl', 'audacity', 'textgrid', 'rttm'}
    tier_name : str or None
        TextGrid: the IntervalTier to read (default: the first). Empty intervals are left out.
    file_id : str or None
        RTTM: the file whose lines to read (needed when there are several).
    duration_s : float or None
        RTTM: fill the time not covered by any line with ``silence_label`` up to ``duration_s``.
    silence_label : str

    Returns
    -------
    pd.DataFrame
        ``start``, ``end``, ``label``, ``confidence`` (NaN where the format keeps none), plus any
        extra columns of a csv / jsonl file.
    """
    fmt = _check_format(fmt)
    if fmt == "csv":
        table = _read_csv(text)
    elif fmt == "jsonl":
        table = _read_jsonl(text)
    elif fmt == "audacity":
        table = _read_audacity(text)
    elif fmt == "textgrid":
        table = _read_textgrid(text, tier_name=tier_name)
    else:
        table = _read_rttm(text, file_id=file_id, duration_s=duration_s, silence_label=silence_label)
    return check_segments(table)


def read_segments(path: str | Path, fmt: str | None = None, **options) -> pd.DataFrame:
    """Read a segment file; ``fmt`` defaults to the one the suffix names. ``options``: :func:`parse_segments`.

    Notebook: 05_live_demo.ipynb

    TextGrids that Praat saved as UTF-16 (it does when a label is not ASCII) are read too.
    """
    fmt = format_for_path(path) if fmt is None else _check_format(fmt)
    raw = Path(path).read_bytes()
    text = raw.decode("utf-16") if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else raw.decode("utf-8-sig")
    return parse_segments(text, fmt, **options)
