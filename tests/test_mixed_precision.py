"""Mixed-precision updates (update.scheme: mixed_precision): the chi accumulator worked by
hand, and what the cost engine charges for it."""

from __future__ import annotations

import pytest
import torch

from bplight.config import load_spec
from bplight.numerics import MemristorWriter, convert

# 8-bit weights (M = 127, grid step eps = 1/127 with range 1) in 4-bit cells (2 per side);
# 10-bit chi: f = 2 fractional bits, 4 LSBs per grid step.
BASE = ["update.weight_bits=8", "update.range_headroom=1", "memristor.programming_noise=0",
        "update.scheme=mixed_precision", "update.accumulator_bits=10"]
EPS = 1.0 / 127


def _writer(*extra: str):
    spec = load_spec("bplight-16b", [*BASE, *extra])
    layer = convert(torch.nn.Linear(2, 1, bias=False), spec)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, -0.25]]))  # codes 127 and -32
    return spec, layer, MemristorWriter(layer, spec)


def _run(layer, writer, increments):
    """Ask for held + increment (in grid steps) at each batch, as the optimizer would."""
    for inc in increments:
        with torch.no_grad():
            layer.weight.add_(torch.tensor([inc]) * EPS)
        writer.step()


# weight 0 sits at the top code and asks +0.5 step every batch (saturated: never moves);
# weight 1 (code -32) asks +0.5, +0.5, +0.25, +0.75, -1.5 steps:
# chi (LSBs) 2, 4 -> move 1 (code -31, chi 0), 1, 4 -> move 1 (-30, chi 0), -6 -> move -1
# (-31, chi -2). Cells: -32 = (-)[0, 2], -31 = (-)[15, 1], -30 = (-)[14, 1]: writes 2, 1, 1.
INCS = [[0.5, 0.5], [0.5, 0.5], [0.5, 0.25], [0.5, 0.75], [0.5, -1.5]]


def test_chi_moves_whole_steps_and_keeps_the_remainder():
    _, layer, writer = _writer()
    _run(layer, writer, INCS)
    assert writer.codes.tolist() == [127, -31]
    # weight 0: 2 LSBs a batch, clipped at the top code, kept below one step (3 LSBs)
    assert writer.mixed.chi.tolist() == [3, -2]
    assert writer.step_writes == [0, 2, 0, 1, 1]
    assert writer.write_record() == {"cell_writes": 4, "cells": 8, "steps": 5,
                                     "write_fraction": 4 / 40}
    counts = writer.write_counts()["Linear"]  # [out, in, side (+, -), digit]
    assert counts.tolist() == [[[[0, 0], [0, 0]], [[0, 0], [3, 1]]]]
    torch.testing.assert_close(layer.weight.detach(), torch.tensor([[1.0, -31 / 127]]))
    torch.testing.assert_close(writer.mixed.residual(),
                               torch.tensor([0.75 * EPS, -0.5 * EPS], dtype=torch.float64))


def test_periodic_transfer_writes_only_every_nth_batch():
    # transfers after batches 2 and 4: -32 -> -31 (chi 4 -> 0), -31 -> -30 (chi 1 + 3 -> 0);
    # batch 5 accumulates -6 LSBs and writes nothing
    _, layer, writer = _writer("update.transfer_every=2")
    _run(layer, writer, INCS)
    assert writer.step_writes == [0, 2, 0, 1, 0]
    assert writer.codes.tolist() == [127, -30]
    assert writer.mixed.chi.tolist() == [5, -6]  # weight 0: 3 after batch 4, + 2
    # between transfers the layer keeps the weight the cells hold, not the request
    torch.testing.assert_close(layer.weight.detach(), torch.tensor([[1.0, -30 / 127]]))


def test_nearest_transfer_moves_at_half_a_step():
    # weight 1: chi 2 -> round(2/4) = 1 step (half away from zero): -31, chi -2;
    # +2 -> 0: nothing; +1 -> 1: nothing; +3 -> 4: -30, chi 0; -6 -> round(-1.5) = -2:
    # -32, chi 2. Weight 0 saturated: nothing moves, chi held below one step (3).
    _, layer, writer = _writer("update.transfer_rounding=nearest")
    _run(layer, writer, INCS)
    assert writer.codes.tolist() == [127, -32]
    assert writer.mixed.chi.tolist() == [3, 2]
    # -32 -> -31: 2 cells; -31 -> -30: 1 cell; -30 = (-)[14, 1] -> -32 = (-)[0, 2]: 2 cells
    assert writer.step_writes == [2, 0, 0, 1, 2]


def test_direct_rounding_writes_more_for_the_same_requests():
    spec = load_spec("bplight-16b", [*BASE[:3], "update.rounding=nearest"])
    layer = convert(torch.nn.Linear(2, 1, bias=False), spec)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, -0.25]]))
    writer = MemristorWriter(layer, spec)
    assert getattr(writer, "mixed", None) is None
    _run(layer, writer, INCS)
    # nearest rounding of held + request: -31.5 -> -32 (half to even), -31.5 -> -32,
    # -31.75 -> -32, -31.25 -> -31, -32.5 -> -32: the 0.5-step requests are lost
    assert writer.codes.tolist() == [127, -32]
    assert writer.step_writes == [0, 0, 0, 2, 2]


