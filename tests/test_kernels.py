"""The compiled CPU kernels (:mod:`bplight.numerics.kernels`) against the torch operations
they replace: the memristor writer's step (bit for bit with nearest rounding, unbiased
with stochastic rounding) and the placement of wrong reads (their distribution, over
several blocks and a partial last one)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import placed_with_thread_counts
from scipy.special import i0e

from bplight.config import load_spec
from bplight.numerics import MemristorWriter, convert, engine, kernels
from bplight.numerics.update import held_weights

pytestmark = pytest.mark.skipif(not kernels.AVAILABLE, reason="numba not importable")


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3), torch.nn.Flatten(),
                               torch.nn.Linear(64, 5), torch.nn.Linear(5, 3))


def _run_writer(spec, compiled: bool, monkeypatch, steps: int = 4):
    model = convert(_model(), spec)
    writer = MemristorWriter(model, spec)
    g = torch.Generator().manual_seed(5)
    with monkeypatch.context() as mp:
        mp.setattr(kernels, "AVAILABLE", compiled)
        for _ in range(steps):
            with torch.no_grad():
                for p in model.parameters():
                    p.add_(0.02 * torch.randn(p.shape, generator=g))
            writer.step()
    return model, writer


@pytest.mark.parametrize("variation", [0.0, 0.05])  # device-to-device gains
def test_compiled_writer_step_equals_the_torch_one_without_programming_noise(
        monkeypatch, variation):
    """Nearest rounding, no programming noise: the compiled write (one fused pass)
    writes what the torch operations around :func:`program` write, bit for bit: codes,
    cell levels, write counts, weights."""
    spec = load_spec("bplight-16b", {"update": {"rounding": "nearest"},
                                     "memristor": {"device_variation": variation,
                                                   "programming_noise": 0.0}})
    a, wa = _run_writer(spec, True, monkeypatch)
    b, wb = _run_writer(spec, False, monkeypatch)
    assert wa._fused()  # (b ran with the kernels off: the torch path)
    assert wa.step_writes == wb.step_writes and wa.step_writes[0] > 0
    assert torch.equal(wa.codes, wb.codes)
    assert torch.equal(wa.levels, wb.levels)
    assert torch.equal(wa._counts, wb._counts)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    # what the layers hold is what a fresh reading of the cells gives, bit for bit
    lv = wa.levels if wa.gain is None else wa.levels * wa.gain
    fresh = held_weights(lv.flatten(-2), wa.range, wa.bits, wa.cell_bits)
    assert torch.equal(wa.held(), fresh)


@pytest.mark.parametrize("exact_extremes", [False, True])
def test_fused_write_programs_the_same_cells_with_the_programming_noise(monkeypatch,
                                                                        exact_extremes):
    """With programming noise the fused write re-programs the cells the torch path does
    (same codes, counts and written cells: the noise never feeds back into the codes),
    each written cell off its digit by N(0, sigma²) levels, none at the extreme levels
    with ``exact_extreme_levels``."""
    from bplight.devices.memristor import code_digits

    sigma = 0.1
    spec = load_spec("bplight-16b", {"update": {"rounding": "nearest"},
                                     "memristor": {"programming_noise": sigma,
                                                   "exact_extreme_levels": exact_extremes}})
    _, wa = _run_writer(spec, True, monkeypatch, steps=6)
    _, wb = _run_writer(spec, False, monkeypatch, steps=6)
    assert wa._fused()
    assert wa.step_writes == wb.step_writes
    assert torch.equal(wa.codes, wb.codes) and torch.equal(wa._counts, wb._counts)
    digits = code_digits(wa.codes, wa.bits, wa.cell_bits).to(wa.levels.dtype)
    off = wa.levels - digits
    written = wa._counts > 0
    assert torch.equal(off != 0, (wb.levels - digits) != 0)  # the same cells off their digit
    assert bool((off[~written] == 0).all())  # never written: exactly at the digit
    top = 2**wa.cell_bits - 1
    extreme = written & ((digits == 0) | (digits == top))
    if exact_extremes:
        assert bool((off[extreme] == 0).all())
    noisy = off[written & ~extreme] if exact_extremes else off[written]
    assert noisy.numel() > 300
    assert float(noisy.std()) == pytest.approx(sigma, rel=0.15)
    assert abs(float(noisy.mean())) < 4 * sigma / math.sqrt(noisy.numel())


def test_compiled_stochastic_rounding_is_unbiased_and_seeded():
    spec = load_spec("bplight-16b", {"memristor": {"programming_noise": 0.0}})
    assert spec.update.rounding == "stochastic"
    codes = []
    for _ in range(2):
        torch.manual_seed(0)
        model = convert(torch.nn.Linear(128, 64), spec)
        writer = MemristorWriter(model, spec)
        start = writer.codes.clone()
        eps = float(model.w_range) / (2 ** (spec.update.weight_bits - 1) - 1)
        with torch.no_grad():
            model.weight += 0.3 * eps  # 0.3 of a grid step: up with probability 0.3
        writer.step()
        codes.append(writer.codes.clone())
        moved = (writer.codes - start).double()
    assert torch.equal(codes[0], codes[1])  # the writer's generator decides the draw
    assert set(moved.unique().tolist()) <= {0.0, 1.0}
    n = moved.numel()
    assert float(moved.mean()) == pytest.approx(0.3, abs=4 * math.sqrt(0.21 / n))


def test_compiled_write_in_tasks_does_not_depend_on_the_thread_count(monkeypatch):
    """Pieces of 40 weights (several per layer, taken by two threads as each finishes):
    the same codes, cells, counts and weights with one torch thread and with two."""
    monkeypatch.setattr(kernels, "WRITE_TASK_WEIGHTS", 40)
    spec = load_spec("bplight-16b")  # stochastic rounding, programming noise
    runs = []
    threads = torch.get_num_threads()
    try:
        for n in (1, 2):
            torch.set_num_threads(n)
            runs.append(_run_writer(spec, True, monkeypatch, steps=3))
    finally:
        torch.set_num_threads(threads)
    (a, wa), (b, wb) = runs
    assert len(wa._pieces()) > 4 and wa.step_writes[0] > 0
    assert wa.step_writes == wb.step_writes
    for x, y in ((wa.codes, wb.codes), (wa.levels, wb.levels), (wa._counts, wb._counts)):
        assert torch.equal(x, y)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)


def test_top_slice_histogram_of_edge_codes():
    """Zero and non-finite values: slot 0; codes beyond 64 bits: the top slice; others by
    their leading slice (2-bit slices, 4 of them: codes 1-3 slice 0, 4-15 slice 1, 16-63
    slice 2, 64 and beyond slice 3)."""
    x = np.array([0.0, np.inf, -np.inf, np.nan, 1.0, -3.0, 3.4, 4.0, 15.0, 16.0, 255.0,
                  256.0, 1e5, 1e30], dtype=np.float64)
    hist = kernels.top_slice_histogram(x, 1, x.size, 1.0, 1, 2, 4)  # codes = rint(|x|)
    assert hist.tolist() == [4, 3, 2, 1, 4]


def test_held_weights_of_some_rows_equal_those_of_all_bit_for_bit():
    g = torch.Generator().manual_seed(0)
    levels = torch.rand(5000, 8, generator=g) * 15
    w_range = torch.rand(5000, generator=g) + 0.5
    rows = torch.randperm(5000, generator=g)[:700].sort().values
    whole = held_weights(levels, w_range, 16, 4)
    assert torch.equal(held_weights(levels[rows], w_range[rows], 16, 4), whole[rows])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("folded", [False, True])
def test_compiled_placement_over_several_blocks(monkeypatch, dtype, folded):
    """Blocks of 1,000 elements (a partial last one), two halves: every block gets its
    share of wrong reads, pixels in proportion to their fold counts, and the result does
    not depend on the thread count."""
    monkeypatch.setattr(kernels, "BLOCK_ELEMS", 1000)
    monkeypatch.setattr(engine, "SPLIT_MIN_READS", 1)
    errs = engine.ReadErrors(0.0, 0.8, np.array([1.0, 4.0]), np.array([0.75, 0.25]))
    shape = (53, 37, 4, 4)  # 31,376 elements: 32 blocks (the last of 376 or 368)
    gain = torch.tensor([1.0, 3.0] * 8).reshape(1, 1, 4, 4) if folded else None
    slots = 5.0 if folded else 1.0
    out = placed_with_thread_counts(shape, dtype, errs, gain)
    assert torch.equal(out[0], out[1])
    y = out[0].reshape(-1)
    var = slots * errs.var
    assert float(y.var()) == pytest.approx(var, rel=0.05)
    # the first and the last (partial) blocks see the same rate of wrong reads
    head, tail = y[:1000], y[-368:]
    assert float(head.var()) == pytest.approx(var, rel=0.25)
    assert float(tail.var()) == pytest.approx(var, rel=0.35)
    if folded:
        px = y.reshape(-1, 16)
        assert float(px[:, 1::2].var() / px[:, ::2].var()) == pytest.approx(9.0, rel=0.1)
    else:  # an element sums to 0 where its ±1 reads cancel and its ±4 reads do (Skellam:
        # P(0) = e^-2mu I0(2 mu) for Poisson(mu) reads of each sign; other ways: < 1e-3)
        zero = i0e(2 * 0.8 * 0.75 / 2) * i0e(2 * 0.8 * 0.25 / 2)
        assert float((y == 0).double().mean()) == pytest.approx(zero, abs=0.015)


def test_placement_without_the_kernel_has_the_same_distribution(monkeypatch):
    errs = engine.ReadErrors(0.0, 0.5, np.array([1.0, 4.0]), np.array([0.75, 0.25]))
    var = []
    for compiled in (True, False):
        monkeypatch.setattr(kernels, "AVAILABLE", compiled)
        y = torch.zeros(200, 300, dtype=torch.float64)
        engine.add_sparse_errors_(y, errs, torch.Generator().manual_seed(1))
        var.append(float(y.var()))
    assert var[0] == pytest.approx(errs.var, rel=0.05)
    assert var[1] == pytest.approx(errs.var, rel=0.05)


@pytest.mark.parametrize("sigma", [0.05, 0.13, 0.3, 0.6, 1.5])  # sparse, mixed, Gaussian
def test_compiled_read_error_table_equals_the_numpy_one(monkeypatch, sigma):
    """:func:`engine._discrete_read_errors` (16 x 16 pass classes, reads of different
    spreads) with the compiled sums and with numpy's: the same table of wrong reads and
    Gaussian part, to rounding."""
    g = np.random.default_rng(int(sigma * 100))
    s_read = sigma * (0.5 + g.random((16, 16)))
    weight, _ = engine._pass_weights(16, 16, 1, 1)
    out = []
    for compiled in (True, False):
        monkeypatch.setattr(kernels, "AVAILABLE", compiled)
        out.append(engine._discrete_read_errors(s_read, weight, 25))
    a, b = out
    assert a.std == pytest.approx(b.std, rel=1e-9, abs=1e-300)
    assert a.rate == pytest.approx(b.rate, rel=1e-9)
    if b.rate:
        np.testing.assert_allclose(a.values, b.values, rtol=1e-12)
        np.testing.assert_allclose(a.probs, b.probs, rtol=1e-9)
    assert a.var == pytest.approx(b.var, rel=1e-9)


def test_tasks_on_the_openmp_team_equal_those_on_python_threads(monkeypatch):
    """Where PyTorch's OpenMP runtime is found, the placement and the writer's pieces run
    on its threads (``GOMP_parallel`` and a compiled callback) and give, bit for bit, what
    the same tasks give on Python threads."""
    if kernels.openmp_runtime() is None:
        pytest.skip("no OpenMP runtime of PyTorch found (not Linux, or BPLIGHT_OMP_TEAM=0)")
    if torch.get_num_threads() < 2:
        pytest.skip("torch runs one thread")
    ran: list[bool] = []
    on_team = kernels._on_team
    monkeypatch.setattr(kernels, "_on_team", lambda *a: ran.append(on_team(*a)) or ran[-1])
    monkeypatch.setattr(kernels, "BLOCK_ELEMS", 1000)
    monkeypatch.setattr(engine, "SPLIT_MIN_READS", 1)
    monkeypatch.setattr(kernels, "WRITE_TASK_WEIGHTS", 40)
    errs = engine.ReadErrors(0.0, 0.8, np.array([1.0, 4.0]), np.array([0.75, 0.25]))
    gain = torch.tensor([1.0, 3.0] * 8).reshape(1, 1, 4, 4)
    spec = load_spec("bplight-16b")
    out = []
    for team in (True, False):
        with monkeypatch.context() as mp:
            if not team:
                mp.setattr(kernels, "openmp_runtime", lambda: None)
            placed = [engine.add_sparse_errors_(torch.zeros(53, 37, 4, 4, dtype=dt), errs,
                                                torch.Generator().manual_seed(3), g)
                      for dt in (torch.float32, torch.float64) for g in (None, gain)]
            out.append((placed, _run_writer(spec, True, monkeypatch, steps=3)))
    assert ran and all(ran)  # (the team ran every time it was asked)
    (pa, (ma, wa)), (pb, (mb, wb)) = out
    for x, y in zip(pa, pb, strict=True):
        assert torch.equal(x, y)
    assert wa.step_writes == wb.step_writes and wa.step_writes[0] > 0
    for x, y in ((wa.codes, wb.codes), (wa.levels, wb.levels), (wa._counts, wb._counts)):
        assert torch.equal(x, y)
    for x, y in zip(ma.parameters(), mb.parameters(), strict=True):
        assert torch.equal(x, y)
