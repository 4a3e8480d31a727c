"""When the real-device tests skip and when they fail (no devices needed)."""

from __future__ import annotations

import pytest

from tests import audio_env


@pytest.fixture
def not_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)


def test_nothing_missing_neither_skips_nor_fails():
    audio_env.require_system_packages([], "x")


def test_missing_packages_skip_only_for_a_non_root_user_off_ci(monkeypatch, not_ci):
    monkeypatch.setattr(audio_env.os, "geteuid", lambda: 1000)
    with pytest.raises(pytest.skip.Exception, match="pulseaudio.*install_system_deps.sh"):
        audio_env.require_system_packages(["pulseaudio"], "the virtual microphone")


@pytest.mark.parametrize(("ci", "euid"), [("true", 1000), ("", 0), ("true", 0)])
def test_missing_packages_fail_under_ci_or_as_root(monkeypatch, ci, euid):
    monkeypatch.setenv("CI", ci)
    monkeypatch.setattr(audio_env.os, "geteuid", lambda: euid)
    with pytest.raises(pytest.fail.Exception, match="chromium"):
        audio_env.require_system_packages(["chromium"], "the browser tests")
