"""Cost engine: Mapping action counts × component costs → latency, energy, area.

:func:`estimate` plans every GEMM of the workload with :func:`bplight.mapping.plan_arrays`
(the formulas of :func:`bplight.mapping.plan`, the Mapping the numerical engine chunks and
slices by), turns the Mapping's counts into actions, prices them with the component models
(:mod:`bplight.cost.components`) and schedules them on the chip
(:mod:`bplight.cost.architecture`). :func:`evaluate` is the model itself, written once over
numpy arrays as a few pure steps (:func:`schedule`, :func:`capacities`,
:func:`gemm_energy`, :func:`weight_update`, :func:`digital_op_costs`,
:func:`latency_bounds`, :func:`static_attribution`); :func:`evaluate_design` reads a
design (:mod:`bplight.cost.design`) and runs it: ``estimate`` for one design point,
:func:`bplight.cost.vectorized.sweep` for thousands at once.

The model (``docs/cost-model.md`` has the derivations and the assumptions):

**Per GEMM** (counts from its Mapping; ``C`` wavelengths, ``f`` symbol rate):

* a core holds one K-chunk of ``banks_per_core`` weight rows at a time (a *weight
  tile*); a GEMM has ``T = k_chunks · ⌈weight_rows / banks_per_core⌉`` tiles, and each
  tile streams ``stream_length`` input symbols (weight-stationary: ``B`` is set once per
  batch — ``ring_settings`` — and every input row streams past it);
* energy: ADC conversions (one per pass; under ``slice_sum: analog`` one per output and
  K-chunk, plus C·V² per pass sampled into the analog adder, charged with the
  shift-and-add) and TIA per analog pass; DAC + modulator per input symbol per
  row tile (the core's banks share one modulated input); a ring setting (tuning DAC) per
  weight slice loaded, and the electro-optic hold of the C rings during each pass;
  shift-and-add per ``shift_adds``; memristor reads of the cells of every weight loaded
  (``weight_static``) or eDRAM reads of an operand re-set per product (weight gradient);
  eDRAM reads of ``A`` (once per row tile, shared by the ``cores_per_tile`` cores of a
  tile over its bus), writes of ``Y``, read-modify-write of partial
  sums across K-chunk tiles; NoC transfer of ``Y`` to the next stage; float MACs on the
  digital lanes for a product that is not analog;
* time on ``c`` cores: ``T·S / (c'·f) + t_load · max(T/c', 1)``, ``c' = min(c, T·m)``
  (with more cores than tiles, input rows are split over replicas of a tile, each loaded
  separately: ``replicas = max(1, c'/T)`` multiplies the ring settings).

**Schedule** (``architecture.pipeline_layers``):

* pipelined (ISAAC / PipeLayer): every GEMM is a stage owning a share of the cores
  proportional to its work (core-seconds; fractional shares are time-shared cores), so
  the stages are balanced and the slowest bounds the throughput. With per-image stage
  times ``u_s = t_s / B``: *inference* streams images continuously, a batch takes
  ``B · max u_s`` in steady state (ISAAC's throughput; the first result comes
  ``pipeline_fill`` later); *training* fills and drains the pipeline every batch for the
  weight update, a batch takes ``chain + (B − 1) · max u_s`` (PipeLayer's (2L+1) + B − 1
  cycles, generalised to unequal stages), the chain being the forward stages plus, per
  layer, the longer of its error and weight-gradient stages (they run side by side);
* sequential: each GEMM in turn on all cores, ``Σ t_s``.

**Bounds and update**: latency = max(schedule, eDRAM, NoC, DRAM, memristor-read and
digital-lane times) + the weight update; the largest of these (the schedule split into
streaming passes, ring loads and digital MACs) is reported as the design's ``bound``
(:data:`BOUNDS`) (training: ``update.write_policy`` 'all' writes
every cell of every weight once per batch, 'changed' the fraction of cells whose digit
changed — ``update.changed_cell_fraction``, or the fraction a training run measured —
``memristor_parallel_write_rows_per_tile`` rows per tile at a time). Weights
beyond the memristor capacity, and (training) activations stashed for the weight
gradient beyond the eDRAM capacity, go to DRAM.

**Static power** (lasers from the link budget, thermal hold of every ring) × latency is
added to the energy and shared among the rows in proportion to their core occupancy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bplight.config.spec import PHASES, HardwareSpec
from bplight.cost.architecture import AREA_COMPONENTS, Architecture
from bplight.cost.components import ArrayLike, Components
from bplight.cost.design import (
    NO_ACCUMULATOR,
    Accumulator,
    GemmTable,
    Value,
    accumulator_from,
    architecture_for,
    architecture_from,
    calibration_from,
    cells_per_weight_from,
    components_from,
    plan_gemms,
    product_settings,
    range_select_from,
    ring_write_energy_from,
    slice_adder_from,
    spec_values,
    write_fraction_from,
)
from bplight.cost.report import CostReport, PhaseCost
from bplight.mapping import GemmShape, Mapping, plan
from bplight.workload import MODES, Workload, layer_weights

ENERGY_COMPONENTS = ("laser", "ring_thermal", "modulator", "dac", "weight_ring", "detector",
                     "adc", "shift_add", "digital", "memristor_read", "memristor_write",
                     "edram", "noc", "dram")
"""Keys of the energy breakdowns, in display order (the first two are static power)."""

LATENCY_TERMS = ("compute", "edram", "noc", "dram", "memristor_read", "digital", "update",
                 "pipeline_fill")
"""Keys of ``CostReport.latency_breakdown_s``: latency = max(the first six) + update.
``pipeline_fill`` (information, already inside ``compute`` for training) is the time from
the first image entering the pipeline to its last stage: for inference, latency_s is the
steady-state time per batch and the first result comes ``pipeline_fill`` later."""

BOUNDS = {
    "analog_passes": "analog passes (ADC rate)",
    "ring_loads": "ring tuning (tile loads)",
    "digital_macs": "digital MACs",
    "edram": "eDRAM bandwidth",
    "noc": "network bandwidth",
    "dram": "DRAM bandwidth",
    "memristor_read": "memristor reads",
    "digital": "digital element-wise units",
    "update": "memristor weight update",
}
"""What can bound a design's latency (``CostReport.bound``), and the resource in words:
the largest of the six concurrent terms of :data:`LATENCY_TERMS` — the compute schedule
split into its parts: streaming the analog passes, loading the rings, digital MACs — or
the weight update when it takes longer than all of them (:func:`latency_bound`)."""

SOURCES = [
    "ISAAC (Shafiee et al., ISCA 2016; hwcomponents-library isaac.py): ADC table, 1-b DAC "
    "check, eDRAM, router, shift-and-add, memristor array area",
    "PipeLayer (Song et al., HPCA 2017, secondary): ReRAM read/write energy and latency, "
    "4-b cells",
    "LT (Lightening-Transformer default.yaml): ring modulator, filter ring, photodetector, "
    "TIA, DRAM energy",
    "SimPhony / LT: DAC 8 b and 12 b at 14 GS/s",
    "CrossLight (arXiv:2102.06960): electro-optic tuning 4 uW/nm, 20 ns; link budget eq. 7",
    "AQ (Al-Qadasi et al., APL Photonics 2022): detector noise of the link budget",
    "Horowitz, ISSCC 2014 (45 nm): digital add, multiply energies",
    "MNSIM 2.0 / NeuroSim: memristor cell conductances (cross-checks)",
]

ASSUMPTIONS = [
    "Each core broadcasts one modulated K-chunk of the input to its banks (the split the "
    "link budget charges); banks hold different weight rows (outputs x weight slices).",
    "Weight-stationary dataflow: a weight tile (one K-chunk of banks_per_core rows) stays "
    "on a core's rings while every input row of the batch streams past it; each tile "
    "load costs the electro-optic tuning latency (20 ns, CrossLight).",
    "Forward and error weights are read from the memristor cells once per batch and tile "
    "replica; the weight-gradient's weight operand (errors) comes from eDRAM.",
    "Pipelined schedule: stages get cores in proportion to their work (fractional shares "
    "are time-shared); inference is costed in steady state (B x slowest stage per image, "
    "ISAAC), training with the fill and drain of every batch (PipeLayer).",
    "Digital activation/pooling units, eDRAM, NoC, DRAM and memristor reads run "
    "concurrently with the photonic cores; they bound the latency only when slower.",
    "Training runs activation derivative and pooling backward on the digital units "
    "(one operation per element, as forward); biases are handled digitally (not costed).",
    "The weight update follows the pipeline drain and is not overlapped; the cells it "
    "writes follow update.write_policy.",
    "Lasers and ring thermal hold draw power for the whole run (no gating).",
    "eDRAM and router energies are per access (hwcomponents isaac.py: no leakage).",
]


# --------------------------------------------------------------------------------------
# Inputs of the kernel
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LayerArrays:
    """Per-layer data of the workload, [L, 1] float arrays (per image)."""

    weights: np.ndarray
    stash_elements: np.ndarray  # input elements of the layer, kept for weight_grad

    @classmethod
    def from_workload(cls, workload: Workload) -> LayerArrays:
        w = [layer_weights(lay) for lay in workload.layers]
        s = [lay.in_channels * lay.in_hw[0] * lay.in_hw[1] for lay in workload.layers]
        return cls(np.asarray(w, dtype=float)[:, None], np.asarray(s, dtype=float)[:, None])


@dataclass(frozen=True)
class DigitalOps:
    """Element-wise steps of the workload on the digital units, [D, 1] (per image)."""

    elements: np.ndarray
    is_pool: np.ndarray

    @classmethod
    def from_workload(cls, workload: Workload) -> DigitalOps:
        ops = workload.digital_ops
        return cls(np.asarray([op.elements for op in ops], dtype=float)[:, None],
                   np.asarray([op.kind == "pooling" for op in ops], dtype=bool)[:, None])


@dataclass(frozen=True)
class KernelResult:
    """Everything :func:`evaluate` computes; arrays over design points [P] (rows first)."""

    gemm_energy: dict[str, np.ndarray]  # dynamic, [G, P]
    gemm_time: np.ndarray  # [G, P] busy time of each stage on its cores
    gemm_cores: np.ndarray  # [G, P]
    update_energy: dict[str, np.ndarray]  # dynamic, [L, P]
    update_time: np.ndarray  # [L, P] share of the update time
    op_energy: np.ndarray  # [D, P] digital element-wise ops
    op_time: np.ndarray  # [D, P]
    static_energy: dict[str, np.ndarray]  # [P]
    gemm_static_share: np.ndarray  # [G, P] fractions of the static energy
    update_static_share: np.ndarray  # [L, P]
    static_power: dict[str, np.ndarray]  # [P]
    latency: np.ndarray  # [P]
    latency_terms: dict[str, np.ndarray]  # [P]
    bound: np.ndarray  # [P] object: the key of BOUNDS that bounds the latency
    area: dict[str, np.ndarray]  # m², [P]
    energy_by_component: dict[str, np.ndarray]  # J, [P], static included
    counts: dict[str, np.ndarray]  # [P]

    @property
    def energy(self) -> np.ndarray:
        return sum(self.energy_by_component.values())

    @property
    def area_total(self) -> np.ndarray:
        return sum(self.area.values())


def _sum0(x: np.ndarray) -> np.ndarray:
    return np.sum(x, axis=0)


def _f(x: ArrayLike) -> float:
    """The one value of a scalar or size-1 array."""
    return float(np.asarray(x).reshape(-1)[0])


# --------------------------------------------------------------------------------------
# The kernel, piece by piece (pure functions of arrays)
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Schedule:
    """Weight tiles, cores and busy time of every GEMM stage ([G, P]) and the compute
    time of the batch ([P])."""

    row_tiles: np.ndarray  # bank-row tiles of one group's K-chunk
    tiles: np.ndarray  # weight tiles of the GEMM (all groups, all K-chunks)
    cores: np.ndarray  # cores the stage owns (fractional: time-shared)
    time: np.ndarray  # busy time of the stage on its cores
    replicas: np.ndarray  # copies of each tile loaded (more cores than tiles)
    chain: np.ndarray  # pipeline fill + drain of one image
    slowest: np.ndarray  # slowest stage per image
    compute: np.ndarray  # [P]
    parts: dict[str, np.ndarray]  # [P]: shares of the stage time, by what it spends on


def stage_work(mp: Mapping, arch: Architecture, comps: Components
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row tiles, weight tiles and work (core-seconds) of every GEMM: an analog GEMM
    streams ``stream_length`` symbols past each tile and loads it once; a digital one
    runs its MACs on a core's share of the tile's digital lanes."""
    f = arch.rate_hz
    row_tiles = np.ceil(mp.weight_rows / arch.banks_per_core)
    tiles = mp.groups * mp.k_chunks * row_tiles  # groups never share a tile
    core_ops = comps.digital.ops_per_tile_per_s / arch.cores_per_tile
    t_load = comps.weight_ring.tuning_latency_s
    work = np.where(mp.analog, tiles * (mp.stream_length / f + t_load),
                    mp.digital_macs / core_ops)
    return row_tiles, tiles, work


