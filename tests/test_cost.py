"""Cost engine: a hand calculation, breakdowns, monotonic properties, the link budget
shared with the numerics, and the vectorised sweep against ``estimate``."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bplight.config import load_spec
from bplight.cost import ENERGY_COMPONENTS, estimate, sweep
from bplight.cost.components import ADC, DAC
from bplight.mapping import GemmShape, LayerShape, plan
from bplight.photonics.link_budget import LinkBudgetError, link_budget
from bplight.workload import Workload

HYP = settings(max_examples=40, deadline=None,
               suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def ref():
    return load_spec("bplight-16b")


@pytest.fixture(scope="module")
def lenet() -> Workload:
    return Workload.from_name("lenet5", (1, 32, 32))


def tiny_workload() -> Workload:
    """One linear layer 32 -> 2, non-negative inputs, batch 1."""
    return Workload("tiny", (32,), (LayerShape("fc", "linear", 32, 2, first_layer=True),))


_PRODUCT = {"input_bits": 16, "weight_bits": 16, "dac_bits": 1, "ring_bits": 1,
            "adc_bits": 6, "analog": True, "signed_inputs": "two_pass"}
TINY = {"architecture": {"tiles": 1, "cores_per_tile": 1, "banks_per_core": 2,
                         "pipeline_layers": False},
        "photonics": {"wavelengths_per_bank": 16, "modulation_rate_hz": 5e9,
                      "center_wavelength_m": 1550e-9, "ring_q": 8000},
        "forward": _PRODUCT, "error": _PRODUCT, "weight_grad": _PRODUCT}


def test_tiny_linear_layer_matches_the_hand_calculation() -> None:
    spec = load_spec("bplight-16b", overrides=TINY)
    r = estimate(tiny_workload(), spec, "infer", 1)
    # Mapping: 16-b unsigned input -> 15 one-bit slices; 16-b weight -> 15 one-bit
    # slices; K = 32 -> 2 chunks of 16 wavelengths.
    passes = 1 * 2 * 2 * 15 * 15  # m n k_chunks input_slices weight_slices = 900
    row_tiles = 15  # weight rows n*15 = 30 over 2 banks
    tiles = 2 * row_tiles  # k_chunks * row_tiles
    symbols = 32 * 15 * row_tiles  # m*k*15 input symbols, once per row tile
    ring_sets = 2 * 32 * 15
    latency = tiles * 15 / 5e9 + 20e-9 * tiles  # one core: 30 tile loads of 20 ns
    assert latency == pytest.approx(690e-9, rel=1e-12)
    assert r.latency_s == pytest.approx(latency, rel=1e-12)
    c = r.counts
    assert (c["analog_passes"], c["dac_conversions"], c["ring_settings"]) == (
        passes, symbols, ring_sets)
    assert c["shift_adds"] == passes - 2
    assert c["memristor_cell_reads"] == 64 * 8  # 64 weights x 8 cells (2 x ceil(15/4))
    edram_bits = (32 * row_tiles + 2 + 2 * 2 * 1) * 16  # A per row tile, Y, partial sums

    p_laser = link_budget(spec).laser_electrical_power_w
    want = {
        "adc": passes * 1.666666667e-12 * 1.20 / 1.67,  # ISAAC table at 6 b
        "detector": passes * 3e-3 / 5e9,  # TIA 3 mW over one 200 ps pass
        "dac": symbols * 3.6e-12 * (12.1 / 3.6) ** ((1 - 8) / 4),  # 1-b DAC
        "modulator": symbols * 42e-15,
        "weight_ring": passes * 16 * 4e3 * (1550e-9 / 8000) / 5e9 + ring_sets * 3.6e-12,
        "shift_add": (passes - 2) * 0.021e-12,
        "memristor_read": 512 * 1.08e-12,
        "edram": edram_bits * 20.45e-12 / 256,
        "noc": 2 * 16 * 20.74e-12 / 256,
        "laser": p_laser * latency,
        "ring_thermal": (16 * 1.2e-3 + 32 * 0.275e-3) * latency,
    }
    for k in ENERGY_COMPONENTS:
        assert r.energy_by_component_j[k] == pytest.approx(want.get(k, 0.0), rel=1e-12), k
    assert r.energy_j == pytest.approx(sum(want.values()), rel=1e-12)
    area_m2 = {
        "weight_rings": 32 * 4.8e-6**2, "modulators": 16 * 9.66e-6**2,
        "dacs": 16 * 11000e-12 / 8, "detectors": 2 * (2 * 40e-12 + 50e-12),
        "adcs": 2 * 626.91e-12, "shift_add": 2 * 60e-12,
        "memristor": 1152 * (25e-12 + 361.04e-12), "edram": 0.083e-6,
        "digital": 16 * 5000e-12 + 0.00084e-6, "router": 0.151e-6, "laser": 0.0,
    }
    for k, v in area_m2.items():
        assert r.area_by_component_mm2[k] == pytest.approx(v * 1e6, rel=1e-12), k
    assert r.gops == pytest.approx(2 * 64 / latency / 1e9, rel=1e-12)


@pytest.mark.parametrize("mode", ["train", "infer"])
@pytest.mark.parametrize("overrides", [[], ["architecture.pipeline_layers=false"]])
def test_breakdowns_sum_to_the_totals(ref, lenet, mode, overrides) -> None:
    spec = load_spec(ref, overrides=overrides)
    r = estimate(lenet, spec, mode, 8)
    assert sum(r.energy_by_component_j.values()) == pytest.approx(r.energy_j, rel=1e-12)
    assert sum(p.energy_j for p in r.phases) == pytest.approx(r.energy_j, rel=1e-12)
    for p in r.phases:
        assert sum(p.energy_by_component_j.values()) == pytest.approx(p.energy_j, rel=1e-12)
    assert sum(r.area_by_component_mm2.values()) == pytest.approx(r.area_mm2, rel=1e-12)
    assert r.macs == 8 * lenet.macs_for(mode)
    phases = {p.phase for p in r.phases}
    assert phases == ({"forward", "error", "weight_grad", "update"} if mode == "train"
                      else {"forward"})
    frame = r.phase_frame()
    assert frame["energy_j"].sum() == pytest.approx(r.energy_j, rel=1e-12)
    static = sum(r.static_power_by_component_w.values()) * r.latency_s
    assert (r.energy_by_component_j["laser"] + r.energy_by_component_j["ring_thermal"]
            == pytest.approx(static, rel=1e-12))


def test_weight_update_writes_every_cell_once_per_batch(ref, lenet) -> None:
    r = estimate(lenet, ref, "train", 16)
    cells = lenet.weights * ref.memristor_cells_per_weight
    assert r.counts["memristor_cell_writes"] == cells
    assert r.energy_by_component_j["memristor_write"] == pytest.approx(
        cells * 3.91e-9 / 128, rel=1e-12)
    assert r.latency_breakdown_s["update"] > 0
    assert estimate(lenet, ref, "infer", 16).counts["memristor_cell_writes"] == 0


def test_weights_beyond_the_memristor_arrays_go_to_dram(ref, lenet) -> None:
    small = load_spec(ref, overrides=["components.memristor_arrays_per_tile=1",
                                      "architecture.tiles=4"])
    r = estimate(lenet, small, "train", 4)
    frac = r.counts["weights_in_dram_fraction"]
    assert 0 < frac < 1
    assert r.energy_by_component_j["dram"] > 0
    assert any("DRAM" in a for a in r.assumptions)
    assert estimate(lenet, ref, "train", 4).energy_by_component_j["dram"] == 0


def test_laser_power_is_the_link_budget_the_numerics_use(ref, lenet) -> None:
    from bplight.devices import photodetector as pd
    from bplight.numerics import physics_for
    from bplight.photonics.link_budget import path_loss_db, split_db

    lb = link_budget(ref)
    r = estimate(lenet, ref, "infer", 1)
    cores = ref.architecture.tiles * ref.architecture.cores_per_tile
    assert r.counts["laser_electrical_power_per_core_w"] == lb.laser_electrical_power_w
    assert r.static_power_by_component_w["laser"] == pytest.approx(
        cores * lb.laser_electrical_power_w, rel=1e-12)
    # the charged electrical power is the comb of C lines at the budget's power per line
    c = ref.photonics.wavelengths_per_bank
    assert lb.laser_electrical_power_w == pytest.approx(
        c * lb.laser_power_per_wavelength_w / ref.laser.wall_plug_efficiency, rel=1e-12)
    # ... and that power, through the path loss and split, gives the numerics' noise
    rx = lb.laser_power_per_wavelength_w * 10 ** (-(path_loss_db(ref) + split_db(ref)) / 10)
    d = ref.detector
    snr = pd.snr(d.responsivity_a_per_w * c * rx, ref.detector_bandwidth_hz,
                 d.dark_current_a, d.load_ohm, d.temperature_k, ref.laser.rin_db_per_hz)
    sigma = physics_for(ref, "forward").noise_sigma_rel
    assert sigma == pytest.approx(1 / math.sqrt(snr), rel=1e-9)


def test_a_link_budget_that_cannot_close_is_rejected(ref, lenet) -> None:
    bad = load_spec(ref, overrides=["laser.max_power_per_wavelength_w=1e-7"])
    assert not link_budget(bad).feasible
    with pytest.raises(LinkBudgetError):
        estimate(lenet, bad, "infer", 1)
    res = sweep(lenet, ref, "infer", params={"laser.max_power_per_wavelength_w": [1e-7, 0.1]})
    assert list(res.feasible) == [False, True]
    assert math.isnan(res.energy_j[0]) and res.reason[0] == link_budget(bad).reason


def test_products_the_numerics_execute_are_the_ones_costed(ref, lenet) -> None:
    """Consistency: run a LeNet-5 training step through the numerical engine with counting
    on and compare its analog passes with the cost engine's, phase by phase."""
    import torch

    from bplight.models import build_model
    from bplight.numerics import convert

    model = convert(build_model("lenet5", 1, 10, 32), ref)
    hw = model.bplight_hw
    hw.counting = True
    x = torch.randn(3, 1, 32, 32, generator=torch.Generator().manual_seed(1))
    model(x).square().sum().backward()
    r = estimate(lenet, ref, "train", 3)
    for phase in ("forward", "error", "weight_grad"):
        costed = sum(plan(g, ref).analog_passes for g in lenet.gemms("train", 3)
                     if g.phase == phase)
        assert hw.counters.analog_passes[phase] == costed, phase
    assert sum(hw.counters.analog_passes.values()) == r.counts["analog_passes"]


