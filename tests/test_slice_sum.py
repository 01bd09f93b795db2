"""Analog shift-and-add of the slice passes before one ADC read (``slice_sum: analog``,
photonics/slice_sum.py): the Mapping's counts and ranges, the exact engine against a
hand-written sum, exact vs fast error statistics, the link budget's closed form and its
refusals, the calibration of the sum's range, and counted = charged in training."""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from bplight.config import load_spec
from bplight.cost import estimate
from bplight.errors import ConfigError, InfeasibleDesignError
from bplight.mapping import GemmShape, plan
from bplight.numerics import MemristorWriter, convert
from bplight.numerics.calibration import calibrate, pass_sums
from bplight.numerics.engine import (
    Operand,
    Physics,
    exact_matmul,
    fast_matmul,
    fast_read_errors,
)
from bplight.photonics import slice_sum
from bplight.photonics.link_budget import check_link_budget, link_budget
from bplight.workload import Workload

PHASES = ("forward", "error", "weight_grad")
K_B = 1.380649e-23


def _each(*fields: str) -> list[str]:
    return [f"{p}.{f}" for p in PHASES for f in fields]


def _small(*extra: str):
    """4-b operands (offset inputs: 4 magnitude bits, weights 3), 1-b x 2-b slices, 16
    wavelengths: the analog sum spans 16 x 15 x 7 = 1680 code units, read exactly by a
    12-b ADC (2047 codes); no crosstalk."""
    return load_spec("bplight-8b-analog-sum", overrides=[
        *_each("input_bits=4", "weight_bits=4", "crosstalk=false", "adc_bits=12"),
        *extra])


