"""How well can this architecture do on the simulated laptop if it knows the laptop from the start?

    python experiments/laptop_oracle.py [tag] [key=value ...]

Trains ``mel_cnn`` from scratch with notebook 02's recipe (EMA of weights, lr 2e-3, 30 x 4,096 windows by default)
on the training split where each window goes through a device preset (``device``, default ``laptop_loud_fan``) with
probability ``p_laptop`` (fresh fan noise and hum every window), picks the epoch on phone + device validation windows,
and scores the test split through PHONE and the device exactly as notebook 04 records them. No fine-tuning budget limits it: every training clip is heard
through the laptop many times, so its laptop score is an upper bound for what fine-tuning with a few laptop clips can
reach. Keys: ``device``, ``p_laptop``, ``wpe``, ``normalization``, any TrainConfig field. Appends a JSON line to
experiments/results/laptop_oracle.jsonl (docs/experiments.md, "The loud-fan laptop's ceiling").
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import numpy as np

from audioclf_lib.cache import load_splits
from audioclf_lib.config import FeatureConfig
from audioclf_lib.devices import PHONE, DeviceProfile, get_profile, simulate
from audioclf_lib.features import FeatureExtractor
from audioclf_lib.models import build_model
from audioclf_lib.runtime import seed_everything
from audioclf_lib.train import TrainConfig, evaluate_windows, fit
from audioclf_lib.windows import TrainWindows
from common import CLASSES, RECIPE, append_result, parse_options, usage


@dataclass(frozen=True)
class ThroughLaptop:
    """A training-window transform: with probability ``p``, record the window through ``profile`` (fresh noise)."""

    profile: DeviceProfile
    sr: int
    p: float

    def __call__(self, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return simulate(y, self.sr, self.profile, rng) if rng.random() < self.p else y


def main(argv: list[str]) -> None:
    tag = argv[0] if argv else "oracle"
    options = parse_options(argv[1:])
    profile = get_profile(options.pop("device", "laptop_loud_fan"))
    p_laptop = options.pop("p_laptop", 0.5)
    wpe = options.pop("wpe", 4096)
    config = FeatureConfig(normalization=options.pop("normalization", "max_db"))
    train_config = TrainConfig(**{"num_epochs": 30, "lr": 2e-3, "patience": 30, **options})
    splits = load_splits(quick=False)
    sr, n = config.sample_rate, config.window_samples

    (pv, pvt), (lv, lvt) = RECIPE.recorded_windows(splits["val"], PHONE, n), RECIPE.recorded_windows(splits["val"], profile, n)
    seed_everything(train_config.seed)
    model = build_model("mel_cnn", len(CLASSES))
    extractor = FeatureExtractor(config)
    train_set = TrainWindows(splits["train"], CLASSES, n, windows_per_epoch=wpe, transform=ThroughLaptop(profile, sr, p_laptop),
                             seed=train_config.seed)
    t0 = time.perf_counter()
    history = fit(model, extractor, train_set, np.concatenate([pv, lv]),
                  np.concatenate([pvt["label"], lvt["label"]]), config=train_config, progress=False)
    model.eval()
    print(history[["epoch", "train_loss", "val_bal_acc", "val_loss", "seconds"]].round(3).to_string())
    scores = {}
    for name, profile in [("phone", PHONE), (profile.name, profile)]:
        windows, table = RECIPE.recorded_windows(splits["test"], profile, n)
        metrics, _ = evaluate_windows(model, extractor, windows, table, CLASSES)
        scores[name] = metrics["window"]["accuracy"]
    result = {"tag": tag, "device": profile.name, "args": argv[1:], "best_epoch": int(history["val_bal_acc"].idxmax()) + 1,
              "val": float(history["val_bal_acc"].max()), **scores, "minutes": (time.perf_counter() - t0) / 60}
    append_result("laptop_oracle", result)


if __name__ == "__main__":
    main(usage(__doc__, sys.argv[1:]))