@pytest.mark.parametrize("preset", ["ideal", "fp32"])
def test_other_presets_are_costed(lenet, preset) -> None:
    spec = load_spec(preset)
    r = estimate(lenet, spec, "train", 2)
    assert r.energy_j > 0 and r.latency_s > 0
    if preset == "fp32":  # every product on the digital lanes
        assert r.counts["analog_passes"] == 0
        assert r.counts["digital_macs"] == r.macs
    res = sweep(lenet, spec, "train", 2)
    assert res.energy_j[0] == pytest.approx(r.energy_j, rel=1e-12)


# ---- properties ----

@HYP
@given(k=st.integers(1, 5000), wl=st.integers(1, 17))
def test_more_wavelengths_never_add_k_chunks(ref, k, wl) -> None:
    g = GemmShape(3, k, 5)
    few = plan(g, load_spec(ref, overrides={"photonics": {"wavelengths_per_bank": wl}}))
    more = plan(g, load_spec(ref, overrides={"photonics": {"wavelengths_per_bank": wl + 1}}))
    assert more.k_chunks <= few.k_chunks


@HYP
@given(bits=st.floats(1, 15), rate=st.floats(1e8, 1e11))
def test_more_converter_bits_never_cost_less(ref, bits, rate) -> None:
    c = ref.components
    adc = ADC(c.adc_energy_8b_j, c.adc_area_8b_m2, c.adc_corner_rate_hz)
    dac = DAC(c.dac_energy_8b_j, c.dac_energy_12b_j, c.dac_area_8b_m2, c.dac_corner_rate_hz)
    for conv in (adc, dac):
        lo, hi = conv.convert(bits, rate), conv.convert(bits + 1, rate)
        assert hi.energy_j >= lo.energy_j > 0
        assert conv.convert(bits, rate * 2).energy_j >= lo.energy_j
        assert conv.area_m2(bits + 1, rate) >= conv.area_m2(bits, rate) > 0


