"""The one sounddevice layer: import it, list and check input devices, open and close an input stream.

Notebook: 04_device_mismatch_finetune.ipynb (the recorder) and 05_live_demo.ipynb (the live microphone)

The recorder (:mod:`audioclf_lib.recorder`) and the live loop's microphone
(:class:`audioclf_lib.live.sources.MicSource`) both go through these functions, so every fault
reads the same wherever it happens: a missing PortAudio library, no sound server or no
microphone, an unknown device name, a device without inputs. Each becomes a
:class:`SoundDeviceError` whose message is a sentence a user can act on, never a PortAudio
traceback.

``sounddevice`` is imported when one of these functions is first called, so importing this
module never touches the audio system (and works where PortAudio is not installed).
"""
from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np

__all__ = [
    "SoundDeviceError",
    "import_sounddevice",
    "input_devices",
    "check_input_device",
    "input_device_status",
    "open_input_stream",
    "close_input_stream",
]

log = logging.getLogger(__name__)


class SoundDeviceError(RuntimeError):
    """No usable input device, or no PortAudio.

    Notebook: 05_live_demo.ipynb

    ``str(exc)`` is a sentence with advice (``"No input device: ... Connect a microphone. (Error
    querying device -1)"``); :attr:`reason` says the same as a clause for a status line
    (``"no input device: ...; connect a microphone (Error querying device -1)"``).

    Parameters
    ----------
    what : str
        The fault as a clause, in lower case unless it starts with a name.
    advice : str
        What the user can do (a clause, may be empty).
    detail : str
        What PortAudio said (may be empty).
    """

    def __init__(self, what: str, *, advice: str = "", detail: str = ""):
        detail = f" ({detail})" if detail else ""
        super().__init__(what[:1].upper() + what[1:] + "." + (f" {advice}." if advice else "") + detail)
        self.reason = what + (f"; {advice[:1].lower()}{advice[1:]}" if advice else "") + detail


def _or_choose(alternative: str | None) -> str:
    return f", or choose {alternative}" if alternative else ""


def import_sounddevice(*, alternative: str | None = None):
    """``import sounddevice``, turning a missing PortAudio library into a :class:`SoundDeviceError`.

    Notebook: 05_live_demo.ipynb

    Parameters
    ----------
    alternative : str, optional
        Another input the user can choose instead (``"the file source"``), named in the advice.

    Returns
    -------
    sd : module
        The ``sounddevice`` module.
    """
    try:
        import sounddevice as sd
    except OSError as exc:  # sounddevice raises OSError when libportaudio cannot be loaded
        raise SoundDeviceError(
            f"PortAudio is not installed, so no microphone can be used ({exc})",
            advice="Install it (Debian/Ubuntu: `sudo apt-get install libportaudio2`, or `make setup`)"
                   + _or_choose(alternative)) from None
    return sd


def input_devices() -> list[tuple[int, str]]:
    """Every input device PortAudio lists; empty when there is none or no PortAudio (never raises).

    Notebook: 05_live_demo.ipynb

    Returns
    -------
    devices : list of (int, str)
        ``(index, name)`` pairs, as ``python -m sounddevice`` numbers them.
    """
    try:
        devices = import_sounddevice().query_devices()
    except Exception:  # noqa: BLE001 - any failure here means "no devices to offer"
        return []
    return [(i, d["name"]) for i, d in enumerate(devices) if d.get("max_input_channels", 0) > 0]


def _device_error(exc: Exception, device, alternative: str | None) -> SoundDeviceError:
    """PortAudio's exception for ``device`` as a sentence: the three faults users meet, by PortAudio's wording."""
    text = str(exc).strip().rstrip(".") or type(exc).__name__
    if "No input device matching" in text or "No device matching" in text:
        names = ", ".join(repr(n) for _, n in input_devices()) or "none"
        return SoundDeviceError(f"no input device matching {device!r}", advice=f"Input devices: {names}")
    if "querying device -1" in text or "Invalid device" in text or "no default" in text.lower():
        return SoundDeviceError("no input device: no microphone is connected, or the sound server is not running",
                                advice="Connect a microphone" + _or_choose(alternative), detail=text)
    return SoundDeviceError(f"cannot open the input device {device if device is not None else '(default)'}: {text}")


def _input_info(sd, device, alternative: str | None) -> dict:
    try:
        info = sd.query_devices(device, kind="input")
    except (sd.PortAudioError, ValueError) as exc:
        raise _device_error(exc, device, alternative) from None
    if int(info.get("max_input_channels", 0)) < 1:
        raise SoundDeviceError(f"device {info.get('name')!r} has no input channels")
    return info


