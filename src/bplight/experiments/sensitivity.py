"""``bplight sensitivity``: which assumptions move BPLight-CNN's training speedup and energy
saving most.

Each parameter of :data:`PARAMETERS` is set to a low and a high value around the
reference hardware description (cited low/high values where the literature gives a
spread, ×0.5 / ×2 otherwise, as each parameter's ``note`` says) with everything else
held; the photonic design and the reference baseline are re-costed on the same workload
and the ratios recorded. Photonic-side parameters move the ratio against every baseline
by the same factor (the baseline's cost does not change), so one reference baseline
suffices; the baseline's own utilisation is varied too.

Outputs (in ``--out DIR``): ``sensitivity.md`` and ``sensitivity.csv`` (a table ranked by
swing) and ``tornado.png`` (one panel per metric, log axis, bars from the low to the high
setting around the reference); ``--json`` prints the same table as one JSON object on the
last stdout line (a rejected setting's ratios are ``null`` with the reason beside them).

Python API: :data:`PARAMETERS`, :func:`run_sensitivity`, :func:`write_outputs`.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bplight.baselines import Baseline, PublishedAccelerator, get_baseline, workload_phase_macs
from bplight.config.dotted import set_path
from bplight.cost.report import CostReport
from bplight.errors import ConfigError, InfeasibleDesignError, InputError
from bplight.experiments.common import build_workload, check_batch, json_line
from bplight.experiments.compare import workload_label
from bplight.io import atomic_write_text

SENS_METRICS = ("speedup", "energy_saving")
REJECTED = (ConfigError, InfeasibleDesignError)
"""A setting the hardware description rejects (schema) or whose design cannot work
(e.g. a link budget that cannot close): recorded as a rejected setting, not a failure."""


def set_fields(spec: Any, values: dict[str, Any]) -> Any:
    """A validated copy of ``spec`` with dotted fields set (``{"photonics.fsr_m": 2e-8}``)."""
    from bplight.config import load_spec

    nested: dict[str, Any] = {}
    for path, value in values.items():
        set_path(nested, path, value)
    return load_spec(spec, overrides=nested)


def get_field(spec: Any, path: str) -> Any:
    obj = spec
    for p in path.split("."):
        obj = getattr(obj, p)
    return obj


@dataclass(frozen=True)
class Parameter:
    """One assumption varied low/high.

    ``paths`` are the spec fields set together (the first is the one reported);
    ``low``/``high`` map the reference value of the first path to the new value;
    ``couple`` gives extra fields to set for a new value (e.g. channel spacing so that
    the wavelengths still fit the FSR). ``baseline_side``: varies the baseline's
    utilisation instead of the spec.
    """

    key: str
    label: str
    paths: tuple[str, ...]
    low: Callable[[float], float]
    high: Callable[[float], float]
    note: str
    integer: bool = False
    couple: Callable[[Any, float], dict[str, Any]] | None = None
    baseline_side: bool = False
    solvable: bool = True
    """Continuous enough to solve for a target ratio by bisection."""
    bounds: tuple[float, float] = (0.0, math.inf)
    display: tuple[float, str] = (1.0, "")
    """(scale, unit) for reports: a value is shown as ``value / scale`` ``unit``."""

    def show(self, value: float) -> str:
        scale, unit = self.display
        return f"{value / scale:.4g}{' ' + unit if unit else ''}"

    def reference(self, spec: Any, baseline: Baseline | None = None) -> float:
        if self.baseline_side:
            assert isinstance(baseline, PublishedAccelerator)
            return baseline.utilisation.value
        return float(get_field(spec, self.paths[0]))

    def apply(self, spec: Any, baseline: Baseline, value: float) -> tuple[Any, Baseline]:
        """``(spec, baseline)`` with this parameter at ``value``."""
        value = min(max(value, self.bounds[0]), self.bounds[1])
        if self.integer:
            value = int(round(value))
        if self.baseline_side:
            assert isinstance(baseline, PublishedAccelerator)
            return spec, baseline.with_figure(
                "utilisation", min(float(value), 1.0), f"sensitivity setting {value:.3g}")
        ref = float(get_field(spec, self.paths[0]))
        factor = value / ref if ref else 1.0
        changes: dict[str, Any] = {self.paths[0]: value}
        for extra in self.paths[1:]:
            changes[extra] = float(get_field(spec, extra)) * factor
        if self.couple is not None:
            changes.update(self.couple(spec, value))
        return set_fields(spec, changes), baseline


def _fit_fsr(spec: Any, wavelengths: float) -> dict[str, Any]:
    """Narrow the channel spacing when more wavelengths would overflow the FSR."""
    fsr = spec.photonics.fsr_m
    spacing = spec.photonics.channel_spacing_m
    n = int(round(wavelengths))
    return {"photonics.channel_spacing_m": min(spacing, fsr / n)}


def _slices(spec: Any, bits: float) -> dict[str, Any]:
    """Set DAC and ring bits of every product to ``bits`` and the ADC to the exact read."""
    b = int(round(bits))
    out: dict[str, Any] = {}
    for prod in ("forward", "error", "weight_grad"):
        pc = getattr(spec, prod)
        c = spec.photonics.wavelengths_per_bank
        need = 1 + math.ceil(math.log2(c * (2**b - 1) ** 2 + 1))
        out[f"{prod}.dac_bits"] = b
        out[f"{prod}.ring_bits"] = b
        if pc.adc_bits is not None:
            out[f"{prod}.adc_bits"] = min(16, max(pc.adc_bits, need))
    return out


def _half(x: float) -> float:
    return x * 0.5


def _double(x: float) -> float:
    return x * 2.0


PARAMETERS: tuple[Parameter, ...] = (
    Parameter("wavelengths", "wavelengths per bank", ("photonics.wavelengths_per_bank",),
              _half, _double, "x0.5 / x2 (8 / 32); at 32 the channel spacing shrinks to "
              "FSR/32 = 0.56 nm so the bank fits one FSR (CrossLight: <=15-16 rings at "
              "1 nm)", integer=True, couple=_fit_fsr, solvable=False, bounds=(1, 128)),
    Parameter("modulation_rate", "modulation / DAC / ADC rate",
              ("photonics.modulation_rate_hz",), _half, _double,
              "x0.5 / x2 (2.5 / 10 GS/s; DEAP 5 GS/s, LT 5 GHz)", bounds=(1e6, 100e9),
              display=(1e9, "GS/s")),
    Parameter("adc_energy", "ADC energy per conversion", ("components.adc_energy_8b_j",),
              lambda x: 1.1e-12 * x / 1.6667e-12, lambda x: 2.6e-12 * x / 1.6667e-12,
              "8-b point 1.1 / 2.6 pJ: best / median of 1-10 GS/s designs (Murmann ADC "
              "survey) around ISAAC's 1.67 pJ", bounds=(1e-16, 1e-9),
              display=(1e-12, "pJ")),
    Parameter("dac_energy", "DAC energy per conversion",
              ("components.dac_energy_8b_j", "components.dac_energy_12b_j"), _half, _double,
              "x0.5 / x2 on both published DAC points (LT/SimPhony)", bounds=(1e-16, 1e-9),
              display=(1e-12, "pJ (8 b)")),
    Parameter("memristor_write", "memristor write energy per cell",
              ("components.memristor_write_energy_j",), lambda x: 9e-12,
              lambda x: 3.91e-9 / 32,
              "9 pJ (MNSIM cell: V²·G_on·t per pulse) / 122 pJ (PipeLayer's 3.91 nJ per "
              "write spread over 32 cells instead of 128)", bounds=(1e-15, 1e-6),
              display=(1e-12, "pJ")),
    Parameter("laser_wpe", "laser wall-plug efficiency", ("laser.wall_plug_efficiency",),
              _half, _double, "x0.5 / x2 (0.1 / 0.4; LT and SimPhony use 0.2)",
              bounds=(1e-3, 1.0)),
    Parameter("ring_hold", "ring thermal hold power",
              ("components.weight_ring_hold_power_w", "components.modulator_hold_power_w"),
              lambda x: x * 0.16e-3 / 0.275e-3, lambda x: x * 3.1e-3 / 0.275e-3,
              "aggressive 0.16 mW / conservative 3.1 mW per ring (Albireo) around "
              "0.275 mW (LT)", bounds=(0.0, 1.0), display=(1e-3, "mW")),
    Parameter("tia_power", "TIA power", ("components.tia_power_w",), _half,
              lambda x: 7.2e-3, "x0.5 (1.5 mW) / 7.2 mW at 40 nm (CrossLight) around 3 mW "
              "(SimPhony/LT, 14 nm)", bounds=(0.0, 1.0), display=(1e-3, "mW")),
    Parameter("edram_energy", "eDRAM energy per bit", ("components.edram_energy_per_bit_j",),
              _half, _double, "x0.5 / x2 around ISAAC's 20.45 pJ per 256 bits",
              bounds=(0.0, 1e-9), display=(1e-15, "fJ/bit")),
    Parameter("slice_bits", "bits per input/weight slice", ("forward.dac_bits",),
              lambda x: x, _double, "reference / x2 (1 -> 2 bits per DAC symbol and per "
              "ring, in all three products; ADC bits raised to read a pass exactly, "
              "1 + ceil(log2(C (2^d - 1)(2^r - 1) + 1)))", integer=True, couple=_slices,
              solvable=False, bounds=(1, 8)),
    Parameter("tiles", "tiles per chip", ("architecture.tiles",), _half, _double,
              "x0.5 / x2 (32 / 128; 64 is an assumption)", integer=True, solvable=False,
              bounds=(1, 100000)),
    Parameter("baseline_utilisation", "baseline utilisation", (), _half,
              lambda x: min(1.0, 2.0 * x), "x0.5 / x2 (capped at 1) of the baseline's "
              "sustained fraction of peak", baseline_side=True, bounds=(1e-4, 1.0)),
)
"""The assumptions varied, with their low/high rule and its source."""


def parameter_by_key(key: str) -> Parameter:
    for p in PARAMETERS:
        if p.key == key:
            return p
    raise InputError(f"unknown parameter {key!r}; allowed: "
                     f"{', '.join(p.key for p in PARAMETERS)}")


def ratios_for(workload: Any, spec: Any, baseline: Baseline, mode: str,
               batch: int) -> tuple[dict[str, float], CostReport]:
    """The four ratios (speedup, energy saving, GOPS/W and GOPS/s/mm² ratios) of the
    design ``spec`` over ``baseline``, and the photonic report."""
    from bplight.experiments.compare import photonic_estimate, ratios

    phot = photonic_estimate(workload, spec, mode, batch)
    base = baseline.estimate(workload, mode, batch,
                             macs_by_phase=workload_phase_macs(workload, mode, batch))
    out = {k: (v if v is not None else math.nan) for k, v in ratios(phot, base).items()}
    return out, phot


@dataclass
class SensitivityRow:
    parameter: Parameter
    reference_value: float
    low_value: float
    high_value: float
    low: dict[str, float] = field(default_factory=dict)
    high: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    """Setting ("low" / "high") → why the design was rejected there."""

    @property
    def error(self) -> str | None:
        return "; ".join(f"{k}: {v}" for k, v in self.errors.items()) or None

    def swing(self, metric: str, reference: dict[str, float]) -> float:
        """max |log10(ratio at setting / ratio at reference)| over the two settings."""
        out = 0.0
        for side in (self.low, self.high):
            if metric in side and side[metric] > 0:
                out = max(out, abs(math.log10(side[metric] / reference[metric])))
        return out


@dataclass
class SensitivityResult:
    workload: str
    input_shape: tuple[int, ...]
    hardware: str
    baseline: str
    mode: str
    batch: int
    reference: dict[str, float]
    rows: list[SensitivityRow]

    def ranked(self, metric: str | None = None) -> list[SensitivityRow]:
        def key(r: SensitivityRow) -> float:
            if metric is not None:
                return r.swing(metric, self.reference)
            return max(r.swing(m, self.reference) for m in SENS_METRICS)

        return sorted(self.rows, key=key, reverse=True)


def run_sensitivity(workload: Any, spec: Any, baseline: str | Baseline = "pipelayer",
                    mode: str = "train", batch: int = 64,
                    parameters: Sequence[Parameter] = PARAMETERS,
                    progress: Callable[[str], None] | None = None) -> SensitivityResult:
    """Vary each parameter low/high; record speedup and energy saving over ``baseline``."""
    base = get_baseline(baseline) if isinstance(baseline, str) else baseline
    reference, _ = ratios_for(workload, spec, base, mode, batch)
    rows: list[SensitivityRow] = []
    for i, p in enumerate(parameters):
        if progress is not None:
            progress(f"[{i + 1}/{len(parameters)}] {p.label}")
        ref = p.reference(spec, base)
        lo, hi = p.low(ref), p.high(ref)
        row = SensitivityRow(p, ref, lo, hi)
        for side, value, target in (("low", lo, row.low), ("high", hi, row.high)):
            try:
                s2, b2 = p.apply(spec, base, value)
                r, _ = ratios_for(workload, s2, b2, mode, batch)
                target.update(r)
            except REJECTED as exc:  # the description refuses the setting, or it cannot work
                row.errors[side] = str(exc)
        rows.append(row)
    shape = tuple(getattr(workload, "input_shape", ()))
    return SensitivityResult(getattr(workload, "name", "workload"), shape, spec.name,
                             base.name, mode, batch, reference, rows)


# --- outputs --------------------------------------------------------------------------------

def _fmt(x: float) -> str:
    return f"{x:.4g}"


def table_rows(result: SensitivityResult) -> list[dict[str, Any]]:
    out = []
    for rank, r in enumerate(result.ranked(), start=1):
        row: dict[str, Any] = {
            "rank": rank, "parameter": r.parameter.label, "key": r.parameter.key,
            "reference": r.reference_value, "low": r.low_value, "high": r.high_value,
        }
        for m in SENS_METRICS:
            row[f"{m}_low"] = r.low.get(m)
            row[f"{m}_high"] = r.high.get(m)
            row[f"{m}_swing_decades"] = round(r.swing(m, result.reference), 4)
        row["source_of_range"] = r.parameter.note
        row["error"] = r.error or ""
        out.append(row)
    return out


def to_csv(result: SensitivityResult) -> str:
    rows = table_rows(result)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["rank"])
    w.writeheader()
    for r in rows:
        w.writerow(r)
    return buf.getvalue()


def to_markdown(result: SensitivityResult) -> str:
    ref = result.reference
    lines = [
        f"# Sensitivity of BPLight-CNN's {result.mode} ratios",
        "",
        f"Workload {workload_label(result.workload, result.input_shape)}, batch "
        f"{result.batch}, hardware `{result.hardware}`, against `{result.baseline}`. "
        f"Reference: speedup {_fmt(ref['speedup'])}x, energy saving "
        f"{_fmt(ref['energy_saving'])}x. Each parameter is set low and high with all else "
        "held; the swing is the larger |log10| change of the ratio. Photonic-side "
        "parameters move the ratio against every baseline by the same factor.",
        "",
        "| rank | parameter | reference | low / high | speedup low / high | "
        "energy saving low / high | swing (decades) speedup / energy | range from |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in table_rows(result):
        def pair(m: str, row: dict[str, Any] = row) -> str:
            lo, hi = row[f"{m}_low"], row[f"{m}_high"]
            return " / ".join("rejected*" if v is None else _fmt(v) for v in (lo, hi))

        p = parameter_by_key(row["key"])
        lines.append(
            f"| {row['rank']} | {row['parameter']} | {p.show(row['reference'])} | "
            f"{p.show(row['low'])} / {p.show(row['high'])} | {pair('speedup')} | "
            f"{pair('energy_saving')} | {row['speedup_swing_decades']:.3f} / "
            f"{row['energy_saving_swing_decades']:.3f} | {row['source_of_range']} |")
    rejected = [(r.parameter.label, side, msg) for r in result.rows
                for side, msg in r.errors.items()]
    if rejected:
        lines.append("")
        lines.append("\\* Settings the hardware description rejects (the design cannot be "
                     "built that way):")
        lines.append("")
        lines.extend(f"- {label}, {side} setting: {msg}" for label, side, msg in rejected)
    lines.append("")
    return "\n".join(lines)


def plot_tornado(result: SensitivityResult, path: str | Path) -> Path:
    """Tornado chart: one panel per metric, parameters ranked by swing, log axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bplight.experiments.compare import _atomic_savefig

    path = Path(path)
    fig, axes = plt.subplots(1, len(SENS_METRICS), figsize=(13, 0.45 * len(result.rows) + 2),
                             constrained_layout=True)
    for ax, metric in zip(axes, SENS_METRICS, strict=True):
        ref = result.reference[metric]
        rows = [r for r in result.ranked(metric) if r.low or r.high][::-1]
        for i, r in enumerate(rows):
            lo, hi = r.low.get(metric, ref), r.high.get(metric, ref)
            for val, color, lab in ((lo, "tab:blue", "low setting"),
                                    (hi, "tab:orange", "high setting")):
                if not (val > 0 and math.isfinite(val)):
                    continue
                left, right = sorted((1.0, val / ref))
                ax.barh(i, right - left, left=left, color=color, alpha=0.85,
                        label=lab if i == 0 else None)
            rejected = ", ".join(f"{side} setting rejected" for side in r.errors)
            if rejected:
                ax.annotate(rejected, (1.0, i), xytext=(4, -3), textcoords="offset points",
                            fontsize=7, color="tab:red")
        ax.axvline(1.0, color="k", lw=0.8)
        ax.set_xscale("log")
        ax.set_yticks(range(len(rows)))
        ax.set_yticklabels([r.parameter.label for r in rows])
        name = "speedup" if metric == "speedup" else "energy saving"
        ax.set_xlabel(f"{name} / reference ({_fmt(ref)}x vs {result.baseline})")
        ax.set_title(f"{result.mode} {name}")
        ax.legend(loc="lower right", fontsize=8)
    fig.suptitle(f"Sensitivity: {workload_label(result.workload, result.input_shape)}, "
                 f"batch {result.batch}, {result.hardware}")
    _atomic_savefig(fig, path)
    plt.close(fig)
    return path


