"""The table of wrong reads fast mode draws (:func:`bplight.numerics.engine._sparse_table`):
equal amplitudes merged without changing the distribution; with ``SPARSE_VAR_TAIL`` the
smallest amplitudes left out and the variance kept."""

from __future__ import annotations

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
