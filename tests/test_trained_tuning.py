"""Ring tuning power charged from a run's trained weights (issue 9): the slice-digit
histogram of the weights a hand-made checkpoint holds, the cost engine's tuning charge
over it, and ``bplight estimate --from-run`` naming the distribution it used."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from bplight.cli import main
from bplight.config import dump_spec, load_spec
from bplight.cost import estimate
from bplight.cost.design import architecture_for
from bplight.photonics.tuning import chip_weights, ring_tuning, trained_digit_distribution
from bplight.workload import Workload

TWO_BIT = ["photonics.ring_model=add_drop", "forward.weight_bits=5", "forward.ring_bits=2",
           "link.enforce_limits=false"]
"""5-bit forward weights (4 magnitude bits, codes -15 .. 15) on 2-bit rings (digits
-3 .. 3, two slices per weight); the add-drop reference chip is costed as built (its
link budget does not close: tests/test_ring_tuning.py)."""

# Hand count. conv: [1.5, -0.6, 0] / 1.5 * 15 -> codes 15, -6, 0 -> base-4 digits
# (low, high) (3, 3), (-2, -1), (0, 0); fc: [-0.3, 0.1] / 0.3 * 15 -> codes -15, 5 ->
# (-3, -3), (1, 1). Digits -3 .. 3: 2, 1, 1, 2, 2, 0, 2 of 10.
HAND_P = np.array([2, 1, 1, 2, 2, 0, 2]) / 10.0


def _state() -> dict[str, torch.Tensor]:
    """A converted model's state dict, by hand: two photonic layers (each with its
    ``w_range`` buffer) and a digital BatchNorm whose weight the rings do not hold."""
    return {
        "conv.weight": torch.tensor([1.5, -0.6, 0.0]).reshape(1, 1, 1, 3),
        "conv.bias": torch.tensor([7.0]),
        "conv.w_range": torch.tensor(1.5),
        "bn.weight": torch.tensor([9.0, -9.0]),
        "bn.bias": torch.tensor([0.0, 0.0]),
        "fc.weight": torch.tensor([[-0.3, 0.1]]),
        "fc.w_range": torch.tensor(0.3),
    }


def test_trained_digits_of_a_hand_made_checkpoint_equal_the_hand_count() -> None:
    spec = load_spec("bplight-16b", TWO_BIT)
    weights = chip_weights(_state())
    assert list(weights) == ["conv", "fc"]  # not the BatchNorm weight, not the biases
    p = trained_digit_distribution(spec, weights.values())
    np.testing.assert_allclose(p, HAND_P, rtol=0, atol=1e-15)


def test_estimate_charges_the_tuning_of_the_given_digits() -> None:
    spec = load_spec("bplight-16b", TWO_BIT)
    wl = Workload.from_name("lenet5", (1, 32, 32))
    stated, trained = estimate(wl, spec), estimate(wl, spec, ring_digits=HAND_P)
    rings = architecture_for(spec).weight_rings
    t_hand, t_stated = ring_tuning(spec, HAND_P), ring_tuning(spec)
    assert t_hand.heater_power_w != pytest.approx(t_stated.heater_power_w)
    # the heaters' static power differs by exactly the rings' hold power difference
    diff = trained.static_power_by_component_w["ring_thermal"] \
        - stated.static_power_by_component_w["ring_thermal"]
    assert diff == pytest.approx(rings * (t_hand.hold_power_w - t_stated.hold_power_w),
                                 rel=1e-9)
    # the default is the stated distribution, given or not
    from bplight.photonics.crosstalk import digit_distribution

    again = estimate(wl, spec, ring_digits=digit_distribution(3))
    assert again.energy_j == pytest.approx(stated.energy_j, rel=1e-12)
    assert any("given (trained)" in a for a in trained.assumptions)
    assert any("stated slice-digit" in a for a in stated.assumptions)


def test_digits_change_nothing_under_ideal_rings_and_bad_ones_are_refused() -> None:
    wl = Workload.from_name("lenet5", (1, 32, 32))
    ideal = load_spec("bplight-16b", ["forward.weight_bits=5", "forward.ring_bits=2",
                                      "link.enforce_limits=false"])
    base, given = estimate(wl, ideal), estimate(wl, ideal, ring_digits=HAND_P)
    assert given.energy_j == base.energy_j and given.latency_s == base.latency_s
    assert any("is not used" in a for a in given.assumptions)
    spec = load_spec("bplight-16b", TWO_BIT)
    with pytest.raises(ValueError, match="7 entries"):
        estimate(wl, spec, ring_digits=np.array([0.5, 0.5]))
    with pytest.raises(ValueError, match="summing to 1"):
        estimate(wl, spec, ring_digits=HAND_P * 2)


# ---- bplight estimate --from-run ----

def _run_dir(tmp_path, overrides: list[str], checkpoint: bytes | dict | None):
    run = tmp_path / "run"
    run.mkdir()
    spec = load_spec("bplight-16b", [*overrides, "update.write_policy=changed"])
    (run / "config.yaml").write_text(dump_spec(spec))
    (run / "summary.json").write_text(json.dumps({
        "test_accuracy": 0.5, "hardware": spec.name, "mode": spec.mode,
        "memristor": {"cell_writes": 30, "cells": 120, "steps": 2, "write_fraction": 0.125}}))
    if isinstance(checkpoint, bytes):
        (run / "checkpoint-hardware.pt").write_bytes(checkpoint)
    elif checkpoint is not None:
        torch.save(checkpoint, run / "checkpoint-hardware.pt")
    return run, spec


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["estimate", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_from_run_charges_the_trained_digits_and_says_so(capsys, tmp_path) -> None:
    run, spec = _run_dir(tmp_path, TWO_BIT, {"model": _state(), "epoch": 1})
    code, out, err = _cli(capsys, "--from-run", str(run), "--json")
    assert code == 0, err
    row = [ln for ln in out.splitlines() if ln.startswith("ring tuning digits")]
    assert len(row) == 1 and row[0].endswith(f"trained weights of {run}")
    got = json.loads(out.strip().splitlines()[-1])
    assert got["ring_digits"]["layers"] == ["conv", "fc"]
    np.testing.assert_allclose(got["ring_digits"]["p"], HAND_P, atol=1e-15)
    want = estimate(Workload.from_name("lenet5", (1, 32, 32)), spec, write_fraction=0.125,
                    ring_digits=HAND_P)
    assert got["energy_j"] == pytest.approx(want.energy_j, rel=1e-12)
    assert got["static_power_by_component_w"]["ring_thermal"] == pytest.approx(
        want.static_power_by_component_w["ring_thermal"], rel=1e-12)


def test_from_run_without_weights_keeps_the_stated_digits(capsys, tmp_path) -> None:
    run, spec = _run_dir(tmp_path, TWO_BIT, None)
    code, out, err = _cli(capsys, "--from-run", str(run), "--json")
    assert code == 0, err
    got = json.loads(out.strip().splitlines()[-1])
    assert got["ring_digits"]["p"] is None
    assert "holds no checkpoint-hardware.pt" in got["ring_digits"]["source"]
    want = estimate(Workload.from_name("lenet5", (1, 32, 32)), spec, write_fraction=0.125)
    assert got["energy_j"] == pytest.approx(want.energy_j, rel=1e-12)


def test_from_run_under_ideal_rings_skips_the_checkpoint(capsys, tmp_path) -> None:
    # a damaged checkpoint: ideal rings never read it, add-drop rings refuse it
    run, _ = _run_dir(tmp_path, ["link.enforce_limits=false"], b"not a checkpoint")
    code, out, err = _cli(capsys, "--from-run", str(run))
    assert code == 0, err
    assert "ring_model 'ideal' holds every ring at a flat power" in out
    code, out, err = _cli(capsys, "--from-run", str(run), "--set",
                          "photonics.ring_model=add_drop")
    assert code == 2 and "checkpoint-hardware.pt cannot be read" in err
    assert err.count("\n") == 1 and "Traceback" not in err
