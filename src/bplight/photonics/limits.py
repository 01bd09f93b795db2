"""Physical limits a hardware description can break, each with its source.

:func:`check_limits` returns, for any :class:`~bplight.config.HardwareSpec`, the list of
:class:`Violation` s computed from the spec (a machine-readable list: field paths, the
design's value, the limit and its source key of ``docs/sources.md``). A physically
feasible preset (``bplight-16b``, ``bplight-8b-1x2``) has none; ``bplight-paper`` (the
design the paper's figures imply, ``link.enforce_limits: false``) lists every assumption
it makes that a published device or converter cannot meet, and ``bplight reproduce
--waterfall`` restores them one at a time.

The limits:

* **link budget** — the laser reaches the SNR the ADC reads need (CrossLight eq. 7 with
  AQ's detector and RIN model; :mod:`bplight.photonics.link_budget`); its reason names
  the number that fails (RIN cap, maximum laser power, configured power too low);
* **converter resolution** — at >= 1 GS/s no ADC of the Murmann survey exceeds 11.5 ENOB,
  so an ADC above :data:`ADC_MAX_BITS` bits cannot resolve its step; the finest GS/s DAC in
  docs/sources.md is 12 b (SimPhony), :data:`DAC_MAX_BITS` (assumption: DACs are held to
  the same ~12 b as the ADC survey);
* **ring weight precision** — 9 bits demonstrated with dithering control (Zhang),
  :data:`RING_MAX_BITS`;
* **ring hold power** — a thermally tuned ring draws 0.16 mW (Albireo's aggressive 7 nm
  projection) to 3.1 mW to hold its resonance; LT/SimPhony's 0.275 mW (filter) and
  1.2 mW (modulator) are the reference. Below :data:`RING_HOLD_MIN_W` the design assumes
  a tuning mechanism that no source here demonstrates at the ring's resolution.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bplight.config.spec import PHASES, HardwareSpec

ADC_MAX_BITS = 12
"""Largest ADC resolution at >= 1 GS/s whose step the converter can resolve: the Murmann
survey has no >= 1 GS/s design above 11.5 ENOB (docs/sources.md, converters)."""

DAC_MAX_BITS = 12
"""Largest DAC resolution at >= 1 GS/s: 12 b at 14 GS/s is the finest GS/s DAC in
docs/sources.md (SimPhony)."""

RING_MAX_BITS = 9
"""Largest demonstrated microring weight precision: 9 bits with dithering control
(Zhang; DEAP's r = a = 0.99 rings give ~7 bits)."""

RING_HOLD_MIN_W = 0.16e-3
"""Least hold power of a thermally tuned ring in the sources: 0.16 mW (Albireo's
aggressive projection; LT/SimPhony 0.275 mW filter, 1.2 mW modulator)."""

GS_PER_S = 1e9
"""Rates from which the converter limits apply."""


@dataclass(frozen=True)
class Violation:
    """One physical limit a design breaks."""

    key: str
    """Which limit: ``link_budget``, ``dac_resolution``, ``adc_resolution``,
    ``ring_resolution``, ``ring_hold_power``, ``modulator_hold_power``."""
    fields: tuple[str, ...]
    """Dotted spec paths whose values break it."""
    value: str
    """The design's value, as text."""
    limit: str
    """The limit, as text."""
    source: str
    """Source keys of docs/sources.md."""
    message: str
    """One sentence naming the value, the limit and the source."""

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "fields": list(self.fields), "value": self.value,
                "limit": self.limit, "source": self.source, "message": self.message}


def _analog_phases(spec: HardwareSpec) -> list[str]:
    return [p for p in PHASES if spec.product(p).analog]


def _bits_violation(spec: HardwareSpec, key: str, attr: str, cap: int, what: str,
                    limit: str, source: str, at_rate: bool) -> Violation | None:
    rate = spec.photonics.modulation_rate_hz
    if at_rate and rate < GS_PER_S:
        return None
    over = [(p, getattr(spec.product(p), attr)) for p in _analog_phases(spec)]
    over = [(p, b) for p, b in over if b is not None and b > cap]
    if not over:
        return None
    bits = max(b for _, b in over)
    fields = tuple(f"{p}.{attr}" for p, _ in over)
    rate_txt = f" at {rate / 1e9:.3g} GS/s" if at_rate else ""
    return Violation(key, fields, f"{bits} b", limit, source,
                     f"{what} of {bits} b{rate_txt} ({', '.join(fields)}) exceeds {limit} "
                     f"({source}).")


def check_limits(spec: HardwareSpec) -> list[Violation]:
    """The physical limits ``spec`` breaks (empty for a feasible design); module
    docstring."""
    from bplight.photonics.link_budget import link_budget

    out: list[Violation] = []
    if _analog_phases(spec):
        lb = link_budget(spec)
        if not lb.feasible:
            out.append(Violation(
                "link_budget", ("laser.power_per_wavelength_w", "laser.rin_db_per_hz",
                                "laser.max_power_per_wavelength_w"),
                f"SNR {lb.snr_db:.1f} dB at {lb.laser_power_per_wavelength_dbm:.1f} dBm per "
                "wavelength",
                "the SNR the reads need" if lb.target_snr_db is None else
                f"{lb.target_snr_db:.1f} dB SNR for the reads", "CrossLight eq. 7; AQ",
                f"The link budget does not close: {lb.reason} (CrossLight eq. 7; AQ)."))
    for v in (
        _bits_violation(spec, "dac_resolution", "dac_bits", DAC_MAX_BITS, "A DAC",
                        f"the {DAC_MAX_BITS} b of the finest GS/s DAC", "SimPhony; Murmann",
                        True),
        _bits_violation(spec, "adc_resolution", "adc_bits", ADC_MAX_BITS, "An ADC",
                        f"{ADC_MAX_BITS} b (no >= 1 GS/s ADC above 11.5 ENOB)", "Murmann",
                        True),
        _bits_violation(spec, "ring_resolution", "ring_bits", RING_MAX_BITS,
                        "A ring weight precision",
                        f"the {RING_MAX_BITS} b demonstrated with dithering control",
                        "Zhang; DEAP", False),
    ):
        if v is not None:
            out.append(v)
    c = spec.components
    for key, path, value, what in (
            ("ring_hold_power", "components.weight_ring_hold_power_w",
             c.weight_ring_hold_power_w, "weight ring"),
            ("modulator_hold_power", "components.modulator_hold_power_w",
             c.modulator_hold_power_w, "modulator ring")):
        if _analog_phases(spec) and value < RING_HOLD_MIN_W:
            out.append(Violation(
                key, (path,), f"{value * 1e3:.3g} mW",
                f">= {RING_HOLD_MIN_W * 1e3:.2g} mW per thermally tuned ring",
                "Albireo; LT; SimPhony",
                f"A {what} hold power of {value * 1e3:.3g} mW ({path}) is below the "
                f"{RING_HOLD_MIN_W * 1e3:.2g} mW a thermally tuned ring draws in the "
                "sources (Albireo; LT; SimPhony)."))
    return out
