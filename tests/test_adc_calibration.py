"""ADC range management (``adc_range_mode: calibrated``): ranges measured from real sums,
clipping in the exact and the fast engine, the calibration charged by the cost engine and
respected by the link budget."""

from __future__ import annotations

import math

import pytest
import torch

from bplight.config import load_spec
from bplight.cost import estimate
from bplight.mapping import GemmShape, plan
from bplight.numerics.calibration import AdcCalibration, calibrate, pass_sums
from bplight.numerics.engine import Operand, Physics, exact_matmul, fast_matmul
from bplight.photonics.link_budget import link_budget
from bplight.workload import Workload

PHASES = ("forward", "error", "weight_grad")


def _spec(*extra: str):
    over = [f"{p}.{f}" for p in PHASES for f in (
        "input_bits=8", "weight_bits=8", "adc_bits=5", "adc_range_mode=calibrated",
        "crosstalk=false")]
    return load_spec("bplight-16b", overrides=[*over, *extra])


def _operands(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(512, 64, generator=g, dtype=torch.float64).clamp(min=0)  # post-ReLU
    b = torch.randn(48, 64, generator=g, dtype=torch.float64)
    return a, b


def test_pass_sums_rebuild_the_quantized_product() -> None:
    """The passes' sums, shifted by their significance and added over slices and chunks,
    are the product of the integer codes (what the calibration samples is what the ADC
    reads)."""
    spec = _spec()
    a, b = _operands()
    m = plan(GemmShape(512, 64, 48, "forward", input_signed=False), spec)
    sa, sb = float(a.abs().max()), float(b.abs().max())
    sums, sig = pass_sums(a, b, m, (sa, sb), a_negative=False)
    assert sums.shape == (1, m.input_slices, m.weight_slices, 48, 512, m.k_chunks)
    assert float(sums.abs().max()) <= m.full_scale
    rebuilt = torch.einsum("pij,pijnmk->mn", sig, sums)
    ca = torch.round(a / sa * (2**m.input_code_bits - 1))
    cb = torch.round(b / sb * (2**m.weight_magnitude_bits - 1))
    assert torch.equal(rebuilt, ca @ cb.T)


def test_calibrated_range_covers_the_percentile() -> None:
    spec = _spec()
    a, b = _operands()
    m = plan(GemmShape(512, 64, 48, "forward", input_signed=False), spec)
    scales = (float(a.abs().max()), float(b.abs().max()))
    cal = calibrate(a, b, m, scales, False, 99.0)
    sums, _ = pass_sums(a, b, m, scales, False)
    clip = cal.adc_range * m.full_scale
    assert clip == round(clip) and 1 <= clip < m.full_scale  # whole units, below worst case
    frac = float((sums.abs() > clip + 1e-9).double().mean())
    assert frac <= 0.01 + 1e-12
    assert float((sums.abs() > clip - 1 + 1e-9).double().mean()) > 0.01  # the least such clip
    assert cal.clipped_fraction == pytest.approx(frac, abs=2e-3)
    assert AdcCalibration.from_tensor(cal.as_tensor()) == cal


@pytest.mark.parametrize("percentile,sigma", [(99.0, 0.0), (99.0, 0.01), (99.99, 0.01)])
def test_exact_and_fast_agree_with_calibrated_clipping_ranges(percentile: float,
                                                              sigma: float) -> None:
    """5-bit ADC (15 codes) on 16 x 1b x 1b passes: the worst-case range steps by 16/15 of
    a unit; the calibrated one reads in unit steps and clips the rare large sums. The
    exact engine (every pass read, clipped) and the fast engine (quantized product + read
    errors + the calibration's clipping variance) err alike: mean squares within 15 %,
    with clipping alone (no detector noise) and with noise."""
    spec = _spec()
    a, b = _operands(1)
    a, b = a[:256], b[:32]
    gemm = GemmShape(256, 64, 32, "forward", input_signed=False)
    m_wc = plan(gemm, spec)
    scales = (float(a.abs().max()), float(b.abs().max()))
    cal = calibrate(a, b, m_wc, scales, False, percentile)
    m = plan(gemm, spec, adc_range=cal.adc_range, adc_clip_var=cal.clip_var)
    assert m.adc_step == 1.0 and m_wc.adc_step > 1.0
    if percentile == 99.0:
        assert cal.clipped_fraction > 0.001 and cal.clip_var > 0
    phys = Physics(sigma, None)
    ref = Operand(a).quantized(m.input_code_bits) @ Operand(b).quantized(
        m.weight_magnitude_bits).T
    # (six draws each: with noise, a few large wrong reads make one draw's mean square
    # vary by +-12 % from seed to seed)
    gens = [torch.Generator().manual_seed(s) for s in range(6)]
    exact = torch.stack([exact_matmul(a, b, m, phys, g) for g in gens])
    fast = torch.stack([fast_matmul(a, b, m, phys, g) for g in gens])
    mse_exact = float((exact - ref).square().mean())
    mse_fast = float((fast - ref).square().mean())
    assert mse_exact > 0
    assert mse_fast == pytest.approx(mse_exact, rel=0.15)
    # the worst-case range errs more: every read rounded by a 16/15 step
    exact_wc = exact_matmul(a, b, m_wc, phys, torch.Generator().manual_seed(2))
    assert float((exact_wc - ref).square().mean()) > mse_exact


def test_link_budget_assumes_the_finest_calibrated_step() -> None:
    """A calibrated range may read in unit steps where the worst case steps by 16/15: the
    exact-read budget then needs the SNR of unit steps."""
    worst = link_budget(load_spec("bplight-16b", overrides=[
        f"{p}.adc_bits=5" for p in PHASES]))
    cal = link_budget(_spec())
    unit = 20 * math.log10(16 / (1 / (2 * 3.8905918864131)))
    assert cal.target_snr_db == pytest.approx(unit, abs=0.01)
    assert worst.target_snr_db == pytest.approx(unit - 20 * math.log10(16 / 15), abs=0.01)


def test_cost_charges_the_calibration() -> None:
    """One digital histogram update per ADC read of one batch in adc_calibration_batches."""
    wl = Workload.from_name("lenet5", (1, 32, 32))
    base = estimate(wl, load_spec("bplight-16b"), batch=16)
    over = [f"{p}.adc_range_mode=calibrated" for p in PHASES]
    for interval in (1, 50):
        spec = load_spec("bplight-16b", overrides=[
            *over, *[f"{p}.adc_calibration_batches={interval}" for p in PHASES]])
        r = estimate(wl, spec, batch=16)
        reads = r.counts["adc_conversions"]
        assert r.counts["adc_calibration_ops"] == pytest.approx(reads / interval)
        op = spec.components.activation_energy_j
        assert r.energy_by_component_j["digital"] - base.energy_by_component_j["digital"] \
            == pytest.approx(reads / interval * op, rel=1e-6)
    assert base.counts["adc_calibration_ops"] == 0


def _net() -> torch.nn.Module:
    torch.manual_seed(0)
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(),
        nn.Linear(6 * 4 * 4, 5))


