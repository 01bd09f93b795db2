"""Weight bank: C microrings on one WDM waveguide read by one balanced detector.

**Crosstalk model** (CrossLight eq. 8; docs/sources.md#physics). Ring i of the bank is tuned to
carrier lambda_i and sets weight w_i on it; it also acts on every other carrier lambda_j
with relative strength phi(i, j) = delta² / ((lambda_i - lambda_j)² + delta²),
delta = lambda / (2Q), lambda_i - lambda_j = (i - j) x channel spacing. To first order
the effective weight seen by carrier j is

    w_eff_j = w_j + sum_{i != j} phi(i, j) w_i,

i.e. for a chunk's weight vector(s) W of shape [..., C] (last axis = the C wavelengths of
the bank, in channel order)

    W_eff = W @ (I + X),   X = bank_crosstalk(spec)  (symmetric, zero diagonal),

a deterministic, data-dependent error. (X is symmetric, so W @ (I + X) = W @ (I + X)ᵀ.)
"""

from __future__ import annotations

import numpy as np

from bplight.config.spec import HardwareSpec
from bplight.devices.microring import crosstalk_matrix, phi
from bplight.units import linear_to_db


def bank_crosstalk(spec: HardwareSpec) -> np.ndarray:
    """Crosstalk matrix X [C, C] of one bank (zero diagonal); W_eff = W @ (I + X)."""
    ph = spec.photonics
    return crosstalk_matrix(ph.wavelengths_per_bank, ph.channel_spacing_m,
                            ph.center_wavelength_m, ph.ring_q)


def bank_coupling(spec: HardwareSpec) -> np.ndarray:
    """I + :func:`bank_crosstalk`: the matrix that maps weights to effective weights."""
    x = bank_crosstalk(spec)
    return np.eye(x.shape[0]) + x


def crosstalk_db_neighbour(spec: HardwareSpec) -> float:
    """Crosstalk between adjacent channels, 10 log10 phi(spacing), in dB (negative)."""
    ph = spec.photonics
    return linear_to_db(float(phi(ph.channel_spacing_m, ph.center_wavelength_m, ph.ring_q)))