@HYP
@given(bits=st.integers(3, 7))
def test_more_adc_bits_never_lower_the_adc_energy(ref, lenet, bits) -> None:
    def adc_energy(b: int) -> float:
        spec = load_spec(ref, overrides={p: {"adc_bits": b}
                                         for p in ("forward", "error", "weight_grad")})
        try:
            return estimate(lenet, spec, "train", 4).energy_by_component_j["adc"]
        except LinkBudgetError:
            return math.nan

    lo, hi = adc_energy(bits), adc_energy(bits + 1)
    assume(not math.isnan(lo) and not math.isnan(hi))
    assert hi >= lo


@HYP
@given(b1=st.integers(1, 100), factor=st.integers(2, 8), pipeline=st.booleans(),
       tiles=st.sampled_from([1, 4, 64]))
def test_larger_batch_never_raises_training_energy_per_image(ref, lenet, b1, factor,
                                                             pipeline, tiles) -> None:
    """Weight writes, ring loads and pipeline fill amortise over the batch. Two effects
    can raise the cost per image, and are set aside here: (1) the weight gradient reduces
    over K = batch × positions, padded to whole K-chunks, so only a batch *factor* times
    larger is guaranteed no more chunks per image; (2) stashed activations spill to DRAM
    once the eDRAM is full (the excess over a fixed capacity) — bounded separately."""
    spec = load_spec(ref, overrides={"architecture": {"pipeline_layers": pipeline,
                                                      "tiles": tiles}})
    small = estimate(lenet, spec, "train", b1)
    large = estimate(lenet, spec, "train", b1 * factor)

    def per_image(r) -> float:
        return (r.energy_j - r.energy_by_component_j["dram"]) / r.batch

    assert per_image(large) <= per_image(small) * (1 + 1e-12)
    stash_bits = sum(lay.in_channels * lay.in_hw[0] * lay.in_hw[1] for lay in lenet.layers) * 16
    assert large.energy_by_component_j["dram"] / large.batch <= 2 * stash_bits * 3.9e-12


