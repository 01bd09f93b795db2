"""Tuning power of the weight rings, from the same ring states the numerics set
(:mod:`bplight.photonics.crosstalk`), for ``photonics.ring_model: add_drop``.

Per slice digit d a ring is shifted red by delta(d) (:class:`BankModel.detuning_m`).

* **Electro-optic vs heater.** The electro-optic tuner carries up to
  ``photonics.ring_eo_range_m`` of it, held while the bank computes at
  ``components.ring_eo_tuning_w_per_m`` (4 uW/nm, CrossLight); the heater carries the
  rest, max(delta - range, 0), at ``photonics.ring_heater_m_per_w`` (0.65 nm/mW,
  CrossLight's 27.5 mW per 18 nm FSR), held as static power.
* **Calibration of fabrication variation.** With ``photonics.ring_resonance_sigma_m``
  = sigma, rings are designed 3 sigma blue of their carriers and each heater adds the
  shift that brings its ring onto its carrier, 3 sigma - Delta with Delta ~ N(0, sigma²):
  3 sigma on average (clipped at 0: the 0.13 % of rings fabricated further red need
  more, neglected). Without it the flat trim ``components.weight_ring_hold_power_w``
  (LT) is charged instead.
* **Thermal crosstalk.** A heater also shifts each adjacent ring of its bank by
  ``photonics.ring_thermal_crosstalk`` of its own shift; calibrated heaters solve
  (I + kappa A) s = target (A: adjacency along the bank), so the neighbours' heat lowers
  the power a ring needs. The mean power per ring is that of the mean target.
* **Re-tuning.** A weight-tile load that moves a heater waits
  ``photonics.ring_thermal_time_constant_s``; the load latency is the longer of that and
  the electro-optic ``components.ring_tuning_latency_s`` whenever some digit needs the
  heater (every load sets all digits).

The digit distribution is the stated one of :func:`digit_distribution` unless trained
weights give theirs (:func:`ring_tuning` ``p``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bplight.config.spec import HardwareSpec
from bplight.photonics.crosstalk import BankModel, _bank_model, bank_model, digit_distribution


@dataclass(frozen=True)
class RingTuning:
    """Tuning of one weight ring, averaged over its digit distribution (SI units)."""

    eo_mean_shift_m: float
    """Mean electro-optic shift held while the bank computes."""
    heater_mean_shift_m: float
    """Mean heater shift for the weight states (thermal crosstalk not yet applied)."""
    calibration_shift_m: float
    """Mean heater shift correcting fabrication variation (0 without sigma)."""
    heater_power_w: float
    """Mean static heater power per ring: weight states + calibration, after thermal
    crosstalk."""
    trim_power_w: float
    """Flat trim power per ring charged when no fabrication sigma is given."""
    heater_fraction: float
    """Share of ring settings that need the heater."""
    load_latency_s: float
    """Time one weight-tile load takes to settle."""

    @property
    def hold_power_w(self) -> float:
        """Static power per ring: heaters and flat trim."""
        return self.heater_power_w + self.trim_power_w


def thermal_relief(channels: int, kappa: float) -> float:
    """Mean over the rings of a bank of the power factor sum_j [(I + kappa A)^-1]_ij for
    an equal heater target on every ring (A: adjacency along the bank): below 1, the
    neighbours' heat does part of the work."""
    if channels < 2 or kappa == 0.0:
        return 1.0
    a = np.eye(channels, k=1) + np.eye(channels, k=-1)
    inv = np.linalg.inv(np.eye(channels) + kappa * a)
    return float(inv.sum() / channels)


def ring_tuning(spec: HardwareSpec, p: np.ndarray | None = None,
                bank: BankModel | None = None) -> RingTuning:
    """The :class:`RingTuning` of ``spec``'s weight rings under digit distribution ``p``
    (default: the stated one)."""
    ph, comp = spec.photonics, spec.components
    bank = bank_model(spec) if bank is None else bank
    return _tuning(bank, p, ph.ring_eo_range_m, ph.ring_heater_m_per_w,
                   ph.ring_thermal_time_constant_s, ph.ring_thermal_crosstalk,
                   ph.ring_resonance_sigma_m, comp.weight_ring_hold_power_w,
                   comp.ring_tuning_latency_s)


def _tuning(bank: BankModel, p: np.ndarray | None, eo_range: float, heater_m_per_w: float,
            tau: float, kappa: float, sigma: float | None, trim_w: float,
            eo_latency: float) -> RingTuning:
    p = digit_distribution(bank.levels) if p is None else np.asarray(p, dtype=float)
    shift = bank.detuning_m
    eo = np.minimum(shift, eo_range)
    heat = np.maximum(shift - eo_range, 0.0)
    calib = 3.0 * sigma if sigma is not None else 0.0
    relief = thermal_relief(bank.channels, kappa)
    heater_shift = float(p @ heat)
    power = (heater_shift + calib) * relief / heater_m_per_w
    needs_heater = bool(np.any((heat > 0) & (p > 0)))
    return RingTuning(
        eo_mean_shift_m=float(p @ eo), heater_mean_shift_m=heater_shift,
        calibration_shift_m=calib, heater_power_w=power,
        trim_power_w=0.0 if sigma is not None else trim_w,
        heater_fraction=float(p[heat > 0].sum()),
        load_latency_s=max(eo_latency, tau) if needs_heater else eo_latency)


