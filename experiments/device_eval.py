"""The bundled music-vs-noise models through every simulated device preset, on the current corpus' test split.

    AUDIOCLF_DATA=data/cache/corpus/v2 python experiments/device_eval.py
    AUDIOCLF_DATA=data/cache/corpus/v2 python experiments/device_eval.py --models music-noise-robust --devices telephone

Notebook 04 scores the models on the phone, the laptop and a severity sweep; this adds the presets it holds out
(``telephone``, ``webcam``) and the loud-fan laptop, with the same recordings (``LaptopRecipe.record``: the
recipe's device seed), the same windows and the same 95 % bootstrap over test clips. Appends one JSON line per
run to ``experiments/results/device_eval.jsonl`` (``$AUDIOCLF_RESULTS`` elsewhere) and prints the table.
"""
from __future__ import annotations

import argparse
import datetime
import time

import numpy as np
import pandas as pd

from audioclf_lib.cache import load_splits
from audioclf_lib.checkpoint import load_checkpoint
from audioclf_lib.config import data_dir
from audioclf_lib.devices import PRESETS
from audioclf_lib.features import FeatureExtractor
from audioclf_lib.laptop_recipe import LaptopRecipe
from audioclf_lib.metrics import clip_bootstrap_ci
from audioclf_lib.train import evaluate_windows
from audioclf_lib.windows import eval_windows
from common import append_result

MODELS = ("music-noise", "music-noise-laptop", "music-noise-robust")


def score(ckpt, clips, window_samples: int) -> dict:
    windows, table = eval_windows(clips, ckpt.class_names, window_samples)
    _, table = evaluate_windows(ckpt.model, FeatureExtractor(ckpt.feature_config), windows, table, ckpt.class_names)
    correct = (table["pred"] == table["label"]).to_numpy()
    low, high = clip_bootstrap_ci(correct, table["clip"].to_numpy())
    music = (table["class"] == "music").to_numpy()
    return {"accuracy": float(correct.mean()), "ci": [float(low), float(high)],
            "music_recall": float(correct[music].mean()), "noise_recall": float(correct[~music].mean()),
            "windows": int(len(table))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--devices", nargs="+", default=list(PRESETS), choices=list(PRESETS))
    args = parser.parse_args()
    recipe = LaptopRecipe()
    splits = load_splits()
    checkpoints = {name: load_checkpoint(name) for name in args.models}
    window_samples = checkpoints[args.models[0]].feature_config.window_samples
    rows, t0 = [], time.perf_counter()
    for device in args.devices:
        clips = recipe.record(splits["test"], PRESETS[device])
        for model in args.models:
            rows.append({"device": device, "model": model, **score(checkpoints[model], clips, window_samples)})
            print(f"{device:16s} {model:20s} {rows[-1]['accuracy']:.3f} [{rows[-1]['ci'][0]:.3f}, "
                  f"{rows[-1]['ci'][1]:.3f}]", flush=True)
    record = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "corpus": data_dir().name,
              "test_clips": int(np.isin(splits["test"].table["class"], ["music", "noise"]).sum()),
              "seconds": round(time.perf_counter() - t0, 1), "rows": rows}
    path = append_result("device_eval", record, shown={k: v for k, v in record.items() if k != "rows"})
    table = pd.DataFrame(rows).pivot(index="device", columns="model", values="accuracy").mul(100).round(1)
    print(table.to_string())
    print(f"appended to {path}")


if __name__ == "__main__":
    main()