def schedule(mp: Mapping, table: GemmTable, batch: np.ndarray, train: bool,
             arch: Architecture, comps: Components) -> Schedule:
    """Cores and time of every stage, and the batch's compute time (pipelined or
    sequential; module docstring)."""
    f = arch.rate_hz
    t_load = comps.weight_ring.tuning_latency_s
    a = mp.analog
    row_tiles, tiles, work = stage_work(mp, arch, comps)
    pipe = np.asarray(arch.pipeline_layers, dtype=bool)
    share = work / _sum0(work)
    cores = np.where(pipe, arch.cores * share, arch.cores * np.ones_like(share))
    c_eff = np.where(a, np.minimum(cores, tiles * mp.m), cores)
    streaming = np.where(a, tiles * mp.stream_length / (c_eff * f), 0.0)
    loading = np.where(a, t_load * np.maximum(tiles / c_eff, 1.0), 0.0)
    time = np.where(a, streaming + loading, work / cores)
    # what the stages' time is spent on (core-seconds), for the bound of the design
    occupied = _sum0(cores * time)
    parts = {"analog_passes": _sum0(cores * streaming) / occupied,
             "ring_loads": _sum0(cores * loading) / occupied,
             "digital_macs": _sum0(cores * np.where(a, 0.0, time)) / occupied}
    replicas = np.where(a, np.maximum(1.0, c_eff / tiles), 1.0)
    per_image = time / batch
    slowest = np.max(per_image, axis=0)
    if train:
        # fill/drain chain: forward stages, then per layer its error and weight-gradient
        # stages side by side (both consume the same output error)
        is_fwd = table.phase == PHASES.index("forward")
        back = np.zeros((int(table.layer.max()) + 1,) + per_image.shape[1:])
        np.maximum.at(back, table.layer[~is_fwd], per_image[~is_fwd])
        chain = _sum0(per_image[is_fwd]) + _sum0(back)
        pipelined = chain + (batch - 1.0) * slowest
    else:
        chain = _sum0(per_image)
        pipelined = batch * slowest  # images streamed continuously: steady state
    compute = np.where(pipe, pipelined, _sum0(time))
    return Schedule(row_tiles, tiles, cores, time, replicas, chain, slowest, compute, parts)


