"""Memristor (ReRAM) weight store: quantisation, multi-cell digits, programming.

Numerics in torch, vectorised and device-agnostic; randomness only through an explicit
``torch.Generator`` (on the tensors' device).

**Storage format.** A signed weight of ``bits`` bits (sign + magnitude,
docs/sources.md#physics) is an
integer *code* c in [-M, M], M = 2^(bits-1) - 1; the weight is c w_max / M. The sign is
stored by a differential pair (docs/sources.md#physics): the
magnitude |c| sits in the "+" cells when c > 0 and in the "-" cells when c < 0, the other
side holding zeros. Each side splits |c| into ``cells = ceil((bits-1)/cell_bits)`` digits
in base 2^cell_bits, **least significant first**: digit k has significance
2^(cell_bits k) (as in the slice sum x = sum_k 2^(s k) x_k of
docs/sources.md#physics). 16-bit weights in
4-bit cells: 4 cells per side, the top one using 3 bits (PipeLayer: 4 cells per 16-bit
weight; spec.memristor_cells_per_weight counts both sides: 8).

Per-cell analog state is a float tensor of shape ``codes.shape + (2, cells)`` in units of
one level of that cell: ``[..., 0, k]`` the "+" cell, ``[..., 1, k]`` the "-" cell. The
achieved analog code is sum_k 2^(cell_bits k) (g+_k - g-_k), in LSBs of the full weight.

**Programming (reduced model).** :func:`program` re-writes exactly the cells whose digit
changes; each lands at its target level plus N(0, sigma) levels (cycle-to-cycle error
after write-verify; sigma = spec.memristor.programming_noise, assumption), so its error
in the full weight is that times its significance; cells whose digit does not change keep
their previous analog level exactly (pass the previous state as ``old_analog``). With a
nonlinearity factor NL > 0, the lowest cell of each side is *not* write-verified but
moved by open-loop pulses, one nominal level per pulse, along NeuroSim's exponential
conductance-vs-pulse curve (Chen et al., NeuroSim; DNN_NeuroSim_V2.1
``utee/wage_quantizer.py`` NonlinearWeight / InvNonlinearWeight / GetParamA, and
``NeuroSIM/formula.cpp`` getParamA):

    G(P) = B (1 - exp(-P / A)) + G_min,   B = (G_max - G_min) / (1 - exp(-P_max / A))

for potentiation, and the same curve mirrored (from G_max downward) for depression, so a
request of k levels gives a level-dependent actual step: potentiation steps shrink as G
rises, depression steps shrink as G falls. P_max = 2^cell_bits - 1 pulses spans the cell.
A = a(NL) P_max, where the normalised a(NL) is NeuroSim's lookup table; it satisfies
max_x [g(x) - x] = 0.07 sqrt(2) NL for the normalised curve g(x) = (1 - e^(-x/a)) /
(1 - e^(-1/a)) (the largest distance from the linear curve is 0.07 NL; *derived* here:
reproduces NeuroSim's table to 1e-6, tests/test_memristor.py), which
:func:`nonlinearity_param_a` solves. The upper cells are assumed write-verified (their
digits are coarse and rarely change).
"""

from __future__ import annotations

import functools
import math
import sys
from dataclasses import dataclass, field
from typing import Literal

import torch
from scipy.optimize import brentq

NEUROSIM_NL_DEVIATION = 0.07 * math.sqrt(2.0)
"""Largest deviation of the normalised NeuroSim curve from linear per unit of the
nonlinearity label (derived: fits NeuroSim V2.1's getParamA table to 1e-6)."""

_MAX_NL = 1.0 / NEUROSIM_NL_DEVIATION  # deviation must stay below the full range


