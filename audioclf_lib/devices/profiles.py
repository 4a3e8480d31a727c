"""Recording devices as data: :class:`DeviceProfile`, the presets, severity scaling and random devices.

Notebook: 04_device_mismatch_finetune.ipynb

A profile only describes a device; :func:`audioclf_lib.devices.simulate` records through it.
Every stage is off unless its parameter is set, so ``DeviceProfile()`` is a transparent channel.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "Resonance",
    "DeviceProfile",
    "severity_profile",
    "PHONE",
    "LAPTOP_LOUD_FAN",
    "LAPTOP_SEVERITY",
    "LAPTOP",
    "TELEPHONE",
    "WEBCAM",
    "PRESETS",
    "get_profile",
    "random_device",
]


@dataclass(frozen=True)
class Resonance:
    """A resonant peak (or dip, with a negative gain) of the microphone's frequency response.

    Notebook: 04_device_mismatch_finetune.ipynb
    """

    freq_hz: float  #: centre frequency
    gain_db: float  #: peak height (negative: a notch)
    q: float = 2.0  #: quality factor: bandwidth = freq_hz / q

    def __post_init__(self) -> None:
        if self.freq_hz <= 0 or self.q <= 0:
            raise ValueError(f"Resonance needs freq_hz > 0 and q > 0, got freq_hz={self.freq_hz}, q={self.q}")


@dataclass(frozen=True)
class DeviceProfile:
    """A recording device as a chain of stages; a stage whose main parameter is ``None`` is off.

    Notebook: 04_device_mismatch_finetune.ipynb
    """

    name: str = "custom"
    # -- 1. capsule: frequency response ------------------------------------------------------
    #: -3 dB point of the low-frequency roll-off (Hz). A 4-mm capsule with a tiny back volume,
    #: plus the DSP high-pass laptops add against fan rumble and keyboard thumps: 150-400 Hz.
    highpass_hz: float | None = None
    #: Butterworth order of the roll-off: 2 = 12 dB/octave, a sealed capsule.
    highpass_order: int = 2
    #: Resonant peaks: the pinhole + front cavity Helmholtz resonance (2-5 kHz, +6 to +12 dB),
    #: chassis panel modes (around 1 kHz, a few dB).
    resonances: tuple[Resonance, ...] = ()
    #: -3 dB point of the high-frequency roll-off (Hz): dust mesh, capsule mass, a cheap codec's
    #: anti-alias filter. A good phone stays flat to 8 kHz and beyond; laptops roll off early.
    lowpass_hz: float | None = None
    #: Butterworth order of the high-frequency roll-off (4 = 24 dB/octave).
    lowpass_order: int = 4
    # -- 2. noise -----------------------------------------------------------------------------
    #: Signal-to-noise ratio (dB) of everything added (fan + hum + self-noise) against the
    #: signal after the capsule, over the whole clip. ``None``: nothing added.
    snr_db: float | None = None
    #: Fan speed (rpm) and blade count: the blade-pass frequency ``rpm / 60 * blades`` and its
    #: harmonics are the fan's tones. Laptop blowers: 3,000-6,000 rpm, 25-60 blades.
    fan_rpm: float = 4_500.0
    fan_blades: int = 31
    #: Broadband fan noise is roughly flat up to this corner (Hz) ...
    fan_corner_hz: float = 600.0
    #: ... and falls this fast above it (dB per octave).
    fan_slope_db_per_octave: float = -5.0
    #: Share of the fan's power in its blade-pass tones (0-1).
    fan_tone_share: float = 0.2
    #: Mains frequency of the hum (50 Hz in Europe, 60 Hz in the Americas).
    hum_hz: float = 50.0
    #: Number of hum harmonics (odd ones dominate: transformer and rectifier non-linearity).
    hum_harmonics: int = 12
    #: Share of the added noise power that is mains hum / electrical interference (0-1).
    hum_share: float = 0.0
    #: Share of the added noise power that is white self-noise of the preamplifier (0-1).
    white_share: float = 0.0
    # -- 3. ADC overload --------------------------------------------------------------------------
    #: The preamplifier sends the clip's loudest peak this many dB past full scale: everything
    #: above ``peak - clip_db`` is clipped flat. ``None``: no clipping.
    clip_db: float | None = None
    # -- 4. noise suppression -------------------------------------------------------------------
    #: Deepest attenuation (dB, positive) the suppressor applies to bins it judges to be noise.
    #: ``None``: no suppression. Voice-tuned laptop suppressors: 12-30 dB.
    suppression_db: float | None = None
    #: Over-subtraction factor: how many times the noise estimate is subtracted (1-3). Higher
    #: removes more noise and more music, and leaves more "musical noise".
    suppression_over: float = 1.5
    #: Percentile of each frequency's power over time taken as the noise estimate (minimum
    #: statistics): a note held through the whole clip is estimated as noise too.
    suppression_percentile: float = 20.0
    # -- 5. automatic gain control --------------------------------------------------------------
    #: Level (dBFS, RMS over 10-ms frames) the AGC steers towards. ``None``: no AGC.
    agc_target_dbfs: float | None = None
    #: Compression ratio: a level ``d`` dB above the target comes out ``d / ratio`` dB above it.
    agc_ratio: float = 3.0
    #: Most gain the AGC may apply (dB): how far it lifts quiet passages (and the noise floor).
    agc_max_gain_db: float = 20.0
    #: Envelope attack and release times (s): fast attack, slow release, like voice AGCs.
    agc_attack_s: float = 0.01
    agc_release_s: float = 0.4
    # -- 6. codec -------------------------------------------------------------------------------
    #: Sample rate of the transmission (Hz), e.g. 8000 for telephone; the output is resampled
    #: back to the input rate, so the band above ``codec_sr / 2`` is simply gone.
    codec_sr: int | None = None
    #: G.711 mu-law companding to 8 bits (the telephone codec).
    mu_law: bool = False
    #: Uniform quantisation to this many bits (e.g. 8 for a cheap path). ``None``: none.
    bits: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "resonances", tuple(
            r if isinstance(r, Resonance) else Resonance(*r) for r in self.resonances))
        for name in ("highpass_hz", "lowpass_hz", "codec_sr"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name}={value} must be positive (or None to switch the stage off)")
        if self.highpass_hz is not None and self.lowpass_hz is not None and self.highpass_hz >= self.lowpass_hz:
            raise ValueError(f"highpass_hz={self.highpass_hz} must be below lowpass_hz={self.lowpass_hz}")
        for name in ("fan_tone_share", "hum_share", "white_share"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name}={value} must lie in [0, 1]")
        if self.hum_share + self.white_share > 1.0 + 1e-9:
            raise ValueError(f"hum_share + white_share = {self.hum_share + self.white_share} exceeds 1")
        if self.agc_ratio < 1.0:
            raise ValueError(f"agc_ratio={self.agc_ratio} must be >= 1")
        if self.suppression_db is not None and self.suppression_db < 0:
            raise ValueError(f"suppression_db={self.suppression_db} must be >= 0 (an attenuation)")
        if self.bits is not None and not 2 <= self.bits <= 24:
            raise ValueError(f"bits={self.bits} must lie in [2, 24]")
        if self.clip_db is not None and self.clip_db < 0:
            raise ValueError(f"clip_db={self.clip_db} must be >= 0 (dB past full scale)")

    @property
    def blade_pass_hz(self) -> float:
        """Fundamental of the fan's tones (Hz): ``fan_rpm / 60 * fan_blades``."""
        return self.fan_rpm / 60.0 * self.fan_blades

    def replace(self, **changes) -> "DeviceProfile":
        """A copy with some fields changed (validated again).

        Notebook: 04_device_mismatch_finetune.ipynb

        Parameters
        ----------
        **changes : field names and their new values.

        Returns
        -------
        DeviceProfile
        """
        return dataclasses.replace(self, **changes)

    def describe(self) -> pd.DataFrame:
        """The stages that are on, in words.

        Notebook: 04_device_mismatch_finetune.ipynb

        Returns
        -------
        pandas.DataFrame, one row per stage that is on (index ``stage``), column ``setting``;
        a single ``(none)`` row for a transparent channel.
        """
        rows = []
        if self.highpass_hz or self.lowpass_hz or self.resonances:
            parts = []
            if self.highpass_hz:
                parts.append(f"high-pass {self.highpass_hz:g} Hz ({6 * self.highpass_order} dB/oct)")
            parts += [f"peak {r.freq_hz:g} Hz {r.gain_db:+g} dB Q{r.q:g}" for r in self.resonances]
            if self.lowpass_hz:
                parts.append(f"low-pass {self.lowpass_hz:g} Hz ({6 * self.lowpass_order} dB/oct)")
            rows.append(("capsule", ", ".join(parts)))
        if self.snr_db is not None:
            fan = 1.0 - self.hum_share - self.white_share
            rows.append(("noise", f"SNR {self.snr_db:g} dB: fan {fan:.0%} (tones at {self.blade_pass_hz:.0f} Hz), "
                                  f"hum {self.hum_share:.0%} ({self.hum_hz:g} Hz), self-noise {self.white_share:.0%}"))
        if self.clip_db is not None:
            rows.append(("clipping", f"peaks {self.clip_db:g} dB past full scale"))
        if self.suppression_db is not None:
            rows.append(("noise suppression", f"up to -{self.suppression_db:g} dB, over-subtraction {self.suppression_over:g}"))
        if self.agc_target_dbfs is not None:
            rows.append(("AGC", f"target {self.agc_target_dbfs:g} dBFS, ratio {self.agc_ratio:g}:1, "
                                f"max gain {self.agc_max_gain_db:g} dB"))
        if self.codec_sr or self.mu_law or self.bits:
            parts = [f"{self.codec_sr} Hz" if self.codec_sr else "", "mu-law" if self.mu_law else "",
                     f"{self.bits} bits" if self.bits else ""]
            rows.append(("codec", ", ".join(p for p in parts if p)))
        if not rows:
            rows.append(("(none)", "transparent channel"))
        return pd.DataFrame(rows, columns=["stage", "setting"]).set_index("stage")