def capacities(lay: LayerArrays, cells_per_weight: ArrayLike, batch: np.ndarray,
               train: bool, arch: Architecture, comps: Components
               ) -> tuple[np.ndarray, np.ndarray]:
    """Fraction of the weights that do not fit the memristor arrays (kept in DRAM), and
    the stashed activation bits beyond the eDRAM (training)."""
    cells_needed = _sum0(lay.weights) * cells_per_weight
    in_dram = np.maximum(0.0, 1.0 - arch.memristor_capacity_cells(comps) / cells_needed)
    stash_bits = batch * _sum0(lay.stash_elements) * comps.word_bits if train else 0.0 * batch
    stash_over = np.maximum(0.0, stash_bits - arch.edram_capacity_bits(comps))
    return in_dram, stash_over


@dataclass(frozen=True)
class GemmTraffic:
    """Dynamic energy of every GEMM by component ([G, P]) and the memory traffic it
    causes (cell reads, eDRAM, NoC and DRAM bits, [G, P])."""

    energy: dict[str, np.ndarray]
    cell_reads: np.ndarray
    edram_bits: np.ndarray
    noc_bits: np.ndarray
    dram_bits: np.ndarray
    ring_sets: np.ndarray
    calibration_ops: np.ndarray
    """Digital histogram updates of calibrated ADC ranges ([G, P], per batch)."""
    range_selects: Any = 0.0
    """Per-pair ADC range selections ([G, P], per batch; energy only)."""


