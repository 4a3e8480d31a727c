"""The notebooks: committed clean (outputs, no errors, no machine paths) and executed for real in QUICK mode."""
import json
import os
import re
import subprocess
import sys

import pytest

from tests.helpers import REPO_ROOT

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SOURCES = sorted((REPO_ROOT / "notebooks" / "src").glob("[0-9][0-9]_*.py"))
MACHINE_PATH = re.compile(r"/(tmp|work|root|home)/[A-Za-z]")


def test_every_source_has_a_committed_notebook():
    assert SOURCES, "no notebook sources"
    assert [p.stem for p in SOURCES] == [p.stem for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebook_is_executed_and_clean(path):
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    with_outputs = sum(bool(c.get("outputs")) for c in code)
    assert with_outputs >= len(code) // 3, f"committed without outputs ({with_outputs} of {len(code)} code cells)"
    errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, f"error outputs: {[e.get('ename') for e in errors]}"
    assert _inline_images(nb), "no inline figure: executed with a non-inline matplotlib backend?"
    match = MACHINE_PATH.search(json.dumps(nb))
    assert not match, f"machine path in outputs: ...{json.dumps(nb)[match.start() - 40: match.end() + 40]}..."
    tagged = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1 and "QUICK" in "".join(tagged[0]["source"])


@pytest.fixture(scope="session")
def quick_env(tmp_path_factory):
    """QUICK runs write caches, figures and checkpoints to a scratch folder, never over the committed ones."""
    scratch = tmp_path_factory.mktemp("quick")
    env = dict(os.environ, QUICK="1", MPLBACKEND="Agg", AUDIOCLF_CACHE=str(scratch / "cache"),
               AUDIOCLF_FIGURES=str(scratch / "figures"), AUDIOCLF_OUTPUTS=str(scratch / "outputs"))
    return env, scratch


@pytest.mark.slow
@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_notebook_executes_in_quick_mode(source, quick_env):
    env, scratch = quick_env
    out = scratch / "notebooks"
    result = subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "run_notebooks.py"), source.stem, "--out", str(out),
                             "--timeout", "900"], env=env, capture_output=True, text=True, timeout=1500)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    nb = json.loads((out / f"{source.stem}.ipynb").read_text())
    assert not [o for c in nb["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert any((scratch / "figures").glob(f"{source.stem[:2]}_*.png")), "the notebook saved no figure"
    assert _inline_images(nb), "the notebook shows no figure inline (MPLBACKEND leaked into the kernel?)"


def _inline_images(nb: dict) -> int:
    return sum("image/png" in o.get("data", {}) for c in nb["cells"] for o in c.get("outputs", []))
