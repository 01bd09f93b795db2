"""The photonic GEMM: ``Y = A @ B.T`` through the chip model, exact or fast.

Operand encoding (shared by both modes, decided by :func:`bplight.mapping.plan`):

* each operand is scaled by its largest magnitude (a per-tensor digital scale, applied
  back after the ADC) and rounded to a sign + magnitude code of ``input_bits`` /
  ``weight_bits`` (round to nearest);
* the input magnitude is cut into ``dac_bits`` slices sent one after another; the
  weight magnitude into ``ring_bits`` slices held by separate rings, each carrying the
  weight's sign (balanced detection);
* a signed input takes two passes (positive and negative parts) or the offset encoding;
* inter-channel crosstalk of the ring bank mixes the weights of neighbouring
  wavelengths inside each chunk (a fixed linear map along K, CrossLight eq. 8); when the
  ADC reads integer sums in unit steps, leaks below half a step are rounded away, so in
  fast mode crosstalk then enters as read errors (leaks modelled as Gaussian from the
  slices' occupancy) instead of as a deterministic change of the weights;
* each pass over a chunk gives one analog sum in slice units, ``|sum| <= full_scale``;
  detector noise of standard deviation ``sigma_rel * full_scale`` is added, then an
  ADC of ``adc_bits`` (sign + magnitude) reads it: its step is one slice unit when the
  ADC has enough codes to cover ``adc_range * full_scale`` with integer steps (exact
  reads of noise-free integer sums), else ``adc_range * full_scale / (2^(b-1) - 1)``;
  reads beyond ``± adc_range * full_scale`` clip;
* reads are shifted by their slice weights and added digitally.

``exact`` runs every pass; ``fast`` computes the product of the quantized (and
crosstalk-mixed) operands in one float GEMM and adds Gaussian noise whose variance is
the sum, over the same passes, of the read-error variance of one ADC read — where reads
rarely err (unit-step ADC), as rare discrete errors of the passes' slice weights instead
(:class:`ReadErrors`), the shape of the exact engine's errors. Where an output would see
many of them (intermediate read error rates), the frequent small ones are drawn as
Gaussian of the same mean and variance and only the rare large ones one by one
(:func:`fold_frequent`), so that a step's work stays bounded.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from scipy.special import ndtr

from bplight.mapping import Mapping
from bplight.numerics import kernels
from bplight.photonics.crosstalk import BankModel
from bplight.photonics.read_noise import rounded_gaussian_var


@dataclass(frozen=True)
class Physics:
    """What the numerics needs from the physics of one product: the noise of one pass
    relative to its full scale, and the bank's crosstalk matrix (C×C, zero diagonal) or
    ``None``."""

    noise_sigma_rel: float
    crosstalk: torch.Tensor | None
    crosstalk_col_sq: float = field(init=False, repr=False, compare=False)
    """mean_j Σ_i X_ij² of ``crosstalk`` (0 without), computed once."""
    crosstalk_block_sq: np.ndarray = field(init=False, repr=False, compare=False)
    """Σ_{i,j<r} X_ij² for r = 0 .. C: the squared leaks among the first r channels (a
    chunk with only r channels in use), computed once ([0.] without crosstalk)."""
    ring: BankModel | None = field(default=None, compare=False)
    """The bank's rings per slice digit (:class:`bplight.photonics.crosstalk.BankModel`):
    the exact engine sets each weight slice through it (realised transfer and crosstalk
    from where each resonance sits), the fast engine draws its read errors from it
    (:func:`ring_read_errors`); ``None``: ideal rings mixed by ``crosstalk``."""
    ring_stats: dict = field(default_factory=dict, init=False, repr=False, compare=False)
    """Fast mode's :func:`ring_read_errors` per product shape, re-estimated every
    :data:`RING_STATS_EVERY` products (:func:`operand_read_errors`)."""

    def __post_init__(self) -> None:
        xt = self.crosstalk
        col_sq = 0.0 if xt is None else float((xt.detach().double() ** 2).sum(0).mean())
        object.__setattr__(self, "crosstalk_col_sq", col_sq)
        block = np.zeros(1)
        if xt is not None:
            sq = xt.detach().double().cpu().numpy() ** 2
            block = np.array([sq[:r, :r].sum() for r in range(sq.shape[0] + 1)])
        object.__setattr__(self, "crosstalk_block_sq", block)

    def leak_sq_per_chunk(self, k: int, chunk: int) -> float:
        """Mean over the ``ceil(k / chunk)`` chunks of a reduction of length ``k`` of
        Σ X_ij² over the channel pairs in use (the last chunk may be partly empty)."""
        if self.crosstalk is None:
            return 0.0
        kc = -(-k // chunk)
        last = k - (kc - 1) * chunk
        full = self.crosstalk_block_sq[min(chunk, len(self.crosstalk_block_sq) - 1)]
        return float(((kc - 1) * full + self.crosstalk_block_sq[last]) / kc)


def quantize_codes(t: torch.Tensor, mag_bits: int | None, scale: torch.Tensor) -> torch.Tensor:
    """Signed magnitude codes of ``t / scale`` in ``[-(2^m - 1), 2^m - 1]`` (float tensor);
    with ``mag_bits=None`` the normalised value itself (no quantization)."""
    x = t / scale
    if mag_bits is None:
        return x
    levels = float(2**mag_bits - 1)
    return torch.round(x * levels)


def code_levels(mag_bits: int | None) -> float:
    return 1.0 if mag_bits is None else float(2**mag_bits - 1)


def apply_crosstalk(b: torch.Tensor, xt: torch.Tensor | None, chunk: int,
                    ring: BankModel | None = None) -> torch.Tensor:
    """Mix each chunk of ``b``'s last dimension by ``I + X`` (X: C×C crosstalk, zero
    diagonal): channel j sees ``b_j + Σ_i X[i, j] b_i``. With ``ring``, ``b`` holds signed
    slice digits and each chunk is set on the rings instead (:func:`ring_transfer`)."""
    if ring is not None:
        return ring_transfer(b, ring, chunk)
    if xt is None:
        return b
    k = b.shape[-1]
    pad = (-k) % chunk
    bb = torch.nn.functional.pad(b, (0, pad)) if pad else b
    shp = bb.shape
    bb = bb.reshape(*shp[:-1], shp[-1] // chunk, chunk)
    mixed = bb + bb @ xt.to(dtype=b.dtype, device=b.device)
    mixed = mixed.reshape(shp)
    return mixed[..., :k] if pad else mixed


def ring_transfer(b: torch.Tensor, ring: BankModel, chunk: int) -> torch.Tensor:
    """The slice values the rings of a bank realise for signed slice digits ``b`` (last
    dimension = reduction, cut into chunks of ``chunk`` carriers):
    ``R(d_j) + (L/g - R(d_j)) Σ_{i≠j} D_ij(d_i)`` with R the realised value of a digit
    (tuning-DAC rounding included) and D_ij(d) the fraction of carrier j ring i drops at
    the resonance position digit d puts it (FSR wrap included;
    :mod:`bplight.photonics.crosstalk`). Digits are rounded and clipped to [-L, L]; the
    empty carriers of a partly used last chunk have rings parked at digit 0 (they leak,
    their inputs are zero)."""
    k = b.shape[-1]
    pad = (-k) % chunk
    bb = torch.nn.functional.pad(b, (0, pad)) if pad else b
    shp = bb.shape
    bb = bb.reshape(*shp[:-1], shp[-1] // chunk, chunk)
    lv = ring.levels
    idx = (bb.round().clamp(-lv, lv) + lv).to(torch.long)
    realised, drop = _ring_tables(ring, chunk, b.dtype, b.device)
    leak = torch.zeros_like(bb)
    if drop.shape[0] <= 64:
        for level in range(drop.shape[0]):
            mask = idx == level
            if bool(mask.any()):
                leak = leak + mask.to(b.dtype) @ drop[level]
    else:  # many levels: gather each ring's row (C times the memory of b)
        rows = drop[idx, torch.arange(chunk, device=b.device)]  # [..., C(i), C(j)]
        leak = rows.sum(dim=-2)
    r = realised[idx]
    out = (r + (ring.unit - r) * leak).reshape(shp)
    return out[..., :k] if pad else out


@functools.lru_cache(maxsize=32)
def _ring_tables(ring: BankModel, chunk: int, dtype: torch.dtype, device: torch.device
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """A :class:`BankModel`'s realised values [2L+1] and drops [2L+1, chunk, chunk] as
    tensors (a bank of ``chunk`` <= C carriers uses its first ``chunk`` rings)."""
    if chunk > ring.channels:
        raise ValueError(f"a chunk of {chunk} carriers exceeds the bank's {ring.channels}")
    realised = torch.as_tensor(ring.realised.copy(), dtype=dtype, device=device)
    drop = torch.as_tensor(ring.drop[:, :chunk, :chunk].copy(), dtype=dtype, device=device)
    return realised, drop


def read_error_var(step: float, sigma: float, integer_aligned: bool) -> float:
    """Variance of one ADC read's error, noise included, in slice units².

    Exact for a noise-free or Gaussian-noisy integer sum read with an integer-aligned
    step of one unit (discrete Gaussian rounding); otherwise the uniform-rounding
    approximation ``step²/12 + sigma²``.
    """
    if step == 0.0:
        return sigma**2
    if integer_aligned and step == 1.0:
        return float(rounded_gaussian_var(np.asarray(sigma)))
    return step * step / 12.0 + sigma**2


def _slices(codes_abs: torch.Tensor, bits: int, n: int) -> list[torch.Tensor]:
    """``n`` slices of ``bits`` each of non-negative integer codes, least significant first."""
    out = []
    base = float(2**bits)
    rest = codes_abs
    for _ in range(n):
        q = torch.floor(rest / base)
        out.append(rest - q * base)
        rest = q
    return out


def issued_counts(m: Mapping) -> dict[str, int]:
    """What one product of ``m`` executes, from its operands' sizes and encoding (all
    groups): analog passes = ADC reads, DAC symbols and ring settings (the names of
    :data:`bplight.numerics.context.COUNT_NAMES`); nothing analog for a digital product.
    The sign passes are the Mapping's, which follows the operand issued (its GemmShape's
    ``input_signed`` is whether it held a negative entry)."""
    if not m.analog:
        return {}
    g = m.gemm
    passes = g.groups * g.m * g.n * m.k_chunks * m.input_slices * m.weight_slices \
        * m.sign_passes
    reads = g.groups * g.m * g.n * m.k_chunks if m.slice_sum_analog else passes
    return {"analog_passes": passes, "adc_reads": reads,
            "dac_symbols": g.groups * g.m * g.k * m.input_slices * m.sign_passes,
            "ring_settings": g.groups * g.n * g.k * m.weight_slices}


def chunk_k(t: torch.Tensor, chunk: int, k_chunks: int) -> torch.Tensor:
    """``t[rows, K]`` zero-padded along K and cut into ``[rows, k_chunks, chunk]``."""
    pad = k_chunks * chunk - t.shape[1]
    t = torch.nn.functional.pad(t, (0, pad)) if pad else t
    return t.reshape(t.shape[0], k_chunks, chunk)


def weight_slices(cb: torch.Tensor, m: Mapping) -> list[torch.Tensor]:
    """The signed ring slices of weight codes ``cb`` (one slice when unquantized)."""
    if m.weight_magnitude_bits is None:
        return [cb]
    return [s * torch.sign(cb) for s in _slices(cb.abs(), m.ring_bits, m.weight_slices)]


def sign_parts(ca: torch.Tensor, m: Mapping, a_negative: bool
               ) -> list[tuple[float, torch.Tensor]]:
    """The input passes ``(sign, non-negative part)`` of input codes ``ca``: two sign
    passes for a signed operand, the second skipped when the tensor has no negative entry
    (as counted by the mapping, GemmShape.input_signed)."""
    if m.sign_passes == 2:
        parts = [(1.0, ca.clamp(min=0)), (-1.0, (-ca).clamp(min=0))]
        return parts if a_negative else parts[:1]
    return [(1.0, ca)]


def input_slices(part: torch.Tensor, m: Mapping) -> list[torch.Tensor]:
    """The DAC slices of one input pass (one slice when unquantized)."""
    if m.input_magnitude_bits is None:
        return [part]
    return _slices(part, m.dac_bits, m.input_slices)


def exact_matmul(a: torch.Tensor, b: torch.Tensor, m: Mapping, phys: Physics,
                 generator: torch.Generator | None,
                 scales: tuple[float, float] | None = None, a_negative: bool | None = None,
                 tally: dict[str, int] | None = None) -> torch.Tensor:
    """``a[M, K] @ b[N, K].T`` pass by pass, chunk by chunk, ADC on every partial sum.

    ``scales``: the operands' full scales when they are parts of larger tensors (one
    group of a grouped product: the scale is per tensor), else each one's max |x|;
    ``a_negative``: whether the input operand's tensor has a negative entry (default:
    ``a``'s own), which decides the second sign pass. ``tally``: a dict whose
    ``analog_passes``, ``adc_reads``, ``dac_symbols`` and ``ring_settings`` are raised by
    what this call runs (entries of the batched pass products, slices modulated and set).
    """
    (sa, neg), (sb, _) = scale_and_sign(a), scale_and_sign(b)
    if scales is not None:
        sa, sb = (torch.as_tensor(s, dtype=a.dtype, device=a.device) for s in scales)
    a_negative = neg if a_negative is None else a_negative
    run = {"analog_passes": 0, "dac_symbols": 0, "ring_settings": 0}
    ca = quantize_codes(a, m.input_code_bits, sa)
    cb = quantize_codes(b, m.weight_magnitude_bits, sb)
    la, lb = code_levels(m.input_code_bits), code_levels(m.weight_magnitude_bits)
    offset = 0.0
    if m.offset_encoding:
        # unsigned u = code + 2^(b-1) sent in one pass; 2^(b-1)·Σ_k B subtracted digitally
        offset = float(2 ** (m.input_bits - 1))
        ca = ca + offset
    xt = phys.crosstalk
    step = m.adc_step
    clip = m.adc_clip
    sigma = phys.noise_sigma_rel * m.full_scale
    chunk, kc = m.chunk, m.k_chunks

    def chunked(t: torch.Tensor) -> torch.Tensor:
        return chunk_k(t, chunk, kc)

    # weight slices (signed), crosstalk-mixed, [S_w][N, kc, C]
    w_slices = weight_slices(cb, m)
    run["ring_settings"] += sum(s.numel() for s in w_slices)
    # (one crosstalk call for all slices, not one per slice: that took 11 % of the exact
    # mode's time at 15 slices)
    ring = phys.ring if m.weight_magnitude_bits is not None else None
    w_mixed = apply_crosstalk(torch.stack(w_slices, 0), xt, chunk, ring)  # [S_w, N, K]
    w_slices = [chunked(ws) for ws in w_mixed]
    parts = sign_parts(ca, m, a_negative)  # input passes: (sign, tensor)
    n_out, s_w = b.shape[0], len(w_slices)
    # all weight slices side by side (they sit on separate rings, read in the same
    # symbol): [kc, C, S_w·N]
    w_all = torch.stack(w_slices, 0).permute(2, 3, 0, 1).reshape(kc, chunk, s_w * n_out)
    w_shift = torch.tensor([float(2 ** (m.ring_bits * j)) for j in range(s_w)],
                           dtype=a.dtype, device=a.device).repeat_interleave(n_out)
    y = torch.zeros(a.shape[0], n_out, dtype=a.dtype, device=a.device)
    # slice_sum analog: the noisy passes of each K-chunk shifted and summed before one
    # ADC read (photonics/slice_sum.py), [kc, M, N] in code units
    acc = torch.zeros(kc, a.shape[0], n_out, dtype=a.dtype, device=a.device) \
        if m.slice_sum_analog else None
    pair_step = pair_clip = None
    if m.pair_adc_step:  # one calibrated range per (input slice, weight slice) pair
        pair_step, pair_clip = (torch.tensor(t, dtype=a.dtype, device=a.device)
                                .repeat_interleave(n_out, dim=1)
                                for t in (m.pair_adc_step, m.pair_adc_clip))
    for sgn, part in parts:
        for i, xs in enumerate(input_slices(part, m)):
            xsc = chunked(xs).transpose(0, 1)  # [kc, M, C]
            sums = torch.bmm(xsc, w_all)  # [kc, M, S_w·N]: one analog pass per entry
            run["analog_passes"] += sums.numel()
            run["dac_symbols"] += xs.numel()
            if sigma > 0:
                noise = torch.randn(sums.shape, generator=generator, dtype=sums.dtype,
                                    device=sums.device)
                sums = noise.mul_(sigma).add_(sums)
            if acc is not None:  # analog shift-and-add: no read of the pass
                shifted = (sums * w_shift).reshape(kc, -1, s_w, n_out).sum(dim=2)
                acc.add_(shifted, alpha=sgn * float(2 ** (m.dac_bits * i)))
                continue
            if pair_step is not None:  # ADC at the pair's step and clip, [S_w·N] per i
                sums = torch.minimum(torch.maximum(
                    sums.div_(pair_step[i]).round_().mul_(pair_step[i]), -pair_clip[i]),
                    pair_clip[i])
            elif step > 0:  # ADC: round to the step, clip at full scale (in place)
                if step != 1.0:
                    sums.div_(step)
                sums.round_()
                if step != 1.0:
                    sums.mul_(step)
                if math.isfinite(clip):
                    sums.clamp_(-clip, clip)
            reads = sums.sum(dim=0) * w_shift  # shift-and-add
            shift = float(2 ** (m.dac_bits * i))
            y = y + (sgn * shift) * reads.reshape(-1, s_w, n_out).sum(dim=1)
    if acc is not None:  # the accumulator's kT/C noise, then one ADC read per sum
        if m.slice_adder_sigma > 0:
            noise = torch.randn(acc.shape, generator=generator, dtype=acc.dtype,
                                device=acc.device)
            acc.add_(noise.mul_(m.slice_adder_sigma))
        if step > 0:
            acc.div_(step).round_().mul_(step)
            if math.isfinite(clip):
                acc.clamp_(-clip, clip)
        y = acc.sum(dim=0)
    if offset:
        # the back end subtracts 2^(b-1) sum_k B_k from the weight codes it stores (the
        # digits, cb), not from what the rings realise: it cannot know their leaks
        y = y - offset * cb.sum(dim=1).unsqueeze(0)
    if tally is not None:
        # one conversion per pass, or per K-chunk sum under the analog slice sum
        run["adc_reads"] = run["analog_passes"] if acc is None else acc.numel()
        for k, v in run.items():
            tally[k] = tally.get(k, 0) + v
    return y * (sa * sb / (la * lb))


def rounds_away_crosstalk(m: Mapping) -> bool:
    """Whether the ADC reads integer sums in unit steps, so that crosstalk enters only
    as read errors (leaks below half a step are rounded away) rather than as a
    deterministic change of the weights."""
    return (m.adc_bits is not None and m.integer_sums and m.adc_step == 1.0
            and not m.slice_sum_analog)


def slice_occupancy(t: torch.Tensor, scale: torch.Tensor | float, mag_bits: int, bits: int,
                    n: int, max_samples: int = 4096) -> np.ndarray:
    """Fraction of elements of ``t`` whose slice ``i`` (``bits`` wide, least significant
    first) is non-zero, for i < n, from a histogram of the codes' leading bit (over at
    most ``max_samples`` evenly strided elements): the leading slice is non-zero; lower
    ones are taken non-zero with probability 1 - 2^-bits (uniform low-order bits)."""
    flat = t.detach().reshape(-1)
    stride = flat.numel() // max_samples if flat.numel() > max_samples else 1
    if kernels.AVAILABLE and flat.device.type == "cpu" and flat.dtype in (
            torch.float32, torch.float64) and flat.is_contiguous():
        return kernels.slice_occupancy(flat.numpy(), stride, -(-flat.numel() // stride),
                                       float(scale), mag_bits, bits, n)
    if stride > 1:  # a histogram of 4096 codes: O(1) per product, not O(t)
        flat = flat[::stride]
    # round(|x| / scale * (2^m - 1)) in float64 (in place on one fresh array)
    if flat.dtype not in (torch.float32, torch.float64, torch.float16):
        flat = flat.double()
    codes = np.abs(flat.cpu().numpy(), dtype=np.float64)
    codes /= float(scale)
    codes *= 2**mag_bits - 1
    np.round(codes, out=codes)
    # leading slice + 1 (0 for a zero code), looked up by the codes' binary exponent
    # (non-negative integers as float64: floor(log2 c) = biased exponent - 1023)
    exponent = codes.view(np.int64)
    exponent >>= 52
    top1 = _top_slice_table(bits, n).take(exponent)  # a lookup instead of a log2 per code
    hist = np.bincount(top1, minlength=n + 1) / max(codes.size, 1)
    at_top = hist[1:]
    above = np.cumsum(at_top[::-1])[::-1] - at_top
    return at_top + above * (1.0 - 2.0**-bits)


@functools.lru_cache(maxsize=64)
def _top_slice_table(bits: int, n: int) -> np.ndarray:
    """Leading slice + 1 of a non-negative float64 code by its biased exponent e:
    floor((e - 1023) / bits) + 1 clipped to [1, n] (e - 1023 = floor(log2 c)), and 0 for
    a zero code (e = 0) or a non-finite one (e = 2047), as ``np.frexp`` reports them."""
    log2 = np.arange(2048, dtype=np.int64) - 1023
    out = np.clip(np.floor_divide(log2, bits), -1, n - 1) + 1
    out[0] = out[2047] = 0
    out.flags.writeable = False
    return out


@functools.lru_cache(maxsize=64)
def _mean_square_digit(bits: int) -> float:
    """E[k²] of a non-zero digit k uniform in 1 .. 2^bits - 1."""
    top = 2**bits - 1
    return sum(k * k for k in range(1, top + 1)) / top


SPARSE_MAX_MEAN = 0.5
"""A pass class (input slice i, weight slice j) whose reads of one output element err
fewer times than this on average has its errors drawn as rare discrete events."""


@dataclass(frozen=True)
class ReadErrors:
    """The fast-mode error of one output element of a product: a Gaussian part of
    standard deviation ``std`` plus, where ADC reads err rarely (a unit-step ADC reading
    integer sums: the read error is round(N(0, s²)), almost always 0), a compound-Poisson
    part: ``rate`` wrong reads per output element on average, each adding ``±values[c]``
    with probability ``probs[c]`` (amplitudes include the pass's slice weight). The
    exact engine's errors are of that shape: mostly none, rarely one whole slice step at
    a high significance; a Gaussian of the same variance would spread them over every
    element. Units: code units from :func:`fast_read_errors`, real units from
    :func:`operand_read_errors`."""

    std: float
    rate: float = 0.0
    values: np.ndarray | None = None
    probs: np.ndarray | None = None
    mean: float = 0.0
    """Mean of the Gaussian part (non-zero where reads err with a bias: the add-drop
    rings' crosstalk leaks are positive, :func:`ring_read_errors`)."""
    signed: bool = False
    """``values`` carry their signs (a biased table, :func:`ring_read_errors`); False:
    each wrong read adds ``+values[c]`` or ``-values[c]`` with equal probability."""
    rate_table: np.ndarray | None = None
    """Samples of one element's rate of wrong reads (mean ``rate``), where the reads of an
    element err together: they share its chunks' digits, and a chunk whose rings leak
    much errs in many passes (:func:`ring_read_errors`). None: every element errs at
    ``rate``."""

    @property
    def var(self) -> float:
        """Variance of one element's error (a compound Poisson part adds rate E[v²])."""
        sparse = 0.0 if not self.rate else self.rate * float((self.probs * self.values**2).sum())
        return self.std**2 + sparse

    @property
    def bias(self) -> float:
        """Mean of one element's error."""
        if not (self.rate and self.signed):
            return self.mean
        return self.mean + self.rate * float((self.probs * self.values).sum())

    def scaled(self, unit: float) -> ReadErrors:
        if self.rate == 0.0:
            return ReadErrors(self.std * unit, mean=self.mean * unit)
        return ReadErrors(self.std * unit, self.rate, self.values * unit, self.probs,
                          self.mean * unit, self.signed, self.rate_table)


def fast_noise_var(m: Mapping, phys: Physics, input_has_negative: bool,
                   a_occupancy: torch.Tensor | None = None,
                   b_occupancy: torch.Tensor | None = None) -> float:
    """Variance of the output error of one product element, in code units² (before the
    operand scales): the sum over every pass (i, j) of its read error variance, weighted
    by its slice weight squared 4^(dac·i + ring·j) (:func:`fast_read_errors`)."""
    return fast_read_errors(m, phys, input_has_negative, a_occupancy, b_occupancy).var


def fast_read_errors(m: Mapping, phys: Physics, input_has_negative: bool,
                     a_occupancy: torch.Tensor | None = None,
                     b_occupancy: torch.Tensor | None = None) -> ReadErrors:
    """The error of one output element of a product, in code units (before the operand
    scales): over every pass (i, j), ``k_chunks × sign passes`` reads, each erring with
    the read error of that pass, weighted by its slice weight 2^(dac·i + ring·j).

    A read of pass (i, j) errs by detector noise (sigma, from the link budget) and, when
    the ADC reads integer sums in unit steps, by crosstalk leaks, modelled as Gaussian of
    variance ``E[x²] · E[w²] · Σ_ij X_ij²`` (E over the slice digits, using the occupancy
    of each slice; the sum over the channel pairs in use, averaged over the chunks:
    :meth:`Physics.leak_sq_per_chunk`); the read error is then round(N(0, s²)) (a discrete
    Gaussian): classes whose reads err rarely (:data:`SPARSE_MAX_MEAN`) are the sparse
    part of :class:`ReadErrors`, the others Gaussian of the same variance. With a coarse
    ADC (step above one unit) a pass whose sum is zero reads without rounding error;
    others add step²/12 (Gaussian part). ``a_occupancy`` / ``b_occupancy``
    (:func:`slice_occupancy`) default to 1 (every slice busy: conservative).

    A calibrated ADC range (``adc_range_mode: calibrated``) clips the rare large sums: the
    mean-square clipping error its calibration measured per K-chunk (``m.adc_clip_var``,
    :mod:`bplight.numerics.calibration`) is added, ``k_chunks`` times, to the Gaussian part.
    """
    if m.adc_clip_var > 0.0:
        errs = fast_read_errors(replace(m, adc_clip_var=0.0), phys, input_has_negative,
                                a_occupancy, b_occupancy)
        std = math.sqrt(errs.std**2 + m.k_chunks * m.adc_clip_var)
        return ReadErrors(std, errs.rate, errs.values, errs.probs)
    step = m.adc_step
    sigma = phys.noise_sigma_rel * m.full_scale
    sign_passes = m.sign_passes if input_has_negative else 1
    if m.slice_sum_analog:  # one read per K-chunk of the analog sum (photonics/slice_sum)
        from bplight.photonics.slice_sum import sum_error_var

        return ReadErrors(math.sqrt(m.k_chunks * sum_error_var(m, sigma, sign_passes)))
    quant_in = m.input_magnitude_bits is not None
    quant_w = m.weight_magnitude_bits is not None
    ni = m.input_slices if quant_in else 1
    nj = m.weight_slices if quant_w else 1
    weight, weight_sum = _pass_weights(ni if quant_in else 0, nj if quant_w else 0,
                                       m.dac_bits, m.ring_bits)
    reads = m.k_chunks * sign_passes
    if not m.integer_sums:
        return ReadErrors(math.sqrt(reads * weight_sum * (step * step / 12.0 + sigma**2)))
    if step == 0.0:  # ideal readout: the noise itself
        return ReadErrors(math.sqrt(reads * weight_sum) * sigma)
    f = np.asarray(a_occupancy, dtype=np.float64)[:ni] if a_occupancy is not None else np.ones(ni)
    g = np.asarray(b_occupancy, dtype=np.float64)[:nj] if b_occupancy is not None else np.ones(nj)
    p = f[:, None] * g[None, :]
    if m.pair_adc_step and step > 1.0:  # a calibrated range per (i, j) pair
        st = np.asarray(m.pair_adc_step, dtype=np.float64)[:ni, :nj]
        p_nz = 1.0 - (1.0 - p) ** m.chunk
        zero = st * st * rounded_gaussian_var(sigma / st)
        coarse = p_nz * (st * st / 12.0 + sigma**2) + (1.0 - p_nz) * zero
        var = np.where(st == 1.0, rounded_gaussian_var(np.full_like(st, sigma)), coarse)
        return ReadErrors(math.sqrt(reads * float((weight * var).sum())))
    if not rounds_away_crosstalk(m):
        p_nz = 1.0 - (1.0 - p) ** m.chunk
        zero = step * step * _unit_read_error_var(sigma / step) if sigma > 0 else 0.0
        var = p_nz * (step * step / 12.0 + sigma**2) + (1.0 - p_nz) * zero
        return ReadErrors(math.sqrt(reads * float((weight * var).sum())))
    if phys.crosstalk is None:
        if sigma == 0.0:
            return ReadErrors(0.0)
        s_read = np.full((ni, nj), sigma)
    else:
        leak = (phys.leak_sq_per_chunk(m.gemm.k, m.chunk) * _mean_square_digit(m.dac_bits)
                * _mean_square_digit(m.ring_bits)) * p
        s_read = np.sqrt(sigma**2 + leak)
    return _discrete_read_errors(s_read, weight, reads)


def _discrete_read_errors(s_read: np.ndarray, weight: np.ndarray, reads: int) -> ReadErrors:
    """:class:`ReadErrors` of ``reads`` reads per pass class, each read's error round(N(0,
    s²)) with ``s = s_read[i, j]``, weighted by ``sqrt(weight[i, j])``.

    One evaluation of the normal tails ``P(n > k + 1/2)``, k = 0 .. kmax, per class gives
    everything: P(round(n) = ±k) (upper tails, accurate where they are tiny), the
    read's error variance (:func:`bplight.photonics.read_noise.rounded_gaussian_var`'s
    sum) and P(round(n) != 0)."""
    kmax = int(8 * float(s_read.max())) + 2
    if kernels.AVAILABLE:  # the same sums in one compiled pass
        values, inverse = _merge_plan(weight.tobytes(), weight.shape, None, kmax)
        counts = np.zeros(values.size)
        total, sparse_var = kernels.read_error_classes(
            np.ascontiguousarray(s_read, dtype=np.float64).reshape(-1), weight.reshape(-1),
            reads, kmax, inverse, SPARSE_MAX_MEAN, counts)
        if total == 0.0:
            return ReadErrors(0.0)
        values, counts = _kept_reads(values, counts)
        rate = float(counts.sum())
        if rate == 0.0:
            return ReadErrors(math.sqrt(total))
        return ReadErrors(math.sqrt(max(total - sparse_var, 0.0)), rate, values,
                          counts / rate)
    half = np.arange(kmax + 1, dtype=np.float64) + 0.5  # k + 1/2, k = 0 .. kmax
    tail = ndtr(-half / np.maximum(s_read, 1e-30)[..., None])  # [ni, nj, kmax + 1]
    p_k = tail[..., :-1] - tail[..., 1:]  # P(round(n) = k), k = 1 .. kmax, per side
    k = half[1:] - 0.5
    var = 2.0 * (p_k @ (k * k))
    contrib = reads * weight * var
    total = float(contrib.sum())
    if total == 0.0:
        return ReadErrors(0.0)
    p_wrong = 2.0 * tail[..., 0]  # P(round(n) != 0)
    sparse = reads * p_wrong <= SPARSE_MAX_MEAN
    if not sparse.any():
        return ReadErrors(math.sqrt(total))
    # expected wrong reads of each class and |error| k; those a read makes with
    # probability below 1e-16 are never drawn (as the table had them before it took the
    # upper tails: 1 - 1e-16 is 1 in float64)
    p_sp = p_k[sparse]
    counts = np.where(p_sp < 1e-16, 0.0, reads * 2.0 * p_sp)
    values, inverse = _merge_plan(weight.tobytes(), weight.shape, sparse.tobytes(), kmax)
    values, counts = _sparse_table(values, counts.reshape(-1), inverse)
    rate = float(counts.sum())
    gauss = max(total - float(contrib[sparse].sum()), 0.0)
    if rate == 0.0:
        return ReadErrors(math.sqrt(total))
    return ReadErrors(math.sqrt(gauss), rate, values, counts / rate)


@functools.lru_cache(maxsize=256)
def _merge_plan(weight: bytes, shape: tuple[int, ...], sparse: bytes | None, kmax: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """The distinct amplitudes ``sqrt(weight[sparse]) · k`` (k = 1 .. kmax, ascending) of
    :func:`_discrete_read_errors`'s sparse classes (``sparse`` None: of every class) and,
    per (class, k), the index of its amplitude ([classes, kmax] where ``sparse`` is None):
    the sort :func:`_sparse_table` would do, once per encoding."""
    w = np.frombuffer(weight, dtype=np.float64).reshape(shape)
    amps = np.sqrt(w.reshape(-1) if sparse is None
                   else w[np.frombuffer(sparse, dtype=bool).reshape(shape)])
    k = np.arange(1, kmax + 1, dtype=np.float64)
    values, inverse = np.unique((amps[:, None] * k[None, :]).reshape(-1),
                                return_inverse=True)
    if sparse is None:
        inverse = inverse.reshape(amps.size, kmax)
    values.flags.writeable = False
    inverse.flags.writeable = False
    return values, inverse


SPARSE_VAR_TAIL = 0.0
"""Share of the sparse read-error variance that fast mode may leave out as the many
smallest wrong reads (:func:`_sparse_table`); 0: every wrong read is drawn."""


def _sparse_table(values: np.ndarray, counts: np.ndarray, inverse: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """The wrong reads drawn (amplitudes ``values``, expected numbers ``counts`` per output
    element): equal amplitudes merged (the passes (i, j) with one slice weight
    2^(dac·i + ring·j) err alike: the same distribution from a shorter table), ascending.
    With ``inverse``, ``values`` are already the distinct amplitudes, ascending, and
    ``inverse`` the index of each count's (:func:`_merge_plan`).

    With :data:`SPARSE_VAR_TAIL` > 0, the smallest amplitudes whose variance adds up to at
    most that share of the sparse part's are left out and the others' counts raised by
    the same share (variance exact, mean 0). Most wrong reads are of low-order passes
    (with 1-bit slices an amplitude halves per slice step, its variance quarters), so
    the many smallest carry a negligible share of the variance while each costs one
    random scatter: at 1e-4, 80-85 % of a VGG-8 step's wrong reads go (errors 2^7 and
    more times smaller than the largest), and an element's error, coupled with the full
    draw, moves by an RMS of at most sqrt(2 x 1e-4) = 1.4 % of its standard deviation.
    It is off because it raises the share of error-free outputs (by 0.12 on a small
    linear layer, beyond tests/test_fast_vs_exact.py's tolerance);
    ``benchmarks/bench_speed.py`` measures what it would save."""
    v, inv = (values, inverse) if inverse is not None else np.unique(values,
                                                                     return_inverse=True)
    return _kept_reads(v, np.bincount(inv, weights=counts, minlength=v.size))


def _kept_reads(v: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_sparse_table` of distinct ascending amplitudes ``v`` and their expected
    numbers ``c``: those drawn (``c`` > 0, less the :data:`SPARSE_VAR_TAIL`)."""
    keep = c > 0
    v, c = v[keep], c[keep]
    var = c * v * v
    total = float(var.sum())
    if total == 0.0 or SPARSE_VAR_TAIL <= 0.0:
        return v, c
    cum = np.cumsum(var)
    cut = int(np.searchsorted(cum, SPARSE_VAR_TAIL * total, side="right"))
    if cut == 0:
        return v, c
    return v[cut:], c[cut:] * (total / (total - float(cum[cut - 1])))


@functools.lru_cache(maxsize=256)
def _pass_weights(ni: int, nj: int, dac_bits: int, ring_bits: int) -> tuple[np.ndarray, float]:
    """Slice weights squared 4^(dac·i + ring·j) of the passes, [max(ni, 1), max(nj, 1)],
    and their sum; ``ni`` / ``nj`` 0 for an unquantized operand (one pass of weight 1)."""
    wi = 4.0 ** (dac_bits * np.arange(ni)) if ni else np.ones(1)
    wj = 4.0 ** (ring_bits * np.arange(nj)) if nj else np.ones(1)
    weight = wi[:, None] * wj[None, :]
    weight.flags.writeable = False
    return weight, float(weight.sum())


@functools.lru_cache(maxsize=256)
def _unit_read_error_var(sigma: float) -> float:
    return read_error_var(1.0, sigma, True)


def scale_and_sign(t: torch.Tensor) -> tuple[torch.Tensor, bool]:
    """Per-tensor full scale (max |t|, 1 for an all-zero tensor) and whether ``t`` has a
    negative entry, from one fused min/max reduction."""
    mn, mx = torch.aminmax(t.detach())
    s = torch.maximum(-mn, mx)
    s = torch.where(s > 0, s, torch.ones_like(s))
    return s, bool(mn < 0)


def fake_quantize(t: torch.Tensor, mag_bits: int | None, scale: torch.Tensor) -> torch.Tensor:
    """``t`` rounded to the sign + magnitude grid ``scale / (2^m - 1)`` (real units).

    float32: the arithmetic of ``torch.fake_quantize_per_tensor_affine`` (step and its
    reciprocal rounded to float32, round half to even, clamp to ±(2^m - 1) steps), with
    the same results, as elementwise passes (several times faster on CPU than that fused
    kernel)."""
    if mag_bits is None:
        return t
    levels = 2**mag_bits - 1
    if t.dtype == torch.float32 and mag_bits <= 24:
        return _fake_quantize_f32(t, mag_bits, float(scale), clamp=True)
    if mag_bits <= 30 and t.dtype == torch.float32:
        return torch.fake_quantize_per_tensor_affine(
            t.detach(), float(scale) / levels, 0, -levels, levels)
    return torch.round(t / scale * levels) * (scale / levels)


def _fake_quantize_f32(t: torch.Tensor, mag_bits: int, scale: float,
                       clamp: bool) -> torch.Tensor:
    """:func:`fake_quantize` of a float32 tensor; ``clamp=False`` where ``|t| <= scale``
    and mag_bits <= 20 (the float32 rounding of t / step then stays below 2^m - 1/2,
    so the clamp is a no-op)."""
    levels = 2**mag_bits - 1
    step = np.float32(scale / levels)
    inv = np.float32(1.0) / step
    q = t.detach().mul(float(inv)).round_()
    if clamp:
        q = q.clamp_(-levels, levels)
    return q.mul_(float(step))


def mix_weight(bq: torch.Tensor, m: Mapping, phys: Physics) -> torch.Tensor:
    """A quantized weight operand (reduction along its last dimension) as the rings
    realise it: crosstalk-mixed (under the add-drop ring model: every slice set on the
    rings, :func:`ring_effective_weight`), unless the ADC rounds the leaks away (then
    crosstalk enters as read errors, :func:`fast_read_errors`, :func:`ring_read_errors`)."""
    if rounds_away_crosstalk(m):
        return bq
    if phys.ring is not None and m.weight_magnitude_bits is not None:
        return ring_effective_weight(bq, m, phys.ring)
    return apply_crosstalk(bq, phys.crosstalk, m.chunk)


def ring_effective_weight(bq: torch.Tensor, m: Mapping, ring: BankModel) -> torch.Tensor:
    """A quantized weight operand ``bq`` (real units, on the grid of its largest
    magnitude, reduction along its last dimension) as the exact engine's rings realise
    it: each signed ``ring_bits`` slice of its codes set on the rings of its chunk
    (:func:`ring_transfer`: realised value and leaks from where every resonance sits),
    shifted and added back. Deterministic, and an upper bound: an exact read of a pass
    whose sum is zero (or small against a coarse step) rounds the leak away, which this
    does not see; with 2-bit rings and a 5-bit ADC (step 3.2 units) fast mode's mean
    error came out 1.2-1.4x exact mode's on the forward products of the
    tests/test_fast_vs_exact.py layers and 2.7x on their weight gradients (sparse
    errors on the rings), the standard deviations within 0.94-1.19x."""
    levels = float(2**m.weight_magnitude_bits - 1)
    scale = bq.detach().abs().max()
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    codes = torch.round(bq.detach() / scale * levels)
    slices = weight_slices(codes, m)
    eff = ring_transfer(torch.stack(slices, 0), ring, m.chunk)  # [S_w, ..., K]
    shift = torch.tensor([float(2 ** (m.ring_bits * j)) for j in range(len(slices))],
                         dtype=eff.dtype, device=eff.device)
    eff = (eff * shift.reshape(-1, *([1] * (eff.dim() - 1)))).sum(0)
    return eff * (scale / levels)


RING_SAMPLE_CHUNKS = 2048
"""Chunks of the weight operand (each paired with random input elements) from which
:func:`ring_read_errors` estimates the read-error distribution of a product: all of the
operand's chunks, repeated up to this number, or this many of them. Reads err mostly
where the leak nears half a step, a tail that a few hundred pairs estimate to within a
factor 2 only (measured)."""

RING_STATS_EVERY = 32
"""Products of one shape between re-estimates of :func:`ring_read_errors` (the operands
change slowly during training; cached in :attr:`Physics.ring_stats`)."""


def _sample_codes(op: Operand, mag_bits: int, idx: np.ndarray) -> np.ndarray:
    """Signed integer codes (float64) of the elements ``idx`` of ``op``'s tensor, rounded
    as :func:`fake_quantize` rounds them."""
    return _sample_codes_of(op.tensor.reshape(-1), op.scale, mag_bits, idx)


def _sample_codes_of(flat: torch.Tensor, scale: float, mag_bits: int,
                     idx: np.ndarray) -> np.ndarray:
    vals = flat[torch.as_tensor(idx.reshape(-1), device=flat.device)]
    codes = np.round(vals.double().cpu().numpy() / scale * (2**mag_bits - 1))
    return codes.reshape(idx.shape)


def weight_rows(m: Mapping, t: torch.Tensor) -> torch.Tensor | None:
    """The weight operand of ``m`` as the rings see it, [rows, K] (every group's output
    rows; reduction along K), from the tensor ``t`` the layers hold: a linear layer's
    weight or error (as is, or transposed when its first dimension is K), a convolution's
    weight (forward: [Cout, Kf]; error: each group's W_g.T, K = Cout_g) or error
    (weight gradient: [Cout, B·H·W]) (:mod:`bplight.numerics.functions`). ``None`` when
    ``t``'s shape fits none of these."""
    g = m.gemm
    k, rows = g.k, g.groups * g.n
    if t.numel() != k * rows:
        return None
    if t.dim() == 2:
        if t.shape[1] == k and t.shape[0] == rows:
            return t
        if t.shape[0] == k:
            return t.t()
        return None
    if t.dim() == 4:
        if g.phase == "forward":
            return t.reshape(rows, k)
        if g.phase == "error" and t.shape[0] == g.groups * k:
            kf = t[0].numel()
            return t.reshape(g.groups, k, kf).transpose(1, 2).reshape(rows, k)
        if g.phase == "weight_grad" and t.shape[1] == rows:
            return t.transpose(0, 1).reshape(rows, k)
    return None


def _digit_slices(codes: np.ndarray, bits: int, n: int) -> np.ndarray:
    """[n, ...] signed ``bits``-wide slices of signed integer codes, least significant
    first (:func:`weight_slices`)."""
    mag = np.abs(codes).astype(np.int64)
    sign = np.sign(codes)
    base = 2**bits
    out = np.empty((n, *codes.shape))
    for j in range(n):
        out[j] = (mag % base) * sign
        mag //= base
    return out


def _ring_leaks(ring: BankModel, digits: np.ndarray, chunk: int) -> np.ndarray:
    """What rings set to signed ``digits`` [..., chunk] add to each digit, in slice units:
    the realised value's error plus the crosstalk leak (:func:`ring_transfer` less the
    digits; numpy)."""
    lv = ring.levels
    idx = digits.astype(np.int64) + lv
    drop = ring.drop[:, :chunk, :chunk]
    flat = idx.reshape(-1, chunk)
    leak = np.zeros(flat.shape)
    for level in range(drop.shape[0]):
        mask = flat == level
        if mask.any():
            leak += mask.astype(np.float64) @ drop[level]  # (2-D: one BLAS product)
    leak = leak.reshape(digits.shape)
    r = ring.realised[idx]
    return r + (ring.unit - r) * leak - digits


def ring_read_errors(m: Mapping, phys: Physics, a: Operand, b: Operand,
                     chunks: int = RING_SAMPLE_CHUNKS, seed: int = 0) -> ReadErrors:
    """The read errors (code units) of one output element of a product of input operand
    ``a`` and weight operand ``b`` whose weight slices are set on add-drop rings
    (``phys.ring``) and read by a unit-step ADC: the exact engine's error, as a
    distribution.

    A pass (sign part s, input slice i, weight slice j) over one chunk reads
    round(T + S + n), T the integer sum of the digits, n the detector noise and
    S = Σ_k x_k ℓ_k the leak: ℓ_k what the rings add to digit k (realised value's error
    and crosstalk from where every resonance of the chunk sits, :func:`ring_transfer`),
    x_k the pass's input digits. S depends on the digits, is positive and is rounded
    away while below half a step: the read errs by round(S + n), with a bias. Its
    distribution is estimated from ``chunks`` sampled chunks: weight digits of random
    elements of ``b`` on the chunk's rings (a partly used last chunk has its empty rings
    at digit 0, as in the exact engine), paired with random elements of ``a`` (their
    positive and negative parts, or the offset-encoded codes); P(round(S + n) = k) is
    averaged over the samples (n Gaussian, erf). Each output element then sums, over the
    passes, ``k_chunks`` such reads times the pass's signed slice weight
    sgn 2^(dac i + ring j): classes whose reads err rarely become the signed sparse part
    of :class:`ReadErrors`, the others a Gaussian of the same mean and variance.
    ``seed`` fixes the sample (deterministic; no generator draws).
    """
    ring = phys.ring
    chunk, kc, k = m.chunk, m.k_chunks, m.gemm.k
    rng = np.random.default_rng(seed)
    rows = weight_rows(m, b.tensor)
    if rows is not None:  # the operand's own chunks (all of them, or a sample)
        n_rows = rows.shape[0]
        total = n_rows * kc
        pick = np.arange(total) if total <= chunks else rng.choice(total, size=chunks,
                                                                   replace=False)
        row, which = pick // kc, pick % kc
        col = which[:, None] * chunk + np.arange(chunk)[None, :]
        used = np.minimum(chunk, k - which * chunk)
        mask = np.arange(chunk)[None, :] < used[:, None]  # [U, C]
        idx = np.where(mask, row[:, None] * k + np.minimum(col, k - 1), 0)
        wb = _sample_codes_of(rows.reshape(-1), b.scale, m.weight_magnitude_bits, idx) * mask
    else:  # random elements of the operand, as chunks
        which = rng.integers(kc, size=chunks)
        used = np.minimum(chunk, k - which * chunk)
        mask = np.arange(chunk)[None, :] < used[:, None]  # [U, C]
        wb = _sample_codes(b, m.weight_magnitude_bits, rng.integers(b.tensor.numel(),
                                                                     size=mask.shape)) * mask
    # every chunk once through the rings, then repeated up to ``chunks`` pairs
    leak = _ring_leaks(ring, _digit_slices(wb, m.ring_bits, m.weight_slices), chunk)
    rep = np.resize(np.arange(wb.shape[0]), max(chunks // wb.shape[0], 1) * wb.shape[0])
    leak, mask = leak[:, rep], mask[rep]
    xa = _sample_codes(a, m.input_code_bits, rng.integers(a.tensor.numel(),
                                                           size=mask.shape)) * mask
    if m.offset_encoding:
        parts = [(1.0, (xa + float(2 ** (m.input_bits - 1))) * mask)]
    elif m.sign_passes == 2:
        parts = [(1.0, np.clip(xa, 0, None))]
        if a.negative:
            parts.append((-1.0, np.clip(-xa, 0, None)))
    else:
        parts = [(1.0, xa)]
    sigma = phys.noise_sigma_rel * m.full_scale
    amps, pmfs = [], []
    wj = 2.0 ** (m.ring_bits * np.arange(m.weight_slices))
    wi = 2.0 ** (m.dac_bits * np.arange(m.input_slices))
    leak_t = torch.from_numpy(leak).permute(1, 2, 0)  # [R, C, nj]
    for sgn, x in parts:
        xs = torch.from_numpy(_digit_slices(x, m.dac_bits, m.input_slices)).permute(1, 0, 2)
        s_leak = torch.bmm(xs, leak_t).numpy()  # [R, ni, nj]
        amps.append((sgn * wi[:, None] * wj[None, :]).reshape(-1))
        pmfs.append(_rounded_pmf(s_leak.reshape(s_leak.shape[0], -1), sigma))
    errs = _biased_read_errors(amps, pmfs, kc, rng)
    if m.adc_clip_var > 0.0:
        errs = replace(errs, std=math.sqrt(errs.std**2 + kc * m.adc_clip_var))
    return errs


def _rounded_pmf(s: np.ndarray, sigma: float
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distribution of round(S + n), n ~ N(0, sigma²), over the samples S = s[r, c] of
    each class c: the values kv [nk], their probabilities [classes, nk] and each
    sample's probability of a wrong read (round(S + n) != 0) [n, classes]. Each sample
    reads round(S) or, where noise carries it over the nearer half-integer, one more or
    one less (two steps and more neglected: exact while sigma <= 0.25, else every value
    is integrated)."""
    n, classes = s.shape
    k0 = np.round(s)
    lo = int(k0.min()) - 1 - (int(np.ceil(8 * sigma)) if sigma > 0.25 else 0)
    hi = int(k0.max()) + 1 + (int(np.ceil(8 * sigma)) if sigma > 0.25 else 0)
    kv = np.arange(lo, hi + 1, dtype=np.float64)
    nk = kv.size
    if sigma > 0.25:
        edges = np.append(kv - 0.5, kv[-1] + 0.5)
        cdf = ndtr((edges[None, None, :] - s[..., None]) / sigma)
        per = np.diff(cdf, axis=-1)  # [n, classes, nk]
        return kv, per.mean(axis=0), 1.0 - per[..., kv == 0][..., 0]
    cls = np.broadcast_to(np.arange(classes) * nk, s.shape)
    at = (cls + (k0 - lo).astype(np.int64)).reshape(-1)
    if sigma > 0:
        p_dn = ndtr((k0 - 0.5 - s) / sigma).reshape(-1)
        p_up = ndtr((s - k0 - 0.5) / sigma).reshape(-1)
    else:
        p_dn = p_up = np.zeros(at.size)
    size = classes * nk
    counts = np.bincount(at, weights=1.0 - p_dn - p_up, minlength=size)
    counts += np.bincount(at - 1, weights=p_dn, minlength=size)
    counts += np.bincount(at + 1, weights=p_up, minlength=size)
    right = np.where(k0 == 0, 1.0 - p_dn.reshape(s.shape) - p_up.reshape(s.shape),
                     np.where(k0 == 1, p_dn.reshape(s.shape),
                              np.where(k0 == -1, p_up.reshape(s.shape), 0.0)))
    return kv, counts.reshape(classes, nk) / n, 1.0 - right


def _biased_read_errors(amps: list[np.ndarray],
                        pmfs: list[tuple[np.ndarray, np.ndarray, np.ndarray]], reads: int,
                        rng: np.random.Generator, table: int = 4096) -> ReadErrors:
    """:class:`ReadErrors` of ``reads`` reads per class, the read error of class c
    taking value kv[t] with probability pmf[c, t] and entering the output times the
    signed amplitude amps[c] (lists: one entry per sign part; ``pmfs`` as
    :func:`_rounded_pmf` gives them). The sparse classes' wrong reads of one sampled
    chunk add up to that chunk's rate; an element's rate is the sum of ``reads`` chunks'
    (``table`` samples drawn with ``rng``: :attr:`ReadErrors.rate_table`)."""
    mean = var = 0.0
    values, counts = [], []
    chunk_rate = 0.0
    for amp, (kv, pmf, wrong) in zip(amps, pmfs, strict=True):
        zero = kv == 0
        p_wrong = 1.0 - pmf[:, zero].sum(axis=1)
        m1 = pmf @ kv
        v1 = np.maximum(pmf @ kv**2 - m1**2, 0.0)
        sparse = reads * p_wrong <= SPARSE_MAX_MEAN
        dense = ~sparse
        mean += float(reads * (amp[dense] * m1[dense]).sum())
        var += float(reads * (amp[dense] ** 2 * v1[dense]).sum())
        if sparse.any():
            values.append((amp[sparse, None] * kv[None, ~zero]).reshape(-1))
            counts.append((reads * pmf[sparse][:, ~zero]).reshape(-1))
            chunk_rate = chunk_rate + wrong[:, sparse].sum(axis=1)  # [n samples]
    std = math.sqrt(var)
    if not values:
        return ReadErrors(std, mean=mean)
    v, c = np.concatenate(values), np.concatenate(counts)
    keep = c > 0
    rate = float(c[keep].sum())
    if rate == 0.0:
        return ReadErrors(std, mean=mean)
    draws = rng.integers(len(chunk_rate), size=(table, reads)) if reads <= 64 else None
    rates = None if draws is None else chunk_rate[draws].sum(axis=1)
    if rates is not None:
        rates *= rate / max(float(rates.mean()), 1e-300)  # the table's mean is the rate
    return ReadErrors(std, rate, v[keep], c[keep] / rate, mean, signed=True,
                      rate_table=rates)


class Operand:
    """One operand tensor of photonic products, with what the products derive from it
    computed once and shared: its full scale and sign, its quantized copies (per
    resolution) and its slice occupancies (per encoding).

    A layer's forward, error and weight-gradient products use x, W and the error twice
    each (W and the error in another layout: the values, hence scale, quantized values
    and occupancy, are the same). The tensor must not change while the object is used
    (autograd's saved-tensor checks guard the layers' operands).
    """

    __slots__ = ("tensor", "scale", "negative", "_quantized", "_occupancy")

    def __init__(self, t: torch.Tensor) -> None:
        self.tensor = t.detach()
        mn, mx = torch.aminmax(self.tensor)
        lo, hi = mn.item(), mx.item()
        s = max(-lo, hi)
        self.scale: float = s if s > 0 else 1.0  # as scale_and_sign, as a Python float
        self.negative: bool = lo < 0
        self._quantized: dict[int | None, torch.Tensor] = {}
        self._occupancy: dict[tuple[int, int, int], np.ndarray] = {}

    def quantized(self, mag_bits: int | None) -> torch.Tensor:
        """:func:`fake_quantize` of the tensor with its own scale (same shape)."""
        q = self._quantized.get(mag_bits)
        if q is None:
            t = self.tensor
            if mag_bits is not None and mag_bits <= 20 and t.dtype == torch.float32:
                q = _fake_quantize_f32(t, mag_bits, self.scale, clamp=False)
            else:
                q = fake_quantize(t, mag_bits, torch.tensor(self.scale, dtype=t.dtype))
            self._quantized[mag_bits] = q
        return q

    def occupancy(self, mag_bits: int, bits: int, n: int) -> np.ndarray:
        """:func:`slice_occupancy` of the tensor with its own scale."""
        key = (mag_bits, bits, n)
        occ = self._occupancy.get(key)
        if occ is None:
            occ = self._occupancy[key] = slice_occupancy(self.tensor, self.scale, mag_bits,
                                                         bits, n)
        return occ


def needs_occupancy(m: Mapping, phys: Physics) -> bool:
    """Whether the fast-mode noise of ``m`` depends on the operands' slice occupancy
    (coarse ADC, or crosstalk leaks read by a unit-step ADC)."""
    needs = m.adc_step > 1.0 or (phys.crosstalk is not None and rounds_away_crosstalk(m))
    return m.integer_sums and needs and not m.slice_sum_analog


def operand_read_errors(m: Mapping, phys: Physics, a: Operand, b: Operand) -> ReadErrors:
    """:class:`ReadErrors`, in real units, of one output element of the product of input
    operand ``a`` and weight operand ``b``; their slice occupancies are measured (once per
    operand and encoding) only where they matter. Under the add-drop ring model with a
    unit-step ADC: :func:`ring_read_errors`, estimated from the operands every
    :data:`RING_STATS_EVERY` products of a shape."""
    la, lb = code_levels(m.input_code_bits), code_levels(m.weight_magnitude_bits)
    if phys.ring is not None and rounds_away_crosstalk(m) and (
            m.weight_magnitude_bits is not None and m.input_code_bits is not None):
        key = (m.gemm, a.negative, m.adc_clip_var)
        hit = phys.ring_stats.get(key)
        if hit is None or hit[0] % RING_STATS_EVERY == 0:
            if len(phys.ring_stats) >= 256:
                phys.ring_stats.clear()
            hit = [0, fold_frequent(ring_read_errors(m, phys, a, b))]
            phys.ring_stats[key] = hit
        hit[0] += 1
        return hit[1].scaled(a.scale * b.scale / (la * lb))
    occ_a = occ_b = None
    if needs_occupancy(m, phys):
        occ_a = a.occupancy(m.input_code_bits, m.dac_bits, m.input_slices)
        occ_b = b.occupancy(m.weight_magnitude_bits, m.ring_bits, m.weight_slices)
    errs = fast_read_errors(m, phys, m.sign_passes == 2 and a.negative, occ_a, occ_b)
    return fold_frequent(errs).scaled(a.scale * b.scale / (la * lb))


FOLD_MIN_RATE = 4.0
"""λ*: a product whose outputs see at least this many discrete wrong reads each on
average (:attr:`ReadErrors.rate`) has its frequent, small ones drawn as Gaussian
(:func:`fold_frequent`); below it every wrong read is drawn. With a rate Λ >= λ* an
output of the exact engine is read without error with probability e^-Λ <= e^-4 = 1.8 %,
the most that drawing part of the errors as Gaussian (never zero) can change the share
of error-free outputs (tests/test_fast_vs_exact.py allows 0.02-0.08); a single class of
Poisson rate λ >= λ* is within a Berry-Esseen ratio 1/sqrt(λ) <= 1/2 of its normal
law."""

FOLD_KEEP_RATE = 3.0
"""Discrete wrong reads per output that :func:`fold_frequent` keeps, from the largest
amplitude down: the rare, large errors that make the heavy tail. The outputs hit by none
of them (e^-3 = 5 % or more) show the folded part's Gaussian shape alone. Measured
against exact mode (tests/test_fast_vs_exact.py layers at SNR 35 and 37.9 dB and the
ring-closed regime): keeping 1 raised the KS statistic to up to 0.096 (0.02-0.04
unfolded), keeping 2 to up to 0.062, keeping 3 left it within 0.015-0.058."""


def fold_frequent(errs: ReadErrors) -> ReadErrors:
    """``errs`` with its frequent small wrong reads folded into the Gaussian part, so
    that at most :data:`FOLD_MIN_RATE` discrete wrong reads per output are drawn.

    Where the outputs see ``rate`` >= :data:`FOLD_MIN_RATE` wrong reads on average (an
    intermediate read error rate: SNR ~35 dB gives 20-450 per output, each drawn one by
    one), the classes are taken from the largest amplitude down while their rates add
    up to at most :data:`FOLD_KEEP_RATE` (at least the largest class, if its own rate
    is below :data:`FOLD_MIN_RATE`) and stay discrete; the others, Poisson(λ_c) wrong
    reads of ``±v_c`` each (``v_c`` for a signed table), become Gaussian with their
    compound-Poisson mean Σ λ_c v_c (0 for a ±v table) and variance Σ λ_c v_c²
    (Poisson(λ) → Normal as λ grows). Mean and variance of the error are unchanged
    (:attr:`ReadErrors.var`, :attr:`ReadErrors.bias`). With a ``rate_table`` (wrong
    reads clustered per element, the add-drop ring model) the kept classes keep the
    table, scaled to their rate, and the folded ones take the mean rate: their part of
    the clustering is not kept. Below the threshold, ``errs`` itself."""
    if errs.rate < FOLD_MIN_RATE:
        return errs
    v, lam = errs.values, errs.rate * errs.probs
    order = np.argsort(-np.abs(v), kind="stable")  # largest amplitude first
    cum = np.cumsum(lam[order])
    n_keep = int(np.searchsorted(cum, FOLD_KEEP_RATE, side="right"))
    if n_keep == 0 and cum[0] < FOLD_MIN_RATE:
        n_keep = 1
    keep, fold = order[:n_keep], order[n_keep:]
    var = errs.std**2 + float((lam[fold] * v[fold] ** 2).sum())
    mean = errs.mean + (float((lam[fold] * v[fold]).sum()) if errs.signed else 0.0)
    kept = float(lam[keep].sum())
    if kept <= 0.0:
        return ReadErrors(math.sqrt(var), mean=mean)
    table = None if errs.rate_table is None else errs.rate_table * (kept / errs.rate)
    return ReadErrors(math.sqrt(var), kept, v[keep], lam[keep] / kept, mean, errs.signed,
                      table)


def operand_noise_std(m: Mapping, phys: Physics, a: Operand, b: Operand) -> float:
    """Standard deviation, in real units, of :func:`operand_read_errors`."""
    return math.sqrt(operand_read_errors(m, phys, a, b).var)


def add_noise_(y: torch.Tensor, std: float, generator: torch.Generator | None,
               gain: torch.Tensor | None = None) -> torch.Tensor:
    """Add i.i.d. N(0, std²) noise (times ``gain``, broadcast) to ``y`` in place."""
    if std > 0:
        noise = torch.empty_like(y).normal_(0.0, std, generator=generator)
        if gain is None:
            y.add_(noise)
        else:
            y.addcmul_(noise, gain)
    return y


def add_sparse_errors_(y: torch.Tensor, errs: ReadErrors, generator: torch.Generator | None,
                       gain: torch.Tensor | None = None) -> torch.Tensor:
    """Add the sparse part of ``errs`` to every element of ``y`` in place:
    Poisson(rate) wrong reads per element (times ``gain²`` where ``gain``, the square root
    of how many products' outputs fold into an element, [1, 1, H, W] over [B, C, H, W]),
    each ``±values[c]`` with probability ``probs[c] / 2``.

    Costs O(wrong reads + classes), not O(y): the wrong reads of each signed value are
    one Poisson count over the whole tensor, each placed on a uniform element (with
    ``gain``: on a uniform (image, channel) and a pixel drawn in proportion to its fold
    count, from a table listing each pixel count times). On the CPU the compiled kernel
    draws and adds them block by block (:func:`_add_events_compiled_`); without numba,
    the positions of many wrong reads (:data:`NUMPY_MIN_READS`) come from numpy's PCG64
    seeded from ``generator`` (1.3-2x as fast as ``torch.randint``), a value with many
    wrong reads is added as one broadcast scalar (no array of a value per read), and
    large outputs are placed in two halves by two threads (:func:`_add_events_split_`)."""
    if errs.rate == 0.0 or y.numel() == 0:
        return y
    if not y.is_contiguous():  # (e.g. channels_last): add on a row-major copy
        return y.copy_(add_sparse_errors_(y.contiguous(), errs, generator, gain))
    dev = y.device
    flat = y.view(-1)
    numel = y.numel()
    if errs.rate_table is not None and gain is None:
        # each element's own rate of wrong reads, drawn from the table: errors cluster
        table = torch.as_tensor(errs.rate_table, dtype=torch.float64, device=dev)
        lam = table[torch.randint(table.numel(), (numel,), generator=generator, device=dev)]
        per_elem = torch.poisson(lam, generator=generator).to(torch.int64)
        n = int(per_elem.sum())
        if n == 0:
            return y
        values, probs = _signed_table(errs, y.dtype, dev)
        where = torch.repeat_interleave(torch.arange(numel, device=dev), per_elem,
                                        output_size=n)
        pick = torch.multinomial(probs, n, replacement=True, generator=generator)
        flat.index_add_(0, where, values[pick])
        return y
    if dev.type == "cpu" and kernels.AVAILABLE:
        return _add_events_compiled_(
            y, errs, generator, None if gain is None else (gain.numel(), _fold_table(gain)))
    slots = numel
    # int32 positions where they fit (index_add_ takes them; a 32-bit draw is cheaper)
    itype = torch.int32 if numel < 2**31 else torch.int64
    fold = None
    if gain is not None:
        folds = gain.reshape(-1).square().round().to(torch.int64)
        inner = folds.numel()
        pixels = torch.repeat_interleave(torch.arange(inner, device=dev, dtype=itype), folds)
        slots = (numel // inner) * pixels.numel()
        fold = (inner, pixels)
    values, probs = _signed_table(errs, y.dtype, dev)
    if dev.type == "cpu" and errs.rate * slots >= NUMPY_MIN_READS:
        split = errs.rate * slots >= SPLIT_MIN_READS and numel >= SPLIT_MIN_SIZE
        return _add_events_split_(y, values, probs, errs.rate, generator, itype, fold,
                                  halves=2 if split else 1)
    per_value = torch.poisson(probs * (errs.rate * slots), generator=generator)
    per_value = per_value.to(torch.int64)
    n = int(per_value.sum())
    if n == 0:
        return y
    vals = torch.repeat_interleave(values, per_value, output_size=n)
    if fold is None:
        idx = torch.randint(numel, (n,), generator=generator, device=dev, dtype=itype)
    else:
        inner, pixels = fold
        idx = torch.randint(numel // inner, (n,), generator=generator, device=dev,
                            dtype=itype).mul_(inner)
        idx += pixels[torch.randint(pixels.numel(), (n,), generator=generator, device=dev,
                                    dtype=itype)]
    flat.index_add_(0, idx, vals)
    return y


SPLIT_MIN_READS = 1 << 18
"""Expected wrong reads of a product above which the CPU places them in two halves of
the output at once (:func:`_add_events_split_`), if it has :data:`SPLIT_MIN_SIZE`
elements."""
SPLIT_MIN_SIZE = 1 << 20
"""Output elements from which that pays (smaller outputs stay in cache: one thread)."""
NUMPY_MIN_READS = 1 << 14
"""Expected wrong reads of a product from which the CPU draws their positions with numpy
(:func:`_add_events_split_`; a generator costs ~12 us to set up); fewer: ``torch.randint``
with the context's generator."""
SCALAR_MIN_READS = 4096
"""Wrong reads of one value from which :func:`_add_events_split_` adds them as one
broadcast scalar (an ``index_add_`` call, ~5 us) instead of in the shared call with an
array of a value per read (~1.5 ns a read)."""


def _add_events_split_(y: torch.Tensor, values: torch.Tensor, probs: torch.Tensor,
                       rate: float, generator: torch.Generator | None, itype: torch.dtype,
                       fold: tuple[int, torch.Tensor] | None, halves: int = 2
                       ) -> torch.Tensor:
    """:func:`add_sparse_errors_`'s wrong reads (``±values`` with ``probs``, ``rate`` per
    slot) on a contiguous CPU tensor ``y``, in ``halves`` (1 or 2) parts of its rows
    (leading elements; with ``fold = (inner, pixels)``: of its (image, channel) rows of
    ``inner`` pixels, each pixel a slot per entry of ``pixels``), two parts placed by two
    threads at once.

    The same distribution as one draw over the whole tensor: the wrong reads of each
    value in each part are independent Poisson counts (a Poisson process split in two),
    placed uniformly in their part. The counts come from ``generator``, in a fixed
    order, and each part's positions from a numpy PCG64 generator seeded from it: the
    result does not depend on the threads' timing (nor on their number: one thread runs
    both)."""
    flat = y.view(-1)
    inner, pixels = fold if fold is not None else (1, None)
    per_row = 1 if pixels is None else pixels.numel()
    pix = None if pixels is None else pixels.numpy()
    rows = flat.numel() // inner
    bounds = ((0, rows // 2), (rows // 2, rows)) if halves == 2 else ((0, rows),)
    parts = []
    for lo, hi in bounds:
        counts = torch.poisson(probs * (rate * (hi - lo) * per_row), generator=generator)
        seed = int(torch.randint(2**62, (1,), generator=generator))
        parts.append((lo, hi, counts.to(torch.int64), seed))
    np_itype = np.int32 if itype == torch.int32 else np.int64

    def place(lo: int, hi: int, counts: torch.Tensor, seed: int) -> None:
        n = int(counts.sum())
        if n == 0 or hi == lo:
            return
        rng = np.random.Generator(np.random.PCG64(seed))
        idx = rng.integers(0, hi - lo, size=n, dtype=np_itype)
        if pix is not None:
            idx *= inner
            idx += pix[rng.integers(0, per_row, size=n, dtype=np_itype)]
        idx_t = torch.from_numpy(idx)
        part = flat[lo * inner:hi * inner]
        # positions are i.i.d.: each value takes the next slice of them
        big = [] if n < SCALAR_MIN_READS else [
            (c, k) for c, k in enumerate(counts.tolist()) if k >= SCALAR_MIN_READS]
        start = 0
        for c, k in big:
            part.index_add_(0, idx_t[start:start + k], values[c].expand(k))
            start += k
        if start < n:
            rest = counts.index_fill(0, torch.tensor([c for c, _ in big], dtype=torch.long),
                                     0) if big else counts
            part.index_add_(0, idx_t[start:],
                            torch.repeat_interleave(values, rest, output_size=n - start))

    if len(parts) == 1 or torch.get_num_threads() < 2:
        for h in parts:
            place(*h)
        return y
    # a thread per call (~0.1 ms; fork-safe, unlike a kept pool); torch ops release the GIL
    import threading

    failed: list[BaseException] = []

    def run_other() -> None:
        try:
            place(*parts[1])
        except BaseException as e:  # re-raised in the caller's thread
            failed.append(e)

    other = threading.Thread(target=run_other, name="bplight-read-errors")
    other.start()
    place(*parts[0])
    other.join()
    if failed:
        raise failed[0]
    return y


def _add_events_compiled_(y: torch.Tensor, errs: ReadErrors,
                          generator: torch.Generator | None,
                          fold: tuple[int, np.ndarray] | None) -> torch.Tensor:
    """:func:`add_sparse_errors_`'s wrong reads on a contiguous CPU tensor ``y`` by the
    compiled kernel (:func:`bplight.numerics.kernels.place_reads`): block by block, the
    reads of each value are a Poisson count, placed uniformly in the block (``fold =
    (inner, pixels)``: on rows of ``inner`` pixels, each pixel a slot per entry of
    ``pixels``). The blocks are placed in one task, or, where the product has
    :data:`SPLIT_MIN_READS` expected reads, in tasks of :data:`kernels.TASK_BLOCKS`
    blocks shared by PyTorch's OpenMP threads (:func:`kernels.place_in_tasks`); each
    task from its own seed drawn from ``generator``, so the result depends on
    ``generator`` alone, not on the thread count or timing."""
    flat = y.view(-1)
    inner, pixels = fold if fold is not None else (1, None)
    per_row = 1 if pixels is None else pixels.size
    rows = flat.numel() // inner
    per_block = kernels.block_rows(inner)
    nb = -(-rows // per_block)
    values, probs = _signed_table_np(errs)
    rates = probs * (errs.rate * per_row)  # expected reads of each value per row
    step = kernels.TASK_BLOCKS if errs.rate * rows * per_row >= SPLIT_MIN_READS else nb
    bounds = [(b, min(b + step, nb)) for b in range(0, nb, step)]
    seeds = torch.randint(2**62, (len(bounds),), generator=generator).tolist()
    kernels.place_in_tasks(flat.numpy(), rates, values, per_block, inner, pixels, seeds,
                           bounds)
    return y


def _signed_table_np(errs: ReadErrors) -> tuple[np.ndarray, np.ndarray]:
    """Values ``±values[c]`` of one wrong read and their probabilities, as numpy arrays
    (the table itself when its values carry their signs, ``errs.signed``)."""
    if errs.signed:
        return errs.values, errs.probs
    return (np.concatenate([errs.values, -errs.values]),
            np.concatenate([errs.probs, errs.probs]) / 2.0)


_FOLD_TABLES: dict[bytes, np.ndarray] = {}


def _fold_table(gain: torch.Tensor) -> np.ndarray:
    """The pixels of ``gain`` [1, 1, H, W] (square roots of fold counts), each listed as
    many times as its fold count (int64), kept per gain (a layer's is the same each
    step)."""
    g = gain.detach().cpu().reshape(-1)
    key = g.numpy().tobytes()
    table = _FOLD_TABLES.get(key)
    if table is None:
        folds = g.square().round().to(torch.int64)
        table = torch.repeat_interleave(torch.arange(folds.numel()), folds).numpy()
        table.flags.writeable = False
        if len(_FOLD_TABLES) > 256:
            _FOLD_TABLES.clear()
        _FOLD_TABLES[key] = table
    return table


def _signed_table(errs: ReadErrors, dtype: torch.dtype, device: torch.device
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """Values ``±values[c]`` of one wrong read and their probabilities (float64); the
    table itself when its values carry their signs (``errs.signed``)."""
    if errs.signed:
        v, p = errs.values, errs.probs
    else:
        v = np.concatenate([errs.values, -errs.values])
        p = np.concatenate([errs.probs, errs.probs]) / 2.0
    return (torch.as_tensor(v, dtype=dtype, device=device),
            torch.as_tensor(p, dtype=torch.float64, device=device))


def add_read_errors_(y: torch.Tensor, errs: ReadErrors, generator: torch.Generator | None,
                     gain: torch.Tensor | None = None) -> torch.Tensor:
    """Add ``errs`` (real units) to every element of ``y`` in place (``gain``: see
    :func:`add_sparse_errors_`)."""
    add_noise_(y, errs.std, generator, gain)
    add_mean_(y, errs.mean, gain)
    return add_sparse_errors_(y, errs, generator, gain)


def add_mean_(y: torch.Tensor, mean: float, gain: torch.Tensor | None = None) -> torch.Tensor:
    """Add the Gaussian part's mean ``mean`` to every element of ``y`` in place, times
    ``gain²`` (the number of products folded into an element) where ``gain``."""
    if mean != 0.0:
        if gain is None:
            y.add_(mean)
        else:
            y.add_(gain.square().to(y.dtype) * mean)
    return y


def fast_matmul(a: torch.Tensor, b: torch.Tensor, m: Mapping, phys: Physics,
                generator: torch.Generator | None) -> torch.Tensor:
    """``a[M, K] @ b[N, K].T`` with quantization and crosstalk applied to the operands and
    the pass-level read error injected as Gaussian noise of the same variance."""
    ao, bo = Operand(a), Operand(b)
    aq = ao.quantized(m.input_code_bits)
    bq = mix_weight(bo.quantized(m.weight_magnitude_bits), m, phys)
    return add_read_errors_(aq @ bq.t(), operand_read_errors(m, phys, ao, bo), generator)