def gemm_energy(mp: Mapping, table: GemmTable, sch: Schedule, lay: LayerArrays,
                cells_per_weight: ArrayLike, in_dram: np.ndarray, stash_over: np.ndarray,
                arch: Architecture, comps: Components, calibration: ArrayLike = 0.0,
                ring_write_energy_j: ArrayLike = 0.0,
                slice_adder_energy_j: ArrayLike = 0.0,
                range_select: ArrayLike = 0.0) -> GemmTraffic:
    """Dynamic energy of the GEMMs (module docstring, "Per GEMM"). ``calibration``: the
    fraction of each GEMM's ADC reads that feed a calibration histogram per batch
    (``adc_range_mode: calibrated``: 1 / ``adc_calibration_batches``), each one digital
    element-wise operation; ``range_select``: range selections per ADC read (per-pair
    ranges, :func:`bplight.cost.design.range_select_from`), each a digital operation's
    energy in the bank (no lane time). ``ring_write_energy_j``: energy of each ring setting beyond
    its tuning-DAC conversion (a non-volatile write)."""
    f = arch.rate_hz
    word = comps.word_bits
    a = mp.analog
    static_b = table.weight_static
    e: dict[str, np.ndarray] = {}
    zeros = np.zeros(np.broadcast(mp.analog_passes, f).shape)
    symbols = mp.dac_conversions * sch.row_tiles  # each row tile modulates A again
    e["modulator"] = symbols * comps.modulator.modulate(f).energy_j
    e["dac"] = symbols * comps.dac.convert(mp.dac_bits, f).energy_j
    ring_sets = mp.ring_settings * sch.replicas
    e["weight_ring"] = (mp.analog_passes
                        * comps.weight_ring.hold_per_pass(arch.wavelengths, f).energy_j
                        + ring_sets * (comps.weight_ring.set(comps.dac).energy_j
                                       + ring_write_energy_j))
    e["detector"] = mp.analog_passes * comps.detector.detect(f).energy_j
    # one conversion per pass, or per K-chunk sum under slice_sum analog, whose passes
    # are sampled into the analog adder (C V^2 each, photonics/slice_sum.py)
    e["adc"] = mp.adc_reads * comps.adc.convert(mp.adc_read_bits, f).energy_j
    e["shift_add"] = (mp.shift_adds * comps.digital.shift_add().energy_j
                      + mp.analog_adds * np.asarray(slice_adder_energy_j) + zeros)
    calibration_ops = mp.adc_reads * np.asarray(calibration, dtype=float) + zeros
    range_selects = mp.adc_reads * np.asarray(range_select, dtype=float) + zeros
    e["digital"] = (mp.digital_macs * comps.digital.mac().energy_j
                    + (calibration_ops + range_selects) * comps.digital.activation().energy_j
                    + zeros)
    b_words = mp.groups * mp.n * mp.k * sch.replicas  # weight-operand elements loaded
    cell_reads = np.where(static_b, b_words * cells_per_weight * (1.0 - in_dram), 0.0)
    e["memristor_read"] = comps.memristor.read(cell_reads).energy_j
    e["memristor_write"] = zeros
    # A is read once per row tile, shared by the cores of a tile over its bus
    a_reads = np.where(a, sch.row_tiles / np.minimum(arch.cores_per_tile, sch.row_tiles),
                       1.0)
    outputs = mp.groups * mp.m * mp.n
    edram_words = (mp.groups * mp.m * mp.k * a_reads + outputs
                   + np.where(a, 2.0 * outputs * (mp.k_chunks - 1.0), 0.0)  # partial sums
                   + np.where(static_b, 0.0, b_words))
    edram_bits = edram_words * word
    e["edram"] = comps.edram.access(edram_bits).energy_j
    noc_bits = outputs * word
    e["noc"] = comps.router.access(noc_bits).energy_j
    stash_share = (lay.stash_elements / _sum0(lay.stash_elements))[table.layer]
    fwd_or_wg = np.isin(table.phase, (PHASES.index("forward"), PHASES.index("weight_grad")))
    dram_bits = (np.where(static_b, b_words * in_dram * word, 0.0)
                 + np.where(fwd_or_wg[:, None], stash_over * stash_share, 0.0))
    e["dram"] = comps.dram.access(dram_bits).energy_j
    return GemmTraffic(e, cell_reads, edram_bits, noc_bits, dram_bits, ring_sets,
                       calibration_ops, range_selects)


@dataclass(frozen=True)
class Update:
    """The weight update of a training batch: energy by component and cell writes per
    layer ([L, P]), its time ([P]) and each layer's share of it ([L, P])."""

    energy: dict[str, np.ndarray]
    weights: np.ndarray
    cell_writes: np.ndarray
    time: np.ndarray
    layer_time: np.ndarray
    edram_bits: np.ndarray  # [P] moved by the update (gradients; chi if on chip)
    dram_bits: np.ndarray  # [P] (weights beyond the arrays; chi if in DRAM)


