"""The design knobs of issue 8 against closed forms: RIN correlation across wavelengths,
the noise-bandwidth convention, the per-pair (output-variance) read budget, the bound of
a design's latency. Each knob lives in the one description (HardwareSpec) and reaches
both engines through the link budget and the Mapping."""

from __future__ import annotations

import math

import pytest
import torch

from bplight.config import load_spec
from bplight.cost import estimate
from bplight.cost.engine import BOUNDS, LATENCY_TERMS
from bplight.devices import photodetector as pd
from bplight.errors import InfeasibleDesignError
from bplight.mapping import GemmShape, plan
from bplight.numerics.engine import Physics, exact_matmul, fast_noise_var
from bplight.photonics import read_noise
from bplight.photonics.link_budget import check_link_budget, link_budget
from bplight.workload import Workload

PHASES = ("forward", "error", "weight_grad")


def _all(field: str, value) -> list[str]:
    return [f"{p}.{field}={value}" for p in PHASES]


# ------------------------------------------------------------------ RIN correlation

def test_independent_rin_adds_in_power_closed_form() -> None:
    """C independent lines of current I/C: sigma² = RIN Σ (I/C)² B = RIN I² B / C, so the
    cap 1/(RIN B) rises by exactly 10 log10(C) dB."""
    b = 2.5e9
    for c in (1, 4, 16, 64):
        eff = pd.effective_rin_db_per_hz(-140.0, c, "independent")
        assert eff == pytest.approx(-140.0 - 10.0 * math.log10(c))
        ratio = pd.rin_limited_snr(eff, b) / pd.rin_limited_snr(-140.0, b)
        assert ratio == pytest.approx(c, rel=1e-12)
        # the variance of C independent lines summed, computed line by line
        i_total = 1e-3
        lines = sum(pd.rin_noise_var_a2(i_total / c, -140.0, b) for _ in range(c))
        assert lines == pytest.approx(pd.rin_noise_var_a2(i_total, eff, b), rel=1e-12)
    assert pd.effective_rin_db_per_hz(-140.0, 16, "correlated") == -140.0
    with pytest.raises(ValueError, match="correlated, independent"):
        pd.effective_rin_db_per_hz(-140.0, 16, "partly")


def test_independent_rin_lifts_the_link_budget_cap() -> None:
    """At the largest laser power the SNR is RIN-limited: independent lines gain
    ~10 log10(16) = 12.04 dB; 2-bit rings (exact reads need 51.4 dB) are infeasible with
    correlated RIN at -140 dB/Hz (46 dB cap) and close with independent lines."""
    at_max = ["laser.power_per_wavelength_w=0.1", "laser.target_snr_db=1"]
    corr = link_budget(load_spec("bplight-16b", overrides=at_max))
    ind = link_budget(load_spec("bplight-16b", overrides=[
        *at_max, "laser.rin_correlation=independent"]))
    assert ind.snr_db - corr.snr_db == pytest.approx(10 * math.log10(16), abs=0.3)
    assert ind.snr_db - corr.snr_db < 10 * math.log10(16)

    two_bit = [*_all("ring_bits", 2), *_all("adc_bits", 7)]
    bad = link_budget(load_spec("bplight-16b", overrides=two_bit))
    assert not bad.feasible and "RIN limit of 46.0 dB" in bad.reason
    ok = link_budget(load_spec("bplight-16b", overrides=[
        *two_bit, "laser.rin_correlation=independent"]))
    assert ok.feasible and ok.snr_db == pytest.approx(51.4457, abs=1e-3)


def test_rin_value_is_a_parameter_of_the_budget() -> None:
    """A quieter laser (-152 dB/Hz) closes the 2-bit-ring budget with correlated lines:
    the cap rises by the 12 dB of RIN."""
    spec = load_spec("bplight-16b", overrides=[
        *_all("ring_bits", 2), *_all("adc_bits", 7), "laser.rin_db_per_hz=-152"])
    assert check_link_budget(spec).feasible


# ------------------------------------------------------------------ noise bandwidth

@pytest.mark.parametrize("convention,divisor", [
    ("half_rate", 2.0), ("rate_over_sqrt2", math.sqrt(2.0)), ("rate", 1.0)])
