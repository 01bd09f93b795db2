"""``bplight sweep`` cost speed: 10,000 VGG-16 (3x224x224) design points, end to end.

A random sweep spec over ten hardware fields (architecture counts, rate, wavelengths,
converter resolutions, component energies) is expanded into 10,000 designs, every design
is costed for training and inference with the vectorised engine, and each evaluated block
is committed to the sweep's SQLite store. Reports the time of the whole run and of the
outputs (results table, Pareto front, PNG). Target: 10,000 points in < 5 s on 2 cores.

    python benchmarks/bench_sweep_cost.py [--points 10000] [--json PATH]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")
os.environ.setdefault("MKL_NUM_THREADS", "2")

from bplight.experiments.sweep import (  # noqa: E402
    SweepOptions,
    SweepStore,
    load_sweep_spec,
    run_sweep,
    write_outputs,
)
from bplight.experiments.sweep.store import code_version
from bplight.io import atomic_write_json  # noqa: E402

TARGET_S = 5.0


def spec(points: int) -> dict:
    return {
        "name": "bench-vgg16", "search": "random", "samples": points, "sampler_seed": 0,
        "parameters": {
            "architecture.tiles": {"low": 8, "high": 256},
            "architecture.cores_per_tile": {"low": 1, "high": 8},
            "architecture.banks_per_core": [4, 8, 16, 32],
            "photonics.wavelengths_per_bank": [8, 12, 16],
            "photonics.modulation_rate_hz": ["2.5 GHz", "5 GHz", "10 GHz"],
            "forward.adc_bits": [6, 7],
            "error.dac_bits": [1, 2],
            "components.adc_energy_8b_j": {"low": 0.5e-12, "high": 3e-12},
            "components.weight_ring_hold_power_w": {"low": 0.16e-3, "high": 3.1e-3,
                                                    "log": True},
            "components.memristor_write_energy_j": {"low": 3e-12, "high": 3e-9,
                                                    "log": True},
        },
        "workloads": {"cost": [{"model": "vgg16", "batch": 64}]},
        "objectives": ["train_energy_per_image_j", "train_latency_s"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=10_000)
    ap.add_argument("--json", default=None, metavar="PATH", help="also write the figures here")
    args = ap.parse_args()
    t0 = time.perf_counter()
    from bplight.experiments.sweep.points import _workload

    _workload("vgg16", None)  # the traced VGG-16 workload: built once per process
    workload_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        c0 = time.process_time()
        resolved = load_sweep_spec(spec(args.points))
        run = run_sweep(resolved, f"{tmp}/run", SweepOptions(progress=False, outputs=False))
        sweep_s = time.perf_counter() - t0
        cpu_s = time.process_time() - c0
        t1 = time.perf_counter()
        with SweepStore.open(f"{tmp}/run") as store:
            out = write_outputs(f"{tmp}/run", store)
        outputs_s = time.perf_counter() - t1
    n = run.cost_points
    print(f"{n} VGG-16 cost points (train + infer each, stored): {sweep_s:.2f} s "
          f"({n / sweep_s:,.0f} points/s); target < {TARGET_S:g} s: "
          f"{'met' if sweep_s < TARGET_S else 'NOT met'}")
    print(f"  CPU time of this process: {cpu_s:.2f} s; building the VGG-16 workload once "
          f"(torch model, traced) before: {workload_s:.2f} s")
    print(f"outputs (results.csv, Pareto front of {out['table'].count(chr(10))} designs, "
          f"PNG): {outputs_s:.2f} s")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    if args.json:
        atomic_write_json(args.json, {"points": n, "sweep_s": sweep_s, "cpu_s": cpu_s,
                                      "workload_s": workload_s, "outputs_s": outputs_s,
                                      "target_s": TARGET_S, "met": sweep_s < TARGET_S,
                                      "cpus": os.cpu_count(),
                                      "load_average_1min": os.getloadavg()[0],
                                      "code_version": code_version()})


if __name__ == "__main__":
    main()
