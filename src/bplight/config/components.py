"""Cost parameters of the chip's components: energy per action, static power, area,
latency. Part of the one hardware description (``spec.components``); read by the cost
engine (:mod:`bplight.cost`).

SI units inside (J, W, s, m², Hz, bytes); quantity strings such as ``"450 fJ"`` or
``"0.083 mm2"`` are read when a file is loaded. Each field names its source key
(``docs/sources.md``: ISAAC, PipeLayer, LT, SimPhony, CrossLight, MNSIM,
NeuroSim ...) or says ``assumption``. Values are kept at their published operating point;
the scaling laws (bits, rate) live in :mod:`bplight.cost.components`:

* **ADC**: energy and area per conversion against bits from ISAAC's scaled table
  (hwcomponents-library ``isaac.py``: 4…10 b, 0.79…2.38 pJ, 361…3002 µm², normalised to
  its 8-bit point below; beyond the table a factor 2 per bit, Walden); against rate the
  Walden figure of merit E = FOM·2^ENOB is rate-independent up to ``adc_corner_rate_hz``
  and grows in proportion to the rate above it (time interleaving; Murmann survey's
  high-speed envelope; assumption for the exact corner).
* **DAC**: energy per conversion geometric in bits through the two SimPhony/LT points
  (8 b 3.6 pJ, 12 b 12.1 pJ at 14 GS/s); this law gives 0.43 pJ at 1 b, close to
  ISAAC's 1-bit DAC (0.417 pJ, hwcomponents ``isaac.py``). Rate as for the ADC.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from bplight.config.base import FrozenConfig

ISAAC_ADC_BITS = (4, 5, 6, 7, 8, 9, 10)
"""Resolutions of ISAAC's scaled ADC table (hwcomponents-library ``isaac.py``)."""
ISAAC_ADC_ENERGY_PJ = (0.79, 0.99, 1.20, 1.42, 1.67, 1.969078145, 2.379022742)
"""Energy per conversion (pJ) at 32 nm, 1.2 GS/s, for :data:`ISAAC_ADC_BITS`."""
ISAAC_ADC_AREA_UM2 = (361.04, 476.91, 626.91, 845.18, 1200.0, 1827.911647, 3002.008032)
"""Area (µm²) for :data:`ISAAC_ADC_BITS`."""


