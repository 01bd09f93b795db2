"""``bplight sweep``: design-space exploration with accuracy in the loop.

``bplight sweep SPEC.yaml [-o DIR]`` expands a sweep spec (:mod:`.spec`: base hardware,
the ``--set`` paths to vary by grid, random draws or optuna, workloads, seeds,
objectives, which designs to train), costs every design with the vectorised engine
(:func:`bplight.cost.vectorized.sweep`), trains the accuracy points (LeNet-5 through the
chip model and the FP32 model trained identically) on a local process pool or Ray
(:mod:`.executors`), and writes every finished point to a SQLite store (:mod:`.store`) as
it finishes; ``--resume`` skips the finished points. Outputs (:mod:`.pareto`):
``results.csv``, the Pareto front as ``pareto.txt`` / ``pareto.csv`` / ``pareto.png`` with
``bplight-16b`` and the paper's claims on the same axes, ``summary.json``.

``bplight sweep best DIR --within-pp 1.0 -o design.yaml`` exports the cheapest design
within 1 pp of FP32 as a preset (``--hardware design.yaml``).

Python API: :func:`load_sweep_spec`, :func:`run_sweep`, :func:`results_frame`,
:func:`pareto_front`, :func:`export_best`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from bplight.errors import InputError
from bplight.experiments.sweep.pareto import (
    best_design,
    export_best,
    pareto_front,
    results_frame,
    write_outputs,
)
from bplight.experiments.sweep.run import BACKENDS, SweepOptions, SweepRun, run_sweep
from bplight.experiments.sweep.spec import ResolvedSweep, SweepSpec, load_sweep_spec
from bplight.experiments.sweep.store import SweepStore

__all__ = ["ResolvedSweep", "SweepOptions", "SweepRun", "SweepSpec", "SweepStore",
           "add_parser", "best_design", "export_best", "load_sweep_spec", "pareto_front",
           "results_frame", "run_sweep", "write_outputs"]


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "sweep", help="design-space sweep: cost every design, train the chosen ones, "
        "Pareto front, best design as a preset",
        description="Run a sweep spec (bplight sweep SPEC.yaml), or export the best design "
        "of a finished sweep (bplight sweep best DIR --within-pp 1.0 -o design.yaml).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  bplight sweep examples/sweep-lenet-cost.yaml\n"
        "  bplight sweep examples/sweep-lenet-accuracy.yaml --workers 2 -o runs/acc\n"
        "  bplight sweep examples/sweep-lenet-accuracy.yaml -o runs/acc --resume\n"
        "  bplight sweep best runs/acc --within-pp 1.0 -o design.yaml")
    p.add_argument("target", metavar="SPEC.yaml | best",
                   help="a sweep spec to run, or 'best' followed by a sweep directory")
    p.add_argument("run", nargs="?", metavar="DIR", help="(with best) the sweep directory")
    p.add_argument("-o", "--out", help="sweep: output directory (default runs/sweep-NAME); "
                   "best: the preset YAML to write")
    p.add_argument("--resume", action="store_true",
                   help="finish the sweep in --out, skipping its finished points")
    p.add_argument("--retry-failed", action="store_true",
                   help="with --resume: run the points recorded as failed again")
    p.add_argument("--workers", type=int, default=2,
                   help="training processes of the local pool (default 2)")
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads per worker (default 1)")
    p.add_argument("--backend", choices=BACKENDS, default="pool",
                   help="where accuracy points train: pool (local processes, default), "
                   "ray (--address), inline (this process)")
    p.add_argument("--address", help="Ray head HOST:PORT (with --backend ray)")
    p.add_argument("--data-root", help="dataset root (default: $BPLIGHT_DATA, else "
                   "~/.cache/bplight/data)")
    p.add_argument("--within-pp", default="1.0",
                   help="best: accuracy loss allowed vs FP32, in pp, or 'none' (default 1.0)")
    p.add_argument("--objective", default="train_energy_per_image_j",
                   help="best: the objective to optimise (default train_energy_per_image_j)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--json", action="store_true", help="print a JSON summary line")
    p.set_defaults(func=_cmd)
    return p


def _cmd(args: argparse.Namespace) -> int:
    if args.target == "best":
        return _cmd_best(args)
    if args.run is not None:
        raise InputError(f"unexpected argument {args.run!r}; a sweep takes one SPEC.yaml "
                         "(use -o DIR for the output directory)")
    if args.workers < 1 or args.workers > 512:
        raise InputError(f"--workers {args.workers} is out of range; allowed: 1..512")
    if args.threads < 1 or args.threads > 256:
        raise InputError(f"--threads {args.threads} is out of range; allowed: 1..256")
    if args.address and args.backend != "ray":
        raise InputError("--address names a Ray head; add --backend ray")
    resolved = load_sweep_spec(args.target)
    opts = SweepOptions(workers=args.workers, threads=args.threads, backend=args.backend,
                        address=args.address, resume=args.resume,
                        retry_failed=args.retry_failed, progress=not args.quiet,
                        data_root=args.data_root)
    run = run_sweep(resolved, args.out, opts)
    out = run.outputs
    if args.json:
        from bplight.io import dumps_json

        print(dumps_json({"run_dir": str(run.run_dir), "designs": run.designs,
                          "cost_points": run.cost_points, "cost_new": run.cost_new,
                          "accuracy_points": run.accuracy_points,
                          "accuracy_new": run.accuracy_new, "failed": run.failed,
                          "infeasible": run.infeasible,
                          "cost_infeasible_new": run.cost_infeasible,
                          **{k: v for k, v in out.items() if k != "table"}}, indent=None),
              end="")
        return 0
    print(f"sweep {resolved.spec.name}: {run.designs} designs, {run.cost_points} cost points "
          f"({run.cost_new} new, {run.cost_infeasible} of them infeasible), "
          f"{run.accuracy_points} accuracy points ({run.accuracy_new} training runs new incl. "
          f"FP32, {run.failed} failed, {run.infeasible} infeasible)")
    print("\nPareto front:\n" + out.get("table", ""))
    print(f"\nwritten: {run.run_dir}/ (sweep.sqlite, results.csv, pareto.csv, pareto.png, "
          "pareto.txt, summary.json)")
    return 0


def _cmd_best(args: argparse.Namespace) -> int:
    if args.run is None:
        raise InputError("best needs the sweep directory: bplight sweep best DIR --within-pp "
                         "1.0 -o design.yaml")
    within: float | None
    if str(args.within_pp).lower() == "none":
        within = None
    else:
        try:
            within = float(args.within_pp)
        except ValueError:
            raise InputError(f"--within-pp {args.within_pp!r} must be a number of percentage "
                             "points or 'none'") from None
        if not within >= 0:
            raise InputError(f"--within-pp {args.within_pp} must be >= 0")
    if args.out:
        row = export_best(Path(args.run), Path(args.out), within, args.objective)
        spec_line = f"written {args.out} (load it with --hardware {args.out})"
    else:
        spec, row = best_design(Path(args.run), within, args.objective)
        from bplight.config.loader import dump_spec

        sys.stdout.write(dump_spec(spec))
        spec_line = ""
    from bplight.config.loader import load_spec
    from bplight.experiments.sweep.pareto import SIX_RATIOS, six_ratios

    spec_obj = load_spec(str(args.out)) if args.out else spec
    with SweepStore.open(Path(args.run)) as store:
        cw = (yaml.safe_load(store.meta()["spec"]).get("workloads") or {}).get("cost") or [{}]
    ratios = six_ratios(spec_obj, cw[0].get("model", "lenet5"), cw[0].get("input"),
                        int(cw[0].get("batch", 64)))
    if args.json:
        from bplight.io import dumps_json

        print(dumps_json({**_row_json(row), "ratios": ratios}, indent=None), end="")
    elif spec_line:
        keys = json.loads(row["design_key"])
        print(f"best design: {', '.join(f'{k}={v}' for k, v in keys.items())}")
        from bplight.experiments.sweep.pareto import _fmt

        loss = row.get("accuracy_loss_pp")
        print(f"  energy per training image {_fmt('x_j', row['train_energy_per_image_j'])}, "
              f"training latency {_fmt('x_s', row['train_latency_s'])}, accuracy loss "
              + ("not measured" if loss is None or loss != loss else f"{loss:.2f} pp"))
        label = {"speedup": "speedup", "gops_per_s_per_mm2_ratio": "comp. eff.",
                 "energy_saving": "energy saving"}
        print(f"  ratios on {cw[0].get('model', 'lenet5')} (batch {cw[0].get('batch', 64)}):")
        for name, r in ratios.items():
            cells = [f"{m} {label[k]} " + ("-" if r[f'{m}_{k}'] is None else
                                           f"{r[f'{m}_{k}']:.3g}x") for m, k in SIX_RATIOS]
            print(f"    vs {name}: " + ", ".join(cells))
        print(spec_line)
    return 0


def _row_json(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "design_key"}
