#!/usr/bin/env bash
# Set up .venv (if needed) and run the test suite (CPU only, a few minutes).
set -euo pipefail
cd "$(dirname "$0")"
./scripts/setup.sh
.venv/bin/python -m ruff check src tests benchmarks
.venv/bin/python -m pytest -q "$@"
