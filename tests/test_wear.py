"""Memristor wear: per-cell write counts, histogram, lifetime against the endurance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from bplight.config import load_spec
from bplight.errors import InputError
from bplight.experiments.wear import (
    count_histogram,
    read_wear,
    wear_from_counts,
    wear_lines,
    wear_record,
)
from bplight.numerics import MemristorWriter, convert


def test_histogram_power_of_two_bins():
    h = count_histogram(torch.tensor([0, 0, 1, 2, 3, 4, 7, 8]))
    assert h == {"edges": [0, 1, 2, 4, 8, 16], "counts": [2, 1, 2, 2, 1]}
    assert count_histogram(torch.zeros(5, dtype=torch.int32)) == {"edges": [0, 1],
                                                                  "counts": [5]}
    assert count_histogram(torch.tensor([1, 1])) == {"edges": [0, 1, 2], "counts": [0, 2]}


def _tiny(policy: str):
    spec = load_spec("bplight-16b", ["update.weight_bits=8", "update.range_headroom=1",
                                     "update.rounding=nearest", "memristor.programming_noise=0",
                                     "memristor.endurance_cycles=1000",
                                     f"update.write_policy={policy}"])
    layer = convert(torch.nn.Linear(2, 1, bias=False), spec)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, -0.25]]))  # codes 127 and -32 (M = 127)
    return spec, layer, MemristorWriter(layer, spec)


@pytest.mark.parametrize("policy", ["changed", "all"])
def test_wear_matches_a_hand_count(policy: str):
    # 8-bit weights in 2 x 4-bit cells per side, 8 cells in all. Three updates:
    # -32 -> +32 writes (+)digit1 and (-)digit1; 32 -> 51 writes (+)digit0 and (+)digit1;
    # 51 -> 51 writes nothing. Per cell under 'changed': (+)d0 1, (+)d1 2, (-)d1 1, others 0.
    spec, layer, writer = _tiny(policy)
    for w in ([1.0, 0.25], [1.0, 0.4], [1.0, 0.4]):
        with torch.no_grad():
            layer.weight.copy_(torch.tensor([w]))
        writer.step()
    wear = wear_record(writer, spec, epochs=1, source="test source")
    if policy == "changed":
        assert wear["cell_writes"] == 4 and wear["max_writes_per_cell"] == 2
        assert wear["mean_writes_per_cell"] == pytest.approx(4 / 8)
        assert wear["histogram"] == {"edges": [0, 1, 2, 4], "counts": [5, 2, 1]}
        assert wear["lifetime_runs"] == pytest.approx(1000 / 2)
        assert wear["lifetime_runs_mean"] == pytest.approx(1000 / 0.5)
        assert wear["policy_gain"] == pytest.approx((1000 / 2) / (1000 / 3))
    else:
        assert wear["cell_writes"] == 24 and wear["max_writes_per_cell"] == 3
        assert wear["histogram"] == {"edges": [0, 1, 2, 4], "counts": [0, 0, 8]}
        assert wear["lifetime_runs"] == pytest.approx(1000 / 3)
        assert wear["policy_gain"] == pytest.approx(1.0)
    assert wear["lifetime_runs_if_all"] == pytest.approx(1000 / 3)
    assert wear["steps"] == 3 and wear["cells"] == 8
    assert wear["endurance_cycles"] == 1000 and wear["endurance_source"] == "test source"
    text = "\n".join(wear_lines(wear))
    assert "endurance 1e+03 writes (test source)" in text
    assert f"per cell max {wear['max_writes_per_cell']}," in text


def test_nothing_written_is_unlimited_not_a_division_by_zero():
    w = wear_from_counts(torch.zeros(4, dtype=torch.int32), steps=0, epochs=0,
                         endurance=1e6, source="s", policy="changed")
    assert w["lifetime_runs"] is None and w["policy_gain"] is None
    assert "unlimited" in wear_lines(w)[2]


def test_endurance_source_is_the_preset_comment():
    spec, layer, writer = _tiny("changed")
    wear = wear_record(writer, load_spec("bplight-16b"), epochs=0)
    assert "Huang" in wear["endurance_source"]


def test_read_wear(tmp_path: Path):
    with pytest.raises(InputError, match="no summary.json"):
        read_wear(tmp_path)
    (tmp_path / "summary.json").write_text(json.dumps({"memristor": {"cells": 1}}))
    with pytest.raises(InputError, match="no memristor wear record"):
        read_wear(tmp_path)
    (tmp_path / "summary.json").write_text(json.dumps({"memristor": {"wear": {"cells": 3}}}))
    assert read_wear(tmp_path) == {"cells": 3}
