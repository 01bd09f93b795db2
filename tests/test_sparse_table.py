"""The table of wrong reads fast mode draws (:func:`bplight.numerics.engine._sparse_table`):
equal amplitudes merged without changing the distribution; with ``SPARSE_VAR_TAIL`` the
smallest amplitudes left out and the variance kept."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bplight.numerics import engine


def test_equal_amplitudes_merge_exactly(monkeypatch):
    monkeypatch.setattr(engine, "SPARSE_VAR_TAIL", 0.0)
    # passes (0, 1) and (1, 0) of 1-bit slices share the slice weight 2: one class
    values = np.array([1.0, 2.0, 2.0, 4.0, 2.0, 0.5])
    counts = np.array([0.3, 0.1, 0.2, 0.05, 0.0, 0.0])
    v, c = engine._sparse_table(values, counts)
    assert v.tolist() == [1.0, 2.0, 4.0]  # ascending; classes with no read dropped
    assert c == pytest.approx([0.3, 0.3, 0.05])
    assert (c * v**2).sum() == pytest.approx((counts * values**2).sum())


def test_tail_leaves_out_the_smallest_amplitudes_and_keeps_the_variance(monkeypatch):
    values = 2.0 ** np.arange(10)
    counts = np.full(10, 1.0)  # variance of class k: 4^k
    total = float((counts * values**2).sum())
    monkeypatch.setattr(engine, "SPARSE_VAR_TAIL", 1e-4)
    v, c = engine._sparse_table(values, counts)
    # 1 + 4 + 16 = 21 <= 1e-4 x 349525 = 35 < 21 + 64: the three smallest go
    assert v.tolist() == values[3:].tolist()
    assert (c * v**2).sum() == pytest.approx(total)
    assert c == pytest.approx(np.full(7, total / (total - 21.0)))


@pytest.mark.parametrize(("folded", "split"), [(False, True), (True, True), (False, False),
                                               (True, False)])
def test_split_placement_has_the_distribution_and_ignores_the_thread_count(monkeypatch, folded,
                                                                           split):
    """The CPU placement without the compiled kernel (positions from numpy, classes of
    many reads added as one scalar each), in two halves by two threads or in one part."""
    import torch
    from conftest import placed_with_thread_counts

    from bplight.numerics import kernels

    monkeypatch.setattr(kernels, "AVAILABLE", False)
    monkeypatch.setattr(engine, "NUMPY_MIN_READS", 1)
    monkeypatch.setattr(engine, "SCALAR_MIN_READS", 1000)
    monkeypatch.setattr(engine, "SPLIT_MIN_READS", 1 if split else 2**62)
    monkeypatch.setattr(engine, "SPLIT_MIN_SIZE", 1)
    errs = engine.ReadErrors(0.0, 0.5, np.array([1.0, 4.0]), np.array([0.75, 0.25]))
    shape = (50, 40, 4, 4)
    # fold counts 1 and 9 alternate over the 16 pixels: mean 5 slots per element
    gain = torch.tensor([1.0, 3.0] * 8).reshape(1, 1, 4, 4) if folded else None
    slots = 5.0 if folded else 1.0
    out = placed_with_thread_counts(shape, torch.float64, errs, gain)
    assert torch.equal(out[0], out[1])
    y = out[0]
    var = slots * errs.var  # rate x E[v^2] per slot
    assert float(y.mean()) == pytest.approx(0.0, abs=4 * math.sqrt(var / y.numel()))
    assert float(y.var()) == pytest.approx(var, rel=0.05)
    if not folded:  # P(no wrong read) = exp(-rate), plus cancellations of ±1 and ±4 pairs
        assert float((y == 0).double().mean()) >= math.exp(-0.5) - 0.01
    else:  # each half of the rows gets its share: no half left empty, pixels by folds
        assert float(y[:25].var()) == pytest.approx(float(y[25:].var()), rel=0.1)
        px = y.reshape(50, 40, 16)
        assert float(px[..., 1::2].var() / px[..., ::2].var()) == pytest.approx(9.0, rel=0.1)
