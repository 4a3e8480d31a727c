"""Every third-party module the library imports is declared, in pyproject.toml and environment.yml alike."""
from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "audioclf_lib"

# Import name -> distribution name, where the two differ (pip name; conda-forge name below).
DISTRIBUTION = {"sklearn": "scikit-learn", "yaml": "pyyaml", "PIL": "pillow", "IPython": "ipython"}
CONDA_NAME = {"torch": "pytorch", "soundfile": "pysoundfile", "soxr": "soxr-python", "sounddevice": "python-sounddevice"}
# Installed with a declared dependency, never imported on their own terms.
COMES_WITH = {"ipython": "ipykernel"}


def _third_party_imports() -> dict[str, set[str]]:
    """Top-level imported module -> library files that import it (stdlib and the package itself left out)."""
    found: dict[str, set[str]] = {}
    for path in LIBRARY.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "audioclf_lib":
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def _requirement_names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\s<>=!~\[;]", r.strip(), maxsplit=1)[0].lower() for r in requirements if r.strip()}


def _pyproject_names() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = _requirement_names(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        names |= _requirement_names(extra)
    return names


def _conda_names() -> set[str]:
    names = set()
    for line in (ROOT / "environment.yml").read_text().splitlines():
        m = re.match(r"\s+- ([A-Za-z0-9_.-]+)\s*[<>=]", line)
        if m:
            names.add(m.group(1).lower())
    return names


def test_every_library_import_is_declared_in_pyproject():
    declared = _pyproject_names()
    missing = {}
    for module, files in _third_party_imports().items():
        dist = DISTRIBUTION.get(module, module).lower()
        if dist not in declared and COMES_WITH.get(dist) not in declared:
            missing[module] = sorted(files)
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"


def test_every_runtime_dependency_is_in_environment_yml():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    conda = _conda_names()
    missing = [n for n in sorted(_requirement_names(project["dependencies"])) if CONDA_NAME.get(n, n) not in conda]
    assert not missing, f"in pyproject.toml but not in environment.yml: {missing}"


def test_environment_yml_uses_conda_forge_only():
    text = (ROOT / "environment.yml").read_text()
    channels = re.search(r"^channels:\n((?:\s+- .*\n)+)", text, re.M).group(1)
    assert [c.split("#")[0].strip(" -") for c in channels.splitlines()] == ["conda-forge"]


def test_package_version_is_the_project_version():
    import audioclf_lib

    assert audioclf_lib.__version__ == tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


DOC_MARKERS = ("Notebook:", "Command line:", "Benchmarks:")


def _exported_definitions(tree: ast.Module) -> list[ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef]:
    """Functions and classes a module defines and exports: those named in a literal ``__all__``; every public one
    where ``__all__`` is missing or built from other lists (a package's ``__init__`` re-exporting its modules)."""
    names = None
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            try:
                names = set(ast.literal_eval(node.value))
            except ValueError:
                names = None
    definitions = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    return [d for d in definitions if (d.name in names if names is not None else not d.name.startswith("_"))]


def test_every_public_function_and_class_names_where_it_is_introduced():
    """STYLE.md: each public docstring says which notebook introduces it (or the command or benchmark that uses it)."""
    missing = []
    for path in sorted(LIBRARY.rglob("*.py")):
        for node in _exported_definitions(ast.parse(path.read_text(), str(path))):
            doc = ast.get_docstring(node) or ""
            if not any(marker in doc for marker in DOC_MARKERS):
                missing.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert not missing, f"docstrings without any of {DOC_MARKERS}:\n" + "\n".join(missing)