def weight_update(lay: LayerArrays, cells_per_weight: ArrayLike, write_fraction: ArrayLike,
                  in_dram: np.ndarray, train: bool, arch: Architecture, comps: Components,
                  acc: Accumulator = NO_ACCUMULATOR) -> Update:
    """Digital update arithmetic and eDRAM traffic for every weight; memristor writes of
    ``write_fraction`` of the cells of the weights held in the arrays, the rest of the
    weights written to DRAM. The time is the slower of the cell writes
    (``memristor_parallel_write_rows_per_tile`` rows per tile at a time) and the lanes.

    Mixed-precision updates (``acc.bits`` > 0): every weight's chi word is read and
    written once per batch (2 × ``acc.bits``, in eDRAM or DRAM), and each transfer batch
    (1 in ``acc.transfer_every``) takes one more digital operation per weight (compare
    and subtract the steps moved)."""
    word = comps.word_bits
    wl = lay.weights * (1.0 if train else 0.0)
    zeros = np.zeros(np.broadcast(wl, arch.rate_hz, write_fraction).shape)
    cell_writes = wl * cells_per_weight * (1.0 - in_dram) * write_fraction
    chi_bits = wl * 2.0 * acc.bits  # read + write of chi, per weight per batch
    chi_edram = chi_bits * acc.in_edram
    chi_dram = chi_bits - chi_edram
    ops = wl + np.where(acc.bits > 0, wl / acc.transfer_every, 0.0)
    u = {"memristor_write": comps.memristor.write(cell_writes).energy_j + zeros,
         "digital": ops * comps.digital.update().energy_j + zeros,
         "edram": comps.edram.access(wl * word + chi_edram).energy_j + zeros,
         "dram": comps.dram.access(wl * in_dram * word + chi_dram).energy_j + zeros}
    lanes = arch.tiles * comps.digital.ops_per_tile_per_s
    write_rate = (arch.tiles * comps.memristor_parallel_write_rows_per_tile
                  * comps.memristor.cols / comps.memristor.write_latency_s)
    t_update = np.maximum(_sum0(cell_writes) / write_rate, _sum0(ops) / lanes)
    return Update(u, wl, cell_writes, t_update, t_update * lay.weights / _sum0(lay.weights),
                  edram_bits=_sum0(wl * word + chi_edram),
                  dram_bits=_sum0(wl * in_dram * word + chi_dram))


def accumulator_area_m2(acc: Accumulator, cells_per_weight: ArrayLike, arch: Architecture,
                        comps: Components) -> np.ndarray:
    """On-chip chi buffer (``update.accumulator_memory: edram``): ``acc.bits`` for every
    weight the memristor arrays hold, at the eDRAM's area per bit; 0 in DRAM."""
    per_bit = comps.edram.area_m2 / (comps.edram.capacity_bytes * 8.0)
    weights = arch.memristor_capacity_cells(comps) / cells_per_weight
    return np.where(acc.in_edram, weights * acc.bits * per_bit, 0.0)


def digital_op_costs(ops: DigitalOps, batch: np.ndarray, train: bool, arch: Architecture,
                     comps: Components) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Elements, energy and lane time of the element-wise steps ([D, P]); training runs
    each once forward and once backward."""
    elements = ops.elements * batch * (2.0 if train else 1.0)
    energy = elements * np.where(ops.is_pool, comps.digital.pooling().energy_j,
                                 comps.digital.activation().energy_j)
    time = elements / (arch.tiles * comps.digital.ops_per_tile_per_s)
    return elements, energy, time


def latency_bounds(sch: Schedule, traffic: GemmTraffic, upd: Update, op_time: np.ndarray,
                   in_dram: np.ndarray, arch: Architecture, comps: Components
                   ) -> dict[str, np.ndarray]:
    """The terms of :data:`LATENCY_TERMS` ([P], broadcast to one shape)."""
    total_edram = _sum0(traffic.edram_bits) + upd.edram_bits
    total_dram = _sum0(traffic.dram_bits) + upd.dram_bits
    read_rate = (arch.tiles * comps.memristor_parallel_read_rows_per_tile
                 * comps.memristor.cols / comps.memristor.read_latency_s)
    pipe = np.asarray(arch.pipeline_layers, dtype=bool)
    terms = {
        "compute": sch.compute,
        "edram": comps.edram.access(total_edram).latency_s / arch.tiles,
        "noc": comps.router.access(_sum0(traffic.noc_bits)).latency_s / arch.routers(comps),
        "dram": comps.dram.access(total_dram).latency_s,
        "memristor_read": _sum0(traffic.cell_reads) / read_rate,
        "digital": _sum0(op_time) + _sum0(traffic.calibration_ops) / (
            arch.tiles * comps.digital.ops_per_tile_per_s),
        "update": upd.time,
        "pipeline_fill": np.where(pipe, sch.chain - sch.slowest, 0.0),
    }
    shape = np.broadcast_shapes(*(np.shape(v) for v in terms.values()))
    return {k: np.broadcast_to(v, shape) for k, v in terms.items()}


def latency_of(terms: dict[str, np.ndarray]) -> np.ndarray:
    """Latency = max(compute, eDRAM, NoC, DRAM, memristor-read, digital) + update."""
    return np.maximum.reduce([terms[k] for k in LATENCY_TERMS[:6]]) + terms["update"]


def latency_bound(terms: dict[str, np.ndarray], compute_parts: dict[str, np.ndarray]
                  ) -> np.ndarray:
    """The key of :data:`BOUNDS` that bounds the latency, per design point (object array
    [P]): the update when it takes longer than the largest concurrent term, else that
    term; for the compute schedule, the part its stages spend most core-time on."""
    concurrent = LATENCY_TERMS[:6]
    stacked = np.stack(np.broadcast_arrays(*[terms[k] for k in concurrent]))
    top = np.asarray(concurrent, dtype=object)[np.argmax(stacked, axis=0)]
    names = list(compute_parts)
    share = np.stack(np.broadcast_arrays(*[compute_parts[k] for k in names]))
    compute_part = np.asarray(names, dtype=object)[np.argmax(share, axis=0)]
    top = np.where(top == "compute", np.broadcast_to(compute_part, top.shape), top)
    over = np.broadcast_to(terms["update"], top.shape) > np.max(stacked, axis=0)
    return np.where(over, "update", top).astype(object)


def static_attribution(sch: Schedule, upd: Update, latency: np.ndarray, arch: Architecture,
                       comps: Components
                       ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray,
                                  np.ndarray]:
    """Static power, static energy (power × latency) and the shares of it charged to
    every GEMM stage and layer update, in proportion to their core occupancy."""
    power = arch.static_power_by_component_w(comps)
    energy = {k: v * latency for k, v in power.items()}
    occ_g = sch.cores * sch.time
    occ_u = arch.cores * upd.layer_time
    occ_total = _sum0(occ_g) + _sum0(occ_u)
    return power, energy, occ_g / occ_total, occ_u / occ_total


def energy_by_component(static: dict[str, np.ndarray], gemm: dict[str, np.ndarray],
                        update: dict[str, np.ndarray], op_energy: np.ndarray,
                        latency: np.ndarray) -> dict[str, np.ndarray]:
    """Total energy ([P]) of each of :data:`ENERGY_COMPONENTS`: static + every GEMM + every
    layer's update (+ the element-wise ops, on the digital units)."""
    out: dict[str, np.ndarray] = {}
    for k in ENERGY_COMPONENTS:
        total = static.get(k, 0.0) + 0.0 * latency
        for rows in (gemm, update):
            if k in rows:
                total = total + _sum0(rows[k])
        out[k] = total + _sum0(op_energy) if k == "digital" else total
    return out


