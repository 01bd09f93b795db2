"""Run the speed and cost-sweep benchmarks and keep their JSON under docs/benchmarks/,
each with the machine it was measured on (CPU, cores, load average, date, commit); then
``scripts/regenerate-docs`` inserts the numbers into README.md and docs/.

    scripts/run-benchmarks                    # speed and sweep (~2-4 min on 2 idle cores)
    scripts/run-benchmarks --only sweep       # only bench_cost_sweep.py (seconds)
    scripts/run-benchmarks --only accuracy    # bench_accuracy.py (~30 min), then its JSON
                                              # and plot into docs/accuracy/

Timings depend on the machine and its load: run on an idle machine, and read the
recorded load average before trusting a number.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "benchmarks"
BENCHES = {
    "speed": ("benchmarks/bench_speed.py", "speed.json", ["--threads", "2"]),
    "sweep": ("benchmarks/bench_cost_sweep.py", "cost-sweep.json", []),
}
CPUS_USED = 2
"""The benchmarks are pinned to two cores (the CI machines' size) where taskset exists."""


def machine() -> dict:
    """What the numbers were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip() or None
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {"cpu": cpu, "cpus": os.cpu_count(),
            "cpus_used": CPUS_USED if shutil.which("taskset") else os.cpu_count(),
            "load_average": load, "python": platform.python_version(),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
            "commit": commit}


def run(name: str) -> Path:
    script, out_name, extra = BENCHES[name]
    OUT.mkdir(parents=True, exist_ok=True)
    target = OUT / out_name
    tmp = OUT / f".{out_name}.running"
    info = machine()
    cmd = [sys.executable, script, "--json", str(tmp), *extra]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", ",".join(str(i) for i in range(CPUS_USED)), *cmd]
    print("+ " + " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=ROOT, check=True)
    data = json.loads(tmp.read_text())
    data["machine"] = info
    from bplight.io import atomic_write_json

    atomic_write_json(target, data)
    tmp.unlink()
    print(f"wrote {target.relative_to(ROOT)}")
    return target


def run_accuracy() -> None:
    """bench_accuracy.py into benchmarks/out/accuracy (its run cache), then the JSON (with
    the machine) and the plot into docs/accuracy/."""
    out = ROOT / "benchmarks" / "out" / "accuracy"
    info = machine()
    cmd = [sys.executable, "benchmarks/bench_accuracy.py", "--out", str(out)]
    print("+ " + " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=ROOT, check=True)
    from bplight.io import atomic_write_bytes, atomic_write_json

    data = json.loads((out / "accuracy.json").read_text())
    data["machine"] = info
    atomic_write_json(ROOT / "docs" / "accuracy" / "accuracy.json", data)
    atomic_write_bytes(ROOT / "docs" / "accuracy" / "accuracy.png",
                       (out / "accuracy.png").read_bytes())
    print("wrote docs/accuracy/accuracy.json, docs/accuracy/accuracy.png")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", choices=sorted([*BENCHES, "accuracy"]), action="append")
    args = ap.parse_args()
    for name in args.only or list(BENCHES):
        if name == "accuracy":
            run_accuracy()
        else:
            run(name)
    print("now run scripts/regenerate-docs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
