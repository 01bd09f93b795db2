"""``bplight reproduce --waterfall``: from the paper's implied design to the physics.

The chain starts at ``bplight-paper`` (the design BPLight-CNN's figures imply, with
every physical limit it breaks listed by :func:`bplight.photonics.limits.check_limits`)
and ends at ``bplight-16b`` (the reference design, no limit broken). Each
:class:`Step` of :data:`STEPS` sets a named set of fields to ``bplight-16b``'s values —
one assumption changed per step — and names the physical limit it restores with its
source. For every point of the chain, and for the designs of :data:`DESIGNS`
(``bplight-paper``, the feasible multi-bit preset ``bplight-8b-1x2``, ``bplight-16b``),
this module reports

* the accuracy measured by a short real training run (LeNet-5 on MNIST through the
  chip's numerical model, fast mode; every run with the same seed, data subset and
  schedule, and one FP32 run for the gap) — or, with ``--no-accuracy``, no accuracy
  and the reason;
* the six ratios of the paper's abstract (training and inference speedup,
  computational efficiency GOPS/s/mm², energy saving), against **every** baseline of
  :data:`bplight.baselines.BASELINES` (training: those that can train), geometric mean
  over the models, from the compare machinery (:mod:`bplight.experiments.compare`);
* the resource that bounds each design's latency, ADC reads and energy per MAC, and the
  limits still broken.

Which baseline the paper compared against is not known from its abstract ("compared
to the state-of-the-art designs"), so every baseline is a co-headline here.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bplight.baselines import BASELINES
from bplight.config.dotted import flatten, get_path
from bplight.config.loader import load_spec
from bplight.config.spec import HardwareSpec
from bplight.errors import InputError
from bplight.photonics.limits import check_limits

START = "bplight-paper"
"""First point of the chain: the paper's implied design."""

END = "bplight-16b"
"""Last point of the chain: the reference design."""

DESIGNS = ("bplight-paper", "bplight-8b-1x2", "bplight-8b-analog-sum", "bplight-16b")
"""The designs reported side by side (accuracy gap, six ratios, latency bound);
``bplight-8b-analog-sum`` is ``bplight-8b-1x2`` with the analog shift-and-add of the
slice passes (one ADC read per output and K-chunk, :mod:`bplight.photonics.slice_sum`)."""

MODES = ("train", "infer")

RATIOS = ("speedup", "gops_per_s_per_mm2_ratio", "energy_saving")
"""The three ratios of the abstract per mode (x 2 modes = the six ratios)."""

RATIO_LABELS = {"speedup": "speedup", "gops_per_s_per_mm2_ratio": "comp. eff.",
                "energy_saving": "energy saving"}

HEADLINE = {"train": ("gtx1080", "pipelayer"), "infer": ("gtx1080", "isaac")}
"""The baselines of the short table (the issue's GTX 1080 and PipeLayer/ISAAC); the
full tables show every baseline."""

PHASE_FIELDS = ("forward", "error", "weight_grad")


def _phases(name: str) -> tuple[str, ...]:
    return tuple(f"{p}.{name}" for p in PHASE_FIELDS)


@dataclass(frozen=True)
class Step:
    """One assumption of the paper's design replaced by the reference design's value."""

    key: str
    title: str
    fields: tuple[str, ...]
    """Dotted spec paths this step sets to :data:`END`'s values (and nothing else)."""
    restores: str
    """The physical limit the step restores (one sentence)."""
    source: str
    """Source keys of docs/sources.md."""
    clears: tuple[str, ...] = ()
    """Keys of :func:`~bplight.photonics.limits.check_limits` violations this step
    removes (checked by the tests)."""


