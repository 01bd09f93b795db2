"""Photodetector noise, SNR, effective bits and sensitivity (photodetection in
docs/sources.md#physics).

Noise current variances in A² over an electrical bandwidth B:

- shot:    2 q (I + I_d) B
- thermal: 4 k_B T B / R_L
- RIN:     10^(RIN_dB/10) I² B

SNR = I² / sum of variances. A *balanced* pair (drop and through detectors, subtracted)
adds both detectors' noise; at full scale the whole signal current I falls on one
detector and none on the other, so the second detector contributes its dark-current shot
noise and thermal noise only (docs/sources.md#physics: "a balanced pair adds both
detectors' noise").
RIN grows with I², so SNR can never exceed 1 / (RIN B) (Al-Qadasi et al., APL Photonics
7, 020902 (2022); key AQ).

**AQ's published sensitivities use a different convention.** AQ's model (github
snalo/photonic_accelerator_scalability_analysis, ``findPDSensitivity``) adds the noise
*amplitudes* of the signal level and of the dark level, SNR = [I / (sigma_1 + sigma_0)]²
with sigma_1² = 2q(I + I_d)B + 4kTB/R_L + RIN I² B and sigma_0² = 2 q I_d B + 4kTB/R_L,
and takes B = rate / sqrt(2). :func:`aq_sensitivity_dbm` implements it in closed form and
reproduces the table in docs/sources.md; the variance sums of docs/sources.md#physics
(:func:`snr`) with B = rate / 2 need 2-7 dB less power (see tests/test_devices.py).
"""

from __future__ import annotations

import math

from bplight.units import db_to_linear, linear_to_db, watt_to_dbm

ELEMENTARY_CHARGE_C = 1.602176634e-19
"""Elementary charge q (SI 2019 exact value)."""
BOLTZMANN_J_PER_K = 1.380649e-23
"""Boltzmann constant k_B (SI 2019 exact value)."""

ADC_SNR_SLOPE_DB = 6.02
ADC_SNR_OFFSET_DB = 1.76
"""SNR of an ideal b-bit quantiser with a full-scale sine: 6.02 b + 1.76 dB
(docs/sources.md#physics)."""


def shot_noise_var_a2(photocurrent_a: float, dark_current_a: float, bandwidth_hz: float) -> float:
    """Shot-noise current variance 2 q (I + I_d) B in A²."""
    return 2.0 * ELEMENTARY_CHARGE_C * (photocurrent_a + dark_current_a) * bandwidth_hz


def thermal_noise_var_a2(bandwidth_hz: float, load_ohm: float, temperature_k: float) -> float:
    """Johnson noise current variance 4 k_B T B / R_L in A²."""
    return 4.0 * BOLTZMANN_J_PER_K * temperature_k * bandwidth_hz / load_ohm


def rin_noise_var_a2(photocurrent_a: float, rin_db_per_hz: float, bandwidth_hz: float) -> float:
    """Laser relative-intensity-noise current variance RIN I² B in A² (RIN in dB/Hz)."""
    return db_to_linear(rin_db_per_hz) * photocurrent_a * photocurrent_a * bandwidth_hz


def noise_var_a2(photocurrent_a: float, bandwidth_hz: float, dark_current_a: float,
                 load_ohm: float, temperature_k: float, rin_db_per_hz: float,
                 balanced: bool = True) -> float:
    """Total noise current variance (A²) with signal current ``photocurrent_a``.

    ``balanced``: add the second detector of a balanced pair, which at full scale
    receives no signal (dark-current shot noise + thermal noise).
    """
    var = (shot_noise_var_a2(photocurrent_a, dark_current_a, bandwidth_hz)
           + thermal_noise_var_a2(bandwidth_hz, load_ohm, temperature_k)
           + rin_noise_var_a2(photocurrent_a, rin_db_per_hz, bandwidth_hz))
    if balanced:
        var += (shot_noise_var_a2(0.0, dark_current_a, bandwidth_hz)
                + thermal_noise_var_a2(bandwidth_hz, load_ohm, temperature_k))
    return var