def _operands(m: int, k: int, n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(m, k, generator=g, dtype=torch.float64)
    b = torch.randn(n, k, generator=g, dtype=torch.float64)
    return a, b


def test_mapping_counts_one_read_per_output_and_chunk() -> None:
    spec = load_spec("bplight-8b-analog-sum")
    g = GemmShape(10, 40, 7, "forward", input_signed=True, fold_adds=5)
    m = plan(g, spec)
    digital = plan(g, load_spec("bplight-8b-1x2"))
    assert m.slice_sum_analog and not digital.slice_sum_analog
    assert (m.input_slices, m.weight_slices, m.sign_passes) == (8, 4, 1)  # offset inputs
    assert m.k_chunks == 3 and m.passes_per_chunk == 32
    assert m.analog_passes == digital.analog_passes == 10 * 7 * 3 * 32
    assert m.adc_reads == 10 * 7 * 3 and digital.adc_reads == digital.analog_passes
    assert m.analog_adds == m.analog_passes and digital.analog_adds == 0
    assert m.shift_adds == 10 * 7 * 3 - 10 * 7 + 5  # the chunks, added digitally
    assert m.sum_full_scale == 16 * 255 * 127
    assert m.needed_adc_bits == 1 + math.ceil(math.log2(16 * 255 * 127 + 1)) == 20
    assert m.adc_clip == 16 * 255 * 127
    assert m.adc_step == pytest.approx(16 * 255 * 127 / 511)  # 10-b ADC, sign + 9 bits
    # kT/C of 200 fF at 300 K, x 4/3, over 1 V: 1.66e-4 of the sum's full scale
    acc_rel = math.sqrt(4 / 3 * K_B * 300 / 200e-15) / 1.0
    assert m.slice_adder_sigma == pytest.approx(acc_rel * 16 * 255 * 127, rel=1e-12)


def test_spec_refuses_an_analog_sum_wider_than_a_core() -> None:
    with pytest.raises(ConfigError, match="banks_per_core = 2 banks"):
        load_spec("bplight-8b-analog-sum", ["architecture.banks_per_core=2"])


def _reference_sum(a: torch.Tensor, b: torch.Tensor, m, step: float, clip: float
                   ) -> torch.Tensor:
    """The analog sum by hand: integer codes (inputs offset by 2^(b-1)), per K-chunk the
    exact integer dot product of the codes, read by an ADC of ``step`` clipping at
    ``clip``, chunks added, the offset's correction subtracted, rescaled."""
    sa, sb = float(a.abs().max()), float(b.abs().max())
    la, lb = 2**m.input_code_bits - 1, 2**m.weight_magnitude_bits - 1
    ca = torch.round(a / sa * la) + 2 ** (m.input_bits - 1)
    cb = torch.round(b / sb * lb)
    y = torch.zeros(a.shape[0], b.shape[0], dtype=torch.float64)
    for c0 in range(0, a.shape[1], m.chunk):
        s = ca[:, c0:c0 + m.chunk] @ cb[:, c0:c0 + m.chunk].T
        y += (torch.round(s / step) * step).clamp(-clip, clip)
    y -= 2 ** (m.input_bits - 1) * cb.sum(1)[None, :]
    return y * (sa * sb / (la * lb))


@pytest.mark.parametrize("adc_bits", [12, 6])
def test_exact_engine_reads_each_chunk_sum_once(adc_bits: int) -> None:
    """Noise-free: with 12 bits the ADC reads the 1680-unit sums exactly (the exact
    engine equals the quantized product); with 6 bits every chunk sum is rounded to a
    step of 1680 / 31 units, once (not once per pass), as the hand-written sum does."""
    spec = _small(*_each(f"adc_bits={adc_bits}", "detector_noise=false"))
    a, b = _operands(24, 40, 6)
    m = plan(GemmShape(24, 40, 6, "forward", input_signed=True), spec)
    assert m.slice_adder_sigma == 0.0  # no readout noise at all
    assert m.adc_step == (1.0 if adc_bits == 12 else pytest.approx(1680 / 31))
    tally: dict[str, int] = {}
    y = exact_matmul(a, b, m, Physics(0.0, None), None, tally=tally)
    want = _reference_sum(a, b, m, m.adc_step, m.adc_clip)
    assert torch.allclose(y, want, rtol=0, atol=1e-9 * float(want.abs().max()))
    if adc_bits == 12:
        clean = Operand(a).quantized(m.input_code_bits) @ Operand(b).quantized(
            m.weight_magnitude_bits).T
        assert torch.allclose(y, clean, rtol=0, atol=1e-9)
    assert tally["adc_reads"] == 24 * 6 * 3 == m.adc_reads
    assert tally["analog_passes"] == m.analog_passes == 24 * 6 * 3 * 4 * 2


@pytest.mark.parametrize("sigma,adc_bits", [(0.05, 12), (0.02, 8), (0.0, 8)])
def test_exact_and_fast_errors_match_the_closed_form(sigma: float, adc_bits: int) -> None:
    """Error variance of one output element, code units²: k_chunks × [sigma² Σ_ij 4^(i dac
    + j ring) + kT/C + (step²/12 or the rounded Gaussian)]; the exact engine's measured
    error, the fast engine's injected one and the closed form agree (within 12 %)."""
    spec = _small(*_each(f"adc_bits={adc_bits}"))
    a, b = _operands(400, 64, 24, seed=1)
    m = plan(GemmShape(400, 64, 24, "forward", input_signed=True), spec)
    phys = Physics(sigma / m.full_scale, None)  # sigma in slice units
    weight = sum(4.0 ** i for i in range(4)) * sum(16.0 ** j for j in range(2))
    assert slice_sum.detector_weight(m) == weight
    noise = math.sqrt(sigma**2 * weight + m.slice_adder_sigma**2)
    if m.adc_step == 1.0:
        from bplight.photonics.read_noise import rounded_gaussian_var

        per_read = float(rounded_gaussian_var(noise))
    else:
        per_read = m.adc_step**2 / 12 + noise**2
    var_code = m.k_chunks * per_read
    assert fast_read_errors(m, phys, True).var == pytest.approx(var_code, rel=1e-9)
    unit = float(a.abs().max() * b.abs().max()) / (7 * 7)  # 3 + 3 magnitude bits
    ref = Operand(a).quantized(m.input_code_bits) @ Operand(b).quantized(
        m.weight_magnitude_bits).T
    gen = torch.Generator().manual_seed(3)
    exact = exact_matmul(a, b, m, phys, gen)
    fast = fast_matmul(a, b, m, phys, gen)
    var_exact = float((exact - ref).square().mean()) / unit**2
    var_fast = float((fast - ref).square().mean()) / unit**2
    assert var_exact == pytest.approx(var_code, rel=0.12)
    assert var_fast == pytest.approx(var_code, rel=0.12)


def test_link_budget_sizes_the_laser_for_the_one_read() -> None:
    """Output-variance budget by hand: the read's error std may reach 2^-9 of the
    518,160-unit full scale; the 10-b ADC's step²/12 and the adder's kT/C take their
    share, the rest is the passes' detector noise weighted by Σ 4^(i + 2j) (8 x 4
    passes): sigma, and the SNR per pass (|pass| <= 48) is (48 / sigma)². (Worst-case
    ADC range; a calibrated one is assumed to read in unit steps: 1/12 for step²/12.)"""
    spec = load_spec("bplight-8b-analog-sum", _each("adc_range_mode=worst_case"))
    m = plan(GemmShape(1, 16, 1, "forward"), spec)
    fs = 16 * 255 * 127
    step = fs / 511
    acc = math.sqrt(4 / 3 * K_B * 300 / 200e-15) * fs
    weight = sum(4.0**i for i in range(8)) * sum(16.0**j for j in range(4))
    sigma = math.sqrt((2**-9 * fs) ** 2 - step**2 / 12 - acc**2) / math.sqrt(weight)
    lb = check_link_budget(spec)
    assert lb.feasible
    assert lb.target_snr_db == pytest.approx(20 * math.log10(48 / sigma), abs=1e-9)
    assert lb.snr_db == pytest.approx(lb.target_snr_db, abs=1e-6)
    assert lb.output_error_rel == pytest.approx(2**-9, rel=1e-6)
    assert m.adc_step == pytest.approx(step)
    # digital slice sum of the same chip: per-pass reads round the noise away (~51 dB)
    assert link_budget(load_spec("bplight-8b-1x2")).target_snr_db < lb.target_snr_db
    calibrated = link_budget(load_spec("bplight-8b-analog-sum"))
    sigma_cal = math.sqrt((2**-9 * fs) ** 2 - 1 / 12 - acc**2) / math.sqrt(weight)
    assert calibrated.target_snr_db == pytest.approx(20 * math.log10(48 / sigma_cal),
                                                     abs=1e-6)


def test_exact_read_budget_by_hand() -> None:
    """exact_reads: the one read errs by a step with probability 1e-4: total noise <=
    (step / 2) / z, of which the adder's kT/C takes its share."""
    spec = load_spec("bplight-8b-analog-sum", ["laser.read_budget=exact_reads",
                                               *_each("adc_range_mode=worst_case")])
    fs = 16 * 255 * 127
    step = fs / 511
    z = NormalDist().inv_cdf(1 - 1e-4 / 2)
    acc = math.sqrt(4 / 3 * K_B * 300 / 200e-15) * fs
    weight = sum(4.0**i for i in range(8)) * sum(16.0**j for j in range(4))
    sigma = math.sqrt((step / 2 / z) ** 2 - acc**2) / math.sqrt(weight)
    lb = link_budget(spec)
    assert lb.target_snr_db == pytest.approx(20 * math.log10(48 / sigma), abs=1e-9)


@pytest.mark.parametrize("overrides,phrase", [
    (["slice_adder.capacitance_f=1e-15"], "kT/C noise"),
    ([*_each("adc_bits=5", "adc_range_mode=worst_case")],
     "5-bit ADC reading the analog sum"),
    (["laser.output_error_rel=0.0009765625"], "exceeds the RIN limit"),
])
def test_budgets_that_cannot_close_are_refused_in_one_sentence(overrides: list[str],
                                                               phrase: str) -> None:
    spec = load_spec("bplight-8b-analog-sum", overrides)
    with pytest.raises(InfeasibleDesignError, match=phrase) as err:
        check_link_budget(spec)
    assert str(err.value).count(". ") == 0  # one sentence


def test_calibration_measures_the_analog_sums() -> None:
    """The calibrated range is the percentile of the K-chunk sums (code units), not of the
    passes; at the 100th percentile nothing clips."""
    spec = _small(*_each("adc_bits=8", "adc_range_mode=calibrated"))
    a, b = _operands(256, 48, 16, seed=2)
    a = a.clamp(min=0)
    m = plan(GemmShape(256, 48, 16, "forward", input_signed=False), spec)
    scales = (float(a.abs().max()), float(b.abs().max()))
    sums, sig = pass_sums(a, b, m, scales, False)
    analog = torch.einsum("pij,pijnmk->nmk", sig, sums)
    full = calibrate(a, b, m, scales, False, 100.0)
    assert full.adc_range * m.sum_full_scale == pytest.approx(float(analog.abs().max()))
    assert full.clip_var == 0.0 and full.clipped_fraction == 0.0
    cal = calibrate(a, b, m, scales, False, 90.0)
    clip = cal.adc_range * m.sum_full_scale
    assert clip == pytest.approx(round(clip)) and clip < float(analog.abs().max())
    over = (analog.abs() - clip).clamp(min=0)
    assert cal.clip_var == pytest.approx(float(over.square().mean()))
    assert cal.clipped_fraction == pytest.approx(float((over > 0).double().mean()))


def test_cost_charges_one_conversion_per_sum_and_the_adder() -> None:
    """ADC energy = conversions (one per output and K-chunk) x energy at 10 b; the
    shift-and-add = digital chunk adds + C V² per pass sampled; the adder's area 2 C /
    density per bank, and one ADC per 4 banks (the weight slices one adder sums)."""
    spec = load_spec("bplight-8b-analog-sum")
    digital = load_spec("bplight-8b-1x2")
    work = Workload.from_model(_cnn(), (1, 10, 10))
    r, d = estimate(work, spec, "train", 4), estimate(work, digital, "train", 4)
    maps = [plan(g, spec) for g in work.gemms("train", 4)]
    reads = sum(m.adc_reads for m in maps)
    adds = sum(m.analog_adds for m in maps)
    assert r.counts["adc_conversions"] == reads == sum(
        m.gemm.groups * m.gemm.m * m.gemm.n * m.k_chunks for m in maps)
    assert d.counts["adc_conversions"] == r.counts["analog_passes"] > 28 * reads
    assert r.counts["analog_sum_adds"] == adds == r.counts["analog_passes"]
    from bplight.cost.engine import components_for

    comps = components_for(spec)
    e_adc = reads * float(comps.adc.convert(10, 5e9).energy_j)
    assert r.energy_by_component_j["adc"] == pytest.approx(e_adc, rel=1e-9)
    e_sa = (sum(m.shift_adds for m in maps) * 0.021e-12 + adds * 200e-15 * 1.0**2)
    assert r.energy_by_component_j["shift_add"] == pytest.approx(e_sa, rel=1e-9)
    banks = 64 * 4 * 16
    assert r.area_by_component_mm2["shift_add"] == pytest.approx(
        banks * (60e-12 + 2 * 200e-15 / 2e-3) * 1e6, rel=1e-9)
    adc_area = float(comps.adc.area_m2(10, 5e9))
    assert r.area_by_component_mm2["adcs"] == pytest.approx(banks / 4 * adc_area * 1e6,
                                                            rel=1e-9)


def _cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3), nn.ReLU(), nn.Flatten(), nn.Linear(54, 5))


