"""The link budget accounts for the ring model (issue 9): under ``ring_model: add_drop``
the exact-reads rule leaves detector noise only half a step less the crosstalk leak of a
full read (mean + 3 std), and the weight ring's loss is the scaled encoding's gain; the
``ideal`` model's budget is as before."""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest

from bplight.config import load_spec
from bplight.photonics.crosstalk import weight_gain_db
from bplight.photonics.link_budget import link_budget, path_loss_db
from bplight.photonics.scaling import read_leak_units

ADD_DROP = ["photonics.ring_model=add_drop"]


def test_ideal_budget_unchanged() -> None:
    spec = load_spec("bplight-16b")
    z = NormalDist().inv_cdf(1 - spec.laser.read_error_rate / 2)
    lb = link_budget(spec)
    assert lb.target_snr_db == pytest.approx(20 * math.log10(16 / (0.5 / z)))
    assert read_leak_units(spec) == 0.0


def test_leak_narrows_the_read_margin() -> None:
    spec = load_spec("bplight-16b", [*ADD_DROP, "photonics.wavelengths_per_bank=8"])
    z = NormalDist().inv_cdf(1 - spec.laser.read_error_rate / 2)
    leak = read_leak_units(spec)
    assert 0 < leak < 0.5
    lb = link_budget(spec)
    assert lb.target_snr_db == pytest.approx(20 * math.log10(8 / ((0.5 - leak) / z)))
    ideal = load_spec("bplight-16b", ["photonics.wavelengths_per_bank=8"])
    assert path_loss_db(spec) - path_loss_db(ideal) == pytest.approx(
        weight_gain_db(spec) - ideal.link.weight_ring_db)


def test_leak_beyond_half_a_step_is_infeasible() -> None:
    spec = load_spec("bplight-16b", ADD_DROP)  # 16 carriers: mean + 3 std leak 0.70
    lb = link_budget(spec)
    assert not lb.feasible and "crosstalk leak" in lb.reason
