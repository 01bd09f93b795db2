"""Laser / comb source: optical power budget and electrical power (link budget in
docs/sources.md#physics).

The wall-plug efficiency (0.2: LT, SimPhony) is read from ``spec.laser``; the dBm helpers
live in :mod:`bplight.units`.
"""

from __future__ import annotations

from bplight.units import dbm_to_watt


def electrical_power_w(optical_power_w: float, wall_plug_efficiency: float) -> float:
    """Electrical power drawn for ``optical_power_w`` of light: P_opt / wall-plug efficiency."""
    if not 0.0 < wall_plug_efficiency <= 1.0:
        raise ValueError(f"wall_plug_efficiency must lie in (0, 1], got {wall_plug_efficiency}")
    return optical_power_w / wall_plug_efficiency


def required_laser_power_dbm(sensitivity_dbm: float, path_loss_db: float,
                             split_db: float) -> float:
    """Least laser power per wavelength (dBm) closing the link (CrossLight eq. 7):
    P_laser = S_PD + IL_path + 10 log10(N_split)."""
    return sensitivity_dbm + path_loss_db + split_db


def received_power_w(laser_power_w: float, path_loss_db: float, split_db: float) -> float:
    """Optical power reaching the detector from ``laser_power_w`` after path loss and split."""
    return laser_power_w * 10.0 ** (-(path_loss_db + split_db) / 10.0)


def comb_power_w(power_per_wavelength_w: float, n_wavelengths: int) -> float:
    """Total optical power of a comb of ``n_wavelengths`` lines of equal power."""
    return power_per_wavelength_w * n_wavelengths


def laser_power_w_from_dbm(power_dbm: float) -> float:
    """Convenience alias of :func:`bplight.units.dbm_to_watt` for laser powers."""
    return dbm_to_watt(power_dbm)