STEPS: tuple[Step, ...] = (
    Step("hold_power", "ring hold power charged",
         ("components.weight_ring_hold_power_w", "components.modulator_hold_power_w"),
         "Thermally tuned rings draw power to hold their resonance: 0.275 mW per weight "
         "ring and 1.2 mW per modulator ring (LT, SimPhony), no less than 0.16 mW in any "
         "source (Albireo).", "LT; SimPhony; Albireo",
         ("ring_hold_power", "modulator_hold_power")),
    Step("bit_serial_inputs", "bit-serial inputs (1-b DAC slices)", _phases("dac_bits"),
         "A GS/s DAC resolves at most ~12 b (SimPhony's 12 b at 14 GS/s; no >= 1 GS/s "
         "converter of the Murmann survey above 11.5 ENOB), so the 15-b input is streamed "
         "in 1-b slices, one pass each (as ISAAC does).", "SimPhony; Murmann; ISAAC",
         ("dac_resolution",)),
    Step("one_bit_rings", "1-b weight slices", _phases("ring_bits"),
         "A microring holds a weight to 9 b at best (Zhang, with dithering control; ~7 b "
         "for DEAP's rings), so the 15-b weight is spread over 1-b rings.",
         "Zhang; DEAP", ("ring_resolution",)),
    Step("laser_for_reads", "laser sized for the reads", ("laser.power_per_wavelength_w",),
         "The laser must give the SNR at which a read errs with probability 1e-4 "
         "(CrossLight eq. 7 with AQ's shot, thermal and RIN noise), not the detector's "
         "-27 dBm sensitivity; with 1-b x 1-b slices (|sum| <= 16) that SNR, 41.9 dB, is "
         "under the 46 dB RIN cap at 5 GS/s, so the link budget closes.",
         "CrossLight eq. 7; AQ", ("link_budget",)),
    Step("adc_enforced", "6-b ADC, link budget enforced",
         (*_phases("adc_bits"), "link.enforce_limits"),
         "No further limit: the budget already closes; the ADC shrinks to the 6 b that "
         "read |sum| <= 16 exactly, and the link-budget check is switched back on.",
         "CrossLight eq. 7; AQ"),
)
"""The chain from :data:`START` to :data:`END`, one assumption per step."""


def yaml_scalar(value: Any) -> str:
    """A value as ``--set`` takes it (a YAML scalar)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class ChainPoint:
    """One point of the chain: the design after ``step`` (None: the start)."""

    step: Step | None
    changed: tuple[str, ...]
    """This step's ``FIELD=VALUE`` overrides."""
    overrides: tuple[str, ...]
    """All overrides of :data:`START` so far."""
    spec: HardwareSpec

    @property
    def key(self) -> str:
        return "paper" if self.step is None else self.step.key


def chain(start: str = START, end: str = END,
          steps: Sequence[Step] = STEPS) -> list[ChainPoint]:
    """The designs of the chain: ``start``, then each step applied in turn (values of
    ``end``)."""
    target = load_spec(end).model_dump(mode="json")
    points = [ChainPoint(None, (), (), load_spec(start))]
    overrides: list[str] = []
    for s in steps:
        changed = tuple(f"{f}={yaml_scalar(get_path(target, f))}" for f in s.fields)
        overrides += changed
        points.append(ChainPoint(s, changed, tuple(overrides), load_spec(start, overrides)))
    return points


def spec_differences(a: HardwareSpec, b: HardwareSpec) -> set[str]:
    """Dotted fields whose values differ (name and description ignored)."""
    fa, fb = flatten(a.model_dump(mode="json")), flatten(b.model_dump(mode="json"))
    return {k for k in fa.keys() | fb.keys()
            if fa.get(k) != fb.get(k) and k not in ("name", "description")}


# --- accuracy -----------------------------------------------------------------------------

@dataclass(frozen=True)
class AccuracySetup:
    """The short training run every design gets (LeNet-5 on MNIST by default)."""

    images: int = 10000
    epochs: int = 2
    seed: int = 0
    model: str = "lenet5"
    dataset: str = "mnist"
    batch_size: int = 128
    lr: float = 0.05
    data_root: str | None = None
    device: str = "auto"

    def to_json(self) -> dict[str, Any]:
        return {"images": self.images, "epochs": self.epochs, "seed": self.seed,
                "model": self.model, "dataset": self.dataset,
                "batch_size": self.batch_size, "lr": self.lr, "mode": "fast",
                "test_images": self.images}


def check_setup(setup: AccuracySetup) -> None:
    """InputError unless the training size is usable."""
    if not 128 <= setup.images <= 60000:
        raise InputError(f"--train-images {setup.images} is not allowed; allowed: 128 to "
                         "60000 MNIST training images")
    if not 1 <= setup.epochs <= 100:
        raise InputError(f"--train-epochs {setup.epochs} is not allowed; allowed: 1 to 100")


