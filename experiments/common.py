"""What the experiments share: notebook 04's recipe (from the library), where results go, small helpers.

Run a script from anywhere as ``python experiments/<name>.py ...``: Python puts this folder on the import path, so
``from common import ...`` works, and every path here resolves from the repository root, never from the working
directory. The recipe itself (settings, recordings, fine-tuning data, device-robust training, the train-only base)
is :class:`audioclf_lib.laptop_recipe.LaptopRecipe` and :mod:`audioclf_lib.finetune`, which notebook 04 uses too, so
an experiment's seed-0 run reproduces the notebook's.
"""
from __future__ import annotations

import ast
import copy
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from audioclf_lib.checkpoint import Checkpoint, load_checkpoint
from audioclf_lib.config import REPO_ROOT
from audioclf_lib.laptop_recipe import LaptopRecipe, train_only_base_path

#: Notebook 04's full-run recipe.
RECIPE = LaptopRecipe()
CLASSES = RECIPE.classes
#: Where results are appended, one JSON line per run: ``$AUDIOCLF_RESULTS`` or ``experiments/results``.
RESULTS = Path(os.environ.get("AUDIOCLF_RESULTS") or REPO_ROOT / "experiments" / "results")
#: Models an experiment trains once and reuses (never bundled): ``<cache>/dev``.
DEV_CACHE = train_only_base_path().parent


def usage(doc: str, argv: Sequence[str], *, min_args: int = 0) -> list[str]:
    """The script's arguments; ``-h``/``--help`` prints its docstring and exits, too few arguments exit with status 2."""
    if "-h" in argv or "--help" in argv:
        print(doc.strip())
        raise SystemExit(0)
    if len(argv) < min_args:
        print(doc.strip(), file=sys.stderr)
        raise SystemExit(2)
    return list(argv)


def parse_value(text: str):
    """A ``key=value`` argument's value: a Python literal (``0.5``, ``(1, 2)``, ``True``), or the text itself."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_options(args: Sequence[str]) -> dict:
    """``["lr=1e-3", "keep=last"]`` -> ``{"lr": 0.001, "keep": "last"}``; a bad argument exits with status 2."""
    bad = [a for a in args if "=" not in a]
    if bad:
        raise SystemExit(f"expected key=value arguments, got {bad}")
    return {k: parse_value(v) for k, v in (a.split("=", 1) for a in args)}


def phone_model() -> Checkpoint:
    """The bundled phone-trained ``music-noise`` (notebook 02), the base every notebook-04 recipe starts from."""
    return load_checkpoint("music-noise", expected_classes=CLASSES)  # the bundled one, not a notebook run's


def append_result(name: str, result: dict, *, shown: dict | None = None) -> Path:
    """Print ``shown`` (default: ``result``) as one JSON line and append ``result`` to ``RESULTS/<name>.jsonl``."""
    print(json.dumps(result if shown is None else shown), flush=True)
    path = RESULTS / f"{name}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        f.write(json.dumps(result) + "\n")
    return path


def cached_model(path: Path, base: torch.nn.Module, train: Callable[[], torch.nn.Module]) -> torch.nn.Module:
    """The model ``train()`` returns, trained once: its weights are cached at ``path`` and loaded into a copy of
    ``base`` (same architecture) on later runs; eval mode."""
    path = Path(path)
    if path.exists():
        model = copy.deepcopy(base)
        model.load_state_dict(torch.load(path))
        return model.eval()
    model = train()
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)
    return model.eval()
