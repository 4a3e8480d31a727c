"""Microphones and channels: what a phone, a laptop or a random device does to audio.

Notebook: 04_device_mismatch_finetune.ipynb

The seed's music-vs-noise model, trained on smartphone recordings, called everything "noise" on
a laptop's built-in microphone. This package simulates such a device as a chain of physically
motivated stages, in the order sound meets them:

1. **capsule** (acoustic + analogue): a small-capsule microphone behind a pinhole has weak lows
   (high-pass), resonant peaks (the pinhole and the cavity behind it form a Helmholtz resonator,
   the chassis panel rings) and an early high-frequency roll-off (mesh, capsule mass).
2. **noise** at a chosen SNR: fan noise (broadband, falling with frequency, plus blade-pass
   tones) passes through the capsule like the music does; mains hum (50/60 Hz and harmonics)
   and preamplifier self-noise are picked up after it. The SNR is exact by construction.
3. **ADC overload**: the preamplifier gain sends the loudest peaks past full scale (clipping).
4. **noise suppression** (DSP): spectral subtraction with a noise estimate from the quietest
   frames of each frequency; it also eats sustained notes and leaves "musical noise".
5. **automatic gain control** (DSP): levels the signal towards a target with attack/release
   times, compressing dynamics and pumping the noise floor up in quiet passages.
6. **codec**: a lower sample rate (telephone 8 kHz, 11.025 kHz), mu-law companding or coarse
   quantisation; the result comes back at the input rate, the way an application receives it.

Modules: ``profiles`` (:class:`DeviceProfile`, the presets :data:`PHONE`, :data:`LAPTOP`, ...,
:func:`random_device`), ``chain`` (:func:`simulate` and its stages, :class:`RandomDevice`),
``recordings`` (clip sets through devices, device folders). Fine-tuning for a device is
:mod:`audioclf_lib.finetune`; this package depends on no training code.
"""
from . import chain, profiles, recordings
from .chain import (RandomDevice, SimulationParts, capsule_response_db, capsule_sos, fan_noise, mains_hum,
                    measure_snr_db, simulate)
from .profiles import (LAPTOP, LAPTOP_LOUD_FAN, LAPTOP_SEVERITY, PHONE, PRESETS, TELEPHONE, WEBCAM, DeviceProfile,
                       Resonance, get_profile, random_device, severity_profile)
from .recordings import (device_checkpoints, devices_dir, load_device_clips, random_device_clips, select_clips,
                         simulate_clips, write_device_clips)

# The public API is the three modules' (each lists its own names once).
__all__ = [*profiles.__all__, *chain.__all__, *recordings.__all__]