@pytest.mark.parametrize("mode", ["fast", "exact"])
def test_training_calibrates_every_layer_and_phase(mode: str) -> None:
    """A converted model calibrates each (phase, layer) from its first batch, keeps the
    ranges for the next adc_calibration_batches - 1 batches, re-measures, and saves them
    with the context's state; calibrated and worst-case training steps differ."""
    from bplight.numerics import convert

    spec = _spec(f"mode={mode}", *[f"{p}.adc_calibration_batches=2" for p in PHASES])
    net = convert(_net(), spec)
    hw = net.bplight_hw
    x, y = torch.randn(6, 1, 16, 16), torch.randint(0, 5, (6,))
    if mode == "exact":
        x, y = x[:2], y[:2]
    torch.nn.functional.cross_entropy(net(x), y).backward()
    keys = set(hw.adc_ranges.calibrations)
    layers = {"0", "3", "6"}
    assert keys == {(p, n) for p in PHASES for n in layers} - {("error", "0")}
    first = dict(hw.adc_ranges.calibrations)
    assert all(0 < c.adc_range < 1 for c in first.values())
    if mode == "exact":  # (the exact engine reads the same plans; one batch is enough)
        return
    torch.nn.functional.cross_entropy(net(2 * x), y).backward()  # 2nd batch: kept
    assert hw.adc_ranges.calibrations == first
    state = hw.get_state()
    torch.nn.functional.cross_entropy(net(x[:3]), y[:3]).backward()  # 3rd: re-measured
    assert hw.adc_ranges.products[("forward", "0")] == 3
    net2 = convert(_net(), spec)
    net2.bplight_hw.set_state(state)
    assert net2.bplight_hw.adc_ranges.calibrations == first
    assert net2.bplight_hw.adc_ranges.products[("forward", "0")] == 2
