"""Link budget of one weight bank: the one place where optical power, losses and detector
noise meet (docs/sources.md#physics, link budget; CrossLight eq. 7).

Both engines read it: the numerical engine takes :func:`pass_noise_sigma` (detector
noise of one analog partial sum, relative to its full scale); the cost engine takes the
laser power (:class:`LinkBudget` ``laser_electrical_power_w``, per core).

**Optical path** (worst case, laser to detector, :func:`path_loss_db`): edge coupler,
waveguide (length x dB/m), splitter-tree excess loss (ceil(log2 N) stages of 1:2
splitters for the N-way split below), WDM combiner, modulator (one per wavelength, before
the combiner), (C - 1) weight rings of the bank passed off resonance, the carrier's own
weight ring at its operating point, system margin. C = wavelengths_per_bank.

**Split** (:func:`split_db`): the laser (comb) of a core feeds that core's
``banks_per_core`` banks; every wavelength is split N = banks_per_core ways, an ideal
10 log10(N) (CrossLight eq. 7's N term); the excess loss per stage is in the path loss.

**Detector**: a balanced pair (drop minus through) with the spec's responsivity, dark
current, load and temperature, electrical bandwidth ``spec.detector_bandwidth_hz``, RIN
of the laser (:mod:`bplight.devices.photodetector`, docs/sources.md#physics variance sums). The
budget is evaluated at *full scale*: all C wavelengths of a bank at full transmission
onto one detector, I_fs = R C P_rx. Its SNR fixes the relative noise of every pass,
noise_sigma_rel = 1 / sqrt(SNR) (a conservative choice: shot and RIN noise are largest
at full scale). RIN follows ``spec.laser.rin_correlation``: 'correlated' lines (one
source split over them) count RIN on the total current (conservative, as in
docs/sources.md#physics); 'independent' lines add their RIN in power, RIN I² B / C on the
total (:func:`bplight.devices.photodetector.effective_rin_db_per_hz`), so the RIN cap
1 / (RIN B) rises by 10 log10(C) dB. B is ``spec.detector_bandwidth_hz`` (the noise
bandwidth convention ``detector.noise_bandwidth``: f/2 by default, f/sqrt(2) as AQ).

**Target SNR**: ``spec.laser.target_snr_db`` if set; else from ``spec.laser.read_budget``,
the worst over the analog products (full scale and step from :func:`bplight.mapping.plan`),
SNR = (full_scale / sigma)^2 for the largest allowed pass noise sigma (slice units):

* ``exact_reads``: detector noise moves one ADC read of *any* pass by a step or more with
  probability at most ``spec.laser.read_error_rate``: sigma = step / (2 z),
  z = Phi^-1(1 - p/2). Bit-sliced sums need such near-exact reads when every pass is
  held to one rule: a read error in a high-order slice is multiplied by that slice's
  weight (docs/sources.md#physics). The textbook 6.02 b + 1.76 dB would leave sigma about
  0.3 step and ~10 % of reads off by one.
* ``output_variance``: the reads may err, but the error of one K-chunk's shift-added
  output — the read-error variances of its passes (i, j) (and sign passes) weighted by
  their significance 4^(i dac + j ring), :func:`bplight.photonics.read_noise.
  chunk_output_error_var` — stays within ``spec.laser.output_error_rel`` of the chunk's
  full-scale output chunk (2^m_in - 1)(2^m_w - 1). One laser feeds every pass, so one
  sigma serves all pairs: low-order reads then err often (their errors barely move the
  output) while the budget is set by the high-order pairs. The numerics inject the same
  per-pass sigma (exact: per read; fast: the same weighted variance). A coarse ADC whose
  rounding alone exceeds the target makes the design infeasible.

Under ``slice_sum: analog`` (a product's passes summed in the analog domain, one ADC read
per output and K-chunk) either budget applies to that one read of the sum, which carries
every pass's noise weighted by its significance and the adder's kT/C noise
(:func:`bplight.photonics.slice_sum.budget_sigma`).

With no quantization and no ADC there is no requirement: the laser runs at the
configured power, else at the maximum, and ``target_snr_db`` is None.

**Laser power**: the configured ``spec.laser.power_per_wavelength_w`` if set (its SNR
is computed); else the least power reaching the target: required photocurrent (exact
quadratic) -> received power per wavelength (/ R C) -> + path loss + split. If that is
infinite (target above the RIN cap 1 / (RIN B)) or above
``spec.laser.max_power_per_wavelength_w``, the budget is infeasible; the design is then
evaluated *as built*, at the maximum power (or the configured power), so that the
numerics show the accuracy that chip would have and the cost engine its laser power.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from statistics import NormalDist

from bplight.config.spec import PHASES, HardwareSpec
from bplight.devices import laser as laser_dev
from bplight.devices import photodetector as pd
from bplight.errors import InfeasibleDesignError
from bplight.mapping import GemmShape, plan
from bplight.photonics import read_noise
from bplight.units import db_to_linear, dbm_to_watt, linear_to_db, watt_to_dbm


class LinkBudgetError(InfeasibleDesignError):
    """A design whose link budget does not close, with a one-sentence reason."""


@dataclass(frozen=True)
class LinkBudget:
    """Result of :func:`link_budget` (powers in W, ratios in dB; per wavelength / per core
    as named)."""

    target_snr_db: float | None
    """SNR the link must reach at full scale; None: no requirement."""
    received_power_per_wavelength_w: float
    """Optical power of one wavelength at the detector (full transmission)."""
    full_scale_photocurrent_a: float
    """Detector current with all wavelengths of one bank at full transmission."""
    snr_db: float
    """SNR achieved at full scale."""
    enob: float
    """(snr_db - 1.76) / 6.02."""
    noise_sigma_rel: float
    """Noise std of one analog partial sum relative to its full scale: 1 / sqrt(SNR)."""
    laser_power_per_wavelength_w: float
    """Optical power per wavelength at the laser output."""
    laser_optical_power_w: float
    """Optical laser power per core: x wavelengths_per_bank."""
    laser_electrical_power_w: float
    """Electrical laser power per core: optical / wall-plug efficiency."""
    path_loss_db: float
    split_db: float
    feasible: bool
    reason: str
    """Empty when feasible; else one sentence naming the numbers."""
    output_error_rel: float | None = None
    """Error std of one K-chunk's shift-added output relative to its full scale at this
    noise (:func:`bplight.photonics.read_noise.chunk_output_error_var`), the worst over the
    analog products; None without an analog product."""

    @property
    def laser_power_per_wavelength_dbm(self) -> float:
        return watt_to_dbm(self.laser_power_per_wavelength_w)

    @property
    def received_power_per_wavelength_dbm(self) -> float:
        return watt_to_dbm(self.received_power_per_wavelength_w)


def path_loss_db(spec: HardwareSpec) -> float:
    """Worst-path insertion loss, laser to detector, in dB (module docstring)."""
    link = spec.link
    c = spec.photonics.wavelengths_per_bank
    stages = math.ceil(math.log2(spec.architecture.banks_per_core)) if (
        spec.architecture.banks_per_core > 1) else 0
    return (link.coupler_db
            + link.waveguide_loss_db_per_m * link.waveguide_length_m
            + stages * link.splitter_db
            + link.combiner_db
            + link.modulator_db
            + (c - 1) * link.ring_through_db
            + ring_operating_loss_db(spec)
            + link.margin_db)


def ring_operating_loss_db(spec: HardwareSpec) -> float:
    """The weight ring's loss at its operating point: ``link.weight_ring_db`` under
    ``photonics.ring_model: ideal``; under ``add_drop`` the scaled encoding's -10 log10 g
    (a unit slice weight sets g of the light, issue 9; photonics/crosstalk.py)."""
    if spec.photonics.ring_model == "add_drop":
        from bplight.photonics.crosstalk import weight_gain_db

        return weight_gain_db(spec)
    return spec.link.weight_ring_db


def split_db(spec: HardwareSpec) -> float:
    """Ideal split of each wavelength to the banks of a core: 10 log10(banks_per_core)."""
    return 10.0 * math.log10(spec.architecture.banks_per_core)


def _chunk_plans(spec: HardwareSpec) -> list[tuple[str, object]]:
    """(phase, Mapping of one K-chunk with a signed input) of every analog product.

    A calibrated ADC range (``adc_range_mode: calibrated``) is set from data at run time;
    the budget takes the finest step it can reach, one slice unit for integer sums (the
    range shrunk until the ADC's codes cover it in unit steps): conservative."""
    c = spec.photonics.wavelengths_per_bank
    out = []
    for p in PHASES:
        prod = spec.product(p)
        if not prod.analog:
            continue
        m = plan(GemmShape(1, c, 1, p), spec)
        if prod.adc_range_mode == "calibrated" and m.integer_sums and m.adc_step > 1.0:
            codes = 2.0 ** (m.adc_bits - 1) - 1.0
            read_fs = m.sum_full_scale if m.slice_sum_analog else m.full_scale
            m = plan(GemmShape(1, c, 1, p), spec, adc_range=max(codes, 1.0) / read_fs)
        out.append((p, m))
    return out


def _target(spec: HardwareSpec) -> tuple[float | None, str, str]:
    """Target SNR (dB), a phrase naming what needs it ("reliable 6-bit reads") and, when no
    laser power can meet the read budget, the sentence saying why (else "")."""
    from bplight.photonics.scaling import read_leak_units

    if spec.laser.target_snr_db is not None:
        return spec.laser.target_snr_db, "laser.target_snr_db", ""
    best: float | None = None
    label = ""
    laser = spec.laser
    z = NormalDist().inv_cdf(1.0 - laser.read_error_rate / 2.0)
    for phase, m in _chunk_plans(spec):
        if m.slice_sum_analog:  # one read of the analog sum (photonics/slice_sum.py)
            from bplight.photonics.slice_sum import budget_sigma

            sigma_units, what, why = budget_sigma(
                m, phase, laser.read_budget, laser.read_error_rate, laser.output_error_rel,
                read_leak_units(spec))
            if why:
                return None, "", why
            if math.isinf(sigma_units):
                continue
        elif laser.read_budget == "output_variance":
            if m.input_magnitude_bits is None and m.weight_magnitude_bits is None and (
                    m.adc_bits is None):
                continue
            sigma_units, adc_rel = read_noise.sigma_for_output_error(m, laser.output_error_rel)
            if math.isnan(sigma_units):
                return None, "", (
                    f"the {m.adc_bits}-bit ADC of the {phase} passes (step {m.adc_step:.3g} "
                    f"slice units) alone leaves an output error of {adc_rel:.3g} of full "
                    f"scale, above laser.output_error_rel = {laser.output_error_rel:.3g}, so "
                    "no laser power meets the read budget")
            what = (f"an output error <= {laser.output_error_rel:.3g} of full scale for "
                    f"{phase} passes (|sum| <= {m.full_scale}, read errors weighted by slice "
                    "significance)")
        else:
            step = m.adc_step if m.adc_bits is not None else (1.0 if m.integer_sums else 0.0)
            if step == 0.0:
                continue
            # issue 9: under ring_model add_drop the crosstalk leak of a full read takes
            # part of the half step (photonics.scaling.read_leak_units; 0 under ideal)
            leak = read_leak_units(spec)
            if leak >= step / 2.0:
                return None, "", (
                    f"the crosstalk leak of a full read of {phase} passes (mean + 3 std "
                    f"{leak:.3g} slice units) exceeds half an ADC step ({step / 2:.3g}), so "
                    "no laser power gives exact reads")
            sigma_units = (step / 2.0 - leak) / z
            adc = f"{m.adc_bits}-bit " if m.adc_bits is not None else ""
            what = (f"{adc}reads of {phase} passes (|sum| <= {m.full_scale}) that err with "
                    f"probability <= {laser.read_error_rate:g}")
        need = 20.0 * math.log10(m.full_scale / sigma_units)
        if best is None or need > best:
            best, label = need, what
    return best, label, ""


def _output_error_rel(spec: HardwareSpec, noise_sigma_rel: float) -> float | None:
    """:attr:`LinkBudget.output_error_rel` at pass noise ``noise_sigma_rel``."""
    worst: float | None = None
    for _, m in _chunk_plans(spec):
        var = read_noise.chunk_output_error_var(m, noise_sigma_rel * m.full_scale)
        rel = math.sqrt(var) / read_noise.chunk_output_full_scale(m)
        worst = rel if worst is None else max(worst, rel)
    return worst


def _detector_args(spec: HardwareSpec) -> dict[str, float]:
    d = spec.detector
    return {"bandwidth_hz": spec.detector_bandwidth_hz, "dark_current_a": d.dark_current_a,
            "load_ohm": d.load_ohm, "temperature_k": d.temperature_k,
            "rin_db_per_hz": pd.effective_rin_db_per_hz(
                spec.laser.rin_db_per_hz, spec.photonics.wavelengths_per_bank,
                spec.laser.rin_correlation)}


def _budget_at(spec: HardwareSpec, laser_w: float, target_db: float | None, feasible: bool,
               reason: str) -> LinkBudget:
    loss, split = path_loss_db(spec), split_db(spec)
    c = spec.photonics.wavelengths_per_bank
    rx_w = laser_dev.received_power_w(laser_w, loss, split)
    current = spec.detector.responsivity_a_per_w * c * rx_w
    snr_lin = pd.snr(current, balanced=True, **_detector_args(spec))
    snr_db = linear_to_db(snr_lin)
    optical = laser_dev.comb_power_w(laser_w, c)
    return LinkBudget(
        target_snr_db=target_db, received_power_per_wavelength_w=rx_w,
        full_scale_photocurrent_a=current, snr_db=snr_db, enob=pd.enob_from_snr_db(snr_db),
        noise_sigma_rel=1.0 / math.sqrt(snr_lin), laser_power_per_wavelength_w=laser_w,
        laser_optical_power_w=optical,
        laser_electrical_power_w=laser_dev.electrical_power_w(
            optical, spec.laser.wall_plug_efficiency),
        path_loss_db=loss, split_db=split, feasible=feasible, reason=reason,
        output_error_rel=_output_error_rel(spec, 1.0 / math.sqrt(snr_lin)))


def link_budget(spec: HardwareSpec) -> LinkBudget:
    """Close the link budget of ``spec`` (module docstring).

    Cached per spec (HardwareSpec is frozen and hashable; should a future field make it
    unhashable, the cache keys on its JSON dump instead).
    """
    try:
        hash(spec)
    except TypeError:
        return _link_budget_json(spec.model_dump_json())
    return _link_budget_cached(spec)


@functools.lru_cache(maxsize=32)
def _link_budget_json(spec_json: str) -> LinkBudget:
    return _link_budget_cached(HardwareSpec.model_validate_json(spec_json))


@functools.lru_cache(maxsize=128)
def _link_budget_cached(spec: HardwareSpec) -> LinkBudget:
    target_db, label, impossible = _target(spec)
    max_w = spec.laser.max_power_per_wavelength_w
    max_dbm = watt_to_dbm(max_w)
    configured = spec.laser.power_per_wavelength_w
    if impossible:
        return _budget_at(spec, max_w if configured is None else configured, None, False,
                          impossible)

    if configured is not None:
        if configured > max_w * (1.0 + 1e-12):
            return _budget_at(spec, configured, target_db, False, (
                f"the configured {watt_to_dbm(configured):.1f} dBm per wavelength is above "
                f"the {max_dbm:.1f} dBm maximum"))
        budget = _budget_at(spec, configured, target_db, True, "")
        if target_db is not None and budget.snr_db < target_db - 1e-9:
            return _budget_at(spec, configured, target_db, False, (
                f"the configured {watt_to_dbm(configured):.1f} dBm per wavelength gives "
                f"SNR {budget.snr_db:.1f} dB, below the {target_db:.1f} dB SNR of {label}"))
        return budget

    if target_db is None:
        return _budget_at(spec, max_w, None, True, "")

    det = _detector_args(spec)
    current = pd.required_photocurrent(db_to_linear(target_db), balanced=True, **det)
    if math.isinf(current):
        cap_db = linear_to_db(pd.rin_limited_snr(det["rin_db_per_hz"], det["bandwidth_hz"]))
        rin = f"RIN {spec.laser.rin_db_per_hz:.0f} dB/Hz"
        if spec.laser.rin_correlation == "independent":
            rin += f" per independent line, {det['rin_db_per_hz']:.1f} dB/Hz on the sum"
        return _budget_at(spec, max_w, target_db, False, (
            f"the {target_db:.1f} dB SNR of {label} exceeds the RIN limit of {cap_db:.1f} dB "
            f"({rin} over {det['bandwidth_hz'] / 1e9:.3g} GHz), so no laser power reaches it"))
    c = spec.photonics.wavelengths_per_bank
    rx_w = current / (spec.detector.responsivity_a_per_w * c)
    need_dbm = laser_dev.required_laser_power_dbm(watt_to_dbm(rx_w), path_loss_db(spec),
                                                  split_db(spec))
    need_w = dbm_to_watt(need_dbm)
    if need_w > max_w * (1.0 + 1e-12):
        return _budget_at(spec, max_w, target_db, False, (
            f"the {target_db:.1f} dB SNR of {label} needs {need_dbm:.1f} dBm per wavelength, "
            f"above the {max_dbm:.1f} dBm maximum"))
    return _budget_at(spec, need_w, target_db, True, "")


def check_link_budget(spec: HardwareSpec) -> LinkBudget:
    """The :func:`link_budget` of ``spec``; raises :class:`LinkBudgetError` when it does not
    close, unless ``spec.link.enforce_limits`` is False (paper assumptions): then the
    infeasible budget is returned as built, its ``reason`` naming the violated limit."""
    budget = link_budget(spec)
    if not budget.feasible and spec.link.enforce_limits:
        raise LinkBudgetError(budget.reason)
    return budget


def pass_noise_sigma(spec: HardwareSpec) -> float:
    """Detector noise std of one analog pass relative to its full scale.

    0.0 when no analog product of PHASES has ``detector_noise``; the per-phase switch is
    the caller's. Otherwise :class:`LinkBudget` ``noise_sigma_rel``, also when the budget
    is infeasible: the design is then evaluated as built (at the maximum or configured
    laser power), so the numerics show its accuracy.
    """
    if not any(spec.product(p).analog and spec.product(p).detector_noise for p in PHASES):
        return 0.0
    return link_budget(spec).noise_sigma_rel
