"""Cost-engine speed: VGG-16 (3x224x224) training cost over many design points at once.

Sweeps architecture counts, rate, wavelengths, converter resolutions, component energies,
schedule and batch with :func:`bplight.cost.sweep` (one numpy evaluation of the model
for all points), and times it against :func:`bplight.cost.estimate` for one point.
Target: >= 10,000 design points per second on 2 cores.

    python benchmarks/bench_cost_sweep.py [--points 20000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")
os.environ.setdefault("MKL_NUM_THREADS", "2")

import numpy as np  # noqa: E402

from bplight.config import load_spec  # noqa: E402
from bplight.cost import estimate, sweep  # noqa: E402
from bplight.workload import Workload  # noqa: E402


def design_points(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "architecture.tiles": rng.integers(8, 257, n),
        "architecture.cores_per_tile": rng.integers(1, 9, n),
        "architecture.banks_per_core": rng.choice([4, 8, 16, 32], n),
        "architecture.pipeline_layers": rng.random(n) < 0.5,
        "photonics.wavelengths_per_bank": rng.choice([8, 12, 16], n),
        "photonics.modulation_rate_hz": rng.choice([2.5e9, 5e9, 10e9], n),
        "forward.adc_bits": rng.choice([6, 7], n),
        "error.dac_bits": rng.choice([1, 2], n),
        "components.adc_energy_8b_j": rng.uniform(0.5e-12, 3e-12, n),
        "components.weight_ring_hold_power_w": rng.uniform(0.16e-3, 3.1e-3, n),
        "components.memristor_write_energy_j": rng.uniform(3e-12, 3e-9, n),
        "batch": rng.choice([1, 16, 64], n),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", default=None, metavar="PATH",
                    help="also write the results to this file (scripts/run-benchmarks)")
    args = ap.parse_args()

    spec = load_spec("bplight-16b")
    work = Workload.from_name("vgg16", (3, 224, 224))
    gemms = len(work.gemms("train", 1))
    print(f"workload: {work.name}, {len(work.layers)} layers, {gemms} GEMMs per training "
          f"step, {work.macs_for('train') / 1e9:.2f} G MACs per image")

    # one point through estimate (plans every GEMM, builds the full report)
    estimate(work, spec, "train", 64)  # warm-up (imports, link-budget cache)
    times = []
    for _ in range(20):
        t0 = time.perf_counter()
        estimate(work, spec, "train", 64)
        times.append(time.perf_counter() - t0)
    single = statistics.median(times)
    print(f"estimate, one design point: {single * 1e3:.2f} ms (median of 20)")

    pts = design_points(args.points)
    sweep(work, spec, "train", params={k: v[:8] for k, v in pts.items()})  # imports
    cold_t0 = time.perf_counter()
    res = sweep(work, spec, "train", params=pts)
    cold = time.perf_counter() - cold_t0
    warm = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        res = sweep(work, spec, "train", params=pts)
        warm.append(time.perf_counter() - t0)
    best = statistics.median(warm)
    print(f"sweep, {args.points} points: first run {cold:.3f} s "
          f"({args.points / cold:,.0f} points/s, link budgets computed), "
          f"median of {args.repeat} more {best:.3f} s ({args.points / best:,.0f} points/s)")
    print(f"  feasible points: {res.feasible.mean():.1%}; speed-up over estimate per "
          f"point: {single * args.points / best:,.0f}x")
    ok = np.flatnonzero(res.feasible)
    i = int(ok[np.nanargmax(res.gops_per_w[ok])])
    print(f"  best GOPS/W point: {res.gops_per_w[i]:.3g} GOPS/W, {res.gops[i]:.4g} GOPS, "
          f"{res.area_mm2[i]:.3g} mm2, " + ", ".join(
              f"{k.split('.')[-1]}={v[i]}" for k, v in pts.items()
              if not k.startswith("components.")))
    # spot check: sweep == estimate at a few points
    worst = 0.0
    for j in ok[:5]:
        over = [f"{k}={v[j]}" for k, v in pts.items() if k != "batch"]
        r = estimate(work, load_spec(spec, overrides=over), "train", int(pts["batch"][j]))
        worst = max(worst, abs(r.energy_j / res.energy_j[j] - 1),
                    abs(r.latency_s / res.latency_s[j] - 1))
    print(f"  sweep vs estimate at 5 points: max relative difference {worst:.1e}")
    target = 10_000
    print(f"target >= {target:,} points/s: {'met' if args.points / best >= target else 'MISSED'}")
    if args.json:
        from bplight.io import atomic_write_json

        atomic_write_json(args.json, {
            "workload": work.name, "points": args.points, "repeat": args.repeat,
            "estimate_s": single, "cold_s": cold, "warm_s": best,
            "cold_points_per_s": args.points / cold, "warm_points_per_s": args.points / best,
            "feasible_fraction": float(res.feasible.mean()), "max_rel_diff": worst})


if __name__ == "__main__":
    main()
