"""What this model gives for each claim, and what each claim would need.

:func:`reproduce` costs the built-in models (LeNet-5 and VGG-16 by default) on the
reference hardware against the claims' baselines (the same GEMMs on both sides), takes
the geometric mean over the models and, for every number off by more than
:data:`~.claims.TOLERANCE`, finds the assumption that drives it (the largest swing among
the continuous photonic-side parameters of :mod:`bplight.experiments.sensitivity`) and
solves, by bisection in log space, for the value of that parameter that would match the
claim (:func:`explain`). :func:`common_cause` says, per MAC, what the reference chip
spends and what the energy and speed claims would require.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bplight.baselines import BASELINES, PublishedAccelerator, get_baseline
from bplight.config.loader import ConfigError as _LoaderConfigError
from bplight.errors import BplightError
from bplight.experiments.compare import (
    Comparison,
    build_workload,
    compare_to,
    comparison_table,
    photonic_estimate,
)
from bplight.experiments.reproduce.accuracy import AccuracyResult
from bplight.experiments.reproduce.claims import CLAIMS, DEFAULT_MODELS, TOLERANCE, Claim
from bplight.experiments.sensitivity import PARAMETERS, Parameter, ratios_for
from bplight.photonics.link_budget import LinkBudgetError

REJECTED_DESIGN = (BplightError, _LoaderConfigError, LinkBudgetError)
"""What a parameter setting the hardware description or the link budget refuses raises
(a rejected design, reported as such; any other exception is a bug and propagates)."""

MODES = ("train", "infer")


def geomean(values: Sequence[float | None]) -> float:
    """Geometric mean of the positive finite values (NaN when there are none)."""
    vals = [v for v in values if v is not None and v > 0 and math.isfinite(v)]
    if not vals:
        return math.nan
    return math.exp(sum(math.log(v) for v in vals) / len(vals))


def bisect_log(fn: Callable[[float], float], target: float, lo: float, hi: float,
               rel_tol: float = 1e-3, max_iter: int = 60) -> float | None:
    """``x`` in [lo, hi] (bisection on log x) with ``fn(x) == target``, assuming ``fn``
    monotonic there; ``None`` when the target is not bracketed."""
    if lo <= 0 or hi <= lo:
        raise ValueError(f"bisect_log needs 0 < lo < hi, got {lo}, {hi}")
    flo, fhi = fn(lo) - target, fn(hi) - target
    if not (math.isfinite(flo) and math.isfinite(fhi)) or flo * fhi > 0:
        return None
    a, b = math.log(lo), math.log(hi)
    for _ in range(max_iter):
        m = 0.5 * (a + b)
        fm = fn(math.exp(m)) - target
        if fm == 0:
            return math.exp(m)
        if (fm > 0) == (flo > 0):
            a, flo = m, fm
        else:
            b = m
        if b - a < rel_tol:
            break
    return math.exp(0.5 * (a + b))


@dataclass
class Explanation:
    """Why a number differs: the driving parameter and the value that would match."""

    parameter: Parameter
    reference_value: float
    swing: dict[str, float]
    """"low" / "high" setting -> the claim's ratio there."""
    matching_value: float | None
    searched: tuple[float, float]
    ratio_at_bounds: tuple[float, float]
    baseline_utilisation_needed: float | None = None
    invalid_beyond: float | None = None
    """Largest value tried that still gave a valid design (when larger ones did not)."""
    invalid_reason: str | None = None
    """Why the next larger value was rejected."""

    def to_json(self) -> dict[str, Any]:
        return {"parameter": self.parameter.paths[0], "label": self.parameter.label,
                "reference_value": self.reference_value, "swing": dict(self.swing),
                "matching_value": self.matching_value, "searched": list(self.searched),
                "ratio_at_bounds": list(self.ratio_at_bounds),
                "baseline_utilisation_needed": self.baseline_utilisation_needed,
                "invalid_beyond": self.invalid_beyond, "invalid_reason": self.invalid_reason}


@dataclass
class ClaimResult:
    """One claim against this model: per model, geometric mean, context baselines."""

    claim: Claim
    per_model: dict[str, float | None]
    ours: float
    context: dict[str, dict[str, float | None]] = field(default_factory=dict)
    """Baseline -> model -> the same ratio against that baseline (None: cannot run)."""
    explanation: Explanation | None = None

    @property
    def deviation(self) -> float:
        return self.ours / self.claim.claimed - 1.0 if math.isfinite(self.ours) else math.nan

    @property
    def within(self) -> bool:
        if not math.isfinite(self.ours):
            return False
        if self.claim.at_least and self.ours >= self.claim.claimed:
            return True
        return abs(self.deviation) <= TOLERANCE

    def context_mean(self, baseline: str) -> float | None:
        """Geometric mean over the models against ``baseline``; None if it cannot run."""
        vals = [v for v in self.context.get(baseline, {}).values() if v is not None]
        return geomean(vals) if vals else None

    def to_json(self) -> dict[str, Any]:
        c = self.claim
        return {"key": c.key, "text": c.text, "mode": c.mode, "metric": c.metric,
                "claimed": c.claimed, "at_least": c.at_least, "source": c.source,
                "vs": c.primary, "per_model": dict(self.per_model), "ours": self.ours,
                "deviation": self.deviation, "within_tolerance": self.within,
                "context": {n: self.context_mean(n) for n in c.baselines},
                "explanation": None if self.explanation is None
                else self.explanation.to_json()}


