"""The cost model over many design points at once (design-space sweeps).

:func:`sweep` takes a base :class:`~bplight.config.HardwareSpec` and arrays of values for
any of its fields (dotted names, as ``--set`` takes them: ``"photonics.
wavelengths_per_bank"``, ``"forward.adc_bits"``, ``"components.adc_energy_8b_j"`` ...)
plus ``"batch"``, and evaluates :func:`bplight.cost.engine.evaluate` — the same kernel
:func:`~bplight.cost.engine.estimate` runs — over all points with numpy.

The Mapping of every GEMM comes from :func:`bplight.mapping.plan_arrays` (the formulas
:func:`bplight.mapping.plan` runs for one GEMM), through the same
:func:`bplight.cost.engine.evaluate_design` that ``estimate`` calls; the GEMM shapes come
from :meth:`Workload.gemms` for each distinct batch. ``tests/test_cost.py`` checks the
results against ``estimate`` point by point.

The link budget is *not* recomputed: :func:`bplight.photonics.link_budget.link_budget`
runs once per distinct combination of the swept fields it can depend on (each validated
as a spec; a combination that fails validation or whose budget does not close marks its
points infeasible: NaN results, ``reason`` says why). Every distinct value of every swept
field is validated against the schema first (a ConfigError names it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import ValidationError

from bplight.config.dotted import get_path, merge_into, nested
from bplight.config.loader import ConfigError, validation_message
from bplight.config.spec import HardwareSpec
from bplight.cost.design import GemmTable
from bplight.cost.engine import (
    ENERGY_COMPONENTS,
    DigitalOps,
    KernelResult,
    LayerArrays,
    evaluate_design,
)
from bplight.workload import MODES, Workload

_NOT_IN_LINK = {"batch", "architecture.tiles", "architecture.cores_per_tile",
                "architecture.pipeline_layers"}
"""Swept fields the per-core link budget cannot depend on (nor ``components.*``); every
other swept field is treated as a possible input of :func:`link_budget`."""


@dataclass
class SweepResult:
    """Results over P design points (arrays [P]; NaN where infeasible)."""

    points: dict[str, np.ndarray]
    batch: np.ndarray
    macs: np.ndarray
    latency_s: np.ndarray
    energy_j: np.ndarray
    area_mm2: np.ndarray
    feasible: np.ndarray
    reason: np.ndarray  # object array of str ("" where feasible)
    energy_by_component_j: dict[str, np.ndarray] = field(default_factory=dict)
    area_by_component_mm2: dict[str, np.ndarray] = field(default_factory=dict)
    latency_breakdown_s: dict[str, np.ndarray] = field(default_factory=dict)
    bound: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))
    """The resource bounding each point's latency (keys of
    :data:`bplight.cost.engine.BOUNDS`; "" where infeasible)."""

    def __len__(self) -> int:
        return len(self.latency_s)

    @property
    def ops(self) -> np.ndarray:
        return 2.0 * self.macs

    @property
    def power_w(self) -> np.ndarray:
        return self.energy_j / self.latency_s

    @property
    def gops(self) -> np.ndarray:
        return self.ops / self.latency_s / 1e9

    @property
    def gops_per_w(self) -> np.ndarray:
        return self.ops / self.energy_j / 1e9

    @property
    def gops_per_s_per_mm2(self) -> np.ndarray:
        return self.gops / self.area_mm2

    @property
    def energy_per_image_j(self) -> np.ndarray:
        return self.energy_j / self.batch

    def to_frame(self):  # -> pandas.DataFrame
        """One row per design point: the swept values, the headline numbers and the
        energy breakdown."""
        import pandas as pd

        cols: dict[str, Any] = {k: v for k, v in self.points.items()}
        cols.update(batch=self.batch, feasible=self.feasible, reason=self.reason,
                    latency_s=self.latency_s, energy_j=self.energy_j, power_w=self.power_w,
                    area_mm2=self.area_mm2, gops=self.gops, gops_per_w=self.gops_per_w,
                    gops_per_s_per_mm2=self.gops_per_s_per_mm2,
                    energy_per_image_j=self.energy_per_image_j, bound=self.bound)
        cols.update({f"energy_{k}_j": v for k, v in self.energy_by_component_j.items()})
        return pd.DataFrame(cols)


def _get(data: dict[str, Any], key: str) -> Any:
    try:
        return get_path(data, key)
    except KeyError:
        raise ConfigError(f"sweep: unknown field {key!r}; use a dotted field name of the "
                          "hardware schema (as for --set) or 'batch'") from None


def _py(value: Any) -> Any:
    """A numpy scalar as the plain Python value pydantic expects."""
    return value.item() if isinstance(value, np.generic) else value


def sweep(workload: Workload, spec: HardwareSpec, mode: str = "train", batch: Any = 1,
          params: dict[str, Any] | None = None, block: int = 4096) -> SweepResult:
    """Evaluate the cost model at every point of ``params`` (arrays broadcast together;
    ``"batch"`` may be among them, else ``batch``), ``block`` points at a time."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    raw = dict(params or {})
    raw.setdefault("batch", batch)
    keys = list(raw)
    arrays = np.broadcast_arrays(*[np.asarray(raw[k]) for k in keys])
    pts = {k: np.array(a).reshape(-1) for k, a in zip(keys, arrays, strict=True)}
    n_pts = len(pts["batch"])
    if n_pts == 0:
        raise ConfigError("sweep: no design points (the parameter arrays are empty)")
    base = spec.model_dump()
    _validate_values(spec, base, pts)
    batch_arr = pts["batch"].astype(np.int64)
    laser_w, feasible, reason = _link_budgets(spec, pts, n_pts)

    # GEMM shapes for each distinct batch (from Workload.gemms), one column per point;
    # listing them once per distinct batch, not per point, saves ~0.4 ms per point (VGG-16)
    ubatch, inv = np.unique(batch_arr, return_inverse=True)
    per_batch = [workload.gemms(mode, int(b)) for b in ubatch]
    layer_names = [lay.name for lay in workload.layers]
    lay = LayerArrays.from_workload(workload)
    ops = DigitalOps.from_workload(workload)
    inv = inv.reshape(-1)

    parts = []
    for lo in range(0, n_pts, block):  # blocks bound the [GEMMs, points] arrays' memory
        sel = slice(lo, min(lo + block, n_pts))
        sub = {k: v[sel] for k, v in pts.items()}
        table = GemmTable.from_gemms(per_batch, layer_names, inv[sel])
        parts.append(_evaluate_block(sub, base, table, lay, ops, mode == "train",
                                     laser_w[sel]))

    bad = ~feasible

    def joined(get) -> np.ndarray:
        out = np.concatenate([np.broadcast_to(get(r), (len(r.latency),)) for r in parts])
        out = out.astype(float)
        out[bad] = np.nan
        return out

    return SweepResult(
        points={k: v for k, v in pts.items() if k != "batch"}, batch=batch_arr,
        macs=batch_arr.astype(float) * workload.macs_for(mode),
        latency_s=joined(lambda r: r.latency), energy_j=joined(lambda r: r.energy),
        area_mm2=joined(lambda r: r.area_total * 1e6), feasible=feasible, reason=reason,
        energy_by_component_j={k: joined(lambda r, k=k: r.energy_by_component[k])
                               for k in ENERGY_COMPONENTS},
        area_by_component_mm2={k: joined(lambda r, k=k: r.area[k] * 1e6)
                               for k in parts[0].area},
        latency_breakdown_s={k: joined(lambda r, k=k: r.latency_terms[k])
                             for k in parts[0].latency_terms},
        bound=np.where(bad, "", np.concatenate(
            [np.broadcast_to(r.bound, (len(r.latency),)) for r in parts])).astype(object),
    )