def to_json(result: SensitivityResult) -> dict[str, Any]:
    """The ``--json`` object: the setting, the reference ratios and the ranked table; a
    rejected setting's ratios are ``None`` with ``<metric>_<side>_reason`` beside them."""
    rows = []
    for row, r in zip(table_rows(result), result.ranked(), strict=True):
        for m in SENS_METRICS:
            for side in ("low", "high"):
                value = row[f"{m}_{side}"]
                if value is None or not math.isfinite(value):
                    row[f"{m}_{side}"] = None
                    row[f"{m}_{side}_reason"] = (
                        f"rejected: {r.errors[side]}" if side in r.errors
                        else "the ratio is undefined at this setting")
        row["error"] = row["error"] or None
        if row["error"] is None:
            row["error_reason"] = "both settings were accepted"
        rows.append(row)
    return {"workload": result.workload, "input_shape": list(result.input_shape),
            "hardware": result.hardware, "baseline": result.baseline, "phase": result.mode,
            "batch": result.batch, "reference": dict(result.reference), "parameters": rows}


def write_outputs(result: SensitivityResult, out_dir: str | Path) -> dict[str, Path]:
    """Write sensitivity.md, sensitivity.csv and tornado.png into ``out_dir``."""
    out = Path(out_dir)
    paths = {"markdown": out / "sensitivity.md", "csv": out / "sensitivity.csv",
             "png": out / "tornado.png"}
    atomic_write_text(paths["markdown"], to_markdown(result))
    atomic_write_text(paths["csv"], to_csv(result))
    plot_tornado(result, paths["png"])
    return paths