def evaluate(mp: Mapping, table: GemmTable, lay: LayerArrays, ops: DigitalOps,
             batch: ArrayLike, train: bool, arch: Architecture, comps: Components,
             cells_per_weight: ArrayLike, write_fraction: ArrayLike = 1.0,
             calibration: ArrayLike = 0.0, ring_write_energy_j: ArrayLike = 0.0,
             accumulator: Accumulator = NO_ACCUMULATOR,
             slice_adder: tuple[ArrayLike, ArrayLike, ArrayLike] = (0.0, 0.0, 1.0),
             range_select: ArrayLike = 0.0) -> KernelResult:
    """The cost model over design points (module docstring). ``mp``: the Mapping of every
    GEMM, arrays [G, P] or [G, 1]; layer and op fields [L, 1], [D, 1] per image; design
    parameters scalars or [P]; ``calibration`` [G, P] and ``ring_write_energy_j`` as
    :func:`gemm_energy` takes them; ``slice_adder``: the analog shift-and-add adder's
    energy per pass, area per bank (charged with the shift-and-add) and ADCs per bank
    (:func:`bplight.cost.design.slice_adder_from`); ``range_select`` [G, P] as
    :func:`gemm_energy` takes it."""
    B = np.asarray(batch, dtype=float)
    sch = schedule(mp, table, B, train, arch, comps)
    in_dram, stash_over = capacities(lay, cells_per_weight, B, train, arch, comps)
    traffic = gemm_energy(mp, table, sch, lay, cells_per_weight, in_dram, stash_over, arch,
                          comps, calibration, ring_write_energy_j, slice_adder[0],
                          range_select)
    upd = weight_update(lay, cells_per_weight, write_fraction, in_dram, train, arch, comps,
                        accumulator)
    op_elements, op_energy, op_time = digital_op_costs(ops, B, train, arch, comps)
    terms = latency_bounds(sch, traffic, upd, op_time, in_dram, arch, comps)
    latency = latency_of(terms)
    static_power, static_energy, g_share, u_share = static_attribution(sch, upd, latency,
                                                                       arch, comps)
    by_component = energy_by_component(static_energy, traffic.energy, upd.energy, op_energy,
                                       latency)
    area = arch.area_by_component_m2(comps)
    area["edram"] = area["edram"] + accumulator_area_m2(accumulator, cells_per_weight, arch,
                                                        comps)
    area["shift_add"] = area["shift_add"] + arch.banks * np.asarray(slice_adder[1])
    area["adcs"] = area["adcs"] * np.asarray(slice_adder[2])
    passes = _sum0(mp.analog_passes)
    counts = {
        "analog_passes": passes, "adc_conversions": _sum0(mp.adc_reads),
        "analog_sum_adds": _sum0(mp.analog_adds),
        "dac_conversions": _sum0(mp.dac_conversions * sch.row_tiles),
        "ring_settings": _sum0(traffic.ring_sets), "shift_adds": _sum0(mp.shift_adds),
        "ring_settings_per_ring": _sum0(traffic.ring_sets) / arch.weight_rings,
        "digital_macs": _sum0(mp.digital_macs),
        "digital_elementwise_ops": _sum0(op_elements),
        "adc_calibration_ops": _sum0(traffic.calibration_ops),
        "adc_range_selects": _sum0(traffic.range_selects + 0.0 * mp.adc_reads),
        "memristor_cell_reads": _sum0(traffic.cell_reads),
        "memristor_cell_writes": _sum0(upd.cell_writes),
        "memristor_write_fraction": np.asarray(write_fraction, dtype=float) + 0.0 * latency,
        "edram_bits": _sum0(traffic.edram_bits) + upd.edram_bits,
        "noc_bits": _sum0(traffic.noc_bits),
        "dram_bits": _sum0(traffic.dram_bits) + upd.dram_bits,
        "weight_tiles": _sum0(sch.tiles * sch.replicas),
        "weights_in_dram_fraction": in_dram, "stash_overflow_bits": stash_over,
    }
    return KernelResult(
        gemm_energy=traffic.energy, gemm_time=sch.time, gemm_cores=sch.cores,
        update_energy=upd.energy, update_time=upd.layer_time, op_energy=op_energy,
        op_time=op_time, static_energy=static_energy, gemm_static_share=g_share,
        update_static_share=u_share, static_power=static_power, latency=latency,
        latency_terms=terms, bound=latency_bound(terms, sch.parts),
        area={k: area[k] for k in AREA_COMPONENTS},
        energy_by_component=by_component, counts=counts)


