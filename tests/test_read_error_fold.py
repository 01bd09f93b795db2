"""The hybrid read-error draw of fast mode (:func:`bplight.numerics.engine.fold_frequent`):
where the outputs see many discrete wrong reads (intermediate read error rates), the
frequent small ones are drawn as Gaussian of the same mean and variance, the rare large
ones stay discrete, and the work of a step stays bounded."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.special import ive

from bplight.numerics import engine


def _ladder(rate_scale: float, signed: bool = False) -> engine.ReadErrors:
    """A table like a 16-bit product's: amplitudes 2^s, s = 0 .. 29, rates rising then
    falling with the number of (input, weight) slice pairs of that significance."""
    s = np.arange(30)
    lam = rate_scale * np.minimum(s + 1, 30 - s).astype(float)
    v = 2.0**s * (np.where(s % 3 == 0, -1.0, 1.0) if signed else 1.0)
    return engine.ReadErrors(0.5, float(lam.sum()), v, lam / lam.sum(), 0.25, signed)


@pytest.mark.parametrize("signed", [False, True])
def test_fold_keeps_mean_and_variance_exactly_and_bounds_the_discrete_rate(signed):
    errs = _ladder(0.3, signed)  # 72 wrong reads per output (LeNet-5 C1 at SNR 35 dB)
    folded = engine.fold_frequent(errs)
    assert folded.var == pytest.approx(errs.var, rel=1e-12)
    assert folded.bias == pytest.approx(errs.bias, rel=1e-12)
    assert folded.rate <= engine.FOLD_KEEP_RATE
    assert folded.std > errs.std
    # the kept classes are the largest amplitudes, with their own rates
    kept = np.sort(np.abs(folded.values))
    top = np.sort(np.abs(errs.values))[-kept.size:]
    assert kept.tolist() == top.tolist()
    lam = errs.rate * errs.probs
    for v, p in zip(folded.values, folded.probs, strict=True):
        assert folded.rate * p == pytest.approx(lam[errs.values == v].sum(), rel=1e-12)


def test_below_the_threshold_every_wrong_read_stays_discrete():
    errs = _ladder(0.3 * (engine.FOLD_MIN_RATE - 0.01) / 72.0)
    assert errs.rate < engine.FOLD_MIN_RATE
    assert engine.fold_frequent(errs) is errs


def test_a_frequent_class_is_folded_even_alone():
    errs = engine.ReadErrors(0.0, 9.0, np.array([1.0]), np.array([1.0]))
    folded = engine.fold_frequent(errs)
    assert folded.rate == 0.0 and folded.std == pytest.approx(3.0)


def test_fold_keeps_the_heavy_tail():
    """One rare class 1000x larger than the rest: the share of outputs it moves (a net
    number of its wrong reads != 0: Skellam, 1 - e^-λ I0(λ) = 2 %) is kept; a Gaussian of
    the same variance would put 0.04 % of the outputs beyond half its amplitude."""
    small = np.full(20, 1.0)
    lam_small = np.full(20, 0.5)  # 10 small wrong reads per output: folded
    lam_big = 0.02
    v = np.append(small, 1000.0)
    lam = np.append(lam_small, lam_big)
    errs = engine.ReadErrors(0.0, float(lam.sum()), v, lam / lam.sum())
    folded = engine.fold_frequent(errs)
    assert folded.values[0] == 1000.0 and folded.rate < errs.rate / 2
    y = torch.zeros(2_000_000, dtype=torch.float64)
    engine.add_read_errors_(y, folded, torch.Generator().manual_seed(0))
    hit = float((y.abs() > 500.0).double().mean())
    expected = 1.0 - float(ive(0, lam_big))  # P(N+ != N-), N± ~ Poisson(λ/2)
    assert hit == pytest.approx(expected, abs=5 * math.sqrt(expected / y.numel()))
    gauss = math.erfc(500.0 / math.sqrt(2 * errs.var))
    assert gauss < expected / 20
    assert float(y.var()) == pytest.approx(errs.var, rel=0.05)


def test_step_at_snr_35_is_bounded_in_wrong_reads(monkeypatch):
    """A LeNet-5 step at laser.target_snr_db=35 (the slow case: 20-450 discrete wrong
    reads per output unfolded) draws at most FOLD_MIN_RATE per output slot."""
    import bplight.numerics.context as context
    from bplight.config import load_spec
    from bplight.models import build_model
    from bplight.numerics import convert

    drawn = {"reads": 0.0, "slots": 0.0}
    original = context.add_sparse_errors_

    def counting(y, errs, generator, gain=None):
        folds = 1.0 if gain is None else float(gain.square().mean())
        drawn["slots"] += y.numel() * folds
        drawn["reads"] += errs.rate * y.numel() * folds
        return original(y, errs, generator, gain)

    monkeypatch.setattr(context, "add_sparse_errors_", counting)
    torch.manual_seed(0)
    x = torch.randn(8, 1, 28, 28)
    model = convert(build_model("lenet5", 1, 10, 28),
                    load_spec("bplight-16b", ["laser.target_snr_db=35"]), seed=0)

    def step() -> float:
        drawn.update(reads=0.0, slots=0.0)
        model(x).square().sum().backward()
        return drawn["reads"]

    reads = step()
    assert 0 < reads <= engine.FOLD_MIN_RATE * drawn["slots"]
    monkeypatch.setattr(engine, "FOLD_MIN_RATE", math.inf)  # the unfolded draw
    assert step() > 5 * reads


def test_clustered_rates_keep_their_table_scaled_to_the_kept_rate():
    """Under the add-drop ring model an element's rate of wrong reads is drawn from a
    table (errors cluster): the kept classes keep it, scaled to their share."""
    base = _ladder(0.3, signed=True)
    table = np.random.default_rng(0).gamma(0.5, 2 * base.rate, size=4096)
    table *= base.rate / table.mean()
    errs = engine.ReadErrors(base.std, base.rate, base.values, base.probs, base.mean,
                             True, table)
    folded = engine.fold_frequent(errs)
    assert folded.rate_table is not None
    assert float(folded.rate_table.mean()) == pytest.approx(folded.rate, rel=1e-12)
    assert np.allclose(folded.rate_table / table, folded.rate / errs.rate)
    assert folded.var == pytest.approx(errs.var, rel=1e-12)
    assert folded.bias == pytest.approx(errs.bias, rel=1e-12)
