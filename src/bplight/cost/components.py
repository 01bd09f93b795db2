"""One small, pure model per hardware component (Accelergy/hwcomponents style).

Each class holds its parameters (read from ``spec.components``, see
:class:`bplight.config.components.ComponentsConfig`, where every number names its
source); area and static power are fixed at construction; each *action* returns its
energy (J) and latency (s). Nothing is counted inside: the engine multiplies action
costs by the Mapping's action counts. SI units throughout.

Every method also accepts numpy arrays (bits, rates, or array-valued parameters), so the
vectorised sweep (:mod:`bplight.cost.vectorized`) evaluates the very same formulas.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bplight.config.components import (
    ISAAC_ADC_AREA_UM2,
    ISAAC_ADC_BITS,
    ISAAC_ADC_ENERGY_PJ,
    ComponentsConfig,
)

ArrayLike = Any  # float or numpy array; every formula below broadcasts

_ADC_BITS = np.asarray(ISAAC_ADC_BITS, dtype=float)
_ADC_E_REL = np.asarray(ISAAC_ADC_ENERGY_PJ) / ISAAC_ADC_ENERGY_PJ[ISAAC_ADC_BITS.index(8)]
_ADC_A_REL = np.asarray(ISAAC_ADC_AREA_UM2) / ISAAC_ADC_AREA_UM2[ISAAC_ADC_BITS.index(8)]


@dataclass(frozen=True)
class Action:
    """Cost of one action: energy (J) and latency (s)."""

    energy_j: ArrayLike
    latency_s: ArrayLike


def isaac_relative(bits: ArrayLike, table: np.ndarray) -> ArrayLike:
    """ISAAC's ADC table (energy or area) relative to its 8-bit point, at ``bits``.

    Inside 4…10 b: linear interpolation of the table; below 4 b: the 4→5 b slope
    extended (positive down to 1 b); above 10 b: x2 per bit (Walden, E ∝ 2^ENOB).
    """
    b = np.asarray(bits, dtype=float)
    lo = table[0] + (b - _ADC_BITS[0]) * (table[1] - table[0])
    mid = np.interp(b, _ADC_BITS, table)
    hi = table[-1] * np.exp2(b - _ADC_BITS[-1])
    return np.where(b < _ADC_BITS[0], lo, np.where(b > _ADC_BITS[-1], hi, mid))


def rate_factor(rate_hz: ArrayLike, corner_hz: ArrayLike) -> ArrayLike:
    """Energy-per-conversion multiplier against rate: 1 up to the corner (Walden FOM
    constant), then proportional to rate (interleaving)."""
    return np.maximum(1.0, np.asarray(rate_hz, dtype=float) / corner_hz)


@dataclass(frozen=True)
class ADC:
    """Analog-to-digital converter reading one bank's balanced detector."""

    energy_8b_j: ArrayLike
    area_8b_m2: ArrayLike
    corner_rate_hz: ArrayLike

    def convert(self, bits: ArrayLike, rate_hz: ArrayLike) -> Action:
        """One conversion at ``bits`` resolution, sample rate ``rate_hz``."""
        e = self.energy_8b_j * isaac_relative(bits, _ADC_E_REL) * rate_factor(
            rate_hz, self.corner_rate_hz)
        return Action(e, 1.0 / np.asarray(rate_hz, dtype=float))

    def area_m2(self, bits: ArrayLike, rate_hz: ArrayLike) -> ArrayLike:
        return self.area_8b_m2 * isaac_relative(bits, _ADC_A_REL) * rate_factor(
            rate_hz, self.corner_rate_hz)


@dataclass(frozen=True)
class DAC:
    """Digital-to-analog converter driving a modulator (or a ring's tuning)."""

    energy_8b_j: ArrayLike
    energy_12b_j: ArrayLike
    area_8b_m2: ArrayLike
    corner_rate_hz: ArrayLike

    def convert(self, bits: ArrayLike, rate_hz: ArrayLike) -> Action:
        """One conversion: E8·(E12/E8)^((b−8)/4), times the rate factor."""
        b = np.asarray(bits, dtype=float)
        e = self.energy_8b_j * (self.energy_12b_j / self.energy_8b_j) ** ((b - 8.0) / 4.0)
        return Action(e * rate_factor(rate_hz, self.corner_rate_hz),
                      1.0 / np.asarray(rate_hz, dtype=float))

    def area_m2(self, bits: ArrayLike, rate_hz: ArrayLike) -> ArrayLike:
        return self.area_8b_m2 * np.asarray(bits, dtype=float) / 8.0 * rate_factor(
            rate_hz, self.corner_rate_hz)


