# %% [markdown]
# # 04 · When the microphone changes: the laptop lesson, the seed's fix, and a model that needs none
#
# The seed project trained its music-vs-noise CNN on smartphone recordings. On the built-in microphone of a
# laptop it called everything NOISE at ~100 % confidence. Its fix: record 50+ laptop clips and fine-tune the
# classifier layers (frozen convolutions, lr 1e-4, 20 epochs, half phone and half laptop data): laptop 0 % → 92.4 %,
# phone 95.3 % → 94.8 %.
#
# **What you will learn**
# - what a laptop microphone does to sound, stage by stage (capsule response, fan and hum, clipping, noise
#   suppression, automatic gain control), simulated with documented, physically motivated parameters
#   (`audioclf_lib.devices`);
# - what really happens to *our* phone-trained model on that laptop, and where it breaks down completely;
# - the seed's fine-tuning fix, reproduced with the project's one training loop, and its before/after table;
# - how to need no fix at all: training on random simulated devices with a front end that removes a fixed
#   microphone response, a learning curve of laptop clips vs accuracy, and which part of each fix does what;
# - how to record your own microphone's clips in Jupyter (`audioclf_lib.recorder`) and fine-tune on them.
#
# **Reads** the splits of [01_generate_spectrograms](01_generate_spectrograms.ipynb) and the `music-noise` model of
# [02_train_cnn](02_train_cnn.ipynb). **Writes** the checkpoints `music-noise-laptop` (fine-tuned) and
# `music-noise-robust` (trained on random devices; both bundled after a full run), figures `figures/04_*.png`, and
# simulated laptop clips in `data/devices/simulated_laptop/` (your own recordings go to `data/devices/<name>/`).
#
# **Runtime** on a 2-core CPU: about 14 minutes for the full run on an idle machine (842 s idle; the committed run of 2026-12-01 took 90 minutes on a machine shared with several training jobs, so
# the training times it prints are 5-10x the idle ones; three
# models are trained on from the phone model, two of them through simulated devices, and eight fine-tuned); QUICK (CI): 30 s to
# 1.5 minutes, on tiny data whose scores mean nothing.
#
# **The recipe** (seeds, clip counts, epochs, learning rates, which clips are recorded how) is the library's
# `laptop_recipe.LaptopRecipe`, shared with the experiments in `experiments/` that rerun parts of this notebook; the
# parameters below are this notebook's own sweeps.

# %% tags=["parameters"]
import os

QUICK = os.environ.get("QUICK", "0") == "1"  # CI-sized run: LaptopRecipe.quick() instead of LaptopRecipe()
CURVE_CLIPS = [0, 4, 10] if QUICK else [0, 5, 10, 25, 50, 100]  # laptop clips for the learning curve
SNR_SWEEP = [30, 6, -10] if QUICK else [40, 30, 20, 10, 6, 0, -5, -10, -20]  # dB, the laptop's other stages unchanged
SEVERITY_SWEEP = [0.3, 2] if QUICK else [0.3, 0.65, 0.8, 1, 1.5, 2, 3]  # 0 = phone, 0.65 = laptop, 1 = loud fan
DEVICE_NAME = "my_laptop"  # your recordings go to data/devices/<DEVICE_NAME>/<class>/
RECORD_CLIPS = 10  # clips per class the recorder asks for

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import display

from audioclf_lib import viz
from audioclf_lib.augment import mix_at_snr
from audioclf_lib.cache import load_splits
from audioclf_lib.checkpoint import CheckpointError, load_checkpoint
from audioclf_lib.config import FeatureConfig, run_checkpoints_dir
from audioclf_lib.devices import (LAPTOP, LAPTOP_LOUD_FAN, LAPTOP_SEVERITY, PHONE, PRESETS, capsule_response_db, devices_dir,
                                  fan_noise, load_device_clips, mains_hum, select_clips, severity_profile, simulate,
                                  write_device_clips)
from audioclf_lib.features import FeatureExtractor
from audioclf_lib.finetune import finetune_for_device, finetune_on_recordings, save_device_checkpoint, train_robust
from audioclf_lib.laptop_recipe import LaptopRecipe, join_windows
from audioclf_lib.metrics import clip_bootstrap_ci
from audioclf_lib.recorder import RecorderWidget, count_clips
from audioclf_lib.runtime import setup_notebook
from audioclf_lib.soundio import input_device_status
from audioclf_lib.train import evaluate_windows
from audioclf_lib.windows import eval_windows

RECIPE = LaptopRecipe.quick() if QUICK else LaptopRecipe()  # seeds, clip counts, epochs, learning rates
device = setup_notebook(seed=RECIPE.seed)
CLASSES = RECIPE.classes
splits = load_splits(quick=QUICK)  # stops with "run 01_generate_spectrograms first" if it has not run
ckpt_dir = run_checkpoints_dir(QUICK)
try:
    base_ckpt = load_checkpoint(ckpt_dir / "music-noise.pt", expected_classes=CLASSES)
except CheckpointError:
    raise SystemExit("There is no music-noise model yet: run 02_train_cnn first (it trains and saves it).") from None
base, base_config = base_ckpt.model.eval(), base_ckpt.feature_config
base_extractor = FeatureExtractor(base_config)
SR, N = base_config.sample_rate, base_config.window_samples
print("device:", device, "| QUICK:", QUICK, "| base model:", base_ckpt.model_name, base_config.normalization,
      "| train/val/test clips:", {k: len(v) for k, v in splits.items()})

# %% [markdown]
# Two helpers used throughout: `record(split, profile)` plays every music and noise clip of a split through a
# simulated device (clip *i* always with the same random generator, so every run hears the same "recordings"; it is
# `LaptopRecipe.record`, which the experiments in `experiments/` use too), and `score(...)` evaluates a model on the
# 5-s windows of such a recording. **Accuracy is per 5-s window** (what the live
# classifier sees); "music → noise" is the share of music windows called noise.

# %%
record = RECIPE.record  # (clips, profile) -> the music and noise clips as recorded by profile, same order


def score(model, config, clips) -> dict:
    """Window-level metrics of ``model`` on ``clips`` (any device), in the seed's terms."""
    windows, table = eval_windows(clips, CLASSES, N)
    metrics, table = evaluate_windows(model, FeatureExtractor(config), windows, table, CLASSES)
    music, correct = table["class"] == "music", table["pred"] == table["label"]
    confidence = table.loc[correct, "p_true"]
    return {"accuracy": metrics["window"]["accuracy"], "balanced accuracy": metrics["window"]["balanced_accuracy"],
            "music → noise": float((table.loc[music, "pred"] == 1).mean()),
            "noise → music": float((table.loc[~music, "pred"] == 0).mean()),
            "confidence p25": float(confidence.quantile(0.25)) if len(confidence) else np.nan,
            "confidence p75": float(confidence.quantile(0.75)) if len(confidence) else np.nan,
            "windows": len(table), "table": table, "metrics": metrics}


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def ci(r: dict) -> str:
    """95 % bootstrap interval of a ``score`` result's accuracy, resampling whole test clips."""
    low, high = clip_bootstrap_ci((r["table"]["pred"] == r["table"]["label"]).to_numpy(), r["table"]["clip"].to_numpy())
    return f"{100 * low:.1f}-{100 * high:.1f}%"