def snr(photocurrent_a: float, bandwidth_hz: float, dark_current_a: float, load_ohm: float,
        temperature_k: float, rin_db_per_hz: float, balanced: bool = True) -> float:
    """Signal-to-noise power ratio (linear) I² / sigma² at signal current I."""
    var = noise_var_a2(photocurrent_a, bandwidth_hz, dark_current_a, load_ohm,
                       temperature_k, rin_db_per_hz, balanced)
    return photocurrent_a * photocurrent_a / var


def rin_limited_snr(rin_db_per_hz: float, bandwidth_hz: float) -> float:
    """Upper bound of the SNR, reached as I -> inf: 1 / (RIN B) (AQ; docs/sources.md#physics)."""
    return 1.0 / (db_to_linear(rin_db_per_hz) * bandwidth_hz)


def effective_rin_db_per_hz(rin_db_per_hz: float, lines: int, correlation: str) -> float:
    """RIN (dB/Hz) to apply to the *total* current of ``lines`` equal wavelengths summed on
    one detector.

    ``"correlated"`` (one source split over the lines): the intensity fluctuations move
    together, sigma² = RIN (Σ I_k)² B, the RIN itself. ``"independent"`` (a laser per line,
    or a comb with uncorrelated line noise): the variances add, sigma² = RIN Σ I_k² B =
    RIN I² B / lines for I_k = I / lines, i.e. RIN - 10 log10(lines) dB on the total current
    (TMTT: RIN falls with the number of independent lasers combined; docs/sources.md#physics).
    """
    if correlation == "correlated":
        return rin_db_per_hz
    if correlation == "independent":
        return rin_db_per_hz - 10.0 * math.log10(lines)
    raise ValueError(f"unknown RIN correlation {correlation!r}; allowed: correlated, "
                     "independent")


def enob_from_snr_db(snr_db: float) -> float:
    """Effective number of bits (SNR_dB - 1.76) / 6.02."""
    return (snr_db - ADC_SNR_OFFSET_DB) / ADC_SNR_SLOPE_DB


def snr_db_from_bits(bits: float) -> float:
    """SNR in dB of an ideal ``bits``-bit quantiser: 6.02 b + 1.76."""
    return ADC_SNR_SLOPE_DB * bits + ADC_SNR_OFFSET_DB


def required_photocurrent(target_snr: float, bandwidth_hz: float, dark_current_a: float,
                          load_ohm: float, temperature_k: float, rin_db_per_hz: float,
                          balanced: bool = True) -> float:
    """Least signal current (A) whose :func:`snr` reaches ``target_snr`` (linear ratio).

    Solves I² = S (2 q B I + RIN B I² + sigma0²) exactly, sigma0² the signal-free part
    (dark shot + thermal, twice when ``balanced``):
    (1 - S RIN B) I² - 2 q B S I - S sigma0² = 0, positive root. Returns ``math.inf``
    when S >= 1 / (RIN B): the target is above the RIN cap and no power reaches it.
    """
    if target_snr <= 0.0:
        return 0.0
    s = target_snr
    rin_b = db_to_linear(rin_db_per_hz) * bandwidth_hz
    a = 1.0 - s * rin_b
    if a <= 0.0:
        return math.inf
    sigma0_sq = noise_var_a2(0.0, bandwidth_hz, dark_current_a, load_ohm, temperature_k,
                             rin_db_per_hz, balanced)
    b = 2.0 * ELEMENTARY_CHARGE_C * bandwidth_hz * s
    c = s * sigma0_sq
    # Positive root of a I² - b I - c = 0 written without cancellation.
    return (b + math.sqrt(b * b + 4.0 * a * c)) / (2.0 * a)