@dataclass(frozen=True)
class RingModulator:
    """Input ring modulator (one per wavelength of a core)."""

    energy_per_symbol_j: ArrayLike
    hold_power_w: ArrayLike
    area_m2: ArrayLike

    def modulate(self, rate_hz: ArrayLike) -> Action:
        return Action(self.energy_per_symbol_j, 1.0 / np.asarray(rate_hz, dtype=float))

    @property
    def static_power_w(self) -> ArrayLike:
        return self.hold_power_w


@dataclass(frozen=True)
class WeightRing:
    """Weight ring of a bank: thermal hold (static), electro-optic setting (per load)."""

    hold_power_w: ArrayLike
    area_m2: ArrayLike
    tuning_latency_s: ArrayLike
    eo_tuning_w_per_m: ArrayLike
    mean_detuning_m: ArrayLike
    dac_bits: ArrayLike

    @property
    def static_power_w(self) -> ArrayLike:
        return self.hold_power_w

    @property
    def eo_hold_power_w(self) -> ArrayLike:
        """Electro-optic power holding a setting: 4 µW/nm × mean detuning."""
        return self.eo_tuning_w_per_m * self.mean_detuning_m

    def set(self, dac: DAC) -> Action:
        """Load one weight slice: one tuning-DAC conversion, ``tuning_latency_s``."""
        rate = 1.0 / np.asarray(self.tuning_latency_s, dtype=float)
        return Action(dac.convert(self.dac_bits, rate).energy_j, self.tuning_latency_s)

    def hold_per_pass(self, rings: ArrayLike, rate_hz: ArrayLike) -> Action:
        """EO hold energy of ``rings`` rings for one symbol period."""
        t = 1.0 / np.asarray(rate_hz, dtype=float)
        return Action(rings * self.eo_hold_power_w * t, t)


@dataclass(frozen=True)
class BalancedDetector:
    """Balanced photodetector pair + TIA of one bank; the TIA draws power per pass."""

    tia_power_w: ArrayLike
    photodetector_area_m2: ArrayLike
    tia_area_m2: ArrayLike

    def detect(self, rate_hz: ArrayLike) -> Action:
        t = 1.0 / np.asarray(rate_hz, dtype=float)
        return Action(self.tia_power_w * t, t)

    @property
    def area_m2(self) -> ArrayLike:
        return 2.0 * self.photodetector_area_m2 + self.tia_area_m2


@dataclass(frozen=True)
class Laser:
    """Comb/laser of one core; its electrical power comes from the link budget
    (:func:`bplight.photonics.link_budget.link_budget`), always on while the chip runs."""

    electrical_power_w: ArrayLike
    area_m2: ArrayLike

    @property
    def static_power_w(self) -> ArrayLike:
        return self.electrical_power_w


@dataclass(frozen=True)
class MemristorArray:
    """A rows × cols ReRAM array storing weights as cells."""

    rows: ArrayLike
    cols: ArrayLike
    area_cells_m2: ArrayLike
    periphery_area_m2: ArrayLike
    read_energy_j: ArrayLike
    read_latency_s: ArrayLike
    write_energy_j: ArrayLike
    write_latency_s: ArrayLike

    @property
    def cells(self) -> ArrayLike:
        return self.rows * self.cols

    @property
    def area_m2(self) -> ArrayLike:
        return self.area_cells_m2 + self.periphery_area_m2

    def read(self, cells: ArrayLike = 1) -> Action:
        """Read ``cells`` cells (energy); latency of one row read."""
        return Action(cells * self.read_energy_j, self.read_latency_s)

    def write(self, cells: ArrayLike = 1) -> Action:
        """Program ``cells`` cells (energy); latency of one row write."""
        return Action(cells * self.write_energy_j, self.write_latency_s)


@dataclass(frozen=True)
class Memory:
    """A buffer, router or DRAM channel: energy per bit moved, bandwidth, area."""

    energy_per_bit_j: ArrayLike
    bandwidth_bytes_per_s: ArrayLike
    area_m2: ArrayLike = 0.0
    capacity_bytes: ArrayLike = np.inf

    def access(self, bits: ArrayLike) -> Action:
        return Action(bits * self.energy_per_bit_j,
                      bits / 8.0 / self.bandwidth_bytes_per_s)