@dataclass(frozen=True)
class ChipRow:
    """Per MAC, what the reference chip spends on one workload in one mode."""

    workload: str
    mode: str
    conversions_per_mac: float
    energy_per_mac_j: float
    top_shares: tuple[tuple[str, float], ...]
    """The four largest energy components and their share of the total."""
    gops: float


@dataclass(frozen=True)
class EnergyNeed:
    """An energy claim in per-MAC terms."""

    claim: Claim
    baseline_energy_per_mac_j: float
    needed_energy_per_mac_j: float
    conversions_per_mac: float

    @property
    def needed_energy_per_conversion_j(self) -> float:
        """The claim's energy per MAC spread over the ADC conversions of one MAC."""
        return self.needed_energy_per_mac_j / self.conversions_per_mac


@dataclass(frozen=True)
class SpeedNeed:
    """A speed claim in throughput terms."""

    claim: Claim
    baseline_ops_per_s: float
    needed_ops_per_s: float
    ours_gops: float

    @property
    def factor(self) -> float:
        """How many times the reference chip's sustained throughput the claim needs."""
        return self.needed_ops_per_s / 1e9 / self.ours_gops


@dataclass(frozen=True)
class CommonCause:
    rows: tuple[ChipRow, ...]
    energy: tuple[EnergyNeed, ...]
    speed: tuple[SpeedNeed, ...]


@dataclass
class Reproduction:
    """Everything the reproduction document shows."""

    hardware: str
    batch: int
    models: list[str]
    workloads: dict[str, Any]
    results: list[ClaimResult]
    tables: dict[tuple[str, str], str]
    """(model, mode) -> the full comparison table (Markdown)."""
    photonic: dict[tuple[str, str], Any]
    """(model, mode) -> the cost engine's report."""
    accuracy: AccuracyResult | None
    command: str

    @property
    def context_names(self) -> list[str]:
        """Every baseline a claim refers to, primary ones first, in claim order."""
        out: list[str] = []
        for r in self.results:
            for n in r.claim.baselines:
                if n not in out:
                    out.append(n)
        return out

    @property
    def common_cause(self) -> CommonCause:
        return common_cause(self)


def _ratio_geomean(workloads: dict[str, Any], spec: Any, baseline: Any, mode: str,
                   batch: int, metric: str) -> float:
    vals = []
    for w in workloads.values():
        r, _ = ratios_for(w, spec, baseline, mode, batch)
        vals.append(r[metric])
    return geomean(vals)


def explain(claim: Claim, ours: float, workloads: dict[str, Any], spec: Any, batch: int,
            parameters: Sequence[Parameter] = PARAMETERS) -> Explanation | None:
    """The photonic-side parameter that moves ``claim.metric`` most (of the solvable
    ones) and the value of it that would match the claim."""
    base = get_baseline(claim.primary)
    best: tuple[float, Parameter, dict[str, float]] | None = None
    for p in parameters:
        if p.baseline_side or not p.solvable:
            continue
        ref = p.reference(spec, base)
        swing: dict[str, float] = {}
        try:
            for label, value in (("low", p.low(ref)), ("high", p.high(ref))):
                s2, b2 = p.apply(spec, base, value)
                swing[label] = _ratio_geomean(workloads, s2, b2, claim.mode, batch,
                                              claim.metric)
        except REJECTED_DESIGN:
            continue  # a low/high setting the hardware rejects: not a candidate driver
        size = max((abs(math.log(v / ours)) for v in swing.values()
                    if v > 0 and math.isfinite(v)), default=0.0)
        if best is None or size > best[0]:
            best = (size, p, swing)
    if best is None:
        return None
    _, p, swing = best
    ref = p.reference(spec, base)
    lo = max(ref / 1000.0, p.bounds[0] if p.bounds[0] > 0 else ref / 1000.0)
    hi = min(ref * 1000.0, p.bounds[1])

    errors: dict[float, str] = {}

    def fn(x: float) -> float:
        try:
            s2, b2 = p.apply(spec, base, x)
            v = _ratio_geomean(workloads, s2, b2, claim.mode, batch, claim.metric)
        except REJECTED_DESIGN as exc:
            errors[x] = str(exc)
            return math.nan
        return math.log(v) if v > 0 else math.nan

    target = math.log(claim.claimed)
    # Scan a log grid for the valid range (a design may become invalid, e.g. a link
    # budget that cannot close), then bisect inside the first bracketing interval.
    n = 25
    grid = [lo * (hi / lo) ** (i / (n - 1)) for i in range(n)]
    vals = [fn(x) for x in grid]
    valid = [(x, v) for x, v in zip(grid, vals, strict=True) if math.isfinite(v)]
    match = None
    for (x0, v0), (x1, v1) in zip(valid, valid[1:], strict=False):
        if (v0 - target) * (v1 - target) <= 0:
            match = bisect_log(fn, target, x0, x1, rel_tol=1e-3)
            if match is not None:
                break
    searched = (valid[0][0], valid[-1][0]) if valid else (lo, hi)
    at_bounds = ((math.exp(min(v for _, v in valid)), math.exp(max(v for _, v in valid)))
                 if valid else (math.nan, math.nan))
    util_needed = None
    if claim.metric in ("speedup", "gops_per_s_per_mm2_ratio") and isinstance(
            base, PublishedAccelerator):
        util_needed = base.utilisation.value * ours / claim.claimed
    beyond = (valid[-1][0] if valid and len(valid) < n and valid[-1][0] < grid[-1]
              else None)
    why = None
    if beyond is not None:
        why = next((errors[x] for x in sorted(errors) if x > beyond), None)
    return Explanation(p, ref, swing, match, searched, at_bounds, util_needed,
                       invalid_beyond=beyond, invalid_reason=why)


