"""The interface every baseline accelerator shares with the photonic design.

A baseline is modelled from its *published figures* — peak throughput or computational
efficiency (GOPS/s/mm²), power or power efficiency (GOPS/W), area, precision, whether it
trains — each kept as a :class:`Figure` that carries its value, unit and source (a
citation, ``derived: <how>`` or ``assumption: <why>``). :meth:`Baseline.estimate` turns
them into the same :class:`~bplight.cost.report.CostReport` the photonic cost engine
returns, for the same workload op counts:

* ``latency = ops / (peak / precision_passes × utilisation / train_slowdown)``;
* ``energy = ops × energy_per_op`` where ``energy_per_op`` is either
  ``power / peak × precision_passes × train_slowdown`` (``energy_model="per_op"``: the
  published efficiency holds whatever the utilisation; idle units assumed gated) or
  ``power × latency / ops`` (``energy_model="power_x_time"``: the board draws its power
  while the work runs, as a GPU at its TDP).

Ops follow the ISAAC / PipeLayer convention of :mod:`bplight.cost.report`: one MAC = 2
operations; training counts the forward, error and weight-gradient products of
``batch`` images, inference the forward products.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

from bplight.cost.report import CostReport, PhaseCost
from bplight.errors import BplightError
from bplight.workload import MODES  # the modes a baseline may be asked for

TARGET_BITS = 16
"""Operand resolution every design is compared at: the paper's 16 bits (BPLight-CNN
abstract, arXiv:2102.10140)."""

FigureKind = Literal["published", "derived", "assumption"]


class TrainingNotSupported(BplightError):
    """A training estimate was asked of an inference-only accelerator."""

    def __init__(self, baseline: str, reason: str) -> None:
        self.baseline = baseline
        self.reason = reason
        super().__init__(
            f"baseline {baseline!r} cannot train, so it has no training estimate: {reason}")


@dataclass(frozen=True)
class Figure:
    """One number of a baseline model and where it comes from.

    ``kind`` is ``"published"`` (read in ``source``), ``"derived"`` (computed from
    published figures; ``source`` says how) or ``"assumption"`` (``source`` says why).
    """

    value: float
    unit: str
    source: str
    kind: FigureKind = "published"

    def __post_init__(self) -> None:
        if not math.isfinite(self.value):
            raise ValueError(f"figure value must be finite, got {self.value!r}")
        if not self.source.strip():
            raise ValueError("every figure needs a source, a derivation or 'assumption'")

    def describe(self, label: str) -> str:
        """``label = value unit (kind: source)``, one line for reports."""
        unit = f" {self.unit}" if self.unit else ""
        return f"{label} = {self.value:.6g}{unit} ({self.kind}: {self.source})"

    def scaled(self, factor: float, source: str, kind: FigureKind = "derived") -> Figure:
        """A new figure ``value × factor`` whose source says how it was obtained."""
        return Figure(self.value * factor, self.unit, source, kind)


def assumed(value: float, unit: str, why: str) -> Figure:
    """Shorthand for an assumption figure."""
    return Figure(value, unit, why, "assumption")


class WorkloadLike(Protocol):
    """What a baseline needs of a workload: its name, input shape and GEMMs per mode."""

    name: str
    input_shape: tuple[int, ...]

    def gemms(self, mode: str, batch: int) -> Any: ...


def _gemm_list(gemms: Any) -> list[Any]:
    if isinstance(gemms, dict):
        gemms = list(gemms.values())
    out: list[Any] = []
    for g in gemms:
        if isinstance(g, dict):
            out.extend(g.values())
        elif isinstance(g, (list, tuple)):
            out.extend(g)
        else:
            out.append(g)
    return out


def workload_phase_macs(workload: WorkloadLike, mode: str, batch: int) -> dict[str, int]:
    """MACs of ``workload`` per phase (forward, error, weight_grad) for ``batch`` images.

    These are the same GEMMs the photonic cost engine maps (``workload.gemms``), so both
    sides of every ratio count the same operations.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if batch < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    out: dict[str, int] = {}
    for g in _gemm_list(workload.gemms(mode, batch)):
        out[g.phase] = out.get(g.phase, 0) + int(g.macs)
    return out