def severity_profile(profile: DeviceProfile, severity: float, *, with_noise: bool = True) -> DeviceProfile:
    """``profile`` scaled between transparent (0) and itself (1), and beyond (> 1).

    Notebook: 04_device_mismatch_finetune.ipynb

    High-pass corner, resonance gains, suppression depth, clipping and AGC compression scale
    linearly (the low-pass corner geometrically from 8 kHz); the SNR falls by 10 dB per unit of
    severity above 1 and rises by 30 dB per unit below.

    Parameters
    ----------
    profile : the device at severity 1.
    severity : float >= 0.
    with_noise : ``False``: no noise at all, whatever the severity.

    Returns
    -------
    DeviceProfile named ``<profile.name>x<severity>``.
    """
    s = float(severity)
    if s < 0:
        raise ValueError(f"severity={severity} must be >= 0")
    if s == 0:
        return DeviceProfile(name=f"{profile.name}x0")
    changes: dict = {"name": f"{profile.name}x{s:g}"}
    if profile.highpass_hz is not None:
        changes["highpass_hz"] = profile.highpass_hz * s
    changes["resonances"] = tuple(Resonance(r.freq_hz, r.gain_db * s, r.q) for r in profile.resonances)
    if profile.lowpass_hz is not None:
        changes["lowpass_hz"] = 8_000.0 * (profile.lowpass_hz / 8_000.0) ** s
        if changes.get("highpass_hz") and changes["highpass_hz"] >= changes["lowpass_hz"]:
            changes["highpass_hz"] = 0.5 * changes["lowpass_hz"]
    if profile.suppression_db is not None:
        changes["suppression_db"] = profile.suppression_db * s
    if profile.clip_db is not None:
        changes["clip_db"] = profile.clip_db * s
    if profile.agc_target_dbfs is not None:
        changes["agc_ratio"] = 1.0 + (profile.agc_ratio - 1.0) * s
    if not with_noise or profile.snr_db is None:
        changes["snr_db"] = None
    else:
        changes["snr_db"] = profile.snr_db - 10.0 * (s - 1.0) if s >= 1 else profile.snr_db + 30.0 * (1.0 - s)
    return profile.replace(**changes)