def _evaluate_block(pts: dict[str, np.ndarray], base: dict[str, Any], table: GemmTable,
                    lay: LayerArrays, ops: DigitalOps, train: bool, laser_w: np.ndarray
                    ) -> KernelResult:
    """The kernel over one block of points (``table``: GEMM shapes [G, P])."""

    def value(key: str) -> np.ndarray:
        """The swept array of ``key``, or its base value as a 0-d array."""
        if key in pts:
            return pts[key]
        v = _get(base, key)
        return np.asarray(v, dtype=object if v is None or isinstance(v, str) else None)

    return evaluate_design(value, table, lay, ops, pts["batch"].astype(float), train,
                           laser_w)


def _validate_values(spec: HardwareSpec, base: dict[str, Any], pts: dict[str, np.ndarray]
                     ) -> None:
    """Every swept value must pass the schema on its own: the extremes of a numeric
    array (the schema's constraints are ranges; integer fields must get integers), every
    distinct value of any other. Raises ConfigError naming the field."""
    for key, vals in pts.items():
        if key == "batch":
            v = vals.astype(float)
            if np.any(v < 1) or np.any(np.mod(v, 1) != 0):
                raise ConfigError("sweep: batch values must be integers >= 1")
            continue
        current = _get(base, key)
        if vals.dtype.kind in "iuf" and not isinstance(current, bool):
            if isinstance(current, int) and np.any(np.mod(vals, 1) != 0):
                raise ConfigError(f"sweep: {key} takes integers")
            cast = int if isinstance(current, int) else float
            candidates = [cast(vals.min()), cast(vals.max())]
        else:
            candidates = [_py(v) for v in dict.fromkeys(vals.tolist())]
        blocks = {key.split(".")[0]: getattr(spec, key.split(".")[0])}
        for v in candidates:
            try:
                _point_spec(spec, blocks, {key: v})
            except ValidationError as exc:
                raise ConfigError(validation_message(exc, f"sweep ({key})")) from None


