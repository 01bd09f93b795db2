"""Cost engine: what BPLight-CNN spends to train and to infer, and the report type shared
with the baseline accelerators.

``estimate(workload, spec, mode, batch) -> CostReport`` costs one design point;
``sweep(workload, spec, mode, batch, params)`` evaluates the same model over arrays of
design parameters. Component models in :mod:`bplight.cost.components`, the chip's counts
in :mod:`bplight.cost.architecture`.
"""

from bplight.cost.architecture import Architecture
from bplight.cost.components import Components, build_components
from bplight.cost.design import architecture_for
from bplight.cost.engine import ENERGY_COMPONENTS, LATENCY_TERMS, components_for, estimate, peak
from bplight.cost.report import TRAIN_PHASES, CostReport, PhaseCost
from bplight.cost.vectorized import SweepResult, sweep

__all__ = [
    "ENERGY_COMPONENTS", "LATENCY_TERMS", "TRAIN_PHASES", "Architecture", "Components",
    "CostReport", "PhaseCost", "SweepResult", "architecture_for", "build_components",
    "components_for", "estimate", "peak", "sweep",
]