#: The corpus recordings as they are. They stand for the smartphone the seed trained on: a
#: phone's MEMS microphone is flat from ~100 Hz to beyond 8 kHz, its recordings are clean, and
#: whatever processing it did is already in the data. A transparent channel.
PHONE = DeviceProfile(name="phone")

#: A harsher laptop, kept as a stress case (its figures are illustrative, not sourced): a small
#: capsule behind a pinhole, Helmholtz peak at 3.2 kHz, a panel mode at 1.2 kHz, early roll-off at
#: 5.5 kHz, a 4,500-rpm 31-blade blower (tones at 2.3 kHz) plus 50-Hz hum at 6 dB SNR, an aggressive
#: suppressor (20 dB, 2x over-subtraction), AGC and a hot preamplifier. It destroys information: a
#: model trained from scratch with every training clip heard through it reaches only 92.9 % on it
#: (``experiments/laptop_oracle.py``, docs/experiments.md, 2026-11-22).
LAPTOP_LOUD_FAN = DeviceProfile(
    name="laptop_loud_fan",
    highpass_hz=300.0,
    highpass_order=2,
    resonances=(Resonance(1_200.0, 4.0, 3.0), Resonance(3_200.0, 9.0, 2.5)),
    lowpass_hz=5_500.0,
    lowpass_order=4,
    snr_db=6.0,
    fan_rpm=4_500.0,
    fan_blades=31,
    fan_corner_hz=600.0,
    fan_slope_db_per_octave=-5.0,
    fan_tone_share=0.2,
    hum_hz=50.0,
    hum_share=0.15,
    white_share=0.05,
    clip_db=3.0,
    suppression_db=20.0,
    suppression_over=2.0,
    agc_target_dbfs=-20.0,
    agc_ratio=3.0,
    agc_max_gain_db=20.0,
)