def _link_budgets(spec: HardwareSpec, pts: dict[str, np.ndarray], n_pts: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Laser electrical power per core, feasibility and reason, per point: one
    :func:`link_budget` per distinct combination of the swept fields it may read."""
    from bplight.photonics.link_budget import link_budget

    keys = [k for k in pts if k not in _NOT_IN_LINK and not k.startswith("components.")]
    laser = np.empty(n_pts)
    feasible = np.ones(n_pts, dtype=bool)
    reason = np.full(n_pts, "", dtype=object)
    if keys:
        combos = np.stack([pts[k].astype(str) for k in keys], axis=1)
        _, first, inv = np.unique(combos, axis=0, return_index=True, return_inverse=True)
        inv = inv.reshape(-1)
    else:
        first, inv = np.zeros(1, dtype=int), np.zeros(n_pts, dtype=int)
    blocks = sorted({k.split(".")[0] for k in keys})
    base = {b: getattr(spec, b) for b in blocks}
    for u, i in enumerate(first):
        sel = inv == u
        try:
            point = _point_spec(spec, base, {k: _py(pts[k][i]) for k in keys})
        except ValidationError as exc:
            laser[sel], feasible[sel] = math.nan, False
            reason[sel] = validation_message(exc, "sweep point")
            continue
        lb = link_budget(point)
        laser[sel], feasible[sel], reason[sel] = lb.laser_electrical_power_w, lb.feasible, (
            lb.reason)
    return laser, feasible, reason


def _point_spec(spec: HardwareSpec, base: dict[str, Any], values: dict[str, Any]
                ) -> HardwareSpec:
    """``spec`` with dotted fields set; each changed block is validated as a whole (its
    cross-field checks run), the top level is copied (it has no cross-block checks)."""
    changes: dict[str, dict[str, Any]] = {}
    top: dict[str, Any] = {}
    for key, v in values.items():
        block, _, rest = key.partition(".")
        if rest:
            merge_into(changes.setdefault(block, {}), nested(rest, v))
        else:
            top[block] = v
    update: dict[str, Any] = dict(top)
    for block, change in changes.items():
        cfg = base[block]
        data = cfg.model_dump()
        merge_into(data, change)
        update[block] = type(cfg).model_validate(data)
    return spec.model_copy(update=update)