@pytest.mark.parametrize("mode", ["exact", "fast"])
def test_training_steps_execute_what_the_cost_engine_charges(mode: str) -> None:
    # (ADC reads and passes do not depend on how tiles are replicated over cores)
    spec = load_spec("bplight-8b-analog-sum", [f"mode={mode}"])
    base = _cnn()
    work = Workload.from_model(base, (1, 10, 10))
    model = convert(base, spec)
    writer = MemristorWriter(model, spec)
    hw = model.bplight_hw
    hw.counting = True
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    gen = torch.Generator().manual_seed(0)
    for _ in range(2):
        x = torch.randn(4, 1, 10, 10, generator=gen)
        y = torch.randint(0, 5, (4,), generator=gen)
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
        writer.step()
    report = estimate(work, spec, "train", 4,
                      write_fraction=writer.write_record()["write_fraction"])
    c = hw.counters
    assert c.total("adc_reads") == 2 * report.counts["adc_conversions"] > 0
    assert c.total("analog_passes") == 2 * report.counts["analog_passes"]
    # 32 passes per read for offset-encoded (signed) inputs, 28 for unsigned ones
    assert 28 * c.total("adc_reads") < c.total("analog_passes") < 32 * c.total("adc_reads")


# --- per-slice-pair ADC ranges (adc_range_granularity: slice_pair) ----------------------

