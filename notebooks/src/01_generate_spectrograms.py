# %% [markdown]
# # 01 · From waveform to mel-spectrogram to a leak-free training set
#
# **What you will learn**
# - how a clip of audio becomes a log-mel spectrogram, step by step (STFT, mel scale, decibels), and why each step is there;
# - to listen before you look: every example below comes with a player;
# - the traps of *real* recordings (length, loudness, bandwidth, voices without words, balance, leakage) and what the
#   pipeline does about each;
# - how the normalisation and the silence filter work;
# - how to split a corpus so the test score means something;
# - the two image representations of the seed projects, and what they cost.
#
# **Reads** the corpus in `data/starter/` (or `$AUDIOCLF_DATA`: one folder per class, `<class>/*.wav|flac|ogg|mp3`,
# optionally a `manifest.csv` with each clip's source, original recording, original sample rate and split).
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
from IPython.display import display

from audioclf_lib import audio, viz
from audioclf_lib.augment import band_limit
from audioclf_lib.cache import eval_set, prepare_splits
from audioclf_lib.config import CLASS_NAMES, REPO_ROOT, FeatureConfig, data_dir
from audioclf_lib.data import assigned_splits, build_manifest, split_manifest, split_table
from audioclf_lib.features import FeatureExtractor, mel_filterbank, seed_image_via_matplotlib
from audioclf_lib.runtime import setup_notebook
from audioclf_lib.timing import time_ms

device = setup_notebook(seed=SEED)
corpus = data_dir()
if not corpus.exists():
    raise SystemExit(f"No corpus at {corpus}: set AUDIOCLF_DATA to a folder with music/, speech/, noise/ subfolders.")
print("corpus:", corpus.relative_to(REPO_ROOT) if corpus.is_relative_to(REPO_ROOT) else corpus.name, "| QUICK:", QUICK)
PLAYER_SECONDS = 3  # each player carries ~6 KB of notebook per second of audio
# Inline figures at 72 dpi and spectrograms in 20 colour steps (4 dB each) keep this notebook's PNGs at about a
# third of their size, still easy to read; the files saved to figures/ keep savefig.dpi.
plt.rcParams["figure.dpi"] = 72
SPEC_CMAP = plt.get_cmap("magma", 20)


# %% [markdown]
# ## 1. The corpus as a table
# Every clip gets a row: class, the *source* it came from (a game's soundtrack, a voice-prompt set…), the
# *original recording* it was cut from, duration and original sample rate. Files that cannot be read are
# not silently dropped: they are listed with a reason. In `data/starter` every source is a package of a software
# registry, and its name says which: `deb_` (Debian), `pypi_` (PyPI) or `npm_` (npm).

# %%
manifest, skipped = build_manifest(corpus)
registry = manifest.groupby("source")["source"].first().str.split("_").str[0]  # deb_..., pypi_..., npm_...
print(f"{len(manifest)} clips, {len(skipped)} skipped, {manifest['duration_s'].sum() / 60:.1f} minutes, "
      f"{manifest['source'].nunique()} sources (by name prefix: {registry.value_counts().to_dict()})")
manifest.groupby("class").agg(clips=("path", "size"), sources=("source", "nunique"),
                              originals=("original", "nunique"), minutes=("duration_s", lambda s: round(s.sum() / 60, 1)))

# %% [markdown]
# ## 2. Listen first, then look: waveform → STFT → mel → dB
# One clip of each class (the middle one of its folder, at most its first 3 s). Listen to them
# before reading the pictures below: the pictures are only useful if you know what they should show.