def measure_accuracies(specs: dict[str, HardwareSpec], setup: AccuracySetup,
                       progress: Callable[[str], None] | None = None
                       ) -> tuple[float, dict[str, float]]:
    """(FP32 test accuracy, key -> test accuracy) of a short real training run of each
    spec: same seed, data subset, order and schedule (:mod:`bplight.experiments.train`)."""
    from bplight.experiments.train import TrainConfig, prepare, run_training

    say = progress or (lambda s: None)
    cfg = TrainConfig(model=setup.model, dataset=setup.dataset, hardware="fp32",
                      epochs=setup.epochs, batch_size=setup.batch_size, lr=setup.lr,
                      seed=setup.seed, subset=setup.images, data_root=setup.data_root,
                      device=setup.device, baseline=False)
    fp32_spec, device, loaders = prepare(cfg)
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bplight-waterfall-") as tmp:
        say(f"training fp32 ({setup.images} images, {setup.epochs} epoch(s))")
        fp32 = run_training(cfg, Path(tmp) / "fp32", progress=False,
                            prepared=(fp32_spec, device, loaders))["test_accuracy"]
        for key, spec in specs.items():
            say(f"training {key}")
            run_cfg = replace(cfg, hardware=spec.name)
            summary = run_training(run_cfg, Path(tmp) / key, progress=False,
                                   prepared=(spec, device, loaders))
            out[key] = summary["test_accuracy"]
    return fp32, out


# --- cost ---------------------------------------------------------------------------------

def _geomean(values: Sequence[float | None]) -> float | None:
    vals = [v for v in values if v is not None and v > 0 and math.isfinite(v)]
    if not vals or len(vals) < len(values):
        return None
    return math.exp(sum(math.log(v) for v in vals) / len(vals))


def latency_bound(report: Any) -> str:
    """The resource bounding ``report``'s latency: the cost engine's ``bound`` where it
    reports one, else the largest of its concurrent latency terms (or the update when it
    takes longer)."""
    bound = getattr(report, "bound", "")
    if bound:
        return str(bound)
    terms = dict(report.latency_breakdown_s)
    concurrent = {k: v for k, v in terms.items() if k not in ("update", "pipeline_fill")}
    if not concurrent:
        return ""
    top = max(concurrent, key=lambda k: concurrent[k])
    return "update" if terms.get("update", 0.0) > concurrent[top] else top


@dataclass
class CostPoint:
    """Ratios and per-MAC figures of one design, geometric mean over the models."""

    ratios: dict[str, dict[str, dict[str, float | None]]]
    """mode -> baseline -> ratio name -> value (None: the baseline cannot run the mode)."""
    cannot: dict[str, dict[str, str]]
    """mode -> baseline -> why it has no ratios."""
    bound: dict[str, dict[str, str]]
    """mode -> model -> the resource bounding the latency."""
    adc_reads_per_mac: dict[str, float | None]
    energy_per_mac_j: dict[str, float | None]


def cost_point(spec: HardwareSpec, workloads: dict[str, Any], batch: int) -> CostPoint:
    """Cost ``spec`` on every workload and mode against every baseline."""
    from bplight.experiments.compare import compare_to, photonic_estimate

    ratios: dict[str, dict[str, dict[str, float | None]]] = {}
    cannot: dict[str, dict[str, str]] = {}
    bound: dict[str, dict[str, str]] = {}
    reads: dict[str, float | None] = {}
    energy: dict[str, float | None] = {}
    for mode in MODES:
        per: dict[str, dict[str, list[float | None]]] = {}
        bound[mode], r_mac, e_mac = {}, [], []
        for m, w in workloads.items():
            phot = photonic_estimate(w, spec, mode, batch)
            bound[mode][m] = latency_bound(phot)
            # ADC conversions: one per pass, or per K-chunk sum under slice_sum analog
            r_mac.append(phot.counts.get("adc_conversions", math.nan) / phot.macs)
            e_mac.append(phot.energy_j / phot.macs)
            for name, base in BASELINES.items():
                c = compare_to(phot, w, base, mode, batch)
                if c.reason:
                    cannot.setdefault(mode, {})[name] = c.reason
                for r in RATIOS:
                    per.setdefault(name, {}).setdefault(r, []).append(c.metric(r))
        ratios[mode] = {n: {r: _geomean(v) for r, v in d.items()} for n, d in per.items()}
        reads[mode], energy[mode] = _geomean(r_mac), _geomean(e_mac)
    return CostPoint(ratios, cannot, bound, reads, energy)