@HYP
@given(tiles=st.integers(1, 128), extra=st.integers(1, 128), mode=st.sampled_from(
    ["train", "infer"]), batch=st.sampled_from([1, 8, 64]))
def test_more_tiles_never_raise_latency(ref, lenet, tiles, extra, mode, batch) -> None:
    def latency(t: int) -> float:
        spec = load_spec(ref, overrides={"architecture": {"tiles": t,
                                                          "pipeline_layers": False}})
        return estimate(lenet, spec, mode, batch).latency_s

    assert latency(tiles + extra) <= latency(tiles) * (1 + 1e-12)


# ---- the vectorised model against estimate ----

def test_sweep_agrees_with_estimate_point_by_point(ref) -> None:
    work = Workload("mixed", (2, 8, 8), (
        LayerShape("c1", "conv", 2, 4, (3, 3), (6, 6), (8, 8), 1, True, True),
        LayerShape("c2", "conv", 4, 8, (3, 3), (4, 4), (6, 6), 1, True, False),
        LayerShape("fc", "linear", 128, 10, input_signed=False)))
    rng = np.random.default_rng(7)
    n = 48
    params = {
        "photonics.wavelengths_per_bank": rng.integers(2, 19, n),
        "photonics.modulation_rate_hz": rng.choice([1e9, 5e9, 2e10], n),
        "forward.adc_bits": rng.integers(5, 9, n),
        "error.dac_bits": rng.integers(1, 3, n),
        "weight_grad.ring_bits": rng.integers(1, 4, n),
        "error.signed_inputs": rng.choice(["two_pass", "offset"], n),
        "architecture.tiles": rng.integers(1, 17, n),
        "architecture.cores_per_tile": rng.integers(1, 5, n),
        "architecture.banks_per_core": rng.choice([1, 4, 16, 64], n),
        "architecture.pipeline_layers": rng.random(n) < 0.5,
        "components.adc_energy_8b_j": rng.uniform(1e-13, 5e-12, n),
        "components.memristor_arrays_per_tile": rng.choice([1, 1152], n),
        "components.edram_bytes_per_tile": rng.choice([256.0, 65536.0], n),
        "batch": rng.choice([1, 3, 32], n),
    }
    res = sweep(work, ref, "train", params=params)
    checked = 0
    for i in range(n):
        overrides = [f"{k}={v[i]}" for k, v in params.items() if k != "batch"]
        spec = load_spec(ref, overrides=overrides)
        try:
            r = estimate(work, spec, "train", int(params["batch"][i]))
        except LinkBudgetError as exc:
            assert not res.feasible[i] and res.reason[i] == str(exc)
            continue
        checked += 1
        assert res.feasible[i]
        for name, got, want in [("latency", res.latency_s[i], r.latency_s),
                                ("energy", res.energy_j[i], r.energy_j),
                                ("area", res.area_mm2[i], r.area_mm2),
                                ("gops_per_w", res.gops_per_w[i], r.gops_per_w)]:
            assert got == pytest.approx(want, rel=1e-9), (name, i)
        for k in ENERGY_COMPONENTS:
            assert res.energy_by_component_j[k][i] == pytest.approx(
                r.energy_by_component_j[k], rel=1e-9, abs=1e-30), (k, i)
    assert checked >= n // 2
    frame = res.to_frame()
    assert len(frame) == n and "energy_adc_j" in frame