# %%
config = FeatureConfig(sample_rate=SAMPLE_RATE)  # the project's front-end settings (section 3)
examples = {cls: manifest[manifest["class"] == cls].sort_values("path").iloc[(manifest["class"] == cls).sum() // 2]
            for cls in CLASS_NAMES}
clips = {cls: audio.load_audio(corpus / row["path"], SAMPLE_RATE)[0][: PLAYER_SECONDS * SAMPLE_RATE]
         for cls, row in examples.items()}
viz.audio_players({f"{cls}: {examples[cls]['source']}": y for cls, y in clips.items()}, SAMPLE_RATE)

# %% [markdown]
# > **Background: the short-time Fourier transform (STFT).** A spectrum of the whole clip would say *which*
# > frequencies occur but not *when*. The STFT cuts the signal $y[n]$ into overlapping frames of $N$ = `n_fft` = 1024
# > samples (64 ms at $f_s$ = 16 kHz), one every $H$ = `hop_length` = 256 samples (16 ms), fades each frame in and out
# > with a Hann window $w[n]$ (so its cut edges do not smear energy over all frequencies), and takes the discrete
# > Fourier transform of each:
# >
# > $$X[k, t] = \sum_{n=0}^{N-1} w[n]\, y[n + tH]\, e^{-2\pi i k n / N}, \qquad k = 0, 1, \dots, N/2 .$$
# >
# > Bin $k$ stands for the frequency $k f_s / N$ (bins are $f_s/N$ apart, up to $f_s/2$ = 8 kHz) and frame $t$ for the
# > time $tH/f_s$. The **power spectrogram** is $S[k, t] = |X[k, t]|^2$: $N/2 + 1$ = 513 rows, one column per frame.
# > librosa and our front end *centre* frame $t$ on sample $tH$ (the signal is padded with $N/2$ zeros at both ends),
# > so $L$ samples give $1 + \lfloor L / H \rfloor$ frames. A longer frame resolves frequency more finely and time
# > more coarsely; $N$ sets that trade-off.

# %% [markdown]
# > **Background: the mel scale.** We hear pitch differences roughly linearly in frequency below about 1 kHz and
# > logarithmically above, where equal *ratios* sound like equal steps (2 → 4 kHz like 4 → 8 kHz). The mel scale
# > models this. Our front end uses librosa's default, Slaney's mel scale (`librosa.hz_to_mel`, re-implemented in
# > `audioclf_lib/features_numpy.py`):
# >
# > $$m(f) = \begin{cases} \dfrac{3 f}{200} & f < 1000 \text{ Hz} \\[1ex] 15 + 27\,\dfrac{\ln(f / 1000)}{\ln 6.4} & f \ge 1000 \text{ Hz} \end{cases}$$
# >
# > (not the HTK formula $2595 \log_{10}(1 + f/700)$ that some toolkits use: same idea, other numbers).
# > `n_mels` + 2 points evenly spaced in mel between `fmin` = 20 Hz and `fmax` = 8 kHz define `n_mels` triangular
# > filters: band $b$ rises from point $b$ to point $b+1$ and falls to point $b+2$, and has unit area (Slaney norm).
# > Stacked as a matrix $W$ of shape (`n_mels`, 513), they turn each power spectrum into 64 numbers: $M = W S$,
# > narrow bands at low frequencies, wide ones at high frequencies.

# %%
W = mel_filterbank(config).numpy()  # (n_mels, n_fft // 2 + 1): one triangle per row
fft_hz = librosa.fft_frequencies(sr=config.sample_rate, n_fft=config.n_fft)
hz = np.linspace(0, config.sample_rate / 2, 400)
fig, axes = plt.subplots(1, 2, figsize=(11, 2.6), gridspec_kw={"width_ratios": [1, 2]})
axes[0].plot(hz, librosa.hz_to_mel(hz))
axes[0].axvline(1000, color="grey", ls=":", lw=1)
axes[0].set(xlabel="frequency (Hz)", ylabel="mel", title="Slaney mel scale (linear below 1 kHz)")
axes[1].plot(fft_hz, W[::4].T, lw=0.8)  # every fourth band, so the triangles stay apart
axes[1].set(xlabel="frequency (Hz)", ylabel="weight", title=f"mel filterbank: every 4th of {config.n_mels} bands")
fig.tight_layout()
viz.save_fig(fig, "01_mel_filterbank");

# %% [markdown]
# > **Background: decibels.** Power in audio spans many orders of magnitude, and both the ear and a CNN cope better
# > with ratios than with raw power. The front end converts the mel power $M$ to decibels *relative to the window's
# > loudest bin*, and clamps everything more than `top_db` = 80 dB below it:
# >
# > $$S_\text{dB}[b, t] = \max\!\Big(10 \log_{10} \frac{\max(M[b, t],\, 10^{-10})}{\max_{b', t'} M[b', t']},\; -80\Big) \in [-80, 0] .$$
# >
# > It is $10 \log_{10}$ because $M$ is a power ($20 \log_{10}$ for amplitudes): +3 dB doubles the power, +10 dB
# > multiplies it by ten, 80 dB is a factor of $10^8$. librosa's `power_to_db(M, ref=np.max)` computes the same
# > (80 dB is its default `top_db`). Levels of whole waveforms are in **dBFS**: $20 \log_{10}$ of the RMS amplitude,
# > where 0 dBFS is a full-scale square wave.

# %%
N_FFT, HOP = config.n_fft, config.hop_length  # 1024 and 256 samples: the front end's settings
fig, axes = plt.subplots(3, 3, figsize=(10, 4.8))
for col, (cls, y) in enumerate(clips.items()):
    sr = SAMPLE_RATE
    viz.plot_waveform(y, sr, ax=axes[0, col], title=f"{cls}: {examples[cls]['source']}")
    S = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP)) ** 2  # (513, T) power, linear frequency
    image = axes[1, col].imshow(librosa.power_to_db(S, ref=np.max, top_db=80), origin="lower", aspect="auto",
                                cmap=SPEC_CMAP, extent=(0, S.shape[1] * HOP / sr, 0, sr / 2), interpolation="nearest")
    axes[1, col].set(xlabel="time (s)", ylabel="frequency (Hz)", title=f"STFT power: {S.shape[0]} linear bins")
    axes[1, col].set_yticks([0, 2000, 4000, 6000, 8000], ["0", "2k", "4k", "6k", "8k"])
    fig.colorbar(image, ax=axes[1, col], label="dB re max", pad=0.02)
    M = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=N_FFT, hop_length=HOP, n_mels=config.n_mels,
                                       fmin=config.fmin, fmax=config.fmax)  # (64, T) = W @ S
    viz.plot_spectrogram(librosa.power_to_db(M, ref=np.max, top_db=80), sr=sr, hop_length=HOP, ax=axes[2, col],
                         title=f"{config.n_mels} mel bands", label="dB re max", cmap=SPEC_CMAP)