#: Severities of notebook 04's **stress sweep**: :data:`LAPTOP` scaled by :func:`severity_profile`
#: (0 = the phone, 1 = :data:`LAPTOP` itself, above 1 = a harsher laptop: every stage harder, the
#: fan 10 dB louder per unit). A sweep for seeing where a model breaks, not a calibrated choice:
#: no severity of it was picked to make any model reach any score.
LAPTOP_SEVERITY: tuple[float, ...] = (0.0, 1.0, 2.0, 3.0, 3.5, 4.0, 5.0)

def _helmholtz_hz(hole_mm: float = 0.8, channel_mm: float = 2.0, cavity_mm3: float = 12.0, c: float = 343.0) -> float:
    """Helmholtz resonance (Hz) of a microphone's acoustic path, ``c / (2 pi) sqrt(A / (V L_eff))``.

    Notebook: 04_device_mismatch_finetune.ipynb

    The defaults are an assumed laptop bezel path (no datasheet gives a laptop's): a 0.8-mm hole, a
    2-mm channel through bezel and gasket (plus end corrections, 1.7 x the radius) and 12 mm^3 of
    cavity (gasket ring + capsule front volume): 6.8 kHz. ST's simulation of a tablet's shorter path
    puts it at 21.6 kHz (Morcelli & Widder, "Understanding acoustic design for MEMS microphones",
    EDN Asia, 2014; ST AN4427): a longer, narrower path lowers it into the band the model sees.
    """
    r = hole_mm / 2e3
    return c / (2 * np.pi) * float(np.sqrt(np.pi * r ** 2 / (cavity_mm3 * 1e-9 * (channel_mm / 1e3 + 1.7 * r))))


