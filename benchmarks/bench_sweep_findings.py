"""The answers issue 10 asks for, from one accuracy-in-the-loop sweep and one full-data run.

Runs ``examples/sweep-findings-lenet.yaml`` (resumed if its run directory exists: 10,000
random designs costed on LeNet-5, the cost-Pareto candidates of each (operand resolution,
ADC bits) pair trained on a 10,000-image MNIST subset for 1 epoch against FP32 trained identically),
then reads the store and reports:

* the cheapest design (energy per training image) within 1.0 pp of FP32, exported as
  ``examples/design-best-lenet.yaml``, with its six ratios (training and inference
  speedup, computational efficiency GOPS/s/mm², energy saving, as ``bplight compare``
  computes them) against the GTX 1080, PipeLayer (training) and ISAAC (inference);
* the cheapest design within 6 pp (the paper's reported loss), exported as
  ``examples/design-6pp-lenet.yaml``, and its ratios;
* whether any feasible design reaches >= 34x training speedup over the GTX 1080, and at
  what accuracy the fastest trained designs train;
* with ``--confirm``: the best design's accuracy on the full data, ``bplight train
  --hardware examples/design-best-lenet.yaml --epochs 3 --seed 0`` (full MNIST, fast
  mode, FP32 trained beside it with the same seed).

Writes ``docs/sweep-findings.md``, ``docs/sweep-findings.json`` and
``docs/sweep-findings.png`` (the sweep's Pareto plot, with bplight-16b, bplight-paper and
the paper's claimed point on the same axes)::

    python benchmarks/bench_sweep_findings.py [--workers 2] [--confirm] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bplight.config.loader import load_spec
from bplight.experiments.sweep import (
    SweepOptions,
    SweepStore,
    export_best,
    load_sweep_spec,
    results_frame,
    run_sweep,
)
from bplight.experiments.sweep.pareto import PAPER_TRAIN_SPEEDUP, six_ratios
from bplight.experiments.sweep.spec import split_key
from bplight.io import atomic_write_json, atomic_write_text

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "examples" / "sweep-findings-lenet.yaml"
REFERENCES = ("bplight-16b", "bplight-8b-1x2", "bplight-paper")
BASELINES = ("gtx1080", "pipelayer", "isaac")
WORKLOAD = ("lenet5", None, 64)


def rel(path: str | Path) -> str:
    """``path`` relative to the repository where it lies inside it."""
    p = Path(path).resolve()
    return str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(p)


def _f(v: Any) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def describe(row: Any, groups: list[list[str]]) -> dict[str, Any]:
    """The design's knob values, one per parameter (a tied group by its first path)."""
    out = {}
    for paths in groups:
        v = row[paths[0]]
        out[paths[0] if len(paths) == 1 else f"{paths[0]} (x{len(paths)})"] = (
            v.item() if hasattr(v, "item") else v)
    return out


def design_record(row: Any, groups: list[list[str]], spec: Any) -> dict[str, Any]:
    return {"design": describe(row, groups),
            "accuracy": _f(row.get("accuracy")), "fp32_accuracy": _f(row.get("fp32_accuracy")),
            "accuracy_loss_pp": _f(row.get("accuracy_loss_pp")),
            "train_energy_per_image_j": float(row["train_energy_per_image_j"]),
            "train_latency_s": float(row["train_latency_s"]),
            "infer_energy_per_image_j": float(row["infer_energy_per_image_j"]),
            "area_mm2": float(row["area_mm2"]),
            "train_speedup_vs_gtx1080": float(row["train_speedup_vs_gtx1080"]),
            "ratios": six_ratios(spec, *WORKLOAD, baselines=BASELINES)}