def test_sweep_refuses_unknown_fields_and_bad_values(ref, lenet) -> None:
    from bplight.config import ConfigError

    with pytest.raises(ConfigError, match="unknown field"):
        sweep(lenet, ref, "infer", params={"photonics.colour": [1, 2]})
    with pytest.raises(ConfigError, match="tiles"):
        sweep(lenet, ref, "infer", params={"architecture.tiles": [4, 0]})
    with pytest.raises(ConfigError, match="batch"):
        sweep(lenet, ref, "infer", params={"batch": [1, 0]})


def test_component_parameters_accept_unit_strings(tmp_path) -> None:
    from bplight.config import ConfigError

    spec = load_spec("bplight-16b", overrides=["components.adc_energy_8b_j=1.2 pJ",
                                               "components.edram_area_m2=0.1 mm2"])
    assert spec.components.adc_energy_8b_j == pytest.approx(1.2e-12, rel=1e-12)
    assert spec.components.edram_area_m2 == pytest.approx(0.1e-6, rel=1e-12)
    f = tmp_path / "chip.yaml"
    f.write_text("base: bplight-16b\ncomponents:\n  tia_power_w: 7.2 mW  # CrossLight\n")
    assert load_spec(str(f)).components.tia_power_w == pytest.approx(7.2e-3, rel=1e-12)
    with pytest.raises(ConfigError, match="components.tia_power_w"):
        load_spec("bplight-16b", overrides=["components.tia_power_w=-1 mW"])
    with pytest.raises(ConfigError, match="unknown (hardware )?field"):
        load_spec("bplight-16b", overrides=["components.flux_capacitor_j=1"])