def test_noise_bandwidth_convention(convention: str, divisor: float) -> None:
    spec = load_spec("bplight-16b", overrides=[f"detector.noise_bandwidth={convention}"])
    assert spec.detector_bandwidth_hz == pytest.approx(5e9 / divisor)
    # an explicit bandwidth wins over the convention
    fixed = load_spec("bplight-16b", overrides=[f"detector.noise_bandwidth={convention}",
                                                 "detector.bandwidth_hz=1e9"])
    assert fixed.detector_bandwidth_hz == 1e9


def test_noise_bandwidth_moves_the_rin_cap_by_its_ratio() -> None:
    """RIN-limited SNR is 1/(RIN B): B = f instead of f/2 costs 3.01 dB at the cap."""
    at_max = ["laser.power_per_wavelength_w=0.1", "laser.target_snr_db=1",
              "laser.rin_db_per_hz=-120"]
    half = link_budget(load_spec("bplight-16b", overrides=at_max))
    full = link_budget(load_spec("bplight-16b", overrides=[*at_max,
                                                            "detector.noise_bandwidth=rate"]))
    assert half.snr_db - full.snr_db == pytest.approx(10 * math.log10(2), abs=0.02)


# ------------------------------------------------------------------ per-pair read budget

def _small(*extra: str) -> list[str]:
    """4-bit inputs (3 magnitude bits: 3 one-bit slices, two sign passes) x 3-bit weights
    (2 magnitude bits: 2 one-bit slices), an ideal readout, RIN out of the way."""
    return [*_all("input_bits", 4), *_all("weight_bits", 3), *_all("adc_bits", "null"),
            "laser.rin_db_per_hz=-170", "laser.read_budget=output_variance", *extra]


def test_output_variance_budget_hand_worked() -> None:
    """Ideal readout: a read errs by the noise itself, v = sigma². One K-chunk's output
    (16 wavelengths) errs with variance 2 sign passes x Σ_ij 4^(i+j) sigma² =
    2 (1+4+16)(1+4) sigma² = 210 sigma²; its full scale is 16·7·3 = 336 code units. For
    a target of 1e-3 of full scale: sigma = 0.336 / sqrt(210) = 0.0231862 slice units, and
    SNR = (16 / sigma)² = 56.778 dB at the pass full scale of 16."""
    spec = load_spec("bplight-16b", overrides=_small("laser.output_error_rel=1e-3"))
    budget = check_link_budget(spec)
    sigma = 0.336 / math.sqrt(210.0)
    assert sigma == pytest.approx(0.0231862, rel=1e-5)
    assert budget.target_snr_db == pytest.approx(20 * math.log10(16 / sigma), abs=1e-9)
    assert budget.target_snr_db == pytest.approx(56.778, abs=1e-3)
    assert budget.noise_sigma_rel * 16 == pytest.approx(sigma, rel=1e-9)
    assert budget.output_error_rel == pytest.approx(1e-3, rel=1e-9)


def test_output_variance_budget_unit_step_adc() -> None:
    """With a unit-step ADC a read errs by round(N(0, sigma²)); the budget picks the sigma
    whose rounded-Gaussian variance, weighted as above, meets the target exactly."""
    spec = load_spec("bplight-16b", overrides=[*_small("laser.output_error_rel=1e-3"),
                                                *_all("adc_bits", 6)])
    m = plan(GemmShape(1, 16, 1, "forward"), spec)
    assert m.adc_step == 1.0 and m.integer_sums
    budget = check_link_budget(spec)
    sigma = budget.noise_sigma_rel * m.full_scale
    var = 210.0 * float(read_noise.rounded_gaussian_var(sigma))
    assert math.sqrt(var) / 336.0 == pytest.approx(1e-3, rel=1e-6)
    # rounding removes the small errors: noisier reads than the ideal readout are allowed
    ideal = check_link_budget(load_spec("bplight-16b", overrides=_small(
        "laser.output_error_rel=1e-3")))
    assert budget.target_snr_db < ideal.target_snr_db


def test_output_variance_is_what_the_fast_numerics_inject() -> None:
    """The fast engine's error variance of one K-chunk output, with the link budget's
    sigma, is the variance the budget allowed (the same per-pair sigma in both)."""
    spec = load_spec("bplight-16b", overrides=[*_small("laser.output_error_rel=2e-3"),
                                                *_all("adc_bits", 6)])
    budget = check_link_budget(spec)
    m = plan(GemmShape(1, 16, 1, "forward"), spec)
    phys = Physics(budget.noise_sigma_rel, None)
    var = fast_noise_var(m, phys, input_has_negative=True)
    assert math.sqrt(var) / 336.0 == pytest.approx(2e-3, rel=1e-6)


