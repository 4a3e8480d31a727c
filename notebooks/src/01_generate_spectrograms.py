# %% [markdown]
# # 01 · From waveform to mel-spectrogram to a leak-free training set
#
# **What you will learn**
# - how a clip of audio becomes a log-mel spectrogram, step by step, and why each step is there;
# - the traps of *real* recordings (bandwidth, length, loudness, balance, leakage) and what the pipeline does about each;
# - how the silence filter and the normalisation work;
# - how to split a corpus so the test score means something;
# - the two image representations of the seed projects, and what they cost.
#
# **Reads** the corpus in `data/starter/` (or `$AUDIOCLF_DATA`: one folder per class, `<class>/*.wav|flac|ogg|mp3`).
# **Writes** the decoded splits to `data/cache/audio-sr16000-<corpus fingerprint>-seed0/`, evaluation features to
# `data/cache/<feature config slug>/`, and figures `figures/01_*.png`.
#
# **Runtime** on a 2-core laptop-class CPU: about 1 minute (QUICK: ~30 s; the very first run in a fresh
# environment adds ~30 s while librosa compiles its numba kernels).

# %% tags=["parameters"]
import os

QUICK = os.environ.get("QUICK", "0") == "1"  # CI-sized run: 40 clips per class and split
SEED = 0
SAMPLE_RATE = 16_000  # every clip is resampled to this rate
SILENCE_DBFS = -60.0  # loud frames of a kept clip must reach this level
DASK = os.environ.get("AUDIOCLF_DASK") or None  # optional: decode on Dask workers, "local:4" or "tcp://host:8786"

# %%
import librosa
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from audioclf_lib import audio, viz
from audioclf_lib.augment import band_limit
from audioclf_lib.cache import eval_set, prepare_splits
from audioclf_lib.config import CLASS_NAMES, REPO_ROOT, FeatureConfig, data_dir
from audioclf_lib.data import build_manifest, split_manifest, split_table
from audioclf_lib.features import FeatureExtractor, seed_image_via_matplotlib
from audioclf_lib.runtime import setup_notebook
from audioclf_lib.timing import time_ms

device = setup_notebook(seed=SEED)
corpus = data_dir()
if not corpus.exists():
    raise SystemExit(f"No corpus at {corpus}: set AUDIOCLF_DATA to a folder with music/, speech/, noise/ subfolders.")
print("corpus:", corpus.relative_to(REPO_ROOT) if corpus.is_relative_to(REPO_ROOT) else corpus.name, "| QUICK:", QUICK)

# %% [markdown]
# ## 1. The corpus as a table
# Every clip gets a row: class, the *source* it came from (a game's soundtrack, a voice-prompt set…), the
# *original recording* it was cut from, duration and original sample rate. Files that cannot be read are
# not silently dropped: they are listed with a reason.

# %%
manifest, skipped = build_manifest(corpus)
print(f"{len(manifest)} clips, {len(skipped)} skipped")
manifest.groupby("class").agg(clips=("path", "size"), sources=("source", "nunique"),
                              originals=("original", "nunique"), minutes=("duration_s", lambda s: round(s.sum() / 60, 1)))

# %% [markdown]
# ## 2. The traps of real data
# Four plots, one per trap: clip **length**, **loudness**, original **bandwidth** (sample rate), and how much
# energy each class has above 4 kHz.

# %%
rng = np.random.default_rng(SEED)
probe = pd.concat([g.sample(min(len(g), 40), random_state=SEED) for _, g in manifest.groupby("class")])
levels, hf_share = [], []
for rel in probe["path"]:
    y, sr = audio.load_audio(corpus / rel, SAMPLE_RATE)
    levels.append(audio.rms_dbfs(y))
    S = np.abs(librosa.stft(y, n_fft=1024)) ** 2
    freqs = librosa.fft_frequencies(sr=sr, n_fft=1024)
    hf_share.append(10 * np.log10(S[freqs > 4000].sum() / S.sum() + 1e-12))
probe = probe.assign(level_dbfs=levels, hf_db=hf_share)

fig, axes = plt.subplots(1, 4, figsize=(15, 3))
for cls in CLASS_NAMES:
    rows = manifest[manifest["class"] == cls]
    axes[0].hist(rows["duration_s"], bins=30, alpha=0.6, label=cls)
    axes[1].hist(probe.loc[probe["class"] == cls, "level_dbfs"], bins=15, alpha=0.6, label=cls)
    axes[3].hist(probe.loc[probe["class"] == cls, "hf_db"], bins=15, alpha=0.6, label=cls)
