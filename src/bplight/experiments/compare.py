"""``bplight compare``: BPLight-CNN side by side with the baseline accelerators.

For one workload (a built-in model and input shape), one hardware description and one
phase (``train`` or ``infer``), the photonic cost engine and every baseline cost the
*same* GEMMs; the table gives, for BPLight-CNN over each baseline:

* **speedup** = baseline latency / BPLight-CNN latency;
* **computational-efficiency ratio** = BPLight-CNN GOPS/s/mm² / baseline GOPS/s/mm²;
* **power-efficiency ratio** = BPLight-CNN GOPS/W / baseline GOPS/W;
* **energy saving** = baseline energy / BPLight-CNN energy.

With equal op counts on both sides the power-efficiency ratio equals the energy saving
(GOPS/W = ops / energy); both are shown because the literature quotes both. A baseline
that cannot run the phase (an inference-only design asked to train) gets no numbers and
the reason instead.

Python API: :func:`build_workload`, :func:`compare`, :func:`ratios`,
:func:`comparison_table`, :func:`plot_comparison`.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bplight.baselines import (
    BASELINES,
    Baseline,
    TrainingNotSupported,
    get_baseline,
)
from bplight.cost.report import CostReport
from bplight.errors import InputError
from bplight.experiments.common import DEFAULT_INPUT, build_workload, check_batch, json_line
from bplight.io import atomic_path
from bplight.models import MODEL_NAMES as MODEL_CHOICES
from bplight.units import format_si

__all__ = ["DEFAULT_INPUT", "MODEL_CHOICES", "build_workload"]  # and the functions below

DEFAULT_BATCH = 64
"""Images per estimate: PipeLayer's training batch example (64); the same stream of 64
images for inference so that pipelined designs reach steady state (assumption)."""

METRICS = ("speedup", "gops_per_s_per_mm2_ratio", "gops_per_w_ratio", "energy_saving")
METRIC_LABELS = {
    "speedup": "speedup",
    "gops_per_s_per_mm2_ratio": "comp. eff. (GOPS/s/mm²)",
    "gops_per_w_ratio": "power eff. (GOPS/W)",
    "energy_saving": "energy saving",
}


# --- workload and photonic estimate --------------------------------------------------------

def photonic_estimate(workload: Any, spec: Any, mode: str, batch: int) -> CostReport:
    """The cost engine's report for ``workload`` on ``spec``."""
    from bplight.cost.engine import estimate

    return estimate(workload, spec, mode=mode, batch=batch)


# --- ratios -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Comparison:
    """BPLight-CNN over one baseline. Ratios are ``None`` (with ``reason``) where the
    baseline cannot run the phase."""

    baseline: str
    title: str
    speedup: float | None
    energy_saving: float | None
    gops_per_w_ratio: float | None
    gops_per_s_per_mm2_ratio: float | None
    reason: str | None = None
    report: CostReport | None = None
    assumptions: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def metric(self, name: str) -> float | None:
        return getattr(self, name)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {m: _finite(self.metric(m)) for m in METRICS}
        out["reason"] = self.reason
        out["title"] = self.title
        out["baseline_summary"] = None if self.report is None else self.report.summary()
        out["assumptions"] = list(self.assumptions)
        out["sources"] = list(self.sources)
        return out