for ax in axes.flat:
    ax.title.set_fontsize(9)
fig.tight_layout()
viz.save_fig(fig, "01_waveform_to_mel");

# %% [markdown]
# Read the mel row with the players above: on the mel axis 1 kHz sits a third of the way up, so the frequencies below
# it, where pitch and the first speech formants live, get a third of the picture instead of an eighth. Music typically
# shows horizontal lines (held pitches and their harmonics) and vertical onsets (drums, plucks); speech shows stacked, gliding
# harmonics broken by pauses between syllables; noise (sound effects, ambiences) is broadband texture or bursts
# without a harmonic comb.

# %% [markdown]
# ### Exercise 1: what one FFT bin and one mel band are worth
# With `n_fft` = 1024 at 16 kHz: (a) how many Hz apart are two FFT bins, and how long is one frame in ms?
# (b) How many FFT bins does the *lowest* of the front end's 64 mel bands cover, and roughly how many the *highest*?
# Predict with the formulas in the background boxes, then check with `W` from the cell above.
#
# <details><summary>Solution</summary>
#
# (a) $f_s / N$ = 16000 / 1024 = 15.625 Hz per bin; a frame is 1024 / 16000 s = 64 ms (and the hop 16 ms).
#
# (b) The 66 mel points run from $m(20)$ = 0.3 to $m(8000) \approx$ 45.25, so they are about 0.69 mel apart.
# Below 1 kHz one mel is 200/3 ≈ 66.7 Hz: the lowest triangle spans two steps, about 92 Hz, i.e. about 6 bins.
# Above 1 kHz a step of 0.69 mel multiplies the frequency by $6.4^{0.69/27} \approx 1.049$: the highest triangle
# spans about 7.3 to 8 kHz, roughly 700 Hz or some 45 bins. Fine resolution where pitch lives, coarse at the top.
#
# ```python
# bins = (W > 0).sum(axis=1)  # FFT bins with a non-zero weight, per mel band
# print(config.sample_rate / config.n_fft, "Hz per bin;", 1000 * config.n_fft / config.sample_rate, "ms per frame")
# print("lowest band:", bins[0], "bins; highest band:", bins[-1], "bins")
# ```
# </details>

