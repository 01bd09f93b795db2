"""The reproduction document: a Markdown template (``templates/reproduction.md``, package
data) filled with tables and sentences built from a :class:`~.analysis.Reproduction`,
and the same content as JSON."""

from __future__ import annotations

import math
from importlib import resources
from string import Template
from typing import Any

from bplight.baselines import PublishedAccelerator, get_baseline
from bplight.experiments.compare import METRIC_LABELS
from bplight.experiments.reproduce.accuracy import AccuracyResult, SweepPoint
from bplight.experiments.reproduce.analysis import ClaimResult, CommonCause, Reproduction
from bplight.experiments.reproduce.claims import (
    ACCURACY_CLAIM_POINTS,
    INFER_WHY,
    PAPER,
    TOLERANCE,
    TRAIN_WHY,
)
from bplight.experiments.sensitivity import Parameter
from bplight.units import format_si

TEMPLATE = "reproduction.md"

_PARAM_UNITS = {"photonics.modulation_rate_hz": (1e9, "GS/s"),
                "components.adc_energy_8b_j": (1e-12, "pJ (8-b point)"),
                "components.dac_energy_8b_j": (1e-12, "pJ (8-b point)"),
                "components.memristor_write_energy_j": (1e-12, "pJ per cell"),
                "components.tia_power_w": (1e-3, "mW"),
                "components.weight_ring_hold_power_w": (1e-3, "mW per ring"),
                "components.edram_energy_per_bit_j": (1e-12, "pJ/bit")}
"""How the parameters that can drive a claim are shown (scale, unit)."""


def template() -> Template:
    """The document template shipped with the package."""
    text = (resources.files("bplight.experiments.reproduce") / "templates" / TEMPLATE
            ).read_text(encoding="utf-8")
    return Template(text)


def ratio(v: float | None) -> str:
    """A ratio as shown in the document: ``0.016×``, ``2,100×``, ``n/a``."""
    if v is None or not math.isfinite(v):
        return "n/a"
    return f"{v:,.0f}×" if v >= 100 else f"{v:.3g}×"


def param_value(p: Parameter, v: float) -> str:
    if p.paths and p.paths[0] in _PARAM_UNITS:
        scale, unit = _PARAM_UNITS[p.paths[0]]
        return f"{v / scale:.3g} {unit}"
    return f"{v:.3g}"


def claims_table(rep: Reproduction) -> str:
    lines = ["| claim | claimed | vs | " + " | ".join(f"ours, {m}" for m in rep.models)
             + f" | ours (geo. mean) | deviation | within {100 * TOLERANCE:g} % |",
             "|---|---|---|" + "---|" * len(rep.models) + "---|---|---|"]
    for r in rep.results:
        per = " | ".join(ratio(r.per_model[m]) for m in rep.models)
        dev = (f"{100 * r.deviation:+.1f} % (ours = {r.ours / r.claim.claimed:.3g} × claim)"
               if math.isfinite(r.deviation) else "n/a")
        lines.append(f"| {r.claim.text} | {'≥' if r.claim.at_least else ''}"
                     f"{r.claim.claimed:g}× | {r.claim.primary} | {per} | {ratio(r.ours)} | "
                     f"{dev} | {'yes' if r.within else 'no'} |")
    return "\n".join(lines)


