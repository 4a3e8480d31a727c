# %% [markdown]
# # 02 · Training CNNs: the seed's model, a better one, and music / speech / noise
#
# **What you will learn**
# - what the seed project's `SoundClassifier` really is (and which of its published numbers are wrong);
# - how one training loop (class-balanced windows, audio augmentation, early stopping) trains any model here, and
#   why the final model is refit on training + validation data once the recipe is fixed;
# - how to evaluate honestly: first on sources the model never heard (what your recordings are), then on a test
#   split grouped by original recording, with balanced accuracy, per-class scores,
#   a confusion matrix and the clips the model gets most wrong;
# - what accuracy costs in parameters and milliseconds on a CPU.
#
# **Reads** the splits prepared by [01_generate_spectrograms](01_generate_spectrograms.ipynb).
# **Writes** the checkpoints `music-noise-seed`, `music-noise` and `music-speech-noise` (bundled with the package
# after a full run, so the CLI and the live demo work on a fresh clone) and figures `figures/02_*.png`.
#
# **Runtime** on a 2-core CPU: about 10-12 minutes for the full run (the committed run of 2026-12-01 took 545 s on an idle machine);
# QUICK (CI): about 1 minute with far fewer windows and epochs, whose scores mean nothing.

# %% tags=["parameters"]
import os

QUICK = os.environ.get("QUICK", "0") == "1"  # CI-sized run
SEED = 0
NUM_EPOCHS = 2 if QUICK else 30  # upper bound: early stopping picks the best validation epoch (the refit runs all)
WINDOWS_PER_EPOCH = 128 if QUICK else 4096  # random 5-s training windows drawn per epoch
SEED_EPOCHS = 2 if QUICK else 6  # the 5.9 M-parameter seed model is ~4x slower per window on a CPU,
SEED_WINDOWS_PER_EPOCH = 128 if QUICK else 1024  # so it gets a shorter run (it is the reference, not the goal)

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from audioclf_lib import viz
from audioclf_lib.augment import band_limit
from audioclf_lib.cache import load_splits
from audioclf_lib.config import FeatureConfig, run_checkpoints_dir
from audioclf_lib.features import FeatureExtractor, seed_image_via_matplotlib
from audioclf_lib.metrics import per_class_table
from audioclf_lib.models import build_model, count_parameters, weight_bytes
from audioclf_lib.predict import Predictor
from audioclf_lib.runtime import setup_notebook
from audioclf_lib.timing import time_ms
from audioclf_lib.train import TrainConfig, predict_proba, train_classifier, worst_clips

device = setup_notebook(seed=SEED)
splits = load_splits(quick=QUICK)  # stops with "run 01_generate_spectrograms first" if it has not run
out_dir = run_checkpoints_dir(QUICK)
print("device:", device, "| QUICK:", QUICK, "| train/val/test clips:", {k: len(v) for k, v in splits.items()})

# %% [markdown]
# ## 1. The seed's model, checked
# The seed README describes `SoundClassifier`: a 3 × 155 × 154 RGB spectrogram image → two 3 × 3 convolutions (16 and
# 32 filters, each with ReLU and 2 × 2 max-pooling) → a fully connected layer of 128 → 2 outputs. It claims
# "~185k parameters" and a "22.5 MB" weight file. Both cannot hold: 185 k float32 parameters weigh 0.7 MB. Count:

# %%
seed_model = build_model("seed_cnn2d", 2)
rows = [(name, p.numel()) for name, p in seed_model.named_parameters()]
print(pd.DataFrame(rows, columns=["tensor", "parameters"]).to_string(index=False))
n_seed = count_parameters(seed_model)
print(f"total {n_seed:,} parameters = {weight_bytes(seed_model) / 2**20:.1f} MiB of float32 weights "
      f"({n_seed * 4 / 1e6:.1f} MB); the first FC layer alone holds {32 * 38 * 38 * 128 + 128:,}")

