"""SI inside, units at the edges.

Configuration files may write quantities with units (``"450 fJ"``, ``"-27 dBm"``,
``"5 GHz"``, ``"1 dB/cm"``); :func:`parse_quantity` turns them into SI floats when a file
is loaded. Inside the package every number is SI (J, W, s, Hz, m, A, Ω, K) or a
dimensionless ratio; decibel quantities keep their dB value in fields whose name ends
in ``_db`` / ``_dbm`` / ``_db_per_hz`` / ``_db_per_m``.
"""

from __future__ import annotations

import math
import re

_PREFIX = {
    "y": 1e-24, "z": 1e-21, "a": 1e-18, "f": 1e-15, "p": 1e-12, "n": 1e-9,
    "u": 1e-6, "µ": 1e-6, "m": 1e-3, "c": 1e-2, "": 1.0, "k": 1e3, "M": 1e6,
    "G": 1e9, "T": 1e12,
}
_BASE = {
    "J": "J", "W": "W", "s": "s", "Hz": "Hz", "m": "m", "A": "A", "V": "V",
    "Ohm": "Ohm", "ohm": "Ohm", "Ω": "Ohm", "K": "K", "F": "F", "S": "S",
    "m2": "m2", "m^2": "m2", "B": "B", "b": "bit", "bit": "bit",
}

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_QTY = re.compile(rf"^\s*({_NUM})\s*([^\s]*)\s*$")


class UnitError(ValueError):
    """A quantity string that cannot be read."""


def parse_quantity(value: float | int | str, expect: str | None = None) -> float:
    """Return the SI value of ``value``.

    ``value`` may be a number (returned as float) or a string such as ``"450 fJ"``,
    ``"5 GHz"``, ``"1 dB/cm"`` (returned in dB/m), ``"-27 dBm"`` (returned in dBm),
    ``"0.083 mm2"`` (returned in m²), ``"64 KB"`` (bytes). ``expect`` optionally names
    the SI base unit the string must have (``"J"``, ``"dB/m"``, ...).
    """
    if isinstance(value, bool):
        raise UnitError(f"expected a number or a quantity string, got {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    m = _QTY.match(str(value))
    if not m:
        raise UnitError(f"cannot read quantity {value!r}; write a number and a unit, e.g. '5 GHz'")
    number, unit = float(m.group(1)), m.group(2)
    si, base = _convert(number, unit, value)
    if expect is not None and base != expect:
        raise UnitError(f"quantity {value!r} has unit {base!r}, expected {expect!r}")
    return si


def _convert(number: float, unit: str, original: object) -> tuple[float, str]:
    if unit == "":
        return number, ""
    if unit in ("dB", "dBm", "dB/Hz"):
        return number, unit
    if unit.startswith("dB/"):
        per = unit[3:]
        scale, base = _prefixed(per, original)
        if base != "m":
            raise UnitError(f"cannot read unit {unit!r} in {original!r}; use dB/m or dB/cm")
        return number / scale, "dB/m"
    if unit in ("%",):
        return number / 100.0, ""
    for sq in ("mm2", "um2", "µm2", "cm2", "nm2", "m2", "mm^2", "um^2", "µm^2"):
        if unit == sq:
            lin, _ = _prefixed(sq.replace("^2", "").replace("2", ""), original)
            return number * lin * lin, "m2"
    scale, base = _prefixed(unit, original)
    return number * scale, base


def _prefixed(unit: str, original: object) -> tuple[float, str]:
    if unit in _BASE:
        return 1.0, _BASE[unit]
    if unit in ("KB", "MB", "GB"):  # bytes, binary prefixes as memory sizes are quoted
        return {"KB": 1024.0, "MB": 1024.0**2, "GB": 1024.0**3}[unit], "B"
    for p in sorted(_PREFIX, key=len, reverse=True):
        if p and unit.startswith(p) and unit[len(p):] in _BASE:
            return _PREFIX[p], _BASE[unit[len(p):]]
    raise UnitError(f"cannot read unit {unit!r} in {original!r}")


def db_to_linear(db: float) -> float:
    """Power ratio of a decibel value: 10^(dB/10)."""
    return 10.0 ** (db / 10.0)


def linear_to_db(ratio: float) -> float:
    """Decibel value of a power ratio (−inf for 0)."""
    return -math.inf if ratio <= 0 else 10.0 * math.log10(ratio)


def dbm_to_watt(dbm: float) -> float:
    """Optical or electrical power in W of a dBm value."""
    return 1e-3 * 10.0 ** (dbm / 10.0)


def watt_to_dbm(watt: float) -> float:
    """dBm value of a power in W (−inf for 0)."""
    return -math.inf if watt <= 0 else 10.0 * math.log10(watt / 1e-3)


_SI_PREFIXES = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m"),
                (1e-6, "µ"), (1e-9, "n"), (1e-12, "p"), (1e-15, "f"))


def format_si(value: float | None, unit: str, digits: int = 3) -> str:
    """``format_si(1.07e-4, "J") == "107 µJ"``: the one formatter for displayed
    quantities (reports, tables, CLI). ``None`` and non-finite values print as ``n/a``."""
    if value is None or value != value or value in (float("inf"), float("-inf")):
        return "n/a"
    if value == 0:
        return f"0 {unit}".rstrip()
    round_up = 1.0 - 0.5 * 10.0 ** -digits  # 999.95 µ rounds to "1e+03 µ": show 1 m
    for scale, prefix in _SI_PREFIXES:
        if abs(value) >= scale * round_up:
            return f"{value / scale:.{digits}g} {prefix}{unit}".rstrip()
    scale, prefix = _SI_PREFIXES[-1]
    return f"{value / scale:.{digits}g} {prefix}{unit}".rstrip()
