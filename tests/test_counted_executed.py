"""Counted = executed: what the numerical engine runs in a few training steps of a small
CNN (exact and fast modes) equals what the cost engine charges for the same steps.

The numerics count from what they run (exact mode: the entries of every batched pass
product, the slices modulated and set; fast mode: the operands issued) and the memristor
writer counts the cells it re-programs; the cost engine counts from the Workload's GEMMs
and the spec. Sign passes follow the operand in both modes (a product whose input has no
negative entry runs one pass); the cost engine charges the sign the workload's trace saw,
which is the operands' here: a normalised (signed) image into the first layer,
post-ReLU (unsigned) activations into the others, signed errors.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from bplight.config import load_spec
from bplight.cost.engine import estimate
from bplight.mapping import plan
from bplight.numerics import MemristorWriter, convert
from bplight.workload import Workload

# one core of many banks: the input is not broadcast to several cores nor the weights
# replicated on idle ones, so the cost engine's DAC and ring counts are per product, as
# the numerics (which model no cores) execute them
ONE_CORE = ["architecture.tiles=1", "architecture.cores_per_tile=1",
            "architecture.banks_per_core=1024"]
STEPS, BATCH, SIZE = 2, 4, 10


def _cnn(groups: int) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, groups=groups), nn.ReLU(), nn.Flatten(), nn.Linear(54, 5))


def _train(model: nn.Module, writer: MemristorWriter) -> None:
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    gen = torch.Generator().manual_seed(0)
    for _ in range(STEPS):
        x = torch.randn(BATCH, 1, SIZE, SIZE, generator=gen)  # a normalised image: signed
        y = torch.randint(0, 5, (BATCH,), generator=gen)
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
        writer.step()


@pytest.mark.parametrize("groups", [1, 2])
@pytest.mark.parametrize("policy", ["changed", "all"])
@pytest.mark.parametrize("mode", ["exact", "fast"])
def test_training_steps_execute_what_the_cost_engine_charges(mode: str, policy: str,
                                                             groups: int) -> None:
    spec = load_spec("bplight-16b", [f"mode={mode}", f"update.write_policy={policy}",
                                     *ONE_CORE])
    base = _cnn(groups)
    work = Workload.from_model(base, (1, SIZE, SIZE))
    model = convert(base, spec)
    writer = MemristorWriter(model, spec)
    hw = model.bplight_hw
    hw.counting = True
    _train(model, writer)
    rec = writer.write_record()
    report = estimate(work, spec, "train", BATCH, write_fraction=rec["write_fraction"])
    c = hw.counters
    charged = report.counts
    assert c.total("analog_passes") == STEPS * charged["analog_passes"] > 0
    assert c.total("adc_reads") == STEPS * charged["adc_conversions"]
    assert c.total("dac_symbols") == STEPS * charged["dac_conversions"]
    assert c.total("ring_settings") == STEPS * charged["ring_settings"]
    assert c.total("macs") == STEPS * report.macs
    # phase by phase, against the Mappings of the workload's GEMMs
    maps = [plan(g, spec) for g in work.gemms("train", BATCH)]
    for phase in ("forward", "error", "weight_grad"):
        for name, count in (("analog_passes", "analog_passes"),
                            ("dac_symbols", "dac_conversions"),
                            ("ring_settings", "ring_settings")):
            want = sum(getattr(m, count) for m in maps if m.gemm.phase == phase)
            assert c.by_phase(name)[phase] == STEPS * want, (phase, name)
    if groups == 1:  # layer by layer (the workload names a grouped conv's groups apart)
        assert {k for k in c.records} == {(m.gemm.phase, m.gemm.layer) for m in maps}
        for m in maps:
            r = c.records[(m.gemm.phase, m.gemm.layer)]
            assert r["products"] == STEPS
            assert r["analog_passes"] == STEPS * m.analog_passes
            assert r["signed_products"] == STEPS * m.gemm.input_signed
    # the post-ReLU products skipped their (all-zero) negative pass, as charged
    assert c.records[("forward", "6")]["sign_passes_skipped"] \
        == c.records[("forward", "6")]["analog_passes"] > 0
    assert c.records[("forward", "0")]["sign_passes_skipped"] == 0
    assert ("error", "0") not in c.records  # no error product into the data
    # memristor cells: re-programmed = charged (all of them under 'all')
    assert writer.cells_written == pytest.approx(
        STEPS * charged["memristor_cell_writes"], rel=1e-12)
    if policy == "all":
        assert writer.cells_written == STEPS * writer.cells == STEPS * spec.\
            memristor_cells_per_weight * work.weights
    else:
        assert 0 < writer.cells_written < STEPS * writer.cells


def test_exact_and_fast_execute_the_same_counts() -> None:
    counts = {}
    for mode in ("exact", "fast"):
        spec = load_spec("bplight-16b", [f"mode={mode}"])
        model = convert(_cnn(2), spec)
        hw = model.bplight_hw
        hw.counting = True
        _train(model, MemristorWriter(model, spec))
        counts[mode] = hw.counters.records
    assert counts["exact"] == counts["fast"]
