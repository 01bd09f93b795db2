"""Hardware description: presets, units, validation messages, overrides, round trips."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from bplight.config import ConfigError, HardwareSpec, dump_spec, load_spec, preset_names
from bplight.units import UnitError, parse_quantity


def test_presets_exist_and_load() -> None:
    assert {"fp32", "ideal", "bplight-16b"} <= set(preset_names())
    ref = load_spec("bplight-16b")
    assert ref.mode == "fast" and ref.forward.input_bits == 16 and ref.update.weight_bits == 16
    assert load_spec("fp32").is_fp32
    ideal = load_spec("ideal")
    assert ideal.forward.adc_bits is None and not ideal.forward.detector_noise


def test_reference_values_come_from_the_cited_sources() -> None:
    ref = load_spec("bplight-16b")
    assert ref.photonics.modulation_rate_hz == 5e9          # DEAP-CNN, LT
    assert ref.photonics.ring_q == 8000                     # CrossLight
    assert ref.laser.rin_db_per_hz == -140                  # AQ
    assert ref.link.waveguide_loss_db_per_m == pytest.approx(100.0)  # 1 dB/cm CrossLight
    assert ref.detector.responsivity_a_per_w == 1.2         # AQ
    assert ref.memristor_cells_per_weight == 8              # 2 x ceil(15 / 4), PipeLayer


@pytest.mark.parametrize("text,value", [
    ("450 fJ", 450e-15), ("5 GHz", 5e9), ("1 dB/cm", 100.0), ("35 nA", 35e-9),
    ("0.083 mm2", 0.083e-6), ("-27 dBm", -27.0), ("18 nm", 18e-9), ("64 KB", 65536.0),
    (3, 3.0),
])
def test_units_are_parsed_to_si(text: str | float, value: float) -> None:
    assert parse_quantity(text) == pytest.approx(value)


def test_bad_units_are_rejected() -> None:
    with pytest.raises(UnitError):
        parse_quantity("5 parsecs")
    with pytest.raises(UnitError):
        parse_quantity("fast")


def test_yaml_round_trip(tmp_path) -> None:
    ref = load_spec("bplight-16b")
    path = tmp_path / "chip.yaml"
    path.write_text(dump_spec(ref))
    assert load_spec(str(path)) == ref


def test_yaml_file_with_base_and_units(tmp_path) -> None:
    path = tmp_path / "chip.yaml"
    path.write_text("base: bplight-16b\nname: slow\nphotonics:\n  modulation_rate_hz: 1 GHz\n")
    spec = load_spec(str(path))
    assert spec.name == "slow" and spec.photonics.modulation_rate_hz == 1e9
    assert spec.forward == load_spec("bplight-16b").forward


@pytest.mark.parametrize("override,words", [
    ("forward.adc_bits=40", ["forward.adc_bits", "40", "16"]),
    ("photonics.wavelengths_per_bank=40", ["wavelengths_per_bank", "18"]),
    ("forwrd.adc_bits=4", ["unknown hardware field", "forwrd", "did you mean forward.adc_bits"]),
    ("photonics.ringq=9", ["unknown hardware field", "photonics.ring_q"]),
    ("laser.wall_plug_efficiency=1.5", ["laser.wall_plug_efficiency", "1.5"]),
    ("forward.signed_inputs=three_pass", ["signed_inputs", "two_pass", "offset"]),
])
def test_bad_values_get_one_sentence(override: str, words: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        load_spec("bplight-16b", [override])
    msg = str(info.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg


def test_unknown_preset_and_missing_file() -> None:
    with pytest.raises(ConfigError, match="unknown hardware preset"):
        load_spec("bplight-99b")
    with pytest.raises(ConfigError, match="does not exist"):
        load_spec("/nonexistent/chip.yaml")


def test_invalid_yaml(tmp_path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("forward: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_spec(str(path))


def test_spec_is_frozen_and_hashable() -> None:
    ref = load_spec("bplight-16b")
    with pytest.raises(ValidationError):
        ref.forward.adc_bits = 3  # type: ignore[misc]
    assert hash(ref) == hash(load_spec("bplight-16b"))


@settings(max_examples=30, deadline=None)
@given(adc=st.integers(1, 16), dac=st.integers(1, 16), ring=st.integers(1, 16),
       wl=st.integers(1, 18), bits=st.integers(2, 32))
def test_valid_overrides_always_validate(adc: int, dac: int, ring: int, wl: int,
                                         bits: int) -> None:
    spec = load_spec("bplight-16b", [f"forward.adc_bits={adc}", f"forward.dac_bits={dac}",
                                     f"forward.ring_bits={ring}", f"forward.input_bits={bits}",
                                     f"photonics.wavelengths_per_bank={wl}"])
    assert isinstance(spec, HardwareSpec)
    assert spec.forward.adc_bits == adc and spec.photonics.wavelengths_per_bank == wl


def test_config_errors_are_bplight_errors_not_value_errors() -> None:
    from bplight.errors import BplightError
    from bplight.errors import ConfigError as RootConfigError

    assert ConfigError is RootConfigError
    with pytest.raises(BplightError) as info:
        load_spec("bplight-16b", ["forward.adc_bits=40"])
    assert not isinstance(info.value, ValueError)


REPO = Path(__file__).resolve().parents[1]


def _source_keys() -> set[str]:
    text = (REPO / "docs" / "sources.md").read_text(encoding="utf-8")
    table = text.split("## Source keys", 1)[1].split("\n## ", 1)[0]
    return {line.split("|")[1].strip() for line in table.splitlines()
            if line.startswith("| ") and not line.startswith("| key")}


def test_every_source_key_cited_by_the_preset_is_in_docs_sources() -> None:
    from bplight.config.field_sources import field_sources

    keys = _source_keys()
    assert {"CrossLight", "AQ", "DEAP", "LT", "SimPhony", "ISAAC", "PipeLayer", "NeuroSim",
            "MNSIM", "Murmann", "Albireo", "BPLight-CNN"} <= keys
    cited = " ".join(f.source for f in field_sources("bplight-16b"))
    for word in ("CrossLight", "AQ", "LT", "SimPhony", "ISAAC", "PipeLayer", "MNSIM",
                 "NeuroSim", "DEAP", "Huang et al."):
        if word in cited:
            assert word in keys, word


def test_no_reference_points_outside_the_repository() -> None:
    offenders = []
    for folder in ("src", "docs", "tests"):
        for path in (REPO / folder).rglob("*"):
            if path.suffix not in (".py", ".md", ".yaml") or "__pycache__" in path.parts:
                continue
            text = path.read_text(encoding="utf-8")
            for needle in ("REFERENCE-PARAMETERS", "PHYSICS.md", "shared/"):
                if needle in text and path.name != "test_config.py":
                    offenders.append(f"{path.relative_to(REPO)}: {needle}")
    assert not offenders


def test_a_loaded_spec_keeps_its_presets_sources() -> None:
    from bplight.config import field_sources

    spec = load_spec("bplight-16b", ["architecture.tiles=8"])
    fields = {f.path: f for f in field_sources(spec)}
    assert fields["photonics.ring_q"].source == "CrossLight"
    assert fields["architecture.tiles"].value == 8
    assert fields["architecture.tiles"].origin == "override"
    assert fields["laser.rin_db_per_hz"].source == "AQ"
