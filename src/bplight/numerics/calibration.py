"""ADC range calibration (``adc_range_mode: calibrated``): the range of a layer's ADC
reads set from the partial sums a real batch produces, per layer and phase.

The worst-case range (``adc_range`` × chunk·(2^dac − 1)·(2^ring − 1)) is reached only when
every wavelength carries its largest slice value; real operands rarely come close, so a
range fitted to the sums that occur reads them in finer steps (or in unit steps with fewer
ADC bits) at the price of clipping the rare large ones. The calibration:

1. computes, noise-free, the partial sums of every pass (input slice i, weight slice j,
   sign pass) of a sample of the product's rows and outputs — the very sums the ADC
   reads (operands encoded as :func:`bplight.numerics.engine.exact_matmul` encodes them,
   with the whole tensors' scales);
2. sets the clip at the ``adc_range_percentile`` of their magnitudes (rounded up to a
   whole slice unit for integer sums; at least one unit, at most the worst case): the
   calibrated ``adc_range`` = clip / worst-case sum;
3. measures the error the clip causes on the sample, combined as the chip combines the
   reads (shifted by their significance 2^(i·dac + j·ring) and added over the sign
   passes): its mean square per K-chunk of one output element is the Mapping's
   ``adc_clip_var``, which the fast engine injects (the exact engine clips each read).

Under ``adc_range_granularity: slice_pair`` each (input slice, weight slice) pair gets
its own range, the percentile of that pair's sums (:func:`calibrate` ``per_pair``): the
Mapping's ``pair_adc_step`` / ``pair_adc_clip``, read by both engines.

Under ``slice_sum: analog`` the ADC reads each K-chunk's analog sum (the passes shifted
by their significance and added before the read, :mod:`bplight.photonics.slice_sum`): the
range is then the percentile of those sums (code units, a fraction of
``Mapping.sum_full_scale``) and the clipping error that of each sum.

The digital units build the histogram from the ADC reads of the calibration batch (one
element-wise operation per read); the cost engine charges it
(:func:`bplight.cost.design.calibration_from`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F

from bplight.config.spec import HardwareSpec
from bplight.mapping import Mapping, plan
from bplight.numerics.engine import (
    chunk_k,
    input_slices,
    quantize_codes,
    sign_parts,
    weight_slices,
)


@dataclass(frozen=True)
class AdcCalibration:
    """A calibrated ADC range of one (phase, layer)."""

    adc_range: float
    """ADC range as a fraction of the worst-case partial sum (``Mapping.full_scale``)."""
    clip_var: float
    """Mean-square clipping error per K-chunk of one output element, code units²."""
    clipped_fraction: float
    """Fraction of the sampled pass sums beyond the clip."""
    samples: int
    """Pass sums the range was measured from."""
    pair_ranges: tuple[tuple[float, ...], ...] = ()
    """Per (input slice, weight slice) pair, its range as a fraction of the worst-case
    sum (``adc_range_granularity: slice_pair``; ``adc_range`` is then their largest);
    () for one range per layer."""

    def as_tensor(self) -> torch.Tensor:
        pairs = [float(x) for row in self.pair_ranges for x in row]
        shape = [float(len(self.pair_ranges)), float(len(self.pair_ranges[0]))] \
            if self.pair_ranges else []
        return torch.tensor([self.adc_range, self.clip_var, self.clipped_fraction,
                             float(self.samples), *shape, *pairs], dtype=torch.float64)

    @classmethod
    def from_tensor(cls, t: torch.Tensor) -> AdcCalibration:
        v = [float(x) for x in t.reshape(-1).tolist()]
        pairs: tuple[tuple[float, ...], ...] = ()
        if len(v) > 4:
            ni, nj = int(v[4]), int(v[5])
            pairs = tuple(tuple(v[6 + i * nj: 6 + (i + 1) * nj]) for i in range(ni))
        return cls(v[0], v[1], v[2], int(v[3]), pairs)


def _strided(t: torch.Tensor, n: int) -> torch.Tensor:
    """At most ``n`` rows of ``t``, evenly strided."""
    if t.shape[0] <= n:
        return t
    return t[:: -(-t.shape[0] // n)][:n]


def pass_sums(a: torch.Tensor, b: torch.Tensor, m: Mapping, scales: tuple[float, float],
              a_negative: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Noise-free partial sums of every pass of ``a[M, K] @ b[N, K].T`` (slice units) as
    the ADC would read them, ``[sign parts, input slices, weight slices, N, M, k_chunks]``,
    and the significance of each (sign part, input slice, weight slice) with its sign,
    ``[sign parts, input slices, weight slices]``. ``scales``: the whole operand tensors'
    full scales (a sample's own maximum would encode it differently); ``a_negative``:
    whether the input tensor had a negative entry (the second sign pass)."""
    sa, sb = (torch.as_tensor(s, dtype=torch.float64) for s in scales)
    ca = quantize_codes(a.double(), m.input_code_bits, sa)
    cb = quantize_codes(b.double(), m.weight_magnitude_bits, sb)
    if m.offset_encoding:
        ca = ca + float(2 ** (m.input_bits - 1))
    w_sl = weight_slices(cb, m)
    w = torch.stack([chunk_k(s, m.chunk, m.k_chunks) for s in w_sl], 0)  # [Sw, N, kc, C]
    parts = sign_parts(ca, m, a_negative)
    sums, sig = [], []
    for sgn, part in parts:
        slices = input_slices(part, m)
        x = torch.stack([chunk_k(s, m.chunk, m.k_chunks) for s in slices], 0)  # [Si, M, kc, C]
        sums.append(torch.einsum("imkc,jnkc->ijnmk", x, w))
        sig.append(torch.tensor([[sgn * 2.0 ** (m.dac_bits * i + m.ring_bits * j)
                                  for j in range(len(w_sl))] for i in range(len(slices))],
                                dtype=torch.float64))
    return torch.stack(sums, 0), torch.stack(sig, 0)