# %% [markdown]
# ## 3. The project's one front end
# Everything after this notebook (training, evaluation, the CLI, the live demo) uses
# `features.FeatureExtractor`: `torch.stft` + librosa's mel filterbank as one matrix product, batched, on CPU or
# CUDA. Its settings are a frozen `FeatureConfig` that is saved inside every checkpoint. It matches librosa:

# %%
extractor = FeatureExtractor(config)
y, _ = audio.load_audio(corpus / examples["music"]["path"], SAMPLE_RATE)
window = audio.fix_length(y, config.window_samples)  # one 5-s model window
ours = extractor.power_mel(torch.from_numpy(window)[None])[0].numpy()
ref = librosa.feature.melspectrogram(y=window, sr=SAMPLE_RATE, n_fft=config.n_fft, hop_length=config.hop_length,
                                     n_mels=config.n_mels, fmin=config.fmin, fmax=config.fmax)
print("max |ours - librosa| / max(librosa) =", float(np.abs(ours - ref).max() / ref.max()))
print(config)
print("features of one window:", tuple(extractor(torch.from_numpy(window)).shape), "| cache folder name:", config.slug())

# %% [markdown]
# ### Exercise 2: predict the feature shape
# One 5-s window gives features of shape (1, 64, 313) (batch axis dropped). Predict the shape for (a) `n_mels=128`,
# (b) `hop_length=512`, (c) both, with `window_seconds=2`. Then check with `config.replace(...)`. Why does
# `config.slug()` change too, and what would happen without that?
#
# <details><summary>Solution</summary>
#
# The mel axis has `n_mels` rows; the time axis has $1 + \lfloor L / H \rfloor$ frames (centred frames, STFT box),
# with $L$ = `window_seconds` × 16000 samples. (a) (1, 128, 313); (b) 1 + 80000 // 512 = 157 frames: (1, 64, 157);
# (c) 1 + 32000 // 512 = 63 frames: (1, 128, 63).
#
# ```python
# for changes in ({"n_mels": 128}, {"hop_length": 512}, {"n_mels": 128, "hop_length": 512, "window_seconds": 2.0}):
#     c = config.replace(**changes)
#     x = FeatureExtractor(c)(torch.zeros(1, c.window_samples))
#     print(changes, tuple(x.shape[1:]), c.slug())
# ```
#
# The slug names the cache folder of the evaluation features (section 8): another setting gives another folder, so
# features computed with the old settings are never loaded by mistake (a shape error at best, silently wrong
# features at worst).
# </details>

# %% [markdown]
# ## 4. The traps of real data
# Four plots for three traps, computed over every clip (QUICK: 40 per class): clip **length**, **loudness** (RMS
# level in dBFS), and **bandwidth** twice: the sample rate the file was originally recorded at (a recording at
# 8 kHz has nothing above 4 kHz), and the share of each clip's energy that actually lies above 4 kHz.

# %%
probe = manifest if not QUICK else pd.concat([g.sample(min(len(g), 40), random_state=SEED)
                                             for _, g in manifest.groupby("class")])
rows = []
for rel in probe["path"]:
    y, sr = audio.load_audio(corpus / rel, SAMPLE_RATE)
    S = np.abs(librosa.stft(y, n_fft=config.n_fft)) ** 2
    rows.append({"rms_dbfs": audio.rms_dbfs(y), "loud_dbfs": audio.loud_level_dbfs(y),
                 "hf_db": float(10 * np.log10(S[fft_hz > 4000].sum() / max(S.sum(), 1e-20) + 1e-12))})
probe = pd.concat([probe.reset_index(drop=True), pd.DataFrame(rows)], axis=1)
probe["band"] = pd.cut(probe["orig_sr"], [0, 10_000, 16_000, np.inf], right=False,
                       labels=["≤ 8 kHz (telephone)", "11-15 kHz", "≥ 16 kHz (full band here)"])

fig, axes = plt.subplots(1, 4, figsize=(13, 2.8))
for cls in CLASS_NAMES:
    of_class = probe[probe["class"] == cls]
    axes[0].hist(of_class["duration_s"], bins=np.geomspace(0.2, 12, 25), alpha=0.6, label=cls)
    axes[1].hist(of_class["rms_dbfs"], bins=np.arange(-80, 1, 2.5), alpha=0.6, label=cls)
    axes[3].hist(of_class["hf_db"], bins=np.arange(-80, 1, 2.5), alpha=0.6, label=cls)
