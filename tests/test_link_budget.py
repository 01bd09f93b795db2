"""Link budget (laser power, SNR, noise per pass) and weight-bank crosstalk."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bplight.config import load_spec
from bplight.devices import photodetector
from bplight.photonics import (
    LinkBudgetError,
    bank_coupling,
    bank_crosstalk,
    check_link_budget,
    crosstalk_db_neighbour,
    link_budget,
    pass_noise_sigma,
    path_loss_db,
    split_db,
)
from bplight.units import dbm_to_watt, watt_to_dbm

REF = load_spec("bplight-16b")


def _with(spec, block, **fields):
    return spec.replace(**{block: getattr(spec, block).model_copy(update=fields)})


def _all_products(spec, **fields):
    return spec.replace(**{p: spec.product(p).model_copy(update=fields)
                           for p in ("forward", "error", "weight_grad")})


# ------------------------------------------------------------------ losses

def test_path_loss_and_split_of_reference_design():
    # coupler 1.6 + waveguide 100 dB/m x 5 mm + 4 splitter stages x 0.13 + combiner 0.9
    # + modulator 0.72 + 15 rings x 0.02 + weight ring 0.72 + margin 1.0
    assert path_loss_db(REF) == pytest.approx(1.6 + 0.5 + 0.52 + 0.9 + 0.72 + 0.3 + 0.72 + 1.0)
    assert split_db(REF) == pytest.approx(10 * math.log10(16))
    one_bank = _with(REF, "architecture", banks_per_core=1)
    assert split_db(one_bank) == 0.0
    assert path_loss_db(one_bank) == pytest.approx(path_loss_db(REF) - 0.52)


# ------------------------------------------------------------------ reference budget

Z_1E4 = NormalDist().inv_cdf(1 - 0.5e-4)  # reads err with probability 1e-4


def test_reference_budget_closes_for_reliable_reads():
    b = link_budget(REF)
    assert b.feasible and b.reason == ""
    # |sum| <= 16 read in unit steps; sigma = 1 / (2 z) units
    assert b.target_snr_db == pytest.approx(20 * math.log10(16 * 2 * Z_1E4))
    assert b.target_snr_db == pytest.approx(41.9, abs=0.05)
    assert b.snr_db == pytest.approx(b.target_snr_db, abs=1e-9)
    assert b.noise_sigma_rel == pytest.approx(10 ** (-b.snr_db / 20))
    # Power chain: laser -> (path loss + split) -> detector; 16 wavelengths per core.
    assert watt_to_dbm(b.laser_power_per_wavelength_w) == pytest.approx(
        watt_to_dbm(b.received_power_per_wavelength_w) + b.path_loss_db + b.split_db)
    assert b.full_scale_photocurrent_a == pytest.approx(
        1.2 * 16 * b.received_power_per_wavelength_w)
    assert b.laser_optical_power_w == pytest.approx(16 * b.laser_power_per_wavelength_w)
    assert b.laser_electrical_power_w == pytest.approx(b.laser_optical_power_w / 0.2)
    assert b.laser_power_per_wavelength_dbm < watt_to_dbm(REF.laser.max_power_per_wavelength_w)
    # The detector sees exactly the required photocurrent (balanced, B = 2.5 GHz).
    need = photodetector.required_photocurrent(
        10 ** (b.target_snr_db / 10), 2.5e9, 35e-9, 50.0, 300.0, -140.0, balanced=True)
    assert b.full_scale_photocurrent_a == pytest.approx(need)
    assert pass_noise_sigma(REF) == b.noise_sigma_rel
    assert check_link_budget(REF) is b


def test_budget_is_cached_per_spec():
    assert link_budget(REF) is link_budget(load_spec("bplight-16b"))


def test_two_bit_rings_at_5gsps_are_rin_limited():
    spec = _all_products(REF, ring_bits=2, adc_bits=7)
    b = link_budget(spec)
    assert not b.feasible
    assert "RIN limit" in b.reason and "51.4" in b.reason and "46.0" in b.reason
    # As built: the maximum power, whose SNR stays below the RIN cap.
    assert b.laser_power_per_wavelength_w == pytest.approx(spec.laser.max_power_per_wavelength_w)
    assert b.snr_db < 10 * math.log10(photodetector.rin_limited_snr(-140.0, 2.5e9))
    assert pass_noise_sigma(spec) == pytest.approx(10 ** (-b.snr_db / 20))
    with pytest.raises(LinkBudgetError, match="RIN limit"):
        check_link_budget(spec)


def test_power_above_maximum_is_infeasible():
    spec = _with(REF, "laser", max_power_per_wavelength_w=dbm_to_watt(-3.0))
    b = link_budget(spec)
    assert not b.feasible
    need = link_budget(REF).laser_power_per_wavelength_dbm
    assert f"{need:.1f} dBm" in b.reason and "-3.0 dBm maximum" in b.reason
    assert b.laser_power_per_wavelength_w == pytest.approx(dbm_to_watt(-3.0))
    assert b.snr_db < link_budget(REF).snr_db
    with pytest.raises(LinkBudgetError, match="maximum") as info:
        check_link_budget(spec)
    from bplight.errors import InfeasibleDesignError

    assert isinstance(info.value, InfeasibleDesignError) and not isinstance(info.value, ValueError)


def test_configured_power():
    solved = link_budget(REF)
    same = _with(REF, "laser", power_per_wavelength_w=solved.laser_power_per_wavelength_w * 1.001)
    assert link_budget(same).feasible
    assert link_budget(same).snr_db == pytest.approx(solved.snr_db, abs=0.01)
    low = _with(REF, "laser", power_per_wavelength_w=1e-4)
    b = link_budget(low)
    assert not b.feasible and "below the 41.9 dB" in b.reason
    assert b.laser_power_per_wavelength_w == 1e-4
    high = _with(REF, "laser", power_per_wavelength_w=0.2)
    assert not link_budget(high).feasible
    assert "maximum" in link_budget(high).reason


def test_explicit_target_and_adc_range():
    spec = _with(REF, "laser", target_snr_db=30.0)
    assert link_budget(spec).snr_db == pytest.approx(30.0)
    assert (link_budget(spec).laser_power_per_wavelength_w
            < link_budget(REF).laser_power_per_wavelength_w)
    # a coarse 4-bit ADC (step 16/7 units) tolerates proportionally more noise
    coarse = _all_products(REF, adc_bits=4)
    step = 16 / 7
    assert link_budget(coarse).target_snr_db == pytest.approx(
        20 * math.log10(16 * 2 * Z_1E4 / step))


def test_no_resolution_means_no_requirement():
    ideal = load_spec("ideal")
    b = link_budget(ideal)
    assert b.target_snr_db is None and b.feasible
    assert b.laser_power_per_wavelength_w == pytest.approx(ideal.laser.max_power_per_wavelength_w)
    assert pass_noise_sigma(ideal) == 0.0
    noisy = _all_products(ideal, detector_noise=True)
    assert pass_noise_sigma(noisy) == pytest.approx(b.noise_sigma_rel)
    assert pass_noise_sigma(_all_products(REF, detector_noise=False)) == 0.0


@settings(max_examples=25, deadline=None)
@given(extra_db=st.floats(0.0, 10.0), base_db=st.floats(0.0, 5.0))
def test_more_loss_never_lowers_laser_power(extra_db, base_db):
    lo = _with(REF, "link", coupler_db=base_db)
    hi = _with(REF, "link", coupler_db=base_db + extra_db)
    assert (link_budget(hi).laser_power_per_wavelength_w
            >= link_budget(lo).laser_power_per_wavelength_w * (1 - 1e-12))


@settings(max_examples=25, deadline=None)
@given(lo=st.floats(5.0, 47.0), step=st.floats(0.0, 5.0))
def test_higher_target_never_lowers_laser_power(lo, step):
    # Past the RIN cap (46.0 dB) the budget is infeasible and runs at the maximum power,
    # which is never below a feasible solution.
    a = link_budget(_with(REF, "laser", target_snr_db=lo))
    b = link_budget(_with(REF, "laser", target_snr_db=lo + step))
    assert b.laser_power_per_wavelength_w >= a.laser_power_per_wavelength_w * (1 - 1e-12)
    assert b.full_scale_photocurrent_a >= a.full_scale_photocurrent_a * (1 - 1e-12)
    assert b.feasible <= a.feasible


# ------------------------------------------------------------------ bank crosstalk
# (CrossLight's published neighbour crosstalk: tests/published/test_published_photonics.py)

def _photonics(spacing_m=1e-9, n=16, q=8000.0):
    return _with(REF, "photonics", channel_spacing_m=spacing_m, wavelengths_per_bank=n, ring_q=q)


def test_bank_crosstalk_shape_symmetry_and_definition():
    x = bank_crosstalk(REF)
    assert x.shape == (16, 16)
    np.testing.assert_array_equal(np.diag(x), 0.0)
    np.testing.assert_allclose(x, x.T)
    assert x[0, 1] == pytest.approx(10 ** (crosstalk_db_neighbour(REF) / 10))
    # W_eff = W @ (I + X): a single non-zero weight on channel 0 leaks phi(0, j) to j.
    w = np.zeros(16)
    w[0] = 1.0
    np.testing.assert_allclose(w @ bank_coupling(REF), np.r_[1.0, x[0, 1:]])


def test_crosstalk_falls_with_spacing_and_grows_with_wavelengths():
    spacings = [0.5e-9, 0.8e-9, 1e-9]
    neigh = [crosstalk_db_neighbour(_photonics(s, n=8)) for s in spacings]
    assert neigh[0] > neigh[1] > neigh[2]
    total = [bank_crosstalk(_photonics(1e-9, n=n)).sum(axis=1).max() for n in (2, 4, 8, 16)]
    assert all(b > a for a, b in zip(total, total[1:], strict=False))
    assert crosstalk_db_neighbour(_photonics(q=16000.0)) < crosstalk_db_neighbour(REF)