def evaluate_design(value: Value, table: GemmTable, lay: LayerArrays, ops: DigitalOps,
                    batch: ArrayLike, train: bool, laser_electrical_power_w: ArrayLike,
                    measured_write_fraction: float | None = None,
                    ring_digits: np.ndarray | None = None) -> KernelResult:
    """:func:`evaluate` at the design point(s) ``value`` describes (the one path of
    :func:`estimate` and :func:`bplight.cost.sweep`)."""
    settings = product_settings(value)
    mp = plan_gemms(table, settings, value("photonics.wavelengths_per_bank"))
    return evaluate(mp, table, lay, ops, batch, train, architecture_from(value, settings),
                    components_from(value, laser_electrical_power_w, ring_digits),
                    cells_per_weight_from(value),
                    write_fraction_from(value, measured_write_fraction),
                    calibration_from(value)[table.phase], ring_write_energy_from(value),
                    accumulator_from(value), slice_adder_from(value, settings),
                    range_select_from(value)[table.phase])


# --------------------------------------------------------------------------------------
# One design point → CostReport
# --------------------------------------------------------------------------------------

def components_for(spec: HardwareSpec) -> Components:
    """Component models of ``spec``; the laser power is the link budget's (raises
    :class:`~bplight.photonics.link_budget.LinkBudgetError` if it cannot close)."""
    from bplight.photonics.link_budget import check_link_budget

    budget = check_link_budget(spec)
    return components_from(spec_values(spec), budget.laser_electrical_power_w)


def _check(mode: str, batch: int, write_fraction: float | None) -> None:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 1:
        raise ValueError(f"batch must be an integer >= 1, got {batch!r}")
    if write_fraction is not None and not 0.0 <= write_fraction <= 1.0:
        raise ValueError(f"write_fraction must be within [0, 1], got {write_fraction!r}")


def estimate(workload: Workload, spec: HardwareSpec, mode: str = "train",
             batch: int = 1, write_fraction: float | None = None,
             ring_digits: np.ndarray | None = None) -> CostReport:
    """Cost of running ``workload`` on ``spec`` for ``mode`` ("train": forward, error,
    weight gradient and weight update of one batch; "infer": forward) at ``batch``.

    ``write_fraction``: the fraction of memristor cells a weight update writes, as a
    training run measured it (``summary.json``'s ``memristor.write_fraction``); used under
    ``update.write_policy: changed`` in place of ``update.changed_cell_fraction``.

    ``ring_digits``: the slice-digit distribution of the weight rings ([2L+1] over the
    digits -L .. L of ``forward.ring_bits``), e.g. of a run's trained weights
    (:func:`bplight.photonics.tuning.trained_digit_distribution`); under
    ``photonics.ring_model: add_drop`` the rings' tuning power, mean electro-optic shift and
    re-tune latency are averaged over it in place of the stated distribution; ignored (and
    said so in the assumptions) under ``ideal`` rings, which hold at a flat power.

    Pure and deterministic. Raises :class:`~bplight.photonics.link_budget.LinkBudgetError`
    when the design's link budget cannot close.
    """
    from bplight.photonics.link_budget import check_link_budget

    _check(mode, batch, write_fraction)
    if ring_digits is not None:
        from bplight.photonics.tuning import check_digit_distribution

        check_digit_distribution(ring_digits, 2**spec.forward.ring_bits - 1)
    batch = int(batch)
    laser_w = check_link_budget(spec).laser_electrical_power_w
    gemms = workload.gemms(mode, batch)
    table = GemmTable.from_gemms([gemms], [lay.name for lay in workload.layers])
    train = mode == "train"
    r = evaluate_design(spec_values(spec), table, LayerArrays.from_workload(workload),
                        DigitalOps.from_workload(workload), batch, train, laser_w,
                        write_fraction, ring_digits)

    def row_energies(dyn: dict[str, np.ndarray], share: np.ndarray) -> list[dict[str, float]]:
        """Energy by component of each row: its dynamic energy + its static share."""
        n = share.shape[0]
        out = [{k: 0.0 for k in ENERGY_COMPONENTS} for _ in range(n)]
        cols = [(k, v) for k, v in dyn.items()]
        cols += [(k, v * share) for k, v in r.static_energy.items()]
        for k, v in cols:
            for row, x in zip(out, np.reshape(v, (n, -1))[:, 0].tolist(), strict=True):
                row[k] += x
        return out

    rows: list[PhaseCost] = []
    times = np.reshape(r.gemm_time, (len(gemms), -1))[:, 0].tolist()
    for g, t, en in zip(gemms, times, row_energies(r.gemm_energy, r.gemm_static_share),
                        strict=True):
        rows.append(PhaseCost(g.layer, g.phase, g.macs, t, sum(en.values()), en))
    per_pass = 2.0 if train else 1.0  # training: once forward, once backward
    for j, op in enumerate(workload.digital_ops):
        for ph in (("forward", "error") if train else ("forward",)):
            e_op = _f(r.op_energy[j]) / per_pass
            en = {k: 0.0 for k in ENERGY_COMPONENTS}
            en["digital"] = e_op
            rows.append(PhaseCost(op.name, ph, 0, _f(r.op_time[j]) / per_pass, e_op, en))
    if train:
        times = np.reshape(r.update_time, (len(workload.layers), -1))[:, 0].tolist()
        energies = row_energies(r.update_energy, r.update_static_share)
        for layer, t, en in zip(workload.layers, times, energies, strict=True):
            rows.append(PhaseCost(layer.name, "update", 0, t, sum(en.values()), en))

    energy_by_comp = {k: _f(v) for k, v in r.energy_by_component.items()}
    assumptions = list(ASSUMPTIONS)
    if train:
        assumptions.append(_write_assumption(spec, write_fraction,
                                             _f(r.counts["memristor_write_fraction"])))
        if spec.update.scheme == "mixed_precision":
            u = spec.update
            assumptions.append(
                f"Mixed-precision updates (Nandakumar2020): a {u.accumulator_bits}-bit "
                f"accumulator per weight in {u.accumulator_memory.upper()}, read and written "
                f"every batch, transferred to the cells every {u.transfer_every} batch(es).")
    ring_text = _ring_digits_assumption(spec, ring_digits)
    if ring_text:
        assumptions.append(ring_text)
    if spec.components.weight_ring_tuning == "nonvolatile":
        per_ring = _f(r.counts["ring_settings_per_ring"])
        life = spec.components.nonvolatile_endurance_cycles / per_ring if per_ring else 0.0
        assumptions.append(
            f"Non-volatile weight rings: no hold power; each ring is written {per_ring:.4g} "
            f"times per {'batch' if train else 'run'} and wears out after "
            f"{spec.components.nonvolatile_endurance_cycles:.3g} writes, i.e. after "
            f"{life:.4g} {'batches' if train else 'runs'}.")
    frac = _f(r.counts["weights_in_dram_fraction"])
    if frac > 0:
        assumptions.append(f"{frac:.1%} of the weights do not fit the memristor arrays "
                           "and are read from / written to DRAM.")
    if _f(r.counts["stash_overflow_bits"]) > 0:
        assumptions.append("Stashed activations exceed the eDRAM; the excess goes through "
                           "DRAM (written in forward, read in weight gradient).")
    counts = {k: _f(v) for k, v in r.counts.items()}
    counts["laser_electrical_power_per_core_w"] = float(laser_w)
    return CostReport(
        design=spec.name, workload=workload.name, input_shape=tuple(workload.input_shape),
        mode=mode, batch=batch, macs=sum(g.macs for g in gemms),
        latency_s=_f(r.latency), energy_j=sum(energy_by_comp.values()),
        area_mm2=_f(r.area_total) * 1e6,
        energy_by_component_j=energy_by_comp,
        area_by_component_mm2={k: _f(v) * 1e6 for k, v in r.area.items()},
        phases=rows, assumptions=assumptions, sources=list(SOURCES),
        latency_breakdown_s={k: _f(v) for k, v in r.latency_terms.items()},
        static_power_by_component_w={k: _f(v) for k, v in r.static_power.items()},
        counts=counts,
        schedule="pipelined" if spec.architecture.pipeline_layers else "sequential",
        bound=str(np.asarray(r.bound).reshape(-1)[0]),
    )