def test_chi_survives_a_resume():
    _, layer, writer = _writer()
    _run(layer, writer, INCS[:3])
    state = writer.get_state()
    _, layer2, again = _writer()
    with torch.no_grad():
        layer2.load_state_dict(layer.state_dict())
    again.set_state(state)
    assert again.mixed.chi.tolist() == writer.mixed.chi.tolist()
    _run(layer, writer, INCS[3:])
    _run(layer2, again, INCS[3:])
    assert again.codes.tolist() == writer.codes.tolist()
    assert again.mixed.chi.tolist() == writer.mixed.chi.tolist()


def test_accumulator_must_resolve_a_grid_step():
    from bplight.errors import ConfigError

    with pytest.raises(ConfigError, match="accumulator_bits >= weight_bits"):
        load_spec("bplight-16b", ["update.scheme=mixed_precision",
                                  "update.accumulator_bits=8"])


# ---- cost: the accumulator's traffic, operations and area ----

@pytest.fixture(scope="module")
def lenet():
    from bplight.models import build_model
    from bplight.workload import Workload

    return Workload.from_model(build_model("lenet5", 1, 10, 28), (1, 28, 28), name="lenet5")


def _est(lenet, *sets: str, batch: int = 8):
    from bplight.cost import estimate

    return estimate(lenet, load_spec("bplight-16b", list(sets)), "train", batch)


def test_cost_charges_chi_reads_writes_and_checks(lenet):
    from bplight.cost.engine import LayerArrays

    weights = float(LayerArrays.from_workload(lenet).weights.sum())
    s = load_spec("bplight-16b")
    c = s.components
    direct = _est(lenet)
    mixed = _est(lenet, "update.scheme=mixed_precision", "update.transfer_every=4")
    # chi in DRAM: 2 x 32 bits per weight per batch
    extra_dram = mixed.energy_by_component_j["dram"] - direct.energy_by_component_j["dram"]
    assert extra_dram == pytest.approx(weights * 64 * c.dram_energy_per_bit_j, rel=1e-9)
    assert mixed.counts["dram_bits"] - direct.counts["dram_bits"] == pytest.approx(weights * 64)
    # one compare-and-subtract per weight per transfer (1 in 4 batches); the static energy
    # moves with the latency, so compare the update rows' dynamic digital energy
    def upd_digital(r):
        return sum(p.energy_by_component_j["digital"] for p in r.phases
                   if p.phase == "update")
    dyn = weights / 4 * c.update_energy_per_weight_j
    assert upd_digital(mixed) - upd_digital(direct) == pytest.approx(dyn, rel=1e-6)
    assert mixed.area_mm2 == pytest.approx(direct.area_mm2)
    assert any("Nandakumar2020" in a for a in mixed.assumptions)


def test_on_chip_chi_is_charged_in_edram_energy_and_area(lenet):
    from bplight.cost.architecture import Architecture  # noqa: F401  (documentation)
    from bplight.cost.engine import LayerArrays, architecture_for, components_for
    from bplight.mapping import cells_per_weight

    s = load_spec("bplight-16b", ["update.scheme=mixed_precision",
                                  "update.accumulator_memory=edram"])
    c = s.components
    weights = float(LayerArrays.from_workload(lenet).weights.sum())
    direct = _est(lenet)
    mixed = _est(lenet, "update.scheme=mixed_precision", "update.accumulator_memory=edram")
    extra = mixed.energy_by_component_j["edram"] - direct.energy_by_component_j["edram"]
    assert extra == pytest.approx(weights * 64 * c.edram_energy_per_bit_j, rel=1e-9)
    arch, comps = architecture_for(s), components_for(s)
    held = float(arch.memristor_capacity_cells(comps)) / float(
        cells_per_weight(s.update.weight_bits, s.memristor.cell_bits))
    area = held * 32 * c.edram_area_m2 / (c.edram_bytes_per_tile * 8) * 1e6
    assert (mixed.area_by_component_mm2["edram"] - direct.area_by_component_mm2["edram"]
            == pytest.approx(area, rel=1e-9))


def test_write_policy_all_writes_on_transfer_batches_only(lenet):
    every = _est(lenet, "update.write_policy=all")
    fourth = _est(lenet, "update.write_policy=all", "update.scheme=mixed_precision",
                  "update.transfer_every=4")
    assert fourth.counts["memristor_write_fraction"] == pytest.approx(0.25)
    assert fourth.counts["memristor_cell_writes"] == pytest.approx(
        every.counts["memristor_cell_writes"] / 4)


def test_sweep_agrees_with_estimate_on_the_scheme(lenet):
    from bplight.cost import sweep

    s = load_spec("bplight-16b")
    res = sweep(lenet, s, "train", 8, {"update.scheme": ["direct", "mixed_precision"]})
    one = _est(lenet, "update.scheme=mixed_precision")
    assert float(res.energy_j[1]) == pytest.approx(one.energy_j, rel=1e-9)
    assert float(res.energy_j[0]) == pytest.approx(_est(lenet).energy_j, rel=1e-9)


def test_wear_record_shows_the_scheme_and_its_fewer_writes():
    from bplight.experiments.wear import wear_lines, wear_record

    spec, layer, writer = _writer()
    _run(layer, writer, INCS)
    wear = wear_record(writer, spec, epochs=1, source="s")
    assert wear["update_scheme"] == "mixed_precision" and wear["transfer_every"] == 1
    # (-)digit0 of weight 1 written 3 times, (-)digit1 once (hand count above)
    assert wear["cell_writes"] == 4 and wear["max_writes_per_cell"] == 3
    assert "mixed-precision updates, changed writes, 5 updates" in wear_lines(wear)[0]
