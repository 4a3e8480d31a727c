"""Build and execute the notebooks in order, saving them with clean outputs.

    python scripts/run_notebooks.py                 # all, full reference run, outputs committed
    QUICK=1 python scripts/run_notebooks.py 01 02   # CI-sized run of some
    python scripts/run_notebooks.py --out /tmp/nb    # write executed copies (and their figures) elsewhere
    python scripts/run_notebooks.py 02 --markdown-only  # wording fixes only: outputs kept, code must match

Each notebook runs with its folder as working directory and fails the run on the first
error. Outputs are normalised: no execution counts or timings, and the repository's
absolute path replaced, so committed notebooks carry no machine paths.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_notebooks import ROOT, SRC, load  # noqa: E402

MACHINE_PATH = re.compile(r"(/(?:tmp|work|root|home)/[^\s'\"]*)")


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop volatile metadata and machine paths from an executed notebook."""
    root = str(ROOT)
    for i, cell in enumerate(nb.cells):
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        cell.execution_count = None
        for out in cell.get("outputs", []):
            if out.get("output_type") == "execute_result":
                out["execution_count"] = None
            if "text" in out:
                out["text"] = MACHINE_PATH.sub("<path>", out["text"].replace(root, "<repo>"))
            for key in ("text/plain", "text/html", "text/markdown"):
                if key in out.get("data", {}):
                    text = out["data"][key]
                    text = "".join(text) if isinstance(text, list) else text
                    out["data"][key] = MACHINE_PATH.sub("<path>", text.replace(root, "<repo>"))
    nb.metadata.pop("papermill", None)
    return nb


def run(name: str, out_dir: Path, timeout: int) -> float:
    """Execute notebook ``name`` (built from its source in memory, run in notebooks/) and write it to ``out_dir``."""
    nb = load(name)
    t0 = time.perf_counter()
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT / "notebooks")}}, store_widget_state=True)
    try:
        client.execute()
    finally:
        out_dir.mkdir(parents=True, exist_ok=True)
        nbformat.write(clean(nb), out_dir / f"{name}.ipynb")
    return time.perf_counter() - t0


def sync_markdown(name: str, out_dir: Path) -> None:
    """Copy the Markdown cells of the source into the executed notebook, outputs untouched.

    For wording fixes after a long run (results text, runtimes). Refuses when any code cell
    differs from the source: then the outputs would not be what the code produces.
    """
    fresh, path = load(name), out_dir / f"{name}.ipynb"
    executed = nbformat.read(path, as_version=4)
    kinds = [(c.cell_type, c.source if c.cell_type == "code" else None) for c in fresh.cells]
    if kinds != [(c.cell_type, c.source if c.cell_type == "code" else None) for c in executed.cells]:
        raise SystemExit(f"{name}: code cells changed since the run; execute it again instead of --markdown-only")
    for new, old in zip(fresh.cells, executed.cells):
        if new.cell_type == "markdown":
            old.source = new.source
    nbformat.write(executed, path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="notebook numbers or names (default: all, in order)")
    parser.add_argument("--out", type=Path, default=ROOT / "notebooks", help="where executed notebooks are written")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    parser.add_argument("--markdown-only", action="store_true",
                        help="update only the Markdown of already executed notebooks (code cells must be unchanged)")
    args = parser.parse_args()
    args.out = args.out.resolve()  # the kernels run in notebooks/: relative paths handed to them would move
    available = sorted(p.stem for p in SRC.glob("[0-9]*.py"))
    names = [n for n in available if not args.names or any(n.startswith(a) for a in args.names)]
    if not names:
        parser.error(f"no notebook matches {args.names}; available: {available}")
    quick = os.environ.get("QUICK", "0")
    # A backend forced from outside (MPLBACKEND=Agg, as the test script sets) would replace the
    # kernel's inline backend, and the notebooks would be saved without their figures.
    os.environ.pop("MPLBACKEND", None)
    if args.out.resolve() != (ROOT / "notebooks").resolve():
        # Copies written elsewhere (QUICK runs) keep their figures there too, not over figures/.
        os.environ.setdefault("AUDIOCLF_FIGURES", str(args.out / "figures"))
    for name in names:
        if args.markdown_only:
            sync_markdown(name, args.out)
            print(f"{name}: Markdown updated")
            continue
        print(f"running {name} (QUICK={quick}) ...", flush=True)
        seconds = run(name, args.out, args.timeout)
        print(f"  done in {seconds:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