phone_test = record(splits["test"], PHONE)  # PHONE is transparent: the corpus recordings themselves
laptop_test = record(splits["test"], LAPTOP)
loud_fan_test = record(splits["test"], LAPTOP_LOUD_FAN)
print(f"test split: {len(phone_test)} music/noise clips, "
      f"{(phone_test.table['class'] == 'music').sum()} music, {(phone_test.table['class'] == 'noise').sum()} noise")

# %% [markdown]
# ## 1. Phone vs laptop: the same clips, two microphones
# The simulated laptop (`devices.LAPTOP`) is the seed's scenario: a small capsule behind a pinhole in the chassis,
# fan running. Each stage and the physics behind its numbers:

# %%
LAPTOP.describe()

# %% [markdown]
# | stage | what | why these numbers |
# |---|---|---|
# | capsule | 2nd-order high-pass at 195 Hz, +5.9 dB peak at 3.2 kHz, +2.6 dB at 1.2 kHz, 4th-order low-pass at 6.3 kHz | a 4-mm capsule with a tiny back volume has little low end, and laptops add a DSP high-pass against fan rumble and keyboard thumps; the pinhole and the cavity behind it are a Helmholtz resonator (a few kHz); the chassis panel rings; mesh and capsule mass roll off the top early |
# | noise | fan + hum + preamplifier hiss, 16.5 dB below the music | a 4,500-rpm, 31-blade blower gives broadband turbulence (flat to 600 Hz, then −5 dB/octave) plus blade-pass tones at 2.3 kHz; the charger and ground loop add 50-Hz hum with odd harmonics; the microphone sits *inside* the chassis, next to the fan |
# | clipping | peaks 2 dB past full scale | preamplifier gain set for quiet speech |
# | noise suppression | spectral subtraction, up to −13 dB, 2× over-subtraction | voice-tuned suppressors estimate the noise as the quietest level of each frequency: they remove the fan, and with it sustained notes, leaving "musical noise" |
# | AGC | −20 dBFS target, 2.3:1, up to +20 dB | levels speech; compresses the dynamics of music and lifts the noise floor in quiet passages |
#
# **How severe, and why.** The chain's shape is physics; how hard each stage hits (how loud the fan is, how hard the
# suppressor works) varies from laptop to laptop and from minute to minute. We set it against the one real
# measurement we have, the seed's: on its laptop, the seed's own fix (frozen body, lr 1e-4, 20 epochs, 50/50 data)
# reached **92.4 %**, so its laptop had *shifted* the sound but left the information in it. Along one severity path
# (`devices.severity_profile`: every stage scaled together), the same recipe from our phone model reaches 94 %, 92.5 %,
# 91 %, 89 % and 81 % of the **validation** windows at severities 0.6, 0.65, 0.7, 0.8 and 1
# (`experiments/laptop_calibration.py`, docs/experiments.md); `LAPTOP` sits at 0.65, where the seed's recipe does what it
# did for the seed. The test split played no part, and the choice was made before any test score on this laptop.
# Two caveats, both measured: the bundled `music-noise` was refit on train + validation, so these validation scores are
# optimistic (on the test split the seed's recipe reaches 89.3 % at 0.65, part 3); and notebook 02's train-only model,
# for which the validation clips are truly unseen, cannot sharpen the choice: its laptop validation score stays at
# 78-83 % from severity 0.4 to 0.65, with the seed's recipe or without. The severity was left at 0.65.
#
# Severity 1 is kept as a second device, `devices.LAPTOP_LOUD_FAN` (the fan 6 dB below the music, a 20-dB
# suppressor, peaks 3 dB past full scale): the stress case. It does more than shift the sound: even a model trained
# from scratch with every training clip heard through it reaches only 92.9 % on it (`experiments/laptop_oracle.py`), so
# no fix can reach the targets there. Every model below is scored on it too.
#
# The same three test clips through both devices, as the model sees them (log-mel, dB below the window's maximum):