# --- the waterfall ------------------------------------------------------------------------

@dataclass
class DesignResult:
    """One design of the waterfall or of the side-by-side list."""

    key: str
    title: str
    hardware: str
    overrides: tuple[str, ...]
    changed: tuple[str, ...]
    restores: str | None
    source: str | None
    violations: list[dict[str, Any]]
    link_feasible: bool
    link_reason: str
    cost: CostPoint
    test_accuracy: float | None = None

    def to_json(self, fp32: float | None) -> dict[str, Any]:
        gap = (None if self.test_accuracy is None or fp32 is None
               else 100.0 * (fp32 - self.test_accuracy))
        return {"key": self.key, "title": self.title, "hardware": self.hardware,
                "overrides": list(self.overrides), "changed": list(self.changed),
                "restores": self.restores, "source": self.source,
                "violations": self.violations, "link_budget_feasible": self.link_feasible,
                "link_budget_reason": self.link_reason,
                "test_accuracy": self.test_accuracy, "accuracy_gap_pp": gap,
                "ratios": self.cost.ratios, "cannot_run": self.cost.cannot,
                "latency_bound": self.cost.bound,
                "adc_reads_per_mac": self.cost.adc_reads_per_mac,
                "energy_per_mac_j": self.cost.energy_per_mac_j}


def code_version() -> dict[str, Any]:
    """The git commit and dirty flag of the checkout the package runs from (None where it
    is not a git checkout): which code measured a waterfall."""
    import subprocess

    import bplight

    root = Path(bplight.__file__).resolve().parent
    out: dict[str, Any] = {"git_commit": None, "git_dirty": None}
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                                text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "."], cwd=root,
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return out
    if commit.returncode == 0:
        out["git_commit"] = commit.stdout.strip()
        out["git_dirty"] = bool(dirty.stdout.strip())
    return out


@dataclass
class Waterfall:
    steps: list[DesignResult]
    designs: list[DesignResult]
    models: list[str]
    batch: int
    setup: AccuracySetup | None
    fp32_accuracy: float | None
    command: str = "bplight reproduce --waterfall"
    notes: list[str] = field(default_factory=list)
    code: dict[str, Any] = field(default_factory=code_version)
    """Which code measured it (:func:`code_version`, taken when the waterfall starts)."""

    def to_json(self) -> dict[str, Any]:
        return {"start": START, "end": END, "models": list(self.models),
                "batch": self.batch, "command": self.command,
                "accuracy_setup": None if self.setup is None else self.setup.to_json(),
                "accuracy_skipped": self.setup is None,
                "fp32_test_accuracy": self.fp32_accuracy,
                "baselines": {m: [n for n in BASELINES] for m in MODES},
                "waterfall": [d.to_json(self.fp32_accuracy) for d in self.steps],
                "designs": [d.to_json(self.fp32_accuracy) for d in self.designs],
                "notes": list(self.notes), "code_version": dict(self.code)}


WATERFALL_NULL_REASONS = {
    "test_accuracy": "accuracy not measured (--no-accuracy)",
    "accuracy_gap_pp": "no accuracy measured (--no-accuracy)",
    "fp32_test_accuracy": "no accuracy measured (--no-accuracy)",
    "accuracy_setup": "no training runs (--no-accuracy)",
    "speedup": "the baseline cannot run this mode (see cannot_run)",
    "gops_per_s_per_mm2_ratio": "the baseline cannot run this mode (see cannot_run)",
    "energy_saving": "the baseline cannot run this mode (see cannot_run)",
    "restores": "the start of the chain, or a design shown side by side: no step",
    "source": "the start of the chain, or a design shown side by side: no step",
}
"""Why a field of the waterfall's JSON can be ``null``."""

NO_ACCURACY = ("accuracy not measured (--no-accuracy): the ratios are costed, no "
               "training run was made")
"""Why the accuracy of every design is null when training is skipped."""


def _result(key: str, title: str, spec: HardwareSpec, overrides: Sequence[str],
            changed: Sequence[str], step: Step | None, workloads: dict[str, Any],
            batch: int) -> DesignResult:
    from bplight.photonics.link_budget import link_budget

    lb = link_budget(spec)
    return DesignResult(key, title, spec.name, tuple(overrides), tuple(changed),
                        None if step is None else step.restores,
                        None if step is None else step.source,
                        [v.to_json() for v in check_limits(spec)], lb.feasible, lb.reason,
                        cost_point(spec, workloads, batch))