def confirm(design_yaml: Path, run_dir: Path, epochs: int, data_root: str | None
            ) -> dict[str, Any]:
    """``bplight train`` on the full data (chip and FP32, same seed); its summary."""
    cmd = [sys.executable, "-m", "bplight", "train", "--hardware", str(design_yaml),
           "--model", "lenet5", "--dataset", "mnist", "--epochs", str(epochs),
           "--seed", "0", "--batch-size", "64", "--lr", "0.05", "--quiet", "--json"]
    if data_root:
        cmd += ["--data-root", data_root]
    if (run_dir / "summary.json").exists():  # finished before: read it back
        summary = json.loads((run_dir / "summary.json").read_text())
    else:
        if run_dir.exists():
            cmd += ["--resume", str(run_dir)]
        else:
            cmd += ["--run-dir", str(run_dir)]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        summary = json.loads((run_dir / "summary.json").read_text())
        summary["confirm_wall_s"] = time.perf_counter() - t0
    shown = [c for c in cmd if c not in ("--quiet", "--json")]
    shown[:3] = ["bplight"]
    return {"command": " ".join(shown), **{k: summary.get(k) for k in (
        "test_accuracy", "fp32_test_accuracy", "accuracy_gap_pp", "epochs", "subset",
        "mode", "wall_time_s", "confirm_wall_s")}}


def ratio_rows(name: str, ratios: dict[str, dict[str, float | None]]) -> list[str]:
    def x(v: float | None) -> str:
        return "-" if v is None else f"{v:.3g}x"

    return [f"| {name} | {b} | {x(r['train_speedup'])} | "
            f"{x(r['train_gops_per_s_per_mm2_ratio'])} | {x(r['train_energy_saving'])} | "
            f"{x(r['infer_speedup'])} | {x(r['infer_gops_per_s_per_mm2_ratio'])} | "
            f"{x(r['infer_energy_saving'])} |" for b, r in ratios.items()]


def knobs_text(d: dict[str, Any]) -> str:
    parts = []
    for k, v in d.items():
        name = k.split(" (x")[0].split(".")[-1]
        if "input_bits" in k and "(x" in k:
            name = "operand bits"
        elif "(x" in k:
            name = name + " (all products)"
        if isinstance(v, float) and k.endswith("_hz") and not k.endswith("per_hz"):
            v = f"{v / 1e9:g} GHz"
        parts.append(f"{name} {v}")
    return ", ".join(parts)