bands = pd.crosstab(probe["class"], probe["band"], normalize="index").reindex(CLASS_NAMES)
bands.plot.barh(stacked=True, ax=axes[2], width=0.7, color=["black", "tab:purple", "lightgrey"], legend=False)
axes[2].legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=1, frameon=False)
axes[0].set(title="clip length", xlabel="s (log scale)", xscale="log", ylabel="clips")
axes[1].set(title="loudness", xlabel="RMS level (dBFS)")
axes[2].set(title="original sample rate (share of clips)", ylabel="")
axes[3].set(title="energy above 4 kHz", xlabel="dB relative to the clip's total")
axes[0].legend(fontsize=8)
fig.tight_layout()
viz.save_fig(fig, "01_corpus_traps");

# %%
level = probe["rms_dbfs"]
print(f"RMS level: quietest clip {level.min():.1f} dBFS, loudest {level.max():.1f} dBFS (a {level.max() - level.min():.0f} dB "
      f"span; {level.quantile(0.95) - level.quantile(0.05):.0f} dB between the 5th and 95th percentile)")
per_class = probe.groupby("class").agg(**{
    "clips": ("path", "size"),
    "median length (s)": ("duration_s", "median"),
    "RMS dBFS 5th pct": ("rms_dbfs", lambda s: s.quantile(0.05)),
    "RMS dBFS median": ("rms_dbfs", "median"),
    "RMS dBFS 95th pct": ("rms_dbfs", lambda s: s.quantile(0.95)),
    "median energy above 4 kHz (dB)": ("hf_db", "median"),
})
pd.concat([per_class, bands.add_prefix("rate ")], axis=1).reindex(CLASS_NAMES).round(2)

# %% [markdown]
# The table above is the numbers behind the plots. A trap is easier to believe once heard: here is one clip per trap
# (at most its first 3 s), each as the front end sees it, in dB below the clip's own maximum.

# %%
pick = {
    "short: the shortest clip": probe.nsmallest(1, "duration_s"),
    "telephone band: speech recorded at 8 kHz": probe[(probe["class"] == "speech") & (probe["orig_sr"] <= 8_000)],
    "a voice, no words: labelled noise": probe[(probe["class"] == "noise") & probe["source"].str.contains("vocal")],
    "near silence: the quietest clip": probe.nsmallest(1, "loud_dbfs"),
}
traps = {name: candidates.sort_values("path").iloc[0] for name, candidates in pick.items() if len(candidates)}
trap_clips = {name: audio.load_audio(corpus / row["path"], SAMPLE_RATE)[0][: PLAYER_SECONDS * SAMPLE_RATE]
              for name, row in traps.items()}
fig, axes = plt.subplots(1, len(traps), figsize=(10.5, 2.2), squeeze=False)
for ax, (name, y) in zip(axes[0], trap_clips.items()):
    S_db = extractor.relative_db(torch.from_numpy(y)[None])[0].numpy()  # (64, T) dB in [-80, 0]
    viz.plot_spectrogram(S_db, sr=SAMPLE_RATE, hop_length=config.hop_length, ax=ax, label="dB re max", cmap=SPEC_CMAP,
                         title=f"{name}\n{traps[name]['source']}, {traps[name]['rms_dbfs']:.0f} dBFS")
    ax.title.set_fontsize(8)
fig.tight_layout()
viz.save_fig(fig, "01_trap_examples")
players = list(trap_clips.items())
quietest = trap_clips.get("near silence: the quietest clip")
if quietest is not None:  # as stored it is hardly audible: hear what is there
    players.append(("the quietest clip brought to -20 dBFS", audio.rms_normalize(quietest)))
display(viz.audio_players(players, SAMPLE_RATE))

