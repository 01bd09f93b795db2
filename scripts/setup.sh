#!/usr/bin/env bash
# Create .venv (if missing) and install bplight with its test tools, showing progress.
#
# torch is installed first, pinned (BPLIGHT_TORCH, default torch==2.13.0; any torch >= 2.1
# works), so that no dependency pulls a build we do not want:
#   * a machine with an NVIDIA GPU (nvidia-smi present) gets pip's default build (CUDA);
#   * a machine without one never gets a CUDA build: first a local CPU wheel of the pin
#     among pip's find-links (PIP_FIND_LINKS / pip.conf, as on this project's CI machines,
#     which have no route to PyTorch's index), then PyTorch's CPU wheel index
#     (https://download.pytorch.org/whl/cpu), then pip's own configuration if it resolves
#     to a CPU build (e.g. PyPI on macOS); otherwise the script stops and says what to do
#     instead of pulling several GB.
#   * BPLIGHT_TORCH_INDEX=URL forces one index.
# A stamp in .venv records what was installed, so a second run (./test.sh) is instant.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
TORCH=${BPLIGHT_TORCH:-torch==2.13.0}
# extras of bplight to install: test tools by default; CI adds ray (its sweep test starts
# a real Ray head on 127.0.0.1) with BPLIGHT_EXTRAS=test,ray
EXTRAS=${BPLIGHT_EXTRAS:-test}
CPU_INDEX=https://download.pytorch.org/whl/cpu
VPY=.venv/bin/python
STAMP=.venv/.bplight-setup
say() { printf '==> %s\n' "$*"; }

stamp_value() {
    # what decides the installation: the dependency list, this script, the torch pin
    cat pyproject.toml scripts/setup.sh | "$VPY" -c \
        "import hashlib,sys;print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())"
    echo "$TORCH ${BPLIGHT_TORCH_INDEX:-} $EXTRAS"
}

if [ ! -x "$VPY" ]; then
    say "creating .venv with $("$PY" --version 2>&1)"
    "$PY" -m venv .venv
fi
# (find_spec / metadata: fast, without importing torch)
installed() {
    "$VPY" -c "import importlib.util as u, sys
sys.exit(any(u.find_spec(m) is None for m in sys.argv[1:]))" "$@" 2>/dev/null
}
version() { "$VPY" -c "import importlib.metadata as m; print(m.version('$1'))"; }
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(stamp_value)" ] \
        && installed bplight torch pytest ruff hypothesis; then
    say ".venv is up to date (bplight $(version bplight), torch $(version torch))"
    exit 0
fi

pip() { "$VPY" -m pip "$@"; }

# A CPU wheel of the pinned torch among pip's find-links (PIP_FIND_LINKS, pip.conf):
# prints its path (scripts/find_cpu_wheel.py reads only the wheels' metadata).
local_cpu_wheel() { "$VPY" scripts/find_cpu_wheel.py "$TORCH"; }

# Would pip, as configured here, install a CUDA build (nvidia-* / triton packages)?
# (may download the wheel to find out: only the last resort)
resolves_to_cuda() {
    local report
    report=$(pip install --dry-run --ignore-installed --quiet --report - "$@" 2>/dev/null) \
        || return 2  # cannot resolve at all
    "$VPY" -c '
import json, sys
names = [i["metadata"]["name"].lower() for i in json.load(sys.stdin).get("install", [])]
sys.exit(0 if any(n.startswith("nvidia-") or n == "triton" for n in names) else 1)' \
        <<<"$report"
}

install_torch() {
    if [ -n "${BPLIGHT_TORCH_INDEX:-}" ]; then
        say "installing $TORCH from BPLIGHT_TORCH_INDEX=$BPLIGHT_TORCH_INDEX"
        pip install --index-url "$BPLIGHT_TORCH_INDEX" "$TORCH"
        return
    fi
    if command -v nvidia-smi >/dev/null 2>&1; then
        say "NVIDIA GPU found (nvidia-smi): installing $TORCH, pip's default (CUDA) build"
        pip install "$TORCH"
        return
    fi
    say "no NVIDIA GPU (no nvidia-smi): installing a CPU build of $TORCH"
    local wheel
    if wheel=$(local_cpu_wheel) && [ -n "$wheel" ]; then
        say "local CPU wheel found: $wheel"
        if pip install "$wheel"; then
            return
        fi
        say "the local wheel did not install; trying PyTorch's CPU index"
    fi
    say "from PyTorch's CPU index $CPU_INDEX"
    if pip install --timeout 30 --retries 1 --index-url "$CPU_INDEX" "$TORCH"; then
        return
    fi
    say "PyTorch's CPU index is not reachable; checking what pip's own configuration offers"
    local rc=0
    resolves_to_cuda "$TORCH" || rc=$?
    if [ "$rc" = 1 ]; then
        say "pip's configuration provides a CPU build"
        pip install "$TORCH"
        return
    fi
    echo "setup: no CPU build of $TORCH could be installed: PyTorch's CPU index is not" \
         "reachable and pip's configuration offers only a CUDA build (several GB) or none;" \
         "put a CPU wheel where pip finds it (PIP_FIND_LINKS=DIR), set" \
         "BPLIGHT_TORCH_INDEX=URL, or install torch into .venv yourself and rerun" >&2
    exit 1
}

if installed torch; then
    say "torch $(version torch) already in .venv"
else
    install_torch
fi
say "installing bplight (editable) with extras [$EXTRAS]"
pip install -e ".[$EXTRAS]"
stamp_value >"$STAMP"
say "done: bplight $(version bplight), torch $(version torch)"
