"""The chip as the cost engine sees it: chip → tiles → photonic cores → weight banks.

Counts come from ``spec.architecture`` and ``spec.photonics`` (``C`` =
``wavelengths_per_bank``):

* a **core** has one comb laser feed, C ring modulators each driven by a DAC (the input
  vector of one K-chunk, modulated once and split to all the core's banks — the split the
  link budget charges 10·log10(banks_per_core) for), and ``banks_per_core`` banks;
* a **bank** has C weight rings (one weight slice each), one balanced photodetector pair
  with its TIA, one ADC and one shift-and-add unit;
* a **tile** has ``cores_per_tile`` cores, an eDRAM buffer, memristor arrays storing the
  weights, and digital lanes (activation, pooling, float MACs for digital products,
  weight-update arithmetic); ``tiles_per_router`` tiles share one router (ISAAC).

The ADCs are sized for the finest resolution any product reads (``adc_bits``, or for an
ideal readout the bits an exact read needs), the DACs for the widest ``dac_bits``.
Every formula broadcasts over numpy arrays (vectorised sweeps).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bplight.cost.components import ArrayLike, Components

AREA_COMPONENTS = ("weight_rings", "modulators", "dacs", "detectors", "adcs", "shift_add",
                   "memristor", "edram", "digital", "router", "laser")
"""Keys of :meth:`Architecture.area_by_component_m2`, in display order."""

STATIC_COMPONENTS = ("laser", "ring_thermal")
"""Components drawing power whenever the chip runs (keys of the static-power dict)."""


@dataclass(frozen=True)
class Architecture:
    """Unit counts and rates of one design point (scalars or broadcastable arrays)."""

    tiles: ArrayLike
    cores_per_tile: ArrayLike
    banks_per_core: ArrayLike
    wavelengths: ArrayLike
    rate_hz: ArrayLike
    adc_bits: ArrayLike
    dac_bits: ArrayLike
    pipeline_layers: ArrayLike

    @property
    def cores(self) -> ArrayLike:
        return self.tiles * self.cores_per_tile

    @property
    def banks(self) -> ArrayLike:
        return self.cores * self.banks_per_core

    @property
    def weight_rings(self) -> ArrayLike:
        return self.banks * self.wavelengths

    @property
    def modulators(self) -> ArrayLike:
        """Ring modulators = input DACs: C per core."""
        return self.cores * self.wavelengths

    @property
    def peak_passes_per_s(self) -> ArrayLike:
        """Analog passes (bank reads) per second with every bank busy."""
        return self.banks * self.rate_hz

    def peak_macs_per_s(self, passes_per_chunk: ArrayLike) -> ArrayLike:
        """Full-resolution MACs per second with every bank busy: each pass sums C
        slice products, and ``passes_per_chunk`` passes make one full product."""
        return self.peak_passes_per_s * self.wavelengths / passes_per_chunk

    def routers(self, comps: Components) -> ArrayLike:
        return np.ceil(self.tiles / comps.tiles_per_router)

    def memristor_arrays(self, comps: Components) -> ArrayLike:
        return self.tiles * comps.memristor_arrays_per_tile

    def memristor_capacity_cells(self, comps: Components) -> ArrayLike:
        return self.memristor_arrays(comps) * comps.memristor.cells

    def edram_capacity_bits(self, comps: Components) -> ArrayLike:
        return self.tiles * comps.edram.capacity_bytes * 8.0

    def area_by_component_m2(self, comps: Components) -> dict[str, ArrayLike]:
        """Chip area (m²) by component, keys :data:`AREA_COMPONENTS`."""
        d = comps.digital
        return {
            "weight_rings": self.weight_rings * comps.weight_ring.area_m2,
            "modulators": self.modulators * comps.modulator.area_m2,
            "dacs": self.modulators * comps.dac.area_m2(self.dac_bits, self.rate_hz),
            "detectors": self.banks * comps.detector.area_m2,
            "adcs": self.banks * comps.adc.area_m2(self.adc_bits, self.rate_hz),
            "shift_add": self.banks * d.shift_add_area_m2,
            "memristor": self.memristor_arrays(comps) * comps.memristor.area_m2,
            "edram": self.tiles * comps.edram.area_m2,
            "digital": self.tiles * d.tile_area_m2,
            "router": self.routers(comps) * comps.router.area_m2,
            "laser": self.cores * comps.laser.area_m2,
        }

    def static_power_by_component_w(self, comps: Components) -> dict[str, ArrayLike]:
        """Power drawn whenever the chip runs (W): the lasers (link budget) and the
        thermal hold of every modulator and weight ring. Keys :data:`STATIC_COMPONENTS`."""
        return {
            "laser": self.cores * comps.laser.static_power_w,
            "ring_thermal": (self.modulators * comps.modulator.static_power_w
                             + self.weight_rings * comps.weight_ring.static_power_w),
        }
