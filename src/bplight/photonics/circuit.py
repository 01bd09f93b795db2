"""The analytic bank model against an open photonic circuit simulator, SAX
(https://github.com/flaport/sax; optional extra ``pip install bplight[circuit]``).

SAX composes S-matrices of its own component models: here two ideal directional couplers
(``sax.models.coupler_ideal``, power coupling kappa² = 1 - r²) joined by two half-ring
waveguides (``sax.models.straight``) make an add-drop ring, and N such rings on one bus
make a bank. Nothing of :mod:`bplight.devices.microring` is used to build it: the
circuit solver finds the ring's response from the netlist.

Geometry: a dispersion-free waveguide (n_eff = n_g = 4.2) of length
L = m lambda0 / n_g with m = round(lambda0 / FSR) resonates at lambda0 with
FSR = lambda0 / m (18.02 nm for the reference 18 nm); a ring is detuned red by delta by
raising its index to n_g (1 + delta / lambda0); the round-trip amplitude a comes from a
propagation loss over L. Wavelengths in SAX are in um.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

N_G = 4.2
"""Group (= effective) index of the dispersion-free ring waveguide."""


def available() -> bool:
    """Whether SAX (and jax) import."""
    try:
        import sax  # noqa: F401
    except Exception:  # noqa: BLE001 - any import failure means the extra is absent
        return False
    return True


@dataclass(frozen=True)
class RingGeometry:
    """A ring of the circuit: length (um), self-coupling r (both couplers), round-trip
    amplitude a, and its FSR at lambda0 (m)."""

    length_um: float
    r: float
    a: float
    fsr_m: float
    wavelength_m: float

    @classmethod
    def for_fsr(cls, fsr_m: float, wavelength_m: float, r: float, a: float) -> RingGeometry:
        m = max(1, round(wavelength_m / fsr_m))
        length_um = m * wavelength_m * 1e6 / N_G
        return cls(length_um, r, a, wavelength_m / m, wavelength_m)

    @property
    def loss_db_cm(self) -> float:
        """Propagation loss giving round-trip power a² over the ring."""
        return -20.0 * math.log10(self.a) / (self.length_um * 1e-4)


def _ring_netlist(geom: RingGeometry, shift_m: float, prefix: str = "") -> tuple[dict, dict]:
    n = N_G * (1.0 + shift_m / geom.wavelength_m)
    half = {"component": "straight",
            "settings": {"length": geom.length_um / 2, "neff": n, "ng": n,
                         "wl0": geom.wavelength_m * 1e6, "loss_dB_cm": geom.loss_db_cm}}
    cp = {"component": "coupler", "settings": {"coupling": 1.0 - geom.r**2}}
    p = prefix
    instances = {f"{p}cp1": cp, f"{p}cp2": cp, f"{p}wg1": half, f"{p}wg2": half}
    connections = {f"{p}cp1,out1": f"{p}wg1,in0", f"{p}wg1,out0": f"{p}cp2,in1",
                   f"{p}cp2,out1": f"{p}wg2,in0", f"{p}wg2,out0": f"{p}cp1,in1"}
    return instances, connections


def _models() -> dict:
    import sax

    return {"coupler": sax.models.coupler_ideal, "straight": sax.models.straight}


def ring_response(geom: RingGeometry, wavelength_m: np.ndarray, shift_m: float = 0.0
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(through, drop) power transmission of one add-drop ring detuned red by
    ``shift_m``, solved by SAX."""
    import sax

    instances, connections = _ring_netlist(geom, shift_m)
    netlist = {"instances": instances, "connections": connections,
               "ports": {"in": "cp1,in0", "through": "cp1,out0", "add": "cp2,in0",
                         "drop": "cp2,out0"}}
    circuit, _ = sax.circuit(netlist, _models())
    s = circuit(wl=np.asarray(wavelength_m) * 1e6)
    return (np.abs(np.asarray(s["in", "through"])) ** 2,
            np.abs(np.asarray(s["in", "drop"])) ** 2)


def bank_through(geom: RingGeometry, wavelength_m: np.ndarray, shifts_m: np.ndarray,
                 spacing_m: float) -> np.ndarray:
    """Through-port power of a bank of rings on one bus, ring i resting on
    lambda0 + (i - (N - 1) / 2) spacing plus its shift, solved by SAX as one circuit."""
    import sax

    shifts = np.asarray(shifts_m, dtype=float)
    c = len(shifts)
    instances: dict = {}
    connections: dict = {}
    for i, sh in enumerate(shifts):
        offset = (i - (c - 1) / 2) * spacing_m
        inst, conn = _ring_netlist(geom, offset + sh, prefix=f"r{i}_")
        instances.update(inst)
        connections.update(conn)
        if i:
            connections[f"r{i - 1}_cp1,out0"] = f"r{i}_cp1,in0"
    ports = {"in": "r0_cp1,in0", "through": f"r{c - 1}_cp1,out0"}
    netlist = {"instances": instances, "connections": connections, "ports": ports}
    # the add and drop ports of the rings stay open (unused inputs, outputs not read)
    circuit, _ = sax.circuit(netlist, _models(), on_internal_port="ignore")
    s = circuit(wl=np.asarray(wavelength_m) * 1e6)
    return np.abs(np.asarray(s["in", "through"])) ** 2