class Baseline(ABC):
    """An accelerator the photonic design is compared with.

    Subclasses give the figures; :meth:`estimate` is the one way to cost a workload.
    """

    name: str
    title: str

    @property
    @abstractmethod
    def supports_training(self) -> bool:
        """Whether the accelerator runs the whole training step (with weight updates)."""

    @property
    @abstractmethod
    def training_note(self) -> str:
        """Why it can or cannot train, with the source."""

    @property
    @abstractmethod
    def sources(self) -> list[str]:
        """The publications the figures come from."""

    @property
    @abstractmethod
    def assumptions(self) -> list[str]:
        """Every figure that is derived or assumed, one sentence each."""

    @abstractmethod
    def throughput_ops_per_s(self, mode: str) -> float:
        """Sustained 16-bit operations per second in ``mode``."""

    @abstractmethod
    def energy_per_op_j(self, mode: str) -> float:
        """Energy of one sustained 16-bit operation in ``mode``."""

    @property
    @abstractmethod
    def area_mm2(self) -> float:
        """Chip (or die) area."""

    def check_mode(self, mode: str) -> None:
        """Raise :class:`TrainingNotSupported` for training on an inference-only design."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        if mode == "train" and not self.supports_training:
            raise TrainingNotSupported(self.name, self.training_note)

    def estimate(self, workload: WorkloadLike, mode: str = "train", batch: int = 1,
                 macs_by_phase: dict[str, int] | None = None) -> CostReport:
        """Cost of ``workload`` for ``mode`` on this accelerator, as a CostReport.

        ``macs_by_phase`` overrides the MAC counts read from ``workload.gemms`` (to cost
        exactly the operations of another report); by default they are read from it.
        """
        self.check_mode(mode)
        phase_macs = (dict(macs_by_phase) if macs_by_phase is not None
                      else workload_phase_macs(workload, mode, batch))
        macs = sum(phase_macs.values())
        rate = self.throughput_ops_per_s(mode)
        e_op = self.energy_per_op_j(mode)
        phases = [
            PhaseCost(layer="total", phase=ph, macs=m, latency_s=2.0 * m / rate,
                      energy_j=2.0 * m * e_op, energy_by_component_j={"chip": 2.0 * m * e_op})
            for ph, m in phase_macs.items()
        ]
        energy = 2.0 * macs * e_op
        return CostReport(
            design=self.name, workload=workload.name,
            input_shape=tuple(workload.input_shape), mode=mode, batch=batch, macs=macs,
            latency_s=2.0 * macs / rate, energy_j=energy, area_mm2=self.area_mm2,
            energy_by_component_j={"chip": energy},
            area_by_component_mm2={"chip": self.area_mm2},
            phases=phases, assumptions=self.assumptions, sources=self.sources,
        )


ONE_PASS = Figure(1.0, "", "native resolution >= 16 bits: one pass per 16-bit operation",
                  "derived")
NO_SLOWDOWN = Figure(1.0, "", "trains at its inference resolution and rate", "derived")


@dataclass(frozen=True)
class PublishedAccelerator(Baseline):
    """A baseline described by its published operating point (final; build variants with
    :func:`dataclasses.replace` or the factory functions of each family's module).

    ``peak_ops_per_s``, ``power_w`` are at the design's native precision
    ``native_bits``; ``precision_passes`` is how many native operations one 16-bit
    operation takes (bit slicing; 1 when native ≥ 16 bits). ``utilisation`` is the
    fraction of peak sustained on CNN layers. ``train_slowdown`` multiplies time and
    energy per operation in training (e.g. wider training arithmetic).
    """

    name: str
    title: str
    peak_ops_per_s: Figure
    power_w: Figure
    area: Figure
    native_bits: Figure
    utilisation: Figure
    trains: bool
    training_reason: str
    precision_passes: Figure = field(default_factory=lambda: ONE_PASS)
    train_slowdown: Figure = field(default_factory=lambda: NO_SLOWDOWN)
    energy_model: Literal["per_op", "power_x_time"] = "per_op"
    references: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    published_checks: tuple[tuple[str, float, float], ...] = ()
    """(metric, published value, derived value) pairs a test compares."""

    def __post_init__(self) -> None:
        for label, fig in self.figures().items():
            if fig.value <= 0:
                raise ValueError(f"{self.name}: {label} must be > 0, got {fig.value}")
        if self.utilisation.value > 1:
            raise ValueError(f"{self.name}: utilisation must be <= 1, got "
                             f"{self.utilisation.value}")
        if self.energy_model not in ("per_op", "power_x_time"):
            raise ValueError(f"{self.name}: unknown energy_model {self.energy_model!r}")

    # -- figures ---------------------------------------------------------------------
    def figures(self) -> dict[str, Figure]:
        """Every figure by label, in report order."""
        return {
            "peak throughput": self.peak_ops_per_s, "power": self.power_w,
            "area": self.area, "native resolution": self.native_bits,
            "passes per 16-bit operation": self.precision_passes,
            "utilisation": self.utilisation, "training slowdown": self.train_slowdown,
        }

    @property
    def peak_gops(self) -> float:
        """Peak throughput at native precision, GOPS."""
        return self.peak_ops_per_s.value / 1e9

    @property
    def peak_gops_per_w(self) -> float:
        """Peak power efficiency at native precision (GOPS/W)."""
        return self.peak_gops / self.power_w.value

    @property
    def peak_gops_per_s_per_mm2(self) -> float:
        """Peak computational efficiency at native precision (GOPS/s/mm²)."""
        return self.peak_gops / self.area.value

    # -- Baseline --------------------------------------------------------------------
    @property
    def supports_training(self) -> bool:
        return self.trains

    @property
    def training_note(self) -> str:
        return self.training_reason

    @property
    def area_mm2(self) -> float:
        return self.area.value

    def _slowdown(self, mode: str) -> float:
        return self.train_slowdown.value if mode == "train" else 1.0

    def throughput_ops_per_s(self, mode: str) -> float:
        return (self.peak_ops_per_s.value / self.precision_passes.value
                * self.utilisation.value / self._slowdown(mode))

    def energy_per_op_j(self, mode: str) -> float:
        if self.energy_model == "power_x_time":
            return self.power_w.value / self.throughput_ops_per_s(mode)
        return (self.power_w.value / self.peak_ops_per_s.value
                * self.precision_passes.value * self._slowdown(mode))

    @property
    def sources(self) -> list[str]:
        return unique(self.references)

    @property
    def assumptions(self) -> list[str]:
        out = [fig.describe(label) for label, fig in self.figures().items()
               if fig.kind != "published" and fig not in (ONE_PASS, NO_SLOWDOWN)]
        out.append("energy: " + (
            "board power x latency (the board draws its power while the work runs; "
            "assumption)" if self.energy_model == "power_x_time" else
            "ops x published energy per op (power / peak; idle units gated; assumption)"))
        out.append(("trains: " if self.trains else "inference only: ") + self.training_reason)
        out.extend(self.notes)
        return out

    def with_figure(self, label: str, value: float, why: str) -> PublishedAccelerator:
        """A copy with one figure replaced by an assumption (for sensitivity studies).

        ``label`` is a field name: ``utilisation``, ``power_w``, ``peak_ops_per_s``,
        ``area``, ``precision_passes`` or ``train_slowdown``.
        """
        old: Figure = getattr(self, label)
        return replace(self, **{label: Figure(value, old.unit, why, "assumption")})

    def describe(self) -> list[str]:
        """Every figure (published, derived and assumed) as one line each."""
        lines = [fig.describe(label) for label, fig in self.figures().items()]
        lines.append(f"peak power efficiency = {self.peak_gops_per_w:.4g} GOPS/W (derived)")
        lines.append(f"peak computational efficiency = {self.peak_gops_per_s_per_mm2:.4g} "
                     "GOPS/s/mm² (derived)")
        return lines


def unique(items: Iterable[str]) -> list[str]:
    """Items in first-seen order without repeats."""
    out: list[str] = []
    for item in items:
        if item not in out:
            out.append(item)
    return out
