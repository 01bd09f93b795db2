"""Read errors of analog passes and the output error they cause (numpy only).

One ADC read of an analog pass errs by detector noise (Gaussian, std ``sigma`` in slice
units) and by the ADC's rounding to its ``step``:

* an integer sum read in unit steps (the designer's choice whenever the ADC has the codes,
  :class:`bplight.mapping.Mapping` ``adc_step``) reads round(s + n) - s = round(n): the
  error is a *rounded Gaussian*, E[round(n)²] = Σ_k 2 k² P(round(n) = k)
  (:func:`rounded_gaussian_var`), 0 without noise;
* any other read: the uniform-rounding approximation step²/12 + sigma²;
* an ideal readout (step 0): sigma².

Reads are shifted by their slice significance 2^(i·dac_bits + j·ring_bits) and added, so
one K-chunk's output errs with variance Σ_ij 4^(i·dac + j·ring) · reads · v_ij
(:func:`chunk_output_error_var`): the link budget sizes the laser with it
(``laser.read_budget: output_variance``), the fast numerics inject the same variance.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
from scipy.special import ndtr


def rounded_gaussian_var(sigma: Any) -> np.ndarray:
    """E[round(n)²] for n ~ N(0, sigma²), elementwise (unit step; 0 for sigma 0)."""
    sigma = np.asarray(sigma, dtype=np.float64)
    kmax = int(8 * float(sigma.max())) + 2 if sigma.size else 2
    shape = (-1, *([1] * sigma.ndim))
    half = (np.arange(kmax + 1, dtype=np.float64) + 0.5).reshape(shape)  # k + 1/2, k >= 0
    cdf = ndtr(half / np.maximum(sigma, 1e-30)[None])
    p = cdf[1:] - cdf[:-1]  # P(round(n) = k), k = 1 .. kmax, per side
    k = np.arange(1, kmax + 1, dtype=np.float64).reshape(shape)
    out = (2.0 * k * k * p).sum(0)
    return np.where(sigma > 0, out, 0.0)


def read_error_var(step: float, sigma: float, integer_aligned: bool) -> float:
    """Variance of one ADC read's error, noise included, in slice units² (module
    docstring)."""
    if step == 0.0:
        return sigma**2
    if integer_aligned and step == 1.0:
        return float(rounded_gaussian_var(sigma))
    return step * step / 12.0 + sigma**2


@functools.lru_cache(maxsize=256)
def significance_sq(ni: int, nj: int, dac_bits: int, ring_bits: int) -> tuple[np.ndarray, float]:
    """Slice significances squared 4^(dac·i + ring·j) of the passes, [max(ni, 1),
    max(nj, 1)], and their sum; ``ni`` / ``nj`` 0 for an unquantized operand (one pass of
    significance 1)."""
    wi = 4.0 ** (dac_bits * np.arange(ni)) if ni else np.ones(1)
    wj = 4.0 ** (ring_bits * np.arange(nj)) if nj else np.ones(1)
    weight = wi[:, None] * wj[None, :]
    weight.flags.writeable = False
    return weight, float(weight.sum())


def _slice_counts(m: Any) -> tuple[int, int]:
    ni = m.input_slices if m.input_magnitude_bits is not None else 0
    nj = m.weight_slices if m.weight_magnitude_bits is not None else 0
    return ni, nj


def chunk_output_full_scale(m: Any) -> float:
    """Largest |output| of one K-chunk in code units: chunk·(2^m_in - 1)·(2^m_w - 1)
    (1 in place of an unquantized operand's levels)."""
    la = 2.0**m.input_magnitude_bits - 1.0 if m.input_magnitude_bits is not None else 1.0
    lb = 2.0**m.weight_magnitude_bits - 1.0 if m.weight_magnitude_bits is not None else 1.0
    return float(m.chunk) * la * lb


def chunk_output_error_var(m: Any, sigma: float) -> float:
    """Error variance (code units²) of one K-chunk's shift-added output of the Mapping
    ``m`` when every pass is read with noise ``sigma`` (slice units): Σ over the passes
    (i, j) and the sign passes of 4^(i·dac + j·ring) · :func:`read_error_var`. Every pass
    is taken as busy (a zero sum read by a coarse ADC errs less: conservative). Under
    the analog slice sum, the one read of the sum (:func:`bplight.photonics.slice_sum.
    sum_error_var`)."""
    if getattr(m, "slice_sum_analog", False):
        from bplight.photonics.slice_sum import sum_error_var

        return sum_error_var(m, sigma)
    ni, nj = _slice_counts(m)
    _, total = significance_sq(ni, nj, m.dac_bits, m.ring_bits)
    step = m.adc_step
    return m.sign_passes * total * read_error_var(step, sigma, m.integer_sums)


def sigma_for_output_error(m: Any, output_error_rel: float) -> tuple[float, float]:
    """Largest pass noise ``sigma`` (slice units) whose :func:`chunk_output_error_var`
    stays within ``(output_error_rel · chunk full scale)²``, and the error the ADC alone
    leaves (relative to the chunk full scale). ``sigma`` is ``nan`` when the ADC's
    rounding alone exceeds the target (no laser power can help)."""
    ni, nj = _slice_counts(m)
    _, total = significance_sq(ni, nj, m.dac_bits, m.ring_bits)
    fs = chunk_output_full_scale(m)
    budget = (output_error_rel * fs) ** 2 / (m.sign_passes * total)  # per read
    step = m.adc_step
    adc_only = 0.0 if (step == 0.0 or (m.integer_sums and step == 1.0)) else step * step / 12.0
    adc_rel = math.sqrt(m.sign_passes * total * adc_only) / fs
    if step == 0.0:
        return math.sqrt(budget), adc_rel
    if not (m.integer_sums and step == 1.0):
        rest = budget - adc_only
        return (math.sqrt(rest) if rest > 0.0 else math.nan), adc_rel
    # rounded Gaussian: increasing in sigma, from 0; bracket, then bisect
    lo, hi = 0.0, max(math.sqrt(budget), 0.5)
    while float(rounded_gaussian_var(hi)) <= budget:
        lo, hi = hi, 2.0 * hi
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if float(rounded_gaussian_var(mid)) <= budget:
            lo = mid
        else:
            hi = mid
    return lo, adc_rel
