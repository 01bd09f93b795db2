"""Ring physics of one weight bank: the weight each ring realises and where its resonance
sits, per slice digit, and the crosstalk that follows from that position.

**Rings.** Every weight ring of a bank is the symmetric add-drop ring of
:func:`bplight.devices.microring.ring_from_q` (loaded Q ``photonics.ring_q``, intrinsic Q
``photonics.ring_intrinsic_q``, FSR ``photonics.fsr_m``). Its balanced weight
w = T_d - T_t reaches [w_min, w_max] (:func:`bplight.devices.microring.weight_range`).

**Encoding** (``photonics.weight_encoding: scaled``). A signed slice digit d in [-L, L],
L = 2^ring_bits - 1, is set as the target weight w = g d / L with
g = min(-w_min, w_max) (the widest symmetric range), through the detuning of
:func:`~bplight.devices.microring.phase_for_weight`; the tuning DAC
(``components.ring_dac_bits``) rounds that detuning to its grid over [0, the largest
detuning any digit needs], so the ring realises ``balanced_weight`` of the rounded phase.
The digital back end divides by g: a digit's *realised value* in slice units is
w_real L / g (exactly d without DAC rounding).

**Where the resonance sits.** A ring rests on its own carrier lambda_i and is detuned
*red* (towards longer wavelengths, as a heater shifts it) by delta(d). Carrier j then lies
(j - i) x spacing - delta(d) from ring i's resonance, a round-trip phase
phi_ij = 2 pi [(j - i) s - delta(d)] / FSR (the cosine of the add-drop response wraps it
over the FSR), and ring i drops the fraction D_ij(d) = T_d(phi_ij) of carrier j.

**Leak after balanced detection** (first order in D). Power of carrier j dropped by a
foreign ring leaves the through port and enters the drop port; for the lossless ring
this changes carrier j's balanced response from w_j to w_j + (1 - w_j) sum_i D_ij
whatever the order of the rings on the bus (upstream: D P + w_j (1 - D) P; downstream:
w_j P + 2 D T_t,j P with T_t,j = (1 - w_j) / 2). In slice units:

    v_eff_j = R(d_j) + (L / g - R(d_j)) sum_{i != j} D_ij(d_i),

R the realised value. The leak is never negative, and largest onto a carrier whose own
ring sits at a negative weight. For the reference ring (Q 8000, 1 nm spacing) a ring at
its most negative digit sits 0.31 nm red of its carrier, 0.69 nm from the next one.

Used when ``photonics.ring_model`` is ``add_drop`` (the default ``ideal`` keeps the
symmetric +-1 rings resting on their carriers). Exact mode applies this per ring setting
(:func:`bplight.numerics.engine.ring_transfer` with the :class:`BankModel`); the link
budget uses its statistics under a stated digit distribution (:func:`digit_distribution`,
:func:`leak_stats`).

**Fast mode.** The leak of a read is positive, depends on every digit of the chunk and is
rounded away by a unit-step ADC while below half a step (on a full 16-carrier read of the
reference ring: mean 0.48 units, std 0.07, :func:`leak_stats`), so exact reads err
upward, in a threshold-like way, and together (a chunk whose rings leak much errs in many
passes). Fast mode draws its read errors from the distribution of round(leak + noise)
estimated on the product's own weight chunks paired with sampled inputs
(:func:`bplight.numerics.engine.ring_read_errors`): biased, clustered per element, as
in exact mode (tests/test_fast_vs_exact.py states the agreement). Where the ADC does not
round the leak away (coarse step, no ADC) fast mode sets the weights on the rings
(:func:`bplight.numerics.engine.ring_effective_weight`). :func:`equivalent_crosstalk`
(the mean-square matrix) remains for ``photonics.bank.bank_crosstalk``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from bplight.config.spec import HardwareSpec
from bplight.devices import microring as mr


@dataclass(frozen=True, eq=False)
class BankModel:
    """The rings of one bank at each slice digit d = -L .. L (index d + L); compared and
    hashed by identity (:func:`bank_model` caches one per design)."""

    r1: float
    r2: float
    a: float
    fsr_m: float
    wavelength_m: float
    spacing_m: float
    channels: int
    levels: int
    """L = 2^ring_bits - 1."""
    gain: float
    """g = min(-w_min, w_max): the weight a digit of L sets."""
    w_range: tuple[float, float]
    dac_bits: int
    target_w: np.ndarray
    """[2L+1] target balanced weight g d / L."""
    detuning_m: np.ndarray
    """[2L+1] red shift of the resonance from its carrier, after the DAC's rounding."""
    realised_w: np.ndarray
    """[2L+1] balanced weight realised at that shift."""
    drop: np.ndarray
    """[2L+1, C, C]: D[d, i, j], the fraction of carrier j ring i drops at digit d (zero
    diagonal)."""

    @property
    def unit(self) -> float:
        """L / g: balanced weight -> slice units."""
        return self.levels / self.gain

    @property
    def realised(self) -> np.ndarray:
        """[2L+1] realised value of each digit in slice units (d itself when ideal)."""
        return self.realised_w * self.unit

    def digits(self) -> np.ndarray:
        return np.arange(-self.levels, self.levels + 1)

    def effective(self, digits: np.ndarray) -> np.ndarray:
        """Effective slice values ``v_eff`` of one bank's rings set to ``digits`` [..., C]
        (module docstring), numpy; the reference for the torch version in the numerics."""
        idx = np.asarray(digits, dtype=np.int64) + self.levels
        c = idx.shape[-1]
        rows = self.drop[idx, np.arange(c), :]  # [..., C(i), C(j)]
        leak = rows.sum(axis=-2)
        r = self.realised[idx]
        return r + (self.unit - r) * leak


