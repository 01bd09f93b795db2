"""What a cost estimate returns: the same fields for the photonic design and for every
baseline accelerator, so that comparisons are field by field.

Conventions (ISAAC / PipeLayer): one MAC = 2 operations; GOPS = operations / latency /
1e9; power efficiency GOPS/W = operations / energy / 1e9; computational efficiency
GOPS/s/mm² = GOPS / area. Training processes ``batch`` images through forward, error
backpropagation, weight gradient and weight update; inference runs the forward pass.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

TRAIN_PHASES = ("forward", "error", "weight_grad", "update")
"""Phases of a training step as reported (the three products plus the memristor writes)."""


@dataclass(frozen=True)
class PhaseCost:
    """Cost of one phase of one layer (or of the whole network when ``layer == "total"``)."""

    layer: str
    phase: str
    macs: int
    latency_s: float
    energy_j: float
    energy_by_component_j: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class CostReport:
    """Cost of running ``workload`` on ``design`` for ``mode`` ("train" or "infer").

    ``latency_s`` is the time to process the batch (pipelined where the design
    pipelines); ``energy_j`` its energy. Per-image figures divide by ``batch``.
    """

    design: str
    workload: str
    input_shape: tuple[int, ...]
    mode: str
    batch: int
    macs: int
    latency_s: float
    energy_j: float
    area_mm2: float
    energy_by_component_j: dict[str, float] = field(default_factory=dict)
    area_by_component_mm2: dict[str, float] = field(default_factory=dict)
    phases: list[PhaseCost] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    # Added by the photonic cost engine (empty for designs that do not model them):
    latency_breakdown_s: dict[str, float] = field(default_factory=dict)
    """Terms of ``latency_s``: compute schedule, memory/network bounds, update."""
    static_power_by_component_w: dict[str, float] = field(default_factory=dict)
    """Power drawn whenever the chip runs (lasers, ring thermal hold)."""
    counts: dict[str, float] = field(default_factory=dict)
    """Action counts of the whole run (ADC conversions, ring settings, cell writes ...)."""
    schedule: str = ""
    """How layers share the chip: "pipelined" or "sequential" ("" when not modelled)."""
    bound: str = ""
    """The resource that bounds ``latency_s`` (a key of
    :data:`bplight.cost.engine.BOUNDS`: "analog_passes", "edram", "update" ...; "" when
    not modelled)."""

    @property
    def ops(self) -> float:
        return 2.0 * self.macs

    @property
    def power_w(self) -> float:
        return self.energy_j / self.latency_s if self.latency_s > 0 else 0.0

    @property
    def gops(self) -> float:
        return self.ops / self.latency_s / 1e9 if self.latency_s > 0 else 0.0

    @property
    def gops_per_w(self) -> float:
        return self.ops / self.energy_j / 1e9 if self.energy_j > 0 else 0.0

    @property
    def gops_per_s_per_mm2(self) -> float:
        return self.gops / self.area_mm2 if self.area_mm2 > 0 else 0.0

    @property
    def energy_per_image_j(self) -> float:
        return self.energy_j / self.batch

    @property
    def latency_per_image_s(self) -> float:
        return self.latency_s / self.batch

    def summary(self) -> dict[str, Any]:
        """The headline numbers as a flat, JSON-ready dict."""
        return {
            "design": self.design, "workload": self.workload,
            "input_shape": list(self.input_shape), "mode": self.mode, "batch": self.batch,
            "macs": self.macs, "ops": self.ops, "latency_s": self.latency_s,
            "energy_j": self.energy_j, "power_w": self.power_w, "area_mm2": self.area_mm2,
            "gops": self.gops, "gops_per_w": self.gops_per_w,
            "gops_per_s_per_mm2": self.gops_per_s_per_mm2,
            "energy_per_image_j": self.energy_per_image_j,
            "latency_per_image_s": self.latency_per_image_s,
        }

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-ready: the summary plus breakdowns, assumptions and sources."""
        out = self.summary()
        out["energy_by_component_j"] = dict(self.energy_by_component_j)
        out["area_by_component_mm2"] = dict(self.area_by_component_mm2)
        out["phases"] = [asdict(p) for p in self.phases]
        out["assumptions"] = list(self.assumptions)
        out["sources"] = list(self.sources)
        out["latency_breakdown_s"] = dict(self.latency_breakdown_s)
        out["static_power_by_component_w"] = dict(self.static_power_by_component_w)
        out["counts"] = dict(self.counts)
        out["schedule"] = self.schedule
        out["bound"] = self.bound
        return out

    def phase_totals(self) -> dict[str, dict[str, float]]:
        """Energy (J), MACs and busy time (s) summed over layers, by phase."""
        out: dict[str, dict[str, float]] = {}
        for p in self.phases:
            row = out.setdefault(p.phase, {"macs": 0, "energy_j": 0.0, "latency_s": 0.0})
            row["macs"] += p.macs
            row["energy_j"] += p.energy_j
            row["latency_s"] += p.latency_s
        return out

    def phase_frame(self):  # -> pandas.DataFrame
        """Per-layer, per-phase rows as a pandas DataFrame."""
        import pandas as pd

        rows = []
        for p in self.phases:
            row = {"layer": p.layer, "phase": p.phase, "macs": p.macs,
                   "latency_s": p.latency_s, "energy_j": p.energy_j}
            row.update({f"energy_{k}_j": v for k, v in p.energy_by_component_j.items()})
            rows.append(row)
        return pd.DataFrame(rows)