def calibrate(a: torch.Tensor, b: torch.Tensor, m: Mapping, scales: tuple[float, float],
              a_negative: bool, percentile: float, max_sums: int = 1 << 19,
              max_chunks: int = 8, per_pair: bool = False) -> AdcCalibration:
    """The calibrated ADC range of the product ``a @ b.T`` with Mapping ``m`` (module
    docstring), from a sample: at most ``max_chunks`` K-chunks (evenly strided) and as
    many rows of ``a`` and of ``b`` (evenly strided, about 4 rows of ``a`` per row of
    ``b``) as keep the pass sums under ``max_sums``. ``percentile`` in (50, 100].
    ``per_pair``: one clip per (input slice, weight slice) pair, each at the percentile
    of that pair's sums (``adc_range_granularity: slice_pair``)."""
    a, b = a.detach(), b.detach()
    chunk = m.chunk
    m = replace(m, k_chunks=-(-a.shape[1] // chunk))  # the sample's K may be shorter
    if m.k_chunks > max_chunks:  # whole chunks, evenly strided along K
        pad = m.k_chunks * chunk - a.shape[1]
        a = torch.nn.functional.pad(a, (0, pad)) if pad else a
        b = torch.nn.functional.pad(b, (0, pad)) if pad else b
        keep = torch.arange(0, m.k_chunks, -(-m.k_chunks // max_chunks))[:max_chunks]
        idx = (keep[:, None] * chunk + torch.arange(chunk)[None, :]).reshape(-1)
        a, b = a[:, idx], b[:, idx]
        m = replace(m, k_chunks=len(keep))
    per_row_pair = m.sign_passes * m.input_slices * m.weight_slices * m.k_chunks
    pairs = max(1, max_sums // per_row_pair)  # rows of a x rows of b
    n_b = max(1, min(b.shape[0], int(math.sqrt(pairs / 4.0))))
    n_a = max(1, min(a.shape[0], pairs // n_b))
    a_s, b_s = _strided(a, n_a), _strided(b, n_b)
    sums, sig = pass_sums(a_s, b_s, m, scales, a_negative)
    if m.slice_sum_analog:  # the ADC reads each K-chunk's analog sum, not each pass
        return _calibrate_sums(torch.einsum("pij,pijnmk->nmk", sig, sums), m, percentile)
    if per_pair and sums.numel():
        return _calibrate_pairs(sums, sig, m, percentile)
    mags = sums.abs().reshape(-1)
    fs = float(m.full_scale)
    if mags.numel() == 0:
        return AdcCalibration(1.0, 0.0, 0.0, 0)
    clip = _clip_at(mags, percentile, m, fs)
    over = (mags - clip).clamp(min=0)
    err = torch.sign(sums) * (sums.abs() - clip).clamp(min=0)  # read - clipped read
    combined = torch.einsum("pij,pijnmk->nmk", sig, err)  # one K-chunk of one output
    return AdcCalibration(adc_range=clip / fs, clip_var=float(combined.square().mean()),
                          clipped_fraction=float((over > 0).double().mean()),
                          samples=int(mags.numel()))


def _clip_at(mags: torch.Tensor, percentile: float, m: Mapping, fs: float) -> float:
    """The clip covering the ``percentile`` of ``mags`` (rounded up to a whole unit for
    integer sums, at least one unit, at most the worst case ``fs``)."""
    q = float(torch.quantile(mags[:: max(1, mags.numel() // (1 << 24))],
                             min(percentile, 100.0) / 100.0))
    clip = max(math.ceil(q - 1e-9), 1.0) if m.integer_sums else max(q, fs * 1e-6)
    return min(clip, fs)


def _calibrate_pairs(sums: torch.Tensor, sig: torch.Tensor, m: Mapping, percentile: float
                     ) -> AdcCalibration:
    """:func:`calibrate` with one clip per (input slice i, weight slice j) pair: the
    ``percentile`` of the pair's |sums| (over the sign passes, rows, outputs and chunks);
    the clipping error combined as the chip combines the reads."""
    fs = float(m.full_scale)
    mags = sums.abs()  # [P, Si, Sj, N, M, kc]
    ni, nj = mags.shape[1], mags.shape[2]
    clips = torch.tensor([[_clip_at(mags[:, i, j].reshape(-1), percentile, m, fs)
                           for j in range(nj)] for i in range(ni)], dtype=sums.dtype)
    over = (mags - clips[None, :, :, None, None, None]).clamp(min=0)
    combined = torch.einsum("pij,pijnmk->nmk", sig, torch.sign(sums) * over)
    pairs = tuple(tuple(float(c) / fs for c in row) for row in clips.tolist())
    return AdcCalibration(adc_range=float(clips.max()) / fs,
                          clip_var=float(combined.square().mean()),
                          clipped_fraction=float((over > 0).double().mean()),
                          samples=int(mags.numel()), pair_ranges=pairs)


def _calibrate_sums(sums: torch.Tensor, m: Mapping, percentile: float) -> AdcCalibration:
    """:func:`calibrate` under the analog slice sum: the clip at the ``percentile`` of the
    noise-free analog sums ``sums`` (code units, one per K-chunk of one output; rounded up
    to a whole code unit for integer sums), as a fraction of ``m.sum_full_scale``; the
    clipping error is that of each sum itself."""
    mags = sums.abs().reshape(-1)
    fs = float(m.sum_full_scale)
    if mags.numel() == 0:
        return AdcCalibration(1.0, 0.0, 0.0, 0)
    clip = _clip_at(mags, percentile, m, fs)
    over = (mags - clip).clamp(min=0)
    return AdcCalibration(adc_range=clip / fs, clip_var=float(over.square().mean()),
                          clipped_fraction=float((over > 0).double().mean()),
                          samples=int(mags.numel()))


Sample = Callable[[], tuple[torch.Tensor, torch.Tensor, tuple[float, float], bool]]
"""Lazily gives (input operand rows, weight operand rows, the whole operands' full scales,
whether the input tensor has a negative entry) of one product: called only when a
calibration runs (a convolution's im2col rows are built for a few images then)."""


class AdcRanges:
    """The calibrated ADC ranges of one model, per (phase, layer), held by its
    :class:`~bplight.numerics.context.HardwareContext`: a (phase, layer)'s first product
    calibrates, and so does every ``adc_calibration_batches``-th after it; the others run
    with the last calibration. Saved with the context's state (checkpoints)."""

    def __init__(self) -> None:
        self.calibrations: dict[tuple[str, str], AdcCalibration] = {}
        self.products: dict[tuple[str, str], int] = {}

    def mapping(self, m: Mapping, spec: HardwareSpec, sample: Sample) -> Mapping:
        """``m`` (a worst-case plan of an analog product) with its (phase, layer)'s
        calibrated range, calibrating from ``sample`` when due."""
        g = m.gemm
        p = spec.product(g.phase)
        key = (g.phase, g.layer)
        n = self.products.get(key, 0)
        self.products[key] = n + 1
        if key not in self.calibrations or n % p.adc_calibration_batches == 0:
            a, b, scales, negative = sample()
            self.calibrations[key] = calibrate(
                a, b, m, scales, negative, p.adc_range_percentile,
                per_pair=p.adc_range_granularity == "slice_pair")
        cal = self.calibrations[key]
        return plan(g, spec, adc_range=cal.adc_range, adc_clip_var=cal.clip_var,
                    pair_ranges=cal.pair_ranges)

    def get_state(self) -> dict[str, torch.Tensor]:
        out = {}
        for (phase, layer), cal in self.calibrations.items():
            c = cal.as_tensor()  # [4 values, then the pair ranges' shape and values]
            t = torch.cat([c[:4],
                           torch.tensor([float(self.products.get((phase, layer), 0))],
                                        dtype=torch.float64), c[4:]])
            out[f"{STATE_PREFIX}{phase}/{layer}"] = t
        return out

    def set_state(self, state: dict[str, torch.Tensor]) -> None:
        for k, t in state.items():
            if not k.startswith(STATE_PREFIX):
                continue
            phase, _, layer = k[len(STATE_PREFIX):].partition("/")
            self.calibrations[(phase, layer)] = AdcCalibration.from_tensor(
                torch.cat([t[:4], t[5:]]))
            self.products[(phase, layer)] = int(t[4].item())


STATE_PREFIX = "adc_range/"
"""Keys of :meth:`AdcRanges.get_state` in a context's state."""


def _scale_sign(t: torch.Tensor) -> tuple[float, bool]:
    """Full scale (max |t|, 1 for an all-zero tensor) and whether ``t`` has a negative
    entry: the per-tensor encoding of :func:`bplight.numerics.engine.scale_and_sign`."""
    mn, mx = torch.aminmax(t.detach())
    s = max(-float(mn), float(mx))
    return (s if s > 0 else 1.0), bool(mn < 0)


def matmul_sample(a: torch.Tensor, b: torch.Tensor) -> Sample:
    """The :data:`Sample` of ``a @ b.T`` (whole tensors: :func:`calibrate` strides)."""

    def sample() -> tuple[torch.Tensor, torch.Tensor, tuple[float, float], bool]:
        (sa, neg), (sb, _) = _scale_sign(a), _scale_sign(b)
        return a.detach(), b.detach(), (sa, sb), neg

    return sample


def conv_sample(x: torch.Tensor, weight: torch.Tensor, grad_y: torch.Tensor | None,
                phase: str, conv: dict, groups: int, images: int = 4) -> Sample:
    """The :data:`Sample` of a convolution's product (group 0, the first ``images``
    images; the whole tensors' scales): forward ``cols @ W.T``, error ``dY @ W`` (weight
    operand W.T) or weight gradient ``cols.T @ dY`` (K = the positions of those images)."""

    def sample() -> tuple[torch.Tensor, torch.Tensor, tuple[float, float], bool]:
        cout, kf = weight.shape[0], weight[0].numel()
        cout_g = cout // groups
        w0 = weight.detach().reshape(groups, cout_g, kf)[0]
        if phase == "error":
            (sa, neg), (sb, _) = _scale_sign(grad_y), _scale_sign(weight)
            gy = grad_y.detach()[:images]
            rows = gy.reshape(gy.shape[0], cout, -1).transpose(1, 2)[..., :cout_g]
            return rows.reshape(-1, cout_g), w0.t(), (sa, sb), neg
        cols = F.unfold(x.detach()[:images], weight.shape[2:], **conv)[:, :kf]  # group 0
        (sx, neg) = _scale_sign(x)
        if phase == "forward":
            return cols.transpose(1, 2).reshape(-1, kf), w0, (sx, _scale_sign(weight)[0]), neg
        gy = grad_y.detach()[:images]
        dy = gy.transpose(0, 1).reshape(cout, -1)[:cout_g]  # [Cout_g, images·L]
        return cols.transpose(0, 1).reshape(kf, -1), dy, (sx, _scale_sign(grad_y)[0]), neg

    return sample