rates = manifest.assign(band=np.where(manifest["orig_sr"] <= 11_025, "≤ 11 kHz (narrow band)", "≥ 16 kHz"))
rates.groupby(["class", "band"]).size().unstack(fill_value=0).plot.bar(ax=axes[2], rot=0)
axes[0].set(title="clip length", xlabel="s")
axes[1].set(title="loudness (40 clips/class)", xlabel="RMS dBFS")
axes[2].set(title="original sample rate", xlabel="")
axes[3].set(title="energy above 4 kHz", xlabel="dB re total")
axes[0].legend()
fig.tight_layout()
viz.save_fig(fig, "01_corpus_traps");

# %% [markdown]
# What the plots say, and what the pipeline does about each:
#
# | trap | what we see | what the pipeline does |
# |---|---|---|
# | **length** | speech clips are 1–3 s, music clips 10 s | models see fixed 5-s windows only: long clips are cropped, short ones joined with other clips of the same class or wrapped (`windows.TrainWindows`) |
# | **loudness** | clips span about 35 dB of RMS level | features are in dB *relative to the window's loudest bin* (gain invariant, section 5) |
# | **bandwidth** | many speech clips were recorded at 8 kHz (telephone band): nothing above 4 kHz | training windows of **every** class are band-limited at random (`augment.band_limit`), so "narrow band" cannot mean "speech" |
# | **balance** | far more speech clips than music clips | training draws the class uniformly (class-balanced sampling); metrics are per class and balanced |
# | **leakage** | several clips come from one original recording | the split is grouped by original recording (section 6) |

# %% [markdown]
# ## 3. Waveform → STFT → mel → dB, inline once
# First with librosa, one step at a time, on one clip of each class.

# %%
examples = {cls: manifest[manifest["class"] == cls].sort_values("path").iloc[len(manifest[manifest["class"] == cls]) // 2]
            for cls in CLASS_NAMES}
fig, axes = plt.subplots(3, 3, figsize=(14, 7))
for col, (cls, row) in enumerate(examples.items()):
    y, sr = audio.load_audio(corpus / row["path"], SAMPLE_RATE)
    y = y[: 5 * sr]
    viz.plot_waveform(y, sr, ax=axes[0, col], title=f"{cls}: {row['source']}")
    D = np.abs(librosa.stft(y, n_fft=1024, hop_length=256)) ** 2  # power spectrogram, linear frequency
    axes[1, col].imshow(librosa.power_to_db(D, ref=np.max), origin="lower", aspect="auto", cmap="magma",
                        extent=(0, len(y) / sr, 0, sr / 2000))
    axes[1, col].set(ylabel="kHz", title="STFT power (dB)")
    M = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=1024, hop_length=256, n_mels=64, fmin=20, fmax=8000)
    viz.plot_spectrogram(librosa.power_to_db(M, ref=np.max), sr=sr, hop_length=256, ax=axes[2, col], title="64-band mel (dB)")
fig.tight_layout()
viz.save_fig(fig, "01_waveform_to_mel");

# %% [markdown]
# The mel scale spends its 64 bands where hearing (and these classes) differ: narrow bands at low
# frequencies, wide ones above a few kHz. Music shows horizontal lines (stable pitches and their
# harmonics), speech shows stacked, gliding harmonics interrupted by pauses, and noise is broadband texture.
#
# ## 4. The project's one front end
# Everything after this notebook (training, evaluation, the CLI, the live demo) uses
# `features.FeatureExtractor`: `torch.stft` + librosa's mel filterbank as one matrix product, batched, on CPU or
# CUDA. Its settings are a frozen `FeatureConfig` that is saved inside every checkpoint. It matches librosa:

# %%
config = FeatureConfig(sample_rate=SAMPLE_RATE)
extractor = FeatureExtractor(config)
y, sr = audio.load_audio(corpus / examples["music"]["path"], SAMPLE_RATE)
window = audio.fix_length(y, config.window_samples)
ours = extractor.power_mel(torch.from_numpy(window)[None])[0].numpy()
ref = librosa.feature.melspectrogram(y=window, sr=sr, n_fft=config.n_fft, hop_length=config.hop_length,
                                     n_mels=config.n_mels, fmin=config.fmin, fmax=config.fmax)