#: A laptop's built-in microphone (a MEMS capsule behind a hole in the display bezel) recording music
#: played in the room while the fan runs under load, through a typical voice-processing chain. Every
#: figure comes from a datasheet, a standard or a measurement, or is named an assumption:
#:
#: - **capsule**: MEMS capsules are flat over the voice band (Microsoft's recommendation for an
#:   integrated laptop array: frequency response within +/-6 dB from 200 Hz to 12 kHz, SNR >= 64 dB(A),
#:   AOP >= 120 dB SPL; learn.microsoft.com, "Microphone array recommendations", Speech SDK). What
#:   shapes the response is the processing and the acoustic path: the voice chain's DC/rumble
#:   high-pass, a 2nd-order Butterworth at **100 Hz** (WebRTC's audio processing module,
#:   ``modules/audio_processing/high_pass_filter.cc``: ``butter(2, 100/8000, 'high')``), and the
#:   path's Helmholtz resonance, **+6 dB at 6.8 kHz**, Q 2 (frequency from the assumed geometry of
#:   :func:`_helmholtz_hz`; the height is the edge of Microsoft's +/-6 dB mask, an assumption). No
#:   low-pass: the capsule is flat past the 8 kHz the 16-kHz front end keeps.
#: - **fan noise at 20 dB SNR**: the music at the laptop at about 65 dB(A), the level of a raised
#:   conversational voice at 1 m (Pearsons, Bennett & Fidell 1977, EPA-600/1-77-025: 55-66 dB(A) for
#:   normal to raised voice; an assumption for music "at conversation level"), against a gaming
#:   laptop's fan under load at about **45 dB(A)** at the user (reviews measure 40-47 dB(A), e.g. 47 dB
#:   for a Lenovo Legion 5 under gaming load, 32-44 dB(A) for five 2023 laptops under Cinebench;
#:   the bezel microphone sits about as far from the fan as the reviewers' meters). The fan's shape (a
#:   4,500-rpm 31-blade blower: tones at 2.3 kHz; flat to 600 Hz, then -5 dB/octave) is an
#:   assumption; 5 % of the noise power is 50-Hz charger hum (assumption) and 3 % the capsule's
#:   self-noise (SNR 64 dB(A) re 94 dB SPL: about 30 dB(A), 15 dB below the fan).
#: - **no clipping**: 65 dB(A) is 55 dB below an AOP of 120 dB SPL, and the AGC has a limiter.
#: - **noise suppression, 12 dB**: WebRTC's default level (``NoiseSuppression::kModerate`` =
#:   ``k12dB``: over-subtraction 1.0, minimum gain 0.25), with a quantile noise estimate (its
#:   ``QUANTILE`` is 0.25: the 25th percentile of each frequency's power over time).
#: - **AGC**: WebRTC's AGC1 defaults, a target peak level of -3 dBFS and at most 9 dB of digital gain
#:   (``target_level_dbfs = 3``, ``compression_gain_db = 9``); as an RMS target over 10-ms frames,
#:   -12 dBFS (an assumed 9-dB crest factor); ratio 3:1 (assumption).
#:
#: Nothing here was adjusted to make a model reach a score; notebook 04 measures what it does.
LAPTOP = DeviceProfile(
    name="laptop",
    highpass_hz=100.0,
    highpass_order=2,
    resonances=(Resonance(6_800.0, 6.0, 2.0),),
    lowpass_hz=None,
    snr_db=20.0,
    fan_rpm=4_500.0,
    fan_blades=31,
    fan_corner_hz=600.0,
    fan_slope_db_per_octave=-5.0,
    fan_tone_share=0.2,
    hum_hz=50.0,
    hum_share=0.05,
    white_share=0.03,
    clip_db=None,
    suppression_db=12.0,
    suppression_over=1.0,
    suppression_percentile=25.0,
    agc_target_dbfs=-12.0,
    agc_ratio=3.0,
    agc_max_gain_db=9.0,
)

#: A telephone line (held out: used only to test how models generalise): 300-3,400 Hz band,
#: G.711 mu-law at 8 kHz, line hiss at 25 dB SNR and a handset AGC.
TELEPHONE = DeviceProfile(
    name="telephone", highpass_hz=300.0, highpass_order=4, lowpass_hz=3_400.0, lowpass_order=6,
    snr_db=25.0, hum_share=0.1, white_share=0.9, hum_hz=60.0, agc_target_dbfs=-18.0, agc_ratio=4.0,
    codec_sr=8_000, mu_law=True,
)

#: A cheap USB webcam microphone (held out): thin lows, a presence peak and a dip from its
#: housing, 60-Hz USB ground-loop hum, hiss at 12 dB SNR, strong AGC, 10-bit effective ADC.
WEBCAM = DeviceProfile(
    name="webcam", highpass_hz=150.0, highpass_order=3,
    resonances=(Resonance(2_000.0, 6.0, 1.5), Resonance(4_500.0, -8.0, 2.0)), lowpass_hz=7_000.0,
    snr_db=12.0, hum_hz=60.0, hum_share=0.3, white_share=0.5, fan_rpm=2_000.0, fan_blades=7,
    agc_target_dbfs=-16.0, agc_ratio=6.0, agc_max_gain_db=30.0, clip_db=1.0, bits=10,
)

#: Named presets: ``phone`` and ``laptop`` for the lesson, ``laptop_loud_fan`` its stress case,
#: ``telephone`` and ``webcam`` held out.
PRESETS: dict[str, DeviceProfile] = {"phone": PHONE, "laptop": LAPTOP, "laptop_loud_fan": LAPTOP_LOUD_FAN,
                                     "telephone": TELEPHONE, "webcam": WEBCAM}


