"""The cost model over many design points at once (design-space sweeps).

:func:`sweep` takes a base :class:`~bplight.config.HardwareSpec` and arrays of values for
any of its fields (dotted names, as ``--set`` takes them: ``"photonics.
wavelengths_per_bank"``, ``"forward.adc_bits"``, ``"components.adc_energy_8b_j"`` ...)
plus ``"batch"``, and evaluates :func:`bplight.cost.engine.evaluate` — the same kernel
:func:`~bplight.cost.engine.estimate` runs — over all points with numpy.

What is recomputed here rather than called:

* the Mapping counts of each GEMM (:func:`mapping_counts`, the formulas of
  :func:`bplight.mapping.plan` and :class:`~bplight.mapping.Mapping` in numpy); the
  GEMM shapes themselves come from :meth:`Workload.gemms` for each distinct batch;
* ``HardwareSpec.memristor_cells_per_weight``.

``tests/test_cost.py`` checks both, and the end results, against ``estimate`` point by
point. The link budget is *not* recomputed: :func:`bplight.photonics.link_budget.
link_budget` runs once per distinct combination of the swept fields it can depend on
(each validated as a spec; a combination that fails validation or whose budget does not
close marks its points infeasible: NaN results, ``reason`` says why). Every distinct value
of every swept field is validated against the schema first (a ConfigError names it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np
from pydantic import ValidationError

from bplight.config.components import ComponentsConfig
from bplight.config.loader import ConfigError, validation_message
from bplight.config.spec import PHASES, HardwareSpec
from bplight.cost.architecture import Architecture
from bplight.cost.components import build_components
from bplight.cost.engine import ENERGY_COMPONENTS, GemmCounts, LayerArrays, evaluate
from bplight.workload import MODES, Workload

_PRODUCT_FIELDS = ("analog", "input_bits", "weight_bits", "dac_bits", "ring_bits",
                   "adc_bits", "signed_inputs")
_NOT_IN_LINK = {"batch", "architecture.tiles", "architecture.cores_per_tile",
                "architecture.pipeline_layers"}
"""Swept fields the per-core link budget cannot depend on (nor ``components.*``); every
other swept field is treated as a possible input of :func:`link_budget`."""
_NONE = -1.0  # stands for None in the float arrays of optional bit widths


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
                    energy_per_image_j=self.energy_per_image_j)
        cols.update({f"energy_{k}_j": v for k, v in self.energy_by_component_j.items()})
        return pd.DataFrame(cols)


def _get(data: dict[str, Any], key: str) -> Any:
    node: Any = data
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ConfigError(f"sweep: unknown field {key!r}; use a dotted field name of "
                              "the hardware schema (as for --set) or 'batch'")
        node = node[part]
    return node


def _nested(key: str, value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    node = out
    parts = key.split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = value
    return out


def _merge_into(dst: dict[str, Any], src: dict[str, Any]) -> None:
    for k, v in src.items():
        if isinstance(v, dict):
            _merge_into(dst.setdefault(k, {}), v)
        else:
            dst[k] = v


def _py(value: Any) -> Any:
    """A numpy scalar as the plain Python value pydantic expects."""
    return value.item() if isinstance(value, np.generic) else value


def _as_float(values: np.ndarray) -> np.ndarray:
    """Optional-bit arrays (None allowed) as floats with None → -1."""
    if values.dtype != object:
        return values.astype(float)
    uniq = {values.flat[0]: None} if values.strides == (0,) else dict.fromkeys(values.tolist())
    if len(uniq) == 1:  # a broadcast base value
        (v,) = uniq
        return np.full(values.shape, _NONE if v is None else float(v))
    return np.asarray([_NONE if v is None else float(v) for v in values], dtype=float)


def mapping_counts(m: np.ndarray, k: np.ndarray, n: np.ndarray, signed: np.ndarray,
                   fold: np.ndarray, prm: dict[str, np.ndarray], chunk: np.ndarray
                   ) -> dict[str, np.ndarray]:
    """:func:`bplight.mapping.plan` + the Mapping's counts, in numpy. ``prm`` holds the
    product settings of each GEMM's phase (``analog`` already false in fp32 mode;
    ``input_bits``/``weight_bits``/``adc_bits`` −1 for None; ``offset`` bool)."""
    analog = prm["analog"]
    k_chunks = np.ceil(k / chunk)
    in_none = prm["input_bits"] < 0
    offset = signed & prm["offset"] & ~in_none
    in_mag = np.where(offset, prm["input_bits"], prm["input_bits"] - 1.0)
    input_slices = np.where(in_none, 1.0, np.ceil(in_mag / prm["dac_bits"]))
    weight_slices = np.where(prm["weight_bits"] < 0, 1.0,
                             np.ceil((prm["weight_bits"] - 1.0) / prm["ring_bits"]))
    sign_passes = np.where(signed & ~offset, 2.0, 1.0)
    full_scale = chunk * (np.exp2(prm["dac_bits"]) - 1.0) * (np.exp2(prm["ring_bits"]) - 1.0)
    needed = 1.0 + np.ceil(np.log2(full_scale + 1.0))
    stream = m * input_slices * sign_passes
    passes = np.where(analog, stream * n * weight_slices * k_chunks, 0.0)
    return {
        "analog": analog.astype(float), "k_chunks": k_chunks, "passes": passes,
        "dac_conversions": np.where(analog, m * k * input_slices * sign_passes, 0.0),
        "ring_settings": np.where(analog, n * k * weight_slices, 0.0),
        "shift_adds": np.where(analog, passes - m * n + fold, 0.0),
        "digital_macs": np.where(analog, 0.0, m * k * n),
        "weight_rows": n * weight_slices, "stream_length": stream,
        "adc_bits": np.where(prm["adc_bits"] < 0, needed, prm["adc_bits"]),
        "needed_adc_bits": needed,
    }


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

    # GEMM shapes for each distinct batch (from Workload.gemms), gathered per point
    ubatch, inv = np.unique(batch_arr, return_inverse=True)
    shapes = [[(g.m, g.k, g.n, g.input_signed, g.fold_adds, g.weight_static)
               for g in workload.gemms(mode, int(b))] for b in ubatch]
    gemm_shapes = np.asarray(shapes, dtype=float).transpose(1, 2, 0)  # [G, 6, batches]
    g0 = workload.gemms(mode, 1)
    phase_idx = np.asarray([PHASES.index(g.phase) for g in g0], dtype=int)
    index = {lay.name: i for i, lay in enumerate(workload.layers)}
    layer_idx = np.asarray([index[g.layer] for g in g0], dtype=int)
    lay = LayerArrays.from_workload(workload)
    ops = workload.digital_ops
    op_el = np.asarray([op.elements for op in ops], dtype=float)[:, None]
    op_pool = np.asarray([op.kind == "pooling" for op in ops], dtype=bool)[:, None]

    parts = []
    for lo in range(0, n_pts, block):
        sel = slice(lo, min(lo + block, n_pts))
        sub = {k: v[sel] for k, v in pts.items()}
        r = _evaluate_block(sub, base, gemm_shapes[:, :, inv.reshape(-1)[sel]], phase_idx,
                            layer_idx, lay, op_el, op_pool, mode == "train", laser_w[sel])
        parts.append(r)

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
    )


def _evaluate_block(pts: dict[str, np.ndarray], base: dict[str, Any], sh: np.ndarray,
                    phase_idx: np.ndarray, layer_idx: np.ndarray, lay: LayerArrays,
                    op_el: np.ndarray, op_pool: np.ndarray, train: bool,
                    laser_w: np.ndarray):
    """The kernel over one block of points (``sh``: GEMM shapes [G, 6, P])."""
    n_pts = len(pts["batch"])

    def value(key: str) -> np.ndarray:
        """The swept array of ``key``, or its base value as a 0-d array."""
        if key in pts:
            return pts[key]
        v = _get(base, key)
        return np.asarray(v, dtype=object if v is None or isinstance(v, str) else None)

    # product settings per phase, [3, P]
    fp32 = value("mode") == "fp32"
    prm_phase: dict[str, np.ndarray] = {}
    for f in _PRODUCT_FIELDS:
        rows = [np.broadcast_to(value(f"{p}.{f}"), (n_pts,)) for p in PHASES]
        if f == "signed_inputs":
            prm_phase["offset"] = np.stack([r == "offset" for r in rows])
        elif f == "analog":
            prm_phase["analog"] = np.stack([r.astype(bool) & ~fp32 for r in rows])
        else:
            prm_phase[f] = np.stack([_as_float(r) for r in rows])
    chunk = value("photonics.wavelengths_per_bank").astype(float)

    prm_g = {k: v[phase_idx] for k, v in prm_phase.items()}
    mc = mapping_counts(sh[:, 0], sh[:, 1], sh[:, 2], sh[:, 3] > 0, sh[:, 4], prm_g, chunk)
    gc = GemmCounts(
        analog=mc["analog"], m=sh[:, 0], k=sh[:, 1], n=sh[:, 2], passes=mc["passes"],
        dac_conversions=mc["dac_conversions"], ring_settings=mc["ring_settings"],
        shift_adds=mc["shift_adds"], digital_macs=mc["digital_macs"],
        weight_rows=mc["weight_rows"], k_chunks=mc["k_chunks"],
        stream_length=mc["stream_length"], adc_bits=mc["adc_bits"],
        dac_bits=prm_g["dac_bits"], weight_static=sh[:, 5], phase=phase_idx,
        layer=layer_idx)

    # chip and components
    needed = 1.0 + np.ceil(np.log2(chunk * (np.exp2(prm_phase["dac_bits"]) - 1.0)
                                   * (np.exp2(prm_phase["ring_bits"]) - 1.0) + 1.0))
    adc_chip = np.max(np.where(prm_phase["adc_bits"] < 0, needed, prm_phase["adc_bits"]),
                      axis=0)
    arch = Architecture(
        tiles=value("architecture.tiles").astype(float),
        cores_per_tile=value("architecture.cores_per_tile").astype(float),
        banks_per_core=value("architecture.banks_per_core").astype(float),
        wavelengths=chunk, rate_hz=value("photonics.modulation_rate_hz").astype(float),
        adc_bits=adc_chip, dac_bits=np.max(prm_phase["dac_bits"], axis=0),
        pipeline_layers=value("architecture.pipeline_layers").astype(bool))
    comp_values = SimpleNamespace(**{
        name: value(f"components.{name}").astype(float)
        for name in ComponentsConfig.model_fields})
    detuning = (value("photonics.center_wavelength_m").astype(float)
                / value("photonics.ring_q").astype(float))
    comps = build_components(comp_values, laser_w, detuning)
    cells = 2.0 * np.ceil((value("update.weight_bits").astype(float) - 1.0)
                          / value("memristor.cell_bits").astype(float))
    return evaluate(gc, lay, op_el, op_pool, pts["batch"].astype(float), train, arch, comps,
                    cells)


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
            _merge_into(changes.setdefault(block, {}), _nested(rest, v))
        else:
            top[block] = v
    update: dict[str, Any] = dict(top)
    for block, change in changes.items():
        cfg = base[block]
        data = cfg.model_dump()
        _merge_into(data, change)
        update[block] = type(cfg).model_validate(data)
    return spec.model_copy(update=update)


def _deep_copy(d: dict[str, Any]) -> dict[str, Any]:
    return {k: _deep_copy(v) if isinstance(v, dict) else v for k, v in d.items()}
