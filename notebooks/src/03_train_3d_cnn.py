# %% [markdown]
# # 03 · The 3-D CNN for music vs speech: why the seed got 50 %, and a version that works
#
# **What you will learn**
# - what the seed-003 representation is: a magma-coloured mel-spectrogram split into 10 intensity layers, a
#   4 × 10 × H × W tensor for a 3-D CNN, and what it costs;
# - the seed's 3-D CNN rebuilt in PyTorch, and why its parameter count is right;
# - six suspects for the seed's 50 % test accuracy, each put to a small experiment instead of being asserted;
# - a small, fast 3-D CNN on the same representation that works on held-out recordings;
# - an ablation on the same split: 3-D CNN on binned colour layers vs 2-D CNN on the colour image vs 2-D CNN on plain
#   log-mel, with accuracy, parameters and CPU milliseconds, and what the extra dimension buys;
# - a check that the model hears content, not bandwidth.
#
# **Reads** the splits prepared by [01_generate_spectrograms](01_generate_spectrograms.ipynb).
# **Writes** the checkpoint `music-speech-3d` (bundled with the package after a full run, so
# `python -m audioclf_lib classify --model music-speech-3d FILE` and `evaluate` work on a fresh clone) and figures
# `figures/03_*.png`.
#
# **Runtime** on a 2-core CPU, one torch thread: about 2 minutes for the full run (22 training runs; the committed run of
# 2026-12-01 took 99 s on an idle machine, up to 6 minutes when other jobs share the cores); QUICK (CI): under 1 minute with a handful of windows
# per run, whose scores mean nothing.

# %% tags=["parameters"]
import os

QUICK = os.environ.get("QUICK", "0") == "1"  # CI-sized run: a handful of windows per experiment
SEED = 0
THREADS = 1  # torch threads: on a shared 2-core machine one thread is faster than two (see the CPU notes)
CLASSES = ["music", "speech"]
IMAGE_SIZE = (64, 64)  # colour image (mel rows x time columns) before binning: one window's 3-D input is 4 x 10 x 64 x 64
N_BINS = 10  # intensity layers, as in the seed
NUM_EPOCHS = 2 if QUICK else 8  # working version and ablation; early stopping keeps the best validation epoch
WINDOWS_PER_EPOCH = 96 if QUICK else 512  # random 5-s training windows per epoch
DIAG_IMAGE_SIZE = (8, 16)  # diagnosis experiments: tiny images so one run takes seconds
DIAG_POOL = 128 if QUICK else 1024  # random training windows binned once for all diagnosis runs
DIAG_EPOCHS = 2 if QUICK else 6
DIAG_WINDOWS = 64 if QUICK else 256  # per epoch (8 steps of 32 in the full run)
DIAG_SEEDS = (0,) if QUICK else (0, 1)  # two training seeds show how much runs differ by chance

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import Dataset

from audioclf_lib import viz
from audioclf_lib.augment import band_limit
from audioclf_lib.cache import eval_set, load_splits
from audioclf_lib.checkpoint import load_checkpoint
from audioclf_lib.config import FeatureConfig, run_checkpoints_dir
from audioclf_lib.data import ClipSet
from audioclf_lib.features import FeatureExtractor, colormap_lut
from audioclf_lib.metrics import classification_metrics, per_class_table
from audioclf_lib.models import build_model, count_parameters, weight_bytes
from audioclf_lib.predict import Predictor
from audioclf_lib.runtime import seed_everything, setup_notebook
from audioclf_lib.timing import time_ms
from audioclf_lib.train import TrainConfig, fit, predict_proba, train_classifier, worst_clips
from audioclf_lib.windows import TrainWindows, eval_windows

device = setup_notebook(seed=SEED, threads=THREADS)
splits = load_splits(quick=QUICK)  # stops with "run 01_generate_spectrograms first" if it has not run
out_dir = run_checkpoints_dir(QUICK)
t_start = time.perf_counter()
print("device:", device, "| threads:", torch.get_num_threads(), "| QUICK:", QUICK)
pd.DataFrame({name: clips.table["class"].value_counts() for name, clips in splits.items()}).loc[CLASSES]