def check_input_device(device: int | str | None = None, *, alternative: str | None = None) -> str:
    """Describe the input device that would be used, or raise :class:`SoundDeviceError` saying why none can.

    Notebook: 05_live_demo.ipynb

    Parameters
    ----------
    device : int, str or None
        A device index, a (part of a) device name, or ``None`` for the default input.
    alternative : str, optional
        Another input the user can choose instead, named in the advice of an error.

    Returns
    -------
    description : str
        ``"name, N input channel(s), default R Hz"``.
    """
    info = _input_info(import_sounddevice(alternative=alternative), device, alternative)
    channels, rate = int(info["max_input_channels"]), info["default_samplerate"]
    return f"{info['name']}, {channels} input channel(s), default {rate:g} Hz"


def input_device_status(device: int | str | None = None) -> tuple[bool, str]:
    """Whether an input device can be used, for a status line; never raises.

    Notebook: 04_device_mismatch_finetune.ipynb

    Parameters
    ----------
    device : int, str or None
        As for :func:`check_input_device`.

    Returns
    -------
    available : bool
    text : str
        The description of :func:`check_input_device`, or the reason (:attr:`SoundDeviceError.reason`).
    """
    try:
        return True, check_input_device(device)
    except SoundDeviceError as exc:
        return False, exc.reason


def open_input_stream(on_block: Callable[[np.ndarray, object], None], *, samplerate: int,
                      device: int | str | None = None, block_seconds: float | None = None, latency: str | float | None = None,
                      on_finished: Callable[[], None] | None = None, any_rate: bool = False,
                      alternative: str | None = None):
    """Open and start a mono float32 input stream; PortAudio's thread hands each block to ``on_block``.

    Notebook: 04_device_mismatch_finetune.ipynb (the recorder), 05_live_demo.ipynb (the live microphone)

    Parameters
    ----------
    on_block : callable
        ``on_block(block, status)`` on PortAudio's callback thread: ``block`` is a copy of the
        first channel, shape (frames,), float32; ``status`` is sounddevice's ``CallbackFlags``
        (true when audio was lost, ``status.input_overflow``). It must return quickly.
    samplerate : int
        Rate to ask the device for (Hz).
    device : int, str or None
        As for :func:`check_input_device`.
    block_seconds : float, optional
        Length of a block (s) at the rate used (``None``: PortAudio chooses).
    latency : str or float, optional
        sounddevice's ``latency`` (``"high"``, ``"low"`` or seconds).
    on_finished : callable, optional
        Called when the stream stops, asked to or not (a device unplugged, the sound server gone).
    any_rate : bool
        When the device refuses ``samplerate``, use its own default rate instead of failing
        (the caller resamples).
    alternative : str, optional
        Another input the user can choose instead, named in the advice of an error.

    Returns
    -------
    stream : sounddevice.InputStream
        Started; close it with :func:`close_input_stream`.
    rate : int
        The rate of the blocks (Hz): ``samplerate``, or the device's default with ``any_rate``.
    """
    sd = import_sounddevice(alternative=alternative)
    info = _input_info(sd, device, alternative)
    rate = int(samplerate)
    if any_rate:
        try:
            sd.check_input_settings(device, channels=1, dtype="float32", samplerate=rate)
        except (sd.PortAudioError, ValueError):
            rate = int(info["default_samplerate"])  # the device's own rate; the caller resamples
    blocksize = max(1, int(block_seconds * rate)) if block_seconds else None

    def callback(indata, frames, time_info, status):  # PortAudio's thread: copy and hand over, nothing else
        on_block(indata[:, 0].copy(), status)

    stream = None
    try:
        stream = sd.InputStream(device=device, samplerate=rate, channels=1, dtype="float32", blocksize=blocksize,
                                latency=latency, callback=callback, finished_callback=on_finished)
        stream.start()
    except (sd.PortAudioError, ValueError) as exc:
        if stream is not None:
            close_input_stream(stream)
        raise _device_error(exc, device, alternative) from None
    return stream, rate


def close_input_stream(stream) -> None:
    """Stop and close a stream from :func:`open_input_stream`; never raises (a vanished device may refuse).

    Notebook: 05_live_demo.ipynb

    Parameters
    ----------
    stream : sounddevice.InputStream
    """
    try:
        stream.abort()
    except Exception:  # noqa: BLE001 - a vanished device may refuse; closing is what matters
        pass
    try:
        stream.close()
    except Exception:  # noqa: BLE001
        log.debug("closing the input stream failed", exc_info=True)
