"""Add-drop microring resonator: transmission, linewidth, crosstalk, tuning, weights.

Equations from Bogaerts et al., "Silicon microring resonators", Laser Photonics Rev. 6,
47 (2012) (key: Bogaerts), and CrossLight (Sunny et al., arXiv:2102.06960) eq. 8 for the
inter-channel crosstalk; collected in ``docs/sources.md`` (physics). All functions are pure and
vectorised with numpy: array arguments broadcast.

Symbols: ``r1`` self-coupling on the input (through) side, ``r2`` on the drop side,
``a`` single-pass amplitude transmission (a² = exp(-alpha L)), ``phase_rad`` the
round-trip phase measured from resonance (phi = 0 on resonance; a detuning of one FSR is
2 pi).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

P_FSR_W = 27.5e-3
"""Thermo-optic heater power to shift a resonance by one FSR: 27.5 mW (CrossLight, §V)."""

FloatArray = NDArray[np.float64]


def _denominator(phase_rad: ArrayLike, r1: float, r2: float, a: float) -> FloatArray:
    rra = r1 * r2 * a
    return 1.0 - 2.0 * rra * np.cos(phase_rad) + rra * rra


def through_transmission(phase_rad: ArrayLike, r1: float, r2: float, a: float) -> FloatArray:
    """Power transmission of the through port, T_t(phi) (Bogaerts eq. for add-drop)."""
    c = np.cos(phase_rad)
    num = r2 * r2 * a * a - 2.0 * r1 * r2 * a * c + r1 * r1
    return np.asarray(num / _denominator(phase_rad, r1, r2, a), dtype=np.float64)


def drop_transmission(phase_rad: ArrayLike, r1: float, r2: float, a: float) -> FloatArray:
    """Power transmission of the drop port, T_d(phi) (Bogaerts eq. for add-drop)."""
    num = (1.0 - r1 * r1) * (1.0 - r2 * r2) * a
    return np.asarray(num / _denominator(phase_rad, r1, r2, a), dtype=np.float64)


def fsr_m(wavelength_m: ArrayLike, group_index: float, circumference_m: float) -> FloatArray:
    """Free spectral range FSR = lambda² / (n_g L) (Bogaerts)."""
    lam = np.asarray(wavelength_m, dtype=np.float64)
    return lam * lam / (group_index * circumference_m)


def fwhm_m(wavelength_m: ArrayLike, group_index: float, circumference_m: float,
           r1: float, r2: float, a: float) -> FloatArray:
    """Full width at half maximum of the resonance (Bogaerts):
    FWHM = (1 - r1 r2 a) lambda² / (pi n_g L sqrt(r1 r2 a))."""
    lam = np.asarray(wavelength_m, dtype=np.float64)
    rra = r1 * r2 * a
    return (1.0 - rra) * lam * lam / (np.pi * group_index * circumference_m * np.sqrt(rra))


def q_factor(wavelength_m: ArrayLike, group_index: float, circumference_m: float,
             r1: float, r2: float, a: float) -> FloatArray:
    """Loaded quality factor Q = lambda / FWHM (Bogaerts)."""
    lam = np.asarray(wavelength_m, dtype=np.float64)
    return lam / fwhm_m(lam, group_index, circumference_m, r1, r2, a)


def half_width_m(wavelength_m: ArrayLike, q: ArrayLike) -> FloatArray:
    """Lorentzian half width at half maximum delta = lambda / (2 Q) (docs/sources.md#physics)."""
    return np.asarray(wavelength_m, dtype=np.float64) / (2.0 * np.asarray(q, dtype=np.float64))


def phi(detuning_m: ArrayLike, wavelength_m: ArrayLike, q: ArrayLike) -> FloatArray:
    """Lorentzian response delta² / (detuning² + delta²), delta = lambda / (2Q).

    This is CrossLight's eq. 8 crosstalk coefficient between a ring and a carrier
    ``detuning_m`` away from its resonance, and also the normalised drop-port
    transmission of a lossless, critically coupled ring near resonance (Bogaerts).
    """
    delta = half_width_m(wavelength_m, q)
    det = np.asarray(detuning_m, dtype=np.float64)
    return delta * delta / (det * det + delta * delta)


def crosstalk_matrix(n_channels: int, spacing_m: float, wavelength_m: float,
                     q: float) -> FloatArray:
    """Inter-channel crosstalk of ``n_channels`` rings at uniform spacing, shape [n, n].

    Entry (i, j), i != j, is phi((i - j) x spacing) (CrossLight eq. 8): the relative
    strength with which the ring tuned to channel i also acts on carrier j. Symmetric,
    zero diagonal (a ring's action on its own carrier is the weight itself).
    """
    if n_channels < 1:
        raise ValueError(f"n_channels must be >= 1, got {n_channels}")
    idx = np.arange(n_channels)
    detuning = (idx[:, None] - idx[None, :]) * float(spacing_m)
    x = phi(detuning, wavelength_m, q)
    np.fill_diagonal(x, 0.0)
    return x


def thermal_tuning_power_w(shift_m: ArrayLike, fsr_m: float,
                           p_fsr_w: float = P_FSR_W) -> FloatArray:
    """Heater power to shift a resonance by ``shift_m``: P = P_FSR |shift| / FSR
    (CrossLight: P_FSR = 27.5 mW)."""
    return p_fsr_w * np.abs(np.asarray(shift_m, dtype=np.float64)) / fsr_m


# ---------------------------------------------------------------- balanced weights

def balanced_weight(phase_rad: ArrayLike, r1: float, r2: float, a: float) -> FloatArray:
    """Weight set by balanced detection of drop and through ports: w = T_d - T_t
    (docs/sources.md#physics, weight encoding). In [-1, 1] for a lossless ring; narrower
    when a < 1."""
    return drop_transmission(phase_rad, r1, r2, a) - through_transmission(phase_rad, r1, r2, a)


def weight_range(r1: float, r2: float, a: float) -> tuple[float, float]:
    """(w_min, w_max): the weights reachable by detuning, at phi = pi and phi = 0."""
    w = balanced_weight(np.array([np.pi, 0.0]), r1, r2, a)
    return float(w[0]), float(w[1])


def phase_for_weight(weight: ArrayLike, r1: float, r2: float, a: float) -> FloatArray:
    """Round-trip phase detuning phi in [0, pi] that sets ``weight`` = T_d - T_t.

    Exact inversion of the add-drop equations: with c = cos(phi) and D the common
    denominator, w D = N_d - N_t is linear in c, so
    c = [w (1 + (r1 r2 a)²) - N0] / [2 r1 r2 a (1 + w)],
    N0 = (1 - r1²)(1 - r2²) a - r2² a² - r1². Targets outside :func:`weight_range` are
    clipped to the nearest reachable extreme (phi = 0 or pi).
    """
    w_min, w_max = weight_range(r1, r2, a)
    w = np.clip(np.asarray(weight, dtype=np.float64), w_min, w_max)
    rra = r1 * r2 * a
    n0 = (1.0 - r1 * r1) * (1.0 - r2 * r2) * a - r2 * r2 * a * a - r1 * r1
    with np.errstate(divide="ignore", invalid="ignore"):
        c = (w * (1.0 + rra * rra) - n0) / (2.0 * rra * (1.0 + w))
    c = np.where(np.isfinite(c), c, -1.0)  # w = -1 (only reachable as a limit): phi = pi
    return np.arccos(np.clip(c, -1.0, 1.0))


def detuning_for_weight_m(weight: ArrayLike, fsr_m: float, r1: float, r2: float,
                          a: float) -> FloatArray:
    """Wavelength detuning (>= 0) that sets ``weight``: phi FSR / (2 pi)."""
    return phase_for_weight(weight, r1, r2, a) * fsr_m / (2.0 * np.pi)


def lorentzian_weight(detuning_m: ArrayLike, wavelength_m: ArrayLike, q: ArrayLike) -> FloatArray:
    """Balanced weight in the Lorentzian approximation of a lossless, critically coupled
    ring: T_d = L, T_t = 1 - L, w = 2 L - 1 with L = :func:`phi` (docs/sources.md#physics)."""
    return 2.0 * phi(detuning_m, wavelength_m, q) - 1.0


def lorentzian_detuning_for_weight_m(weight: ArrayLike, wavelength_m: ArrayLike,
                                     q: ArrayLike) -> FloatArray:
    """Inverse of :func:`lorentzian_weight`: detuning = delta sqrt((1 - w) / (1 + w)).

    ``weight`` must lie in (-1, 1]; w -> -1 needs an infinite detuning (returned as inf).
    """
    w = np.asarray(weight, dtype=np.float64)
    if np.any((w <= -1.0 - 1e-12) | (w > 1.0 + 1e-12)):
        raise ValueError("lorentzian weights must lie in (-1, 1]")
    delta = half_width_m(wavelength_m, q)
    with np.errstate(divide="ignore"):
        return delta * np.sqrt(np.clip(1.0 - w, 0.0, None) / np.clip(1.0 + w, 0.0, None))


# ---------------------------------------------------------------- ring from Q

def round_trip_from_q(q: ArrayLike, fsr_m: ArrayLike, wavelength_m: ArrayLike) -> FloatArray:
    """The round-trip product x (= r1 r2 a loaded, or a alone for the intrinsic Q) whose
    resonance has quality factor ``q``: inverts :func:`fwhm_m`, (1 - x) / sqrt(x) =
    pi lambda / (Q FSR), solved for s = sqrt(x): s² + u s - 1 = 0 (Bogaerts)."""
    u = np.pi * np.asarray(wavelength_m, dtype=np.float64) / (
        np.asarray(q, dtype=np.float64) * np.asarray(fsr_m, dtype=np.float64))
    s = (-u + np.sqrt(u * u + 4.0)) / 2.0
    return s * s


def ring_from_q(q_loaded: float, q_intrinsic: float, fsr_m: float,
                wavelength_m: float) -> tuple[float, float, float]:
    """(r1, r2, a) of a symmetric add-drop ring (r1 = r2) with loaded Q ``q_loaded`` and
    intrinsic (uncoupled) Q ``q_intrinsic``: a from the intrinsic linewidth, r1 r2 a from
    the loaded one (:func:`round_trip_from_q`)."""
    if not q_loaded < q_intrinsic:
        raise ValueError(f"the loaded Q ({q_loaded:g}) must be below the intrinsic Q "
                         f"({q_intrinsic:g})")
    a = float(round_trip_from_q(q_intrinsic, fsr_m, wavelength_m))
    x = float(round_trip_from_q(q_loaded, fsr_m, wavelength_m))
    r = float(np.sqrt(x / a))
    return r, r, a


def realised_weight(weight: ArrayLike, r1: float, r2: float, a: float, dac_bits: int,
                    max_phase_rad: float) -> FloatArray:
    """The balanced weight a ring actually sets for target ``weight`` when its tuning DAC
    of ``dac_bits`` bits spans round-trip phases [0, ``max_phase_rad``] in equal steps:
    the exact phase (:func:`phase_for_weight`) rounded to the DAC's grid, then
    :func:`balanced_weight` of that phase."""
    ph = phase_for_weight(weight, r1, r2, a)
    step = max_phase_rad / (2**dac_bits - 1)
    if step > 0:
        ph = np.minimum(np.round(ph / step) * step, max_phase_rad)
    return balanced_weight(ph, r1, r2, a)
