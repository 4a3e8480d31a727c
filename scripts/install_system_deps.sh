#!/usr/bin/env bash
# Install the Debian packages that the real-audio and real-browser tests need.
#
#   pulseaudio pulseaudio-utils  the virtual microphone daemon and paplay/pacat/pactl
#   libportaudio2                what `import sounddevice` loads
#   libasound2-plugins           ALSA -> PulseAudio bridge; without it PortAudio lists no device
#   chromium                     the headless browser Playwright drives (/usr/bin/chromium)
#
# Idempotent: asks apt only for what `dpkg -s` says is missing.
# Usage: scripts/install_system_deps.sh            (as root; CI does this)
set -euo pipefail

PACKAGES=(pulseaudio pulseaudio-utils libportaudio2 libasound2-plugins chromium)

is_installed() {
    dpkg -s "$1" 2>/dev/null | grep -q '^Status: install ok installed'
}

missing=()
for package in "${PACKAGES[@]}"; do
    if is_installed "$package"; then
        echo "already installed: $package"
    else
        missing+=("$package")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "install_system_deps: nothing to do"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install_system_deps: missing Debian packages: ${missing[*]}" >&2
    echo "Run this script as root (or: sudo apt-get install ${missing[*]})." >&2
    exit 1
fi

echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"

# Check again: apt can exit 0 yet leave a package half-configured.
for package in "${missing[@]}"; do
    if ! is_installed "$package"; then
        echo "install_system_deps: $package did not install" >&2
        exit 1
    fi
done
echo "install_system_deps: installed ${missing[*]}"
