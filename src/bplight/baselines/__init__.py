"""Baseline accelerators behind the same interface as the photonic design.

``BASELINES[name].estimate(workload, mode, batch)`` returns the same
:class:`~bplight.cost.report.CostReport` as :func:`bplight.cost.engine.estimate`, for the
same workload op counts; an inference-only design raises :class:`TrainingNotSupported`
when asked for training. Every figure carries its source (see docs/baselines.md).
"""

from bplight.baselines.base import (
    MODES,
    TARGET_BITS,
    Baseline,
    Figure,
    PublishedAccelerator,
    TrainingNotSupported,
    workload_phase_macs,
)
from bplight.baselines.registry import (
    BASELINES,
    TRAINING_BASELINES,
    baseline_names,
    get_baseline,
)

__all__ = [
    "BASELINES", "MODES", "TARGET_BITS", "TRAINING_BASELINES", "Baseline", "Figure",
    "PublishedAccelerator", "TrainingNotSupported", "baseline_names", "get_baseline",
    "workload_phase_macs",
]
