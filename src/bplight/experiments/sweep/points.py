"""What one point computes: cost (vectorised, many designs at once) and accuracy (a short
training run through the chip model, or the FP32 model trained identically).

:func:`train_point` is the task function the executors run in a worker process; it calls
only :mod:`bplight.experiments.train`'s public API (:class:`TrainConfig`,
:func:`run_training`).
"""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Any

import numpy as np

from bplight.experiments.sweep.spec import COST_METRICS, MODES, CostWorkload

SPEEDUP_BASELINES = ("gtx1080", "pipelayer", "isaac")

TRAIN_FN = "bplight.experiments.sweep.points:train_point"


def train_point(payload: dict[str, Any]) -> dict[str, Any]:
    """Train one model as ``payload`` says; returns its test accuracy and what it cost.

    ``payload``: model, dataset, subset, epochs, batch_size, lr, width, seed, hardware
    (preset or YAML file), overrides (``--set`` strings), run_dir, data_root. A run
    directory left by an interrupted attempt is resumed from its last finished epoch."""
    from bplight.experiments.train import TrainConfig, TrainingDiverged, run_training

    cfg = TrainConfig(model=payload["model"], dataset=payload["dataset"],
                      hardware=payload["hardware"], overrides=tuple(payload["overrides"]),
                      epochs=int(payload["epochs"]), batch_size=int(payload["batch_size"]),
                      lr=float(payload["lr"]), seed=int(payload["seed"]),
                      subset=payload["subset"], width=float(payload.get("width", 1.0)),
                      data_root=payload.get("data_root"), device=payload.get("device", "cpu"),
                      baseline=False)
    run_dir = Path(payload["run_dir"])
    resume = (run_dir / "args.json").exists()
    t0 = time.perf_counter()
    try:
        summary = run_training(cfg, run_dir, resume=resume, progress=False)
    except TrainingDiverged as exc:  # an outcome of the design, not a crash
        return {"accuracy": None, "reason": f"training diverged: {exc}"}
    out = {"accuracy": summary["test_accuracy"], "train_wall_s": time.perf_counter() - t0}
    mem = summary.get("memristor")
    if isinstance(mem, dict) and "changed_cell_fraction" in mem:
        out["measured_changed_cell_fraction"] = mem["changed_cell_fraction"]
    return out


def cost_points(resolved: Any, designs: list[dict[str, Any]], workload: CostWorkload
                ) -> list[tuple[dict[str, Any], bool, str]]:
    """(objectives, feasible, reason) of every design on ``workload``, both modes, from
    the vectorised engine (:func:`bplight.cost.vectorized.sweep`).

    All designs go through the engine at once. The engine checks each swept value against
    the base description; where a value is valid only together with other swept values
    (e.g. more wavelengths with a wider FSR), it refuses the block, and the designs are
    then checked one by one: those the schema rejects are infeasible with its reason,
    the others are costed one at a time from their own resolved description."""
    from bplight.errors import ConfigError

    try:
        return _cost_block(resolved.base, designs, resolved.paths, workload)
    except ConfigError:
        pass
    out = []
    for d in designs:
        try:
            spec = resolved.point_spec(d)
        except ConfigError as exc:
            out.append(({}, False, str(exc)))
            continue
        out.extend(_cost_block(spec, [{}], [], workload))
    return out


@functools.lru_cache(maxsize=8)
def _workload(model: str, input_shape: str | None) -> Any:
    """The built-in workload (building VGG-16 takes seconds: once per process)."""
    from bplight.experiments.common import build_workload

    return build_workload(model, input_shape)


def _cost_block(base: Any, designs: list[dict[str, Any]], paths: list[str],
                workload: CostWorkload) -> list[tuple[dict[str, Any], bool, str]]:
    from bplight.cost.vectorized import sweep

    wl = _workload(workload.model, workload.input)
    params = {}
    for p in paths:
        vals = [d[p] for d in designs]
        arr = np.array(vals)  # None or a string among them: object, not 'U' (no casting)
        params[p] = arr if arr.dtype.kind in "biuf" else np.array(vals, dtype=object)
    n = len(designs)
    cols: dict[str, np.ndarray] = {}
    feasible = np.ones(n, dtype=bool)
    reason = np.full(n, "", dtype=object)
    for mode in MODES:
        r = sweep(wl, base, mode, np.full(n, workload.batch), params)
        feasible &= r.feasible
        reason = np.where(reason == "", r.reason, reason)
        cols[f"{mode}_latency_s"] = r.latency_s
        cols[f"{mode}_energy_j"] = r.energy_j
        cols[f"{mode}_energy_per_image_j"] = r.energy_per_image_j
        cols[f"{mode}_gops"] = r.gops
        cols[f"{mode}_gops_per_w"] = r.gops_per_w
        cols[f"{mode}_gops_per_s_per_mm2"] = r.gops_per_s_per_mm2
        cols["area_mm2"] = r.area_mm2
        for name, lat in _baseline_latencies(workload.model, workload.input, mode,
                                             workload.batch).items():
            cols[f"{mode}_speedup_vs_{name}"] = (np.full(n, np.nan) if lat is None
                                                  else lat / r.latency_s)
        for k, v in r.energy_by_component_j.items():
            cols[f"{mode}_energy_{k}_j"] = v / r.batch
    assert {f"train_{m}" for m in COST_METRICS} <= set(cols)
    names = list(cols)  # columns to Python floats once, then one dict per design
    rows = zip(*[np.asarray(cols[k], dtype=float).tolist() for k in names], strict=True)
    return [(dict(zip(names, vals, strict=True)), ok, str(why))
            for vals, ok, why in zip(rows, feasible.tolist(), reason.tolist(), strict=True)]


@functools.lru_cache(maxsize=32)
def _baseline_latencies(model: str, input_shape: str | None, mode: str, batch: int
                        ) -> dict[str, float | None]:
    """Each speed-up baseline's latency on the same GEMMs (None: it cannot run ``mode``)."""
    from bplight.baselines import TrainingNotSupported, get_baseline

    wl = _workload(model, input_shape)
    out: dict[str, float | None] = {}
    for name in SPEEDUP_BASELINES:
        try:
            out[name] = get_baseline(name).estimate(wl, mode, batch).latency_s
        except TrainingNotSupported:
            out[name] = None
    return out