# --- command ---------------------------------------------------------------------------------

def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    from bplight.experiments.compare import add_design_args

    p = subparsers.add_parser(
        "sensitivity", help="which assumptions move the training speedup and energy saving",
        description="Vary each cost assumption low/high around the reference design and "
        "rank them by how much they move BPLight-CNN's speedup and energy saving; writes a "
        "Markdown/CSV table and a tornado chart.")
    add_design_args(p, model="vgg16")
    p.add_argument("--baseline", default="pipelayer",
                   help="reference baseline (default pipelayer, the training accelerator)")
    p.add_argument("--out", default="results/sensitivity", metavar="DIR",
                   help="output directory (default results/sensitivity, not tracked)")
    p.add_argument("--json", action="store_true",
                   help="print the ranked table as one JSON object on the last stdout line")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    import sys

    from bplight.config import load_spec

    check_batch(args.batch)
    base = get_baseline(args.baseline)
    if args.phase == "train" and not base.supports_training:
        raise InputError(f"--baseline {base.name} cannot train; choose one of the training "
                         "baselines (gtx1080, p100, dadiannao, pipelayer) or --phase infer")
    workload = build_workload(args.model, args.input)
    spec = load_spec(args.hardware, overrides=args.overrides or None)
    result = run_sensitivity(workload, spec, base, args.phase, args.batch,
                             progress=lambda s: print(s, file=sys.stderr, flush=True))
    paths = write_outputs(result, args.out)
    if args.json:
        payload = to_json(result)
        payload["outputs"] = {kind: str(path) for kind, path in paths.items()}
        print(json_line(payload))
        return 0
    print(to_markdown(result))
    for kind, path in paths.items():
        print(f"{kind}: {path}")
    return 0