# %% [markdown]
# So the **weight file size is right and the parameter count is wrong** by a factor of 32: 99.9 % of the weights sit in the
# first fully connected layer, which looks at every pixel position of the last feature map separately. That layer is why
# the model overfits easily and why its CPU time is dominated by reading 23 MB of weights per window.
#
# ## 2. One recipe for every model
# `train.train_classifier` draws random 5-s windows from the training clips each epoch, balanced over classes and,
# within a class, over its sources (`balance="source"`: one large soundtrack cannot dominate; chosen on source-held-out
# cross-validation, section 7) (short clips joined or wrapped, long ones cropped), augments them on the waveform (gain, random band-limiting of every class against the
# telephone-band trap, background noise at 5–30 dB SNR) and on the spectrogram (SpecAugment masks), computes features with
# the one front end, trains with AdamW and a cosine schedule, and evaluates an exponential moving average of the weights
# (decay 0.99) after every epoch: with random augmented windows the raw weights' validation score swings by several
# points from one epoch to the next, the average's far less. The epoch with the best validation balanced accuracy is
# kept, and the test split is used once, at the end.
#
# Validation does two jobs here: it chose the recipe (docs/experiments.md) and it shows, in each run, how training went.
# Once the recipe is fixed, the 43 validation music clips are better used as training data: the music-vs-noise model the
# project ships is **refit on train + validation** for the recipe's full schedule (section 4b), the standard last step of
# model selection. The test split stays untouched by both.

# %%
train_config = TrainConfig(num_epochs=NUM_EPOCHS, lr=2e-3, patience=10, seed=SEED)
# Each class's windows are shared equally among its sources, then among a source's clips: chosen on
# source-held-out cross-validation of corpus v2 (+2.5 points macro-F1 over sharing among clips, two seeds).
BALANCE = "source"
results = {}

# %% [markdown]
# ## 3. Seed-faithful: `seed_cnn2d` on seed-style RGB images, music vs noise
# The seed rendered 128-band mel-spectrograms with matplotlib into PNG files. Here the same image is built with tensor ops
# (`representation="seed_rgb"`, notebook 01 compared the two). The seed trained with Adam; we use a lower learning rate
# than for the small model because the huge FC layer diverges at 2e-3.

# %%
seed_config = FeatureConfig(representation="seed_rgb", n_mels=128)
results["music-noise-seed"] = train_classifier(
    "seed_cnn2d", ["music", "noise"], seed_config, splits,
    train_config=TrainConfig(num_epochs=SEED_EPOCHS, lr=3e-4, patience=4, seed=SEED), windows_per_epoch=SEED_WINDOWS_PER_EPOCH)

# %% [markdown]
# ## 4. Improved: `mel_cnn` on 1-channel log-mel, music vs noise
# Four 3 × 3 convolution blocks with BatchNorm (16 → 128 channels), a stride-2 first layer, global mean + max pooling and
# dropout: about 98 k parameters, 60× fewer than the seed, and no layer tied to the image size.

# %%
mel_config = FeatureConfig()
validation_run = train_classifier("mel_cnn", ["music", "noise"], mel_config, splits, balance=BALANCE,
                                  train_config=train_config, windows_per_epoch=WINDOWS_PER_EPOCH)

# %% [markdown]
# ### 4b. The final fit: train + validation
# The same recipe (model, front end, augmentation, `NUM_EPOCHS` epochs of `WINDOWS_PER_EPOCH` windows) on the training
# *and* validation clips, keeping the last epoch (`train_classifier(..., refit=True)`): there is no held-out validation
# left to choose an epoch with, and with the weight average and a cosine schedule the last epoch is a stable choice.
# The validation run above cannot pin an epoch down anyway: in the committed run its score peaked at epoch 3 (0.931)
# and then wandered between 0.89 and 0.93 until early stopping ended it at epoch 13, while the same recipe's best epoch
# was 24 of 30 in the sweep of docs/experiments.md; 43 music clips are too few to resolve a point or two. The refit's
# "validation" curve below is in-sample and only shows that training went as planned. This is the `music-noise`
# checkpoint.

# %%
results["music-noise"] = train_classifier("mel_cnn", ["music", "noise"], mel_config, splits, refit=True, balance=BALANCE,
                                          train_config=train_config, windows_per_epoch=WINDOWS_PER_EPOCH)

# %% [markdown]
# ## 5. Three classes: music / speech / noise (the seed's "future work")

# %%
results["music-speech-noise"] = train_classifier("mel_cnn", ["music", "speech", "noise"], mel_config, splits,
                                                 balance=BALANCE, train_config=train_config,
                                                 windows_per_epoch=WINDOWS_PER_EPOCH)

# %% [markdown]
# ## 6. Training curves

# %%
compared = {"music-noise-seed": results["music-noise-seed"], "music-noise, validation run (train only)": validation_run,
            "music-noise (refit: train + val)": results["music-noise"], "music-speech-noise": results["music-speech-noise"]}


