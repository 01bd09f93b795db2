"""Device physics against closed forms and published numbers (microring, photodetector,
laser)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bplight.devices import laser, microring, photodetector
from bplight.units import db_to_linear

LAMBDA_M = 1550e-9
Q_CROSSLIGHT = 8000.0  # CrossLight


# ------------------------------------------------------------------ microring

def test_lossless_ring_conserves_power():
    # Bogaerts: with a = 1 all power leaves through the two ports.
    phase = np.linspace(-np.pi, np.pi, 1001)
    for r1, r2 in [(0.99, 0.99), (0.95, 0.9), (0.7, 0.8)]:
        total = (microring.through_transmission(phase, r1, r2, 1.0)
                 + microring.drop_transmission(phase, r1, r2, 1.0))
        np.testing.assert_allclose(total, 1.0, atol=1e-12)


def test_lossy_ring_loses_power_and_critical_coupling():
    phase = np.linspace(-np.pi, np.pi, 101)
    total = (microring.through_transmission(phase, 0.99, 0.99, 0.99)
             + microring.drop_transmission(phase, 0.99, 0.99, 0.99))
    assert np.all(total < 1.0)
    # Symmetric, lossless ring on resonance: everything to the drop port.
    assert microring.drop_transmission(0.0, 0.98, 0.98, 1.0) == pytest.approx(1.0)
    assert microring.through_transmission(0.0, 0.98, 0.98, 1.0) == pytest.approx(0.0, abs=1e-12)


def test_fwhm_matches_numerical_half_maximum():
    r1 = r2 = 0.99
    a = 0.995
    n_g, length_m = 4.2, 2 * np.pi * 5e-6
    fsr = microring.fsr_m(LAMBDA_M, n_g, length_m)
    det = np.linspace(0.0, 0.05 * fsr, 200001)
    td = microring.drop_transmission(2 * np.pi * det / fsr, r1, r2, a)
    half = det[np.argmin(np.abs(td - td[0] / 2))]
    fwhm = microring.fwhm_m(LAMBDA_M, n_g, length_m, r1, r2, a)
    assert 2 * half == pytest.approx(fwhm, rel=5e-3)
    assert microring.q_factor(LAMBDA_M, n_g, length_m, r1, r2, a) == pytest.approx(LAMBDA_M / fwhm)
    assert fsr == pytest.approx(LAMBDA_M**2 / (n_g * length_m))


def test_lorentzian_approximates_drop_port_near_resonance():
    r1 = r2 = 0.995
    n_g, length_m = 4.2, 2 * np.pi * 5e-6
    fsr = microring.fsr_m(LAMBDA_M, n_g, length_m)
    q = float(microring.q_factor(LAMBDA_M, n_g, length_m, r1, r2, 1.0))
    delta = float(microring.half_width_m(LAMBDA_M, q))
    det = np.linspace(0, 3 * delta, 50)
    exact = microring.drop_transmission(2 * np.pi * det / fsr, r1, r2, 1.0)
    np.testing.assert_allclose(exact, microring.phi(det, LAMBDA_M, q), atol=2e-3)
    assert microring.phi(delta, LAMBDA_M, q) == pytest.approx(0.5)
    assert microring.phi(0.0, LAMBDA_M, q) == pytest.approx(1.0)


def test_crosstalk_matrix_entries():
    x = microring.crosstalk_matrix(5, 1e-9, LAMBDA_M, Q_CROSSLIGHT)
    assert x.shape == (5, 5)
    np.testing.assert_array_equal(np.diag(x), 0.0)
    np.testing.assert_allclose(x, x.T)
    delta = LAMBDA_M / (2 * Q_CROSSLIGHT)
    assert x[0, 2] == pytest.approx(delta**2 / ((2e-9) ** 2 + delta**2))
    assert x[1, 2] > x[0, 2] > x[0, 4] > 0
    with pytest.raises(ValueError):
        microring.crosstalk_matrix(0, 1e-9, LAMBDA_M, Q_CROSSLIGHT)


def test_thermal_tuning_power():
    # CrossLight: 27.5 mW per FSR, linear in the shift.
    assert microring.thermal_tuning_power_w(18e-9, 18e-9) == pytest.approx(27.5e-3)
    np.testing.assert_allclose(microring.thermal_tuning_power_w([-4.5e-9, 9e-9], 18e-9),
                               [27.5e-3 / 4, 27.5e-3 / 2])


@pytest.mark.parametrize("r1,r2,a", [(0.99, 0.99, 0.99), (0.98, 0.97, 1.0), (0.9, 0.95, 0.98)])
def test_weight_inversion_roundtrip(r1, r2, a):
    w_min, w_max = microring.weight_range(r1, r2, a)
    assert -1.0 <= w_min < 0 < w_max <= 1.0
    targets = np.linspace(w_min, w_max, 257)
    phase = microring.phase_for_weight(targets, r1, r2, a)
    assert np.all((phase >= 0) & (phase <= np.pi))
    np.testing.assert_allclose(microring.balanced_weight(phase, r1, r2, a), targets, atol=1e-9)
    # Out-of-range targets are clipped to the reachable extremes.
    np.testing.assert_allclose(microring.phase_for_weight([2.0, -2.0], r1, r2, a), [0.0, np.pi],
                               atol=1e-5)
    fsr = 18e-9
    np.testing.assert_allclose(microring.detuning_for_weight_m(targets, fsr, r1, r2, a),
                               phase * fsr / (2 * np.pi))


def test_lossy_ring_narrows_weight_range():
    # DEAP: r = a = 0.99; loss keeps the weight range inside [-1, 1].
    lossless = microring.weight_range(0.99, 0.99, 1.0)
    lossy = microring.weight_range(0.99, 0.99, 0.99)
    assert lossless[1] == pytest.approx(1.0)
    assert lossy[1] < lossless[1] - 0.1


def test_lorentzian_weight_inversion():
    w = np.linspace(-0.99, 1.0, 101)
    det = microring.lorentzian_detuning_for_weight_m(w, LAMBDA_M, Q_CROSSLIGHT)
    np.testing.assert_allclose(microring.lorentzian_weight(det, LAMBDA_M, Q_CROSSLIGHT), w,
                               atol=1e-12)
    assert det[-1] == 0.0
    with pytest.raises(ValueError):
        microring.lorentzian_detuning_for_weight_m(1.5, LAMBDA_M, Q_CROSSLIGHT)


# ------------------------------------------------------------------ photodetector
# (AQ's published sensitivities and RIN cap: tests/published/test_published_photonics.py)

AQ = dict(dark_current_a=35e-9, load_ohm=50.0, temperature_k=300.0, rin_db_per_hz=-140.0)


def test_noise_terms_closed_form():
    # I = 1 mA, B = 1 GHz, no dark current, 50 Ohm, 300 K, RIN -140 dB/Hz, one detector:
    # shot 2 q I B = 3.20435e-13 A², thermal 4 k T B / R = 3.31356e-13 A², RIN 1e-11 A².
    shot, thermal, rin = 3.204353268e-13, 3.313557600e-13, 1.0e-11
    assert photodetector.shot_noise_var_a2(1e-3, 0.0, 1e9) == pytest.approx(shot, rel=1e-9)
    assert photodetector.thermal_noise_var_a2(1e9, 50.0, 300.0) == pytest.approx(thermal,
                                                                                rel=1e-9)
    assert photodetector.rin_noise_var_a2(1e-3, -140.0, 1e9) == pytest.approx(rin, rel=1e-12)
    s = photodetector.snr(1e-3, 1e9, 0.0, 50.0, 300.0, -140.0, balanced=False)
    assert s == pytest.approx(1e-6 / (shot + thermal + rin), rel=1e-9)
    # The balanced pair adds the second detector's dark shot and thermal noise.
    sb = photodetector.snr(1e-3, 1e9, 0.0, 50.0, 300.0, -140.0, balanced=True)
    assert sb == pytest.approx(1e-6 / (shot + 2 * thermal + rin), rel=1e-9)
    assert photodetector.snr_db(1e-3, 1e9, 0.0, 50.0, 300.0, -140.0, False) == pytest.approx(
        10 * math.log10(s))


def test_enob_and_bits():
    assert photodetector.snr_db_from_bits(7) == pytest.approx(43.9)
    assert photodetector.enob_from_snr_db(43.9) == pytest.approx(7.0)
    assert photodetector.enob_from_snr_db(photodetector.snr_db_from_bits(4.5)) == pytest.approx(4.5)


@settings(max_examples=60, deadline=None)
@given(snr_db=st.floats(0.0, 45.9), bandwidth_hz=st.floats(1e8, 2.5e9),
       balanced=st.booleans())
def test_required_photocurrent_solves_snr(snr_db, bandwidth_hz, balanced):
    target = db_to_linear(snr_db)
    current = photodetector.required_photocurrent(target, bandwidth_hz, balanced=balanced, **AQ)
    assert current > 0
    achieved = photodetector.snr(current, bandwidth_hz, balanced=balanced, **AQ)
    assert achieved == pytest.approx(target, rel=1e-7)


@settings(max_examples=60, deadline=None)
@given(lo=st.floats(0.0, 50.0), step=st.floats(0.0, 10.0), bandwidth_hz=st.floats(1e8, 1e10))
def test_higher_target_snr_never_lowers_required_photocurrent(lo, step, bandwidth_hz):
    i_lo = photodetector.required_photocurrent(db_to_linear(lo), bandwidth_hz, **AQ)
    i_hi = photodetector.required_photocurrent(db_to_linear(lo + step), bandwidth_hz, **AQ)
    assert i_hi >= i_lo


# ------------------------------------------------------------------ laser

def test_laser_power_relations():
    assert laser.electrical_power_w(0.02, 0.2) == pytest.approx(0.1)
    with pytest.raises(ValueError):
        laser.electrical_power_w(0.02, 0.0)
    # CrossLight eq. 7: P_laser = S + IL + 10 log10 N.
    assert laser.required_laser_power_dbm(-20.0, 6.0, 12.0) == pytest.approx(-2.0)
    assert laser.received_power_w(1e-3, 7.0, 3.0) == pytest.approx(1e-4)
    assert laser.comb_power_w(1e-3, 16) == pytest.approx(16e-3)
    assert laser.laser_power_w_from_dbm(0.0) == pytest.approx(1e-3)