# %% [markdown]
# What the plots, the table and the players say, and what the pipeline does about each trap:
#
# | trap | what we see (and hear) | what the pipeline does |
# |---|---|---|
# | **length** | music clips are long, most speech and noise clips last a second or two (median lengths in the table) | models see fixed 5-s windows only: long clips are cropped, short ones joined with other clips of the same class or wrapped (`windows.TrainWindows`) |
# | **loudness** | RMS levels span tens of dB (the span is printed above the table) | features are in dB *relative to the window's loudest bin* (gain invariant, section 5); the quietest clip's picture looks as busy as a loud one |
# | **near silence** | a few clips are hardly audible until amplified | the silence filter (section 6) drops them before features are computed, where their level is still known |
# | **bandwidth** | the telephone-band speech has nothing above 4 kHz; some noise clips are band-limited too | training windows of **every** class are band-limited at random (`augment.band_limit`), so "narrow band" cannot mean "speech" |
# | **voices without words** | screams, grunts and battle cries from games are labelled noise | kept as noise: "speech" means words, so the model has to learn more than "a human voice" |
# | **balance** | the classes differ in clips and minutes (section 1) | training draws the class uniformly, then shares a class's windows among its sources (notebook 02); metrics are per class and balanced |
# | **leakage** | clips cut from one original recording are near-duplicates, and each source (one game's soundtrack) sounds alike | the split is grouped by original recording (section 7); notebook 02 also scores on sources held out entirely |

# %% [markdown]
# ## 5. Normalisation: what a quieter microphone changes (nothing)
# The front end removes DC, converts to dB below the window's maximum, clamped at `-top_db` (the dB box above), then
# scales to [-1, 1]: $x = S_\text{dB} / 40 + 1$ for `top_db` = 80. A window played 30 dB quieter gives the same
# features, up to the floor.

# %%
loud = extractor(torch.from_numpy(window)[None])[0, 0].numpy()
quiet = extractor(torch.from_numpy(window * 10 ** (-30 / 20))[None])[0, 0].numpy()
print("max |features(loud) - features(30 dB quieter)| =", float(np.abs(loud - quiet).max()))
fig, axes = plt.subplots(1, 2, figsize=(9, 2.1))
viz.plot_spectrogram(loud, sr=SAMPLE_RATE, hop_length=config.hop_length, ax=axes[0], title="music window, features",
                     vmin=-1, vmax=1, label="normalised log-mel", cmap=SPEC_CMAP)
narrow = extractor(torch.from_numpy(band_limit(window, SAMPLE_RATE, 3400.0))[None])[0, 0].numpy()
viz.plot_spectrogram(narrow, sr=SAMPLE_RATE, hop_length=config.hop_length, ax=axes[1], vmin=-1, vmax=1,
                     title="band-limited to 3.4 kHz (training augmentation)", label="normalised log-mel", cmap=SPEC_CMAP)
fig.tight_layout()
viz.save_fig(fig, "01_normalisation_bandlimit");

# %% [markdown]
# ## 6. The silence filter
# Normalisation hides loudness, so silence has to be decided on the waveform, before the features. The seed gated
# recordings on one amplitude threshold (0.005, about −46 dBFS) and had to lower it for a laptop microphone. Here a
# clip (or live window) is *silent* when even its loud frames (the 95th percentile of 64-ms frame RMS levels) stay
# below `SILENCE_DBFS`. One click does not make a window loud; a quiet, continuous piece of music is not silent.

# %%
levels = audio.frame_rms_dbfs(window)
fig, ax = plt.subplots(figsize=(8, 2.4))
ax.plot(np.arange(len(levels)) * 512 / SAMPLE_RATE, levels, label="frame RMS")
ax.axhline(SILENCE_DBFS, color="grey", ls="--", label=f"gate {SILENCE_DBFS:g} dBFS")
ax.axhline(np.quantile(levels, 0.95), color="tab:green", ls=":", label="95th percentile")
ax.set(xlabel="time (s)", ylabel="dBFS", title="music window: frame levels")
ax.legend(fontsize=8)
viz.save_fig(fig, "01_silence_gate");
print("silent?", audio.is_silent(window, threshold_dbfs=SILENCE_DBFS),
      "| silent at -90 dB gain?", audio.is_silent(window * 10 ** (-90 / 20), threshold_dbfs=SILENCE_DBFS))

# %% [markdown]
# Which clips of the corpus does the gate drop? Their loud frames are below it; some are quiet ambiences, and a short
# sound in a longer, quiet clip can be dropped too (too few loud frames to reach the 95th percentile). Section 8
# drops exactly these, with the reason.