@dataclass(frozen=True)
class ProgramResult:
    """Outcome of :func:`program`.

    analog_codes: achieved weight codes (float, LSBs of the full weight), shape of codes
        (None when :func:`program` was asked for ``analog=False``).
    cell_levels: per-cell analog levels, shape codes.shape + (2, cells); pass it back as
        ``old_analog`` (and ``analog_codes`` as ``old_analog_codes``) to the next
        :func:`program` call.
    cells_written: number of cells re-programmed (0-dim int64 tensor; ``int()`` it).
    written_index: flat indices into ``cell_levels`` of the cells re-programmed, ascending
        (int64); ``None`` when every cell was (``write_all``). What endurance counting
        needs, without a mask of every cell.
    written: bool mask of the cells re-programmed, shape of ``cell_levels`` (built from
        ``written_index`` when first read).
    digits: cell digits of the new codes (the values of :func:`code_digits`, in the
        narrowest integer dtype that holds them; computed when first read).
    """

    analog_codes: torch.Tensor | None
    cell_levels: torch.Tensor
    cells_written: torch.Tensor
    written_index: torch.Tensor | None
    new_codes: torch.Tensor = field(repr=False)
    bits: int = field(repr=False)
    cell_bits: int = field(repr=False)
    known_digits: torch.Tensor | None = field(default=None, repr=False)
    """The digits of the new codes where :func:`program` computed them all (else None)."""

    @functools.cached_property
    def written(self) -> torch.Tensor:
        if self.written_index is None:
            return torch.ones(self.cell_levels.shape, dtype=torch.bool,
                              device=self.cell_levels.device)
        mask = torch.zeros(self.cell_levels.shape, dtype=torch.bool,
                           device=self.cell_levels.device)
        mask.view(-1)[self.written_index] = True
        return mask

    @functools.cached_property
    def digits(self) -> torch.Tensor:
        if self.known_digits is not None:
            return self.known_digits
        return cell_digits(self.new_codes, self.bits, self.cell_bits)


def max_code(bits: int) -> int:
    """Largest magnitude code M = 2^(bits-1) - 1 of a sign + magnitude weight."""
    if bits < 2:
        raise ValueError(f"bits must be >= 2, got {bits}")
    return 2 ** (bits - 1) - 1


def cells_per_side(bits: int, cell_bits: int) -> int:
    """Cells holding one side of the differential pair: ceil((bits - 1) / cell_bits)."""
    if cell_bits < 1:
        raise ValueError(f"cell_bits must be >= 1, got {cell_bits}")
    return math.ceil((bits - 1) / cell_bits)


