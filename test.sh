#!/usr/bin/env bash
# Set up .venv (if needed), run ruff, then the test suite (CPU only; see the README for
# how long it takes). Arguments go to pytest: ./test.sh -k numerics, ./test.sh -x.
set -euo pipefail
cd "$(dirname "$0")"
./scripts/setup.sh
echo "==> ruff check src tests benchmarks scripts"
.venv/bin/python -m ruff check src tests benchmarks scripts
echo "==> pytest $*"
# pyproject's addopts gives -q once: a dot per test and the summary line (N passed ...)
exec .venv/bin/python -m pytest "$@"