def _finite(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _div(a: float, b: float) -> float | None:
    return a / b if b > 0 and a > 0 else None


def ratios(photonic: CostReport, base: CostReport) -> dict[str, float | None]:
    """The four ratios of BPLight-CNN (``photonic``) over ``base``; both must count the
    same operations."""
    if photonic.macs != base.macs:  # a bug: both sides cost the same Workload.gemms
        raise AssertionError(f"op counts differ: {photonic.design} {photonic.macs} MACs vs "
                         f"{base.design} {base.macs} MACs; ratios need the same workload")
    return {
        "speedup": _div(base.latency_s, photonic.latency_s),
        "energy_saving": _div(base.energy_j, photonic.energy_j),
        "gops_per_w_ratio": _div(photonic.gops_per_w, base.gops_per_w),
        "gops_per_s_per_mm2_ratio": _div(photonic.gops_per_s_per_mm2,
                                         base.gops_per_s_per_mm2),
    }


def compare_to(photonic: CostReport, workload: Any, baseline: Baseline, mode: str,
               batch: int) -> Comparison:
    """Cost ``workload`` on ``baseline`` with the photonic report's op counts; ratios."""
    title = getattr(baseline, "title", baseline.name)
    try:
        base = baseline.estimate(workload, mode, batch)  # the same Workload.gemms
    except TrainingNotSupported as exc:
        return Comparison(baseline.name, title, None, None, None, None,
                          reason=f"inference only: {exc.reason}",
                          assumptions=baseline.assumptions, sources=baseline.sources)
    return Comparison(baseline.name, title, **ratios(photonic, base), report=base,
                      assumptions=base.assumptions, sources=base.sources)


def resolve_baselines(names: str | Sequence[str] | None) -> list[Baseline]:
    """Baselines named in a comma-separated string or a list (all when ``None``)."""
    if names is None:
        return list(BASELINES.values())
    items = names.split(",") if isinstance(names, str) else list(names)
    items = [n.strip() for n in items if n.strip()]
    if not items:
        raise InputError(f"--baselines names none; allowed: {', '.join(BASELINES)}")
    out: list[Baseline] = []
    for n in items:
        b = get_baseline(n)
        if b not in out:
            out.append(b)
    return out


def compare(workload: Any, spec: Any, mode: str = "train", batch: int = DEFAULT_BATCH,
            baselines: str | Sequence[str] | None = None,
            photonic: CostReport | None = None) -> tuple[CostReport, list[Comparison]]:
    """The photonic report and one :class:`Comparison` per baseline."""
    chosen = resolve_baselines(baselines)
    if photonic is None:
        photonic = photonic_estimate(workload, spec, mode, batch)
    return photonic, [compare_to(photonic, workload, b, mode, batch) for b in chosen]


# --- output -------------------------------------------------------------------------------

def workload_label(name: str, shape: Sequence[int]) -> str:
    """``name`` plus its input shape unless the name already carries it."""
    dims = "x".join(map(str, shape))
    return name if dims in name else f"{name} {dims}"


def _fmt_ratio(x: float | None) -> str:
    if x is None:
        return "n/a"
    if x >= 100:
        return f"{x:,.0f}x"
    return f"{x:.3g}x"


def comparison_table(photonic: CostReport, comps: Sequence[Comparison],
                     markdown: bool = False) -> str:
    """A readable table (plain text or Markdown) of the ratios and each side's figures."""
    head = ["baseline", "speedup", "comp. eff. ratio", "power eff. ratio", "energy saving",
            "baseline GOPS", "baseline GOPS/W", "baseline GOPS/s/mm²"]
    rows = [["BPLight-CNN (this design)", "1x", "1x", "1x", "1x",
             f"{photonic.gops:.4g}", f"{photonic.gops_per_w:.4g}",
             f"{photonic.gops_per_s_per_mm2:.4g}"]]
    for c in comps:
        rep = c.report
        rows.append([
            c.baseline, _fmt_ratio(c.speedup), _fmt_ratio(c.gops_per_s_per_mm2_ratio),
            _fmt_ratio(c.gops_per_w_ratio), _fmt_ratio(c.energy_saving),
            "-" if rep is None else f"{rep.gops:.4g}",
            "-" if rep is None else f"{rep.gops_per_w:.4g}",
            "-" if rep is None else f"{rep.gops_per_s_per_mm2:.4g}",
        ])
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    fmt = "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
    lines = [fmt.format(*head), fmt.format(*["-" * w for w in widths])]
    lines += [fmt.format(*r) for r in rows]
    return "\n".join(lines)


def photonic_summary_lines(r: CostReport) -> list[str]:
    return [
        f"BPLight-CNN on {workload_label(r.workload, r.input_shape)}, {r.mode}, "
        f"batch {r.batch}: {r.macs:,} MACs ({r.ops:.4g} ops)",
        f"  latency {format_si(r.latency_s, 's')}, energy {format_si(r.energy_j, 'J')}, "
        f"power {format_si(r.power_w, 'W')}, area {r.area_mm2:.4g} mm²",
        f"  {r.gops:.4g} GOPS, {r.gops_per_w:.4g} GOPS/W, {r.gops_per_s_per_mm2:.4g} GOPS/s/mm²",
    ]


def assumption_lines(comps: Sequence[Comparison]) -> list[str]:
    out: list[str] = []
    for c in comps:
        out.append(f"{c.baseline} — {c.title}")
        if c.reason:
            out.append("  not compared: it cannot run this phase (see below)")
        out.extend(f"  - {a}" for a in c.assumptions)
        out.extend(f"  source: {s}" for s in c.sources)
    return out


def comparison_json(photonic: CostReport, comps: Sequence[Comparison],
                    extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``--json`` object: the photonic summary and a ``baselines`` mapping."""
    out: dict[str, Any] = dict(extra or {})
    out["phase"] = photonic.mode
    out["batch"] = photonic.batch
    out["photonic"] = photonic.summary()
    out["baselines"] = {c.baseline: c.to_json() for c in comps}
    return out


def _atomic_savefig(fig: Any, path: Path) -> None:
    """Save ``fig`` as PNG through the one atomic writer."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")


def plot_comparison(photonic: CostReport, comps: Sequence[Comparison], path: str | Path,
                    title: str | None = None) -> Path:
    """Bar charts (one panel per ratio) as PNG; log axes where the ratios span more than a
    decade. Baselines that cannot run the phase are marked n/a."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5), constrained_layout=True)
    names = [c.baseline for c in comps]
    for ax, metric in zip(axes.flat, METRICS, strict=True):
        vals = [c.metric(metric) for c in comps]
        ok = [v for v in vals if v is not None and v > 0]
        heights = [v if v is not None and v > 0 else 0.0 for v in vals]
        colors = ["tab:blue" if (v or 0) >= 1 else "tab:red" for v in vals]
        ax.bar(range(len(names)), heights, color=colors)
        ax.axhline(1.0, color="k", lw=0.8, ls="--")
        span_log = bool(ok) and max(ok) / min(ok) > 10 or any(v < 0.1 for v in ok)
        if span_log:
            ax.set_yscale("log")
        if ok:
            ax.set_ylim(top=max(ok + [1.0]) * (3.0 if span_log else 1.15))
        lo = min(ok + [1.0]) if ok else 1.0
        for i, v in enumerate(vals):
            label = "n/a" if v is None else _fmt_ratio(v)
            y = v if v is not None and v > 0 else lo
            ax.annotate(label, (i, y), ha="center", va="bottom", fontsize=8,
                        xytext=(0, 2), textcoords="offset points")
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, rotation=30, ha="right")
        ax.set_title(f"BPLight-CNN {METRIC_LABELS[metric]} over baseline"
                     + (" (log)" if span_log else ""))
        ax.set_ylabel("ratio (>1: BPLight-CNN better)")
    fig.suptitle(title or f"{workload_label(photonic.workload, photonic.input_shape)}, "
                 f"{photonic.mode}, batch {photonic.batch}")
    _atomic_savefig(fig, path)
    plt.close(fig)
    return path


# --- command ------------------------------------------------------------------------------

def add_design_args(p: argparse.ArgumentParser, model: str) -> None:
    """The workload and hardware flags shared by compare and sensitivity."""
    p.add_argument("--model", default=model, choices=MODEL_CHOICES,
                   help=f"built-in CNN (default {model})")
    p.add_argument("--input", default=None, metavar="CxHxW",
                   help="input shape; default 1x32x32 (lenet5), 3x32x32 (vgg8/11), "
                   "3x224x224 (vgg16)")
    p.add_argument("--hardware", default="bplight-16b", metavar="PRESET_OR_YAML",
                   help="hardware preset name or YAML file (default bplight-16b)")
    p.add_argument("--set", dest="overrides", action="append", default=[],
                   metavar="FIELD=VALUE", help="override a hardware field (repeatable)")
    p.add_argument("--phase", default="train", choices=("train", "infer"))
    p.add_argument("--batch", type=int, default=DEFAULT_BATCH,
                   help=f"images per estimate (default {DEFAULT_BATCH})")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "compare", help="BPLight-CNN vs GPU, DaDianNao, ISAAC, PipeLayer, photonic designs",
        description="Speedup, computational-efficiency ratio (GOPS/s/mm²), power-efficiency "
        "ratio (GOPS/W) and energy saving of BPLight-CNN over baseline accelerators on the "
        "same workload, with each baseline's sources and assumptions.")
    add_design_args(p, model="lenet5")
    p.add_argument("--baselines", default=None, metavar="A,B,...",
                   help=f"comma-separated subset of: {', '.join(BASELINES)} (default all)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object on the last line of stdout")
    p.add_argument("--plot", default=None, metavar="OUT.png", help="write bar charts (PNG)")
    p.set_defaults(func=run)
    return p


NULL_REASONS = {
    m: "the baseline cannot run this phase (see reason)" for m in METRICS
}
"""Why a ratio of ``--json`` can be ``null``."""


def run(args: argparse.Namespace) -> int:
    from bplight.config import load_spec

    check_batch(args.batch)
    chosen = resolve_baselines(args.baselines)
    workload = build_workload(args.model, args.input)
    spec = load_spec(args.hardware, overrides=args.overrides or None)
    photonic, comps = compare(workload, spec, args.phase, args.batch,
                              [b.name for b in chosen])  # LinkBudgetError: one sentence
    if args.plot:
        plot_comparison(photonic, comps, args.plot)
    if args.json:
        extra = {"model": args.model, "input_shape": list(photonic.input_shape),
                 "hardware": spec.name, "plot": args.plot}
        print(json_line(comparison_json(photonic, comps, extra), NULL_REASONS))
        return 0
    print("\n".join(photonic_summary_lines(photonic)))
    print()
    print(f"BPLight-CNN over each baseline ({photonic.mode}; >1 means BPLight-CNN is "
          "better; same op counts on both sides):")
    print(comparison_table(photonic, comps))
    print()
    print("Baseline figures and assumptions:")
    print("\n".join(assumption_lines(comps)))
    if args.plot:
        print(f"\nbar charts written to {args.plot}")
    return 0
