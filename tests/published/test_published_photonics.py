"""Photonic device and link models against independently published values.

Each test names its source. CrossLight: Sunny et al., DAC 2021, arXiv:2102.06960. AQ:
the analog-photonic quantization study whose sensitivity tables (signal and dark noise
amplitudes added, B = rate / sqrt 2) the project's reference parameters take."""

from __future__ import annotations

import math

import pytest

from bplight.config import load_spec
from bplight.devices import photodetector
from bplight.photonics import crosstalk_db_neighbour
from bplight.units import db_to_linear

REF = load_spec("bplight-16b")
AQ = dict(dark_current_a=35e-9, load_ohm=50.0, temperature_k=300.0, rin_db_per_hz=-140.0)
"""AQ's detector: 35 nA dark current, 50 Ohm load, 300 K, RIN -140 dB/Hz."""

AQ_SENSITIVITY_DBM = {(4, 1e9): -18.0, (4, 5e9): -14.4, (4, 10e9): -12.8,
                      (6, 1e9): -11.7, (6, 5e9): -7.3, (6, 10e9): -4.3, (8, 1e9): -0.5}
"""AQ's detector sensitivity (dBm) for (bits, rate)."""


def _photonics(spacing_m: float, n: int = 16, q: float = 8000.0):
    return REF.replace(photonics=REF.photonics.model_copy(
        update=dict(channel_spacing_m=spacing_m, wavelengths_per_bank=n, ring_q=q)))


def test_neighbour_crosstalk_matches_crosslight() -> None:
    """CrossLight eq. 8 (Lorentzian inter-channel crosstalk), Q 8000 at 1550 nm: -20.3 dB
    between neighbours at 1 nm spacing, -18.4 dB at 0.8 nm."""
    assert crosstalk_db_neighbour(_photonics(1e-9)) == pytest.approx(-20.3, abs=0.1)
    assert crosstalk_db_neighbour(_photonics(0.8e-9)) == pytest.approx(-18.4, abs=0.1)


def test_rin_cap_as_in_aq() -> None:
    """AQ: the SNR of a detected signal can never exceed 1 / (RIN B), however much optical
    power arrives: 46.02 dB at 2.5 GHz with RIN -140 dB/Hz."""
    cap = photodetector.rin_limited_snr(-140.0, 2.5e9)
    assert 10 * math.log10(cap) == pytest.approx(46.02, abs=0.01)
    for current in (1e-3, 1e-1, 1e1, 1e3):
        assert photodetector.snr(current, 2.5e9, **AQ) < cap
    assert photodetector.snr(1e3, 2.5e9, **AQ) == pytest.approx(cap, rel=1e-4)
    assert photodetector.required_photocurrent(cap * 1.0001, 2.5e9, **AQ) == math.inf
    assert math.isfinite(photodetector.required_photocurrent(cap * 0.999, 2.5e9, **AQ))
    assert photodetector.sensitivity_dbm(cap * 1.01, 1.2, 2.5e9, **AQ) == math.inf


@pytest.mark.parametrize("key", sorted(AQ_SENSITIVITY_DBM))
def test_aq_sensitivities_reproduce_in_aq_convention(key) -> None:
    """AQ's sensitivity table, reproduced within 0.1 dB in AQ's own noise convention."""
    bits, rate = key
    assert photodetector.aq_sensitivity_dbm(bits, rate) == pytest.approx(
        AQ_SENSITIVITY_DBM[key], abs=0.1)


@pytest.mark.parametrize("rate", [5e9, 10e9])
def test_aq_eight_bits_unreachable_at_high_rate(rate) -> None:
    """AQ: 8-bit reads are impossible at 5 and 10 GS/s (RIN-limited); the
    docs/sources.md#physics convention (balanced detection, B = rate / 2) gives the same
    verdict."""
    assert photodetector.aq_sensitivity_dbm(8, rate) == math.inf
    target = db_to_linear(photodetector.snr_db_from_bits(8))
    assert photodetector.required_photocurrent(target, rate / 2, **AQ) == math.inf


def test_physics_convention_is_more_optimistic_than_aq() -> None:
    """Against AQ's table: docs/sources.md#physics adds noise variances (B = rate / 2)
    where AQ adds the noise amplitudes of the signal and dark levels (B = rate / sqrt 2),
    so ours needs
    2-8 dB less power at every published point (documented, not a bug)."""
    for (bits, rate), aq_dbm in AQ_SENSITIVITY_DBM.items():
        ours = photodetector.sensitivity_dbm(db_to_linear(photodetector.snr_db_from_bits(bits)),
                                             1.2, rate / 2, **AQ)
        assert 2.0 < aq_dbm - ours < 8.0


def test_adc_snr_of_n_bits_is_the_textbook_value() -> None:
    """The ideal N-bit quantizer's SNR, 6.02 N + 1.76 dB (Bennett 1948; the Murmann ADC
    survey's ENOB definition): 43.9 dB for 7 bits."""
    assert photodetector.snr_db_from_bits(7) == pytest.approx(6.02 * 7 + 1.76, abs=0.01)
    assert photodetector.enob_from_snr_db(43.9) == pytest.approx(7.0, abs=0.01)
