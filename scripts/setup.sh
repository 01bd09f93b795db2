#!/usr/bin/env bash
# Create .venv (if missing) and install bplight with its test tools.
# torch is pinned to 2.13.0 first, so that no dependency pulls a multi-GB CUDA build;
# on machines that keep a CPU wheel of it (PIP_FIND_LINKS), pip takes that one.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet "torch==2.13.0"
.venv/bin/python -m pip install --quiet -e ".[test]"
