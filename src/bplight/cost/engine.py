"""Cost engine: Mapping action counts × component costs → latency, energy, area.

:func:`estimate` plans every GEMM of the workload with :func:`bplight.mapping.plan` (the
same Mapping the numerical engine chunks and slices by), turns the Mapping's counts into
actions, prices them with the component models (:mod:`bplight.cost.components`) and
schedules them on the chip (:mod:`bplight.cost.architecture`). :func:`evaluate` is the
model itself, written once over numpy arrays: ``estimate`` calls it for one design
point, :func:`bplight.cost.vectorized.sweep` for thousands at once.

The model (``docs/cost-model.md`` has the derivations and the assumptions):

**Per GEMM** (counts from its Mapping; ``C`` wavelengths, ``f`` symbol rate):

* a core holds one K-chunk of ``banks_per_core`` weight rows at a time (a *weight
  tile*); a GEMM has ``T = k_chunks · ⌈weight_rows / banks_per_core⌉`` tiles, and each
  tile streams ``stream_length`` input symbols (weight-stationary: ``B`` is set once per
  batch — ``ring_settings`` — and every input row streams past it);
* energy: ADC conversions and TIA per analog pass; DAC + modulator per input symbol per
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
digital-lane times) + the weight update (training: the cells of every weight written once
per batch, ``memristor_parallel_write_rows_per_tile`` rows per tile at a time). Weights
beyond the memristor capacity, and (training) activations stashed for the weight
gradient beyond the eDRAM capacity, go to DRAM.

**Static power** (lasers from the link budget, thermal hold of every ring) × latency is
added to the energy and shared among the rows in proportion to their core occupancy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bplight.config.spec import PHASES, HardwareSpec
from bplight.cost.architecture import (
    AREA_COMPONENTS,
    Architecture,
    architecture_for,
)
from bplight.cost.components import ArrayLike, Components, build_components
from bplight.cost.report import CostReport, PhaseCost
from bplight.mapping import Mapping, plan
from bplight.workload import MODES, Workload

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
    "Weight update: every cell of every weight is written once per batch (no skipping of "
    "unchanged cells); it follows the pipeline drain and is not overlapped.",
    "Lasers and ring thermal hold draw power for the whole run (no gating).",
    "eDRAM and router energies are per access (hwcomponents isaac.py: no leakage).",
]


# --------------------------------------------------------------------------------------
# Inputs of the kernel
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GemmCounts:
    """Per-GEMM Mapping counts as float arrays of shape [G, P] (or [G, 1])."""

    analog: np.ndarray
    m: np.ndarray
    k: np.ndarray
    n: np.ndarray
    passes: np.ndarray
    dac_conversions: np.ndarray
    ring_settings: np.ndarray
    shift_adds: np.ndarray
    digital_macs: np.ndarray
    weight_rows: np.ndarray
    k_chunks: np.ndarray
    stream_length: np.ndarray
    adc_bits: np.ndarray
    dac_bits: np.ndarray
    weight_static: np.ndarray
    phase: np.ndarray  # [G] int: index into PHASES
    layer: np.ndarray  # [G] int: index into the workload's layers

    @classmethod
    def from_mappings(cls, maps: Sequence[Mapping], layer_index: Sequence[int]
                      ) -> GemmCounts:
        def col(values: Sequence[float]) -> np.ndarray:
            return np.asarray(values, dtype=float)[:, None]

        return cls(
            analog=col([mp.analog for mp in maps]),
            m=col([mp.gemm.m for mp in maps]), k=col([mp.gemm.k for mp in maps]),
            n=col([mp.gemm.n for mp in maps]),
            passes=col([mp.analog_passes for mp in maps]),
            dac_conversions=col([mp.dac_conversions for mp in maps]),
            ring_settings=col([mp.ring_settings for mp in maps]),
            shift_adds=col([mp.shift_adds for mp in maps]),
            digital_macs=col([mp.digital_macs for mp in maps]),
            weight_rows=col([mp.weight_rows for mp in maps]),
            k_chunks=col([mp.k_chunks for mp in maps]),
            stream_length=col([mp.stream_length for mp in maps]),
            adc_bits=col([mp.adc_read_bits for mp in maps]),
            dac_bits=col([mp.dac_bits for mp in maps]),
            weight_static=col([mp.gemm.weight_static for mp in maps]),
            phase=np.asarray([PHASES.index(mp.gemm.phase) for mp in maps], dtype=int),
            layer=np.asarray(layer_index, dtype=int),
        )


@dataclass(frozen=True)
class LayerArrays:
    """Per-layer data of the workload, [L, 1] float arrays (per image)."""

    weights: np.ndarray
    stash_elements: np.ndarray  # input elements of the layer, kept for weight_grad

    @classmethod
    def from_workload(cls, workload: Workload) -> LayerArrays:
        w = [lay.k_forward * lay.out_channels for lay in workload.layers]
        s = [lay.in_channels * lay.in_hw[0] * lay.in_hw[1] for lay in workload.layers]
        return cls(np.asarray(w, dtype=float)[:, None], np.asarray(s, dtype=float)[:, None])


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


def evaluate(gc: GemmCounts, lay: LayerArrays, op_elements: np.ndarray,
             op_is_pool: np.ndarray, batch: ArrayLike, train: bool, arch: Architecture,
             comps: Components, cells_per_weight: ArrayLike) -> KernelResult:
    """The cost model over design points (module docstring). Shapes: GEMM fields [G, P]
    or [G, 1]; layer fields [L, 1]; ``op_elements`` [D, 1] per image; design parameters
    scalars or [P]."""
    B = np.asarray(batch, dtype=float)
    f = np.asarray(arch.rate_hz, dtype=float)
    cores_total = arch.cores
    t_load = comps.weight_ring.tuning_latency_s
    word = comps.word_bits
    a = gc.analog > 0
    static_b = gc.weight_static > 0

    # ---- work and schedule ----
    row_tiles = np.ceil(gc.weight_rows / arch.banks_per_core)
    tiles = gc.k_chunks * row_tiles
    S = gc.stream_length
    core_ops = comps.digital.ops_per_tile_per_s / arch.cores_per_tile
    work = np.where(a, tiles * (S / f + t_load), gc.digital_macs / core_ops)
    share = work / _sum0(work)
    pipe = np.asarray(arch.pipeline_layers, dtype=bool)
    cores = np.where(pipe, cores_total * share, cores_total * np.ones_like(share))
    c_eff = np.where(a, np.minimum(cores, tiles * gc.m), cores)
    time = np.where(a, tiles * S / (c_eff * f) + t_load * np.maximum(tiles / c_eff, 1.0),
                    work / cores)
    replicas = np.where(a, np.maximum(1.0, c_eff / tiles), 1.0)
    per_image = time / B
    slowest = np.max(per_image, axis=0)
    if train:
        # fill/drain chain: forward stages, then per layer its error and weight-gradient
        # stages side by side (both consume the same output error)
        is_fwd = gc.phase == PHASES.index("forward")
        back = np.zeros((int(gc.layer.max()) + 1,) + per_image.shape[1:])
        np.maximum.at(back, gc.layer[~is_fwd], per_image[~is_fwd])
        chain = _sum0(per_image[is_fwd]) + _sum0(back)
        pipelined = chain + (B - 1.0) * slowest
    else:
        chain = _sum0(per_image)
        pipelined = B * slowest  # images streamed continuously: steady state
    compute = np.where(pipe, pipelined, _sum0(time))

    # ---- capacities ----
    cells_needed = _sum0(lay.weights) * cells_per_weight
    in_dram = np.maximum(0.0, 1.0 - arch.memristor_capacity_cells(comps) / cells_needed)
    stash_bits = B * _sum0(lay.stash_elements) * word if train else 0.0 * B
    stash_over = np.maximum(0.0, stash_bits - arch.edram_capacity_bits(comps))

    # ---- dynamic energy per GEMM ----
    e: dict[str, np.ndarray] = {}
    zeros = np.zeros(np.broadcast(gc.passes, f).shape)
    e["modulator"] = gc.dac_conversions * row_tiles * comps.modulator.modulate(f).energy_j
    e["dac"] = gc.dac_conversions * row_tiles * comps.dac.convert(gc.dac_bits, f).energy_j
    ring_sets = gc.ring_settings * replicas
    e["weight_ring"] = (gc.passes * comps.weight_ring.hold_per_pass(arch.wavelengths,
                                                                    f).energy_j
                        + ring_sets * comps.weight_ring.set(comps.dac).energy_j)
    e["detector"] = gc.passes * comps.detector.detect(f).energy_j
    e["adc"] = gc.passes * comps.adc.convert(gc.adc_bits, f).energy_j
    e["shift_add"] = gc.shift_adds * comps.digital.shift_add().energy_j
    e["digital"] = gc.digital_macs * comps.digital.mac().energy_j + zeros
    b_words = gc.n * gc.k * replicas  # weight-operand elements loaded
    cell_reads = np.where(static_b, b_words * cells_per_weight * (1.0 - in_dram), 0.0)
    e["memristor_read"] = comps.memristor.read(cell_reads).energy_j
    e["memristor_write"] = zeros
    a_reads = np.where(a, row_tiles / np.minimum(arch.cores_per_tile, row_tiles), 1.0)
    edram_words = (gc.m * gc.k * a_reads + gc.m * gc.n
                   + np.where(a, 2.0 * gc.m * gc.n * (gc.k_chunks - 1.0), 0.0)
                   + np.where(static_b, 0.0, b_words))
    edram_bits = edram_words * word
    e["edram"] = comps.edram.access(edram_bits).energy_j
    noc_bits = gc.m * gc.n * word
    e["noc"] = comps.router.access(noc_bits).energy_j
    stash_share = (lay.stash_elements / _sum0(lay.stash_elements))[gc.layer]
    fwd_or_wg = np.isin(gc.phase, (PHASES.index("forward"), PHASES.index("weight_grad")))
    dram_bits = (np.where(static_b, b_words * in_dram * word, 0.0)
                 + np.where(fwd_or_wg[:, None], stash_over * stash_share, 0.0))
    e["dram"] = comps.dram.access(dram_bits).energy_j

    # ---- weight update (training) ----
    u: dict[str, np.ndarray] = {}
    wl = lay.weights * (1.0 if train else 0.0)
    uzeros = np.zeros(np.broadcast(wl, f).shape)
    cell_writes = wl * cells_per_weight * (1.0 - in_dram)
    u["memristor_write"] = comps.memristor.write(cell_writes).energy_j + uzeros
    u["digital"] = wl * comps.digital.update().energy_j + uzeros
    u["edram"] = comps.edram.access(wl * word).energy_j + uzeros
    u["dram"] = comps.dram.access(wl * in_dram * word).energy_j + uzeros
    lanes = arch.tiles * comps.digital.ops_per_tile_per_s
    write_rate = (arch.tiles * comps.memristor_parallel_write_rows_per_tile
                  * comps.memristor.cols / comps.memristor.write_latency_s)
    t_update = np.maximum(_sum0(cell_writes) / write_rate, _sum0(wl) / lanes)
    w_share = lay.weights / _sum0(lay.weights)
    update_time = t_update * w_share

    # ---- digital element-wise ops ----
    passes_dir = 2.0 if train else 1.0  # forward + backward
    op_energy = (op_elements * B * passes_dir
                 * np.where(op_is_pool, comps.digital.pooling().energy_j,
                            comps.digital.activation().energy_j))
    op_time = op_elements * B * passes_dir / lanes

    # ---- bounds and latency ----
    total_edram = _sum0(edram_bits) + _sum0(wl) * word
    total_dram = _sum0(dram_bits) + _sum0(wl * in_dram) * word
    reads = _sum0(cell_reads)
    read_rate = (arch.tiles * comps.memristor_parallel_read_rows_per_tile
                 * comps.memristor.cols / comps.memristor.read_latency_s)
    terms = {
        "compute": compute,
        "edram": comps.edram.access(total_edram).latency_s / arch.tiles,
        "noc": comps.router.access(_sum0(noc_bits)).latency_s / arch.routers(comps),
        "dram": comps.dram.access(total_dram).latency_s,
        "memristor_read": reads / read_rate,
        "digital": _sum0(op_time),
        "update": t_update,
        "pipeline_fill": np.where(pipe, chain - slowest, 0.0),
    }
    shape = np.broadcast_shapes(*(np.shape(v) for v in terms.values()))
    terms = {k: np.broadcast_to(v, shape) for k, v in terms.items()}
    bound = np.maximum.reduce([terms[k] for k in LATENCY_TERMS[:6]])
    latency = bound + terms["update"]

    # ---- static power and its attribution ----
    static_power = arch.static_power_by_component_w(comps)
    static_energy = {k: v * latency for k, v in static_power.items()}
    occ_g = cores * time
    occ_u = cores_total * update_time
    occ_total = _sum0(occ_g) + _sum0(occ_u)

    energy_by_component: dict[str, np.ndarray] = {}
    for k in ENERGY_COMPONENTS:
        total = 0.0 * latency
        if k in static_energy:
            total = total + static_energy[k]
        if k in e:
            total = total + _sum0(e[k])
        if k in u:
            total = total + _sum0(u[k])
        if k == "digital":
            total = total + _sum0(op_energy)
        energy_by_component[k] = total

    area = arch.area_by_component_m2(comps)
    counts = {
        "analog_passes": _sum0(gc.passes), "adc_conversions": _sum0(gc.passes),
        "dac_conversions": _sum0(gc.dac_conversions * row_tiles),
        "ring_settings": _sum0(ring_sets), "shift_adds": _sum0(gc.shift_adds),
        "digital_macs": _sum0(gc.digital_macs),
        "digital_elementwise_ops": _sum0(op_elements * B * passes_dir),
        "memristor_cell_reads": reads, "memristor_cell_writes": _sum0(cell_writes),
        "edram_bits": total_edram, "noc_bits": _sum0(noc_bits), "dram_bits": total_dram,
        "weight_tiles": _sum0(tiles * replicas),
        "weights_in_dram_fraction": in_dram, "stash_overflow_bits": stash_over,
    }
    return KernelResult(
        gemm_energy=e, gemm_time=time, gemm_cores=cores, update_energy=u,
        update_time=update_time, op_energy=op_energy, op_time=op_time,
        static_energy=static_energy, gemm_static_share=occ_g / occ_total,
        update_static_share=occ_u / occ_total, static_power=static_power, latency=latency,
        latency_terms=terms, area={k: area[k] for k in AREA_COMPONENTS},
        energy_by_component=energy_by_component, counts=counts)


# --------------------------------------------------------------------------------------
# One design point → CostReport
# --------------------------------------------------------------------------------------

def mean_detuning_m(spec: HardwareSpec) -> float:
    """Mean electro-optic detuning of a weight ring: one linewidth λ/Q (assumption)."""
    return spec.photonics.center_wavelength_m / spec.photonics.ring_q


def components_for(spec: HardwareSpec) -> Components:
    """Component models of ``spec``; the laser power is the link budget's (raises
    :class:`~bplight.photonics.link_budget.LinkBudgetError` if it cannot close)."""
    from bplight.photonics.link_budget import check_link_budget

    budget = check_link_budget(spec)
    return build_components(spec.components, budget.laser_electrical_power_w,
                            mean_detuning_m(spec))


def _check(mode: str, batch: int) -> None:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 1:
        raise ValueError(f"batch must be an integer >= 1, got {batch!r}")


def estimate(workload: Workload, spec: HardwareSpec, mode: str = "train",
             batch: int = 1) -> CostReport:
    """Cost of running ``workload`` on ``spec`` for ``mode`` ("train": forward, error,
    weight gradient and weight update of one batch; "infer": forward) at ``batch``.

    Pure and deterministic. Raises :class:`~bplight.photonics.link_budget.LinkBudgetError`
    (a ValueError) when the design's link budget cannot close.
    """
    _check(mode, batch)
    batch = int(batch)
    comps = components_for(spec)
    arch = architecture_for(spec)
    gemms = workload.gemms(mode, batch)
    maps = [plan(g, spec) for g in gemms]
    index = {lay.name: i for i, lay in enumerate(workload.layers)}
    gc = GemmCounts.from_mappings(maps, [index[g.layer] for g in gemms])
    lay = LayerArrays.from_workload(workload)
    ops = workload.digital_ops
    op_el = np.asarray([op.elements for op in ops], dtype=float)[:, None]
    op_pool = np.asarray([op.kind == "pooling" for op in ops], dtype=bool)[:, None]
    train = mode == "train"
    r = evaluate(gc, lay, op_el, op_pool, batch, train, arch, comps,
                 spec.memristor_cells_per_weight)

    def row_energy(dyn: dict[str, np.ndarray], i: int, share: np.ndarray | None
                   ) -> dict[str, float]:
        out = {k: 0.0 for k in ENERGY_COMPONENTS}
        for k, v in dyn.items():
            out[k] += _f(v[i])
        if share is not None:
            for k, v in r.static_energy.items():
                out[k] += _f(v * share[i])
        return out

    rows: list[PhaseCost] = []
    for i, mp in enumerate(maps):
        en = row_energy(r.gemm_energy, i, r.gemm_static_share)
        rows.append(PhaseCost(mp.gemm.layer, mp.gemm.phase, mp.gemm.macs,
                              _f(r.gemm_time[i]), sum(en.values()), en))
    for j, op in enumerate(ops):
        for ph in (("forward", "error") if train else ("forward",)):
            e_op = _f(r.op_energy[j]) / (2.0 if train else 1.0)
            en = {k: 0.0 for k in ENERGY_COMPONENTS}
            en["digital"] = e_op
            rows.append(PhaseCost(op.name, ph, 0,
                                  _f(r.op_time[j]) / (2.0 if train else 1.0),
                                  e_op, en))
    if train:
        for i, layer in enumerate(workload.layers):
            en = row_energy(r.update_energy, i, r.update_static_share)
            rows.append(PhaseCost(layer.name, "update", 0, _f(r.update_time[i]),
                                  sum(en.values()), en))

    energy_by_comp = {k: _f(v) for k, v in r.energy_by_component.items()}
    assumptions = list(ASSUMPTIONS)
    frac = _f(r.counts["weights_in_dram_fraction"])
    if frac > 0:
        assumptions.append(f"{frac:.1%} of the weights do not fit the memristor arrays "
                           "and are read from / written to DRAM.")
    if _f(r.counts["stash_overflow_bits"]) > 0:
        assumptions.append("Stashed activations exceed the eDRAM; the excess goes through "
                           "DRAM (written in forward, read in weight gradient).")
    budget_power = _f(comps.laser.electrical_power_w)
    counts = {k: _f(v) for k, v in r.counts.items()}
    counts["laser_electrical_power_per_core_w"] = budget_power
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
    )


def peak(spec: HardwareSpec) -> dict[str, Any]:
    """Peak rates of ``spec``'s chip (all banks busy on forward products of non-negative
    inputs): analog passes/s and full-resolution MAC/s and GOPS."""
    from bplight.mapping import GemmShape

    arch = architecture_for(spec)
    mp = plan(GemmShape(1, spec.photonics.wavelengths_per_bank, 1, "forward",
                        input_signed=False), spec)
    macs = float(arch.peak_macs_per_s(mp.passes_per_chunk)) if mp.analog else 0.0
    return {"banks": int(arch.banks), "passes_per_s": float(arch.peak_passes_per_s),
            "macs_per_s": macs, "gops": 2.0 * macs / 1e9}