# ---- grouped convolutions: g groups cost what g separate per-group layers cost ----

def test_grouped_layer_costs_the_sum_of_its_groups(ref) -> None:
    def layers(groups: int) -> tuple[LayerShape, ...]:
        head = LayerShape("c1", "conv", 3, 48, (3, 3), (8, 8), (8, 8), 1, True, True)
        if groups == 1:  # the towers as separate layers of the per-group size
            return (head,) + tuple(LayerShape(f"t{i}", "conv", 24, 64, (3, 3), (8, 8),
                                              (8, 8)) for i in range(2))
        return (head, LayerShape("t", "conv", 48, 128, (3, 3), (8, 8), (8, 8), groups=2))

    grouped = Workload("towers", (3, 8, 8), layers(2))
    split = Workload("towers", (3, 8, 8), layers(1))
    assert grouped.macs == split.macs and grouped.weights == split.weights
    # one core, layers in sequence: every count, energy and time adds up by design
    one_core = load_spec(ref, overrides={"architecture": {
        "tiles": 1, "cores_per_tile": 1, "pipeline_layers": False}})
    for mode in ("train", "infer"):
        a, b = estimate(grouped, one_core, mode, 4), estimate(split, one_core, mode, 4)
        assert a.latency_s == pytest.approx(b.latency_s, rel=1e-12)
        assert a.energy_j == pytest.approx(b.energy_j, rel=1e-12)
        for key in ENERGY_COMPONENTS:
            assert a.energy_by_component_j[key] == pytest.approx(
                b.energy_by_component_j[key], rel=1e-12, abs=1e-30), key
        for key, v in b.counts.items():
            assert a.counts[key] == pytest.approx(v, rel=1e-12), key
    # on the full chip tiles are replicated differently, but the analog work is the same
    a, b = estimate(grouped, ref, "train", 4), estimate(split, ref, "train", 4)
    for key in ("analog_passes", "shift_adds", "digital_macs", "memristor_cell_writes",
                "noc_bits"):
        assert a.counts[key] == b.counts[key], key
    for key in ("adc", "detector", "shift_add", "memristor_write"):
        assert a.energy_by_component_j[key] == pytest.approx(
            b.energy_by_component_j[key], rel=1e-12), key
    passes = sum(plan(g, ref).analog_passes for g in grouped.gemms("train", 4))
    assert a.counts["analog_passes"] == passes
    tower = grouped.gemms("train", 4)[2]  # forward of the towers: 2 groups
    assert tower.groups == 2 and plan(tower, ref).analog_passes == 2 * plan(
        GemmShape(tower.m, tower.k, tower.n, input_signed=tower.input_signed), ref
    ).analog_passes


def test_sweep_agrees_with_estimate_on_a_grouped_layer(ref) -> None:
    work = Workload("dw", (4, 6, 6), (
        LayerShape("c1", "conv", 4, 8, (3, 3), (6, 6), (6, 6), 1, True, True),
        LayerShape("dw", "conv", 8, 8, (3, 3), (6, 6), (6, 6), groups=8),
        LayerShape("fc", "linear", 288, 10)))
    tiles = np.asarray([1, 3, 16])
    s = sweep(work, ref, "train", batch=np.asarray([1, 2, 8]),
              params={"architecture.tiles": tiles})
    for i, t in enumerate(tiles):
        spec = load_spec(ref, overrides={"architecture": {"tiles": int(t)}})
        r = estimate(work, spec, "train", int(s.batch[i]))
        assert s.energy_j[i] == pytest.approx(r.energy_j, rel=1e-12)
        assert s.latency_s[i] == pytest.approx(r.latency_s, rel=1e-12)


# ---- memristor writes follow update.write_policy ----