def _baselines_for(mode: str) -> list[str]:
    """The baselines costed in ``mode``: all in inference; in training, those that can
    train plus any a training claim names (which then say they cannot)."""
    named = [n for c in CLAIMS if c.mode == mode for n in c.baselines]
    return [n for n in BASELINES
            if mode == "infer" or BASELINES[n].supports_training or n in named]


def reproduce(spec: Any, models: Sequence[str] = DEFAULT_MODELS, batch: int = 64,
              accuracy: AccuracyResult | None = None, explain_deviations: bool = True,
              progress: Callable[[str], None] | None = None,
              command: str = "bplight reproduce") -> Reproduction:
    """Cost the claims' workloads, compare them with the baselines, explain deviations.

    ``models`` are built-in model names (validated by the caller); ``accuracy`` is the
    accuracy benchmark's result (:func:`.accuracy.read_accuracy`), if any."""
    say = progress or (lambda s: None)
    workloads = {m: build_workload(m) for m in models}
    comps: dict[tuple[str, str], dict[str, Comparison]] = {}
    tables: dict[tuple[str, str], str] = {}
    photonic: dict[tuple[str, str], Any] = {}
    for mode in MODES:
        for m, w in workloads.items():
            say(f"costing {m} ({mode})")
            phot = photonic_estimate(w, spec, mode, batch)
            photonic[(m, mode)] = phot
            cs = [compare_to(phot, w, BASELINES[n], mode, batch) for n in _baselines_for(mode)]
            comps[(m, mode)] = {c.baseline: c for c in cs}
            tables[(m, mode)] = comparison_table(phot, cs, markdown=True)
    results: list[ClaimResult] = []
    for c in CLAIMS:
        per_model = {m: comps[(m, c.mode)][c.primary].metric(c.metric) for m in workloads}
        ours = geomean(list(per_model.values()))
        context = {n: {m: comps[(m, c.mode)][n].metric(c.metric) for m in workloads}
                   for n in c.baselines}
        res = ClaimResult(c, per_model, ours, context)
        if explain_deviations and not res.within and math.isfinite(ours):
            say(f"explaining {c.text}")
            res.explanation = explain(c, ours, workloads, spec, batch)
        results.append(res)
    return Reproduction(spec.name, batch, list(models), workloads, results, tables, photonic,
                        accuracy, command)


def common_cause(rep: Reproduction) -> CommonCause:
    """Analog conversions and energy per MAC on the reference chip, and what the energy
    and speed claims that are off would need per MAC."""
    rows = []
    for (m, mode), r in rep.photonic.items():
        # ADC conversions: one per analog pass, or one per summed K-chunk under
        # slice_sum analog (mapping.adc_reads)
        conv = r.counts["adc_conversions"] / r.macs if r.macs else math.nan
        e_mac = r.energy_j / r.macs if r.macs else math.nan
        total = sum(r.energy_by_component_j.values()) or 1.0
        top = sorted(r.energy_by_component_j.items(), key=lambda kv: -kv[1])[:4]
        rows.append(ChipRow(rep.workloads[m].name, mode, conv, e_mac,
                            tuple((k, v / total) for k, v in top), r.gops))
    energy, speed = [], []
    for res in rep.results:
        if res.within:
            continue
        c = res.claim
        base = get_baseline(c.primary)
        mine = [p for (_, mode), p in rep.photonic.items() if mode == c.mode and p.macs]
        if c.metric == "energy_saving":
            e_base = base.energy_per_op_j(c.mode) * 2.0  # 1 MAC = 2 ops
            conv = geomean([p.counts["adc_conversions"] / p.macs for p in mine])
            energy.append(EnergyNeed(c, e_base, e_base / c.claimed, conv))
        elif c.metric == "speedup":
            rate = base.throughput_ops_per_s(c.mode)
            speed.append(SpeedNeed(c, rate, rate * c.claimed, geomean([p.gops for p in mine])))
    return CommonCause(tuple(rows), tuple(energy), tuple(speed))
