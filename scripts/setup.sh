#!/usr/bin/env bash
# One-step set-up on a fresh machine: system packages, a virtual environment in .venv with the
# project installed editable, the Jupyter kernel and JupyterLab settings. Safe to re-run: each
# step is skipped when already done.
#
#   AUDIOCLF_CONSTRAINTS=constraints/cpu.txt (default)  pins torch==2.13.0 (the CPU wheel on these machines);
#   AUDIOCLF_CONSTRAINTS= bash scripts/setup.sh          lets pip choose torch (e.g. a CUDA build elsewhere).
#   AUDIOCLF_SKIP_SYSTEM=1                               skips the Debian packages (no root, or installed otherwise).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=.venv
CONSTRAINTS=${AUDIOCLF_CONSTRAINTS-constraints/cpu.txt}

if [ "${AUDIOCLF_SKIP_SYSTEM:-0}" != "1" ]; then
    bash scripts/install_system_deps.sh
fi

if [ ! -x "$VENV/bin/python" ]; then
    echo "setup: creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi

# Reinstall only when the dependency list or constraints changed.
stamp="$VENV/.audioclf-installed"
want=$(cat pyproject.toml ${CONSTRAINTS:+"$CONSTRAINTS"} | sha1sum | cut -c1-16)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "setup: installing the project and its dependencies into $VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q ${CONSTRAINTS:+-c "$CONSTRAINTS"} -e ".[dev,bench,dask]"
    echo "$want" > "$stamp"
fi

# The notebooks run on a kernel named python3 that is this environment's Python.
"$VENV/bin/python" -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (audioclf)" >/dev/null

# JupyterLab: start the kernel without a dialog and fetch no news (the browser test needs a quiet page).
# Merged into any existing overrides rather than replacing them.
"$VENV/bin/python" - <<'PY'
import json, sys
from pathlib import Path
path = Path(sys.prefix) / "share/jupyter/lab/settings/overrides.json"
path.parent.mkdir(parents=True, exist_ok=True)
settings = json.loads(path.read_text()) if path.exists() else {}
settings.setdefault("@jupyterlab/notebook-extension:tracker", {})["autoStartDefaultKernel"] = True
settings.setdefault("@jupyterlab/apputils-extension:notification", {}).update(fetchNews="false", checkForUpdates=False)
path.write_text(json.dumps(settings, indent=2))
PY
echo "setup: ready ($("$VENV/bin/python" -c 'import torch; print("torch", torch.__version__, "| CUDA" if torch.cuda.is_available() else "| CPU")'))"