def _bank_key(spec: HardwareSpec, ring_bits: int) -> tuple:
    ph = spec.photonics
    return (ph.ring_q, ph.ring_intrinsic_q, ph.fsr_m, ph.center_wavelength_m,
            ph.channel_spacing_m, ph.wavelengths_per_bank, int(ring_bits),
            int(spec.components.ring_dac_bits))


def bank_model(spec: HardwareSpec, ring_bits: int | None = None) -> BankModel:
    """The :class:`BankModel` of ``spec``'s weight banks for ``ring_bits`` bits per ring
    (default: the forward product's)."""
    bits = spec.forward.ring_bits if ring_bits is None else ring_bits
    return _bank_model(*_bank_key(spec, bits))


@functools.lru_cache(maxsize=64)
def _bank_model(q: float, q_i: float, fsr: float, lam: float, spacing: float, c: int,
                ring_bits: int, dac_bits: int) -> BankModel:
    r1, r2, a = mr.ring_from_q(q, q_i, fsr, lam)
    w_min, w_max = mr.weight_range(r1, r2, a)
    g = min(-w_min, w_max)
    lv = 2**ring_bits - 1
    d = np.arange(-lv, lv + 1)
    target = g * d / lv
    phase = mr.phase_for_weight(target, r1, r2, a)
    top = float(phase.max())
    step = top / (2**dac_bits - 1)
    phase_q = np.minimum(np.round(phase / step) * step, top) if step > 0 else phase
    realised = mr.balanced_weight(phase_q, r1, r2, a)
    detuning = phase_q * fsr / (2.0 * np.pi)
    idx = np.arange(c)
    offset = (idx[None, :] - idx[:, None]) * spacing  # carrier j - carrier i
    carrier_phase = 2.0 * np.pi * (offset[None] - detuning[:, None, None]) / fsr
    drop = mr.drop_transmission(carrier_phase, r1, r2, a)
    drop[:, idx, idx] = 0.0
    for arr in (target, detuning, realised, drop):
        arr.flags.writeable = False
    return BankModel(r1, r2, a, fsr, lam, spacing, c, lv, g, (w_min, w_max), dac_bits,
                     target, detuning, realised, drop)


def digit_distribution(levels: int, weights: np.ndarray | None = None,
                       ring_bits: int | None = None, slices: int | None = None
                       ) -> np.ndarray:
    """Probability of each slice digit -L .. L, [2L+1].

    Without ``weights``: the stated distribution, each magnitude 0 .. L equally likely
    (uniform low-order bits of a slice) and the sign + or - equally likely.
    With ``weights`` (signed integer codes of a trained weight tensor, any shape) and
    ``ring_bits``: the histogram of the signed digits of their ``slices`` slices (every
    slice of every weight is set on a ring, zeros included; default: as many slices as
    the largest code needs).
    """
    n = 2 * levels + 1
    if weights is None:
        p = np.zeros(n)
        p[levels] = 1.0 / (levels + 1)
        for k in range(1, levels + 1):
            p[levels + k] = p[levels - k] = 0.5 / (levels + 1)
        return p
    if ring_bits is None or levels != 2**ring_bits - 1:
        raise ValueError(f"slicing trained weights needs ring_bits with levels = "
                         f"2^ring_bits - 1; got levels {levels}, ring_bits {ring_bits}")
    codes = np.rint(np.asarray(weights, dtype=np.float64).reshape(-1)).astype(np.int64)
    sign = np.sign(codes)
    mag = np.abs(codes)
    base = 2**ring_bits
    if slices is None:
        top = int(mag.max()) if mag.size else 0
        slices = 1
        while top >= base**slices:
            slices += 1
    counts = np.zeros(n)
    for _ in range(slices):
        np.add.at(counts, sign * (mag % base) + levels, 1.0)
        mag = mag // base
    return counts / counts.sum()