def si(v: float, unit: str) -> str:
    from bplight.units import format_si

    return format_si(v, unit)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", default=str(SPEC))
    ap.add_argument("--out", default=str(ROOT / "runs" / "sweep-findings-lenet"),
                    help="the sweep's run directory (resumed if it exists)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--confirm", action="store_true",
                    help="also train the best design on the full data (3 epochs, with FP32)")
    ap.add_argument("--confirm-epochs", type=int, default=3)
    ap.add_argument("--report-only", action="store_true",
                    help="do not run the sweep: report on what its store holds so far")
    ap.add_argument("--docs", default=str(ROOT / "docs"))
    ap.add_argument("--examples", default=str(ROOT / "examples"))
    args = ap.parse_args()

    out = Path(args.out)
    t0 = time.perf_counter()
    resolved = load_sweep_spec(args.spec)
    trained_new = 0
    if not args.report_only:
        run = run_sweep(resolved, out, SweepOptions(
            workers=args.workers, threads=1, resume=(out / "sweep.sqlite").exists(),
            progress=True, data_root=args.data_root))
        trained_new = run.accuracy_new
    sweep_s = time.perf_counter() - t0
    groups = [split_key(k) for k in resolved.spec.parameters]
    with SweepStore.open(out) as store:
        frame = results_frame(store)
        counts = store.count()
        stored_version = store.meta()["code_version"]
    feasible = frame[frame["feasible"]]
    trained = feasible.dropna(subset=["accuracy_loss_pp"])
    fp32 = float(trained["fp32_accuracy"].iloc[0]) if len(trained) else None
    examples = Path(args.examples)
    found: dict[str, Any] = {
        "spec": rel(args.spec),
        "ring_model": resolved.base.photonics.ring_model,
        "base_hardware": resolved.spec.hardware, "code_version": stored_version,
        "sweep_wall_s_this_invocation": sweep_s,
        "training_runs_this_invocation": trained_new,
        "report_only": args.report_only,
        "accuracy_strata": resolved.spec.accuracy_strata,
        "max_accuracy_points": resolved.spec.max_accuracy_points,
        "load_average_1min": os.getloadavg()[0], "cpus": os.cpu_count(),
        "designs": int(len(frame)), "feasible_designs": int(len(feasible)),
        "trained_designs": int(len(trained)), "points": counts,
        "fp32_accuracy": fp32,
        "accuracy_workload": resolved.spec.workloads.accuracy[0].model_dump(),
    }

    def pick(within: float, name: str) -> dict[str, Any] | None:
        ok = trained[trained["accuracy_loss_pp"] <= within]
        if ok.empty:
            return None
        path = examples / name
        row = export_best(out, path, within)
        rec = design_record(ok.sort_values("train_energy_per_image_j").iloc[0], groups,
                            load_spec(str(path)))
        rec["preset"] = rel(path)
        assert math.isclose(row["train_energy_per_image_j"], rec["train_energy_per_image_j"])
        return rec

    found["best_within_1pp"] = pick(1.0, "design-best-lenet.yaml")
    found["best_within_6pp"] = pick(6.0, "design-6pp-lenet.yaml")

    # speedup over the GPU: every feasible design (cost), and the trained ones (accuracy)
    sp = feasible["train_speedup_vs_gtx1080"]
    fast = feasible[sp >= PAPER_TRAIN_SPEEDUP]
    found["speedup"] = {
        "threshold": PAPER_TRAIN_SPEEDUP,
        "feasible_designs_at_or_above": int(len(fast)),
        "max_feasible_train_speedup_vs_gtx1080": float(sp.max()) if len(sp) else None,
        "min_tiles_at_or_above": (int(fast["architecture.tiles"].min())
                                  if len(fast) and "architecture.tiles" in fast else None),
        "min_area_mm2_at_or_above": float(fast["area_mm2"].min()) if len(fast) else None,
    }
    tfast = trained.sort_values("train_speedup_vs_gtx1080", ascending=False)
    found["speedup"]["fastest_trained"] = [
        {"design": describe(r, groups), "train_speedup_vs_gtx1080":
         float(r["train_speedup_vs_gtx1080"]), "accuracy_loss_pp": float(r["accuracy_loss_pp"]),
         "train_energy_per_image_j": float(r["train_energy_per_image_j"]),
         "area_mm2": float(r["area_mm2"])} for _, r in tfast.head(5).iterrows()]
    at = trained[trained["train_speedup_vs_gtx1080"] >= PAPER_TRAIN_SPEEDUP]
    found["speedup"]["trained_at_or_above"] = int(len(at))
    found["speedup"]["best_loss_at_or_above_pp"] = (float(at["accuracy_loss_pp"].min())
                                                    if len(at) else None)
    found["speedup"]["most_accurate_at_or_above"] = [
        {"design": describe(r, groups), "train_speedup_vs_gtx1080":
         float(r["train_speedup_vs_gtx1080"]), "accuracy_loss_pp": float(r["accuracy_loss_pp"]),
         "train_energy_per_image_j": float(r["train_energy_per_image_j"]),
         "area_mm2": float(r["area_mm2"])}
        for _, r in at.sort_values("accuracy_loss_pp").head(5).iterrows()]

    # per operand resolution: what was trained, the best loss, the cheapest within 1 pp
    strata = []
    key = groups[0][0]
    for bits, sub in trained.groupby(key):
        ok = sub[sub["accuracy_loss_pp"] <= 1.0]
        strata.append({"operand_bits": int(bits), "trained": int(len(sub)),
                       "best_loss_pp": float(sub["accuracy_loss_pp"].min()),
                       "median_loss_pp": float(sub["accuracy_loss_pp"].median()),
                       "within_1pp": int(len(ok)),
                       "cheapest_within_1pp_j": (float(ok["train_energy_per_image_j"].min())
                                                 if len(ok) else None)})
    found["by_operand_bits"] = strata
    found["references"] = {}
    for name in REFERENCES:
        try:
            spec = load_spec(name)
        except Exception:  # a preset another version lacks
            continue
        from bplight.cost.engine import estimate
        from bplight.experiments.common import build_workload

        rep = estimate(build_workload("lenet5"), spec, mode="train", batch=64)
        found["references"][name] = {
            "train_energy_per_image_j": rep.energy_j / 64, "train_latency_s": rep.latency_s,
            "area_mm2": rep.area_mm2,
            "ratios": six_ratios(spec, *WORKLOAD, baselines=BASELINES)}
    docs = Path(args.docs)
    docs.mkdir(parents=True, exist_ok=True)
    if (out / "pareto.png").exists():
        shutil.copyfile(out / "pareto.png", docs / "sweep-findings.png")
    atomic_write_json(docs / "sweep-findings.json", found)  # also before the long run
    atomic_write_text(docs / "sweep-findings.md", markdown(found))
    if args.confirm and found["best_within_1pp"] is not None:
        found["confirm"] = confirm(examples / "design-best-lenet.yaml",
                                   out / "confirm-best", args.confirm_epochs, args.data_root)
        atomic_write_json(docs / "sweep-findings.json", found)
        atomic_write_text(docs / "sweep-findings.md", markdown(found))
    print(markdown(found))