@dataclass(frozen=True)
class DigitalUnits:
    """Digital shift-and-add (one per bank) and the element-wise / MAC lanes of a tile."""

    shift_add_energy_j: ArrayLike
    shift_add_area_m2: ArrayLike
    activation_energy_j: ArrayLike
    pooling_energy_j: ArrayLike
    mac_energy_j: ArrayLike
    update_energy_per_weight_j: ArrayLike
    lanes_per_tile: ArrayLike
    clock_hz: ArrayLike
    lane_area_m2: ArrayLike
    activation_pool_area_m2: ArrayLike

    @property
    def ops_per_tile_per_s(self) -> ArrayLike:
        return self.lanes_per_tile * self.clock_hz

    @property
    def tile_area_m2(self) -> ArrayLike:
        """Lanes + activation/pooling units of one tile (shift-adders are per bank)."""
        return self.lanes_per_tile * self.lane_area_m2 + self.activation_pool_area_m2

    def shift_add(self) -> Action:
        return Action(self.shift_add_energy_j, 1.0 / self.clock_hz)

    def activation(self) -> Action:
        return Action(self.activation_energy_j, 1.0 / self.clock_hz)

    def pooling(self) -> Action:
        return Action(self.pooling_energy_j, 1.0 / self.clock_hz)

    def mac(self) -> Action:
        return Action(self.mac_energy_j, 1.0 / self.clock_hz)

    def update(self) -> Action:
        return Action(self.update_energy_per_weight_j, 1.0 / self.clock_hz)


@dataclass(frozen=True)
class Components:
    """Every component model of one design point."""

    adc: ADC
    dac: DAC
    modulator: RingModulator
    weight_ring: WeightRing
    detector: BalancedDetector
    laser: Laser
    memristor: MemristorArray
    edram: Memory
    router: Memory
    dram: Memory
    digital: DigitalUnits
    word_bits: ArrayLike
    tiles_per_router: ArrayLike
    memristor_arrays_per_tile: ArrayLike
    memristor_parallel_write_rows_per_tile: ArrayLike
    memristor_parallel_read_rows_per_tile: ArrayLike


def mean_detuning_m(center_wavelength_m: ArrayLike, ring_q: ArrayLike) -> ArrayLike:
    """Mean electro-optic detuning of a weight ring: one linewidth λ/Q (assumption)."""
    return np.divide(center_wavelength_m, ring_q)


def build_components(c: ComponentsConfig | Any, laser_electrical_power_w: ArrayLike,
                     mean_detuning_m: ArrayLike) -> Components:
    """Component models from a :class:`ComponentsConfig` (or any object with the same
    attributes, possibly array-valued), the link budget's laser power per core and the
    rings' mean detuning (one linewidth, λ/Q)."""
    return Components(
        adc=ADC(c.adc_energy_8b_j, c.adc_area_8b_m2, c.adc_corner_rate_hz),
        dac=DAC(c.dac_energy_8b_j, c.dac_energy_12b_j, c.dac_area_8b_m2,
                c.dac_corner_rate_hz),
        modulator=RingModulator(c.modulator_energy_per_symbol_j, c.modulator_hold_power_w,
                                c.modulator_area_m2),
        weight_ring=WeightRing(c.weight_ring_hold_power_w, c.weight_ring_area_m2,
                               c.ring_tuning_latency_s, c.ring_eo_tuning_w_per_m,
                               mean_detuning_m, c.ring_dac_bits),
        detector=BalancedDetector(c.tia_power_w, c.photodetector_area_m2, c.tia_area_m2),
        laser=Laser(laser_electrical_power_w, c.laser_area_m2),
        memristor=MemristorArray(
            c.memristor_array_rows, c.memristor_array_cols, c.memristor_array_area_m2,
            c.memristor_periphery_area_m2, c.memristor_read_energy_j,
            c.memristor_read_latency_s, c.memristor_write_energy_j,
            c.memristor_write_latency_s),
        edram=Memory(c.edram_energy_per_bit_j, c.edram_bandwidth_bytes_per_s,
                     c.edram_area_m2, c.edram_bytes_per_tile),
        router=Memory(c.router_energy_per_bit_j, c.router_bandwidth_bytes_per_s,
                      c.router_area_m2),
        dram=Memory(c.dram_energy_per_bit_j, c.dram_bandwidth_bytes_per_s),
        digital=DigitalUnits(
            c.shift_add_energy_j, c.shift_add_area_m2, c.activation_energy_j,
            c.pooling_energy_j, c.digital_mac_energy_j, c.update_energy_per_weight_j,
            c.digital_macs_per_tile, c.digital_clock_hz, c.digital_mac_area_m2,
            c.activation_pool_area_m2),
        word_bits=c.word_bits,
        tiles_per_router=c.tiles_per_router,
        memristor_arrays_per_tile=c.memristor_arrays_per_tile,
        memristor_parallel_write_rows_per_tile=c.memristor_parallel_write_rows_per_tile,
        memristor_parallel_read_rows_per_tile=c.memristor_parallel_read_rows_per_tile,
    )
