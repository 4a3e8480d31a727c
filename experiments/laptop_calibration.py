"""Calibrate the simulated laptop's severity against the seed's one real observation, on validation only.

    python experiments/laptop_calibration.py [--train-only-base] 0.6 0.7 0.8 0.9 1.0

The seed fine-tuned its phone model for its real laptop with the body frozen (lr 1e-4, 20 epochs, 50/50 phone and
laptop data, "50+" laptop clips) and reached 92.4 % on the laptop: the laptop had shifted the audio, but the
information was still there for a linear head on the phone model's features. For each severity ``s`` (the
``devices.severity_profile`` path through the loud-fan laptop, ``devices.LAPTOP_LOUD_FAN``), this script runs exactly
that recipe (notebook 04's settings: 50 clips, 20 x 512 windows) from the bundled ``music-noise`` model and reports,
on the **validation** split only: the phone model's laptop accuracy before, and the seed recipe's laptop and phone
accuracy after. The test split is never touched. Results are appended to experiments/results/laptop_calibration.jsonl
(docs/experiments.md, "Calibrating the laptop").

The bundled ``music-noise`` is refit on train + val, so it has heard the validation clips: its validation scores are
optimistic. ``--train-only-base`` uses notebook 02's validation run instead (the same recipe on the training
clips only, best validation epoch; trained once, ~3 min, and cached by ``LaptopRecipe.train_only_base``), for which the
validation split is truly held out, and calibrates with it.
"""
from __future__ import annotations

import sys
import time

from audioclf_lib.cache import load_splits
from audioclf_lib.devices import LAPTOP_LOUD_FAN, PHONE, severity_profile
from audioclf_lib.features import FeatureExtractor
from audioclf_lib.finetune import finetune_for_device
from audioclf_lib.laptop_recipe import join_windows
from audioclf_lib.train import evaluate_windows
from common import CLASSES, RECIPE, append_result, phone_model, usage


def main(severities: list[float], *, use_train_only_base: bool = False) -> None:
    splits = load_splits(quick=False)
    if use_train_only_base:  # notebook 02's validation run: its recipe, training clips only, best validation epoch
        base, config = RECIPE.train_only_base(splits)
    else:
        ckpt = phone_model()
        base, config = ckpt.model.eval(), ckpt.feature_config
    extractor, n = FeatureExtractor(config), config.window_samples
    phone_train = RECIPE.record(splits["train"], PHONE)
    phone_val, phone_val_table = RECIPE.recorded_windows(splits["val"], PHONE, n)

    def accuracy(model, windows, table) -> float:
        return evaluate_windows(model, extractor, windows, table, CLASSES)[0]["window"]["accuracy"]

    for s in severities:
        t0 = time.perf_counter()
        profile = severity_profile(LAPTOP_LOUD_FAN, s)
        laptop_val, laptop_val_table = RECIPE.recorded_windows(splits["val"], profile, n)
        laptop_clips = RECIPE.record(RECIPE.select(splits["train"], RECIPE.ft_clips), profile)
        val_w, val_l = join_windows((phone_val, phone_val_table), (laptop_val, laptop_val_table))
        # the seed's recipe: frozen body, lr 1e-4
        tuned, _ = finetune_for_device(base, extractor, phone_train, laptop_clips, val_w, val_l, CLASSES, seed=RECIPE.seed,
                                       **RECIPE.finetune_settings(train_body=False))
        result = {"base": "train only" if use_train_only_base else "music-noise (refit)", "severity": s, "snr_db": profile.snr_db, "before_laptop": accuracy(base, laptop_val, laptop_val_table),
                  "before_phone": accuracy(base, phone_val, phone_val_table),
                  "seed_recipe_laptop": accuracy(tuned, laptop_val, laptop_val_table),
                  "seed_recipe_phone": accuracy(tuned, phone_val, phone_val_table), "seconds": time.perf_counter() - t0}
        append_result("laptop_calibration", result)


if __name__ == "__main__":
    flag, args = "--train-only-base", usage(__doc__, sys.argv[1:], min_args=1)
    main([float(a) for a in args if a != flag], use_train_only_base=flag in args)