print("max |ours - librosa| / max(librosa) =", float(np.abs(ours - ref).max() / ref.max()))
print(config)
print("cache folder name:", config.slug())

# %% [markdown]
# ## 5. Normalisation: what a quieter microphone changes (nothing)
# The front end removes DC, converts to dB and subtracts the window's maximum, clamping at `-top_db` (80 dB), then
# scales to [-1, 1]. A clip played 30 dB quieter gives the same features, up to the floor.

# %%
loud = extractor(torch.from_numpy(window)[None])[0, 0].numpy()
quiet = extractor(torch.from_numpy(window * 10 ** (-30 / 20))[None])[0, 0].numpy()
print("max |features(loud) - features(30 dB quieter)| =", float(np.abs(loud - quiet).max()))
fig, axes = plt.subplots(1, 2, figsize=(10, 2.8))
viz.plot_spectrogram(loud, ax=axes[0], title="music window, features", vmin=-1, vmax=1)
narrow = extractor(torch.from_numpy(band_limit(window, sr, 3400.0))[None])[0, 0].numpy()
viz.plot_spectrogram(narrow, ax=axes[1], title="same window band-limited to 3.4 kHz (training augmentation)", vmin=-1, vmax=1)
fig.tight_layout()
viz.save_fig(fig, "01_normalisation_bandlimit");

# %% [markdown]
# ## 6. The silence filter
# The seed gated recordings on one amplitude threshold (0.005, about −46 dBFS) and had to lower it for a laptop
# microphone. Here a clip (or live window) is *silent* when even its loud frames (the 95th percentile of
# 64-ms frame RMS levels) stay below `SILENCE_DBFS`. One click does not make a window loud; a quiet, continuous
# piece of music is not silent.

# %%
levels = audio.frame_rms_dbfs(window)
fig, ax = plt.subplots(figsize=(8, 2.5))
ax.plot(np.arange(len(levels)) * 512 / sr, levels, label="frame RMS")
ax.axhline(SILENCE_DBFS, color="grey", ls="--", label=f"gate {SILENCE_DBFS:g} dBFS")
ax.axhline(np.quantile(levels, 0.95), color="tab:green", ls=":", label="95th percentile")
ax.set(xlabel="time (s)", ylabel="dBFS", title="music window: frame levels")
ax.legend(fontsize=8)
viz.save_fig(fig, "01_silence_gate");
print("silent?", audio.is_silent(window, threshold_dbfs=SILENCE_DBFS),
      "| silent at -90 dB gain?", audio.is_silent(window * 10 ** (-90 / 20), threshold_dbfs=SILENCE_DBFS))

# %% [markdown]
# ## 7. A split that cannot leak
# Clips cut from the same original recording are near-duplicates: if one is in training and another in test, the
# test score is inflated. `split_manifest` assigns whole original recordings to train/validation/test (70/15/15 % of
# each class's minutes), reproducibly from the seed.

# %%
split = split_manifest(manifest, seed=SEED)
leaks = split.groupby("original")["split"].nunique()
assert (leaks == 1).all(), "an original recording is in two splits"
print("original recordings in more than one split:", int((leaks > 1).sum()))
split_table(split)

# %% [markdown]
# ## 8. Decode, filter and cache the splits (parallel, with progress)
# `prepare_splits` repeats sections 1 and 7, decodes every clip on all cores, drops silent or unreadable ones
# (with the reason), and writes the result to a folder named after the corpus' file list, the rate and the seed.
# Later notebooks load it with `cache.load_splits()` and stop with a plain sentence if it is missing.
# For a corpus too large for one machine, set `DASK` in the parameters cell (or `AUDIOCLF_DASK`): the same
# decoding (and, below, the evaluation features) then runs on Dask workers (`pip install -e '.[dask]'`; workers must
# see the corpus under the same path) and caches the same arrays, bit for bit.

# %%
splits, split, skipped = prepare_splits(corpus, sample_rate=SAMPLE_RATE, seed=SEED, quick=QUICK, silence_dbfs=SILENCE_DBFS,
                                        dask=DASK)
print({name: len(clips) for name, clips in splits.items()}, "clips kept")
skipped

# %% [markdown]
# Evaluation windows (5 s, short clips wrapped) and their log-mel features are cached per split under a folder
# named after the feature config, so a change of any setting gives new features rather than stale ones.