# %%
lengths = np.diff(phone_test.offsets)
candidates = {c: np.flatnonzero((phone_test.table["class"] == c).to_numpy() & (lengths >= N)) for c in CLASSES}
examples = [candidates["music"][0], candidates["music"][len(candidates["music"]) // 2], candidates["noise"][0]]
fig, axes = plt.subplots(2, 3, figsize=(15, 5.4), sharey=True)
for col, i in enumerate(examples):
    for row, (name, clips) in enumerate([("phone", phone_test), ("laptop", laptop_test)]):
        x = base_extractor(torch.from_numpy(clips.clip(i)[:N])[None])[0, 0].numpy()
        viz.plot_spectrogram(x, sr=SR, hop_length=base_config.hop_length, ax=axes[row, col], vmin=-1, vmax=1,
                             title=f"{name} · {phone_test.table['class'].iloc[i]} · {phone_test.table['source'].iloc[i]}")
for ax in axes.flat:
    ax.title.set_fontsize(9)
fig.tight_layout()
viz.save_fig(fig, "04_phone_vs_laptop");

# %% [markdown]
# Stage by stage on the first music clip, and the laptop's frequency response with its noise spectrum: each panel
# adds one stage of the chain, with the same random noise.

# %%
y = phone_test.clip(examples[0])[:N]
L = LAPTOP
stages = [("room (phone)", PHONE),
          ("+ capsule", PHONE.replace(highpass_hz=L.highpass_hz, resonances=L.resonances, lowpass_hz=L.lowpass_hz)),
          (f"+ fan & hum, {L.snr_db:g} dB SNR", None), ("+ clipping & suppression", None), ("+ AGC = laptop", LAPTOP)]
stages[2] = (stages[2][0], stages[1][1].replace(snr_db=L.snr_db, hum_share=L.hum_share, white_share=L.white_share))
stages[3] = (stages[3][0], stages[2][1].replace(clip_db=L.clip_db, suppression_db=L.suppression_db,
                                                suppression_over=L.suppression_over))
fig = plt.figure(figsize=(15, 6))
grid = fig.add_gridspec(2, 5, height_ratios=[1, 1])
for k, (label, profile) in enumerate(stages):
    ax = fig.add_subplot(grid[0, k])
    x = base_extractor(torch.from_numpy(simulate(y, SR, profile, seed=RECIPE.device_seed))[None])[0, 0].numpy()
    viz.plot_spectrogram(x, sr=SR, hop_length=base_config.hop_length, ax=ax, vmin=-1, vmax=1, title=label)
freqs = np.geomspace(20, SR / 2 - 10, 400)
ax = fig.add_subplot(grid[1, :2])
ax.semilogx(freqs, capsule_response_db(PHONE, SR, freqs), label="phone (flat)")
ax.semilogx(freqs, capsule_response_db(LAPTOP, SR, freqs), label="laptop capsule")
ax.set(xlabel="Hz", ylabel="dB", title="frequency response", ylim=(-40, 12))
ax.legend(fontsize=8)
ax = fig.add_subplot(grid[1, 2:])
rng = np.random.default_rng(0)
for label, noise in [("fan (broadband + blade-pass tones)", fan_noise(4 * SR, SR, rng)),
                     ("mains hum 50 Hz + harmonics", mains_hum(4 * SR, SR, rng))]:
    spectrum = np.abs(np.fft.rfft(noise * np.hanning(len(noise)))) ** 2
    f = np.fft.rfftfreq(len(noise), 1 / SR)
    smooth = np.convolve(spectrum, np.ones(9) / 9, "same")
    ax.semilogx(f[1:], 10 * np.log10(smooth[1:] / smooth.max() + 1e-12), lw=0.8, label=label)
ax.set(xlabel="Hz", ylabel="dB re max", title="the added noises (before the capsule)", ylim=(-70, 3), xlim=(20, SR / 2))
ax.legend(fontsize=8)
fig.tight_layout()
viz.save_fig(fig, "04_laptop_chain");

# %% [markdown]
# ### Visual Diagnosis
# The seed compared spectrograms by eye. Here the same comparison is measured over every test window (medians;
# log-mel in dB below each window's maximum):

# %%
def describe_windows(clips) -> dict:
    windows, table = eval_windows(clips, CLASSES, N)
    with torch.inference_mode():
        S_db = torch.cat([base_extractor.relative_db(torch.from_numpy(windows[i:i + 64]))
                          for i in range(0, len(windows), 64)]).numpy()  # (k, n_mels, T)
    mel_hz = FeatureExtractor(base_config).mel_fb.argmax(dim=1).numpy() * SR / base_config.n_fft
    flat = S_db.reshape(len(S_db), -1)
    music = (table["class"] == "music").to_numpy()
    return {
        "dynamic range (dB, 95th - 5th percentile of bins)": np.median(np.percentile(flat, 95, 1) - np.percentile(flat, 5, 1)),
        "noise floor (dB, 10th percentile of bins)": np.median(np.percentile(flat, 10, 1)),
        "energy below 250 Hz (dB, mean of bands)": np.median(S_db[:, mel_hz < 250].mean(axis=(1, 2))),
        "energy above 5.5 kHz (dB, mean of bands)": np.median(S_db[:, mel_hz > 5_500].mean(axis=(1, 2))),
        "music: change over time (dB, std of each band)": np.median(S_db[music].std(axis=2).mean(axis=1)),
        "noise: change over time (dB, std of each band)": np.median(S_db[~music].std(axis=2).mean(axis=1)),
    }


diagnosis = pd.DataFrame({"smartphone": describe_windows(phone_test), "laptop": describe_windows(laptop_test)})
diagnosis["laptop - phone"] = diagnosis["laptop"] - diagnosis["smartphone"]
diagnosis.round(1)

# %% [markdown]
# In the seed's words, and what the measurements above show:
#
# | Smartphone recording | Laptop recording | measured above |
# |---|---|---|
# | Clear frequency bands | Blurred, noisy patterns | the noise floor rises: fan, hum and suppression residue fill the quiet bins |
# | High dynamic range | Compressed, washed out | the range between loud and quiet bins shrinks (noise floor up, AGC, clipping) |
# | Distinct musical features | Dominated by background noise | the lows are weaker (the high-pass); above the capsule's roll-off the bins are not emptier but fuller, relative to each window's loudest bin (what the model sees): noise fills them; music's bands change a little more over time (the suppressor's flicker) and noise's a little less (the steady fan), so the two classes look more alike |
#
# ## 2. The collapse, measured honestly
# The phone-trained `music-noise` model of notebook 02 on the phone test windows and on the same windows recorded by the
# simulated laptop:

# %%
before = {"phone": score(base, base_config, phone_test), "laptop": score(base, base_config, laptop_test)}
columns = ["accuracy", "balanced accuracy", "music → noise", "noise → music", "confidence p25", "confidence p75", "windows"]
pd.DataFrame({k: {c: v[c] for c in columns} for k, v in before.items()}).T.round(3)

# %%
fig, axes = plt.subplots(1, 3, figsize=(13, 3.4), gridspec_kw={"width_ratios": [1, 1, 1.6]})
for ax, (name, r) in zip(axes, before.items()):
    t = r["table"]
    viz.plot_confusion(np.bincount(t["label"] * 2 + t["pred"], minlength=4).reshape(2, 2), CLASSES, ax=ax,
                       title=f"{name}: accuracy {pct(r['accuracy'])}")
bins = np.linspace(0, 1, 21)
for name, r in before.items():
    t = r["table"]
    axes[2].hist(t.loc[t["class"] == "music", "p_noise"], bins=bins, alpha=0.6, label=f"{name}: music windows")
    axes[2].hist(t.loc[t["class"] == "noise", "p_noise"], bins=bins, alpha=0.4, histtype="step", lw=2,
                 label=f"{name}: noise windows")
axes[2].set(xlabel="p(noise)", ylabel="windows", title="the model's p(noise)")
axes[2].legend(fontsize=7)
fig.tight_layout()
viz.save_fig(fig, "04_collapse");

# %%
lap = before["laptop"]
collapsed = lap["music → noise"] >= 0.5
print(f"phone {pct(before['phone']['accuracy'])} -> laptop {pct(lap['accuracy'])}: "
      f"music called noise {pct(lap['music → noise'])}, noise called music {pct(lap['noise → music'])}.")
print("The simulated laptop collapses the model onto 'noise', as in the seed." if collapsed else
      "The simulated laptop does NOT collapse the model onto 'noise' the way the seed's laptop did; "
      "the sweeps below show how it degrades and where it does collapse.")
loud = score(base, base_config, loud_fan_test)
print(f"laptop with a loud fan (the stress case, devices.LAPTOP_LOUD_FAN): {pct(loud['accuracy'])}, "
      f"music called noise {pct(loud['music → noise'])}, noise called music {pct(loud['noise → music'])}.")

# %% [markdown]
# ### Which stage does it?
# The chain of part 1 again, one stage added at a time, on the whole test split:

# %%
stage_rows = []
for label, profile in stages:
    r = (before["phone"] if profile is PHONE else before["laptop"] if profile is LAPTOP
         else score(base, base_config, record(splits["test"], profile)))
    stage_rows.append({"chain up to": label, **{k: r[k] for k in ("accuracy", "music → noise", "noise → music")}})
pd.DataFrame(stage_rows).set_index("chain up to").round(3)

# %% [markdown]
# In the reference run no stage collapses this model; each takes a share. The capsule's response alone costs 5 points
# (10 % of the music windows called noise: the weak lows and the resonances make thin music look like noise), the fan
# and hum at 16.5 dB SNR 3 more, now in both directions (11 % of the noise is called music), and clipping plus the
# suppressor 1 more (19 % of the music called noise: the suppressor's flickering residue, "musical noise", sounds like
# neither); the AGC changes little. The laptop costs 9.4 points, but it does not collapse the model as the seed's
# laptop collapsed the seed's: our front end measures every window against its own loudest bin, so a quiet or
# differently levelled microphone, half of the seed's problem (its fix added amplitude normalisation and a lower
# silence threshold), is already taken care of. The loud fan (`LAPTOP_LOUD_FAN`) does collapse it, to 65.7 % with 58 %
# of the music called noise; the sweeps below show where, and that the chain alone, without any noise, does it too
# once it is severe enough. (With the project's first, weaker base model, 91 % on the phone, the loud fan sent every music
# window to noise: how hard a device breaks a model depends on the model as much as on the device.)

# %% [markdown]
# ### Where does it break? Degradation against SNR and severity
# Two sweeps over the same test clips: the **SNR** of the fan + hum with every other laptop stage unchanged, and the
# **severity** of the whole chain (`devices.severity_profile` of the loud-fan laptop: 0 = phone, 0.65 = the laptop,
# 1 = the loud fan; filters, suppression, clipping and compression scale with it, and the SNR drops by 10 dB per step
# above 1 / rises by 30 dB per step below), once with noise and once without (filters and processing only).

# %%
sweep_rows = []
for snr in sorted({*SNR_SWEEP, LAPTOP.snr_db}, reverse=True):
    r = before["laptop"] if snr == LAPTOP.snr_db else score(base, base_config, record(splits["test"], LAPTOP.replace(snr_db=float(snr))))
    sweep_rows.append({"sweep": "SNR (dB)", "x": snr, **{k: r[k] for k in ("accuracy", "music → noise", "noise → music")}})
for s in SEVERITY_SWEEP:
    for with_noise in (True, False):
        r = (before["laptop"] if s == LAPTOP_SEVERITY and with_noise else
             score(base, base_config, record(splits["test"], severity_profile(LAPTOP_LOUD_FAN, s, with_noise=with_noise))))
        sweep_rows.append({"sweep": "severity" + ("" if with_noise else ", no noise"), "x": s,
                           **{k: r[k] for k in ("accuracy", "music → noise", "noise → music")}})
sweeps = pd.DataFrame(sweep_rows)
fig, axes = plt.subplots(1, 2, figsize=(13, 3.6))
by_snr = sweeps[sweeps["sweep"] == "SNR (dB)"]
for key, style in [("accuracy", "-o"), ("music → noise", "--s"), ("noise → music", ":^")]:
    axes[0].plot(by_snr["x"], by_snr[key], style, label=key)
axes[0].axvline(LAPTOP.snr_db, color="grey", lw=0.8)
axes[0].set(xlabel="fan + hum SNR (dB), other laptop stages unchanged", ylim=(-0.02, 1.02), title="SNR sweep")
axes[0].invert_xaxis()
for name, group in sweeps[sweeps["sweep"] != "SNR (dB)"].groupby("sweep"):
    axes[1].plot(group["x"], group["accuracy"], "-o", label=f"accuracy ({name})")
    axes[1].plot(group["x"], group["music → noise"], "--s", label=f"music → noise ({name})")
for x in (LAPTOP_SEVERITY, 1.0):
    axes[1].axvline(x, color="grey", lw=0.8)
axes[1].set(xlabel=f"severity (0 = phone, {LAPTOP_SEVERITY:g} = laptop, 1 = laptop with a loud fan)", ylim=(-0.02, 1.02),
            title="severity sweep")
for ax in axes:
    ax.legend(fontsize=7)
    ax.axhline(0.5, color="grey", lw=0.5, ls=":")
fig.tight_layout()
viz.save_fig(fig, "04_degradation");
sweeps.round(3)

# %%
for name, group in sweeps.groupby("sweep", sort=False):
    hit = group[group["music → noise"] >= 0.5]
    where = (f"music → noise reaches {pct(hit['music → noise'].iloc[0])} at {name} = {hit['x'].iloc[0]:g}" if len(hit)
             else f"music → noise stays below 50 % (max {pct(group['music → noise'].max())})")
    print(f"{name:>20s}: {where}; accuracy from {pct(group['accuracy'].max())} down to {pct(group['accuracy'].min())}")

# %% [markdown]
# ## 3. The seed's fix: fine-tune on half phone, half laptop data
# The seed recorded 50+ laptop clips, froze the convolutional layers and retrained the classifier at lr 1e-4 for 20
# epochs on a 50/50 mix of smartphone and laptop data. Here: `RECIPE.ft_clips` (50) training-split clips (half music, half noise)
# "recorded" by the simulated laptop; batches drawn half from the phone training clips and half from those laptop clips
# (`finetune.MixedWindows`); lr 1e-4, 20 epochs, through the project's one training loop (`train.fit`, which keeps the
# epoch with the best validation score on phone and laptop validation windows together). `finetune.finetune_for_device`
# is that recipe, in two variants:
#
# - **the seed's**: the convolutional body of `music-noise` frozen, with its BatchNorm statistics (`models.freeze_base`);
#   only the classifier (here one linear layer on the pooled embedding) learns;
# - **whole network**: the same data and epochs, every layer allowed to adapt (`train_body=True`), at lr 1e-3. The
#   learning rate was chosen on the phone + laptop validation windows (best validation balanced accuracy, 20 epochs of
#   512 windows, on the previous base model: 1e-4 0.854, 3e-4 0.877, 1e-3 0.897, 2e-3 0.899; the last two are one
#   window apart and the smaller lr was kept; docs/experiments.md). 512 windows per epoch instead of 128 cost 15 s more per run and gave the same or better validation.
#
# Part 5 runs the same function on clips from a folder.

# %%
phone_val_windows, phone_val_table = RECIPE.recorded_windows(splits["val"], PHONE, N)
laptop_val_windows, laptop_val_table = RECIPE.recorded_windows(splits["val"], LAPTOP, N)
ft_val_windows, ft_val_labels = join_windows((phone_val_windows, phone_val_table), (laptop_val_windows, laptop_val_table))
phone_train = record(splits["train"], PHONE)
laptop_pool = RECIPE.laptop_pool(splits["train"], max(max(CURVE_CLIPS), RECIPE.ft_clips))  # the learning curve's too
laptop_clips = RECIPE.select(laptop_pool, RECIPE.ft_clips)
print(f"fine-tuning on {len(laptop_clips)} laptop clips "
      f"({(laptop_clips.table['class'] == 'music').sum()} music, {(laptop_clips.table['class'] == 'noise').sum()} noise, "
      f"{np.diff(laptop_clips.offsets).sum() / SR / 60:.1f} min) + {len(phone_train)} phone clips")


def finetune(model, config, device_clips, *, train_body: bool):
    """``finetune.finetune_for_device`` with the recipe's settings; returns (model, history, seconds)."""
    t0 = time.perf_counter()
    tuned, history = finetune_for_device(model, FeatureExtractor(config), phone_train, device_clips, ft_val_windows,
                                         ft_val_labels, CLASSES, seed=RECIPE.seed,
                                         **RECIPE.finetune_settings(train_body=train_body))
    return tuned, history, time.perf_counter() - t0


# %%
finetuned = {"seed's recipe (frozen body)": finetune(base, base_config, laptop_clips, train_body=False),
             "whole network": finetune(base, base_config, laptop_clips, train_body=True)}
after = {name: {"phone": score(m, base_config, phone_test), "laptop": score(m, base_config, laptop_test)}
         for name, (m, _, _) in finetuned.items()}
fig, axes = plt.subplots(1, 2, figsize=(11, 3.2))
for ax, (name, (_, history, seconds)) in zip(axes, finetuned.items()):
    viz.plot_history(history, ax=ax, title=f"fine-tuning, {name} ({seconds:.0f} s)")
fig.tight_layout()
viz.save_fig(fig, "04_finetune_history");

# %% [markdown]
# The before/after table in the seed's format (confidence: the middle half, 25th–75th percentile, of the probability the
# model gives the right class on the laptop windows it gets right):

# %%
def seed_column(r: dict) -> list[str]:
    return [pct(r["phone"]["accuracy"]), pct(r["laptop"]["accuracy"]), pct(r["laptop"]["music → noise"]),
            f"{100 * r['laptop']['confidence p25']:.0f}-{100 * r['laptop']['confidence p75']:.0f}%"]


seed_table = pd.DataFrame(
    {"Before fine-tuning": seed_column(before), **{f"After: {k}": seed_column(v) for k, v in after.items()}},
    index=["Smartphone accuracy", "Laptop accuracy", "Music → Noise misclassification", "Confidence on correct predictions"],
).rename_axis("Metric")
display(seed_table)
for name, r in after.items():
    change = 100 * (r["phone"]["accuracy"] - before["phone"]["accuracy"])
    print(f"{name}: laptop {pct(r['laptop']['accuracy'])} (95 % interval {ci(r['laptop'])}; target >= 95 %: "
          f"{'met' if r['laptop']['accuracy'] >= 0.95 else 'NOT met'}); phone {change:+.1f} points "
          f"(target: loses at most 1 point: {'met' if change >= -1.0 else 'NOT met'})")
print(f"for scale: the phone-trained model gets {pct(before['phone']['accuracy'])} of the *phone* test windows right; "
      f"one test window is {100 / before['phone']['windows']:.1f} points")

# %% [markdown]
# `music-noise-laptop` is the variant with the better **validation** score (phone + laptop validation windows; the test
# split plays no part in the choice):

# %%
laptop_choice = max(finetuned, key=lambda k: finetuned[k][1]["val_bal_acc"].max())
laptop_model, laptop_history, laptop_seconds = finetuned[laptop_choice]
laptop_path = save_device_checkpoint(
    ckpt_dir / "music-noise-laptop.pt", laptop_model, base_ckpt,
    train_summary={"recipe": f"fine-tuned from music-noise ({laptop_choice}) on 50 % phone + 50 % laptop windows",
                   "base": "music-noise", "laptop_clips": len(laptop_clips), "device": "devices.LAPTOP (simulated)",
                   "device_seed": RECIPE.device_seed, "num_epochs": RECIPE.ft_epochs,
                   "lr": RECIPE.finetune_settings(train_body=laptop_choice == "whole network")["lr"],
                   "windows_per_epoch": RECIPE.ft_windows_per_epoch, "seconds": round(laptop_seconds, 1),
                   "val_bal_acc": float(laptop_history["val_bal_acc"].max())},
    metrics={"test": after[laptop_choice]["phone"]["metrics"], "test_laptop": after[laptop_choice]["laptop"]["metrics"],
             "summary": {k: {m: v[m] for m in columns} for k, v in after[laptop_choice].items()}})
print(f"saved {laptop_path.name}: {laptop_choice}")

# %% [markdown]
# ## 4. Beyond the seed
# Fine-tuning fixes *one* laptop, with recordings from it. Two ideas aim at a model that needs no laptop recordings:
#
# - **random-device augmentation**: each training window goes, with probability 0.8, through a *random* simulated
#   device (`devices.random_device`: high-pass 40–500 Hz, 0–3 resonances, low-pass 3–8 kHz, fan/hum/hiss at −3 to
#   30 dB SNR, clipping, suppression, AGC, 8-kHz μ-law and 11-kHz codecs, coarse quantisation). The laptop is one point
#   of that distribution, not its target;
# - **per-frequency normalisation** (`FeatureConfig(normalization="per_freq")`): each mel band minus its mean over the
#   window. A microphone's frequency response multiplies each band by a constant, i.e. adds a constant in dB, which
#   this removes exactly; a stationary fan or hum is flattened too. The price: the average spectral shape of the
#   window, which also tells music from noise, is removed as well.
#
# Three models: both ideas together, and each alone to see what it does. `music-noise-robust` is the one of the two
# augmentation-trained models (both ideas, or random devices alone) with the better validation score, the same rule
# that picks `music-noise-laptop` in part 3. Each starts from the phone-trained `music-noise` of notebook 02 and is
# trained on with its loop (`finetune.train_robust`) for `RECIPE.robust_epochs` × `RECIPE.robust_windows_per_epoch`
# windows (16 × 2,048) at lr `RECIPE.robust_lr` (1e-3; with `per_freq`, the network relearns its input scale). Their
# validation windows (for choosing the epoch) are phone windows plus windows through random devices: **never the
# laptop**. Starting from the phone model instead of from scratch was chosen on that validation score
# (docs/experiments.md: 0.897 vs 0.876 for both ideas together, 0.945 vs 0.866 for random devices alone). They are
# tested on the phone, the laptop, and three conditions used nowhere in training or validation: a telephone line and a
# webcam (`devices.PRESETS`; the random devices include similar stages, not these chains) and real room noise (the test
# split's own noise recordings mixed under its music at 5 dB SNR, a kind of noise no device simulation adds).

# %%
random_val_windows, random_val_table = RECIPE.random_device_windows(splits["val"], N)
robust_val_windows, robust_val_labels = join_windows((phone_val_windows, phone_val_table),
                                                     (random_val_windows, random_val_table))
per_freq_config = FeatureConfig(normalization="per_freq")

trained = {}
for name, config, random_devices in [("per_freq + random devices", per_freq_config, True),
                                     ("random devices only (max_db)", base_config, True),
                                     ("per_freq only", per_freq_config, False)]:
    t0 = time.perf_counter()
    model, history = train_robust(base, FeatureExtractor(config), splits["train"], robust_val_windows, robust_val_labels,
                                  CLASSES, seed=RECIPE.seed, **RECIPE.robust_settings(random_devices=random_devices))
    seconds = time.perf_counter() - t0
    trained[name] = (model, config, history)
    print(f"{name}: {seconds:.0f} s, best epoch {int(history['val_bal_acc'].idxmax()) + 1}, "
          f"validation balanced accuracy {history['val_bal_acc'].max():.3f} (phone + random devices)")

# %% [markdown]
# Every model so far on every condition:

# %%
def room_noise(clips, snr_db: float = 5.0, seed: int = 3):
    """Each music clip with a noise clip of the same split mixed under it at ``snr_db`` (noise clips unchanged)."""
    rng = np.random.default_rng(seed)
    noise_idx = np.flatnonzero((clips.table["class"] == "noise").to_numpy())
    pieces = []
    for i in range(len(clips)):
        y = clips.clip(i)
        if clips.table["class"].iloc[i] == "music":
            y = np.clip(mix_at_snr(y, np.resize(clips.clip(int(rng.choice(noise_idx))), len(y)), snr_db), -1, 1)
        pieces.append(y.astype(np.float32))
    return type(clips)(np.concatenate(pieces), clips.offsets.copy(), clips.table.copy(), clips.sample_rate)


conditions = {"phone": phone_test, "laptop": laptop_test, "laptop, loud fan": loud_fan_test,
              "telephone (unseen)": record(splits["test"], PRESETS["telephone"]),
              "webcam (unseen)": record(splits["test"], PRESETS["webcam"]),
              "room noise 5 dB (unseen)": room_noise(phone_test)}
UNSEEN = [c for c in conditions if "unseen" in c]


def condition_row(model, config) -> dict:
    row = {name: score(model, config, clips)["accuracy"] for name, clips in conditions.items()}
    row["mean unseen"] = float(np.mean([row[c] for c in UNSEEN]))
    return row


# music-noise-robust: the augmentation-trained variant with the better validation score (phone + random devices; the
# same rule that picks music-noise-laptop in part 3; the laptop and the test split play no part).
robust_val = {k: float(trained[k][2]["val_bal_acc"].max()) for k in ("per_freq + random devices", "random devices only (max_db)")}
robust_choice = max(robust_val, key=robust_val.get)
robust, robust_config, robust_history = trained[robust_choice]
results = {"phone-trained (02)": condition_row(base, base_config)}
results.update({f"fine-tuned, {k}": condition_row(m, base_config) for k, (m, _, _) in finetuned.items()})
results.update({name: condition_row(m, c) for name, (m, c, _) in trained.items()})
pd.DataFrame(results).T.round(3)

# %%
robust_scores = {"phone": score(robust, robust_config, phone_test), "laptop": score(robust, robust_config, laptop_test)}
print(f"music-noise-robust = {robust_choice} (validation: " + ", ".join(f"{k} {v:.3f}" for k, v in robust_val.items()) + ")")
print(f"music-noise-robust, no laptop data at all: laptop {pct(robust_scores['laptop']['accuracy'])} "
      f"(95 % interval {ci(robust_scores['laptop'])}; target >= 93 %: {'met' if robust_scores['laptop']['accuracy'] >= 0.93 else 'NOT met'}), "
      f"phone {pct(robust_scores['phone']['accuracy'])}")
robust_path = save_device_checkpoint(
    ckpt_dir / "music-noise-robust.pt", robust, base_ckpt, feature_config=robust_config,
    train_summary={"recipe": f"music-noise trained on, {robust_choice}, 80 % of windows through random devices",
                   "chosen_from": {k: round(v, 4) for k, v in robust_val.items()},
                   "base": "music-noise", "num_epochs": RECIPE.robust_epochs,
                   "windows_per_epoch": RECIPE.robust_windows_per_epoch, "lr": RECIPE.robust_lr,
                   "validation": "phone + random-device windows (no laptop)",
                   "val_bal_acc": float(robust_history["val_bal_acc"].max()), "epochs_run": int(len(robust_history))},
    metrics={"test": robust_scores["phone"]["metrics"], "test_laptop": robust_scores["laptop"]["metrics"],
             "summary": {k: {m: v[m] for m in columns} for k, v in robust_scores.items()},
             "conditions": results[robust_choice]})
print("saved", robust_path.name)

# %% [markdown]
# ### 4b. How many laptop clips does fine-tuning need?
# The whole-network recipe of part 3 with 0 (no fine-tuning), a handful, and more laptop clips (nested selections: the
# 5 clips are among the 10), starting from the phone-trained model; the seed's frozen-body recipe and the robust model
# fine-tuned the same way are marked at `RECIPE.ft_clips` clips.

# %%
curve_rows = [{"laptop clips": 0, "laptop accuracy": before["laptop"]["accuracy"], "phone accuracy": before["phone"]["accuracy"]}]
for n_clips in [n for n in CURVE_CLIPS if n > 0]:
    if n_clips == RECIPE.ft_clips:
        r = after["whole network"]
    else:
        m = finetune(base, base_config, RECIPE.select(laptop_pool, n_clips), train_body=True)[0]
        r = {"laptop": score(m, base_config, laptop_test), "phone": score(m, base_config, phone_test)}
    curve_rows.append({"laptop clips": n_clips, "laptop accuracy": r["laptop"]["accuracy"], "phone accuracy": r["phone"]["accuracy"]})
curve = pd.DataFrame(curve_rows)
robust_tuned = finetune(robust, robust_config, laptop_clips, train_body=True)[0]
results["music-noise-robust + fine-tuned (whole network)"] = condition_row(robust_tuned, robust_config)
fig, ax = plt.subplots(figsize=(7.5, 3.6))
ax.plot(curve["laptop clips"], curve["laptop accuracy"], "-o", label="phone-trained + fine-tuning: laptop")
ax.plot(curve["laptop clips"], curve["phone accuracy"], "--", color="tab:blue", alpha=0.6, label="... : phone")
ax.plot([RECIPE.ft_clips], [after["seed's recipe (frozen body)"]["laptop"]["accuracy"]], "s", color="tab:red",
        label="seed's recipe (frozen body): laptop")
ax.plot([0, RECIPE.ft_clips], [results[robust_choice]["laptop"], results["music-noise-robust + fine-tuned (whole network)"]["laptop"]],
        "-^", color="tab:green", label="music-noise-robust (+ fine-tuning): laptop")
ax.axhline(0.95, color="grey", lw=0.6, ls=":")
ax.set_xscale("symlog", linthresh=1)
ax.set(xlim=(-0.2, 1.4 * max(CURVE_CLIPS)), xlabel="laptop clips used for fine-tuning (half music, half noise)",
       ylabel="window accuracy", title="laptop test accuracy vs laptop clips")
ax.set_xticks(CURVE_CLIPS, [str(n) for n in CURVE_CLIPS])
ax.legend(fontsize=7)
fig.tight_layout()
viz.save_fig(fig, "04_learning_curve");
curve.round(3)

# %% [markdown]
# ### 4c. Which part of each fix does what
# Every model on every condition, and what each ingredient adds in points of accuracy over the phone-trained model
# (which was trained longer, in notebook 02, without device augmentation and with the `max_db` front end):

# %%
attribution = pd.DataFrame(results).T
gains = (attribution[["phone", "laptop", "mean unseen"]] - attribution.loc["phone-trained (02)", ["phone", "laptop", "mean unseen"]]) * 100
display(attribution.round(3))
gains.round(1).add_suffix(" (points)")

# %%
g = gains["laptop"]
both, aug, norm = g["per_freq + random devices"], g["random devices only (max_db)"], g["per_freq only"]
frozen = g["fine-tuned, seed's recipe (frozen body)"]
print(f"laptop, points over the phone-trained model: per_freq alone {norm:+.1f}, random devices alone {aug:+.1f}, "
      f"both {both:+.1f} (interaction {both - norm - aug:+.1f}); fine-tuning with {RECIPE.ft_clips} laptop clips: "
      f"frozen body {frozen:+.1f}, whole network {g['fine-tuned, whole network']:+.1f}; "
      f"robust + whole-network fine-tuning {g['music-noise-robust + fine-tuned (whole network)']:+.1f}")
u = gains["mean unseen"]
print(f"unseen conditions (mean), points: per_freq alone {u['per_freq only']:+.1f}, random devices alone "
      f"{u['random devices only (max_db)']:+.1f}, both {u['per_freq + random devices']:+.1f}; "
      f"laptop fine-tuning (whole network) {u['fine-tuned, whole network']:+.1f}")

# %% [markdown]
# ### 4d. How sure are these numbers?
# The targets are single numbers on 107 test clips (169 windows), from one training run each. Two things move them
# that have nothing to do with the recipe: *which* clips happen to be in the test split, and the training seed. The
# first is measured here, by resampling the test clips (all windows of a clip stay together: they share one
# recording); the second by rerunning the fixed recipes with other seeds (`experiments/seed_spread.py`, below).

# %%
interval_rows = {}
for name, scores in {"phone-trained (02)": before, f"music-noise-laptop ({laptop_choice})": after[laptop_choice],
                     f"music-noise-robust ({robust_choice})": robust_scores}.items():  # scored above, on the same windows
    row = {}
    for condition in ("phone", "laptop"):
        row[condition], row[f"{condition}: 95 % interval"] = pct(scores[condition]["accuracy"]), ci(scores[condition])
    interval_rows[name] = row
pd.DataFrame(interval_rows).T

# %% [markdown]
# The intervals are wide. In the reference run `music-noise-laptop`'s 92.3 % on the laptop has a 95 % interval of
# 86.9-96.9 %, `music-noise-robust`'s 93.5 % one of 88.2-97.7 %: both targets lie inside them, and so do scores 5
# points lower. One test split of this size cannot tell 92 % from 95 %. The training seed moves the numbers by as much (`experiments/seed_spread.py`: the same recipes, the same data
# and epoch choice, only the seed changed; seed 0 is this notebook's run and reproduces it exactly; docs/experiments.md):
#
# | recipe | seed | laptop | phone | loud fan |
# |---|---|---|---|---|
# | whole-network fine-tuning (`music-noise-laptop`) | 0, 1, 2, 3, 4 | 92.3, 92.3, 89.3, 92.9, 87.0 % (mean 90.8) | 96.4, 95.3, 95.9, 95.3, 97.0 % (mean 96.0) | 78.7, 79.3, 79.3, 76.3, 78.1 % |
# | random devices only, max_db (`music-noise-robust`) | 0, 1, 2, 3, 4 | 94.1, 92.9, 95.3, 94.1, 93.5 % (mean 94.0) | 95.3, 96.5, 95.3, 95.3, 95.3 % (mean 95.5) | 84.6, 83.4, 85.8, 85.8, 85.2 % |
# | per_freq + random devices | 0, 1, 2 | 92.3, 89.3, 91.1 % (mean 90.9) | 90.5, 89.9, 90.5 % | 90.5, 87.6, 89.9 % |
#
# (The robust rows were run with one torch thread, this notebook with two; the order of floating-point sums changes the
# run, so seed 0 there gives 94.1 % where this notebook's seed 0 gives 93.5 %.) Fine-tuning's reference run is a
# typical-to-lucky draw: on average it reaches 90.8 % for a 95 % target, and the phone loses 1.0 point, right at its
# budget. `music-noise-robust` reaches 93 % in four of five seeds and 94.0 % on average; the variant with per-frequency
# normalisation, bundled until the validation rule picked the variant, averages 90.9 %. A single lucky seed crossing a
# line would not be evidence; five seeds averaging above it are some.
#
# **Is the validation caveat of part 1 to blame?** Every validation window here is a recording of a clip the refit
# `music-noise` has trained on, so choosing epochs on it could favour models that stay close to the base.
# `experiments/clean_dev.py` reruns the recipes from notebook 02's *train-only* model, for which the validation split is
# truly unseen, and watches every device on validation each epoch: whole-network fine-tuning peaks there at epoch 3
# (this notebook picked epoch 2) and then declines (laptop 86.8 % → 82.4 % by epoch 20, phone 93.1 → 86.8 %): picking an
# early epoch is right, not an artefact of the caveat. The two robust variants tie on clean validation (0.863 with
# per_freq, 0.865 without): part of the clear margin on this notebook's validation (0.897 vs 0.945) is the caveat's
# bias towards the variant that keeps the base's front end, but the clean validation does not reverse the choice, and
# five training seeds support it on test (94.0 % vs 90.9 % on the laptop). What limits fine-tuning is the data: a few
# hundred training clips, and 50 fixed recordings of one device.

# %% [markdown]
# ## 5. Your own microphone
# The recorder below (`audioclf_lib.recorder.RecorderWidget`) records N clips of one class at a time from your input
# device into `data/devices/<device>/<class>/` (16-bit WAV, 16 kHz). Play music near your laptop and record the music
# class, then record the room without music (fan, typing, street) for the noise class. The next cell then fine-tunes
# the phone-trained model on your clips with the same code as part 3. Recording runs in a background thread: the
# notebook stays responsive and Stop works.
#
# On a remote kernel (JupyterHub, a container) the kernel's machine has no microphone: the recorder's **input** menu
# then offers your browser's microphone (allow it when the browser asks), so you can record the microphone you
# actually use. Until there are at least 4 clips per class in your folder (as when this notebook is executed headless,
# where the cell below prints "No microphone here"), the fine-tuning cell uses simulated laptop clips written to
# `data/devices/simulated_laptop/` instead, so the whole path (folder → `devices.load_device_clips` →
# `finetune.finetune_on_recordings` → scores) still runs.

# %%
available, why = input_device_status()
recorder = RecorderWidget(devices_dir(), CLASSES, device_name=DEVICE_NAME, n_clips=RECORD_CLIPS, seconds=5.0, sr=SR)
display(recorder.widget)
if not available:
    print(f"No microphone here ({why}). Skipping recording: the next cell fine-tunes on simulated laptop clips.")

# %%
MIN_OWN_CLIPS = 4  # per class, before your own recordings are used
own_folder = devices_dir() / DEVICE_NAME
own_counts = count_clips(own_folder, CLASSES)
if min(own_counts.values()) >= MIN_OWN_CLIPS:
    folder, simulated = own_folder, False
    print(f"fine-tuning on your recordings in data/devices/{DEVICE_NAME}/: {own_counts}")
else:
    folder, simulated = devices_dir() / ("simulated_laptop_quick" if QUICK else "simulated_laptop"), True
    recordings = record(select_clips(splits["train"], 2 * RECORD_CLIPS, CLASSES, seed=RECIPE.seed + 5), LAPTOP,
                        seed=RECIPE.device_seed + 5)
    written = write_device_clips(recordings, folder)
    print(f"{own_counts} clips of your own (fewer than {MIN_OWN_CLIPS} per class): wrote {len(written)} simulated laptop "
          f"clips to data/devices/{folder.name}/ instead")
device_clips = load_device_clips(folder, CLASSES, sr=SR)
# Every 4th clip of the device is held out, to see how the fine-tuned model does on recordings it did not train on.
own_body = laptop_choice == "whole network"  # the variant part 3 chose on validation
own = finetune_on_recordings(base, base_extractor, phone_train, phone_val_windows, phone_val_table["label"], device_clips,
                             CLASSES, hold_out_every=4, seed=RECIPE.seed, **RECIPE.finetune_settings(train_body=own_body))
own_model, own_train, own_test = own.model, own.train_clips, own.held_out_clips
own_rows = {"phone-trained (02)": base, f"fine-tuned on {folder.name}": own_model}
own_results = pd.DataFrame({
    name: {"phone test": score(m, base_config, phone_test)["accuracy"],
           f"{folder.name} clips held out of training (they also pick the epoch)": score(m, base_config, own_test)["accuracy"],
           **({"laptop test (simulated)": score(m, base_config, laptop_test)["accuracy"]} if simulated else {})}
    for name, m in own_rows.items()}).T
print(f"{len(own_train)} clips for fine-tuning, {len(own_test)} held out")
own_results.round(3)

# %% [markdown]
# With your own clips, the model is saved next to them as `data/devices/<device>/music-noise-<device>.pt`, usable
# with `python -m audioclf_lib classify --model data/devices/<device>/music-noise-<device>.pt FILE`. The same
# fine-tuning (`finetune.finetune_on_recordings`) runs outside Jupyter as
# `python -m audioclf_lib finetune data/devices/<device>`, with the corpus' own clips as the base data.

# %%
if not simulated:
    own_path = save_device_checkpoint(folder / f"music-noise-{DEVICE_NAME}.pt", own_model, base_ckpt,
                                      train_summary={"recipe": "finetune_for_device on your recordings",
                                                     "base": "music-noise", "clips": own_counts})
    print("saved", own_path)
else:
    print("simulated clips only: nothing saved")

# %% [markdown]
# ## Summary
# What the full reference run gives (window accuracy on the 169 music and noise windows of the test split; one window
# is 0.6 points):
#
# - **The laptop, simulated** stage by stage with documented parameters (`audioclf_lib.devices`, reproducible, SNR exact),
#   its severity set on validation where the seed's own fix does what it did on the seed's real laptop: the
#   phone-trained `music-noise` model falls from 97.0 % (phone) to 87.6 % (laptop), 16 % of the music windows called
#   noise and 8 % of the noise called music. It does **not** collapse: our front end already removes the level
#   differences that were half of the seed's trouble. The same chain with a loud fan (`LAPTOP_LOUD_FAN`, fan 6 dB below
#   the music, 20-dB suppressor) collapses it onto noise (65.7 %, 58 % of the music called noise), and so does the
#   laptop's own chain at an SNR of −5 dB, or without any noise at 1.5× the loud fan's severity.
# - **The seed's fix** (frozen body, lr 1e-4, 20 epochs, 50 laptop + phone clips 50/50): laptop 87.6 → 89.3 %, phone
#   97.0 → 96.4 %. Letting the whole network adapt (lr 1e-3, chosen on validation): laptop **92.3 %**, phone 96.4 %
#   (−0.6 points, within the 1-point budget; bundled as `music-noise-laptop`). The laptop stays short of the 95 %
#   target (**not met**, by 5 windows), and the learning curve is flat beyond 10 clips (92.3 % with 10, 25 and 50 clips,
#   91.7 % with 100). The information is there: a model trained from scratch with every training clip heard through
#   this laptop, fresh noise every window, reaches 95.9 % on it (phone 95.3 %; `experiments/laptop_oracle.py`,
#   docs/experiments.md). Fifty recordings of one device are not every training clip through it. Seven other recipes
#   (docs/experiments.md, "Fine-tuning for the laptop": other mixes, learning rates, lengths, the robust model as the start, robust
#   training with the laptop recordings in it) score within a few windows of this one on validation, and none that was
#   also scored on test averages 95 % on the laptop over seeds (best: 92.9 %). Ten times the data (all 509 training
#   clips recorded once through the laptop) averages 93.3 % over three seeds and costs the phone 1.7 points; averaging
#   the bundled models' probabilities reaches 93.5 % (docs/experiments.md, "Ten times the recordings, averaged models").
# - **No fine-tuning at all**: the phone model trained on through random simulated devices, with its own front end,
#   gives **93.5 %** on the laptop without a single laptop recording (more than fine-tuning on 50 of them), 84.6 % on
#   the loud-fan laptop (+18.9 points) and keeps 95.3 % on the phone (−1.8 points). Bundled as `music-noise-robust`
#   (chosen over the per_freq variant on validation, 0.945 vs 0.897): the 93 % laptop target is **met**, here and on
#   average over five training seeds (94.0 %). Adding per-frequency normalisation gives the best loud-fan and
#   unseen-device scores of every model (90.5 % loud fan, telephone line 92.9 %, webcam 92.3 %) but 92.3 % on the
#   laptop and 90.5 % on the phone. Fine-tuning `music-noise-robust` on the 50 laptop clips does not help (laptop
#   90.5 %): the learning curve, not the starting point, is the limit.
# - **Which part does what**: on the laptop, per-frequency normalisation alone adds 2.4 points, random devices alone
#   5.9 and both together 4.7; on the loud fan 15.4, 18.9 and 24.9. On the conditions no model saw (telephone line,
#   webcam, real room noise) each ingredient adds 1.4-1.8 points on average (90.9 % mean for both vs 89.2 % for the
#   phone-trained model), while the laptop fine-tuned model loses 1.0 point there: fine-tuning fits one device.
# - **How sure**: the test split's 107 clips give every laptop score here a 95 % interval about 10 points wide
#   (86.9-96.9 % for `music-noise-laptop`, 88.2-97.7 % for `music-noise-robust`), and over training seeds the
#   recipes average 90.8 % (fine-tuning, five seeds, phone −1.0 points on average) and 94.0 % (`music-noise-robust`,
#   five seeds) on the laptop: the fine-tuning target is missed on average by 4 points, the robust one met by 1. A clean
#   rerun from a train-only base (`experiments/clean_dev.py`) shows the contaminated validation is not what holds
#   fine-tuning back.
# - **Your own microphone**: record clips per class with the widget, fine-tune with the same function (executed here on
#   simulated laptop clips written to a device folder: 15 clips lift the simulated laptop test from 87.6 % to 91.7 %).
#
# **Next:** [05_live_demo](05_live_demo.ipynb) classifies live audio inside Jupyter with these models.