def context_table(rep: Reproduction) -> str:
    names = rep.context_names
    lines = ["| claim | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for r in rep.results:
        cells = []
        for n in names:
            if n not in r.context:
                cells.append("")
            else:
                mean = r.context_mean(n)
                cells.append("cannot train" if mean is None else ratio(mean))
        lines.append(f"| {r.claim.text} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def reason(r: ClaimResult) -> str:
    """One or two sentences: the driving assumption, and the value that would match."""
    c, e = r.claim, r.explanation
    base = get_baseline(c.primary)
    if e is None:
        return ("No photonic-side assumption of the sensitivity set moves it; the gap is "
                "architectural (see the common cause below).")
    swing = " / ".join(ratio(v) for v in e.swing.values())
    p = e.parameter
    text = (f"Driven most by the {p.label} (`{p.paths[0]}`, reference "
            f"{param_value(p, e.reference_value)}; its low / high settings give {swing}). ")
    if e.matching_value is not None:
        text += (f"Matching {ratio(c.claimed)} needs {param_value(p, e.matching_value)}"
                 f" ({e.matching_value / e.reference_value:.3g}× the reference, solved by "
                 "bisection)")
    else:
        lo, hi = e.searched
        text += (f"No value in {param_value(p, lo)}–{param_value(p, hi)}"
                 f" gets past {ratio(e.ratio_at_bounds[1])}")
        if e.invalid_beyond is not None:
            why = e.invalid_reason or "the hardware description is rejected"
            text += (f" (above {param_value(p, e.invalid_beyond)} the design is "
                     f"rejected: {why.rstrip('.')})")
        text += ", so the gap is architectural (see the common cause below)"
    u = e.baseline_utilisation_needed
    if u is not None and isinstance(base, PublishedAccelerator):
        if u <= 1.0:
            text += (f"; equivalently {base.name} would have to sustain {100 * u:.3g} % of its "
                     f"peak instead of the {100 * base.utilisation.value:.3g} % assumed")
        else:
            text += f"; no utilisation of {base.name} can close it"
    return text + "."


def reasons(rep: Reproduction) -> str:
    lines = [f"- **{r.claim.text}** — claimed {ratio(r.claim.claimed)}, ours {ratio(r.ours)} "
             f"vs {r.claim.primary}: {reason(r)}" for r in rep.results if not r.within]
    return "\n".join(lines) or f"Every number is within {100 * TOLERANCE:g} % of its claim."


def common_cause_text(cause: CommonCause) -> str:
    lines = ["| workload | mode | ADC conversions per MAC | energy per MAC | largest "
             "shares | sustained GOPS |", "|---|---|---|---|---|---|"]
    for row in cause.rows:
        shares = ", ".join(f"{k} {100 * s:.0f} %" for k, s in row.top_shares)
        lines.append(f"| {row.workload} | {row.mode} | {row.conversions_per_mac:.3g} | "
                     f"{format_si(row.energy_per_mac_j, 'J')} | {shares} | {row.gops:.4g} |")
    if cause.energy or cause.speed:
        lines.append("")
    for n in cause.energy:
        c = n.claim
        name = get_baseline(c.primary).name
        lines.append(
            f"- {c.text}: {name} spends {format_si(n.baseline_energy_per_mac_j, 'J')} per "
            f"16-bit MAC, so the claim needs ≤ {format_si(n.needed_energy_per_mac_j, 'J')} "
            f"per MAC on BPLight-CNN — ≤ {format_si(n.needed_energy_per_conversion_j, 'J')} "
            f"per ADC conversion at {n.conversions_per_mac:.3g} conversions per MAC even if "
            "the ADC were the only cost (the best GS/s ADCs of the Murmann survey spend "
            "~1 pJ at 6-8 b).")
    for s in cause.speed:
        c = s.claim
        name = get_baseline(c.primary).name
        lines.append(
            f"- {c.text}: {name} sustains {format_si(s.baseline_ops_per_s, 'OPS')}, so the "
            f"claim needs {format_si(s.needed_ops_per_s, 'OPS', digits=4)} from "
            f"BPLight-CNN, {ratio(s.factor)} what the reference chip sustains.")
    return "\n".join(lines)


def _sweep_table(title: str, label: str, points: tuple[SweepPoint, ...], base: float,
                 show: Any) -> list[str]:
    lines = [title, "", f"| {label} | test accuracy | drop (points) |", "|---|---|---|"]
    worst = None
    for pt in points:
        shown = show(pt.setting)
        d = 100 * (base - pt.test_accuracy)
        if d >= ACCURACY_CLAIM_POINTS:
            worst = shown  # rows ascend: keep the highest such setting
        lines.append(f"| {shown} | {100 * pt.test_accuracy:.2f} % | {d:+.2f} |")
    if worst is not None:
        lines += ["", f"A drop of ~{ACCURACY_CLAIM_POINTS:g} points or more appears at "
                  f"{label} = {worst} and below."]
    return lines


def accuracy_text(a: AccuracyResult | None) -> str:
    if a is None:
        return ("Measured: not part of this document (no `--accuracy-json`). Produce it with "
                "`python benchmarks/bench_accuracy.py` (LeNet-5 on MNIST, FP32 against the "
                "`bplight-16b` hardware model, same seed and schedule), then run "
                "`bplight reproduce --accuracy-json PATH` with the JSON it writes.")
    lines = [f"Measured by the numerical engine (`{a.path}`, {a.epochs} epochs): reference "
             f"(FP32) {100 * a.fp32:.2f} %, hardware model {100 * a.hardware:.2f} %, drop "
             f"{a.drop_points:.2f} points against the claimed ~{ACCURACY_CLAIM_POINTS:g}."]
    if a.drop_points < ACCURACY_CLAIM_POINTS / 2:
        lines += ["", "The reference design costs far less accuracy than the paper reports: "
                  "its 16-bit operands are bit-sliced into passes whose sums the ADC reads "
                  "exactly unless detector noise flips a read (probability 1e-4 by the link "
                  "budget's design), so the arithmetic is close to exact. The sweeps below "
                  "show what it takes to lose ~6 points: far coarser operands or far noisier "
                  "reads."]
    lines += ["", f"The FP32-trained network read through the chip ({a.inference_images} test "
              "images):", "", "| mode | test accuracy |", "|---|---|"]
    lines += [f"| {k} | {100 * v:.2f} % |" for k, v in a.inference.items()]
    head = f"({a.sweep_epochs} epoch(s); FP32 {100 * a.sweep_fp32:.2f} %):"
    lines += [""] + _sweep_table(f"Accuracy against operand resolution {head}", "bits",
                                 a.resolution_sweep, a.sweep_fp32, lambda v: f"{v:g}")
    lines += [""] + _sweep_table(f"Accuracy against detector noise {head}", "snr_db",
                                 a.noise_sweep, a.sweep_fp32,
                                 lambda v: "no noise" if v is None else f"{v:g} dB")
    return "\n".join(lines)


def comparison_tables(rep: Reproduction) -> str:
    lines: list[str] = []
    for (m, mode), table in rep.tables.items():
        p = rep.photonic[(m, mode)]
        lines += [f"### {rep.workloads[m].name}, {mode}", "",
                  f"BPLight-CNN: latency {format_si(p.latency_s, 's')}, energy "
                  f"{format_si(p.energy_j, 'J')}, area {p.area_mm2:.4g} mm², {p.gops:.4g} GOPS, "
                  f"{p.gops_per_w:.4g} GOPS/W, {p.gops_per_s_per_mm2:.4g} GOPS/s/mm².", "",
                  table, ""]
    return "\n".join(lines).rstrip("\n")


def waterfall_text(waterfall: dict[str, Any] | None) -> str:
    """The waterfall section (:mod:`bplight.experiments.waterfall`, from its JSON form), or
    how to produce it."""
    if waterfall is None:
        return ("Not part of this document. `bplight reproduce --waterfall` measures it "
                "(short real training runs; `--train-images`, `--train-epochs`, `--seed`), "
                "and `bplight reproduce --waterfall-json PATH` renders a measured one.")
    from bplight.experiments.waterfall import render_section

    return render_section(waterfall)


def render_markdown(rep: Reproduction, waterfall: dict[str, Any] | None = None) -> str:
    """The reproduction document (Markdown); ``waterfall``: the JSON form of a
    :class:`bplight.experiments.waterfall.Waterfall`, if any."""
    models = ", ".join(f"{m} ({rep.workloads[m].name}, {rep.workloads[m].macs:,} MACs per "
                       "image forward)" for m in rep.models)
    return template().substitute(
        command=rep.command, hardware=rep.hardware, batch=rep.batch, models=models,
        paper=PAPER, tolerance=f"{100 * TOLERANCE:g} %", train_why=TRAIN_WHY, infer_why=INFER_WHY,
        claims_table=claims_table(rep), context_table=context_table(rep),
        reasons=reasons(rep), common_cause=common_cause_text(rep.common_cause),
        accuracy_claim=f"{ACCURACY_CLAIM_POINTS:g}", accuracy=accuracy_text(rep.accuracy),
        comparison_tables=comparison_tables(rep), waterfall=waterfall_text(waterfall),
        metrics="; ".join(f"{k} = {v}" for k, v in METRIC_LABELS.items()))


def to_json(rep: Reproduction) -> dict[str, Any]:
    """The reproduction as one JSON-ready dict (non-finite numbers still to be nulled)."""
    cause = rep.common_cause
    return {
        "paper": PAPER, "hardware": rep.hardware, "batch": rep.batch, "models": rep.models,
        "tolerance": TOLERANCE, "command": rep.command,
        "claims": [r.to_json() for r in rep.results],
        "per_mac": [{"workload": r.workload, "mode": r.mode,
                     "adc_conversions": r.conversions_per_mac, "energy_j": r.energy_per_mac_j,
                     "sustained_gops": r.gops} for r in cause.rows],
        "accuracy": None if rep.accuracy is None else {
            **rep.accuracy.to_json(), "claimed_drop_points": ACCURACY_CLAIM_POINTS},
    }
