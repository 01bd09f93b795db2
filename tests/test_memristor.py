"""Memristor weight store: quantisation, cell digits, programming noise, nonlinearity."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from bplight.config import load_spec
from bplight.devices import memristor as mem

BITS, CELL_BITS = 16, 4  # reference design: 16-bit weights in 4-bit cells (PipeLayer)
M = 2**15 - 1


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_cells_match_spec():
    spec = load_spec("bplight-16b")
    assert 2 * mem.cells_per_side(spec.update.weight_bits, spec.memristor.cell_bits) == (
        spec.memristor_cells_per_weight)
    assert mem.max_code(16) == M
    with pytest.raises(ValueError):
        mem.max_code(1)


def test_quantize_nearest_and_back():
    w = torch.tensor([-2.0, -1.0, -0.5, 0.0, 1e-6, 0.25, 1.0, 3.0])
    codes = mem.quantize_weights(w, 1.0, BITS)
    assert codes.dtype == torch.int64
    assert codes.tolist() == [-M, -M, round(-0.5 * M), 0, 0, round(0.25 * M), M, M]
    back = mem.codes_to_weights(codes, 1.0, BITS)
    inside = w.abs() <= 1
    assert torch.all((back[inside] - w[inside]).abs() <= 0.5 / M + 1e-7)
    with pytest.raises(ValueError):
        mem.quantize_weights(w, 0.0, BITS)
    with pytest.raises(ValueError):
        mem.quantize_weights(w, 1.0, BITS, rounding="up")  # type: ignore[arg-type]


def test_stochastic_rounding_is_unbiased():
    value = 0.3 / M  # 0.3 LSB: nearest rounding would always give 0
    w = torch.full((200_000,), value, dtype=torch.float64)
    codes = mem.quantize_weights(w, 1.0, BITS, rounding="stochastic", generator=_gen(1))
    assert set(codes.unique().tolist()) == {0, 1}
    assert codes.double().mean().item() == pytest.approx(0.3, abs=0.005)
    assert mem.quantize_weights(w, 1.0, BITS).abs().sum().item() == 0
    # Reproducible with the same seed, different with another.
    again = mem.quantize_weights(w, 1.0, BITS, rounding="stochastic", generator=_gen(1))
    other = mem.quantize_weights(w, 1.0, BITS, rounding="stochastic", generator=_gen(2))
    assert torch.equal(codes, again) and not torch.equal(codes, other)


@settings(max_examples=50, deadline=None)
@given(code=st.integers(-M, M))
def test_digits_roundtrip(code):
    c = torch.tensor([code])
    d = mem.code_digits(c, BITS, CELL_BITS)
    assert d.shape == (1, 2, 4)
    assert int(d.min()) >= 0 and int(d.max()) <= 15
    assert int(d[0, 1 if code > 0 else 0].sum()) == 0  # only one side of the pair is used
    assert mem.levels_to_codes(d.double(), CELL_BITS).item() == code
    # Least significant digit first.
    assert int(d[0, 0 if code >= 0 else 1, 0]) == abs(code) % 16


def test_zero_noise_linear_programming_is_exact():
    gen = _gen(3)
    old = torch.randint(-M, M + 1, (64, 32), generator=gen)
    new = torch.randint(-M, M + 1, (64, 32), generator=gen)
    res = mem.program(old, new, BITS, CELL_BITS, 0.0, 0.0, gen)
    assert torch.equal(res.analog_codes, new.to(res.analog_codes.dtype))
    assert res.cell_levels.shape == (64, 32, 2, 4)
    assert int(res.cells_written) == int(res.written.sum())


def test_unchanged_cells_are_not_rewritten_and_keep_their_noise():
    gen = _gen(4)
    codes = torch.randint(-M, M + 1, (1000,), generator=gen)
    first = mem.program(torch.zeros_like(codes), codes, BITS, CELL_BITS, 0.1, 0.0, gen)
    same = mem.program(codes, codes, BITS, CELL_BITS, 0.1, 0.0, gen, old_analog=first.cell_levels)
    assert int(same.cells_written) == 0
    assert torch.equal(same.analog_codes, first.analog_codes)
    # Changing only the lowest digit rewrites one cell and keeps the others' noise.
    bumped = codes.clone()
    idx = (codes > 0) & (codes % 16 < 15)
    bumped[idx] += 1
    res = mem.program(codes, bumped, BITS, CELL_BITS, 0.1, 0.0, gen, old_analog=first.cell_levels)
    assert int(res.cells_written) == int(idx.sum())
    assert torch.equal(res.cell_levels[..., 1:], first.cell_levels[..., 1:])
    assert torch.equal(res.written[idx][:, 0, 0], torch.ones(int(idx.sum()), dtype=torch.bool))


def test_sign_flip_rewrites_both_sides():
    old = torch.tensor([0x123])      # digits 3, 2, 1, 0 on the + side
    new = torch.tensor([-0x123])     # same digits on the - side
    res = mem.program(old, new, BITS, CELL_BITS)
    assert int(res.cells_written) == 6
    assert res.analog_codes.item() == -0x123


def test_programming_noise_statistics():
    # Each rewritten cell lands at target + N(0, sigma) levels, scaled by its significance
    # 2^(4 k): a change of the top digit alone gives error std sigma x 4096.
    sigma = 0.1
    n = 40_000
    old = torch.full((n,), 0x1000)
    new = torch.full((n,), 0x2000)
    res = mem.program(old, new, BITS, CELL_BITS, sigma, 0.0, _gen(5))
    err = res.analog_codes.double() - 0x2000
    assert int(res.cells_written) == n
    assert err.mean().item() == pytest.approx(0.0, abs=4 * sigma * 4096 / math.sqrt(n))
    assert err.std().item() == pytest.approx(sigma * 4096, rel=0.03)
    # Changing every digit: variance sums over the cells (1 + 16² + 256² + 4096²) sigma².
    full = mem.program(torch.zeros(n, dtype=torch.int64), torch.full((n,), 0x1111),
                       BITS, CELL_BITS, sigma, 0.0, _gen(6))
    expected = sigma * math.sqrt(sum(16 ** (2 * k) for k in range(4)))
    assert (full.analog_codes.double() - 0x1111).std().item() == pytest.approx(expected, rel=0.03)


def test_program_validates_inputs():
    with pytest.raises(ValueError):
        mem.program(torch.zeros(3, dtype=torch.int64), torch.zeros(4, dtype=torch.int64),
                    BITS, CELL_BITS)
    with pytest.raises(ValueError):
        mem.program(torch.zeros(1, dtype=torch.int64), torch.tensor([M + 1]), BITS, CELL_BITS)
    with pytest.raises(ValueError):
        mem.program(torch.zeros(1, dtype=torch.int64), torch.ones(1, dtype=torch.int64),
                    BITS, CELL_BITS, old_analog=torch.zeros(1, 2, 3))


@pytest.mark.parametrize("nl,a", [(0.01, 126.268958), (0.1, 12.625807), (1.0, 1.251653),
                                  (2.0, 0.609035), (9.0, 0.022810)])
def test_nonlinearity_param_matches_neurosim_table(nl, a):
    # NeuroSim V2.1 getParamA (utee/wage_quantizer.py, NeuroSIM/formula.cpp) table values.
    assert mem.nonlinearity_param_a(nl) == pytest.approx(a, rel=3e-5)


def test_nonlinear_potentiation_steps_shrink_as_g_rises():
    top = 15.0
    levels = torch.arange(0.0, 15.0, dtype=torch.float64)
    one = torch.ones_like(levels)
    steps = mem.nonlinear_pulse_levels(levels, one, CELL_BITS, 2.0) - levels
    assert torch.all(steps[1:] < steps[:-1])
    assert steps[0] > 1.0 > steps[-1]
    # Depression mirrors it: steps shrink as G falls.
    down = levels[1:] - mem.nonlinear_pulse_levels(levels[1:], -one[1:], CELL_BITS, 2.0)
    assert torch.all(down[1:] > down[:-1])
    # Full pulse trains reach the ends; linear case is exact.
    assert mem.nonlinear_pulse_levels(torch.tensor([0.0]), torch.tensor([15]), CELL_BITS,
                                      2.0).item() == pytest.approx(top)
    assert torch.equal(mem.nonlinear_pulse_levels(levels, one, CELL_BITS, 0.0),
                       (levels + 1).clamp(max=top))


def test_nonlinearity_applies_to_lowest_cell_only():
    old = torch.tensor([0x0000, 0x0001, 0x000E])
    new = torch.tensor([0x0001, 0x0002, 0x000F])
    res = mem.program(old, new, BITS, CELL_BITS, 0.0, 3.0)
    steps = res.analog_codes.double() - old.double()
    assert steps[0] > 1.0 and steps[2] < 1.0 and steps[0] > steps[1] > steps[2]
    upper = mem.program(torch.tensor([0x0100]), torch.tensor([0x0200]), BITS, CELL_BITS, 0.0, 3.0)
    assert upper.analog_codes.item() == 0x0200


@settings(max_examples=50, deadline=None)
@given(codes=st.lists(st.integers(-M, M), min_size=1, max_size=20),
       layout=st.sampled_from([(16, 4), (16, 2), (16, 8), (12, 5), (20, 3), (40, 4)]))
def test_cell_digits_equal_code_digits(codes, layout):
    bits, cell_bits = layout
    c = torch.tensor(codes).clamp(-mem.max_code(bits), mem.max_code(bits))
    fast = mem.cell_digits(c, bits, cell_bits)
    assert fast.shape == mem.code_digits(c, bits, cell_bits).shape
    assert torch.equal(fast.long(), mem.code_digits(c, bits, cell_bits))
    assert fast.dtype == (torch.uint8 if cell_bits <= 8 else torch.int64)


@pytest.mark.parametrize("nl", [0.0, 2.0])
@pytest.mark.parametrize("exact_extremes", [False, True])
def test_program_cached_digits_and_in_place_output_match(nl, exact_extremes):
    gen = _gen(7)
    old = torch.randint(-M, M + 1, (40, 30), generator=gen)
    new = (old + torch.randint(-300, 300, old.shape, generator=gen)).clamp(-M, M)
    first = mem.program(torch.zeros_like(old), old, BITS, CELL_BITS, 0.1, nl, gen)
    ref = mem.program(old, new, BITS, CELL_BITS, 0.1, nl, _gen(8), old_analog=first.cell_levels,
                      exact_extremes=exact_extremes)
    state = first.cell_levels.clone()
    res = mem.program(old, new, BITS, CELL_BITS, 0.1, nl, _gen(8), old_analog=state,
                      exact_extremes=exact_extremes, old_digits=first.digits, out=state)
    assert res.cell_levels is state  # updated in place
    assert torch.equal(res.cell_levels, ref.cell_levels)
    assert torch.equal(res.written, ref.written)
    assert torch.equal(res.analog_codes, ref.analog_codes)
    assert int(res.cells_written) == int(ref.cells_written) == int(ref.written.sum())
    assert torch.equal(res.digits.long(), mem.code_digits(new, BITS, CELL_BITS))
    # the caller's old state is not touched without out=
    assert not torch.equal(first.cell_levels, ref.cell_levels)


def test_programming_noise_only_on_written_mid_level_cells():
    gen = _gen(9)
    old = torch.randint(-M, M + 1, (5000,), generator=gen)
    new = (old + torch.randint(-40, 40, old.shape, generator=gen)).clamp(-M, M)
    exact = mem.program(old, new, BITS, CELL_BITS, 0.0)
    noisy = mem.program(old, new, BITS, CELL_BITS, 0.2, 0.0, gen, exact_extremes=True)
    moved = noisy.cell_levels != exact.cell_levels
    digits = mem.code_digits(new, BITS, CELL_BITS)
    expected = exact.written & (digits != 0) & (digits != 15)
    assert torch.equal(moved, expected)
    err = (noisy.cell_levels - exact.cell_levels)[expected]
    assert float(err.std()) == pytest.approx(0.2, rel=0.05)


def test_write_all_reprograms_every_cell_with_noise():
    old = torch.tensor([5, -300, 0, 32767])
    new = torch.tensor([5, -301, 0, 32767])
    base = mem.program(old, old, BITS, CELL_BITS)
    changed = mem.program(old, new, BITS, CELL_BITS, 0.2, generator=_gen(),
                          old_analog=base.cell_levels)
    every = mem.program(old, new, BITS, CELL_BITS, 0.2, generator=_gen(),
                        old_analog=base.cell_levels, write_all=True)
    assert int(changed.cells_written) == 1  # only the lowest "-" digit of -300 -> -301
    assert int(every.cells_written) == new.numel() * 2 * mem.cells_per_side(BITS, CELL_BITS)
    assert bool(every.written.all())
    # every write lands at its digit plus programming noise: unchanged cells move too
    held = every.cell_levels - mem.code_digits(new, BITS, CELL_BITS).to(every.cell_levels)
    assert int((held != 0).sum()) == held.numel()
    assert float(held.abs().max()) < 6 * 0.2


def _hand_writer(policy: str):
    from bplight.numerics import MemristorWriter, PhotonicLinear, convert

    spec = load_spec("bplight-16b", ["update.weight_bits=8", "update.range_headroom=1",
                                     "update.rounding=nearest", "memristor.programming_noise=0",
                                     f"update.write_policy={policy}"])
    layer = convert(torch.nn.Linear(2, 1, bias=False), spec)
    assert isinstance(layer, PhotonicLinear)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, -0.25]]))  # codes 127 and -32 (M = 127)
    return layer, MemristorWriter(layer, spec)


@pytest.mark.parametrize("policy", ["changed", "all"])
def test_writer_counts_the_cells_its_policy_writes(policy: str):
    # 8-bit weights in 4-bit cells: 2 cells per side, 4 per weight, digits least
    # significant first. 127 = (+)[15, 7]; -32 = (-)[0, 2]; +32 = (+)[0, 2]; 51 = (+)[3, 3].
    layer, writer = _hand_writer(policy)
    assert writer.cells == 8 and writer.write_record()["write_fraction"] is None
    steps = [torch.tensor([[1.0, 0.25]]),   # -32 -> +32: (+)digit1 0->2, (-)digit1 2->0
             torch.tensor([[1.0, 0.4]])]    # 32 -> 51: (+)digit0 0->3, (+)digit1 2->3
    for w in steps:
        with torch.no_grad():
            layer.weight.copy_(w)
        writer.step()
    hand = 4 if policy == "changed" else 2 * 8
    assert writer.step_writes == ([2, 2] if policy == "changed" else [8, 8])
    assert writer.write_record() == {"cell_writes": hand, "cells": 8, "steps": 2,
                                     "write_fraction": hand / 16}
    counts = writer.write_counts()["Linear"]
    assert counts.dtype == torch.int32 and counts.shape == (1, 2, 2, 2)
    if policy == "changed":  # [out, in, side (+, -), digit]
        expect = [[[[0, 0], [0, 0]], [[1, 2], [0, 1]]]]
    else:
        expect = [[[[2, 2], [2, 2]], [[2, 2], [2, 2]]]]
    assert counts.tolist() == expect
    assert int(counts.sum()) == writer.cells_written
    torch.testing.assert_close(layer.weight.detach(), torch.tensor([[1.0, 51 / 127]]))
    # the record survives a resume (get_state / set_state)
    state = writer.get_state()
    _, again = _hand_writer(policy)
    again.set_state(state)
    assert again.write_record() == writer.write_record()
    assert torch.equal(again.write_counts()["Linear"], counts)
