"""The ring model (issue 9) against published values; each test names its source.

CrossLight: Sunny et al., "CrossLight: A Cross-Layer Optimized Silicon Photonic Neural
Network Accelerator", DAC 2021, arXiv:2102.06960. DEAP-CNN: Bangari et al., "Digital
Electronics and Analog Photonics for Convolutional Neural Networks (DEAP-CNNs)", IEEE
JSTQE 26, 7701213 (2020). SAX: Laporte et al., the open photonic circuit simulator
(https://github.com/flaport/sax)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bplight.config import load_spec
from bplight.devices import microring as mr
from bplight.photonics.crosstalk import bank_model

LAM, FSR = 1550e-9, 18e-9


def test_crosslight_neighbour_crosstalk_from_the_add_drop_ring() -> None:
    """CrossLight eq. 8: -20.3 dB between rings 1 nm apart at Q 8000. The add-drop bank
    model (a near-lossless ring, intrinsic Q 1e7, resting on its carrier: digit +1)
    drops that much of the neighbouring carrier."""
    spec = load_spec("bplight-16b", ["photonics.ring_model=add_drop",
                                     "photonics.ring_intrinsic_q=1e7"])
    bank = bank_model(spec)
    top = 2 * bank.levels  # digit +L: no detuning
    assert bank.detuning_m[top] == 0.0
    assert 10 * math.log10(bank.drop[top, 7, 8]) == pytest.approx(-20.3, abs=0.1)
    assert 10 * math.log10(bank.drop[top, 8, 7]) == pytest.approx(-20.3, abs=0.1)


def test_deap_cnn_weight_range() -> None:
    """DEAP-CNN: an add-drop ring with r1 = r2 = a = 0.99 read by a balanced detector
    reaches weights [-1.00, +0.33]."""
    w_min, w_max = mr.weight_range(0.99, 0.99, 0.99)
    assert w_min == pytest.approx(-1.00, abs=0.005)
    assert w_max == pytest.approx(0.33, abs=0.005)


def test_crosslight_thermal_tuning_efficiency() -> None:
    """CrossLight sec. V: 27.5 mW shifts a resonance by one FSR (18 nm), 0.65 nm/mW, the
    reference heater efficiency; a ring at w = -0.96 (0.68 nm at Q 8000, Lorentzian) then
    needs about 1 mW of heater power (issue 9)."""
    ref = load_spec("bplight-16b")
    assert ref.photonics.ring_heater_m_per_w == pytest.approx(18e-9 / 27.5e-3, rel=1e-3)
    shift = float(mr.lorentzian_detuning_for_weight_m(-0.96, LAM, 8000.0))
    assert shift == pytest.approx(0.68e-9, abs=0.005e-9)
    assert shift / ref.photonics.ring_heater_m_per_w == pytest.approx(1.04e-3, rel=0.01)
    assert float(mr.thermal_tuning_power_w(shift, FSR)) == pytest.approx(1.04e-3, rel=0.01)


def test_circuit_simulator_agrees_with_the_ring_model() -> None:
    """SAX, solving a netlist of its own couplers and waveguides, gives the add-drop
    ring's through and drop spectra of the reference ring within 2e-4 over +-1 nm
    (tests/test_ring_circuit.py has the weight calibration, crosstalk matrix and bank)."""
    pytest.importorskip("sax", reason="SAX is not installed: pip install bplight[circuit]")
    from bplight.photonics.circuit import RingGeometry, ring_response

    r1, r2, a = mr.ring_from_q(8000.0, 1e5, FSR, LAM)
    geom = RingGeometry.for_fsr(FSR, LAM, r1, a)
    lam = np.linspace(LAM - 1e-9, LAM + 1e-9, 81)
    t, d = ring_response(geom, lam)
    ph = 2 * math.pi * (lam - LAM) / geom.fsr_m
    np.testing.assert_allclose(t, mr.through_transmission(ph, r1, r2, a), atol=2e-4)
    np.testing.assert_allclose(d, mr.drop_transmission(ph, r1, r2, a), atol=2e-4)
