"""``bplight sweep`` with accuracy in the loop: a 32-point accuracy sweep on the process pool.

32 designs (forward ADC bits × error ADC bits × memristor weight bits, on bplight-16b),
each trained for 1 epoch on a 10,000-image MNIST subset through the chip model (LeNet-5,
batch 64), plus the FP32 model trained identically, on the local process pool
(``--workers``, default 2, one torch thread each). Every design is costed too. Prints
the wall time, the points per minute, what was trained, failed or infeasible, and the
Pareto front. Target: < 10 min on 2 cores.

    python benchmarks/bench_sweep_accuracy.py [--workers 2] [--subset 10000] [--out DIR]

MNIST must be in the data root (``bplight data fetch mnist``; ``--data-root``).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bplight.experiments.sweep import SweepOptions, load_sweep_spec, run_sweep
from bplight.experiments.sweep.store import code_version
from bplight.io import atomic_write_json

TARGET_S = 600.0


def spec(subset: int, data_root: str | None) -> dict:
    return {
        "name": "bench-accuracy-32",
        "hardware": "bplight-16b",
        "parameters": {
            "forward.adc_bits": [4, 5, 6, 8],
            "error.adc_bits": [4, 6],
            "update.weight_bits": [4, 6, 8, 16],
        },
        "workloads": {
            "cost": [{"model": "lenet5", "batch": 64}],
            "accuracy": [{"model": "lenet5", "dataset": "mnist", "subset": subset,
                          "epochs": 1, "batch_size": 64, "lr": 0.05}],
        },
        "seeds": [0],
        "accuracy": "all",
        "objectives": ["accuracy_loss_pp", "train_energy_per_image_j", "train_latency_s"],
        "data_root": data_root,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--subset", type=int, default=10_000)
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--out", default=None, help="keep the sweep here (default: a temp dir)")
    ap.add_argument("--json", default=None, metavar="PATH", help="also write the figures here")
    args = ap.parse_args()
    resolved = load_sweep_spec(spec(args.subset, args.data_root))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out) if args.out else Path(tmp) / "run"
        t0 = time.perf_counter()
        run = run_sweep(resolved, out, SweepOptions(workers=args.workers, threads=1,
                                                    progress=True))
        wall = time.perf_counter() - t0
        table = run.outputs.get("table", "")
    trained = run.accuracy_new
    print(f"{run.accuracy_points} accuracy points (+ FP32): {trained} training runs on "
          f"{args.workers} workers in {wall:.0f} s ({60 * trained / wall:.1f} runs/min); "
          f"{run.failed} failed, {run.infeasible} infeasible; target < {TARGET_S:g} s: "
          f"{'met' if wall < TARGET_S else 'NOT met'}")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print("\nPareto front (accuracy loss vs energy per training image vs latency):\n" + table)
    if args.json:
        atomic_write_json(args.json, {"points": run.accuracy_points, "training_runs": trained,
                                      "workers": args.workers, "wall_s": wall,
                                      "failed": run.failed, "infeasible": run.infeasible,
                                      "target_s": TARGET_S, "met": wall < TARGET_S,
                                      "cpus": os.cpu_count(),
                                      "load_average_1min": os.getloadavg()[0],
                                      "code_version": code_version()})


if __name__ == "__main__":
    main()