# %% [markdown]
# Music clips are up to 10 s, speech clips 1–3 s (words and prompts); the models see 5-s windows, short clips joined with
# other clips of the same class or wrapped (notebook 01). The split is grouped by original recording.
#
# ## 1. The seed's representation, rebuilt with tensor ops
# The seed (README in `shared/seeds/music_vs_speech_3dcnn_README.md`) turned a mel-spectrogram in dB, scaled to [0, 1],
# into a magma-coloured RGBA image and put every pixel into one of 10 layers by its intensity: layer *k* keeps the
# pixels with intensity in [k/10, (k+1)/10) and is zero elsewhere. Its input was 10 × 128 × 1292 × 4 for a 30-s clip
# (channels last, TensorFlow); ours is `(B, 4, 10, H, W)` for a 5-s window, with the colour image resized to
# `IMAGE_SIZE`. `FeatureConfig(representation="binned3d")` builds it inside the one front end:

# %%
config3d = FeatureConfig(representation="binned3d", image_size=IMAGE_SIZE, n_bins=N_BINS)
extractor3d = FeatureExtractor(config3d)
test_windows, test_table, _ = eval_set(splits["test"], "test", config3d, CLASSES, with_features=False)
examples = {cls: int(np.flatnonzero(test_table["class"].to_numpy() == cls)[len(test_table[test_table["class"] == cls]) // 2])
            for cls in CLASSES}
x = extractor3d(torch.from_numpy(test_windows[list(examples.values())]))  # (2, 4, 10, 64, 64)
lut = colormap_lut(config3d.colormap)
print("input per window:", tuple(x.shape[1:]), "=", f"{x[0].numel():,} values",
      f"({x[0].numel() / (config3d.n_mels * config3d.n_frames):.1f}x the 64 x 313 log-mel)")
print("share of non-zero values:", f"{(x != 0).float().mean().item():.3f}")
print("alpha channel of the magma colormap takes the values", lut[:, 3].unique().tolist())
print("pixels per layer (music, speech):", [x[i, 3].sum(dim=(-2, -1)).int().tolist() for i in range(2)])

# %% [markdown]
# Each pixel is non-zero in exactly one layer, so 90 % of the tensor is zeros. Magma's alpha is 1 everywhere: in the
# plain colour image the 4th channel is a constant, and after binning it becomes the *mask* of each layer. Below, each
# layer is drawn with its own colours on white (empty = white); the first column is the colour image, which is the sum
# of the layers.

# %%
fig, axes = plt.subplots(2, N_BINS + 1, figsize=(17, 3.8))
for row, (cls, k) in enumerate(examples.items()):
    layers = x[row].permute(1, 2, 3, 0).numpy()  # (D, H, W, 4): RGBA per layer, alpha = "pixel is in this layer"
    axes[row, 0].imshow(layers.sum(axis=0)[..., :3], aspect="auto")
    axes[row, 0].set_title(f"{cls}: colour image", fontsize=8)
    axes[row, 0].set_ylabel(test_table["source"].iloc[k], fontsize=7)
    for d in range(N_BINS):
        ax = axes[row, d + 1]
        ax.imshow(layers[d], aspect="auto")
        ax.set_title(f"bin {d}: {d / N_BINS:.1f}–{(d + 1) / N_BINS:.1f} · {layers[d, ..., 3].mean():.0%}", fontsize=7)
for ax in axes.flat:
    ax.set_xticks([])
    ax.set_yticks([])
fig.suptitle("seed-003 input: one 5-s test window per class, 10 intensity layers (percent of pixels in each)", fontsize=9)
fig.tight_layout()
viz.save_fig(fig, "03_binned_layers");

# %% [markdown]
# In the full run's example, speech (a short word, wrapped to 5 s) puts over a third of its pixels in the lowest layer
# (the pauses) and its loud pixels in short vertical stacks of harmonics; music keeps most pixels in the middle layers,
# dense and continuous. The difference is real, but every layer only says "the grey level lies in this range": binning
# re-expresses the grey image, it adds nothing to it.
#
# ## 2. The seed's network
# Three Conv3D blocks (32/64/128 filters, 3 × 3 × 3, BatchNorm, MaxPool3D, Dropout), global average pooling and Dense
# 256 → 128 → 2. The README says 347,234 parameters. PyTorch counts the trainable ones; Keras also counts BatchNorm's
# moving mean and variance:

# %%
seed3d = build_model("seed_cnn3d", 2)
n_trainable = count_parameters(seed3d)
n_moving = sum(m.running_mean.numel() + m.running_var.numel() for m in seed3d.modules() if isinstance(m, nn.BatchNorm3d))
print(f"{n_trainable:,} trainable + {n_moving} BatchNorm moving statistics = {n_trainable + n_moving:,} (seed README: 347,234)")
seed_input = (4, N_BINS, 128, 216)  # the seed's layout for a 5-s window: 128 mel bands, 216 frames at 22.05 kHz / hop 512
seed_ms = time_ms(lambda: seed3d.eval()(torch.zeros(1, *seed_input)), repeat=3, warmup=1)["median_ms"]
print(f"one forward pass on the seed's input size {seed_input}: {seed_ms:.0f} ms on one CPU thread")

# %% [markdown]
# The count is right (unlike seed 000's, notebook 02). The network is small; its input is not: one 5-s window at the
# seed's resolution is 1.1 M values and takes the time above on one thread. All experiments below use far smaller images.
#
# ## 3. Why the seed failed: six suspects, one small experiment each
# The seed reported validation accuracy stuck at 47.37 % (9 of 19) and 50 % test accuracy with the model predicting only
# "music": exactly what a model that outputs one class for everything scores. The suspects: input scaling, the 4th RGBA
# channel, class collapse, the learning rate, tiny data (89 training clips of 30 s used whole), and splits that are not
# grouped.
#
# Every experiment trains the seed's own network (`seed_cnn3d`, 347 k parameters) with the project's training loop
# (`train.fit`: AdamW, cosine schedule, best validation epoch kept) for `DIAG_EPOCHS` epochs of `DIAG_WINDOWS` windows
# (batches of 32), changing one thing against a baseline, and reports the validation balanced accuracy and the share
# of validation windows called "music" (the true share is 0.41; 0 or 1 means collapse). To make each run take seconds,
# the inputs are tiny (`DIAG_IMAGE_SIZE`, 10 bins) and computed once: a pool of random 5-s training windows without
# augmentation, binned up front, from which each epoch draws its windows. Two training seeds per experiment show how
# much runs differ by chance.

# %%
diag_config = FeatureConfig(representation="binned3d", image_size=DIAG_IMAGE_SIZE, n_bins=N_BINS)
diag_extractor = FeatureExtractor(diag_config)


def binned(windows: np.ndarray) -> torch.Tensor:
    """Binned features of waveform windows, 8 at a time (small batches are several times faster on this CPU)."""
    with torch.inference_mode():
        return torch.cat([diag_extractor(torch.as_tensor(windows[i : i + 8])) for i in range(0, len(windows), 8)])


def random_windows(clips: ClipSet, n: int, seed: int = SEED) -> tuple[torch.Tensor, np.ndarray]:
    """``n`` class-balanced random 5-s windows of ``clips`` (no augmentation), binned, and their labels."""
    source = TrainWindows(clips, CLASSES, diag_config.window_samples, windows_per_epoch=n, augment=None, seed=seed)
    items = [source[i] for i in range(n)]
    return binned(np.stack([w.numpy() for w, _ in items])), np.array([label for _, label in items])


class FeaturePool(Dataset):
    """Precomputed inputs; each epoch draws ``windows_per_epoch`` of them at random (with replacement if the pool is smaller)."""

    def __init__(self, X: torch.Tensor, y: np.ndarray, *, windows_per_epoch: int, seed: int):
        self.X, self.y, self.class_names = X, y, CLASSES
        self.windows_per_epoch, self.seed = windows_per_epoch, seed
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        rng = np.random.default_rng((self.seed, epoch))
        self.order = rng.choice(len(self.y), self.windows_per_epoch, replace=self.windows_per_epoch > len(self.y))

    def __len__(self) -> int:
        return self.windows_per_epoch

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        k = int(self.order[i])
        return self.X[k], int(self.y[k])


class Tweak(nn.Module):
    """What an experiment changes in the input: a scale factor and/or a subset of the RGBA channels."""

    def __init__(self, *, scale: float = 1.0, channels: list[int] | None = None):
        super().__init__()
        self.scale, self.channels = scale, channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x * self.scale  # (B, 4, D, H, W)
        return x if self.channels is None else x[:, self.channels]


t0 = time.perf_counter()
val_windows, val_table, _ = eval_set(splits["val"], "val", diag_config, CLASSES, with_features=False)
val_x, val_labels = binned(val_windows), val_table["label"].to_numpy()
pool_x, pool_y = random_windows(splits["train"], DIAG_POOL)
print(f"pool {tuple(pool_x.shape)} and {len(val_x)} validation windows binned in {time.perf_counter() - t0:.0f} s")

# %%
diag: dict[str, dict] = {}


def experiment(name: str, *, pool: tuple[torch.Tensor, np.ndarray] | None = None, tweak: Tweak | None = None,
               lr: float = 1e-3, bn_momentum: float | None = None) -> None:
    """Train the seed's 3-D CNN once per seed in DIAG_SEEDS with one thing changed; keep scores and curves."""
    X, y = pool if pool is not None else (pool_x, pool_y)
    tweak = tweak if tweak is not None else Tweak()
    runs = []
    for seed in DIAG_SEEDS:
        seed_everything(seed)
        model = build_model("seed_cnn3d", 2, in_channels=tweak(val_x[:1]).shape[1])
        for m in model.modules():
            if bn_momentum is not None and isinstance(m, nn.BatchNorm3d):
                m.momentum = bn_momentum
        t0 = time.perf_counter()
        history = fit(model, tweak, FeaturePool(X, y, windows_per_epoch=DIAG_WINDOWS, seed=seed), val_x, val_labels,
                      config=TrainConfig(num_epochs=DIAG_EPOCHS, lr=lr, patience=DIAG_EPOCHS, spec_augment=False, seed=seed),
                      progress=False)
        pred = predict_proba(model, val_x, extractor=tweak).argmax(1)
        runs.append({"model": model, "history": history, "seconds": time.perf_counter() - t0, "called music": (pred == 0).mean(),
                     "val bal. acc.": classification_metrics(val_labels, pred, CLASSES)["balanced_accuracy"]})
    diag[name] = {"runs": runs, "tweak": tweak}


experiment("baseline: RGBA in [0, 1], lr 1e-3")

# %% [markdown]
# ### Suspect 1: input scaling
# The seed scaled dB to [0, 1] before the colormap. A common slip is to feed 8-bit pixel values (0–255) instead.

# %%
experiment("input scaled to 0-255", tweak=Tweak(scale=255.0))

# %% [markdown]
# ### Suspect 2: the 4th RGBA channel
# Alpha is constant in the colour image; after binning it is the layer mask. Train on RGB only (the darkest layers'
# colours are nearly black, so those layers almost vanish) and on alpha only (the bare mask: 1 channel instead of 4).

# %%
experiment("RGB only (alpha dropped)", tweak=Tweak(channels=[0, 1, 2]))
experiment("alpha only (the layer mask)", tweak=Tweak(channels=[3]))

# %% [markdown]
# ### Suspects 3 and 4: class collapse and the learning rate
# A network that outputs one class for every input has not learned yet, or has been pushed into a dead state. Two ways
# there: a learning rate too small or too large for the number of steps, and BatchNorm's moving statistics. Keras
# updates them with momentum 0.99 (PyTorch's `momentum=0.01`), so after a few dozen steps the statistics used at test
# time are still close to their initial values, not to those the network was trained with.

# %%
experiment("learning rate 1e-2", lr=1e-2)
experiment("learning rate 1e-4", lr=1e-4)
experiment("Keras BatchNorm momentum (0.99)", bn_momentum=0.01)

# %% [markdown]
# ### Suspect 5: tiny data, clips used whole
# The seed trained on 89 clips, each one example (its whole 30-s spectrogram). Here: 89 training clips (44 music, 45
# speech), (a) one fixed 5-s example per clip, the same 89 examples drawn again and again, and (b) random 5-s windows
# of the same clips (a pool of `DIAG_POOL // 2` different crops). Both get the same number of training steps as the
# baseline, which draws from all training clips.

# %%
def subset(clips: ClipSet, n_per_class: dict[str, int], seed: int = SEED) -> ClipSet:
    """A ClipSet with ``n_per_class[c]`` random clips of each class."""
    rng = np.random.default_rng(seed)
    classes = clips.table["class"].to_numpy()
    idx = np.sort(np.concatenate([rng.choice(np.flatnonzero(classes == c), min(n, int((classes == c).sum())), replace=False)
                                  for c, n in n_per_class.items()]))
    return clips.take(idx)


tiny = subset(splits["train"], {"music": 44, "speech": 45})
tiny_windows, tiny_table = eval_windows(tiny, CLASSES, diag_config.window_samples)
first = ~tiny_table["clip"].duplicated().to_numpy()  # each clip's first window: one fixed example per clip
experiment(f"{len(tiny)} clips, one fixed example each", pool=(binned(tiny_windows[first]), tiny_table["label"].to_numpy()[first]))
experiment(f"{len(tiny)} clips, random windows", pool=random_windows(tiny, DIAG_POOL // 2))

# %% [markdown]
# ### Suspect 6: splits that are not grouped
# When windows are cut first and split second, windows of one recording land in training *and* validation. The baseline
# models, scored on windows of the clips they were trained on (what such a split validates on) and on held-out clips:

# %%
train_windows, train_table = eval_windows(splits["train"], CLASSES, diag_config.window_samples)
train_x = binned(train_windows)
for k, run in enumerate(diag["baseline: RGBA in [0, 1], lr 1e-3"]["runs"]):
    seen = classification_metrics(train_table["label"].to_numpy(), predict_proba(run["model"], train_x).argmax(1), CLASSES)
    print(f"baseline, seed {DIAG_SEEDS[k]}: windows of its training clips {seen['balanced_accuracy']:.3f} "
          f"({seen['n']} windows) vs held-out validation clips {run['val bal. acc.']:.3f} ({len(val_x)} windows)")

# %% [markdown]
# ### All experiments
# Validation balanced accuracy per seed, their mean, the share of windows called "music" and the training accuracy of
# the last epoch; then the validation curves against optimizer steps.

# %%
steps_per_epoch = DIAG_WINDOWS // 32
rows = []
for name, d in diag.items():
    row = {"experiment": name}
    for seed, run in zip(DIAG_SEEDS, d["runs"]):
        row[f"val bal. acc. (seed {seed})"] = run["val bal. acc."]
    row["mean"] = np.mean([run["val bal. acc."] for run in d["runs"]])
    row["mean, last epoch"] = np.mean([run["history"]["val_bal_acc"].iloc[-1] for run in d["runs"]])
    # optimizer steps before validation first leaves the one-class plateau (balanced accuracy > 0.55), worst seed
    row["steps at one class"] = max(int((run["history"]["val_bal_acc"].cummax() <= 0.55).sum()) * steps_per_epoch
                                    for run in d["runs"])
    row["called music"] = np.mean([run["called music"] for run in d["runs"]])
    row["train acc."] = np.mean([run["history"]["train_acc"].iloc[-1] for run in d["runs"]])
    row["seconds"] = sum(run["seconds"] for run in d["runs"])
    rows.append(row)
diag_table = pd.DataFrame(rows).set_index("experiment")
print(f"{sum(len(d['runs']) for d in diag.values())} runs of {DIAG_EPOCHS * (DIAG_WINDOWS // 32)} steps in "
      f"{diag_table['seconds'].sum():.0f} s")
diag_table.round(3)

# %%
panels = [("learning rate, BatchNorm, channels", ["baseline: RGBA in [0, 1], lr 1e-3", "learning rate 1e-2", "learning rate 1e-4",
                                                  "Keras BatchNorm momentum (0.99)", "RGB only (alpha dropped)"]),
          ("data", ["baseline: RGBA in [0, 1], lr 1e-3", f"{len(tiny)} clips, one fixed example each",
                    f"{len(tiny)} clips, random windows"])]
fig, axes = plt.subplots(1, 2, figsize=(13, 3.6), sharey=True)
for ax, (title, names) in zip(axes, panels):
    for c, name in enumerate(names):
        for k, run in enumerate(diag[name]["runs"]):
            h = run["history"]
            steps = h["epoch"] * steps_per_epoch
            ax.plot(steps, h["val_bal_acc"], color=f"C{c}", ls="-" if k == 0 else "--",
                    label=name.split(":")[0] if k == 0 else None)
            if title == "data" and k == 0:
                ax.plot(steps, h["train_acc"], color=f"C{c}", ls=":", alpha=0.7)
    ax.axhline(0.5, color="grey", lw=0.8)
    ax.text(steps_per_epoch, 0.51, "one class for everything", fontsize=7, color="grey")
    ax.set(xlabel="optimizer steps", title=title, ylim=(0.4, 1.02))
    ax.legend(fontsize=7, loc="lower right", framealpha=0.9)
axes[0].set_ylabel("validation balanced accuracy")
axes[1].text(0.02, 0.95, "dotted: training accuracy (seed 0)", transform=axes[1].transAxes, fontsize=7, va="top")
fig.suptitle("seed 3-D CNN on tiny inputs: solid seed 0, dashed seed 1", fontsize=9)
fig.tight_layout()
viz.save_fig(fig, "03_diagnosis");

# %% [markdown]
# **What the full run shows** (QUICK numbers above mean nothing; the committed notebook is the full run):
#
# | suspect | verdict |
# |---|---|
# | input scaling | **Not a cause.** 0–255 inputs score like [0, 1] (0.850 vs 0.860, mean of two seeds): the BatchNorm after the first convolution divides the scale out. |
# | 4th RGBA channel | **Not a cause, and not useless.** In the plain colour image alpha is a constant and carries nothing; after binning it is the layer mask, and alone (1 channel) it scores as well as RGBA (0.862). RGB without it scores lower (0.815) and needed more steps to start learning (table: steps at one class), because the darkest layers' colours are nearly zero. |
# | class collapse | **The symptom, not a cause.** Runs start by calling everything one class (balanced accuracy 0.5) and leave that plateau only after up to 40 steps (table: steps at one class); with Keras' BatchNorm momentum the runs fell from 0.835 at their best epoch to 0.697 at their last while training accuracy stayed high, because the moving statistics used at test time lag the weights. |
# | learning rate | **Slows or destabilises; does not explain 50 %.** 1e-4 sat at one class for 40 steps and ended at 0.695; 1e-2 ended below 1e-3 (0.814 vs 0.860). |
# | tiny data, whole clips | **A small cost, not a collapse.** 89 clips, as fixed examples or as random windows, scored a little below all training clips (0.827 and 0.844 vs 0.860), and the fixed examples left the one-class plateau last (32 steps). |
# | ungrouped splits | **Flatters, does not break.** Windows of the training clips score 0.877 / 0.868 against 0.847 / 0.873 on held-out clips: a small gap here because these models are far from memorising; it hides a failure rather than causing one (the seed's 47 % validation was honest). |
#
# No single suspect reproduces 50 % at the end of training. What every run does show is the seed's exact symptom at the
# *start* of training: one class for everything, training accuracy rising while validation stays flat. The most likely
# explanation consistent with these measurements (the seed's batch size and epoch count are not published, so we cannot
# rerun it exactly): with 89 huge examples per epoch (3 optimizer steps at Keras' default batch of 32), and BatchNorm
# statistics updated with momentum 0.99, the seed's network never left the one-class plateau in evaluation mode, and
# early stopping on a flat validation curve ended training there. Many different windows per epoch, enough steps at a
# sane learning rate, and a validation split that shares no recording with training are what the working version adds.
#
# ## 4. The working version
# The same representation with two changes that matter: training on thousands of augmented random windows (gain, random
# band-limiting of *both* classes, background noise, SpecAugment) through the shared recipe, and a network built for
# speed (`small_cnn3d`): a stride-2 stem and early pooling, BatchNorm, global mean + max pooling, 4 × 10 × 64 × 64 input.

# %%
train_config = TrainConfig(num_epochs=NUM_EPOCHS, lr=2e-3, patience=NUM_EPOCHS, seed=SEED)
t0 = time.perf_counter()
r3d = train_classifier("small_cnn3d", CLASSES, config3d, splits, train_config=train_config,
                       windows_per_epoch=WINDOWS_PER_EPOCH, progress=False)
train_seconds = {"small_cnn3d": time.perf_counter() - t0}
print(f"trained in {train_seconds['small_cnn3d']:.0f} s; best validation epoch {r3d.train_summary['best_epoch']}")
r3d.history.round(3)

# %%
m = r3d.metrics
print(f"held-out test, per 5-s window: balanced accuracy {m['window']['balanced_accuracy']:.4f} "
      f"(accuracy {m['window']['accuracy']:.4f}, {m['window']['n']} windows)")
print(f"held-out test, per clip (mean of its windows): balanced accuracy {m['clip']['balanced_accuracy']:.4f} "
      f"({m['clip']['n']} clips)")
fig, axes = plt.subplots(1, 3, figsize=(13, 3.3), gridspec_kw={"width_ratios": [1.6, 1, 1]})
viz.plot_history(r3d.history, ax=axes[0], title="small_cnn3d: training")
viz.plot_confusion(m["window"]["confusion"], CLASSES, ax=axes[1], title="test windows")
viz.plot_confusion(m["clip"]["confusion"], CLASSES, ax=axes[2], title="test clips")
fig.tight_layout()
viz.save_fig(fig, "03_confusion");

# %%
pd.concat({"window": per_class_table(m["window"]), "clip": per_class_table(m["clip"])}).round(3)

# %% [markdown]
# The test clips the model gets most wrong, with their sources:

# %%
worst = worst_clips(r3d.test_table, CLASSES, n=5)
worst.assign(path=worst["path"].str.slice(0, 60)).round(3)

# %% [markdown]
# ## 5. Does it hear bandwidth instead of content?
# Much of the public speech is telephone band (nothing above 4 kHz). A model that learned "narrow band = speech" would
# call band-limited music speech. The same test windows, low-passed at 3.4 kHz (the telephone band); the model is
# trained with random band-limiting of both classes, and must keep its music recall:

# %%
narrow = np.stack([band_limit(w, config3d.sample_rate, 3_400.0) for w in test_windows])


def band_check(r) -> dict:
    """Recall per class on full-band and 3.4-kHz band-limited test windows."""
    probs = predict_proba(r.model, narrow, extractor=FeatureExtractor(r.feature_config))
    narrow_metrics = classification_metrics(test_table["label"].to_numpy(), probs.argmax(1), CLASSES)
    return {**{f"{c} recall, full band": r.metrics["window"]["per_class"][c]["recall"] for c in CLASSES},
            **{f"{c} recall, 3.4 kHz": narrow_metrics["per_class"][c]["recall"] for c in CLASSES}}


pd.DataFrame([band_check(r3d)], index=["small_cnn3d"]).round(3)

# %% [markdown]
# ## 6. Ablation: what does the extra dimension buy?
# Same split, same recipe, same number of training windows; only the representation and the network change:
#
# - **3-D CNN on the binned colour layers** (4 × 10 × 64 × 64): the working version above;
# - **2-D CNN on the same colour image** before binning (3 × 64 × 64): isolates the binning;
# - **2-D CNN on the colour image at log-mel size** (3 × 64 × 313): isolates the resize to 64 × 64;
# - **2-D CNN on plain log-mel** (1 × 64 × 313, `mel_cnn` from notebook 02): isolates the colour map.
#
# The 2-D colour model is `mel_cnn` with 3 input channels (`colormap_cnn2d`). CPU latency is the median time of front
# end + model for one 5-s window on one thread (`timing.time_ms`).

# %%
runs = {"3-D CNN, binned colour layers": r3d}
for label, name, cfg in [
    ("2-D CNN, same colour image", "colormap_cnn2d", FeatureConfig(representation="seed_rgb", image_size=IMAGE_SIZE)),
    ("2-D CNN, colour image at log-mel size", "colormap_cnn2d",
     FeatureConfig(representation="seed_rgb", image_size=(64, FeatureConfig().n_frames))),
    ("2-D CNN, plain log-mel", "mel_cnn", FeatureConfig()),
]:
    t0 = time.perf_counter()
    runs[label] = train_classifier(name, CLASSES, cfg, splits, train_config=train_config,
                                   windows_per_epoch=WINDOWS_PER_EPOCH, progress=False)
    train_seconds[label] = time.perf_counter() - t0
train_seconds["3-D CNN, binned colour layers"] = train_seconds.pop("small_cnn3d")

# %%
def latencies(models: dict[str, tuple[nn.Module, FeatureConfig]], *, rounds: int = 3, repeat: int = 15) -> dict[str, float]:
    """Front end + model for one 5-s window at 16 kHz on one thread: the median of ``repeat`` calls, the lowest of
    ``rounds`` interleaved rounds (a burst from another process on a shared machine then hits no model alone)."""
    w = torch.from_numpy(test_windows[examples["music"]])[None]
    best = {}
    for _ in range(rounds):
        for label, (model, cfg) in models.items():
            fe, model = FeatureExtractor(cfg), model.eval()
            ms = time_ms(lambda: model(fe(w)), repeat=repeat if count_parameters(model) < 300_000 else 5)["median_ms"]
            best[label] = min(ms, best.get(label, np.inf))
    return best


def input_shape(cfg: FeatureConfig) -> str:
    return " x ".join(map(str, FeatureExtractor(cfg)(torch.zeros(1, cfg.window_samples)).shape[1:]))


seed_label = "seed's 3-D CNN, same input (untrained)"
ms = latencies({**{label: (r.model, r.feature_config) for label, r in runs.items()}, seed_label: (seed3d, config3d)})
rows = []
for label, r in runs.items():
    rows.append({"model": label, "architecture": r.name, "input": input_shape(r.feature_config),
                 "test bal. acc. (window)": r.metrics["window"]["balanced_accuracy"],
                 "test windows wrong": int(r.metrics["window"]["n"] - np.trace(np.array(r.metrics["window"]["confusion"]))),
                 "test bal. acc. (clip)": r.metrics["clip"]["balanced_accuracy"],
                 "music recall at 3.4 kHz": band_check(r)["music recall, 3.4 kHz"], "parameters": count_parameters(r.model),
                 "weights KiB": weight_bytes(r.model) / 1024, "CPU ms / window": ms[label], "training s": train_seconds[label]})
rows.append({"model": seed_label, "architecture": "seed_cnn3d", "input": input_shape(config3d), "parameters": n_trainable,
             "weights KiB": weight_bytes(seed3d) / 1024, "CPU ms / window": ms[seed_label]})
ablation = pd.DataFrame(rows).set_index("model")
ablation.round(4)

# %% [markdown]
# **In plain words** (numbers from the full run). The third axis of the 3-D input is intensity: a 3-D convolution
# sees in which layer a pattern lives, which a 2-D CNN reads directly from the grey level. On this split the binned 3-D
# model got 3 of 208 test windows wrong and the 2-D CNN on the same 64 × 64 colour image 6: three windows, within what
# another training seed changes (section 3). The 2-D CNNs at the full 64 × 313 resolution got 4 (colour image) and 2
# (plain log-mel) wrong: the colour map does not help there either. For that, binning multiplies the input tenfold (8×
# the values of the log-mel), the parameters by 3 and the CPU time per window by 3–6. So the extra dimension buys
# nothing measurable here, the colour map adds nothing over the grey level, and the resolution the 64 × 64 image throws
# away matters more than either. The 3-D model remains the working version of the seed's idea and is cheap enough for
# live use (8–18 ms per window in our runs on one thread of this shared machine, depending on what else was running);
# the seed's own network is about 4× slower on the same input and takes about half a second on its own input size
# (section 2).
#
# ## 7. The bundled checkpoint
# The checkpoint carries the model name, the class names, the feature config (checked on load: the model never gets
# features it was not trained on), a summary of the training data and the test metrics. A full run writes it into the
# package, where `python -m audioclf_lib classify --model music-speech-3d FILE` and
# `python -m audioclf_lib evaluate --model music-speech-3d FOLDER` find it. Loaded back, it classifies a music and a
# speech clip of the test split:

# %%
path = r3d.save(out_dir / "music-speech-3d.pt")
print(f"{path.name}: {path.stat().st_size / 2**10:.0f} KiB")
ckpt = load_checkpoint(path, expected_config=config3d, expected_classes=CLASSES)
predictor = Predictor(ckpt, device="cpu")
for cls in CLASSES:
    row = r3d.test_table[r3d.test_table["class"] == cls].iloc[0]
    p = predictor.predict(splits["test"].clip(int(row["clip"])), splits["test"].sample_rate)
    print(f"{cls:>6} test clip {row['path'][:60]}: {p.label} ({p.confidence:.0%}) in {p.latency_ms:.1f} ms")
print(f"notebook ran in {time.perf_counter() - t_start:.0f} s")

# %% [markdown]
# ## Summary
# - The seed-003 representation is one option of the shared front end (`representation="binned3d"`): 4 RGBA channels ×
#   10 intensity layers × 64 × 64 per 5-s window, 90 % zeros, the colour image re-arranged and nothing added.
# - The seed's 3-D CNN has exactly the 347,234 parameters its README states (Keras counts BatchNorm's moving statistics).
# - Of six suspects, none reproduces 50 % at the end of training; all runs show the seed's symptom (one class for
#   everything) at the start. Few optimizer steps on 89 huge examples and BatchNorm statistics that lag the weights are
#   the likely cause; scaling, the alpha channel and the split are not.
# - The working version, `small_cnn3d` (293 k parameters) on 4 × 10 × 64 × 64 inputs with the shared recipe, reaches
#   98.4 % balanced accuracy per window and 98.4 % per clip on the held-out test split in the full run, keeps its music
#   recall on telephone-band music, and runs in milliseconds per window on one CPU thread (table of section 6).
# - The ablation says plainly: binning and colour buy nothing measurable over a 2-D CNN on log-mel, which is as accurate
#   at a quarter of the CPU time.
# - The checkpoint `music-speech-3d` is bundled: `python -m audioclf_lib classify --model music-speech-3d FILE`.
#
# **Previous:** [02_train_cnn](02_train_cnn.ipynb) · **Next:** [04_device_mismatch_finetune](04_device_mismatch_finetune.ipynb)