def test_write_policy_sets_the_cells_written_and_their_time(ref, lenet) -> None:
    cells = lenet.weights * ref.memristor_cells_per_weight
    slow = {"components": {"memristor_write_latency_s": 1e-3}}  # the update is write-bound
    every = load_spec(ref, overrides={**slow, "update": {"write_policy": "all",
                                                         "changed_cell_fraction": 0.25}})
    quarter = load_spec(ref, overrides={**slow, "update": {"write_policy": "changed",
                                                           "changed_cell_fraction": 0.25}})
    a, q = estimate(lenet, every, "train", 16), estimate(lenet, quarter, "train", 16)
    assert a.counts["memristor_cell_writes"] == cells      # 'all': the fraction is not used
    assert q.counts["memristor_cell_writes"] == cells * 0.25
    assert q.energy_by_component_j["memristor_write"] == pytest.approx(
        0.25 * a.energy_by_component_j["memristor_write"], rel=1e-12)
    rate = (every.architecture.tiles * every.components.memristor_parallel_write_rows_per_tile
            * every.components.memristor_array_cols / 1e-3)
    assert a.latency_breakdown_s["update"] == pytest.approx(cells / rate, rel=1e-12)
    assert q.latency_breakdown_s["update"] == pytest.approx(0.25 * cells / rate, rel=1e-12)
    # a measured fraction replaces the assumed one under 'changed' ...
    m = estimate(lenet, quarter, "train", 16, write_fraction=0.1)
    assert m.counts["memristor_cell_writes"] == pytest.approx(0.1 * cells, rel=1e-12)
    assert m.counts["memristor_write_fraction"] == 0.1
    assert any("measured by the training run" in s for s in m.assumptions)
    # ... and is reported as unused under 'all'
    am = estimate(lenet, every, "train", 16, write_fraction=0.1)
    assert am.counts["memristor_cell_writes"] == cells
    assert any("0.1 is not used" in s for s in am.assumptions)
    with pytest.raises(ValueError, match="write_fraction"):
        estimate(lenet, quarter, "train", 16, write_fraction=1.5)


def test_sweep_over_the_write_policy_agrees_with_estimate(ref, lenet) -> None:
    policy = np.asarray(["all", "changed", "changed"])
    frac = np.asarray([0.5, 0.5, 0.05])
    s = sweep(lenet, ref, "train", 8, {"update.write_policy": policy,
                                       "update.changed_cell_fraction": frac})
    for i in range(3):
        spec = load_spec(ref, overrides={"update": {"write_policy": str(policy[i]),
                                                    "changed_cell_fraction": float(frac[i])}})
        r = estimate(lenet, spec, "train", 8)
        assert s.energy_j[i] == pytest.approx(r.energy_j, rel=1e-12)
        assert s.latency_s[i] == pytest.approx(r.latency_s, rel=1e-12)
        assert s.energy_by_component_j["memristor_write"][i] == pytest.approx(
            r.energy_by_component_j["memristor_write"], rel=1e-12)


def test_sweep_takes_unquantized_settings(ref, lenet) -> None:
    """None (an ideal readout, an unquantized operand) among swept values."""
    params = {"forward.adc_bits": np.asarray([None, 6, None, 8], dtype=object),
              "weight_grad.input_bits": np.asarray([8, None, 16, None], dtype=object)}
    s = sweep(lenet, ref, "train", 4, params)
    checked = []
    for i in range(4):
        spec = load_spec(ref, overrides={
            "forward": {"adc_bits": params["forward.adc_bits"][i]},
            "weight_grad": {"input_bits": params["weight_grad.input_bits"][i]}})
        try:
            r = estimate(lenet, spec, "train", 4)
        except LinkBudgetError:  # an exact (ideal) read may be beyond the laser
            assert not s.feasible[i]
            continue
        checked.append(i)
        assert s.feasible[i]
        assert s.energy_j[i] == pytest.approx(r.energy_j, rel=1e-12)
        assert s.latency_s[i] == pytest.approx(r.latency_s, rel=1e-12)
        assert s.area_mm2[i] == pytest.approx(r.area_mm2, rel=1e-12)
    assert 0 in checked and 2 in checked  # ideal readouts, costed (1, 3: infeasible)
