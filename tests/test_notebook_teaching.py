"""The committed notebooks teach: players to listen, background boxes, exercises with hidden solutions, short
summaries linking the series, lean outputs, and prose whose numbers are the run's.

Conventions (what the notebook sources follow, `notebooks/src/*.py`):

- a player is an HTML output with an ``<audio`` element (``viz.audio_players``);
- a background box is a blockquote in a Markdown cell whose first line starts ``> **Background:``;
- an exercise is a Markdown cell with a ``### Exercise`` heading and its solution in ``<details>``;
- the summary is the Markdown cell headed ``## Summary``: under 200 words, links to the previous and next notebook;
- every percentage in the Markdown (``97.1 %``) is printed by a code cell of the same notebook (as ``97.1`` or
  as the fraction ``0.971``), unless the cell is marked ``<!-- cited -->``: its numbers are not this run's
  measurements (the seed's claims, a worked example in a background box).

``AUDIOCLF_NOTEBOOKS`` points the checks at another folder (e.g. a QUICK run's), where the numbers check is
skipped: QUICK numbers mean nothing.
"""
from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO_ROOT

FOLDER = Path(os.environ.get("AUDIOCLF_NOTEBOOKS", REPO_ROOT / "notebooks"))
COMMITTED = FOLDER.resolve() == (REPO_ROOT / "notebooks").resolve()
NAMES = sorted(p.stem for p in (REPO_ROOT / "notebooks" / "src").glob("[0-9][0-9]_*.py"))
WITH_PLAYERS = [n for n in NAMES if n[:2] in ("01", "02", "04")]
MAX_BYTES = 900 * 1024
PERCENT = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s?%")


def load(name: str) -> dict:
    return json.loads((FOLDER / f"{name}.ipynb").read_text())


def markdown(nb: dict) -> list[str]:
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]


def output_texts(nb: dict) -> list[str]:
    texts = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            if "text" in out:
                texts.append("".join(out["text"]))
            for key in ("text/plain", "text/html", "text/markdown"):
                value = out.get("data", {}).get(key)
                if value:
                    texts.append("".join(value) if isinstance(value, list) else value)
    return texts


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_lean(name):
    path = FOLDER / f"{name}.ipynb"
    assert path.stat().st_size < MAX_BYTES, f"{path.name}: {path.stat().st_size / 1024:.0f} KB"
    nb = load(name)
    # no progress bars (tqdm's are ipywidgets): one summary line per model instead; other widgets (notebook 04's
    # recorder, notebook 05's live UI) are what the notebooks are about
    state = nb.get("metadata", {}).get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    assert not tqdm_bars(state.get("state", {})), "tqdm progress bars committed"


def tqdm_bars(models: dict) -> list[str]:
    """The ids of tqdm's notebook bars in a widget state: an HBox of exactly (HTML, progress, HTML)."""
    name = {k: m.get("model_name") for k, m in models.items()}
    bars = []
    for key, model in models.items():
        children = [c.removeprefix("IPY_MODEL_") for c in model.get("state", {}).get("children", [])]
        if name[key] == "HBoxModel" and [name.get(c) for c in children] in (
                ["HTMLModel", "FloatProgressModel", "HTMLModel"], ["HTMLModel", "IntProgressModel", "HTMLModel"]):
            bars.append(key)
    return bars


def test_tqdm_bars_are_told_from_other_progress_widgets():
    import ipywidgets as widgets
    from tqdm.notebook import tqdm

    bar = tqdm(total=3, disable=False)
    recorder_like = widgets.VBox([widgets.Button(description="Record"), widgets.FloatProgress()])
    models = {k: {"model_name": v["model_name"], "state": v["state"]} for k, v in
              widgets.Widget.get_manager_state(drop_defaults=False)["state"].items()}
    assert tqdm_bars(models) == [bar.container.model_id]
    bar.close()
    recorder_like.close()


@pytest.mark.parametrize("name", WITH_PLAYERS)
def test_notebook_lets_you_listen(name):
    players = sum(text.count("<audio") for text in output_texts(load(name)))
    assert players >= 3, f"{players} audio players"


@pytest.mark.parametrize("name", NAMES)
def test_notebook_has_exercises_with_hidden_solutions(name):
    exercises = [m for m in markdown(load(name)) if "### Exercise" in m]
    assert len(exercises) >= 2
    for text in exercises:
        assert "<details>" in text and "<summary>" in text and "</details>" in text, text[:80]


@pytest.mark.parametrize("name", [n for n in NAMES if n[:2] != "05"])
def test_notebook_explains_the_background(name):
    boxes = [m for m in markdown(load(name)) if any(line.startswith("> **Background:") for line in m.splitlines())]
    assert boxes, "no background box"


@pytest.mark.parametrize("name", NAMES)
def test_summary_is_short_and_links_the_series(name):
    summaries = [m for m in markdown(load(name)) if m.lstrip().startswith("## Summary")]
    assert len(summaries) == 1
    text = summaries[0]
    words = len(re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text).split())
    assert words <= 200, f"{words} words"
    index = NAMES.index(name)
    for neighbour in (NAMES[index - 1] if index else None, NAMES[index + 1] if index + 1 < len(NAMES) else None):
        if neighbour:
            assert f"({neighbour}.ipynb)" in text, f"no link to {neighbour}"


@pytest.mark.skipif(not COMMITTED, reason="numbers of a QUICK run mean nothing")
@pytest.mark.parametrize("name", NAMES)
def test_numbers_in_the_text_are_the_runs(name):
    nb = load(name)
    printed = "\n".join(output_texts(nb))
    missing = []
    for text in markdown(nb):
        if "<!-- cited -->" in text:
            continue
        for number in PERCENT.findall(text):
            fraction = f"{float(number) / 100:.{max(len(number.split('.')[-1]) + 2 if '.' in number else 2, 2)}f}"
            if not re.search(rf"(?<![\d.]){re.escape(number)}(?!\d)", printed) and fraction not in printed:
                missing.append(f"{number} %")
    assert not missing, f"percentages in the text that no output prints: {missing}"


def test_numbers_check_finds_a_number_that_is_not_printed(tmp_path, monkeypatch):
    """The check above can fail: a made-up percentage in the text is reported."""
    nb = {"cells": [{"cell_type": "markdown", "source": ["accuracy 97.1 % and 12 %"]},
                    {"cell_type": "code", "source": [], "outputs": [{"output_type": "stream", "text": ["acc 0.971\n"]}]}]}
    (tmp_path / "99_x.ipynb").write_text(json.dumps(nb))
    monkeypatch.setattr(sys.modules[__name__], "FOLDER", tmp_path)
    with pytest.raises(AssertionError, match=r"\['12 %'\]"):
        test_numbers_in_the_text_are_the_runs("99_x")
