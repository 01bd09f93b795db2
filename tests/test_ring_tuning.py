"""Tuning power of the weight rings per weight state (issue 9): electro-optic vs heater,
thermal crosstalk, fabrication calibration, re-tune latency; charged by the cost engine
from the ring states the numerics set."""

from __future__ import annotations

import numpy as np
import pytest

from bplight.config import load_spec
from bplight.cost import estimate
from bplight.cost.design import architecture_for
from bplight.photonics.crosstalk import bank_model
from bplight.photonics.tuning import ring_tuning, thermal_relief
from bplight.workload import Workload

ADD_DROP = ["photonics.ring_model=add_drop"]
AS_BUILT = ["link.enforce_limits=false"]
"""The reference chip under add_drop does not close its link budget (16 carriers leak
more than half a step: tests/test_ring_link.py); the cost tests evaluate it as built."""


def test_thermal_relief_closed_form() -> None:
    k = 0.1
    assert thermal_relief(2, k) == pytest.approx(1.0 / (1.0 + k))
    assert thermal_relief(16, 0.0) == 1.0
    assert 1.0 / (1.0 + 2 * k) < thermal_relief(16, k) < 1.0 / (1.0 + k)


def test_electro_optic_then_heater_per_weight_state() -> None:
    spec = load_spec("bplight-16b", ADD_DROP)
    bank = bank_model(spec)
    t = ring_tuning(spec)
    eo_range = spec.photonics.ring_eo_range_m
    # digit -1 needs 0.31 nm: 0.2 nm electro-optic, the rest on the heater
    p = np.array([0.25, 0.5, 0.25])
    want_eo = p @ np.minimum(bank.detuning_m, eo_range)
    want_heat = p @ np.maximum(bank.detuning_m - eo_range, 0.0)
    assert t.eo_mean_shift_m == pytest.approx(want_eo)
    assert t.heater_mean_shift_m == pytest.approx(want_heat)
    assert t.heater_fraction == pytest.approx(0.25)
    relief = thermal_relief(16, spec.photonics.ring_thermal_crosstalk)
    assert t.heater_power_w == pytest.approx(want_heat * relief
                                             / spec.photonics.ring_heater_m_per_w)
    assert t.trim_power_w == spec.components.weight_ring_hold_power_w
    assert t.load_latency_s == spec.photonics.ring_thermal_time_constant_s
    # a wide electro-optic range needs no heater and no thermal settling
    wide = load_spec("bplight-16b", [*ADD_DROP, "photonics.ring_eo_range_m=1e-9"])
    tw = ring_tuning(wide)
    assert tw.heater_power_w == 0.0 and tw.load_latency_s == spec.components.ring_tuning_latency_s


def test_fabrication_variation_is_calibrated_by_the_heaters() -> None:
    spec = load_spec("bplight-16b", [*ADD_DROP, "photonics.ring_resonance_sigma_m=0.1e-9"])
    t = ring_tuning(spec)
    assert t.calibration_shift_m == pytest.approx(0.3e-9)
    assert t.trim_power_w == 0.0
    relief = thermal_relief(16, spec.photonics.ring_thermal_crosstalk)
    assert t.heater_power_w == pytest.approx(
        (0.3e-9 + t.heater_mean_shift_m) * relief / spec.photonics.ring_heater_m_per_w)


def test_cost_engine_charges_the_ring_states() -> None:
    wl = Workload.from_name("lenet5", (1, 32, 32))
    ideal = load_spec("bplight-16b", AS_BUILT)
    ring = load_spec("bplight-16b", [*ADD_DROP, *AS_BUILT])
    ri, rr = estimate(wl, ideal), estimate(wl, ring)
    rings = architecture_for(ideal).weight_rings
    extra = rr.static_power_by_component_w["ring_thermal"] \
        - ri.static_power_by_component_w["ring_thermal"]
    assert extra == pytest.approx(rings * ring_tuning(ring).heater_power_w, rel=1e-9)
    assert rr.latency_s > ri.latency_s  # heater re-tunes wait the thermal time constant
    # the ideal model is the one before issue 9: flat trim, one linewidth of EO hold
    assert ri.static_power_by_component_w["ring_thermal"] == pytest.approx(
        rings * ideal.components.weight_ring_hold_power_w
        + architecture_for(ideal).modulators * ideal.components.modulator_hold_power_w)


def test_tuning_from_trained_weights() -> None:
    from bplight.photonics.tuning import trained_digit_distribution

    spec = load_spec("bplight-16b", ADD_DROP)
    rng = np.random.default_rng(0)
    # bell-shaped weights: most codes small, so high-order slices are mostly 0
    weights = [rng.normal(size=(16, 6, 5, 5)), rng.normal(size=(10, 84))]
    p = trained_digit_distribution(spec, weights)
    assert p.shape == (3,) and p.sum() == pytest.approx(1.0)
    assert p[1] > 0.5  # more zero digits than the stated uniform 0.5
    assert p[0] == pytest.approx(p[2], abs=0.02)  # symmetric weights, symmetric digits
    t = ring_tuning(spec, p)
    assert t.heater_fraction == pytest.approx(p[0])
    assert t.heater_power_w < ring_tuning(spec).heater_power_w


def test_sweep_over_ring_fields_matches_estimate() -> None:
    from bplight.cost import sweep

    wl = Workload.from_name("lenet5", (1, 32, 32))
    eight = ["photonics.wavelengths_per_bank=8"]  # closes its link budget under add_drop
    base = load_spec("bplight-16b", eight)
    points = [("ideal", 2e-10), ("add_drop", 2e-10), ("add_drop", 5e-10)]
    r = sweep(wl, base, params={
        "photonics.ring_model": np.array([m for m, _ in points]),
        "photonics.ring_eo_range_m": np.array([e for _, e in points])})
    for i, (m, e) in enumerate(points):
        one = estimate(wl, load_spec("bplight-16b", [*eight, f"photonics.ring_model={m}",
                                                     f"photonics.ring_eo_range_m={e}"]))
        assert r.energy_j[i] == pytest.approx(one.energy_j, rel=1e-9)
        assert r.latency_s[i] == pytest.approx(one.latency_s, rel=1e-9)
    # a 0.5 nm EO range needs no heater re-tune
    assert r.feasible.all() and r.latency_s[1] > r.latency_s[2]
