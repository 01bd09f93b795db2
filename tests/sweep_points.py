"""Task functions for the sweep store/executor tests (imported by spawned workers, which
get the test process's sys.path): each records every call it starts in ``calls.log`` of
the sweep directory (point id and pid), takes ``SWEEP_TEST_SLEEP`` seconds, and returns
an accuracy that is a fixed function of the design and seed.

A design with ``forward.adc_bits=3`` kills its own process on every attempt; one with
``forward.adc_bits=5`` kills it on its first attempt only (a marker file remembers); one
with ``forward.adc_bits=2`` is rejected by the code (an InfeasibleDesignError)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any


def _log(payload: dict[str, Any]) -> None:
    run_dir = Path(payload["run_dir"])
    log = run_dir.parent.parent / "calls.log"
    with open(log, "a") as f:
        f.write(f"{run_dir.name} {os.getpid()}\n")
        f.flush()
        os.fsync(f.fileno())


def slow_point(payload: dict[str, Any]) -> dict[str, Any]:
    _log(payload)
    run_dir = Path(payload["run_dir"])
    over = payload["overrides"]
    if "forward.adc_bits=2" in over:
        from bplight.errors import InfeasibleDesignError

        raise InfeasibleDesignError("2-bit reads cannot resolve this design's sums")
    if "forward.adc_bits=3" in over:
        os.kill(os.getpid(), signal.SIGKILL)
    if "forward.adc_bits=5" in over:
        marker = run_dir.parent / (run_dir.name + ".crashed")
        marker.parent.mkdir(parents=True, exist_ok=True)
        if not marker.exists():
            marker.write_text("1")
            os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(float(os.environ.get("SWEEP_TEST_SLEEP", "0.05")))
    bits = [int(o.split("=")[1]) for o in over if o.startswith("forward.adc_bits=")]
    acc = 0.95 if not bits else 0.95 - 0.01 * (8 - bits[0]) - 0.001 * payload["seed"]
    return {"accuracy": acc, "pid": os.getpid()}