def quantize_weights(w: torch.Tensor, w_max: float | torch.Tensor, bits: int,
                     rounding: Literal["nearest", "stochastic"] = "nearest",
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """Signed integer codes (int64) of ``w`` on the grid w_max / M, clipped to [-M, M].

    ``stochastic`` rounds x up with probability frac(x) (floor(x + U), U ~ U[0, 1) from
    ``generator``), so E[code] = x inside the range.
    """
    m = max_code(bits)
    if isinstance(w_max, torch.Tensor):
        if bool((w_max <= 0).any()):
            raise ValueError("w_max must be positive")
    elif not w_max > 0:
        raise ValueError(f"w_max must be positive, got {w_max}")
    x = torch.clamp(w / w_max * m, -m, m)
    if rounding == "nearest":
        q = torch.round(x)
    elif rounding == "stochastic":
        u = torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        q = torch.clamp(torch.floor(x + u), -m, m)
    else:
        raise ValueError(f"rounding must be 'nearest' or 'stochastic', got {rounding!r}")
    return q.to(torch.int64)


def codes_to_weights(codes: torch.Tensor, w_max: float | torch.Tensor, bits: int,
                     dtype: torch.dtype | None = None) -> torch.Tensor:
    """Weights c w_max / M of (integer or analog float) codes."""
    dt = dtype if dtype is not None else (
        codes.dtype if codes.is_floating_point() else torch.get_default_dtype())
    return codes.to(dt) * (w_max / max_code(bits))


def code_digits(codes: torch.Tensor, bits: int, cell_bits: int) -> torch.Tensor:
    """Cell digits of signed codes, int64, shape codes.shape + (2, cells).

    ``[..., 0, k]``: digit k (significance 2^(cell_bits k)) of the "+" cell, non-zero only
    for positive codes; ``[..., 1, k]`` the "-" cell, non-zero only for negative codes.
    """
    n = cells_per_side(bits, cell_bits)
    c = codes.to(torch.int64)
    mag = c.abs()
    shifts = torch.arange(n, device=c.device, dtype=torch.int64) * cell_bits
    digits = torch.bitwise_and(
        torch.bitwise_right_shift(mag.unsqueeze(-1), shifts), (1 << cell_bits) - 1)
    pos = (c > 0).unsqueeze(-1)
    neg = (c < 0).unsqueeze(-1)
    return torch.stack((digits * pos, digits * neg), dim=-2)


def cell_digits(codes: torch.Tensor, bits: int, cell_bits: int) -> torch.Tensor:
    """:func:`code_digits` in the narrowest integer dtype that holds a digit (``uint8``
    for cells of up to 8 bits, else int64): same values and layout, fewer bytes to move
    and compare."""
    n = cells_per_side(bits, cell_bits)
    mask = (1 << cell_bits) - 1
    if cell_bits <= 8 and n <= 4 and bits <= 63 and sys.byteorder == "little":
        # the 2 x 4 digit bytes of one code packed in one int64, "+" side in bytes 0-3
        # and "-" side in bytes 4-7 (digit k in byte k of its side), then viewed as bytes
        c = codes.to(torch.int64)
        mag = c.abs()
        packed = mag.bitwise_and(mask)
        for k in range(1, n):
            packed |= (mag >> (cell_bits * k)).bitwise_and_(mask) << (8 * k)
        packed <<= (c < 0).to(torch.int64) * 32
        digits = packed.view(torch.uint8).view(*codes.shape, 2, 4)
        return digits if n == 4 else digits[..., :n].contiguous()
    wide = torch.int32 if bits <= 32 else torch.int64
    narrow = torch.uint8 if cell_bits <= 8 else torch.int64
    c = codes.to(wide)
    # magnitude on each side of the pair: [..., 2] ("+" side, "-" side)
    sides = torch.stack((c.clamp(min=0), c.neg().clamp_(min=0)), dim=-1)
    digits = [(sides if k == 0 else sides >> (cell_bits * k)).bitwise_and(mask).to(narrow)
              for k in range(n)]
    return torch.stack(digits, dim=-1)


def levels_to_codes(cell_levels: torch.Tensor, cell_bits: int) -> torch.Tensor:
    """Analog code sum_k 2^(cell_bits k) (g+_k - g-_k) of per-cell levels [..., 2, cells]."""
    n = cell_levels.shape[-1]
    if cell_levels.is_floating_point():  # one matrix-vector product over both sides
        sig = torch.pow(2.0, torch.arange(n, dtype=torch.float64) * cell_bits)
        sig = torch.cat((sig, -sig)).to(device=cell_levels.device, dtype=cell_levels.dtype)
        return cell_levels.flatten(-2) @ sig
    sig = torch.pow(2.0, torch.arange(n, device=cell_levels.device,
                                      dtype=cell_levels.dtype) * cell_bits)
    return ((cell_levels[..., 0, :] - cell_levels[..., 1, :]) * sig).sum(dim=-1)


@functools.lru_cache(maxsize=256)
def nonlinearity_param_a(nonlinearity: float) -> float:
    """Normalised NeuroSim curve constant a = A / P_max for nonlinearity label NL > 0.

    Solves max_x [g(x) - x] = 0.07 sqrt(2) NL, g(x) = (1 - e^(-x/a)) / (1 - e^(-1/a)),
    which reproduces NeuroSim V2.1's getParamA table (NL 0.01 ... 9). Valid for
    0 < NL < 10.1 (the deviation must stay below 1).
    """
    if not 0.0 < nonlinearity < _MAX_NL:
        raise ValueError(f"nonlinearity must lie in (0, {_MAX_NL:.2f}), got {nonlinearity}")
    target = NEUROSIM_NL_DEVIATION * nonlinearity

    def excess(log_a: float) -> float:
        a = math.exp(log_a)
        e = -math.expm1(-1.0 / a)  # 1 - exp(-1/a)
        x_star = -a * math.log(a * e)  # where g'(x) = 1
        return (1.0 - a * e) / e - x_star - target

    return math.exp(brentq(excess, math.log(1e-7), math.log(1e7), xtol=1e-14, rtol=1e-13))


def nonlinear_pulse_levels(levels: torch.Tensor, pulses: torch.Tensor, cell_bits: int,
                           nonlinearity: float) -> torch.Tensor:
    """Level reached from ``levels`` after ``pulses`` (signed; + potentiate, - depress)
    along NeuroSim's exponential curve, in units of one nominal level.

    The cell spans levels [0, L-1], L = 2^cell_bits, reached by P_max = L - 1 pulses.
    Potentiation follows u = g(p), depression the mirrored 1 - u = g(q) (q the depression
    pulse coordinate from the top); pulse counts beyond the ends saturate there. With
    ``nonlinearity`` 0 the step is exactly ``pulses`` levels (clipped to [0, L-1]).
    """
    top = float((1 << cell_bits) - 1)
    lv = levels.clamp(0.0, top)
    pl = pulses.to(lv.dtype)
    if nonlinearity == 0.0:
        return (lv + pl).clamp(0.0, top)
    a = nonlinearity_param_a(nonlinearity)
    em = math.expm1(-1.0 / a)  # -(1 - exp(-1/a)), negative

    def curve(p: torch.Tensor) -> torch.Tensor:  # normalised g(p), p in [0, 1]
        return torch.expm1(-p / a) / em

    def inverse(u: torch.Tensor) -> torch.Tensor:  # p such that g(p) = u
        return -a * torch.log1p(u * em)

    u = lv / top
    step = pl.abs() / top
    up = curve((inverse(u) + step).clamp(0.0, 1.0))
    down = 1.0 - curve((inverse(1.0 - u) + step).clamp(0.0, 1.0))
    return torch.where(pl >= 0, up, down) * top


def program(old_codes: torch.Tensor, new_codes: torch.Tensor, bits: int, cell_bits: int,
            programming_noise_levels: float = 0.0, nonlinearity: float = 0.0,
            generator: torch.Generator | None = None,
            old_analog: torch.Tensor | None = None,
            dtype: torch.dtype | None = None,
            exact_extremes: bool = False,
            old_digits: torch.Tensor | None = None,
            out: torch.Tensor | None = None, write_all: bool = False,
            rows: torch.Tensor | None = None, analog: bool = True) -> ProgramResult:
    """Write ``new_codes`` over ``old_codes`` into the cells (see the module docstring).

    old_codes, new_codes: signed integer codes of the same shape.
    programming_noise_levels: sigma of a written cell's level, in levels of that cell.
    nonlinearity: NeuroSim nonlinearity label of the lowest cell's pulse updates (0: none).
    generator: source of the programming noise (needed when sigma > 0).
    old_analog: previous per-cell levels (``ProgramResult.cell_levels``); None: the cells
        sit exactly at the digits of ``old_codes``.
    dtype: float dtype of the analog state (default: old_analog's, else torch default).
    exact_extremes: cells written to level 0 or 2^cell_bits - 1 (full reset / set)
        saturate there without programming error.
    old_digits: the cell digits of ``old_codes`` when the caller has them (a previous
        call's ``ProgramResult.digits``, or :func:`code_digits`); None: computed here, for
        the weights whose code changes only.
    out: tensor (of the cell levels' shape and dtype) to write the new levels into and
        return as ``cell_levels``; it may be ``old_analog`` itself (updated in place).
        None: a new tensor.
    write_all: re-program every cell (write policy 'all'), not only those whose digit
        changes; each write carries the programming noise (and, with NL > 0, the lowest
        cells their pulse response; a cell keeping its digit gets no pulse).
    rows: the flat indices (ascending, int64) of the weights whose code changes, when
        the caller has them (:class:`~bplight.numerics.update.MemristorWriter`); only
        their new codes are checked. None: found here.
    analog: compute ``ProgramResult.analog_codes`` (one pass over every cell); False:
        None there (a caller that updates the held weights of ``rows`` itself).

    Programming noise is drawn only for the cells that take it (written, and with
    ``exact_extremes`` not written to an extreme level): one N(0, 1) per such cell, in
    the order of the cells.

    Cost: without ``write_all``, when at most half the weights change code, the cells'
    digits are compared for those weights only (work ~ weights + written cells, not all
    cells); otherwise for every cell (``old_digits`` saves one of the two digit passes).
    The analog codes are recomputed for every weight (one matrix-vector product).
    """
    if old_codes.shape != new_codes.shape:
        raise ValueError(f"old_codes {tuple(old_codes.shape)} and new_codes "
                         f"{tuple(new_codes.shape)} must have the same shape")
    m = max_code(bits)
    new_rows = None if rows is None else new_codes.reshape(-1)[rows]
    checked = new_codes if new_rows is None else new_rows
    if checked.numel() and bool((checked.abs() > m).any()):
        raise ValueError(f"new_codes must lie in [-{m}, {m}] for {bits}-bit weights")
    if dtype is None:
        dtype = old_analog.dtype if old_analog is not None else torch.get_default_dtype()
    n = cells_per_side(bits, cell_bits)
    shape = (*new_codes.shape, 2, n)
    if old_digits is not None and tuple(old_digits.shape) != shape:
        raise ValueError(f"old_digits must have shape {shape}, got {tuple(old_digits.shape)}")
    if old_analog is not None and tuple(old_analog.shape) != shape:
        raise ValueError(f"old_analog must have shape {shape}, got {tuple(old_analog.shape)}")
    dev = new_codes.device
    # start from the old levels, then overwrite the written cells (a minority)
    if out is None:
        levels = torch.empty(shape, dtype=dtype, device=dev)
        if old_analog is None:
            levels.copy_(cell_digits(old_codes, bits, cell_bits) if old_digits is None
                         else old_digits)
        else:
            levels.copy_(old_analog)
    else:
        if tuple(out.shape) != shape or out.dtype != dtype or not out.is_contiguous():
            raise ValueError(f"out must be a contiguous {dtype} tensor of shape {shape}")
        if out is not old_analog:
            out.copy_(old_analog if old_analog is not None else (
                cell_digits(old_codes, bits, cell_bits) if old_digits is None else old_digits))
        levels = out
    flat = levels.view(-1)
    per_weight = 2 * n
    if write_all:  # every cell of every weight
        rows = None
        new_d = cell_digits(new_codes, bits, cell_bits).reshape(-1)
        old_d = (cell_digits(old_codes, bits, cell_bits) if old_digits is None
                 else old_digits).reshape(-1)
        idx = None
        digit, old_digit = new_d, old_d
    elif rows is None:  # the weights whose code changes, then their cells whose digit changes
        rows = (old_codes != new_codes).view(-1).nonzero().squeeze(1)
    all_digits = None
    if rows is not None and 2 * rows.numel() > new_codes.numel():
        # most weights change (a large step): compare every cell, as cheap as gathering
        all_digits = cell_digits(new_codes, bits, cell_bits)
        new_d = all_digits.view(-1)
        old_d = (cell_digits(old_codes, bits, cell_bits) if old_digits is None
                 else old_digits).reshape(-1)
        idx = (new_d != old_d).nonzero().squeeze(1)
        digit, old_digit = new_d[idx], old_d[idx]
    elif rows is not None:
        if new_rows is None:
            new_rows = new_codes.reshape(-1)[rows]
        new_d = cell_digits(new_rows, bits, cell_bits).reshape(-1)
        old_d = (cell_digits(old_codes.reshape(-1)[rows], bits, cell_bits)
                 if old_digits is None else old_digits.reshape(-1, 2, n)[rows]).reshape(-1)
        changed = (new_d != old_d).view(-1, per_weight).nonzero()  # [(row, cell)]
        idx = rows[changed[:, 0]].mul_(per_weight).add_(changed[:, 1])  # ascending
        local = changed[:, 0] * per_weight + changed[:, 1]
        digit, old_digit = new_d[local], old_d[local]
    value = digit.to(dtype)
    if nonlinearity > 0.0:  # the lowest cell of each side moves by open-loop pulses
        cell = torch.arange(flat.numel(), device=dev) if idx is None else idx
        lowest = (cell % n) == 0
        before = flat.clone() if idx is None else flat[idx]
        pulses = value - old_digit.to(dtype)
        value = torch.where(lowest, nonlinear_pulse_levels(before, pulses, cell_bits,
                                                           nonlinearity), value)
    if programming_noise_levels > 0.0 and value.numel():
        if exact_extremes:
            noisy = ((digit != 0) & (digit != 2**cell_bits - 1)).nonzero().squeeze(1)
            noise = torch.randn(noisy.shape, generator=generator, device=dev, dtype=dtype)
            value.index_add_(0, noisy, noise, alpha=programming_noise_levels)
        else:
            noise = torch.randn(value.shape, generator=generator, device=dev, dtype=dtype)
            value.add_(noise, alpha=programming_noise_levels)
    if idx is None:
        flat.copy_(value)
    else:
        flat.index_put_((idx,), value)
    analog_codes = levels_to_codes(levels, cell_bits) if analog else None
    written = flat.numel() if idx is None else idx.numel()
    return ProgramResult(analog_codes=analog_codes, cell_levels=levels,
                         cells_written=torch.tensor(written, device=dev),
                         written_index=idx, new_codes=new_codes, bits=bits,
                         cell_bits=cell_bits, known_digits=all_digits)