def markdown(f: dict[str, Any]) -> str:
    lines = ["# Design-space findings: LeNet-5 / MNIST", "",
             "Generated by `python benchmarks/bench_sweep_findings.py --confirm` from "
             f"`{f['spec']}` (base `{f['base_hardware']}`, ring model "
             f"`{f['ring_model']}`); code: `{f['code_version']}`. Machine: {f['cpus']} CPUs, "
             f"load average {f['load_average_1min']:.1f} at the end. Data: "
             "`docs/sweep-findings.json`; plot: `docs/sweep-findings.png`.", "",
             f"{f['designs']:,} designs costed (LeNet-5, batch 64, training and inference), "
             f"{f['feasible_designs']:,} feasible (the others are kept in the store with "
             f"the reason: link budget, schema limits); {f['trained_designs']} trained, "
             "the cost-Pareto candidates (energy per training image vs latency: the front, "
             "then the next layers) of each value combination of "
             + " x ".join(p.split(".")[-1] for p in f["accuracy_strata"])
             + f", taken in turn up to {f['max_accuracy_points']}. LeNet-5, "
             f"{f['accuracy_workload']['subset']:,}-image MNIST subset, "
             f"{f['accuracy_workload']['epochs']} epoch, seed 0, fast mode; FP32 trained "
             f"identically: {100 * (f['fp32_accuracy'] or 0):.2f} %. One seed, one short "
             "epoch: a design's loss carries about +-1 pp of run-to-run noise, so the "
             "chosen design is confirmed on the full data below.", ""]

    def design_block(title: str, rec: dict[str, Any] | None) -> None:
        nonlocal lines
        lines.append(f"## {title}")
        lines.append("")
        if rec is None:
            lines += ["No trained design qualifies.", ""]
            return
        lines += [f"`{rec['preset']}`: {knobs_text(rec['design'])}.", "",
                  f"Accuracy {100 * rec['accuracy']:.2f} % (loss "
                  f"{rec['accuracy_loss_pp']:.2f} pp); energy per training image "
                  f"{si(rec['train_energy_per_image_j'], 'J')}, training latency per batch "
                  f"of 64 {si(rec['train_latency_s'], 's')}, area {rec['area_mm2']:.0f} mm²; "
                  f"training speedup over the GTX 1080 {rec['train_speedup_vs_gtx1080']:.3g}x.",
                  "", "| design | vs | train speedup | train comp. eff. | train energy "
                  "saving | infer speedup | infer comp. eff. | infer energy saving |",
                  "|---|---|---|---|---|---|---|---|"]
        lines += ratio_rows("this design", rec["ratios"])
        lines.append("")

    design_block("Cheapest design within 1.0 pp of FP32", f["best_within_1pp"])
    c = f.get("confirm")
    if c:
        lines += ["**Full-data confirmation** (`" + c["command"] + "`): "
                  f"{100 * c['test_accuracy']:.2f} % vs FP32 "
                  f"{100 * c['fp32_test_accuracy']:.2f} % (gap {c['accuracy_gap_pp']:.2f} pp), "
                  f"{c['epochs']} epochs on the full MNIST training set, fast mode; "
                  f"{c['wall_time_s']:.0f} s for both runs.", ""]
    design_block("Cheapest design within 6 pp (the paper's reported loss)",
                 f["best_within_6pp"])
    s = f["speedup"]
    lines += ["## Training speedup >= 34x over the GTX 1080?", "",
              f"{s['feasible_designs_at_or_above']} of {f['feasible_designs']:,} feasible "
              f"designs reach >= {s['threshold']:g}x (the most: "
              f"{s['max_feasible_train_speedup_vs_gtx1080']:.3g}x)"
              + (f"; all of them with >= {s['min_tiles_at_or_above']} tiles and "
                 f">= {s['min_area_mm2_at_or_above']:.0f} mm²" if
                 s["feasible_designs_at_or_above"] else "") + ". "
              f"Trained designs at or above it: {s['trained_at_or_above']}"
              + (f", best loss {s['best_loss_at_or_above_pp']:.2f} pp"
                 if s["best_loss_at_or_above_pp"] is not None else "") + ".", "",
              "The fastest trained designs, then the most accurate trained designs at or "
              f"above {s['threshold']:g}x:", "",
              "| speedup vs GTX 1080 | loss (pp) | energy / training image | area (mm²) | "
              "design |", "|---|---|---|---|---|"]
    for r in s["fastest_trained"] + [{}] + s.get("most_accurate_at_or_above", []):
        if not r:
            lines.append("| | | | | |")
            continue
        lines.append(f"| {r['train_speedup_vs_gtx1080']:.3g}x | {r['accuracy_loss_pp']:.2f} "
                     f"| {si(r['train_energy_per_image_j'], 'J')} | {r['area_mm2']:.0f} | "
                     f"{knobs_text(r['design'])} |")
    lines += ["", "## By operand resolution", "",
              "| operand bits | trained | best loss (pp) | median loss (pp) | within 1 pp | "
              "cheapest within 1 pp |", "|---|---|---|---|---|---|"]
    for r in f["by_operand_bits"]:
        cheap = ("-" if r["cheapest_within_1pp_j"] is None
                 else si(r["cheapest_within_1pp_j"], "J"))
        lines.append(f"| {r['operand_bits']} | {r['trained']} | {r['best_loss_pp']:.2f} | "
                     f"{r['median_loss_pp']:.2f} | {r['within_1pp']} | {cheap} |")
    lines += ["", "## References (cost on the same workload; not retrained here)", "",
              "| preset | energy / training image | training latency | vs | train speedup "
              "| train comp. eff. | train energy saving | infer speedup | infer comp. eff. "
              "| infer energy saving |", "|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in f["references"].items():
        for row in ratio_rows(name, r["ratios"]):
            cells = row.split(" | ", 1)
            lines.append(f"{cells[0]} | {si(r['train_energy_per_image_j'], 'J')} | "
                         f"{si(r['train_latency_s'], 's')} | {cells[1]}")
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
