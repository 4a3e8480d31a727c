"""Turn the percent-format sources in notebooks/src/*.py into notebooks/*.ipynb (no outputs).

Cells start with ``# %%`` (code) or ``# %% [markdown]``; ``# %% tags=["parameters"]`` tags a
cell for papermill. Markdown cells are written as ``# `` comment lines. The .py sources are
what we edit and review; ``scripts/run_notebooks.py`` builds and executes them.

    python scripts/build_notebooks.py [NAME ...]
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "notebooks" / "src"
HEADER = re.compile(r"^# %%(?P<md> \[markdown\])?(?: tags=(?P<tags>\[.*\]))?\s*$")


def parse(text: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
                   "language_info": {"name": "python"}}
    cells: list[tuple[bool, list[str], list[str]]] = []
    for line in text.splitlines():
        m = HEADER.match(line)
        if m:
            cells.append((bool(m.group("md")), json.loads(m.group("tags")) if m.group("tags") else [], []))
        elif cells:
            cells[-1][2].append(line)
    for is_md, tags, lines in cells:
        while lines and not lines[-1].strip():
            lines.pop()
        while lines and not lines[0].strip():
            lines.pop(0)
        if is_md:
            body = "\n".join(l[2:] if l.startswith("# ") else l[1:] if l.startswith("#") else l for l in lines)
            cell = nbformat.v4.new_markdown_cell(body)
        else:
            cell = nbformat.v4.new_code_cell("\n".join(lines))
        if tags:
            cell.metadata["tags"] = tags
        cell.pop("id", None)
        nb.cells.append(cell)
    nb.nbformat_minor = 4  # no cell ids: less churn in diffs
    return nb


def load(name: str) -> nbformat.NotebookNode:
    """The notebook built from its source, in memory."""
    return parse((SRC / f"{name}.py").read_text())


def build(name: str, out_dir: Path = ROOT / "notebooks") -> Path:
    """Write the output-less notebook to ``out_dir`` (the committed, executed one is written by run_notebooks)."""
    out = out_dir / f"{name}.ipynb"
    nbformat.write(load(name), out)
    return out


def main(argv: list[str]) -> None:
    names = argv or sorted(p.stem for p in SRC.glob("[0-9]*.py"))
    for name in names:
        print("built", build(name).relative_to(ROOT), "(no outputs: run scripts/run_notebooks.py to execute)")


if __name__ == "__main__":
    main(sys.argv[1:])
