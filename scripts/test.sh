#!/usr/bin/env bash
# The test command behind `make test` (and CI): the whole pytest suite with the project's venv.
# Tests that need the virtual microphone start it themselves (tests/audio_env.py).
set -euo pipefail
cd "$(dirname "$0")/.."
export MPLBACKEND=Agg
exec .venv/bin/python -m pytest -ra "$@"