def _pair_spec(granularity: str, *extra: str):
    """8-b operands, 1-b x 2-b slices (|pass| <= 48), a 4-b ADC (7 codes): a calibrated
    range per layer still steps coarsely; high-order pairs, whose sums are small, read in
    unit steps with a range of their own."""
    return load_spec("bplight-8b-1x2", overrides=[
        *_each("adc_bits=4", "adc_range_mode=calibrated", "crosstalk=false",
               f"adc_range_granularity={granularity}"), *extra])


def _relu_operands(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(256, 64, generator=g, dtype=torch.float64).clamp(min=0) ** 2
    b = torch.randn(32, 64, generator=g, dtype=torch.float64)
    return a, b


def test_pair_calibration_measures_each_pair() -> None:
    spec = _pair_spec("slice_pair")
    a, b = _relu_operands(0)
    m = plan(GemmShape(256, 64, 32, "forward", input_signed=False), spec)
    scales = (float(a.abs().max()), float(b.abs().max()))
    cal = calibrate(a, b, m, scales, False, 99.0, per_pair=True)
    sums, _ = pass_sums(a, b, m, scales, False)
    assert len(cal.pair_ranges) == m.input_slices and len(cal.pair_ranges[0]) == 4
    for i in range(m.input_slices):
        for j in range(m.weight_slices):
            clip = cal.pair_ranges[i][j] * m.full_scale
            frac = float((sums[:, i, j].abs() > clip + 1e-9).double().mean())
            assert clip == pytest.approx(round(clip)) and frac <= 0.01 + 1e-12
    ranges = [r for row in cal.pair_ranges for r in row]
    assert cal.adc_range == max(ranges) and min(ranges) < max(ranges) / 4
    from bplight.numerics.calibration import AdcCalibration, AdcRanges

    assert AdcCalibration.from_tensor(cal.as_tensor()) == cal
    ranges_obj = AdcRanges()
    ranges_obj.calibrations[("forward", "x")] = cal
    ranges_obj.products[("forward", "x")] = 7
    back = AdcRanges()
    back.set_state(ranges_obj.get_state())
    assert back.calibrations == ranges_obj.calibrations and back.products[("forward", "x")] == 7
    # the plan: each pair's step and clip by the Mapping's own formulas
    mp = plan(m.gemm, spec, adc_range=cal.adc_range, pair_ranges=cal.pair_ranges)
    for i in range(m.input_slices):
        for j in range(m.weight_slices):
            one = plan(m.gemm, spec, adc_range=cal.pair_ranges[i][j])
            assert mp.pair_adc_step[i][j] == one.adc_step
            assert mp.pair_adc_clip[i][j] == one.adc_clip
    assert mp.adc_step == max(max(r) for r in mp.pair_adc_step) > 1.0
    assert min(min(r) for r in mp.pair_adc_step) == 1.0


@pytest.mark.parametrize("sigma", [0.0, 0.05])
def test_exact_and_fast_agree_with_pair_ranges(sigma: float) -> None:
    """Exact (each pass read at its pair's step and clip) and fast (per-pair read-error
    variance + the calibration's clipping variance) err alike (mean squares within 15 %;
    measured within 2 %), and per-pair ranges err far less than one range per layer
    (measured 25x: the high-order pairs, which carry the significance, read in unit
    steps). (One range per layer steps coarsely by 10/7 of a unit here, where the fast
    engine's uniform-rounding model of small integer sums underestimates the exact
    engine's error by ~30 %: that mode's agreement is tested where its step is one unit,
    tests/test_adc_calibration.py.)"""
    a, b = _relu_operands(1)
    gemm = GemmShape(256, 64, 32, "forward", input_signed=False)
    scales = (float(a.abs().max()), float(b.abs().max()))
    phys = Physics(sigma / 48, None)
    mse = {}
    for gran in ("layer", "slice_pair"):
        spec = _pair_spec(gran)
        m0 = plan(gemm, spec)
        cal = calibrate(a, b, m0, scales, False, 99.9, per_pair=gran == "slice_pair")
        m = plan(gemm, spec, adc_range=cal.adc_range, adc_clip_var=cal.clip_var,
                 pair_ranges=cal.pair_ranges)
        ref = Operand(a).quantized(m.input_code_bits) @ Operand(b).quantized(
            m.weight_magnitude_bits).T
        gen = torch.Generator().manual_seed(4)
        exact = exact_matmul(a, b, m, phys, gen)
        fast = torch.stack([fast_matmul(a, b, m, phys, gen) for _ in range(4)])
        mse[gran] = float((exact - ref).square().mean())
        if gran == "slice_pair":
            assert m.pair_adc_step and m.adc_step > 1.0
            assert float((fast - ref).square().mean()) == pytest.approx(mse[gran],
                                                                        rel=0.15)
    assert mse["slice_pair"] < 0.1 * mse["layer"]


def test_pair_ranges_are_charged_and_refused_with_the_analog_sum() -> None:
    """One range selection per ADC read in every batch (energy, in the bank), besides the
    histogram updates of one batch in adc_calibration_batches."""
    wl = Workload.from_name("lenet5", (1, 32, 32))
    layer = estimate(wl, _pair_spec("layer"), batch=16)
    pair = estimate(wl, _pair_spec("slice_pair"), batch=16)
    reads = pair.counts["adc_conversions"]
    assert layer.counts["adc_calibration_ops"] == pair.counts["adc_calibration_ops"] \
        == pytest.approx(reads / 100)
    assert pair.counts["adc_range_selects"] == reads > 0 == layer.counts["adc_range_selects"]
    assert pair.energy_by_component_j["digital"] - layer.energy_by_component_j["digital"] \
        == pytest.approx(reads * 0.05e-12, rel=1e-6)
    assert pair.latency_s == layer.latency_s  # selected by the bank, not the tile's lanes
    with pytest.raises(ConfigError, match="adc_range_granularity 'slice_pair' needs"):
        load_spec("bplight-8b-analog-sum", _each("adc_range_granularity=slice_pair"))


@pytest.mark.parametrize("mode", ["fast", "exact"])
def test_training_calibrates_each_pair(mode: str) -> None:
    """A converted model under slice_pair ranges calibrates every (phase, layer) with one
    range per pair, and a training step runs in both modes."""
    spec = _pair_spec("slice_pair", f"mode={mode}")
    model = convert(_cnn(), spec)
    x, y = torch.randn(2, 1, 10, 10), torch.randint(0, 5, (2,))
    F.cross_entropy(model(x), y).backward()
    cals = model.bplight_hw.adc_ranges.calibrations
    assert cals and all(len(c.pair_ranges) >= 7 and len(c.pair_ranges[0]) == 4
                        for c in cals.values())
    assert all(p.grad is not None and torch.isfinite(p.grad).all()
               for p in model.parameters())


def test_a_cost_sweep_over_the_slice_sum_equals_estimate_per_point() -> None:
    import numpy as np

    from bplight.cost import sweep

    wl = Workload.from_name("lenet5", (1, 32, 32))
    spec = load_spec("bplight-8b-analog-sum")
    sums = np.array(["analog", "digital", "analog"], dtype=object)
    bits = np.array([10, 7, 12])
    params = {f"{p}.slice_sum": sums for p in PHASES}
    params.update({f"{p}.adc_bits": bits for p in PHASES})
    r = sweep(wl, spec, "train", 16, params)
    for i in range(3):
        one = estimate(wl, load_spec("bplight-8b-analog-sum", _each(
            f"slice_sum={sums[i]}", f"adc_bits={bits[i]}")), "train", 16)
        assert r.energy_j[i] == pytest.approx(one.energy_j, rel=1e-9)
        assert r.area_mm2[i] == pytest.approx(one.area_mm2, rel=1e-9)
        assert r.latency_s[i] == pytest.approx(one.latency_s, rel=1e-9)
