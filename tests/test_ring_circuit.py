"""The analytic ring and bank model against the SAX circuit simulator (optional extra
``bplight[circuit]``; skipped with the reason when SAX is absent). SAX solves a netlist of
its own couplers and waveguides (:mod:`bplight.photonics.circuit`); tolerances: the
analytic model takes the round-trip phase linear in wavelength (one FSR at lambda0),
the circuit's phase is 2 pi n L / lambda, so the two part slowly away from lambda0:
single-ring transmissions within 2e-4 over +-2 nm, the weight a detuning sets within
2e-3, the crosstalk matrix of 16 carriers over 16 nm within 8 % (5e-4 absolute), the
bank's through spectrum within 2e-3. The first SAX call compiles (jax): ~10-20 s."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("sax", reason="SAX is not installed: pip install bplight[circuit]")

from bplight.config import load_spec  # noqa: E402
from bplight.devices import microring as mr  # noqa: E402
from bplight.photonics.circuit import (  # noqa: E402
    RingGeometry,
    bank_through,
    ring_response,
)
from bplight.photonics.crosstalk import bank_model  # noqa: E402
from bplight.photonics.scaling import bank_spectra  # noqa: E402

SPEC = load_spec("bplight-16b", ["photonics.ring_model=add_drop"])
LAM = 1550e-9


@pytest.fixture(scope="module")
def bank():
    return bank_model(SPEC)


@pytest.fixture(scope="module")
def geom(bank):
    return RingGeometry.for_fsr(bank.fsr_m, LAM, bank.r1, bank.a)


def test_single_ring_spectra(bank, geom) -> None:
    lam = np.linspace(LAM - 2e-9, LAM + 2e-9, 201)
    t, d = ring_response(geom, lam)
    ph = 2 * math.pi * (lam - LAM) / geom.fsr_m
    np.testing.assert_allclose(t, mr.through_transmission(ph, bank.r1, bank.r2, bank.a),
                               atol=2e-4)
    np.testing.assert_allclose(d, mr.drop_transmission(ph, bank.r1, bank.r2, bank.a),
                               atol=2e-4)


def test_weight_versus_detuning_calibration(bank, geom) -> None:
    for k, shift in enumerate(bank.detuning_m):
        t, d = ring_response(geom, np.array([LAM]), float(shift))
        assert float(d[0] - t[0]) == pytest.approx(bank.realised_w[k], abs=2e-3)


def test_crosstalk_matrix(bank, geom) -> None:
    c = bank.channels
    carriers = LAM + (np.arange(c) - (c - 1) / 2) * SPEC.photonics.channel_spacing_m
    for k in range(2 * bank.levels + 1):
        for i in (0, 7, 15):
            _, d = ring_response(geom, carriers, (i - (c - 1) / 2) * 1e-9
                                 + float(bank.detuning_m[k]))
            others = np.arange(c) != i
            np.testing.assert_allclose(d[others], bank.drop[k, i][others], rtol=0.08,
                                       atol=5e-4)


def test_bank_through_spectrum() -> None:
    spec = load_spec("bplight-16b", ["photonics.ring_model=add_drop",
                                     "photonics.wavelengths_per_bank=4"])
    b = bank_model(spec)
    g = RingGeometry.for_fsr(b.fsr_m, LAM, b.r1, b.a)
    sp = bank_spectra(spec, points=301)
    t = bank_through(g, sp.wavelength_m, b.detuning_m[sp.digits + b.levels], 1e-9)
    np.testing.assert_allclose(t, sp.through, atol=2e-3)