def get_profile(name: str | DeviceProfile) -> DeviceProfile:
    """A preset by name, or the profile itself.

    Notebook: 04_device_mismatch_finetune.ipynb

    Parameters
    ----------
    name : a key of :data:`PRESETS` (``"phone"``, ``"laptop"``, ...) or a :class:`DeviceProfile`.

    Returns
    -------
    DeviceProfile; raises ``ValueError`` naming the known presets for an unknown name.
    """
    if isinstance(name, DeviceProfile):
        return name
    if name not in PRESETS:
        raise ValueError(f"unknown device preset {name!r}; known: {sorted(PRESETS)}")
    return PRESETS[name]


def random_device(rng: np.random.Generator, sr: int = 16_000) -> DeviceProfile:
    """Draw a plausible recording device: each stage on or off at random, settings from wide ranges.

    Notebook: 04_device_mismatch_finetune.ipynb

    Ranges cover phones, laptops, webcams, headsets and telephone lines: high-pass 40-500 Hz,
    0-3 resonances (0.5-6 kHz, -6 to +12 dB), low-pass 3-8 kHz, SNR -3 to 30 dB with fan,
    hum (50 or 60 Hz) and white noise in random shares, clipping, suppression, AGC, and codecs
    (8 kHz, 11.025 kHz, mu-law, 8-12 bits). The point is not to hit the laptop but to cover
    it, and devices nobody simulated, with room to spare.

    Parameters
    ----------
    rng : the generator every choice is drawn from (the same state gives the same device).
    sr : sample rate the device will record at (Hz): a codec rate at or above it is dropped.

    Returns
    -------
    DeviceProfile named ``random``.
    """
    u = rng.uniform
    kw: dict = {"name": "random"}
    if rng.random() < 0.8:
        kw["highpass_hz"] = float(np.exp(u(np.log(40.0), np.log(500.0))))
        kw["highpass_order"] = int(rng.integers(1, 4))
    kw["resonances"] = tuple(Resonance(float(np.exp(u(np.log(500.0), np.log(6_000.0)))), float(u(-6.0, 12.0)),
                                       float(u(0.7, 4.0))) for _ in range(int(rng.integers(0, 4))))
    if rng.random() < 0.7:
        kw["lowpass_hz"] = float(u(3_000.0, 7_800.0))
        kw["lowpass_order"] = int(rng.integers(2, 7))
    if rng.random() < 0.85:
        kw["snr_db"] = float(u(-3.0, 30.0))
        shares = rng.dirichlet([1.0, 0.6, 0.6]) * (rng.random(3) < [0.9, 0.5, 0.6])
        shares = shares / shares.sum() if shares.sum() > 0 else np.array([1.0, 0.0, 0.0])
        kw.update(hum_share=float(shares[1]), white_share=float(min(shares[2], 1.0 - shares[1])), hum_hz=float(rng.choice([50.0, 60.0])),
                  hum_harmonics=int(rng.integers(3, 20)), fan_rpm=float(u(1_500.0, 6_500.0)),
                  fan_blades=int(rng.integers(5, 60)), fan_corner_hz=float(np.exp(u(np.log(100.0), np.log(3_000.0)))),
                  fan_slope_db_per_octave=float(u(-9.0, -1.0)), fan_tone_share=float(u(0.0, 0.5)))
    if rng.random() < 0.3:
        kw["clip_db"] = float(u(0.5, 10.0))
    if rng.random() < 0.5:
        kw["suppression_db"] = float(u(6.0, 30.0))
        kw["suppression_over"] = float(u(1.0, 3.0))
        kw["suppression_percentile"] = float(u(10.0, 40.0))
    if rng.random() < 0.6:
        kw.update(agc_target_dbfs=float(u(-30.0, -10.0)), agc_ratio=float(u(1.5, 10.0)),
                  agc_max_gain_db=float(u(6.0, 30.0)), agc_attack_s=float(u(0.002, 0.05)),
                  agc_release_s=float(u(0.1, 1.0)))
    r = rng.random()
    if r < 0.15:
        kw.update(codec_sr=8_000, mu_law=bool(rng.random() < 0.7))
    elif r < 0.25:
        kw["codec_sr"] = 11_025
    elif r < 0.35:
        kw["bits"] = int(rng.integers(8, 13))
    if kw.get("codec_sr") is not None and kw["codec_sr"] >= sr:
        kw.pop("codec_sr")
    if kw.get("highpass_hz") and kw.get("lowpass_hz") and kw["highpass_hz"] >= kw["lowpass_hz"]:
        kw.pop("highpass_hz")
    return DeviceProfile(**kw)