_FIELDS = ("photonics.ring_model", "photonics.ring_q", "photonics.ring_intrinsic_q",
           "photonics.fsr_m", "photonics.center_wavelength_m", "photonics.channel_spacing_m",
           "photonics.wavelengths_per_bank", "forward.ring_bits", "components.ring_dac_bits",
           "photonics.ring_eo_range_m", "photonics.ring_heater_m_per_w",
           "photonics.ring_thermal_time_constant_s", "photonics.ring_thermal_crosstalk",
           "photonics.ring_resonance_sigma_m", "components.weight_ring_hold_power_w",
           "components.ring_tuning_latency_s")


def ring_tuning_from(value: Any, digits: np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(static hold power per ring, mean electro-optic shift, load latency) of every design
    point of a cost-model value getter (:func:`bplight.cost.design.spec_values` or a
    sweep's): under ``ring_model: ideal`` the flat ``weight_ring_hold_power_w``, one
    linewidth lambda/Q and ``ring_tuning_latency_s`` (the model before issue 9); under
    ``add_drop`` :func:`ring_tuning` per point, over the slice-digit distribution
    ``digits`` ([2L+1], e.g. :func:`trained_digit_distribution`; checked against every
    add-drop point's ``forward.ring_bits``) or, by default, the stated one."""
    cols = np.broadcast_arrays(*(np.asarray(value(f)) for f in _FIELDS))
    shape = cols[0].shape
    flat = [c.reshape(-1) for c in cols]
    hold, shift, latency = (np.empty(flat[0].size) for _ in range(3))
    for i in range(flat[0].size):
        (model, q, q_i, fsr, lam, spacing, c, ring_bits, dac_bits, eo_range, heater,
         tau, kappa, sigma, trim, eo_latency) = (f[i] for f in flat)
        if model != "add_drop":
            hold[i], shift[i], latency[i] = trim, lam / q, eo_latency
            continue
        bank = _bank_model(float(q), float(q_i), float(fsr), float(lam), float(spacing),
                           int(c), int(ring_bits), int(dac_bits))
        if digits is not None:
            check_digit_distribution(digits, bank.levels)
        t = _tuning(bank, digits, float(eo_range), float(heater), float(tau), float(kappa),
                    None if sigma is None else float(sigma), float(trim), float(eo_latency))
        hold[i], shift[i], latency[i] = t.hold_power_w, t.eo_mean_shift_m, t.load_latency_s
    return hold.reshape(shape), shift.reshape(shape), latency.reshape(shape)


def check_digit_distribution(p: Any, levels: int) -> None:
    """ValueError (one sentence) unless ``p`` is a probability vector over the slice digits
    -L .. L of rings with L = ``levels`` (2L+1 finite, non-negative entries summing to 1)."""
    arr = np.asarray(p, dtype=float)
    n = 2 * levels + 1
    if arr.shape != (n,):
        raise ValueError(f"a slice-digit distribution of rings with {levels} levels per "
                         f"sign has {n} entries (digits -{levels} .. {levels}); got shape "
                         f"{arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or abs(arr.sum() - 1.0) > 1e-9:
        raise ValueError("a slice-digit distribution holds finite, non-negative "
                         f"probabilities summing to 1; got sum {arr.sum()!r}")


def chip_weights(state: dict[str, Any]) -> dict[str, Any]:
    """The weights a chip's rings hold, from a converted model's ``state_dict``: the
    ``weight`` of every photonic layer (each has the persistent ``w_range`` buffer of
    :mod:`bplight.numerics.modules`: the converted ``nn.Conv2d`` / ``nn.Linear``), by
    layer name; BatchNorm and other digital parameters are left out."""
    out = {}
    for key in state:
        if key == "w_range" or key.endswith(".w_range"):
            prefix = key[: -len("w_range")]  # "" or "layer."
            if prefix + "weight" in state:
                out[prefix.rstrip(".")] = state[prefix + "weight"]
    return out


def trained_digit_distribution(spec: HardwareSpec, weights: Any,
                               phase: str = "forward") -> np.ndarray:
    """The slice-digit distribution of trained weights as ``phase``'s rings hold them:
    ``weights`` an iterable of weight tensors (numpy arrays or torch tensors, e.g. a
    model's conv and linear weights), each scaled by its largest magnitude and rounded to
    the phase's sign + magnitude code (as the numerics encode a weight operand), cut into
    ``ring_bits`` slices; the histogram over all layers' slices (:func:`digit_distribution`).
    Every weight counts once (assumption: the time a tile stays on the rings, longer for a
    convolution with many positions, is not weighed). Pass it to :func:`ring_tuning` as
    ``p``, or to :func:`bplight.cost.estimate` as ``ring_digits``."""
    from bplight.mapping import GemmShape, plan

    m = plan(GemmShape(1, spec.photonics.wavelengths_per_bank, 1, phase), spec)
    if m.weight_magnitude_bits is None:
        raise ValueError(f"{phase}.weight_bits is None: unquantized weights have no slice "
                         "digits; allowed: a phase with weight_bits set")
    levels = float(2**m.weight_magnitude_bits - 1)
    lv = 2**m.ring_bits - 1
    counts = np.zeros(2 * lv + 1)
    for w in weights:
        arr = np.asarray(w.detach().cpu().numpy() if hasattr(w, "detach") else w,
                         dtype=np.float64)
        if arr.size == 0:
            continue
        top = float(np.abs(arr).max()) if arr.size else 0.0
        codes = np.rint(arr / top * levels) if top > 0 else np.zeros_like(arr)
        counts += arr.size * m.weight_slices * digit_distribution(
            lv, codes, m.ring_bits, m.weight_slices)
    if counts.sum() == 0:
        raise ValueError("no weights given")
    return counts / counts.sum()
