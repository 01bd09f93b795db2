"""What a weight bank looks like and how far it scales: the drop/through spectra of a bank of
add-drop rings with its carriers (:func:`bank_spectra`), the read margin the crosstalk
leak leaves (:func:`read_margin`), and the largest vector (wavelengths per bank) a bank
supports for given bits and rate (:func:`max_vector_size`: the link-budget scalability
analysis of the photonic-accelerator literature, e.g. CrossLight sec. V and DEAP-CNN's
"up to ~100 wavelengths")."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bplight.config.spec import HardwareSpec
from bplight.devices import microring as mr
from bplight.photonics.crosstalk import bank_leak, bank_model


@dataclass(frozen=True)
class Spectra:
    """Bank spectra over ``wavelength_m``: power at the through and drop ports for a unit
    input on every wavelength, rings set to ``digits``."""

    wavelength_m: np.ndarray
    through: np.ndarray
    drop: np.ndarray
    carriers_m: np.ndarray
    resonances_m: np.ndarray
    digits: np.ndarray


def bank_spectra(spec: HardwareSpec, digits: np.ndarray | None = None,
                 points: int = 4000, margin_m: float = 2e-9) -> Spectra:
    """Through and drop spectra of ``spec``'s bank with its rings set to ``digits`` (default:
    +L, 0, -L repeated), rings cascaded on one bus: through = prod_i T_t,i; drop =
    sum_i T_d,i prod_{k<i} T_t,k (the drop bus's own ring crossings neglected). The
    add-drop ring is :func:`bplight.photonics.crosstalk.bank_model`'s whatever
    ``photonics.ring_model``."""
    bank = bank_model(spec)
    c = bank.channels
    lv = bank.levels
    if digits is None:
        digits = np.resize(np.array([lv, 0, -lv]), c)
    digits = np.asarray(digits, dtype=np.int64)
    if digits.shape != (c,) or np.any(np.abs(digits) > lv):
        raise ValueError(f"digits must be {c} integers in [-{lv}, {lv}]")
    ph = spec.photonics
    carriers = ph.center_wavelength_m + (np.arange(c) - (c - 1) / 2) * ph.channel_spacing_m
    res = carriers + bank.detuning_m[digits + lv]
    lam = np.linspace(carriers[0] - margin_m, carriers[-1] + margin_m, points)
    phase = 2.0 * np.pi * (lam[None, :] - res[:, None]) / bank.fsr_m  # [C, points]
    t_t = mr.through_transmission(phase, bank.r1, bank.r2, bank.a)
    t_d = mr.drop_transmission(phase, bank.r1, bank.r2, bank.a)
    upstream = np.cumprod(np.vstack([np.ones(points), t_t[:-1]]), axis=0)
    return Spectra(lam, np.prod(t_t, axis=0), (t_d * upstream).sum(axis=0), carriers, res,
                   digits)


def plot_spectra(spectra: Spectra, path: str, title: str = "") -> None:
    """A PNG of :func:`bank_spectra`: through and drop in dB against wavelength, carriers as
    vertical lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bplight.io import atomic_path

    nm = spectra.wavelength_m * 1e9
    fig, ax = plt.subplots(figsize=(10, 4))
    floor = 1e-6
    ax.plot(nm, 10 * np.log10(np.maximum(spectra.through, floor)), label="through")
    ax.plot(nm, 10 * np.log10(np.maximum(spectra.drop, floor)), label="drop")
    for i, lam in enumerate(spectra.carriers_m):
        ax.axvline(lam * 1e9, color="grey", lw=0.6, ls=":",
                   label="carriers" if i == 0 else None)
    ax.set_xlabel("wavelength (nm)")
    ax.set_ylabel("transmission (dB)")
    ax.set_ylim(-40, 1)
    ax.set_title(title or "weight bank spectra (digits "
                 + " ".join(str(int(d)) for d in spectra.digits) + ")")
    ax.legend(loc="lower right")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)


def read_leak_units(spec: HardwareSpec, sigmas: float = 3.0) -> float:
    """The crosstalk leak (slice units) a read of a full chunk must absorb besides
    detector noise, mean + ``sigmas`` std (:func:`bplight.photonics.crosstalk.bank_leak`),
    under ``photonics.ring_model: add_drop``; 0 under ``ideal`` (its leak is zero-mean,
    counted as read noise by the numerics). For the link budget's exact-reads rule: the
    noise may use half a step less this."""
    if spec.photonics.ring_model != "add_drop":
        return 0.0
    st = bank_leak(spec)
    return st.mean + sigmas * st.std


def read_margin(spec: HardwareSpec, sigmas: float = 3.0) -> float:
    """Half a unit ADC step less :func:`read_leak_units`: what a read of a full chunk
    leaves for detector noise (0.5 under ``ring_model: ideal``)."""
    return 0.5 - read_leak_units(spec, sigmas)


@dataclass(frozen=True)
class VectorLimit:
    """The largest vector (wavelengths per bank) that reads exactly and closes the link
    budget, and why one more does not."""

    wavelengths: int
    limit: str
    rows: list[dict]


def max_vector_size(spec: HardwareSpec, phase: str = "forward",
                    n_max: int | None = None) -> VectorLimit:
    """Scan wavelengths per bank C = 1 .. ``n_max`` (default: as many as fit the FSR at the
    channel spacing): the ADC of ``phase`` is given the bits an exact read of a C-long
    pass needs (:func:`bplight.mapping.plan`'s ``needed_adc_bits``), the laser the power
    the link budget asks (``laser.max_power_per_wavelength_w`` at most); C is supported
    while the budget closes and, under ``ring_model: add_drop``, the leak leaves a
    positive read margin (:func:`read_margin`). Returns the largest such C, the reason
    C + 1 fails and one row per C scanned."""
    from bplight.config.dotted import set_path
    from bplight.mapping import GemmShape, plan
    from bplight.photonics.link_budget import link_budget

    ph = spec.photonics
    top = int(ph.fsr_m // ph.channel_spacing_m) if n_max is None else n_max
    rows: list[dict] = []
    best, limit = 0, f"{top} wavelengths fill the FSR at the channel spacing"
    for c in range(1, top + 1):
        data = spec.model_dump()
        set_path(data, "photonics.wavelengths_per_bank", c)
        probe = HardwareSpec.model_validate(data)
        m = plan(GemmShape(1, c, 1, phase), probe)
        if m.needed_adc_bits is not None:
            set_path(data, f"{phase}.adc_bits", min(int(m.needed_adc_bits), 16))
        try:
            cand = HardwareSpec.model_validate(data)
        except ValueError as exc:
            limit = f"C = {c}: {exc}"
            break
        lb = link_budget(cand)
        margin = read_margin(cand)
        row = {"wavelengths": c, "adc_bits": cand.product(phase).adc_bits,
               "feasible": lb.feasible, "snr_db": lb.snr_db,
               "laser_dbm": lb.laser_power_per_wavelength_dbm, "read_margin": margin,
               "reason": lb.reason}
        rows.append(row)
        if not lb.feasible:
            limit = f"C = {c}: {lb.reason}"
            break
        if margin <= 0:
            limit = (f"C = {c}: the crosstalk leak of a full read (mean + 3 std) exceeds "
                     "half an ADC step")
            break
        best = c
    return VectorLimit(best, limit, rows)