# %%
below = probe[probe["loud_dbfs"] < SILENCE_DBFS]
print(f"{len(below)} of {len(probe)} clips below the gate")
below[["path", "duration_s", "rms_dbfs", "loud_dbfs"]].round(1)

# %% [markdown]
# ### Exercise 3: the quietest clip the gate keeps
# Find, in the `probe` table, the quietest clip (lowest `loud_dbfs`) that passes the gate, and listen to it as stored
# and brought to −20 dBFS (`audio.rms_normalize`). Would you call it silent? Then count, per class, the clips a gate at
# the seed's −46 dBFS would drop. What kind of clip would the model never see?
#
# <details><summary>Solution</summary>
#
# ```python
# kept = probe[probe["loud_dbfs"] >= SILENCE_DBFS]
# row = kept.nsmallest(1, "loud_dbfs").iloc[0]
# y, _ = audio.load_audio(corpus / row["path"], SAMPLE_RATE)
# print(row["path"], f"loud frames at {row['loud_dbfs']:.1f} dBFS")
# display(viz.audio_players({"as stored": y, "at -20 dBFS": audio.rms_normalize(y)}, SAMPLE_RATE))
# print(probe[probe["loud_dbfs"] < -46].groupby("class").size())
# ```
#
# On the full starter corpus the quietest kept clip is a faint game ambience (noise): barely audible as stored, clearly
# a recording once amplified, and a fair thing to call "noise". A −46 dBFS gate drops only noise clips, quiet
# ambiences and a few soft effects: the model would never learn that a quiet room tone is noise, and live, the gate
# would answer "silence" to it. That is why the gate sits at −60 dBFS and looks at loud frames.
# </details>

# %% [markdown]
# ## 7. A split that cannot leak
# Clips cut from the same original recording are near-duplicates: if one is in training and another in test, the
# test score is inflated. `split_manifest` assigns whole original recordings to train/validation/test, each class
# in proportion to its minutes, reproducibly from the seed. `data/starter` is a subset of a larger corpus (corpus v2)
# and its `manifest.csv` carries the split each clip has there (`assigned_splits`): v2 was split that way, by original
# recording, and the bundled checkpoints were trained on its training split, so a fresh split of the subset would put
# clips they trained on into our test split. `prepare_splits` (section 8) uses an assigned split when the manifest has
# one and `split_manifest` otherwise; this cell does the same and checks for leaks.

# %%
assigned = assigned_splits(manifest, corpus)
split = assigned if assigned is not None else split_manifest(manifest, seed=SEED)
print("split:", "assigned by the corpus manifest" if assigned is not None else f"split_manifest(seed={SEED})")
per_original = split.groupby("original")["split"].nunique()
per_source = split.groupby("source")["split"].nunique()
assert (per_original == 1).all(), "an original recording is in two splits"
print("original recordings in more than one split:", int((per_original > 1).sum()),
      "| most clips from one original recording:", int(split.groupby("original").size().max()))
print(f"sources in more than one split: {int((per_source > 1).sum())} of {len(per_source)}")
split_table(split)

# %% [markdown]
# No recording is in two splits. Most *sources* are, though: the test split holds new recordings of familiar game
# soundtracks, voice packs and effect libraries. Its score says how well a model knows these sources; notebook 02
# first reports source-held-out cross-validation, the number to expect on recordings from elsewhere.
#
# ## 8. Decode, filter and cache the splits
# `prepare_splits` repeats sections 1 and 7, decodes every clip on all cores, drops silent or unreadable ones
# (with the reason), and writes the result to a folder named after the corpus' file list, the rate and the seed.
# Later notebooks load it with `cache.load_splits()` and stop with a plain sentence if it is missing.
# For a corpus too large for one machine, set `DASK` in the parameters cell (or `AUDIOCLF_DASK`): the same
# decoding (and, below, the evaluation features) then runs on Dask workers (`pip install -e '.[dask]'`; workers must
# see the corpus under the same path) and caches the same arrays, bit for bit.

# %%
splits, split, skipped = prepare_splits(corpus, sample_rate=SAMPLE_RATE, seed=SEED, quick=QUICK, silence_dbfs=SILENCE_DBFS,
                                        dask=DASK, progress=False)
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
# Two random test windows per class, as the model gets them: normalised log-mel in [-1, 1] (0 dB → 1, −80 dB → −1).
# A short clip wrapped to 5 s shows up as a repeating pattern.