def test_output_variance_exact_engine_matches_the_budget() -> None:
    """The exact engine, reading every pass with the budget's sigma, errs with the
    budgeted variance on one K-chunk (sampled over 20000 outputs: within 5 %)."""
    spec = load_spec("bplight-16b", overrides=_small("laser.output_error_rel=3e-3"))
    budget = check_link_budget(spec)
    m = plan(GemmShape(200, 16, 100, "forward"), spec)
    gen = torch.Generator().manual_seed(0)
    a = torch.randint(-7, 8, (200, 16), generator=gen).double()
    a[0, 0] = -7.0
    b = torch.randint(-3, 4, (100, 16), generator=gen).double()
    b[0, 0] = 3.0
    y = exact_matmul(a, b, m, Physics(budget.noise_sigma_rel, None), gen)
    err = (y - a @ b.T) * (7 * 3) / (7.0 * 3.0)  # code units (scales are 7 and 3)
    rel = float(err.std()) / 336.0
    assert rel == pytest.approx(3e-3, rel=0.05)


def test_multibit_slices_become_feasible_with_a_known_noise_level() -> None:
    """8-bit operands in 2b x 2b slices (|sum| <= 144): exact reads need about 61 dB, above
    the 46 dB RIN cap; an output-variance budget of 2^-5 of the chunk's full scale closes
    under it (41.1 dB) and reports the output error it reaches. 2^-6 would need 47.8 dB:
    one laser feeds every pass, so the top pair's reads set the SNR."""
    slices = [*_all("input_bits", 8), *_all("weight_bits", 8), *_all("dac_bits", 2),
              *_all("ring_bits", 2), *_all("adc_bits", 9)]
    exact = link_budget(load_spec("bplight-16b", overrides=slices))
    assert not exact.feasible and "RIN limit" in exact.reason
    noisy = [*slices, "laser.read_budget=output_variance"]
    budget = check_link_budget(load_spec("bplight-16b", overrides=[
        *noisy, "laser.output_error_rel=0.03125"]))
    assert budget.snr_db == pytest.approx(41.07, abs=0.01)
    assert budget.output_error_rel == pytest.approx(2.0**-5, rel=1e-6)
    tight = link_budget(load_spec("bplight-16b", overrides=[
        *noisy, "laser.output_error_rel=0.015625"]))
    assert not tight.feasible and "47.8 dB SNR of an output error" in tight.reason


def test_budget_that_cannot_close_is_rejected_in_one_sentence() -> None:
    """A 3-bit ADC on 16-wavelength 1b x 1b passes steps by 16/3 slice units: its
    rounding alone gives sqrt(210 x (16/3)²/12) / 336 = 0.0664 of full scale."""
    spec = load_spec("bplight-16b", overrides=[*_small("laser.output_error_rel=1e-3"),
                                                *_all("adc_bits", 3)])
    with pytest.raises(InfeasibleDesignError) as info:
        check_link_budget(spec)
    msg = str(info.value)
    assert "3-bit ADC" in msg and "0.0664" in msg and "output_error_rel" in msg
    assert msg.count(". ") == 0 and "\n" not in msg


def test_default_budget_unchanged() -> None:
    """bplight-16b keeps its exact-read budget: 41.90 dB, -1.20 dBm per wavelength."""
    budget = check_link_budget(load_spec("bplight-16b"))
    assert budget.target_snr_db == pytest.approx(41.9033, abs=1e-4)
    assert budget.laser_power_per_wavelength_dbm == pytest.approx(-1.204, abs=0.01)


# ------------------------------------------------------------------ latency bound

def test_estimate_names_the_bound() -> None:
    wl = Workload.from_name("lenet5", (1, 32, 32))
    r = estimate(wl, load_spec("bplight-16b"), batch=8)
    assert r.bound in BOUNDS
    terms = r.latency_breakdown_s
    concurrent = max(terms[k] for k in LATENCY_TERMS[:6])
    if r.bound == "update":
        assert terms["update"] > concurrent
    elif r.bound in ("analog_passes", "ring_loads", "digital_macs"):
        assert terms["compute"] == concurrent
    else:
        assert terms[r.bound] == concurrent
    assert r.to_dict()["bound"] == r.bound


