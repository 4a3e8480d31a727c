"""A virtual microphone for tests: PulseAudio loopback driven by scripts/virtual_mic.sh.

The session fixture ``virtual_mic`` starts a private PulseAudio daemon whose
default source records whatever is played into its default sink, points this
process (and every child it starts: paplay, Jupyter, kernels) at it through
``PULSE_SERVER``, and makes PortAudio rescan so ``sounddevice`` sees it.

    def test_something(virtual_mic):
        handle = virtual_mic.play(y, sr=16000)      # returns at once
        recording = virtual_mic.record(1.0, sr=16000)
        handle.wait()

Missing system packages skip the test only off CI and when not root (nobody can
install them); otherwise they fail loudly, naming the script that installs them.
"""

from __future__ import annotations

import ctypes.util
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

__all__ = [
    "REPO_ROOT",
    "Playback",
    "VirtualMic",
    "missing_audio_requirements",
    "require_system_packages",
    "start_virtual_mic",
    "virtual_mic",
]

REPO_ROOT = Path(__file__).resolve().parents[1]
VIRTUAL_MIC_SCRIPT = REPO_ROOT / "scripts" / "virtual_mic.sh"
INSTALL_SCRIPT = REPO_ROOT / "scripts" / "install_system_deps.sh"
# The ALSA -> PulseAudio bridge (libasound2-plugins) that PortAudio's ALSA host API uses.
ALSA_PULSE_PLUGIN_GLOB = "/usr/lib/*/alsa-lib/libasound_module_pcm_pulse.so"
PAPLAY_LATENCY_MSEC = 50


def missing_audio_requirements() -> list[str]:
    """Names of the system pieces the virtual microphone needs and cannot find."""
    missing = [cmd for cmd in ("pulseaudio", "pactl", "pacat", "paplay") if shutil.which(cmd) is None]
    if ctypes.util.find_library("portaudio") is None:
        missing.append("libportaudio2")
    if not list(Path("/").glob(ALSA_PULSE_PLUGIN_GLOB.lstrip("/"))):
        missing.append("libasound2-plugins")
    return missing


def require_system_packages(missing: list[str], what: str) -> None:
    """Skip or fail a test whose system packages are missing.

    Skips only where nobody could install them (not root, not CI); under
    ``CI=true`` or as root a missing package is a broken setup, so it fails.
    """
    if not missing:
        return
    message = f"{what} needs {', '.join(missing)}: run `sudo {INSTALL_SCRIPT.relative_to(REPO_ROOT)}`"
    running_in_ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    if running_in_ci or os.geteuid() == 0:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _run_script(command: str, pulse_dir: Path) -> str:
    env = {**os.environ, "AUDIOCLF_PULSE_DIR": str(pulse_dir)}
    result = subprocess.run(
        ["bash", str(VIRTUAL_MIC_SCRIPT), command],
        env=env, capture_output=True, text=True, timeout=30,
    )
    if result.returncode != 0:
        raise RuntimeError(f"virtual_mic.sh {command} failed ({result.returncode}):\n{result.stderr}")
    return result.stdout


def _rescan_portaudio() -> None:
    # PortAudio lists devices only when it initialises (at `import sounddevice`).
    import sounddevice as sd

    sd._terminate()
    sd._initialize()