def waterfall(models: Sequence[str], batch: int, setup: AccuracySetup | None,
              designs: Sequence[str] = DESIGNS,
              progress: Callable[[str], None] | None = None,
              command: str = "bplight reproduce --waterfall") -> Waterfall:
    """Cost (and, unless ``setup`` is None, train) every point of :func:`chain` and every
    design of ``designs``."""
    from bplight.experiments.common import build_workload

    say = progress or (lambda s: None)
    code = code_version()
    workloads = {m: build_workload(m) for m in models}
    points = chain()
    steps: list[DesignResult] = []
    for p in points:
        say(f"costing waterfall step {p.key}")
        title = "paper assumptions" if p.step is None else p.step.title
        steps.append(_result(p.key, title, p.spec, p.overrides, p.changed, p.step,
                             workloads, batch))
    chain_specs = {p.key: p.spec for p in points}
    by_name = {START: "paper", END: STEPS[-1].key}
    side: list[DesignResult] = []
    extra: dict[str, HardwareSpec] = {}
    for name in designs:
        if name in by_name:
            src = next(d for d in steps if d.key == by_name[name])
            side.append(replace(src, key=name, title=name, hardware=name, changed=(),
                                restores=None, source=None))
        else:
            spec = load_spec(name)
            say(f"costing {name}")
            side.append(_result(name, name, spec, (), (), None, workloads, batch))
            extra[name] = spec
    fp32 = None
    if setup is not None:
        fp32, acc = measure_accuracies({**chain_specs, **extra}, setup, say)
        for d in steps:
            d.test_accuracy = acc[d.key]
        for d in side:
            d.test_accuracy = acc[by_name.get(d.key, d.key)]
    notes = [] if setup is not None else [NO_ACCURACY]
    return Waterfall(steps, side, list(models), batch, setup, fp32, command, notes, code)


# --- reading it back ----------------------------------------------------------------------

_TOP_KEYS = ("start", "end", "models", "batch", "command", "accuracy_setup",
             "fp32_test_accuracy", "waterfall", "designs")
_ROW_KEYS = ("key", "title", "changed", "restores", "source", "violations",
             "link_budget_feasible", "test_accuracy", "accuracy_gap_pp", "ratios",
             "latency_bound", "adc_reads_per_mac", "energy_per_mac_j")


def read_waterfall(path: str | Path) -> dict[str, Any]:
    """The JSON a waterfall run wrote (``--waterfall`` writes it beside ``--out``), checked
    for every key the rendering reads; InputError naming the file and key otherwise."""
    import json

    p = Path(path)
    hint = "produce it with `bplight reproduce --waterfall`"
    if not p.is_file():
        raise InputError(f"--waterfall-json {path}: no such file; {hint}")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InputError(f"waterfall file {path} is not valid JSON; {hint}") from None
    if not isinstance(data, dict):
        raise InputError(f"waterfall file {path} must hold a JSON object; {hint}")
    for k in _TOP_KEYS:
        if k not in data:
            raise InputError(f"waterfall file {path} has no key '{k}'; {hint}")
    for list_key in ("waterfall", "designs"):
        rows = data[list_key]
        if not isinstance(rows, list) or not rows:
            raise InputError(f"waterfall file {path}: '{list_key}' must be a non-empty list")
        for i, row in enumerate(rows):
            for k in _ROW_KEYS:
                if not isinstance(row, dict) or k not in row:
                    raise InputError(f"waterfall file {path} has no key "
                                     f"'{list_key}[{i}].{k}'; {hint}")
    return data


# --- rendering ----------------------------------------------------------------------------

def _md(text: str) -> str:
    """Text for a Markdown table cell (pipes escaped)."""
    return text.replace("|", "\\|")


def _ratio(v: float | None) -> str:
    if v is None or not math.isfinite(v):
        return "n/a"
    return f"{v:,.0f}×" if v >= 100 else f"{v:.3g}×"


def _pct(v: float | None) -> str:
    return "not measured" if v is None else f"{100 * v:.2f} %"


def _gap(v: float | None) -> str:
    return "n/a" if v is None else f"{v:+.2f}"