def test_bound_moves_to_edram_when_passes_drop() -> None:
    """Fewer passes (8-bit operands, 1b x 2b slices, offset encoding) shorten the compute;
    a starved eDRAM port then bounds the latency."""
    wl = Workload.from_name("lenet5", (1, 32, 32))
    fast = [*_all("input_bits", 8), *_all("weight_bits", 8), *_all("ring_bits", 2),
            *_all("adc_bits", 7), *_all("signed_inputs", "offset"),
            "laser.rin_db_per_hz=-152", "components.edram_bandwidth_bytes_per_s=1e8"]
    r = estimate(wl, load_spec("bplight-16b", overrides=fast), batch=8)
    assert r.bound == "edram"
    assert r.latency_breakdown_s["edram"] >= r.latency_breakdown_s["compute"]


# ------------------------------------------------------------------ non-volatile rings

def test_nonvolatile_rings_hold_without_power_and_pay_per_write() -> None:
    """Non-volatile weight rings: static ring power is the modulators' thermal hold only
    (cores x C x 1.2 mW), no electro-optic hold per pass, each ring setting pays its
    tuning-DAC conversion plus a 10 pJ write, each tile load 1 us; the estimate says
    after how many batches the rings wear out."""
    wl = Workload.from_name("lenet5", (1, 32, 32))
    vol = estimate(wl, load_spec("bplight-16b"), batch=8)
    spec = load_spec("bplight-16b", overrides=["components.weight_ring_tuning=nonvolatile"])
    nv = estimate(wl, spec, batch=8)
    cores = spec.architecture.tiles * spec.architecture.cores_per_tile
    assert nv.static_power_by_component_w["ring_thermal"] == pytest.approx(cores * 16 * 1.2e-3)
    assert vol.static_power_by_component_w["ring_thermal"] > \
        nv.static_power_by_component_w["ring_thermal"]
    sets = nv.counts["ring_settings"]
    assert sets == vol.counts["ring_settings"]
    dac_set = vol.energy_by_component_j["weight_ring"] - vol.counts["analog_passes"] * (
        16 * 4e3 * 1550e-9 / 8000 / 5e9)  # volatile: EO hold of C rings per pass + sets
    assert nv.energy_by_component_j["weight_ring"] == pytest.approx(dac_set + sets * 10e-12,
                                                                    rel=1e-6)
    assert nv.latency_s > vol.latency_s
    per_ring = sets / (cores * spec.architecture.banks_per_core * 16)
    assert nv.counts["ring_settings_per_ring"] == pytest.approx(per_ring)
    assert any(f"after {5e5 / per_ring:.4g} batches" in a for a in nv.assumptions)


def test_nonvolatile_rings_limit_the_ring_bits() -> None:
    from bplight.errors import ConfigError

    with pytest.raises(ConfigError, match="ring_bits = 6 exceeds the 5 bits"):
        load_spec("bplight-16b", overrides=["components.weight_ring_tuning=nonvolatile",
                                            *_all("ring_bits", 6), *_all("adc_bits", 12)])


def test_sweep_reads_the_new_knobs_as_estimate_does() -> None:
    """One description, two evaluations: a sweep over the new knobs gives estimate's
    energy, latency and bound point by point (infeasible points NaN with the reason)."""
    import numpy as np

    from bplight.cost import sweep

    wl = Workload.from_name("lenet5", (1, 32, 32))
    params = {
        "laser.rin_correlation": np.array(["correlated", "independent", "independent"]),
        "laser.read_budget": np.array(["exact_reads", "output_variance", "exact_reads"]),
        "forward.ring_bits": np.array([1, 2, 2]), "forward.adc_bits": np.array([6, 7, 7]),
        "forward.adc_range_mode": np.array(["worst_case", "calibrated", "calibrated"]),
        "components.weight_ring_tuning": np.array(["volatile", "nonvolatile", "volatile"]),
        "detector.noise_bandwidth": np.array(["half_rate", "rate", "rate_over_sqrt2"]),
    }
    r = sweep(wl, load_spec("bplight-16b"), "train", 8, params)
    for i in range(3):
        over = [f"{k}={v[i]}" for k, v in params.items()]
        e = estimate(wl, load_spec("bplight-16b", overrides=over), batch=8)
        assert r.feasible[i]
        assert r.energy_j[i] == pytest.approx(e.energy_j, rel=1e-9)
        assert r.latency_s[i] == pytest.approx(e.latency_s, rel=1e-9)
        assert r.bound[i] == e.bound