# %%
for name in ("val", "test"):
    windows, table, features = eval_set(splits[name], name, config, list(CLASS_NAMES), dask=DASK)
    print(f"{name}: {len(windows)} windows -> features {features.shape} {features.dtype}")
table.groupby("class").size().rename("test windows").to_frame().T

# %% [markdown]
# ## 9. Gallery: what the models will see

# %%
fig, axes = plt.subplots(3, 4, figsize=(14, 6.5))
for r, cls in enumerate(CLASS_NAMES):
    idx = np.flatnonzero(table["class"].to_numpy() == cls)
    for c, k in enumerate(rng.choice(idx, size=min(4, len(idx)), replace=False)):
        viz.plot_spectrogram(features[k, 0], sr=config.sample_rate, hop_length=config.hop_length, ax=axes[r, c],
                             vmin=-1, vmax=1, title=f"{cls} · {table['source'].iloc[k]}")
for ax in axes.flat:
    ax.title.set_fontsize(8)
fig.tight_layout()
viz.save_fig(fig, "01_gallery");

# %% [markdown]
# ## 10. The seed representations, and what they cost
# - **seed 000** (music vs noise) drew the mel-spectrogram with matplotlib, saved it as a PNG, reloaded and resized it
#   to a 3 × 155 × 154 RGB image. Here the same kind of image is built with tensor ops (`representation="seed_rgb"`:
#   dB → magma lookup table → resize).
# - **seed 003** (music vs speech) colour-mapped the spectrogram (RGBA) and split it into 10 layers by intensity: a
#   10 × mels × frames × 4 tensor for a 3-D CNN (`representation="binned3d"`).
#
# A colormap maps one grey level to a colour: it adds no information, it triples (or quadruples) the numbers. The
# alpha channel of magma is always 1. Binning multiplies the size by 10 again while every pixel is non-zero in exactly one layer.
# Timings below are medians on one CPU thread (`timing.time_ms`).

# %%
rgb_config = config.replace(representation="seed_rgb", n_mels=128)
binned_config = config.replace(representation="binned3d", image_size=(128, 313))
rows = []
w = torch.from_numpy(window)[None]
for label, cfg in [("log-mel (ours)", config), ("seed RGB image, tensor ops", rgb_config), ("seed-003 binned RGBA", binned_config)]:
    fe = FeatureExtractor(cfg)
    x = fe(w)
    rows.append({"representation": label, "shape": tuple(x.shape[1:]), "values": x[0].numel(),
                 "ms per 5-s window": time_ms(lambda: fe(w), repeat=20)["median_ms"]})
img = seed_image_via_matplotlib(window, sr)
rows.append({"representation": "seed RGB via matplotlib + PNG (the seed's way)", "shape": img.shape, "values": img.size,
             "ms per 5-s window": time_ms(lambda: seed_image_via_matplotlib(window, sr), repeat=5, warmup=1)["median_ms"]})
costs = pd.DataFrame(rows)
costs["values vs log-mel"] = (costs["values"] / costs["values"].iloc[0]).round(1)
costs.round(2)

# %%
fig, axes = plt.subplots(1, 3, figsize=(14, 3))
viz.plot_spectrogram(loud, ax=axes[0], title="log-mel 1×64×313", vmin=-1, vmax=1)
rgb = FeatureExtractor(rgb_config)(w)[0].permute(1, 2, 0).numpy() * 0.5 + 0.5
axes[1].imshow(rgb)
axes[1].set(title="seed RGB image 3×155×154 (tensor ops)")
axes[2].imshow(img.transpose(1, 2, 0) * 0.5 + 0.5)
axes[2].set(title="seed RGB via matplotlib PNG")
fig.tight_layout()
viz.save_fig(fig, "01_seed_representations");

# %% [markdown]
# ## Summary
# - A window of audio becomes a 1 × 64 × 313 log-mel image through **one** front end whose settings travel with every model.
# - Real corpora hide traps: bandwidth, length, loudness, balance and leakage; each has a concrete counter-measure above.
# - The splits are grouped by original recording and cached under names that change when the data or settings change.
# - The seed representations are kept for notebooks 02 and 03, but they cost 3.6–80× more numbers (table above) for no new information.
#
# **Next:** [02_train_cnn](02_train_cnn.ipynb) trains the seed's CNN, a better one and a 3-class model on these splits.
