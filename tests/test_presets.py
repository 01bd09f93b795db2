"""The shipped presets: they load, the feasible ones break no physical limit, and
``bplight-paper`` lists every limit it breaks (bplight.photonics.limits)."""

from __future__ import annotations

import re

import pytest

from bplight.config import load_spec
from bplight.config.loader import preset_names
from bplight.errors import InfeasibleDesignError
from bplight.photonics.limits import (
    ADC_MAX_BITS,
    DAC_MAX_BITS,
    RING_HOLD_MIN_W,
    RING_MAX_BITS,
    check_limits,
)
from bplight.photonics.link_budget import check_link_budget, link_budget


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_loads_with_its_name(name: str) -> None:
    assert load_spec(name).name == name


@pytest.mark.parametrize("name", ["bplight-16b", "bplight-8b-1x2", "ideal", "fp32"])
def test_feasible_presets_break_no_limit(name: str) -> None:
    spec = load_spec(name)
    assert check_limits(spec) == []
    assert spec.link.enforce_limits
    check_link_budget(spec)  # closes: does not raise


def test_paper_preset_lists_its_violations() -> None:
    spec = load_spec("bplight-paper")
    found = {v.key: v for v in check_limits(spec)}
    assert set(found) == {"link_budget", "dac_resolution", "ring_resolution",
                          "ring_hold_power", "modulator_hold_power"}
    assert found["dac_resolution"].fields == ("forward.dac_bits", "error.dac_bits",
                                              "weight_grad.dac_bits")
    assert found["ring_resolution"].value == "15 b"
    for v in found.values():  # every violation names its limit and source in one sentence
        assert v.source and v.limit and v.message.endswith(".")
        assert not re.search(r"\. [A-Z]", v.message)
    # the broken link budget is reported, not raised (paper assumptions) ...
    assert not spec.link.enforce_limits
    budget = check_link_budget(spec)
    assert not budget.feasible and "below the" in budget.reason
    assert budget.reason in found["link_budget"].message
    # ... and refused once the limits are enforced
    with pytest.raises(InfeasibleDesignError, match="SNR"):
        check_link_budget(load_spec("bplight-paper", ["link.enforce_limits=true"]))


def test_paper_laser_is_the_sensitivity_sized_power() -> None:
    """-27 dBm sensitivity (SimPhony) + path loss + split (CrossLight eq. 7) ~ -8.7 dBm."""
    lb = link_budget(load_spec("bplight-paper"))
    assert lb.received_power_per_wavelength_dbm == pytest.approx(-27.0, abs=0.05)


@pytest.mark.parametrize(("field", "value", "key"), [
    ("forward.dac_bits", DAC_MAX_BITS + 1, "dac_resolution"),
    ("error.adc_bits", ADC_MAX_BITS + 1, "adc_resolution"),
    ("weight_grad.ring_bits", RING_MAX_BITS + 1, "ring_resolution"),
    ("components.weight_ring_hold_power_w", RING_HOLD_MIN_W / 2, "ring_hold_power"),
])
def test_each_limit_trips_just_above_it(field: str, value: float, key: str) -> None:
    over = ["link.enforce_limits=false", "laser.power_per_wavelength_w=0.05",
            f"{field}={value}"]
    keys = [v.key for v in check_limits(load_spec("bplight-16b", over))]
    assert key in keys
    at = {"dac_resolution": DAC_MAX_BITS, "adc_resolution": ADC_MAX_BITS,
          "ring_resolution": RING_MAX_BITS, "ring_hold_power": RING_HOLD_MIN_W}[key]
    over[-1] = f"{field}={at}"
    assert key not in [v.key for v in check_limits(load_spec("bplight-16b", over))]


def test_converter_limits_apply_only_at_gs_rates() -> None:
    over = ["forward.dac_bits=14", "photonics.modulation_rate_hz=500e6",
            "link.enforce_limits=false"]
    assert "dac_resolution" not in [v.key for v in check_limits(load_spec("bplight-16b",
                                                                         over))]


def test_multibit_preset_is_the_issue_design() -> None:
    spec = load_spec("bplight-8b-1x2")
    for phase in ("forward", "error", "weight_grad"):
        p = spec.product(phase)
        assert (p.input_bits, p.weight_bits, p.dac_bits, p.ring_bits, p.signed_inputs) == (
            8, 8, 1, 2, "offset")
    assert spec.laser.rin_db_per_hz == -152 and spec.detector.load_ohm == 500
    assert link_budget(spec).feasible