class ComponentsConfig(FrozenConfig):
    """Component cost parameters (defaults: the ``bplight-16b`` reference design)."""

    # ---- input modulators (one ring modulator + DAC per wavelength per core) ----
    modulator_energy_per_symbol_j: float = Field(
        42e-15, ge=0, description="Ring-modulator energy per symbol: LT mrr_modulator "
        "42 fJ/bit at 40 Gb/s, one symbol taken as one bit (assumption for dac_bits > 1, "
        "where the DAC dominates).")
    modulator_hold_power_w: float = Field(
        1.2e-3, ge=0, description="Thermal hold (trimming) power of a modulator ring: "
        "1.2 mW (LT mrr_modulator static_power).")
    modulator_area_m2: float = Field(
        9.66e-6 * 9.66e-6, ge=0, description="Modulator footprint 9.66 x 9.66 um (LT).")

    # ---- weight rings ----
    weight_ring_hold_power_w: float = Field(
        0.275e-3, ge=0, description="Thermal hold power of a weight (filter) ring: "
        "0.275 mW (LT mrr_router static_power; SimPhony).")
    weight_ring_area_m2: float = Field(
        4.8e-6 * 4.8e-6, ge=0, description="Weight-ring footprint 4.8 x 4.8 um (LT "
        "mrr_router).")
    ring_tuning_latency_s: float = Field(
        20e-9, gt=0, description="Time to set a ring's weight by electro-optic tuning: "
        "~20 ns (CrossLight). Paid per weight-tile load of a core.")
    ring_eo_tuning_w_per_m: float = Field(
        4e3, ge=0, description="Electro-optic tuning power per resonance shift: 4 uW/nm "
        "(CrossLight); held while the bank computes, at a mean detuning of one linewidth "
        "lambda/Q (assumption).")
    weight_ring_tuning: Literal["volatile", "nonvolatile"] = Field(
        "volatile", description="How a weight ring holds its setting: 'volatile' "
        "(electro-optic tuning held while the bank computes, on a thermally trimmed ring: "
        "weight_ring_hold_power_w and ring_eo_tuning_w_per_m, ring_tuning_latency_s per "
        "load; CrossLight, LT) or 'nonvolatile' (a phase-change cladding keeps the level "
        "without power: no hold power, each setting a write of nonvolatile_write_energy_j "
        "taking nonvolatile_write_latency_s, at most nonvolatile_levels_bits per ring, "
        "wearing out after nonvolatile_endurance_cycles writes; as in the authors' "
        "group's non-volatile designs and Wei et al., Adv. Photonics 5, 046004 (2023)).")
    nonvolatile_write_energy_j: float = Field(
        10e-12, ge=0, description="Electrical energy of one non-volatile ring write: "
        "sub-10 pJ switching of a phase-change electro-optic memristor (He et al., Nano "
        "Lett. 24, 16325 (2024)); 10 pJ per level written (assumption: one pulse, the "
        "verify reads not charged). Charged on top of the tuning DAC conversion.")
    nonvolatile_write_latency_s: float = Field(
        1e-6, gt=0, description="Time to write one level of a non-volatile ring, "
        "paid per weight-tile load as ring_tuning_latency_s is (assumption: 1 us for a "
        "few crystallisation pulses with verify; single phase-change pulses take "
        "10-100s of ns).")
    nonvolatile_levels_bits: int = Field(
        5, ge=1, le=16, description="Bits one non-volatile ring stores: 5 (32 levels, "
        "Wei et al., Adv. Photonics 5, 046004 (2023)); ring_bits may not exceed it.")
    nonvolatile_endurance_cycles: float = Field(
        5e5, gt=0, description="Writes a non-volatile ring survives: ~5e5 (GSSe photonic "
        "RAM with an integrated heater, Light Sci. Appl. 12, 2023, Table 1; GST on doped "
        "silicon heaters: ~4e3). The estimate reports the batches to wear-out.")
    ring_dac_bits: int = Field(
        8, ge=1, le=16, description="Resolution of the DAC that sets a ring's tuning "
        "(assumption: finer than ring_bits because the Lorentzian detuning-to-weight map "
        "is non-linear).")

    # ---- photodetector + TIA (one balanced pair per bank) ----
    tia_power_w: float = Field(
        3e-3, ge=0, description="TIA power while the bank computes: 3 mW at 14 nm "
        "(SimPhony/LT; CrossLight gives 7.2 mW at 40 nm).")
    photodetector_area_m2: float = Field(
        40e-12, ge=0, description="One photodetector 4 x 10 um (LT); two per bank "
        "(balanced).")
    tia_area_m2: float = Field(50e-12, ge=0, description="TIA area 50 um2 (LT).")

    # ---- ADC (one per bank) ----
    adc_energy_8b_j: float = Field(
        1.666666667e-12, ge=0, description="ADC energy per conversion at 8 b: 1.67 pJ "
        "(ISAAC, 32 nm, 1.2 GS/s; hwcomponents isaac.py). Other resolutions follow "
        "ISAAC's scaled table (module docstring).")
    adc_area_8b_m2: float = Field(
        1200e-12, ge=0, description="ADC area at 8 b: 1200 um2 (ISAAC); other "
        "resolutions from ISAAC's scaled table.")
    adc_corner_rate_hz: float = Field(
        10e9, gt=0, description="Sample rate up to which energy per conversion is "
        "rate-independent (Walden FOM): 10 GS/s, where LT's 8-b ADC (1.48 pJ) still "
        "matches ISAAC's 1.67 pJ; above it energy and area grow with the rate "
        "(interleaving; assumption).")

    # ---- DAC (one per modulator) ----
    dac_energy_8b_j: float = Field(
        3.6e-12, ge=0, description="DAC energy per conversion at 8 b, 14 GS/s: 3.6 pJ "
        "(LT, SimPhony: 50 mW).")
    dac_energy_12b_j: float = Field(
        12.1e-12, ge=0, description="DAC energy per conversion at 12 b, 14 GS/s: "
        "12.1 pJ (SimPhony: 169 mW); with the 8-b point it fixes the geometric bits law.")
    dac_area_8b_m2: float = Field(
        11000e-12, ge=0, description="DAC area at 8 b: 11000 um2 (LT, SimPhony); "
        "linear in bits (segmented cells: assumption).")
    dac_corner_rate_hz: float = Field(
        14e9, gt=0, description="Rate of the published DAC points (14 GS/s, LT/SimPhony); "
        "energy per conversion constant below, proportional to rate above (assumption).")

    # ---- laser ----
    laser_area_m2: float = Field(
        0.0, ge=0, description="On-chip area of the laser/comb per core: 0, an off-chip "
        "comb source coupled in (assumption; LT's on-chip laser is 400 x 300 um).")

    # ---- memristor weight store ----
    memristor_array_rows: int = Field(128, ge=1, le=4096, description="Rows per array: "
                                      "128 (ISAAC, PipeLayer).")
    memristor_array_cols: int = Field(128, ge=1, le=4096, description="Columns per array: "
                                      "128 (ISAAC, PipeLayer).")
    memristor_arrays_per_tile: int = Field(
        1152, ge=1, le=10**7, description="Arrays per tile (assumption: sized so that the "
        "64-tile reference chip holds VGG-16's 138.4 M weights at 8 cells each: "
        "64 x 1152 x 16384 = 1.21 G cells). Weights that do not fit live in DRAM.")
    memristor_array_area_m2: float = Field(
        25e-12, ge=0, description="Area of one 128x128 array: 25 um2 (ISAAC: 8 arrays, "
        "0.0002 mm2).")
    memristor_periphery_area_m2: float = Field(
        361.04e-12, ge=0, description="Read/write periphery per array: one 4-b sensing "
        "ADC, 361 um2 (ISAAC's 4-b ADC; assumption that one per array suffices).")
    memristor_read_energy_j: float = Field(
        1.08e-12, ge=0, description="Energy to read one cell: 1.08 pJ (PipeLayer/NVSim, "
        "secondary; cf. V^2 G_on t = 0.25 V^2 x 100 uS x 29 ns = 0.73 pJ).")
    memristor_read_latency_s: float = Field(
        29.31e-9, gt=0, description="Read latency of one array row: 29.31 ns (PipeLayer).")
    memristor_write_energy_j: float = Field(
        3.91e-9 / 128, ge=0, description="Energy to program one cell: 30.5 pJ = PipeLayer's "
        "3.91 nJ per write taken as one 128-cell row (derived; cf. V^2 G_on t = 9 V^2 x "
        "100 uS x 10 ns = 9 pJ per pulse with MNSIM's cell).")
    memristor_write_latency_s: float = Field(
        50.88e-9, gt=0, description="Write latency of one array row: 50.88 ns (PipeLayer).")
    memristor_parallel_write_rows_per_tile: int = Field(
        8, ge=1, le=10**6, description="Array rows a tile programs at once (assumption: "
        "write drivers for 8 arrays; bounds write power to ~0.6 W per tile).")
    memristor_parallel_read_rows_per_tile: int = Field(
        64, ge=1, le=10**6, description="Array rows a tile reads at once to load rings "
        "(assumption).")

    # ---- eDRAM buffers ----
    word_bits: int = Field(
        16, ge=1, le=64, description="Bits of an activation/error/weight word moved "
        "through buffers and network: 16 (the paper's resolution).")
    edram_bytes_per_tile: float = Field(
        65536.0, gt=0, description="eDRAM buffer per tile: 64 KB (ISAAC).")
    edram_energy_per_bit_j: float = Field(
        20.45e-12 / 256, ge=0, description="eDRAM access energy: 20.45 pJ per 256-bit "
        "read or write (ISAAC; hwcomponents isaac.py).")
    edram_area_m2: float = Field(
        0.083e-6, ge=0, description="Area of one tile's 64 KB eDRAM: 0.083 mm2 (ISAAC).")
    edram_bandwidth_bytes_per_s: float = Field(
        256 / 8 * 1.2e9, gt=0, description="eDRAM bandwidth per tile: one 256-bit port "
        "at ISAAC's 1.2 GHz, 38.4 GB/s (assumption).")

    # ---- on-chip network ----
    router_energy_per_bit_j: float = Field(
        20.74e-12 / 256, ge=0, description="Router energy: 20.74 pJ per 256 bits (ISAAC; "
        "hwcomponents isaac.py).")
    router_area_m2: float = Field(
        0.151e-6, ge=0, description="Router area 0.151 mm2, shared by tiles_per_router "
        "tiles (ISAAC).")
    tiles_per_router: int = Field(4, ge=1, le=1024, description="Tiles sharing a router: "
                                  "4 (ISAAC).")
    router_bandwidth_bytes_per_s: float = Field(
        256 / 8 * 1.2e9, gt=0, description="Router bandwidth: equal to the eDRAM "
        "bandwidth of a tile (the assumption of hwcomponents isaac.py).")

    # ---- off-chip memory (weights or stashed activations that do not fit) ----
    dram_energy_per_bit_j: float = Field(
        62.4e-12 / 16, ge=0, description="DRAM access energy: 62.4 pJ per 16-bit word "
        "(LT datamovement).")
    dram_bandwidth_bytes_per_s: float = Field(
        256e9, gt=0, description="DRAM bandwidth: one HBM2 stack, 256 GB/s (assumption).")

    # ---- digital units ----
    shift_add_energy_j: float = Field(
        0.021e-12, ge=0, description="Shift-and-add of one ADC result into a 16-b "
        "accumulator: 0.021 pJ (ISAAC; hwcomponents isaac.py).")
    shift_add_area_m2: float = Field(
        60e-12, ge=0, description="One shift-and-add unit per bank: 60 um2 (ISAAC).")
    activation_energy_j: float = Field(
        0.05e-12, ge=0, description="Activation (ReLU compare / derivative mask) per "
        "element: a 16-b add, ~0.05 pJ (Horowitz ISSCC 2014, 45 nm: 8 b 0.03, 32 b "
        "0.1 pJ; interpolated: assumption).")
    pooling_energy_j: float = Field(
        0.05e-12, ge=0, description="Pooling per input element (a 16-b compare or add): "
        "0.05 pJ (Horowitz 45 nm, interpolated: assumption).")
    digital_mac_energy_j: float = Field(
        4.6e-12, ge=0, description="A float MAC for products run digitally (analog = "
        "false): FP32 mult 3.7 + add 0.9 pJ (Horowitz ISSCC 2014, 45 nm).")
    update_energy_per_weight_j: float = Field(
        1.5e-12, ge=0, description="SGD step w - eta*g per weight in 16-b arithmetic: "
        "FP16 mult 1.1 + add 0.4 pJ (Horowitz 45 nm).")
    digital_macs_per_tile: int = Field(
        16, ge=1, le=10**6, description="Digital MAC / element-wise lanes per tile "
        "(assumption).")
    digital_clock_hz: float = Field(
        1.2e9, gt=0, description="Clock of the digital units: 1.2 GHz (ISAAC).")
    digital_mac_area_m2: float = Field(
        5000e-12, ge=0, description="Area of one FP32 MAC lane: ~5000 um2 at 28-32 nm "
        "(assumption).")
    activation_pool_area_m2: float = Field(
        0.00084e-6, ge=0, description="Activation + pooling units per tile: 0.0006 + "
        "0.00024 mm2 (ISAAC Table I sigmoid and max-pool units).")