# %%
rng = np.random.default_rng(SEED)
fig, axes = plt.subplots(3, 2, figsize=(7.5, 3.9), layout="constrained")
for r, cls in enumerate(CLASS_NAMES):
    idx = np.flatnonzero(table["class"].to_numpy() == cls)
    for c, k in enumerate(rng.choice(idx, size=min(2, len(idx)), replace=False)):
        viz.plot_spectrogram(features[k, 0], sr=config.sample_rate, hop_length=config.hop_length, ax=axes[r, c],
                             vmin=-1, vmax=1, colorbar=False, cmap=SPEC_CMAP, title=f"{cls} · {table['source'].iloc[k]}")
for ax in axes.flat:
    ax.title.set_fontsize(8)
    ax.label_outer()
fig.colorbar(axes[0, 0].images[0], ax=axes, label="normalised log-mel", fraction=0.03, pad=0.01)
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
img = seed_image_via_matplotlib(window, SAMPLE_RATE)
rows.append({"representation": "seed RGB via matplotlib + PNG (the seed's way)", "shape": img.shape, "values": img.size,
             "ms per 5-s window": time_ms(lambda: seed_image_via_matplotlib(window, SAMPLE_RATE), repeat=5, warmup=1)["median_ms"]})
costs = pd.DataFrame(rows)
costs["values vs log-mel"] = (costs["values"] / costs["values"].iloc[0]).round(1)
costs.round(2)

# %% [markdown]
# The same music window as the seed images (its log-mel is the left panel of section 5's figure). They carry the
# spectrogram as colours (magma: dark = −80 dB, bright = 0 dB) on a resized mel axis; the seed's own image uses
# librosa's default mel range, 0 Hz to 8 kHz.

# %%
def show_rgb(ax, image: np.ndarray, fmin: float, title: str) -> None:
    """An (H, W, 3) colour-mapped mel image, with the Hz axis and the dB colour bar its colours stand for."""
    height = image.shape[0]
    ax.imshow(image, aspect="auto", extent=(0, config.window_seconds, -0.5, height - 0.5),  # row 0 = highest band
              interpolation="nearest")
    ticks_hz, positions = viz.mel_ticks(height, fmin, config.fmax)
    ax.set_yticks(positions, [f"{f / 1000:g}k" if f >= 1000 else str(f) for f in ticks_hz])
    ax.set(xlabel="time (s)", ylabel="frequency (Hz)")
    ax.set_title(title, fontsize=9)
    colours = plt.cm.ScalarMappable(plt.Normalize(-config.top_db, 0), "magma")
    ax.figure.colorbar(colours, ax=ax, label="dB re max", pad=0.02)


fig, axes = plt.subplots(1, 2, figsize=(7, 2.0))
rgb = FeatureExtractor(rgb_config)(w)[0].permute(1, 2, 0).numpy() * 0.5 + 0.5  # (155, 154, 3) in [0, 1]
show_rgb(axes[0], rgb, rgb_config.fmin, "seed RGB 3×155×154, tensor ops")
show_rgb(axes[1], img.transpose(1, 2, 0) * 0.5 + 0.5, 0.0, "seed RGB, matplotlib + PNG")
fig.tight_layout()
viz.save_fig(fig, "01_seed_representations");

# %% [markdown]
# ## Summary
# - A window of audio becomes a 1 × 64 × 313 log-mel image: STFT power, a mel filterbank, dB below the window's
#   maximum, scaled to [-1, 1]; **one** front end whose settings travel with every model and name every cache.
# - Listen before you look: real corpora hide traps (length, loudness, near silence, bandwidth, voices without words,
#   balance, leakage), and each has a concrete counter-measure (section 4's table).
# - Normalisation makes features gain invariant, so silence is gated on the waveform first.
# - The splits are grouped by original recording (kept from corpus v2 for the starter) and cached under names that
#   change when the data or settings change; sources do straddle the splits, hence notebook 02's source-held-out score.
# - The seed representations cost many times more numbers and time (section 10) for no new information.
#
# **Next:** [02_train_cnn](02_train_cnn.ipynb) trains the seed's CNN, a better one and a 3-class model on these splits.