def sensitivity_dbm(target_snr: float, responsivity_a_per_w: float, bandwidth_hz: float,
                    dark_current_a: float, load_ohm: float, temperature_k: float,
                    rin_db_per_hz: float, balanced: bool = True) -> float:
    """Received optical power (dBm) needed for ``target_snr`` (linear): I_req / R.
    ``math.inf`` when RIN-limited."""
    current = required_photocurrent(target_snr, bandwidth_hz, dark_current_a, load_ohm,
                                    temperature_k, rin_db_per_hz, balanced)
    return math.inf if math.isinf(current) else watt_to_dbm(current / responsivity_a_per_w)


def snr_db(photocurrent_a: float, bandwidth_hz: float, dark_current_a: float, load_ohm: float,
           temperature_k: float, rin_db_per_hz: float, balanced: bool = True) -> float:
    """:func:`snr` in dB."""
    return linear_to_db(snr(photocurrent_a, bandwidth_hz, dark_current_a, load_ohm,
                            temperature_k, rin_db_per_hz, balanced))


# ------------------------------------------------------------ AQ's convention

AQ_RESPONSIVITY_A_PER_W = 1.2
AQ_DARK_CURRENT_A = 35e-9
AQ_LOAD_OHM = 50.0
AQ_RIN_DB_PER_HZ = -140.0
"""AQ's detector model parameters (AQ; docs/sources.md)."""
AQ_TEMPERATURE_K = 0.0259 / 8.617333262e-5
"""AQ writes kT = 0.0259 eV, i.e. T = 300.6 K (AQ)."""


def aq_required_photocurrent(target_snr: float, bandwidth_hz: float, dark_current_a: float,
                             load_ohm: float, temperature_k: float,
                             rin_db_per_hz: float) -> float:
    """Least signal current reaching ``target_snr`` in AQ's amplitude-sum convention.

    AQ: sqrt(S) = I / (sigma_1 + sigma_0), sigma_1² = sigma_0² + 2 q I B + RIN I² B,
    sigma_0² = 2 q I_d B + 4 k T B / R_L. Squaring (I - sqrt(S) sigma_0)² = S sigma_1²
    cancels the constant term, leaving the closed form
    I = (2 sqrt(S) sigma_0 + 2 q B S) / (1 - S RIN B); ``math.inf`` when RIN-limited.
    """
    s = target_snr
    rin_b = db_to_linear(rin_db_per_hz) * bandwidth_hz
    a = 1.0 - s * rin_b
    if a <= 0.0:
        return math.inf
    sigma0 = math.sqrt(shot_noise_var_a2(0.0, dark_current_a, bandwidth_hz)
                       + thermal_noise_var_a2(bandwidth_hz, load_ohm, temperature_k))
    return (2.0 * math.sqrt(s) * sigma0 + 2.0 * ELEMENTARY_CHARGE_C * bandwidth_hz * s) / a


def aq_sensitivity_dbm(bits: float, sample_rate_hz: float,
                       responsivity_a_per_w: float = AQ_RESPONSIVITY_A_PER_W,
                       dark_current_a: float = AQ_DARK_CURRENT_A,
                       load_ohm: float = AQ_LOAD_OHM,
                       temperature_k: float = AQ_TEMPERATURE_K,
                       rin_db_per_hz: float = AQ_RIN_DB_PER_HZ) -> float:
    """Detector sensitivity (dBm) for ``bits`` at ``sample_rate_hz`` as AQ computes it:
    SNR = 6.02 b + 1.76 dB, amplitude-sum noise, bandwidth = rate / sqrt(2) (AQ,
    ``findPDSensitivity``). ``math.inf`` when RIN-limited (8 b at >= 5 GS/s)."""
    current = aq_required_photocurrent(db_to_linear(snr_db_from_bits(bits)),
                                       sample_rate_hz / math.sqrt(2.0), dark_current_a,
                                       load_ohm, temperature_k, rin_db_per_hz)
    return math.inf if math.isinf(current) else watt_to_dbm(current / responsivity_a_per_w)