@dataclass
class Playback:
    """A running ``paplay``; ``wait()`` for the end or ``stop()`` it early."""

    process: subprocess.Popen
    temp_file: Path | None = None

    def wait(self, timeout: float | None = 30.0) -> None:
        """Block until playback ends; raise if paplay failed."""
        try:
            _, stderr = self.process.communicate(timeout=timeout)
        finally:
            self._remove_temp_file()
        if self.process.returncode != 0:
            raise RuntimeError(f"paplay exited with {self.process.returncode}: {stderr.strip()}")

    def stop(self) -> None:
        """Stop playback now (no error if it already ended)."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()
        self._remove_temp_file()

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def _remove_temp_file(self) -> None:
        if self.temp_file is not None:
            self.temp_file.unlink(missing_ok=True)


@dataclass
class VirtualMic:
    """Handle on a running virtual microphone (see the module docstring).

    Attributes
    ----------
    server : str
        The ``PULSE_SERVER`` value, ``unix:<pulse_dir>/native``.
    pulse_dir : Path
        Scratch dir with the daemon's config, socket and log.
    """

    server: str
    pulse_dir: Path
    _playbacks: list[Playback] = field(default_factory=list, repr=False)

    @property
    def env(self) -> dict[str, str]:
        """Environment entries a child process needs to reach the microphone."""
        return {"PULSE_SERVER": self.server}

    def play(self, audio: str | os.PathLike | np.ndarray, sr: int | None = None,
             *, blocking: bool = False) -> Playback:
        """Play a sound file or an array into the virtual room.

        Parameters
        ----------
        audio : path or np.ndarray
            A file libsndfile reads (wav, flac, ogg), or samples, shape ``(n,)``
            or ``(n, channels)``, float in [-1, 1].
        sr : int, optional
            Sample rate of ``audio``; required for arrays, not allowed for files.
        blocking : bool
            Wait for the end of playback before returning.
        """
        temp_file = None
        if isinstance(audio, np.ndarray):
            if sr is None:
                raise ValueError("play(array) needs sr=, the array's sample rate")
            import soundfile as sf

            handle, name = tempfile.mkstemp(suffix=".wav", dir=self.pulse_dir)
            os.close(handle)
            temp_file = Path(name)
            sf.write(temp_file, np.clip(audio, -1.0, 1.0), sr, subtype="PCM_16")
            path = temp_file
        else:
            if sr is not None:
                raise ValueError(f"play({audio!s}) reads the file's own sample rate; got sr={sr}")
            path = Path(audio)
            if not path.is_file():
                raise FileNotFoundError(path)
        process = subprocess.Popen(
            ["paplay", f"--latency-msec={PAPLAY_LATENCY_MSEC}", str(path)],
            env={**os.environ, **self.env}, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True,
        )
        playback = Playback(process, temp_file)
        self._playbacks.append(playback)
        if blocking:
            playback.wait()
        return playback

    def record(self, seconds: float, *, sr: int = 16000) -> np.ndarray:
        """Record ``seconds`` from the default input device; float32, shape ``(n,)``."""
        import sounddevice as sd

        y = sd.rec(int(round(seconds * sr)), samplerate=sr, channels=1, dtype="float32")
        sd.wait()
        return y[:, 0]

    def stop_playbacks(self) -> None:
        """Stop every playback this handle started."""
        for playback in self._playbacks:
            playback.stop()
        self._playbacks.clear()


def start_virtual_mic(pulse_dir: Path) -> VirtualMic:
    """Start the daemon in ``pulse_dir`` and point this process at it."""
    _run_script("start", pulse_dir)
    mic = VirtualMic(server=f"unix:{pulse_dir}/native", pulse_dir=pulse_dir)
    os.environ.update(mic.env)
    _rescan_portaudio()
    return mic


def stop_virtual_mic(mic: VirtualMic) -> None:
    """Stop playbacks, the keep-alive player and the daemon."""
    mic.stop_playbacks()
    _run_script("stop", mic.pulse_dir)


@pytest.fixture(scope="session")
def virtual_mic() -> Iterator[VirtualMic]:
    """Session-wide virtual microphone; ``PULSE_SERVER`` is set while it lives."""
    require_system_packages(missing_audio_requirements(), "the virtual microphone")
    # A private dir, so a daemon a developer started by hand is never stopped.
    # Short base path: a unix socket path must stay under 108 bytes.
    pulse_dir = Path(tempfile.mkdtemp(prefix="audioclf-pulse-"))
    previous_server = os.environ.get("PULSE_SERVER")
    mic = start_virtual_mic(pulse_dir)
    try:
        yield mic
    finally:
        stop_virtual_mic(mic)
        if previous_server is None:
            os.environ.pop("PULSE_SERVER", None)
        else:
            os.environ["PULSE_SERVER"] = previous_server
        shutil.rmtree(pulse_dir, ignore_errors=True)
