"""Baseline accelerators: figures round-trip from their sources, same op counts as the
photonic side, inference-only designs refuse training with a clear message."""

from __future__ import annotations

import math

import pytest
from tiny_workload import TinyWorkload

from bplight.baselines import (
    BASELINES,
    TRAINING_BASELINES,
    PublishedAccelerator,
    TrainingNotSupported,
    get_baseline,
    workload_phase_macs,
)
from bplight.baselines import gpu as gpu_mod
from bplight.baselines.base import NO_SLOWDOWN, ONE_PASS
from bplight.errors import BplightError


def hand_macs(batch: int, mode: str) -> int:
    c1 = 36 * 9 * 4  # positions x k x cout
    fc = 144 * 10
    fwd = batch * (c1 + fc)
    if mode == "infer":
        return fwd
    # error: only fc (c1 is the first layer); weight_grad: both layers
    return fwd + batch * fc + batch * (c1 + fc)


def rel(a: float, b: float) -> float:
    return abs(a - b) / abs(b)


# --- every figure has a source (checks against the published figures themselves are in
# tests/published/test_published_baselines.py) ------------------------------------------

@pytest.mark.parametrize("name", list(BASELINES))
def test_every_figure_has_a_source(name: str) -> None:
    b = BASELINES[name]
    assert isinstance(b, PublishedAccelerator)
    assert b.sources, name
    for label, fig in b.figures().items():
        assert fig.source.strip(), (name, label)
        assert fig.kind in ("published", "derived", "assumption")
    # every non-published figure (but the trivial defaults) is shown to the user
    shown = "\n".join(b.assumptions)
    for label, fig in b.figures().items():
        if fig.kind != "published" and fig not in (ONE_PASS, NO_SLOWDOWN):
            assert label in shown
    for _metric, published, derived in b.published_checks:
        assert rel(derived, published) < 0.05


# --- the same op counts on both sides -----------------------------------------------------

@pytest.mark.parametrize("mode", ["train", "infer"])
@pytest.mark.parametrize("batch", [1, 8])
def test_macs_come_from_the_workload_gemms(mode: str, batch: int) -> None:
    w = TinyWorkload()
    assert sum(workload_phase_macs(w, mode, batch).values()) == hand_macs(batch, mode)
    for name in BASELINES:
        b = BASELINES[name]
        if mode == "train" and not b.supports_training:
            continue
        r = b.estimate(w, mode, batch)
        assert r.macs == hand_macs(batch, mode)
        assert r.ops == 2 * hand_macs(batch, mode)
        assert r.batch == batch and r.mode == mode and r.workload == "tiny"
        assert sum(p.macs for p in r.phases) == r.macs
        assert sum(p.energy_j for p in r.phases) == pytest.approx(r.energy_j)


@pytest.mark.parametrize("name", list(BASELINES))
def test_latency_and_energy_from_throughput_and_efficiency(name: str) -> None:
    b = BASELINES[name]
    w = TinyWorkload()
    r = b.estimate(w, "infer", 4)
    assert r.latency_s == pytest.approx(r.ops / b.throughput_ops_per_s("infer"))
    assert r.energy_j == pytest.approx(r.ops * b.energy_per_op_j("infer"))
    assert r.gops == pytest.approx(b.throughput_ops_per_s("infer") / 1e9)
    assert r.area_mm2 == b.area_mm2
    # reports carry the sources and assumptions for the CLI to show
    assert r.sources == b.sources and r.assumptions == b.assumptions


def test_ratios_independent_of_batch_for_rate_models() -> None:
    """A rate model's per-op figures do not depend on batch: ratios between two baselines
    are the same at batch 1 and 64 (the photonic side is where batch matters)."""
    w = TinyWorkload()
    a, b = get_baseline("pipelayer"), get_baseline("gtx1080")
    r1 = b.estimate(w, "train", 1).latency_s / a.estimate(w, "train", 1).latency_s
    r64 = b.estimate(w, "train", 64).latency_s / a.estimate(w, "train", 64).latency_s
    assert r1 == pytest.approx(r64)


def test_macs_override_costs_exactly_those_ops() -> None:
    w = TinyWorkload()
    r = get_baseline("isaac").estimate(w, "infer", 1, macs_by_phase={"forward": 1000})
    assert r.macs == 1000


# --- training on inference-only designs ---------------------------------------------------

@pytest.mark.parametrize("name", ["isaac", "holylight", "deap", "crosslight"])
def test_inference_only_refuses_training(name: str) -> None:
    b = get_baseline(name)
    assert not b.supports_training
    with pytest.raises(TrainingNotSupported) as info:
        b.estimate(TinyWorkload(), "train", 8)
    msg = str(info.value)
    assert name in msg and "cannot train" in msg
    assert isinstance(info.value, BplightError) and not isinstance(info.value, ValueError)
    assert b.estimate(TinyWorkload(), "infer", 8).energy_j > 0


def test_training_baselines() -> None:
    assert set(TRAINING_BASELINES) == {"gtx1080", "p100", "dadiannao", "pipelayer"}


def test_dadiannao_trains_at_32_bits() -> None:
    d = get_baseline("dadiannao")
    assert d.throughput_ops_per_s("train") == pytest.approx(d.throughput_ops_per_s("infer") / 2)
    assert d.energy_per_op_j("train") == pytest.approx(2 * d.energy_per_op_j("infer"))


def test_gpu_energy_is_power_times_time() -> None:
    g = get_baseline("gtx1080")
    r = g.estimate(TinyWorkload(), "train", 16)
    assert r.power_w == pytest.approx(180.0)


def test_bad_inputs() -> None:
    b = get_baseline("isaac")
    with pytest.raises(ValueError, match="mode"):
        b.estimate(TinyWorkload(), "fly", 1)
    with pytest.raises(ValueError, match="batch"):
        b.estimate(TinyWorkload(), "infer", 0)
    with pytest.raises(BplightError, match="allowed"):
        get_baseline("tpu")
    with pytest.raises(ValueError, match="utilisation"):
        gpu_mod.gtx1080(utilisation=1.5)
    assert get_baseline("GTX-1080").name == "gtx1080"


def test_variants_for_sensitivity() -> None:
    g = get_baseline("gtx1080")
    assert isinstance(g, PublishedAccelerator)
    g2 = g.with_figure("utilisation", 0.7, "sensitivity high")
    assert g2.throughput_ops_per_s("train") == pytest.approx(2 * g.throughput_ops_per_s("train"))
    assert "sensitivity high" in "\n".join(g2.assumptions)
    assert math.isclose(gpu_mod.gtx1080(0.7).utilisation.value, 0.7)


def test_docs_baselines_in_sync() -> None:
    """docs/baselines.md carries the generated figures of the current models."""
    from pathlib import Path

    from bplight.baselines.registry import baselines_markdown

    doc = Path(__file__).resolve().parents[1] / "docs" / "baselines.md"
    if not doc.is_file():
        pytest.skip("docs/baselines.md not present in this checkout")
    assert baselines_markdown() in doc.read_text()
