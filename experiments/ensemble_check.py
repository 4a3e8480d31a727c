"""Do notebook 04's bundled models, averaged, reach the fine-tuning target? A diagnostic, nothing is bundled from it.

    python experiments/ensemble_check.py

Scores the phone model (``music-noise``), the fine-tuned ``music-noise-laptop``, ``music-noise-robust`` and the means
of their class probabilities on notebook 04's validation and test recordings (phone, laptop, loud fan, and the two
devices nobody trained on). Window accuracy, as the notebook reports it; the table is printed (docs/experiments.md,
"Ten times the recordings, averaged models", records it).
"""
from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from audioclf_lib.cache import load_splits
from audioclf_lib.checkpoint import load_checkpoint
from audioclf_lib.devices import LAPTOP, LAPTOP_LOUD_FAN, PHONE, PRESETS
from audioclf_lib.features import FeatureExtractor
from audioclf_lib.train import predict_proba
from common import CLASSES, RECIPE, usage

MODELS = ["music-noise", "music-noise-laptop", "music-noise-robust"]
ENSEMBLES = {"laptop + robust": ["music-noise-laptop", "music-noise-robust"],
             "phone + robust": ["music-noise", "music-noise-robust"], "all three": MODELS}
CONDITIONS = {"phone": PHONE, "laptop": LAPTOP, "loud fan": LAPTOP_LOUD_FAN, "telephone": PRESETS["telephone"],
              "webcam": PRESETS["webcam"]}


def main() -> None:
    splits = load_splits(quick=False)
    checkpoints = {name: load_checkpoint(name, expected_classes=CLASSES)  # the bundled ones
                   for name in MODELS}
    window_samples = checkpoints["music-noise"].feature_config.window_samples
    rows = []
    for split in ["val", "test"]:
        for condition, profile in CONDITIONS.items():
            windows, table = RECIPE.recorded_windows(splits[split], profile, window_samples)
            labels = table["label"].to_numpy()
            probs = {name: predict_proba(c.model.eval(), windows, extractor=FeatureExtractor(c.feature_config))
                     for name, c in checkpoints.items()}
            probs.update({name: np.mean([probs[m] for m in members], axis=0) for name, members in ENSEMBLES.items()})
            rows.append({"split": split, "condition": condition,
                         **{name: float(np.mean(p.argmax(1) == labels)) for name, p in probs.items()}})
    print(pd.DataFrame(rows).round(3).to_string(index=False))


if __name__ == "__main__":
    usage(__doc__, sys.argv[1:])
    main()