def two_lines(name: str) -> str:
    return name.replace(" (", "\n(").replace(", ", ",\n")


fig, axes = plt.subplots(1, 4, figsize=(18, 3.4))
for ax, (name, r) in zip(axes, compared.items()):
    viz.plot_history(r.history, ax=ax, title=two_lines(name))
fig.tight_layout()
viz.save_fig(fig, "02_training_curves");

# %% [markdown]
# ## 7. Results: first on sources never heard, then on the test split
# The test split is grouped by original recording, but the same game soundtracks, voice packs and ambience
# collections sit on both sides of it. Your recordings come from elsewhere, so the number to expect is the
# **source-held-out** one: `experiments/source_cv.py` trains this notebook's recipe five times, each time with a fifth
# of the *sources* held out entirely (`audioclf_lib.crossval`), and decides every clip of the held-out sources. That
# takes about an hour on a 2-core CPU, so it is not rerun here: the table loads its committed results
# (`experiments/results/source_cv_<model>.json`, with the run's date and budget) beside this run's in-source score.

# %%
from audioclf_lib.crossval import source_cv_result

headline = []
for name in ("music-noise", "music-speech-noise"):
    cv = source_cv_result(name)
    if cv is None:
        print(f"{name}: no source-held-out run in experiments/results (python experiments/source_cv.py --task {name})")
        continue
    in_source = results[name].metrics["clip"]
    headline.append({
        "model": name,
        "source-held-out bal. acc.": cv["balanced_accuracy"],
        "95 % interval": "{:.3f}-{:.3f}".format(*cv["balanced_accuracy_ci"]),
        "source-held-out macro-F1": cv["macro_f1"],
        "recall per class (held-out)": ", ".join(f"{c} {v:.2f}" for c, v in cv["recall"].items()),
        "in-source test bal. acc. (this run, clips)": in_source["balanced_accuracy"],
        "CV run": f"{cv['date']}, {cv['folds']} folds, {cv['n_sources']} sources, {cv['epochs']} × {cv['windows_per_epoch']} windows",
    })
pd.DataFrame(headline).round(3)

# %% [markdown]
# The in-source scores below are higher than the held-out ones: the model has heard other clips of the same sources.
# Scores are per 5-s window of the test split (no original recording of it was seen in training or validation);
# "clip" scores average the windows of each file, which is what `audioclf evaluate` reports.

# %%
def latency_ms(r) -> float:
    """End-to-end CPU time for one 5-s window at 16 kHz (front end + model), one thread."""
    fe, model = FeatureExtractor(r.feature_config), r.model.eval()
    w = torch.randn(1, r.feature_config.window_samples) * 0.1
    return time_ms(lambda: model(fe(w)), repeat=30)["median_ms"]


table = pd.DataFrame([{
    "model": name, "architecture": r.name, "classes": "/".join(r.class_names),
    "accuracy": r.metrics["window"]["accuracy"], "balanced accuracy": r.metrics["window"]["balanced_accuracy"],
    "macro-F1": r.metrics["window"]["macro_f1"], "clip bal. acc.": r.metrics["clip"]["balanced_accuracy"],
    "test windows": r.metrics["window"]["n"], "parameters": count_parameters(r.model),
    "weights MiB": weight_bytes(r.model) / 2**20, "CPU ms / 5-s window": latency_ms(r),
} for name, r in compared.items()])
window = np.random.default_rng(0).standard_normal(16_000 * 5).astype(np.float32) * 0.1
seed_pipeline_ms = time_ms(lambda: seed_model(torch.from_numpy(seed_image_via_matplotlib(window, 16_000))[None]),
                           repeat=5, warmup=1)["median_ms"]
print(f"the seed's own pipeline (matplotlib PNG + resize + CNN): {seed_pipeline_ms:.0f} ms per window")
table.round(4)

# %%
fig, axes = plt.subplots(1, 4, figsize=(16, 3.6))
for ax, (name, r) in zip(axes, compared.items()):
    viz.plot_confusion(r.metrics["window"]["confusion"], r.class_names, ax=ax, title=two_lines(name))
fig.tight_layout()
viz.save_fig(fig, "02_confusion_matrices");

# %%
per_class = pd.concat({name: per_class_table(r.metrics["window"]) for name, r in compared.items()})
per_class.round(3)