def _write_assumption(spec: HardwareSpec, measured: float | None, fraction: float) -> str:
    """The weight-update write assumption of this estimate, in one sentence."""
    if spec.update.write_policy == "all":
        text = "Weight update: every cell of every weight is written once per batch " \
               "(update.write_policy 'all')"
        if measured is not None:
            text += f"; the measured write fraction {measured:.4g} is not used"
        return text + "."
    source = ("as measured by the training run" if measured is not None
              else "update.changed_cell_fraction, an assumption")
    return (f"Weight update: only cells whose digit changed are written (update.write_policy "
            f"'changed'): {fraction:.4g} of the cells per batch ({source}).")


def _ring_digits_assumption(spec: HardwareSpec, digits: np.ndarray | None) -> str:
    """Which slice-digit distribution the weight rings' tuning charges, in one sentence
    ("" under ideal rings without a given distribution: nothing to say)."""
    if spec.photonics.ring_model != "add_drop":
        if digits is None:
            return ""
        return ("Weight-ring tuning: the given slice-digit distribution is not used "
                "(photonics.ring_model 'ideal' holds every ring at the flat "
                "components.weight_ring_hold_power_w).")
    if spec.components.weight_ring_tuning == "nonvolatile":
        return ("Weight-ring tuning: non-volatile rings hold without power and load at "
                "their write latency; the slice-digit distribution changes no charge.")
    source = ("the given (trained) slice-digit distribution" if digits is not None
              else "the stated slice-digit distribution (every magnitude equally likely, "
              "either sign)")
    return (f"Weight-ring tuning (photonics.ring_model 'add_drop'): electro-optic and heater "
            f"hold power and re-tune latency averaged over {source}.")


def peak(spec: HardwareSpec) -> dict[str, Any]:
    """Peak rates of ``spec``'s chip (all banks busy on forward products of non-negative
    inputs): analog passes/s and full-resolution MAC/s and GOPS."""
    arch = architecture_for(spec)
    mp = plan(GemmShape(1, spec.photonics.wavelengths_per_bank, 1, "forward",
                        input_signed=False), spec)
    macs = float(arch.peak_macs_per_s(mp.passes_per_chunk)) if mp.analog else 0.0
    return {"banks": int(arch.banks), "passes_per_s": float(arch.peak_passes_per_s),
            "macs_per_s": macs, "gops": 2.0 * macs / 1e9}
