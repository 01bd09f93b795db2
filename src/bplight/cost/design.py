"""A hardware description as the cost model's arrays: the one reading of a spec that
:func:`bplight.cost.estimate` (one design point) and :func:`bplight.cost.sweep` (many)
share.

Both pass a *value getter*: ``value("forward.adc_bits")`` returns the field as a numpy
array (0-d for one design point, [P] for swept fields). From it come

* the product settings of each phase as :func:`bplight.mapping.plan_arrays` takes them
  (:func:`product_settings`, [3, P]) and the Mapping of every GEMM (:func:`plan_gemms`);
* the chip's unit counts (:func:`architecture_from`), the component models
  (:func:`components_from`), the memristor cells per weight and the fraction of them a
  weight update writes (:func:`write_fraction_from`) and the mixed-precision
  accumulator (:func:`accumulator_from`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np

from bplight.config.components import ComponentsConfig
from bplight.config.dotted import get_path
from bplight.config.spec import PHASES, HardwareSpec
from bplight.cost.architecture import Architecture
from bplight.cost.components import Components, build_components
from bplight.mapping import GemmShape, Mapping, cells_per_weight, plan_arrays
from bplight.photonics.tuning import ring_tuning_from

Value = Callable[[str], np.ndarray]
"""``value(dotted_field) -> numpy array`` (0-d or [P])."""

_BITS = ("input_bits", "weight_bits", "adc_bits")  # None allowed: 0 in the arrays
_PRODUCT = ("dac_bits", "ring_bits", "adc_range")


def spec_values(spec: HardwareSpec) -> Value:
    """The value getter of one design point."""
    data = spec.model_dump()

    def value(key: str) -> np.ndarray:
        v = get_path(data, key)
        return np.asarray(v, dtype=object if v is None or isinstance(v, str) else None)

    return value


def optional_bits(values: np.ndarray) -> np.ndarray:
    """Bit widths that may be ``None`` as numbers, ``None`` → 0 (:func:`plan_arrays`)."""
    values = np.asarray(values)
    if values.dtype != object:
        return values
    return np.asarray([0 if v is None else v for v in values.reshape(-1)]).reshape(
        values.shape)


def product_settings(value: Value) -> dict[str, np.ndarray]:
    """Keyword arguments of :func:`plan_arrays` for each phase, arrays [3, P] (or [3, 1]
    for a field not swept) in the order of :data:`PHASES`; ``analog`` is false in fp32
    mode."""
    fp32 = value("mode") == "fp32"

    def rows(field: str) -> list[np.ndarray]:
        return [np.asarray(value(f"{p}.{field}")) for p in PHASES]

    def stack(arrays: Sequence[np.ndarray]) -> np.ndarray:
        return np.stack(np.broadcast_arrays(*arrays)).reshape(len(PHASES), -1)

    out = {f: stack([optional_bits(r) for r in rows(f)]) for f in _BITS}
    out.update({f: stack(rows(f)) for f in _PRODUCT})
    out["analog"] = stack([r.astype(bool) & ~fp32 for r in rows("analog")])
    out["offset_inputs"] = stack([r == "offset" for r in rows("signed_inputs")])
    out["analog_sum"] = stack([r == "analog" for r in rows("slice_sum")])
    return out


@dataclass(frozen=True)
class GemmTable:
    """The GEMMs of a workload as arrays: shapes [G, X] (X = 1, or one column per design
    point when the batch varies), ``phase`` and ``layer`` [G] (indices into
    :data:`PHASES` and the workload's layers)."""

    m: np.ndarray
    k: np.ndarray
    n: np.ndarray
    groups: np.ndarray
    fold_adds: np.ndarray
    input_signed: np.ndarray
    weight_static: np.ndarray
    phase: np.ndarray
    layer: np.ndarray

    @classmethod
    def from_gemms(cls, per_batch: Sequence[Sequence[GemmShape]], layer_names: Sequence[str],
                   columns: np.ndarray | None = None) -> GemmTable:
        """``per_batch``: the same GEMM list at one or more batches; ``columns`` picks
        the list of each design point (default: one column per list)."""
        fields = ("m", "k", "n", "groups", "fold_adds", "input_signed", "weight_static")
        table = np.asarray([[[getattr(g, f) for f in fields] for g in gemms]
                            for gemms in per_batch], dtype=np.int64)  # [batches, G, F]
        if columns is not None:
            table = table[columns]
        table = table.transpose(2, 1, 0)  # [F, G, X]
        index = {name: i for i, name in enumerate(layer_names)}
        first = per_batch[0]
        return cls(*table[:5], table[5] > 0, table[6] > 0,
                   phase=np.asarray([PHASES.index(g.phase) for g in first], dtype=int),
                   layer=np.asarray([index[g.layer] for g in first], dtype=int))


def plan_gemms(table: GemmTable, settings: dict[str, np.ndarray], chunk: np.ndarray
               ) -> Mapping:
    """The Mapping of every GEMM at every design point (arrays [G, P])."""
    prm = {k: v[table.phase] for k, v in settings.items()}  # [G, P] or [G, 1]
    return plan_arrays(table.m, table.k, table.n, groups=table.groups,
                       input_signed=table.input_signed, fold_adds=table.fold_adds,
                       chunk=chunk, **prm)


def architecture_from(value: Value, settings: dict[str, np.ndarray]) -> Architecture:
    """Unit counts and rates; the ADCs are sized for the finest read of any phase, the
    DACs for the widest ``dac_bits``."""
    chunk = value("photonics.wavelengths_per_bank")
    reads = plan_arrays(1, 1, 1, chunk=chunk, **settings).adc_read_bits  # [3, P]
    return Architecture(
        tiles=value("architecture.tiles"), cores_per_tile=value("architecture.cores_per_tile"),
        banks_per_core=value("architecture.banks_per_core"), wavelengths=chunk,
        rate_hz=value("photonics.modulation_rate_hz"), adc_bits=np.max(reads, axis=0),
        dac_bits=np.max(settings["dac_bits"], axis=0),
        pipeline_layers=value("architecture.pipeline_layers").astype(bool))


def architecture_for(spec: HardwareSpec) -> Architecture:
    """The :class:`Architecture` of ``spec``."""
    value = spec_values(spec)
    return architecture_from(value, product_settings(value))


def components_from(value: Value, laser_electrical_power_w: Any,
                    ring_digits: np.ndarray | None = None) -> Components:
    """Component models; the laser power per core comes from the link budget. Non-volatile
    weight rings (``components.weight_ring_tuning``) hold without power (no thermal or
    electro-optic hold) and take ``nonvolatile_write_latency_s`` per load; their write
    energy is :func:`ring_write_energy_from`. ``ring_digits``: the slice-digit
    distribution the add-drop rings' tuning is averaged over (default: the stated one;
    :func:`bplight.photonics.tuning.ring_tuning_from`)."""
    comp = SimpleNamespace(**{name: value(f"components.{name}")
                              for name in ComponentsConfig.model_fields})
    nv = nonvolatile_rings_from(value)
    # ring states (photonics.ring_model): hold power, mean EO shift, load latency
    hold, detuning, latency = ring_tuning_from(value, ring_digits)
    comp.weight_ring_hold_power_w = np.where(nv, 0.0, hold)
    comp.ring_eo_tuning_w_per_m = np.where(nv, 0.0, comp.ring_eo_tuning_w_per_m)
    comp.ring_tuning_latency_s = np.where(nv, comp.nonvolatile_write_latency_s, latency)
    return build_components(comp, laser_electrical_power_w, detuning)


def nonvolatile_rings_from(value: Value) -> np.ndarray:
    """Whether the weight rings are non-volatile (``components.weight_ring_tuning``)."""
    return np.asarray(value("components.weight_ring_tuning")) == "nonvolatile"


def ring_write_energy_from(value: Value) -> np.ndarray:
    """Energy per ring setting beyond its tuning-DAC conversion: the non-volatile write
    (``components.nonvolatile_write_energy_j``), 0 for volatile rings."""
    return np.where(nonvolatile_rings_from(value),
                    value("components.nonvolatile_write_energy_j"), 0.0)


def slice_adder_from(value: Value, settings: dict[str, np.ndarray]
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The analog shift-and-add adder (:mod:`bplight.photonics.slice_sum`, from
    ``spec.slice_adder``): energy per pass sampled into it (C·V²), its area per bank
    (2·C / density; 0 unless some product has ``slice_sum: analog``) and the ADCs per
    bank: one per bank, or where every analog product sums its slices in the analog
    domain one per ``weight_slices`` banks (the banks whose slices one adder sums share
    its ADC; the product with the fewest weight slices sets the count)."""
    from bplight.photonics.slice_sum import adder_area_m2, adder_energy_j

    cap = value("slice_adder.capacitance_f")
    analog = settings["analog"]
    used = np.any(settings["analog_sum"] & analog, axis=0)
    energy = adder_energy_j(cap, value("slice_adder.swing_v"))
    area = np.where(used, adder_area_m2(cap, value(
        "slice_adder.capacitor_density_f_per_m2")), 0.0)
    chunk = value("photonics.wavelengths_per_bank")
    slices = plan_arrays(1, 1, 1, chunk=chunk, **settings).weight_slices  # [3, P]
    shared = used & np.all(settings["analog_sum"] | ~analog, axis=0)
    fewest = np.min(np.where(analog, slices, np.iinfo(np.int64).max), axis=0)
    adcs_per_bank = np.where(shared, 1.0 / np.maximum(fewest, 1), 1.0)
    return energy, area, adcs_per_bank


def cells_per_weight_from(value: Value) -> np.ndarray:
    """Memristor cells per stored weight (:func:`bplight.mapping.cells_per_weight`)."""
    return cells_per_weight(value("update.weight_bits"), value("memristor.cell_bits"))


def calibration_from(value: Value) -> np.ndarray:
    """Fraction of each phase's ADC reads that feed a range-calibration histogram per
    batch, [3, P] in the order of :data:`PHASES`: 1 / ``adc_calibration_batches`` under
    ``adc_range_mode: calibrated`` (one calibration batch in that many), else 0."""
    rows = [np.where(np.asarray(value(f"{p}.adc_range_mode")) == "calibrated",
                     1.0 / np.asarray(value(f"{p}.adc_calibration_batches"), dtype=float), 0.0)
            for p in PHASES]
    return np.stack(np.broadcast_arrays(*rows)).reshape(len(PHASES), -1)


def range_select_from(value: Value) -> np.ndarray:
    """Range selections per ADC read, each phase, [3, P]: 1 under ``adc_range_mode:
    calibrated`` with ``adc_range_granularity: slice_pair`` (each read loads its
    (input slice, weight slice) pair's range into the bank ADC's reference register:
    one digital operation's energy, done by the bank beside its conversion, not by the
    tile's lanes; assumption), else 0."""
    rows = [np.where((np.asarray(value(f"{p}.adc_range_mode")) == "calibrated")
                     & (np.asarray(value(f"{p}.adc_range_granularity")) == "slice_pair"),
                     1.0, 0.0) for p in PHASES]
    return np.stack(np.broadcast_arrays(*rows)).reshape(len(PHASES), -1)


def write_fraction_from(value: Value, measured: float | None = None) -> np.ndarray:
    """Fraction of the memristor cells one weight update writes (``update.write_policy``):
    1 for ``'all'`` (1 / ``update.transfer_every`` under mixed-precision updates, which
    write only on transfer batches); for ``'changed'`` the ``measured`` fraction of a
    training run when given, else ``update.changed_cell_fraction``."""
    changed = value("update.changed_cell_fraction") if measured is None else measured
    every = np.where(_mixed(value), 1.0 / np.asarray(value("update.transfer_every"),
                                                     dtype=float), 1.0)
    return np.where(value("update.write_policy") == "all", every, changed)


def _mixed(value: Value) -> np.ndarray:
    return np.asarray(value("update.scheme")) == "mixed_precision"


@dataclass(frozen=True)
class Accumulator:
    """The mixed-precision chi buffer (``update.scheme``; arrays [P] or 0-d): ``bits`` per
    weight (0: no accumulator, scheme 'direct'), ``transfer_every`` batches between
    transfers, and whether it lives on chip (``in_edram``) or in DRAM."""

    bits: np.ndarray
    transfer_every: np.ndarray
    in_edram: np.ndarray


NO_ACCUMULATOR = Accumulator(np.asarray(0.0), np.asarray(1.0), np.asarray(False))


def accumulator_from(value: Value) -> Accumulator:
    """The :class:`Accumulator` of a design (``update.accumulator_bits``,
    ``transfer_every``, ``accumulator_memory`` under scheme 'mixed_precision')."""
    mixed = _mixed(value)
    return Accumulator(
        np.where(mixed, np.asarray(value("update.accumulator_bits"), dtype=float), 0.0),
        np.where(mixed, np.asarray(value("update.transfer_every"), dtype=float), 1.0),
        mixed & (np.asarray(value("update.accumulator_memory")) == "edram"))