# %% [markdown]
# ### The clips each model gets most wrong
# Listening to these is the fastest way to learn what a model does not know (and sometimes what is mislabelled: labels
# come from the source, and a few ambient clips carry faint voices or music).

# %%
worst = pd.concat({name: worst_clips(r.test_table, r.class_names, n=6) for name, r in compared.items()
                   if name != "music-noise-seed"})
worst.assign(path=worst["path"].str.slice(0, 70)).round(3)

# %% [markdown]
# ## 8. Does the 3-class model hear bandwidth instead of content?
# Half the public speech is telephone band. If the model had learned "nothing above 4 kHz = speech", band-limited music
# and noise would flip to speech. Test windows of every class, low-passed at 3.4 kHz (the telephone band):

# %%
r3 = results["music-speech-noise"]
from audioclf_lib.cache import eval_set

test_windows, test_rows, _ = eval_set(splits["test"], "test", r3.feature_config, r3.class_names, with_features=False)
narrow = np.stack([band_limit(w, 16_000, 3_400.0) for w in test_windows])
probs = predict_proba(r3.model, narrow, extractor=FeatureExtractor(r3.feature_config))
band_table = pd.DataFrame({"class": test_rows["class"], "correct full band": r3.test_table["pred"] == test_rows["label"],
                           "correct at 3.4 kHz": probs.argmax(1) == test_rows["label"].to_numpy()})
band_table.groupby("class")[["correct full band", "correct at 3.4 kHz"]].mean().round(3)

# %% [markdown]
# ## 9. Save the checkpoints
# Each checkpoint carries the model name and arguments, the class names, the feature config (checked on load: a model
# never gets features it was not trained on), a summary of its training data and its test metrics. A full run writes
# them into the package (`audioclf_lib/checkpoints/`), where `python -m audioclf_lib models` lists them.

# %%
for name, r in results.items():
    path = r.save(out_dir / f"{name}.pt")
    print(f"{name}: {path.name} ({path.stat().st_size / 2**20:.2f} MiB)")

predictor = Predictor(out_dir / "music-speech-noise.pt", device="cpu")
for cls in ("music", "speech", "noise"):
    row = r3.test_table[r3.test_table["class"] == cls].iloc[0]
    clip = splits["test"].clip(int(row["clip"]))
    p = predictor.predict(clip, 16_000)
    print(f"{cls:>6} test clip {row['path'][:60]}… -> {p.label} ({p.confidence:.0%}) in {p.latency_ms:.1f} ms")

# %% [markdown]
# ## Summary
# - The seed's CNN has 5.9 M parameters (its README says ~185 k); its 22.6 MiB weight file is almost entirely one
#   fully connected layer.
# - A 98 k-parameter BatchNorm CNN on 1-channel log-mel is smaller, faster and more accurate on the same split.
# - **On sources never heard** (section 7's first table, source-grouped cross-validation): the number to expect on
#   your own recordings, several points below the in-source test split, with noise the weakest class.
# - One recipe trains all three; results of the full reference run are in the table of section 7 (the committed
#   notebook shows them; QUICK runs train for seconds and their numbers mean nothing). In the committed run:
#   seed-faithful 87.5 %; `mel_cnn` music vs noise 93.5 % balanced accuracy in the validation run (train only, stopped
#   early at epoch 13) and **97.1 %** after the refit on train + validation (the project's target is 97 %: met, 5 of 169
#   test windows wrong; two more refits with seeds 0 and 1 in docs/experiments.md gave the same 97.1 %);
#   music / speech / noise 96.1 % macro-F1 (target 93 %: met).
# - The music-vs-noise errors are the same few clips in every variant we tried (slow ambient game music called noise,
#   a siren called music). More epochs with the weight average helped on both validation and test; more mel
#   bands, per-frequency normalisation, a wider network and a longer FFT did better on validation and worse on test
#   or the reverse ([docs/experiments.md](../docs/experiments.md)). With 43 music clips per held-out split, a few
#   tracks decide such rankings, so the recipe was chosen on validation and not tuned to the test split; the 43
#   validation clips then went into the final fit, which is where the last points came from.
# - Checkpoints carry their feature config, so the CLI (`python -m audioclf_lib classify --model music-speech-noise FILE`)
#   and the live demo use exactly what was trained.
#
# **Previous:** [01_generate_spectrograms](01_generate_spectrograms.ipynb) · **Next:** [03_train_3d_cnn](03_train_3d_cnn.ipynb)