@dataclass(frozen=True)
class LeakStats:
    """Crosstalk leak onto one read of a full chunk (every input on, one unit each), in
    slice units, under a digit distribution: mean, standard deviation and the worst
    case over the digits."""

    mean: float
    std: float
    worst: float


def leak_stats(bank: BankModel, p: np.ndarray | None = None) -> LeakStats:
    """Mean and std of the summed leak sum_j (L/g - R_j) sum_i D_ij over the carriers of a
    bank (digits independent, distribution ``p``; default :func:`digit_distribution`) and
    its worst case (every ring at the digit that leaks most, the victims at the digit
    that receives most)."""
    p = digit_distribution(bank.levels) if p is None else np.asarray(p, dtype=float)
    recv = bank.unit - bank.realised  # [n]: factor of a victim at each digit
    d = bank.drop  # [n, C, C]
    # leak_ij = recv[d_j] D[d_i, i, j]; independent digits
    e_recv, e_recv2 = float(p @ recv), float(p @ recv**2)
    e_d = np.einsum("n,nij->ij", p, d)
    e_d2 = np.einsum("n,nij->ij", p, d * d)
    mean = e_recv * float(e_d.sum())
    # variance of sum_j recv_j S_j, S_j = sum_i D_ij: a victim's digit is independent of
    # its sources' (i != j); covariances between carriers through shared sources neglected
    s_mean = e_d.sum(axis=0)
    s_var = (e_d2 - e_d**2).sum(axis=0)
    var_j = e_recv2 * (s_var + s_mean**2) - (e_recv * s_mean) ** 2
    var = float(var_j.sum())
    worst = float(recv.max() * d.max(axis=0).sum())
    return LeakStats(mean, float(np.sqrt(max(var, 0.0))), worst)


def equivalent_crosstalk(bank: BankModel, p: np.ndarray | None = None) -> np.ndarray:
    """A C x C matrix X (zero diagonal) for the fast mode's leak model, which draws the leak
    of channel pair (i, j) as X_ij w_i x_j with E[w²] the mean square of a non-zero digit
    and P(w != 0) its occupancy: X_ij is chosen so that, under the digit distribution
    ``p`` (default :func:`digit_distribution`), X_ij² E[w²] P(w != 0) equals the mean
    square (mean² + variance) of the real leak (L/g - R_j) D_ij(d_i), column j scaled so
    that its sum matches the mean square of carrier j's total leak (mean included: the
    leaks are all positive and add)."""
    p = digit_distribution(bank.levels) if p is None else np.asarray(p, dtype=float)
    recv = bank.unit - bank.realised
    d = bank.drop
    e_recv2 = float(p @ recv**2)
    e_recv = float(p @ recv)
    e_d = np.einsum("n,nij->ij", p, d)
    e_d2 = np.einsum("n,nij->ij", p, d * d)
    pair_ms = e_recv2 * e_d2  # [i, j]
    s_mean = e_d.sum(axis=0)
    col_ms = e_recv2 * ((e_d2 - e_d**2).sum(axis=0) + s_mean**2)
    scale = np.divide(col_ms, pair_ms.sum(axis=0), out=np.ones_like(col_ms),
                      where=pair_ms.sum(axis=0) > 0)
    lv = bank.levels
    ms_digit = sum(k * k for k in range(1, lv + 1)) / lv
    occupancy = 1.0 - float(p[lv])
    del e_recv
    x = np.sqrt(pair_ms * scale[None, :] / (ms_digit * max(occupancy, 1e-12)))
    np.fill_diagonal(x, 0.0)
    return x


def weight_gain_db(spec: HardwareSpec) -> float:
    """The signal a unit slice weight loses against an ideal +-1 ring, -10 log10 g dB
    (the link budget's weight-ring operating-point loss under the scaled encoding)."""
    return float(-10.0 * np.log10(bank_model(spec).gain))


def bank_leak(spec: HardwareSpec) -> LeakStats:
    """:func:`leak_stats` of ``spec``'s bank under the stated digit distribution: for the
    link budget, the leak a read must absorb besides detector noise."""
    return leak_stats(bank_model(spec))