def _bound(row: dict[str, Any]) -> str:
    parts = []
    for mode in MODES:
        b = row["latency_bound"].get(mode, {})
        vals = sorted(set(b.values()))
        parts.append(f"{mode}: {', '.join(vals) if vals else 'n/a'}")
    return "; ".join(parts)


def _si_j(v: float | None) -> str:
    from bplight.units import format_si

    return "n/a" if v is None else format_si(v, "J")


def _cell(row: dict[str, Any], mode: str, base: str, ratio: str) -> str:
    r = row["ratios"].get(mode, {}).get(base, {})
    v = r.get(ratio)
    if v is None and base in row.get("cannot_run", {}).get(mode, {}):
        return "cannot train"
    return _ratio(v)


def steps_table(data: dict[str, Any]) -> str:
    """The chain: what each step changes, the limit it restores, accuracy, bounds."""
    lines = ["| # | step | set (to bplight-16b's values) | limit restored (source) | "
             "test accuracy | gap to FP32 (points) | limits still broken | latency bound "
             "| ADC reads / MAC (train) | energy / MAC (train) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for i, row in enumerate(data["waterfall"]):
        changed = "<br>".join(f"`{c}`" for c in row["changed"]) or "—"
        restores = ("—" if row["restores"] is None
                    else _md(f"{row['restores']} ({row['source']})"))
        broken = ", ".join(v["key"] for v in row["violations"]) or "none"
        reads = row["adc_reads_per_mac"].get("train")
        lines.append(f"| {i} | {row['title']} | {changed} | {restores} | "
                     f"{_pct(row['test_accuracy'])} | {_gap(row['accuracy_gap_pp'])} | "
                     f"{broken} | {_bound(row)} | "
                     f"{'n/a' if reads is None else f'{reads:.3g}'} | "
                     f"{_si_j(row['energy_per_mac_j'].get('train'))} |")
    return "\n".join(lines)


def headline_table(rows: list[dict[str, Any]]) -> str:
    """The six ratios against GTX 1080 and against PipeLayer (training) / ISAAC
    (inference)."""
    head = ["design", "test accuracy", "gap (points)"]
    cols = []
    for mode in MODES:
        for base in HEADLINE[mode]:
            for r in RATIOS:
                head.append(f"{mode} {RATIO_LABELS[r]} vs {base}")
                cols.append((mode, base, r))
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = [row["title"], _pct(row["test_accuracy"]), _gap(row["accuracy_gap_pp"])]
        cells += [_cell(row, *c) for c in cols]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def baseline_tables(rows: list[dict[str, Any]], baselines: Sequence[str]) -> str:
    """One table per baseline (every baseline a co-headline): rows = designs, columns =
    the six ratios."""
    out: list[str] = []
    head = ["design"] + [f"{m} {RATIO_LABELS[r]}" for m in MODES for r in RATIOS]
    for base in baselines:
        title = getattr(BASELINES.get(base), "title", base)
        out += [f"**vs {base}** ({title})", "",
                "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for row in rows:
            cells = [row["title"]] + [_cell(row, m, base, r) for m in MODES for r in RATIOS]
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out).rstrip("\n")


def designs_table(data: dict[str, Any]) -> str:
    """bplight-paper, the multi-bit preset and bplight-16b side by side."""
    lines = ["| design | test accuracy | gap to FP32 (points) | limits broken | latency "
             "bound | ADC reads / MAC (train / infer) | energy / MAC (train / infer) |",
             "|---|---|---|---|---|---|---|"]
    for row in data["designs"]:
        broken = ", ".join(v["key"] for v in row["violations"]) or "none"
        reads = " / ".join("n/a" if row["adc_reads_per_mac"].get(m) is None
                           else f"{row['adc_reads_per_mac'][m]:.3g}" for m in MODES)
        energy = " / ".join(_si_j(row["energy_per_mac_j"].get(m)) for m in MODES)
        lines.append(f"| `{row['hardware']}` | {_pct(row['test_accuracy'])} | "
                     f"{_gap(row['accuracy_gap_pp'])} | {broken} | {_bound(row)} | {reads} "
                     f"| {energy} |")
    return "\n".join(lines)


def accuracy_sentence(data: dict[str, Any]) -> str:
    s = data["accuracy_setup"]
    if s is None:
        return "Accuracy: " + NO_ACCURACY + "."
    code = data.get("code_version") or {}
    at = ""
    if code.get("git_commit"):
        at = (f" Measured at commit {code['git_commit'][:7]}"
              f"{' with uncommitted changes' if code.get('git_dirty') else ''}.")
    return (f"Accuracy: {s['model']} on {s['dataset']}, a {s['images']:,}-image training "
            f"subset (and {s['test_images']:,} test images), {s['epochs']} epoch(s), batch "
            f"{s['batch_size']}, lr {s['lr']:g} (cosine), seed {s['seed']}, fast mode; every "
            f"design with the same seed, data and schedule; FP32 "
            f"{_pct(data['fp32_test_accuracy'])}. A short run: the accuracies rank the "
            "designs, they are not converged figures." + at)


def _claim_fit(row: dict[str, Any], base: str) -> float | None:
    """Geometric mean of ratio / claimed over the six claims against ``base`` (None when
    the baseline cannot run a mode)."""
    from bplight.experiments.reproduce.claims import CLAIMS

    vals = [row["ratios"].get(c.mode, {}).get(base, {}).get(c.metric) for c in CLAIMS]
    if any(v is None or v <= 0 for v in vals):
        return None
    return math.exp(sum(math.log(v / c.claimed) for v, c in zip(vals, CLAIMS, strict=True))
                    / len(CLAIMS))


def reading(data: dict[str, Any]) -> str:
    """What the waterfall shows, in sentences computed from its data."""
    from bplight.experiments.reproduce.claims import CLAIMS

    rows = data["waterfall"]
    first, last = rows[0], rows[-1]
    out = []
    fp32 = data["fp32_test_accuracy"]
    if fp32 is not None and all(r["test_accuracy"] is not None for r in rows):
        ok = next((i for i, r in enumerate(rows) if r["accuracy_gap_pp"] <= 1.0), None)
        if ok is None:
            out.append("No step trains to within 1 point of FP32 in this short run.")
        else:
            out.append(f"Accuracy: the paper's design reaches {_pct(first['test_accuracy'])} "
                       f"(FP32 {_pct(fp32)}); training comes within 1 point of FP32 first "
                       f"at step {ok} ({rows[ok]['title']}).")
    bases = [n for n in data.get("baselines", {}).get("infer", BASELINES)]
    fits = {b: _claim_fit(first, b) for b in bases}
    fits = {b: f for b, f in fits.items() if f is not None}
    if fits:
        best = max(fits, key=lambda b: fits[b])
        six = [_cell(first, c_mode, best, c_metric) for c_mode in MODES for c_metric in RATIOS]
        out.append(
            f"Ratios: the paper's design comes closest to the six claims against {best} "
            f"({', '.join(six)} for training and inference speedup, comp. eff., energy "
            f"saving; claimed {', '.join(f'{c.claimed:g}×' for c in CLAIMS)}), at "
            f"{fits[best]:.2g}× the claims on geometric mean; against PipeLayer / ISAAC it "
            f"reaches {_cell(first, 'train', 'pipelayer', 'speedup')} / "
            f"{_cell(first, 'infer', 'isaac', 'speedup')} speedup. bplight-16b, the "
            f"end of the chain, reaches {_fit_text(last, best)} of the claims against "
            f"{best}.")
    bf, bl = _bound(first), _bound(last)
    if bf != bl:
        out.append(f"The resource bounding latency moves from {bf} (paper's design) to "
                   f"{bl} (bplight-16b).")
    return " ".join(out)


def _fit_text(row: dict[str, Any], base: str) -> str:
    f = _claim_fit(row, base)
    return "n/a" if f is None else f"{f:.2g}×"


def render_section(data: dict[str, Any]) -> str:
    """The waterfall section of the reproduction document (Markdown), from the JSON form."""
    models = ", ".join(data["models"])
    all_bases = list(dict.fromkeys(n for m in MODES for n in data.get("baselines", {}).get(
        m, BASELINES)))
    rows = data["waterfall"]
    parts = [
        f"From `{data['start']}` (the design the paper's figures imply, with every "
        f"physical limit it breaks) to `{data['end']}`, one assumption changed per step. "
        f"Ratios: BPLight-CNN over each baseline, geometric mean over {models} (batch "
        f"{data['batch']}). Generated by `{data['command']}`.", "",
        accuracy_sentence(data), "",
        steps_table(data), "",
        reading(data), "",
        "The six ratios against GTX 1080 and against PipeLayer (training) / ISAAC "
        "(inference):", "",
        headline_table(rows), "",
        "Which baseline the paper compared against is not known from its abstract "
        "(\"compared to the state-of-the-art designs\"), so every baseline is shown as a "
        "co-headline:", "",
        baseline_tables(rows, all_bases), "",
        "### bplight-paper, the feasible multi-bit preset and bplight-16b", "",
        designs_table(data), "",
        headline_table(data["designs"]),
    ]
    return "\n".join(parts)


def text_table(data: dict[str, Any]) -> str:
    """A plain-text summary for the terminal: accuracy and the six ratios against
    PipeLayer (training) and ISAAC (inference); ``--json`` has every baseline."""
    cols = [(m, HEADLINE[m][1], r) for m in MODES for r in RATIOS]
    short = {"speedup": "speed", "gops_per_s_per_mm2_ratio": "CE", "energy_saving": "energy"}
    head = [f"{m} {short[r]} vs {b}" for m, b, r in cols]
    widths = [max(len(h), 9) for h in head]
    lines = [f"{'#':>2}  {'step':<36} {'accuracy':>12} {'gap':>7}  "
             + "  ".join(f"{h:>{w}}" for h, w in zip(head, widths, strict=True))]
    for i, row in enumerate(data["waterfall"]):
        cells = [_cell(row, m, b, r) for m, b, r in cols]
        lines.append(f"{i:>2}  {row['title']:<36} {_pct(row['test_accuracy']):>12} "
                     f"{_gap(row['accuracy_gap_pp']):>7}  "
                     + "  ".join(f"{c:>{w}}" for c, w in zip(cells, widths, strict=True)))
    return "\n".join(lines)


def plot_waterfall(data: dict[str, Any], path: str | Path) -> Path:
    """PNG: accuracy per step, and each of the six ratios per step against every
    baseline (log axes)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bplight.io import atomic_path

    path = Path(path)
    rows = data["waterfall"]
    x = list(range(len(rows)))
    labels = [r["key"] for r in rows]
    fig, axes = plt.subplots(2, 4, figsize=(18, 8), constrained_layout=True)
    ax = axes.flat[0]
    acc = [r["test_accuracy"] for r in rows]
    if any(a is not None for a in acc):
        ax.plot(x, [100 * a if a is not None else math.nan for a in acc], "o-",
                label="chip model")
        if data["fp32_test_accuracy"] is not None:
            ax.axhline(100 * data["fp32_test_accuracy"], color="k", ls="--", lw=0.8,
                       label="FP32")
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "accuracy not measured", ha="center", va="center",
                transform=ax.transAxes)
    ax.set_title("test accuracy (%)")
    from bplight.experiments.reproduce.claims import CLAIMS

    claimed = {(c.mode, c.metric): c.claimed for c in CLAIMS}
    panels = [(m, r) for m in MODES for r in RATIOS]
    bases = list(BASELINES)
    colors = {b: f"C{i}" for i, b in enumerate(bases)}
    for ax, (mode, ratio) in zip(list(axes.flat)[1:7], panels, strict=True):
        for b in bases:
            ys = [r["ratios"].get(mode, {}).get(b, {}).get(ratio) for r in rows]
            if all(y is None for y in ys):
                continue
            ax.plot(x, [y if y is not None and y > 0 else math.nan for y in ys], "o-",
                    label=b, color=colors[b], lw=2.2 if b in HEADLINE[mode] else 1.0)
        ax.axhline(1.0, color="k", lw=0.8, ls="--")
        if (mode, ratio) in claimed:
            ax.axhline(claimed[(mode, ratio)], color="k", lw=1.0, ls=":",
                       label="paper's claim")
        ax.set_yscale("log")
        ax.set_title(f"{mode}: {RATIO_LABELS[ratio]} over baseline (log)")
    handles, names = axes.flat[5].get_legend_handles_labels()
    axes.flat[7].axis("off")
    axes.flat[7].legend(handles, names, loc="center", title="baseline")
    for ax in list(axes.flat)[:7]:
        ax.set_xticks(x)
        ax.set_xticklabels(labels, rotation=35, ha="right", fontsize=8)
    fig.suptitle(f"Waterfall {data['start']} -> {data['end']} (one assumption per step)")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path
