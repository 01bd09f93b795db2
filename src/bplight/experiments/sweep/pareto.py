"""A sweep's outputs, from its store alone: the results table (one row per design), the
Pareto front (accuracy loss vs energy per training image vs latency, or the spec's
objectives) as a table, CSV and PNG with ``bplight-16b`` (and ``bplight-paper`` where that
preset exists) and the paper's claims on the same axes, and the best design as a preset
YAML (:func:`best_design`).

Accuracy loss is in percentage points: 100 × (FP32 accuracy − chip accuracy), each
trained identically (same seed, data, schedule), averaged over the seeds.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from bplight.config.loader import dump_spec, load_spec, preset_names
from bplight.errors import InputError
from bplight.experiments.sweep.spec import design_key, maximized
from bplight.experiments.sweep.store import SweepStore, resolved_hardware
from bplight.io import atomic_path, atomic_write_json, atomic_write_text
from bplight.units import format_si

REFERENCE_PRESETS = ("bplight-16b", "bplight-paper")
PAPER_TRAIN_SPEEDUP = 34.0      # BPLight-CNN abstract (docs/sources.md), over PipeLayer
PAPER_TRAIN_ENERGY_SAVING = 38.5
PAPER_ACCURACY_LOSS_PP = 6.0
AXES = ("accuracy_loss_pp", "train_energy_per_image_j", "train_latency_s")


def results_frame(store: SweepStore, workload: str | None = None):  # -> pandas.DataFrame
    """One row per design on cost workload ``workload`` (default: the spec's first):
    its parameters, feasibility and reason, every cost metric, and the accuracy of the
    first accuracy workload (mean over seeds), the FP32 accuracy and the loss in pp."""
    import pandas as pd

    meta = store.meta()
    wl = workload or meta["primary_cost_workload"]
    acc_wl = meta.get("primary_accuracy_workload", "")
    recs = store.records()
    fp32 = {r.seed: r.objectives.get("accuracy") for r in recs
            if r.kind == "fp32" and r.workload == acc_wl and r.status == "done"}
    acc: dict[str, list[tuple[int, Any, str]]] = {}
    for r in recs:
        if r.kind == "accuracy" and r.workload == acc_wl:
            acc.setdefault(design_key(r.design), []).append(
                (r.seed, r.objectives.get("accuracy"), r.status if r.status != "done"
                 else ""))
    rows = []
    for r in recs:
        if r.kind != "cost" or r.workload != wl:
            continue
        row: dict[str, Any] = dict(r.design)
        row.update(feasible=r.status == "done", reason=r.reason or "")
        row.update({k: (math.nan if v is None else v) for k, v in r.objectives.items()})
        runs = acc.get(design_key(r.design), [])
        hw = [a for _, a, _ in runs if a is not None]
        losses = [100.0 * (fp32[s] - a) for s, a, _ in runs
                  if a is not None and fp32.get(s) is not None]
        row["accuracy"] = float(np.mean(hw)) if hw else math.nan
        row["fp32_accuracy"] = (float(np.mean([fp32[s] for s, a, _ in runs
                                               if a is not None and s in fp32]))
                                if losses else math.nan)
        row["accuracy_loss_pp"] = float(np.mean(losses)) if losses else math.nan
        row["accuracy_seeds"] = len(losses)
        row["accuracy_status"] = ",".join(sorted({st for _, _, st in runs if st}))
        row["design_key"] = design_key(r.design)
        rows.append(row)
    return pd.DataFrame(rows)


def pareto_front(frame, objectives: list[str]):  # -> pandas.DataFrame
    """The non-dominated feasible rows of ``frame`` under ``objectives`` (rows lacking
    an objective are left out; an accuracy objective no row has is dropped)."""
    from bplight.experiments.sweep.run import pareto_mask

    if frame.empty:
        return frame
    objs = [o for o in objectives if o in frame and frame[o].notna().any()]
    ok = frame[frame["feasible"]].dropna(subset=objs)
    if ok.empty or not objs:
        return ok
    vals = [[(-1 if maximized(o) else 1) * float(row[o]) for o in objs]
            for _, row in ok.iterrows()]
    front = ok[pareto_mask(vals)]
    return front.sort_values(objs[-1] if objs[0] == "accuracy_loss_pp" else objs[0])


def _objectives(store: SweepStore) -> list[str]:
    return [o for o in store.meta().get("objectives", ",".join(AXES)).split(",") if o]


def _groups(store: SweepStore) -> list[list[str]]:
    """The hardware paths of each parameter of the stored spec (several where tied)."""
    from bplight.experiments.sweep.spec import split_key

    spec = yaml.safe_load(store.meta()["spec"])
    return [split_key(key) for key in spec.get("parameters", {})]


def _params(store: SweepStore) -> list[str]:
    return [path for paths in _groups(store) for path in paths]


def front_table(front, params: list[str], objectives: list[str],
                tied: dict[str, int] | None = None) -> str:
    """The front as a plain-text table (``tied``: a column standing for a tied parameter
    -> how many paths it sets; its header says so, e.g. ``adc_bits (x3)``)."""
    tied = tied or {}
    cols = params + [o for o in objectives if o in front]
    if "accuracy_loss_pp" not in cols and "accuracy_loss_pp" in front and \
            front["accuracy_loss_pp"].notna().any():
        cols.append("accuracy_loss_pp")
    tails = [p.split(".")[-1] for p in params]
    header = [(c.split(".")[-1] if tails.count(c.split(".")[-1]) == 1 else c)
              if c in params else c for c in cols]
    header = [h + (f" (x{tied[c]})" if tied.get(c, 1) > 1 else "")
              for h, c in zip(header, cols, strict=True)]
    body = []
    for _, row in front.iterrows():
        body.append([_fmt(c, row[c]) for c in cols])
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h)
              for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(b, widths, strict=True)) for b in body]
    return "\n".join(lines)


def _fmt(col: str, v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if col.endswith("_j"):
        return format_si(float(v), "J")
    if col.endswith("_s"):
        return format_si(float(v), "s")
    if col.endswith("_hz") and not col.endswith("_per_hz"):
        return format_si(float(v), "Hz")
    if col == "accuracy_loss_pp":
        return f"{float(v):.2f} pp"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


# --- references: bplight-16b, bplight-paper, the paper's claims ---------------------------

def references(store: SweepStore) -> list[dict[str, Any]]:
    """The reference presets and the paper's claimed point on the primary cost workload:
    {label, train_energy_per_image_j, train_latency_s, accuracy_loss_pp (or NaN)}."""
    from bplight.baselines import get_baseline
    from bplight.cost.engine import estimate
    from bplight.experiments.common import build_workload

    spec = yaml.safe_load(store.meta()["spec"])
    cw = (spec.get("workloads") or {}).get("cost") or [{}]
    model, inp, batch = cw[0].get("model", "lenet5"), cw[0].get("input"), cw[0].get(
        "batch", 64)
    wl = build_workload(model, inp)
    out = []
    for name in REFERENCE_PRESETS:
        if name not in preset_names():
            continue
        r = estimate(wl, load_spec(name), mode="train", batch=batch)
        out.append({"label": name, "train_energy_per_image_j": r.energy_j / batch,
                    "train_latency_s": r.latency_s, "accuracy_loss_pp": math.nan})
    pl = get_baseline("pipelayer").estimate(wl, "train", batch)
    out.append({"label": f"paper's claim (PipeLayer / {PAPER_TRAIN_ENERGY_SAVING:g} energy, "
                         f"/ {PAPER_TRAIN_SPEEDUP:g} latency, ~{PAPER_ACCURACY_LOSS_PP:g} pp)",
                "train_energy_per_image_j": pl.energy_j / batch / PAPER_TRAIN_ENERGY_SAVING,
                "train_latency_s": pl.latency_s / PAPER_TRAIN_SPEEDUP,
                "accuracy_loss_pp": PAPER_ACCURACY_LOSS_PP})
    return out


def plot_front(frame, front, refs: list[dict[str, Any]], path: Path, title: str) -> None:
    """PNG: energy per training image vs latency (all feasible designs, the front,
    the references) and, where accuracy was measured, accuracy loss vs energy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    has_acc = "accuracy_loss_pp" in frame and frame["accuracy_loss_pp"].notna().any()
    fig, axes = plt.subplots(1, 2 if has_acc else 1, figsize=(12 if has_acc else 6.5, 5),
                             squeeze=False)
    ok = frame[frame["feasible"]] if not frame.empty else frame
    ax = axes[0][0]
    if not ok.empty:  # every feasible design in grey, the trained ones coloured by loss
        ax.scatter(ok["train_latency_s"], ok["train_energy_per_image_j"], s=6, c="0.75",
                   alpha=0.5, label=f"feasible designs ({len(ok)})")
        if has_acc:
            acc = ok.dropna(subset=["accuracy_loss_pp"])
            sc = ax.scatter(acc["train_latency_s"], acc["train_energy_per_image_j"], s=16,
                            c=acc["accuracy_loss_pp"], cmap="viridis",
                            label=f"trained designs ({len(acc)})")
            fig.colorbar(sc, ax=ax, label="accuracy loss vs FP32 (pp)")
    if not front.empty:  # a front of 3 objectives is a set of points, not a curve here
        f = front.sort_values("train_latency_s")
        ax.plot(f["train_latency_s"], f["train_energy_per_image_j"], "o", mfc="none",
                mec="r", ms=8, label=f"Pareto front ({len(front)})")
    style = {ref["label"]: (m, c) for ref, m, c in
             zip(refs, "s^Dvo", ("tab:blue", "tab:orange", "tab:green", "tab:purple",
                                 "tab:brown"), strict=False)}
    for ref in refs:
        m, c = style[ref["label"]]
        ax.scatter([ref["train_latency_s"]], [ref["train_energy_per_image_j"]], s=80,
                   marker=m, color=c, edgecolor="k", label=ref["label"], zorder=5)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training latency per batch (s)")
    ax.set_ylabel("energy per training image (J)")
    ax.legend(fontsize=7)
    ax.grid(True, which="both", alpha=0.3)
    if has_acc:
        ax = axes[0][1]
        acc = ok.dropna(subset=["accuracy_loss_pp"])
        ax.scatter(acc["train_energy_per_image_j"], acc["accuracy_loss_pp"], s=14,
                   c="0.5", label=f"trained designs ({len(acc)})")
        f = front.dropna(subset=["accuracy_loss_pp"]).sort_values("train_energy_per_image_j")
        if not f.empty:
            ax.plot(f["train_energy_per_image_j"], f["accuracy_loss_pp"], "o", mfc="none",
                    mec="r", ms=8, label="Pareto front")
        for ref in refs:
            m, c = style[ref["label"]]
            if math.isnan(ref["accuracy_loss_pp"]):
                ax.axvline(ref["train_energy_per_image_j"], ls="--", lw=1, color=c,
                           alpha=0.7)
                ax.text(ref["train_energy_per_image_j"], ax.get_ylim()[1], ref["label"],
                        rotation=90, va="top", fontsize=7)
            else:
                ax.scatter([ref["train_energy_per_image_j"]], [ref["accuracy_loss_pp"]],
                           s=80, marker=m, color=c, edgecolor="k", label=ref["label"],
                           zorder=5)
        ax.set_xscale("log")
        ax.set_xlabel("energy per training image (J)")
        ax.set_ylabel("accuracy loss vs FP32 (pp)")
        ax.legend(fontsize=7)
        ax.grid(True, which="both", alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)


def _csv(frame) -> str:
    return frame.to_csv(index=False, na_rep="")


def write_outputs(run_dir: Path, store: SweepStore) -> dict[str, str]:
    """results.csv, pareto.csv, pareto.png, pareto.txt and summary.json in ``run_dir``."""
    run_dir = Path(run_dir)
    frame = results_frame(store)
    objectives = _objectives(store)
    front = pareto_front(frame, objectives)
    groups = _groups(store)
    params = [path for paths in groups for path in paths]
    drop = ["design_key"]
    atomic_write_text(run_dir / "results.csv", _csv(frame.drop(columns=drop,
                                                               errors="ignore")))
    atomic_write_text(run_dir / "pareto.csv", _csv(front.drop(columns=drop, errors="ignore")))
    table = front_table(front, [paths[0] for paths in groups], objectives,
                        {paths[0]: len(paths) for paths in groups})
    atomic_write_text(run_dir / "pareto.txt", table + "\n")
    refs = references(store) if not frame.empty else []
    plot_front(frame, front, refs, run_dir / "pareto.png",
               f"sweep {yaml.safe_load(store.meta()['spec']).get('name', '')}: "
               f"{store.meta()['primary_cost_workload']}")
    counts = store.count()
    atomic_write_json(run_dir / "summary.json", {
        "points": counts, "designs": int(len(frame)),
        "feasible_designs": int(frame["feasible"].sum()) if not frame.empty else 0,
        "pareto_designs": int(len(front)), "objectives": objectives,
        "code_version": store.meta()["code_version"],
        "pareto": [{k: v for k, v in row.items() if k in params or k in objectives
                    or k in AXES} for row in front.to_dict("records")],
        "references": refs})
    return {"results_csv": str(run_dir / "results.csv"),
            "pareto_csv": str(run_dir / "pareto.csv"),
            "pareto_png": str(run_dir / "pareto.png"),
            "pareto_txt": str(run_dir / "pareto.txt"),
            "summary_json": str(run_dir / "summary.json"), "table": table}


def best_design(run_dir: Path, within_pp: float | None = 1.0,
                objective: str = "train_energy_per_image_j") -> tuple[Any, dict[str, Any]]:
    """The feasible design with the least (most, for a maximised objective)
    ``objective`` among those within ``within_pp`` of FP32 (all feasible designs where
    ``within_pp`` is None); (HardwareSpec, its row). InputError if there is none."""
    with SweepStore.open(run_dir) as store:
        frame = results_frame(store)
        if frame.empty or not frame["feasible"].any():
            raise InputError(f"{run_dir}: the sweep has no feasible design yet")
        if objective not in frame:
            cols = [c for c in frame if c.startswith(("train_", "infer_", "area"))]
            raise InputError(f"--objective {objective!r} is not a column of this sweep; "
                             f"allowed: {', '.join(cols)}")
        ok = frame[frame["feasible"]].dropna(subset=[objective])
        if within_pp is not None:
            if not ok["accuracy_loss_pp"].notna().any():
                raise InputError(f"{run_dir}: no design of this sweep was trained, so none is "
                                 "known to be within --within-pp; run it with accuracy: all "
                                 "or pareto, or pass --within-pp none")
            ok = ok[ok["accuracy_loss_pp"] <= within_pp]
            if ok.empty:
                best_loss = frame["accuracy_loss_pp"].min()
                raise InputError(f"no design is within {within_pp:g} pp of FP32 (the best "
                                 f"loss is {best_loss:.2f} pp); raise --within-pp")
        row = ok.sort_values(objective, ascending=not maximized(objective)).iloc[0]
        design = json.loads(row["design_key"])
        spec = resolved_hardware(store, design)
    loss = row.get("accuracy_loss_pp")
    loss_text = "" if loss is None or math.isnan(loss) else f", {loss:.2f} pp below FP32"
    desc = (f"best design of sweep {run_dir} by {objective} ({float(row[objective]):.4g}"
            f"{loss_text}): " + ", ".join(f"{k}={v}" for k, v in design.items()))
    spec = spec.model_copy(update={"name": f"sweep-best-{Path(run_dir).name}",
                                   "description": desc})
    return spec, {k: _py(v) for k, v in row.items()}


SIX_RATIOS = (("train", "speedup"), ("train", "gops_per_s_per_mm2_ratio"),
              ("train", "energy_saving"), ("infer", "speedup"),
              ("infer", "gops_per_s_per_mm2_ratio"), ("infer", "energy_saving"))
"""The paper's six headline ratios (training and inference speedup, computational
efficiency, energy saving)."""


def six_ratios(spec: Any, model: str = "lenet5", input_shape: str | None = None,
               batch: int = 64, baselines: tuple[str, ...] = ("gtx1080", "pipelayer",
                                                               "isaac")
               ) -> dict[str, dict[str, float | None]]:
    """The six ratios of ``spec`` over each baseline on the same GEMMs ({baseline:
    {"train_speedup": x, ...}}; None where the baseline cannot run the phase)."""
    from bplight.baselines import get_baseline
    from bplight.cost.engine import estimate
    from bplight.experiments.common import build_workload
    from bplight.experiments.compare import compare_to

    wl = build_workload(model, input_shape)
    reports = {m: estimate(wl, spec, mode=m, batch=batch) for m in ("train", "infer")}
    out: dict[str, dict[str, float | None]] = {}
    for name in baselines:
        comps = {m: compare_to(reports[m], wl, get_baseline(name), m, batch)
                 for m in ("train", "infer")}
        out[name] = {f"{m}_{k}": comps[m].metric(k) for m, k in SIX_RATIOS}
    return out


def _py(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def export_best(run_dir: Path, out: Path, within_pp: float | None = 1.0,
                objective: str = "train_energy_per_image_j") -> dict[str, Any]:
    """Write the best design as a preset YAML loadable by ``--hardware out``."""
    spec, row = best_design(run_dir, within_pp, objective)
    atomic_write_text(out, f"# {spec.description}\n" + dump_spec(spec))
    load_spec(str(out))  # it must load back
    return row
