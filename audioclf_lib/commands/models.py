"""list the bundled checkpoints with their classes and metrics"""
from __future__ import annotations

import argparse

__all__ = ["add_arguments", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add the options of ``audioclf models`` to ``p``: ``--json``.

    Command line: audioclf models

    Parameters
    ----------
    p : argparse.ArgumentParser
        The subcommand's parser (:func:`audioclf_lib.cli.build_parser`).
    """
    p.add_argument("--json", action="store_true", help="print JSON records")


def run(args: argparse.Namespace) -> int:
    """Run ``audioclf models`` on the ``args`` that :func:`add_arguments` defines.

    Command line: audioclf models

    Returns
    -------
    int
        Exit status: 0, or 1 when no checkpoint is bundled.
    """
    import pandas as pd

    from ..checkpoint import CheckpointError, bundled_checkpoints, load_checkpoint
    from ..crossval import source_cv_devices, source_cv_result
    from ..models import count_parameters

    # The device-robust recipe is cross-validated through every simulated device (experiments/robust_source_cv.py):
    # its row shows phone recordings, the footnote the devices.
    devices = source_cv_devices("music-noise-robust")
    robust = None if devices is None else devices[devices["model"].str.contains("robust")].set_index("device")

    def held_out(name: str) -> dict:
        # Source-held-out cross-validation of this model's recipe, when the repository holds it: the number
        # users meet, shown first.
        if name == "music-noise-robust" and robust is not None and "phone" in robust.index:
            return {"held-out-source bal.acc": robust.loc["phone", "balanced_accuracy"]}
        result = source_cv_result(name)
        if result is None:
            return {}
        return {"held-out-source bal.acc": result["balanced_accuracy"], "held-out-source macro-F1": result["macro_f1"]}

    rows = []
    for name, path in bundled_checkpoints().items():
        try:
            ckpt = load_checkpoint(path)
        except CheckpointError as exc:
            rows.append({"name": name, "model": f"UNUSABLE: {exc}"})
            continue
        test = ckpt.metrics.get("test", {}).get("window", {})
        clips = ckpt.train_summary.get("clips", {})
        train_clips = sum(n for split in ("train", "val") for n in clips.get(split, {}).values())
        rows.append({"name": name, **held_out(name), "train clips": train_clips or None, "model": ckpt.model_name, "classes": "/".join(ckpt.class_names),
                     "features": ckpt.feature_config.representation + ("+per_freq" if ckpt.feature_config.normalization == "per_freq" else ""),
                     "params": count_parameters(ckpt.model), "MiB": round(path.stat().st_size / 2**20, 2),
                     "test bal.acc": test.get("balanced_accuracy"), "test macro-F1": test.get("macro_f1")})
    if not rows:
        print("no bundled checkpoints: train them with `make release` (notebooks 01-04 on corpus v2)")
        return 1
    table = pd.DataFrame(rows)
    first = ["name"] + [c for c in table.columns if c.startswith("held-out-source")]
    table = table[first + [c for c in table.columns if c not in first]]
    if args.json:
        print(table.to_json(orient="records"))
    else:
        if "train clips" in table:  # counts, not 4610.000
            table["train clips"] = [f"{v:.0f}" if pd.notna(v) else "-" for v in table["train clips"]]
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}", na_rep="-"))
        print("held-out-source: source-grouped cross-validation, every source unseen in training once (the number to "
              "expect on your recordings); test: the in-source test split, whose sources the model trained on; "
              "train clips: training + validation clips of the corpus it was trained on")
        if robust is not None:
            through = ", ".join(f"{d} {robust.loc[d, 'balanced_accuracy']:.3f}" for d in robust.index if d != "phone")
            print(f"music-noise-robust on held-out sources through simulated devices: {through} (notebook 04)")
    return 0
