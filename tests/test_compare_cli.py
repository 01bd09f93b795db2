"""`bplight compare` and `sensitivity` end to end on LeNet-5 (fast); see test_reproduce.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bplight.cli import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FIELDS = ("speedup", "energy_saving", "gops_per_w_ratio", "gops_per_s_per_mm2_ratio")


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


def test_compare_json_train(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "compare", "--model", "lenet5", "--phase", "train",
                             "--batch", "8", "--json")
    assert code == 0, err
    data = last_json(out)
    assert data["phase"] == "train" and data["batch"] == 8
    phot = data["photonic"]
    for key in ("latency_s", "energy_j", "area_mm2", "gops", "gops_per_w",
                "gops_per_s_per_mm2", "macs"):
        assert key in phot
    bases = data["baselines"]
    assert {"gtx1080", "pipelayer", "isaac", "holylight", "deap", "dadiannao"} <= set(bases)
    for name in ("isaac", "holylight", "deap", "crosslight"):
        entry = bases[name]
        assert all(entry[f] is None for f in FIELDS)
        assert all("cannot run this phase" in entry[f"{f}_reason"] for f in FIELDS)
        assert "inference only" in entry["reason"]
    assert "NaN" not in out and "Infinity" not in out
    for name in ("gtx1080", "p100", "dadiannao", "pipelayer"):
        entry = bases[name]
        assert entry["reason"] is None
        assert all(isinstance(entry[f], float) and entry[f] > 0 for f in FIELDS)
        b = entry["baseline_summary"]
        # same op counts on both sides; ratios from those reports
        assert b["macs"] == phot["macs"]
        assert entry["speedup"] == pytest.approx(b["latency_s"] / phot["latency_s"])
        assert entry["energy_saving"] == pytest.approx(b["energy_j"] / phot["energy_j"])
        assert entry["gops_per_w_ratio"] == pytest.approx(entry["energy_saving"])
        assert entry["gops_per_s_per_mm2_ratio"] == pytest.approx(
            phot["gops_per_s_per_mm2"] / b["gops_per_s_per_mm2"])
        assert entry["assumptions"] and entry["sources"]


def test_compare_table_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    png = tmp_path / "cmp.png"
    code, out, err = run_cli(capsys, "compare", "--model", "lenet5", "--phase", "infer",
                             "--batch", "4", "--baselines", "isaac,gtx1080,deap",
                             "--plot", str(png))
    assert code == 0, err
    assert "isaac" in out and "gtx1080" in out and "deap" in out
    assert "pipelayer" not in out
    assert "assumption" in out  # each baseline's assumptions are listed
    assert png.read_bytes()[:8] == PNG_MAGIC


def test_compare_bad_baseline(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "compare", "--model", "lenet5", "--baselines",
                             "isaac,tpu")
    assert code == 2
    line = err.strip()
    assert len(line.splitlines()) == 1
    assert "'tpu'" in line and "allowed" in line and "isaac" in line


def test_compare_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "compare", "--model", "lenet5", "--input", "1x32")
    assert code == 2 and "CxHxW" in err and len(err.strip().splitlines()) == 1


def test_compare_hardware_override(capsys: pytest.CaptureFixture[str]) -> None:
    """A faster modulation rate never slows the design down (same ops, same baseline)."""
    args = ["compare", "--model", "lenet5", "--phase", "infer", "--batch", "8",
            "--baselines", "isaac", "--json"]
    _, out1, _ = run_cli(capsys, *args)
    _, out2, _ = run_cli(capsys, *args, "--set", "photonics.modulation_rate_hz=10e9")
    s1 = last_json(out1)["baselines"]["isaac"]["speedup"]
    s2 = last_json(out2)["baselines"]["isaac"]["speedup"]
    assert s2 >= s1


def test_sensitivity_writes_png_and_table(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "sens"
    code, out, err = run_cli(capsys, "sensitivity", "--model", "lenet5", "--batch", "8",
                             "--out", str(out_dir))
    assert code == 0, err
    assert (out_dir / "tornado.png").read_bytes()[:8] == PNG_MAGIC
    md = (out_dir / "sensitivity.md").read_text()
    csv_text = (out_dir / "sensitivity.csv").read_text()
    for label in ("wavelengths per bank", "modulation", "ADC energy", "memristor write",
                  "wall-plug"):
        assert label in md and label in csv_text
    assert csv_text.splitlines()[0].startswith("rank,parameter")


def test_sensitivity_json_is_strict_with_reasons(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "sensitivity", "--model", "lenet5", "--batch", "8",
                             "--out", str(tmp_path), "--json",
                             "--set", "laser.max_power_per_wavelength_w=0.0012")
    assert code == 0, err
    line = out.strip().splitlines()[-1]
    assert "NaN" not in line and "Infinity" not in line
    data = json.loads(line)
    assert data["baseline"] == "pipelayer" and data["phase"] == "train"
    assert data["reference"]["speedup"] > 0
    rows = data["parameters"]
    assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))
    assert {"wavelengths", "modulation_rate", "adc_energy"} <= {r["key"] for r in rows}
    for r in rows:
        for key in ("speedup_low", "speedup_high", "energy_saving_low", "energy_saving_high"):
            assert r[key] is None or r[key] > 0
            if r[key] is None:
                assert r[f"{key}_reason"]
    assert any(r["speedup_high"] is None and "rejected: " in r["speedup_high_reason"]
               for r in rows)  # 1.2 mW lasers cannot feed 32 wavelengths
    assert data["outputs"]["csv"].endswith("sensitivity.csv")


def test_sensitivity_rejects_inference_only_baseline(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "sensitivity", "--model", "lenet5", "--baseline", "isaac",
                           "--out", str(tmp_path))
    assert code == 2 and "cannot train" in err
