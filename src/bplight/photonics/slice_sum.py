"""Analog shift-and-add of the slice passes before one ADC read (``slice_sum: analog``).

**Why.** With the digital slice sum (ISAAC's), every pass of a K-chunk — input slice i,
weight slice j, sign pass — is read by the ADC and the reads are shifted by their
significance 2^(i·dac_bits + j·ring_bits) and added digitally: ``S_x · S_w`` (× sign
passes) ADC conversions per output and K-chunk. HolyLight (Liu et al., "HolyLight: A
Nanophotonic Accelerator for Deep Learning in Data Centers", DATE 2019; key HolyLight)
found that ADCs "seriously limit" the throughput per watt of its microdisk
matrix-vector design (HolyLight-M) and built HolyLight-A with microdisk-based adders and
shifters instead, summing the bit-slice results before conversion (abstract; the
circuit-level figures of that paper are not in docs/sources.md).

**The design modelled here** sums the passes *after* detection: each pass's balanced
detector and TIA work as in the digital design, the TIA output of pass (i, j) is sampled
onto a binary-weighted capacitor array with the weight 2^(s_ij − s_top) (the shifter;
s_top the top pair's significance) and the charges of one K-chunk's passes are summed
(the adder: weight slices side by side in one core, input slices one after another,
Horner-style); one ADC conversion reads the sum. An optical shifter (attenuating the
light of a low-order pass by 2^(s_ij − s_top) before its detector, as microdisks would)
was not chosen: attenuation lowers the signal but not the detector's thermal noise, so
every pass would then add the top pass's absolute thermal noise to the sum, while
scaling after detection scales each pass's noise with its signal.

**Physics** (code units: the analog sum of one K-chunk, 1 = one product of the lowest
slices; ``m`` a :class:`bplight.mapping.Mapping`):

* *range*: the sum spans ``sum_full_scale`` = chunk·(2^m_in − 1)·(2^m_w − 1) code units
  (about 2^20 for 8-bit operands over 16 wavelengths): one exact read would need
  ``needed_adc_bits`` ≈ 21 b, far beyond the 12 b of a GS/s ADC
  (:mod:`bplight.photonics.limits`), so the ADC step is coarse (``adc_range`` ×
  sum_full_scale / (2^(b−1) − 1)) unless the range is calibrated to the sums that occur;
* *detector noise*: pass (i, j) carries its detector's noise sigma (slice units, the
  link budget's ``noise_sigma_rel`` × the pass full scale), scaled with its signal:
  variance sigma² · Σ_passes 4^(s_ij) in the sum (:func:`detector_weight`);
* *accumulator noise*: sampling a capacitor C leaves kT/C of noise (Johnson–Nyquist);
  with the halving of the earlier samples (Horner) the sum carries at most
  (1 + 1/4 + 1/16 + ...) kT/C = (4/3) kT/C, relative to the swing V that the whole
  ``sum_full_scale`` maps onto (:func:`adder_sigma`);
* *one ADC read*: the error of the read is that of :func:`bplight.photonics.read_noise.
  read_error_var` at the ADC step with the total noise above (a rounded Gaussian for
  unit steps of an integer sum; step²/12 + noise² otherwise), once per output and
  K-chunk instead of once per pass; a calibrated range also clips
  (:mod:`bplight.numerics.calibration`).

The link budget (:mod:`bplight.photonics.link_budget`) sizes the laser for that single
read (:func:`budget_sigma`): under ``read_budget: exact_reads`` the read errs by a step
with probability <= ``read_error_rate``; under ``output_variance`` its error std stays
within ``output_error_rel`` of the chunk's full scale. Where the ADC's rounding or the
accumulator's kT/C noise alone exceeds the budget, no laser helps and the design is
infeasible, with that sentence.

**Cost** (:mod:`bplight.cost.engine`): ADC conversions drop to ``Mapping.adc_reads``
(one per output and K-chunk); each pass sampled costs C·V² (:func:`adder_energy_j`,
``Mapping.analog_adds``), charged with the shift-and-add; each bank's capacitor array
adds 2·C / density of area (:func:`adder_area_m2`). No optical loss is added (the
summing is electrical).
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

import numpy as np

from bplight.devices.photodetector import BOLTZMANN_J_PER_K
from bplight.photonics import read_noise

HORNER_NOISE_FACTOR = 4.0 / 3.0
"""kT/C of the last sample plus the halved earlier ones: Σ_k 4^-k < 4/3."""


def adder_noise_rel(capacitance_f: Any, swing_v: Any, temperature_k: Any) -> Any:
    """Noise std of the accumulated sum relative to its full scale:
    sqrt((4/3) k_B T / C) / V (numpy-broadcast)."""
    var_v2 = HORNER_NOISE_FACTOR * BOLTZMANN_J_PER_K * np.asarray(temperature_k) / (
        np.asarray(capacitance_f))
    return np.sqrt(var_v2) / np.asarray(swing_v)


def adder_sigma(spec: Any, sum_full_scale: float) -> float:
    """The accumulator's noise std in code units for a sum of full scale
    ``sum_full_scale`` (``spec.slice_adder``, at ``spec.detector.temperature_k``)."""
    acc = spec.slice_adder
    rel = adder_noise_rel(acc.capacitance_f, acc.swing_v, spec.detector.temperature_k)
    return float(rel) * float(sum_full_scale)


def adder_energy_j(capacitance_f: Any, swing_v: Any) -> Any:
    """Energy to sample one pass into the accumulator: C·V² (charging C to the full swing
    from the supply; assumption: every pass at full swing, an upper bound)."""
    return np.asarray(capacitance_f) * np.asarray(swing_v) ** 2


def adder_area_m2(capacitance_f: Any, density_f_per_m2: Any) -> Any:
    """Area of one bank's accumulator: 2·C / density (the binary-weighted capacitor array
    and its switches; assumption: switches as large as the capacitors)."""
    return 2.0 * np.asarray(capacitance_f) / np.asarray(density_f_per_m2)


def _slice_counts(m: Any) -> tuple[int, int]:
    ni = m.input_slices if m.input_magnitude_bits is not None else 0
    nj = m.weight_slices if m.weight_magnitude_bits is not None else 0
    return ni, nj


def detector_weight(m: Any, sign_passes: int | None = None) -> float:
    """Σ over the passes of one K-chunk of their significance squared, 4^(s_ij) (× the
    sign passes run, default all of ``m``'s): the factor by which one pass's detector
    noise variance (slice units²) enters the analog sum (code units²)."""
    ni, nj = _slice_counts(m)
    _, total = read_noise.significance_sq(ni, nj, m.dac_bits, m.ring_bits)
    return (m.sign_passes if sign_passes is None else sign_passes) * total


def significance_sum(m: Any) -> float:
    """Σ over the passes of one K-chunk of their significance 2^(s_ij) (× sign passes):
    how many code units one slice unit of error in every pass adds up to (worst case)."""
    ni, nj = _slice_counts(m)
    wi = 2.0 ** (m.dac_bits * np.arange(ni)) if ni else np.ones(1)
    wj = 2.0 ** (m.ring_bits * np.arange(nj)) if nj else np.ones(1)
    return float(m.sign_passes * wi.sum() * wj.sum())


def sum_noise_sigma(m: Any, sigma: float, sign_passes: int | None = None) -> float:
    """Noise std (code units) of one K-chunk's analog sum before its ADC read: every
    pass's detector noise ``sigma`` (slice units) weighted by its significance, and the
    accumulator's kT/C (``m.slice_adder_sigma``)."""
    return math.sqrt(sigma * sigma * detector_weight(m, sign_passes)
                     + m.slice_adder_sigma ** 2)


def sum_error_var(m: Any, sigma: float, sign_passes: int | None = None) -> float:
    """Error variance (code units²) of one ADC read of one K-chunk's analog sum with pass
    noise ``sigma`` (slice units): :func:`~bplight.photonics.read_noise.read_error_var` at
    the ADC step with the noise of :func:`sum_noise_sigma`."""
    return read_noise.read_error_var(m.adc_step, sum_noise_sigma(m, sigma, sign_passes),
                                     bool(m.integer_sums))


def _max_noise_for_var(step: float, integer: bool, budget: float) -> float:
    """Largest total noise std whose read error variance stays within ``budget``
    (code units²); nan when the ADC's rounding alone exceeds it."""
    if step == 0.0:
        return math.sqrt(budget)
    if not (integer and step == 1.0):
        rest = budget - step * step / 12.0
        return math.sqrt(rest) if rest > 0.0 else math.nan
    lo, hi = 0.0, max(math.sqrt(budget), 0.5)
    while float(read_noise.rounded_gaussian_var(hi)) <= budget:
        lo, hi = hi, 2.0 * hi
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if float(read_noise.rounded_gaussian_var(mid)) <= budget:
            lo = mid
        else:
            hi = mid
    return lo


def budget_sigma(m: Any, phase: str, read_budget: str, read_error_rate: float,
                 output_error_rel: float, leak_units: float = 0.0
                 ) -> tuple[float, str, str]:
    """The largest pass noise sigma (slice units) the single ADC read of the analog sum of
    ``m`` (one K-chunk) allows, a phrase naming what needs it, and, when no laser power
    can meet the budget, the sentence saying why (sigma is then nan).

    ``exact_reads``: the read's total noise (detector + accumulator, and the crosstalk
    leak of every pass, ``leak_units`` slice units each, weighted by its significance)
    moves it by a step with probability <= ``read_error_rate``; ``output_variance``: the
    read's error std stays within ``output_error_rel`` × ``sum_full_scale``."""
    step = m.adc_step
    fs = float(m.sum_full_scale)
    acc = float(m.slice_adder_sigma)
    weight = detector_weight(m)
    adc = f"{m.adc_bits}-bit " if m.adc_bits is not None else ""
    if read_budget == "output_variance":
        budget = (output_error_rel * fs) ** 2
        total = _max_noise_for_var(step, bool(m.integer_sums), budget)
        what = (f"an output error <= {output_error_rel:.3g} of full scale for the analog "
                f"sum of {phase} passes (one {adc}read of |sum| <= {m.sum_full_scale})")
        if math.isnan(total):
            adc_rel = step / math.sqrt(12.0) / fs
            return math.nan, what, (
                f"the {adc}ADC reading the analog sum of the {phase} passes (step "
                f"{step:.3g} code units) alone leaves an output error of {adc_rel:.3g} of "
                f"full scale, above laser.output_error_rel = {output_error_rel:.3g}, so no "
                "laser power meets the read budget")
    else:
        if step == 0.0:
            step = 1.0 if m.integer_sums else 0.0
        if step == 0.0:
            return math.inf, "", ""
        z = NormalDist().inv_cdf(1.0 - read_error_rate / 2.0)
        leak = leak_units * significance_sum(m)
        if leak >= step / 2.0:
            return math.nan, "", (
                f"the crosstalk leak of the analog sum of {phase} passes ({leak:.3g} code "
                f"units) exceeds half an ADC step ({step / 2:.3g}), so no laser power gives "
                "exact reads")
        total = (step / 2.0 - leak) / z
        what = (f"{adc}reads of the analog sum of {phase} passes (|sum| <= "
                f"{m.sum_full_scale} code units) that err with probability <= "
                f"{read_error_rate:g}")
    if total <= acc:
        return math.nan, what, (
            f"the accumulator's kT/C noise ({acc / fs:.3g} of the analog sum's full scale, "
            f"slice_adder.capacitance_f) alone exceeds the {total / fs:.3g} that "
            f"{what} allow, so no laser power meets the read budget")
    return math.sqrt(total * total - acc * acc) / math.sqrt(weight), what, ""
