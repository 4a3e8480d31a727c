"""The command line's shape: one subcommand pattern, instant help, no subcommand silently missing."""
from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from audioclf_lib import __version__, cli

HEAVY = ("torch", "numpy", "pandas", "librosa", "onnxruntime", "soundfile")


def test_every_subcommand_has_the_one_shape():
    for name, module_name in cli.COMMANDS.items():
        module = importlib.import_module(module_name)
        assert callable(module.add_arguments) and callable(module.run), name
        summary = module.__doc__.strip().splitlines()[0]
        assert summary[0].islower() and not summary.endswith("."), f"{name}: help line {summary!r}"


def test_building_the_parser_imports_nothing_heavy():
    code = ("import sys; from audioclf_lib.cli import build_parser; build_parser(); "
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"building the parser imported {out}"


def test_help_and_version_answer():
    for args in (["--help"], ["classify", "--help"], ["corpus", "build", "--help"]):
        done = subprocess.run([sys.executable, "-m", "audioclf_lib", *args], capture_output=True, text=True)
        assert done.returncode == 0 and "usage: audioclf" in done.stdout, (args, done.stderr)
    done = subprocess.run([sys.executable, "-m", "audioclf_lib", "--version"], capture_output=True, text=True)
    assert done.stdout.strip() == f"audioclf {__version__}"


def test_a_broken_subcommand_is_an_error_not_a_missing_command(monkeypatch):
    monkeypatch.setitem(cli.COMMANDS, "broken", "audioclf_lib.commands.does_not_exist")
    with pytest.raises(ModuleNotFoundError):
        cli.build_parser()


def test_models_shows_the_source_held_out_number_first():
    import json

    from audioclf_lib.config import REPO_ROOT

    done = subprocess.run([sys.executable, "-m", "audioclf_lib", "models", "--json"], capture_output=True, text=True)
    rows = {r["name"]: r for r in json.loads(done.stdout)}
    cv = json.loads((REPO_ROOT / "experiments/results/source_cv_music-noise.json").read_text())["summary"]["clip"]
    assert list(rows["music-noise"])[1] == "held-out-source bal.acc"
    assert rows["music-noise"]["held-out-source bal.acc"] == pytest.approx(cv["balanced_accuracy"])
    assert rows["music-noise"]["held-out-source bal.acc"] < rows["music-noise"]["test bal.acc"]
    robust = json.loads((REPO_ROOT / "experiments/results/source_cv_music-noise-robust.json").read_text())["table"]
    phone = next(r for r in robust if "robust" in r["model"] and r["device"] == "phone")
    assert rows["music-noise-robust"]["held-out-source bal.acc"] == pytest.approx(phone["balanced_accuracy"])
    printed = subprocess.run([sys.executable, "-m", "audioclf_lib", "models"], capture_output=True, text=True).stdout
    webcam = next(r for r in robust if "robust" in r["model"] and r["device"] == "webcam")
    assert f"webcam {webcam['balanced_accuracy']:.3f}" in printed
