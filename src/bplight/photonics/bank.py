"""Weight bank: C microrings on one WDM waveguide read by one balanced detector.

The numerics and the link budget use the ring model of :mod:`bplight.photonics.crosstalk`
(each ring's resonance where its weight puts it); :func:`bank_crosstalk` is its
mean-square equivalent matrix. Below, the rest-position model kept for reference
(:func:`rest_crosstalk`, the neighbour figure of :func:`crosstalk_db_neighbour`).

**Rest-position crosstalk model** (CrossLight eq. 8; docs/sources.md#physics). Ring i of
the bank is tuned to carrier lambda_i and sets weight w_i on it; it also acts on every
other carrier lambda_j with relative strength
phi(i, j) = delta² / ((lambda_i - lambda_j)² + delta²), delta = lambda / (2Q),
lambda_i - lambda_j = (i - j) x channel spacing. To first order the effective weight seen
by carrier j is

    w_eff_j = w_j + sum_{i != j} phi(i, j) w_i,

i.e. for a chunk's weight vector(s) W of shape [..., C] (last axis = the C wavelengths of
the bank, in channel order)

    W_eff = W @ (I + X),   X = rest_crosstalk(spec)  (symmetric, zero diagonal),

a deterministic, data-dependent error. (X is symmetric, so W @ (I + X) = W @ (I + X)ᵀ.)
"""

from __future__ import annotations

import numpy as np

from bplight.config.spec import HardwareSpec
from bplight.devices.microring import crosstalk_matrix, phi
from bplight.units import linear_to_db


def rest_crosstalk(spec: HardwareSpec) -> np.ndarray:
    """CrossLight's crosstalk matrix X [C, C] of one bank with every ring resting on its own
    carrier (zero diagonal); W_eff = W @ (I + X)."""
    ph = spec.photonics
    return crosstalk_matrix(ph.wavelengths_per_bank, ph.channel_spacing_m,
                            ph.center_wavelength_m, ph.ring_q)


def bank_crosstalk(spec: HardwareSpec, ring_bits: int | None = None) -> np.ndarray:
    """The crosstalk matrix X [C, C] (zero diagonal) the numerics use for their linear and
    statistical leak model (fast mode). ``photonics.ring_model: ideal``:
    :func:`rest_crosstalk`; ``add_drop``: the rings' leaks from where each resonance
    sits, in the mean square under the stated digit distribution
    (:func:`bplight.photonics.crosstalk.equivalent_crosstalk`; ``ring_bits`` default:
    the forward product's; the exact engine then sets each ring itself,
    :class:`bplight.photonics.crosstalk.BankModel`)."""
    if spec.photonics.ring_model != "add_drop":
        return rest_crosstalk(spec)
    from bplight.photonics.crosstalk import bank_model, equivalent_crosstalk

    return equivalent_crosstalk(bank_model(spec, ring_bits))


def bank_coupling(spec: HardwareSpec) -> np.ndarray:
    """I + :func:`bank_crosstalk`: the matrix that maps weights to effective weights."""
    x = bank_crosstalk(spec)
    return np.eye(x.shape[0]) + x


def crosstalk_db_neighbour(spec: HardwareSpec) -> float:
    """Crosstalk between adjacent channels, 10 log10 phi(spacing), in dB (negative)."""
    ph = spec.photonics
    return linear_to_db(float(phi(ph.channel_spacing_m, ph.center_wavelength_m, ph.ring_q)))
