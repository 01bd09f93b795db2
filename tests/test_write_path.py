"""The memristor write (:func:`bplight.devices.memristor.program`), which compares the
cells of the weights whose code changes only (when few do) or every cell (when most do),
in place and with the previous digits, gives what a write computed from scratch gives,
bit for bit; the writer counts each written cell once."""

from __future__ import annotations

import pytest
import torch

from bplight.devices import memristor as mem

BITS, CELL_BITS = 16, 4
M = 2**15 - 1


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("share", [0.1, 0.9])  # a few weights change / most do
def test_in_place_program_matches_a_fresh_one(share):
    g = _gen(1)
    old = torch.randint(-M, M + 1, (3000,), generator=g)
    first = mem.program(torch.zeros_like(old), old, BITS, CELL_BITS, 0.1, 0.0, g)
    new = old.clone()
    moved = torch.rand(old.shape, generator=g) < share
    new[moved] = (old[moved] + torch.randint(-20, 21, (int(moved.sum()),), generator=g)
                  ).clamp(-M, M)
    new[:5] = -old[:5]  # sign flips rewrite both sides
    ref = mem.program(old, new, BITS, CELL_BITS, 0.1, 0.0, _gen(2),
                      old_analog=first.cell_levels, exact_extremes=True)
    state = first.cell_levels.clone()
    inc = mem.program(old, new, BITS, CELL_BITS, 0.1, 0.0, _gen(2), old_analog=state,
                      exact_extremes=True, out=state, old_digits=first.digits)
    assert torch.equal(inc.cell_levels, ref.cell_levels)
    assert torch.equal(inc.analog_codes, ref.analog_codes)
    assert torch.equal(inc.analog_codes, mem.levels_to_codes(inc.cell_levels, CELL_BITS))
    # the written cells: exactly those whose digit changed, listed in ascending order
    changed = mem.code_digits(new, BITS, CELL_BITS) != mem.code_digits(old, BITS, CELL_BITS)
    assert torch.equal(inc.written, changed)
    assert torch.equal(inc.written_index, changed.view(-1).nonzero().squeeze(1))
    assert int(inc.cells_written) == int(changed.sum())
    # unchanged weights keep their analog codes exactly
    same = old == new
    assert torch.equal(inc.analog_codes[same], first.analog_codes[same])
    assert torch.equal(inc.digits.long(), mem.code_digits(new, BITS, CELL_BITS))


def test_writer_counts_each_written_cell_once():
    from bplight.config import load_spec
    from bplight.numerics import MemristorWriter, convert

    spec = load_spec("bplight-16b")
    torch.manual_seed(0)
    model = convert(torch.nn.Linear(16, 8), spec)
    writer = MemristorWriter(model, spec)
    masks = []
    for _ in range(3):
        with torch.no_grad():
            model.weight.add_(0.01 * torch.randn_like(model.weight))
        before = writer.levels.clone()
        codes = writer.codes.clone()
        writer.step()
        new_d = mem.code_digits(writer.codes, spec.update.weight_bits, spec.memristor.cell_bits)
        old_d = mem.code_digits(codes, spec.update.weight_bits, spec.memristor.cell_bits)
        masks.append(new_d != old_d)
        assert torch.equal(writer.levels[~masks[-1]], before[~masks[-1]])
    counts = writer.write_counts()["Linear"]
    assert torch.equal(counts, sum(m.int() for m in masks).view(counts.shape))


@pytest.mark.parametrize("rounding", ["nearest", "stochastic"])
def test_programming_error_does_not_leak_into_the_codes(rounding):
    """The writer targets its digital codes plus the optimizer's increment, not the codes
    read back from the noisy cells: a step asking for no change writes no cell, and whole
    grid steps land exactly in the codes (the cells' error stays one write's worth)."""
    from bplight.config import load_spec
    from bplight.numerics import MemristorWriter, convert

    spec = load_spec("bplight-16b", {"update": {"rounding": rounding}})
    assert spec.memristor.programming_noise > 0
    torch.manual_seed(0)
    model = convert(torch.nn.Linear(64, 32), spec)
    writer = MemristorWriter(model, spec)
    layer = model
    start = writer.codes.clone()
    eps = float(layer.w_range) / M
    g = _gen(3)
    total = torch.zeros_like(start)
    for _ in range(60):  # whole grid steps of random sign
        k = torch.randint(-3, 4, layer.weight.shape, generator=g)
        total += k.reshape(-1)
        with torch.no_grad():
            layer.weight += k * eps
        writer.step()
    if rounding == "nearest":
        assert torch.equal(writer.codes, start + total)
    else:  # float32 rounding of the requested weight may move a code a step, rarely
        off = (writer.codes - start - total).abs()
        assert int(off.max()) <= 2 and float((off > 0).float().mean()) < 0.03
    held_codes = layer.weight.detach().reshape(-1) / eps
    # one write's error: 0.1 level of at most the top cell (2^12) -> within 6 sigma
    assert float((held_codes - writer.codes).abs().max()) < 6 * 0.1 * 2**12
    before = layer.weight.detach().clone()
    assert writer.step() == 0  # nothing asked, nothing written
    assert torch.equal(layer.weight.detach(), before)
