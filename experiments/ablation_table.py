"""The ablation on source-held-out cross-validation, side by side: one row per variant of ``source_cv.py --variant``.

    python experiments/ablation_table.py            # prints the table and writes results/ablation/table.md

Reads every ``experiments/results/ablation/source_cv_<task>_<variant>_<epochs>x<windows>.json``; rows are grouped by
task and budget (variants are only comparable at the same budget), baseline first. Each score is over the clips of
held-out sources with its 95 % bootstrap interval over clips; "Δ" is the difference to the baseline at the same
budget, with a paired bootstrap interval (the same clips resampled for both), so a difference whose interval
contains 0 is within the noise of which clips were drawn. That interval does not cover the training seed: rows
"(training seed N)" rerun a variant on the same folds with another seed, and the spread between them is the
other half of the noise.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from source_cv import RESULTS, VARIANTS  # noqa: E402

ABLATION = RESULTS / "ablation"


def _scores(y: np.ndarray, y_hat: np.ndarray, classes: list[str]) -> np.ndarray:
    """Balanced accuracy and macro-F1 of label indices."""
    from audioclf_lib.metrics import classification_metrics

    m = classification_metrics(y, y_hat, classes)
    return np.array([m["balanced_accuracy"], m["macro_f1"]])


def paired_delta(base: pd.DataFrame, other: pd.DataFrame, classes: list[str], *, n_boot: int = 1000,
                 seed: int = 0) -> dict[str, tuple[float, float, float]]:
    """``other - base`` for balanced accuracy and macro-F1, with a 95 % interval from resampling the same clips."""
    joined = base.merge(other, on=["clip", "class"], suffixes=("", "_other"))
    k_of = {c: k for k, c in enumerate(classes)}
    y = joined["class"].map(k_of).to_numpy()
    a, b = joined["predicted"].map(k_of).to_numpy(), joined["predicted_other"].map(k_of).to_numpy()
    rng = np.random.default_rng(seed)
    point = _scores(y, b, classes) - _scores(y, a, classes)
    draws = []
    for _ in range(n_boot):
        idx = rng.integers(0, len(y), len(y))
        draws.append(_scores(y[idx], b[idx], classes) - _scores(y[idx], a[idx], classes))
    low, high = np.percentile(np.array(draws), [2.5, 97.5], axis=0)
    return {"balanced_accuracy": (point[0], low[0], high[0]), "macro_f1": (point[1], low[1], high[1])}


def table() -> str:
    runs = [json.loads(p.read_text()) for p in sorted(ABLATION.glob("source_cv_*.json"))]
    if not runs:
        raise SystemExit(f"no ablation results in {ABLATION}: run experiments/source_cv.py --variant NAME first")
    lines = []
    for (task, budget), group in pd.DataFrame(
            [{"task": r["task"], "budget": (r["recipe"]["train_config"]["num_epochs"], r["recipe"]["windows_per_epoch"]),
              "run": r} for r in runs]).groupby(["task", "budget"], sort=True):
        order = sorted(group["run"], key=lambda r: (list(VARIANTS).index(r.get("variant", "baseline")),
                                                     r["recipe"]["train_config"]["seed"]))
        fold_seed = order[0]["recipe"]["fold_seed"]
        base = next((r for r in order if r.get("variant", "baseline") == "baseline"
                     and r["recipe"]["train_config"]["seed"] == fold_seed), None)
        classes = order[0]["classes"]
        lines += [f"### {task}, {budget[0]} epochs × {budget[1]} windows, {len(order[0]['folds'])} source folds", "",
                  "| variant | balanced accuracy [95 % CI] | Δ vs baseline [95 % CI] | macro-F1 [95 % CI] | Δ [95 % CI] | "
                  + " | ".join(f"{c} recall" for c in classes) + " | training min |",
                  "|---|---|---|---|---|" + "---|" * len(classes) + "---|"]
        for r in order:
            s = r["summary"]["clip"]
            train_seed = r["recipe"]["train_config"]["seed"]
            cells = [r.get("variant", "baseline") + (f" (training seed {train_seed})" if train_seed != fold_seed else "")]
            for metric in ("balanced_accuracy", "macro_f1"):
                low, high = s["ci"][metric]
                cells.append(f"{s[metric]:.3f} [{low:.3f}, {high:.3f}]")
                if base is None or r is base:
                    cells.append("")
                else:
                    d, dl, dh = paired_delta(pd.DataFrame(base["predictions"]), pd.DataFrame(r["predictions"]),
                                             classes)[metric]
                    cells.append(f"{d:+.3f} [{dl:+.3f}, {dh:+.3f}]")
            cells += [f"{s['per_class'][c]['recall']:.3f}" for c in classes]
            cells.append(f"{r['training_seconds'] / 60:.0f}")
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    text = table()
    print(text)
    (ABLATION / "table.md").write_text("# Ablation on source-held-out cross-validation\n\n"
                                       "Written by `experiments/ablation_table.py`; see its docstring.\n\n" + text)


if __name__ == "__main__":
    main()
