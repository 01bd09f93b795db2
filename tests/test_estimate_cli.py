"""``bplight estimate``: tables, the JSON line, output files, one-sentence errors."""

from __future__ import annotations

import json
import textwrap

import pytest

from bplight.cli import main
from bplight.config import load_spec
from bplight.cost import estimate
from bplight.workload import Workload

KEYS = ("latency_s", "energy_j", "power_w", "area_mm2", "gops", "gops_per_w",
        "gops_per_s_per_mm2", "energy_per_image_j", "energy_by_component_j",
        "area_by_component_mm2", "phases", "phase_totals", "latency_breakdown_s")


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["estimate", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_last_line_matches_the_api(capsys) -> None:
    code, out, err = run_cli(capsys, "--model", "lenet5", "--input", "1x32x32",
                             "--hardware", "bplight-16b", "--phase", "train", "--batch", "4",
                             "--json")
    assert code == 0, err
    payload = json.loads(out.strip().splitlines()[-1])
    for key in KEYS:
        assert key in payload, key
    r = estimate(Workload.from_name("lenet5", (1, 32, 32)), load_spec("bplight-16b"),
                 "train", 4)
    assert payload["energy_j"] == pytest.approx(r.energy_j, rel=1e-12)
    assert payload["latency_s"] == pytest.approx(r.latency_s, rel=1e-12)
    assert payload["gops_per_w"] == pytest.approx(r.gops_per_w, rel=1e-12)
    assert payload["batch"] == 4 and payload["mode"] == "train"
    assert set(payload["phase_totals"]) == {"forward", "error", "weight_grad", "update"}
    # the readable tables come first
    for title in ("Cost of lenet5", "Per phase", "Energy by component", "Area by component",
                  "Per layer"):
        assert title in out


def test_infer_with_overrides_and_out_dir(capsys, tmp_path) -> None:
    out_dir = tmp_path / "est"
    code, out, err = run_cli(capsys, "--model", "vgg8", "--input", "3x32x32", "--phase",
                             "infer", "--set", "architecture.tiles=8", "--out", str(out_dir),
                             "--json")
    assert code == 0, err
    payload = json.loads(out.strip().splitlines()[-1])
    assert set(payload["phase_totals"]) == {"forward"}
    saved = json.loads((out_dir / "report.json").read_text())
    assert saved["energy_j"] == payload["energy_j"]
    assert (out_dir / "phases.csv").read_text().startswith("layer,phase,macs")
    assert "Per layer" in (out_dir / "report.txt").read_text()
    assert not list(out_dir.glob(".*.tmp"))
    big = json.loads(run_cli(capsys, "--model", "vgg8", "--input", "3x32x32", "--phase",
                             "infer", "--json")[1].strip().splitlines()[-1])
    assert payload["area_mm2"] < big["area_mm2"]  # 8 tiles instead of 64


def test_model_file(capsys, tmp_path) -> None:
    f = tmp_path / "net.py"
    f.write_text(textwrap.dedent("""
        from torch import nn
        def make():
            return nn.Sequential(nn.Flatten(), nn.Linear(12, 5), nn.ReLU(), nn.Linear(5, 2))
    """))
    code, out, err = run_cli(capsys, "--model-file", f"{f}:make", "--input", "3x2x2",
                             "--phase", "infer", "--json")
    assert code == 0, err
    payload = json.loads(out.strip().splitlines()[-1])
    assert payload["macs"] == 12 * 5 + 5 * 2
    assert payload["workload"] == "net"


@pytest.mark.parametrize("args, words", [
    (["--input", "3x"], "--input"),
    (["--input", "0x32x32"], "--input"),
    (["--hardware", "no-such-chip"], "unknown hardware preset"),
    (["--set", "architecture.tiles=0"], "architecture.tiles"),
    (["--set", "laser.max_power_per_wavelength_w=1e-7"], "link budget"),
    (["--batch", "0"], "--batch"),
    (["--model", "lenet5", "--input", "1x20x20"], "lenet5"),
    (["--model-file", "missing.py", "--input", "1x4x4"], "does not exist"),
])
def test_bad_input_is_one_sentence_and_exit_2(capsys, args, words) -> None:
    code, out, err = run_cli(capsys, *args)
    assert code == 2
    assert words in err and err.count("\n") == 1 and "Traceback" not in err


# ---- --from-run: the write fraction a training run measured ----

def _run_dir(tmp_path, record: dict | None, tiles: int = 3):
    """A hand-made run directory: the run's hardware (config.yaml) and its summary."""
    from bplight.config import dump_spec

    run = tmp_path / "run"
    run.mkdir()
    spec = load_spec("bplight-16b", [f"architecture.tiles={tiles}",
                                     "update.write_policy=changed"])
    (run / "config.yaml").write_text(dump_spec(spec))
    summary = {"test_accuracy": 0.5, "hardware": spec.name, "mode": spec.mode}
    if record is not None:
        summary["memristor"] = record
    (run / "summary.json").write_text(json.dumps(summary))
    return run, spec


def test_from_run_charges_the_measured_writes_on_the_runs_hardware(capsys, tmp_path) -> None:
    record = {"cell_writes": 300, "cells": 1200, "steps": 2, "write_fraction": 0.125}
    run, spec = _run_dir(tmp_path, record)
    code, out, err = run_cli(capsys, "--from-run", str(run), "--batch", "4", "--json")
    assert code == 0, err
    got = json.loads(out.strip().splitlines()[-1])
    lenet = Workload.from_name("lenet5", (1, 32, 32))
    want = estimate(lenet, spec, "train", 4, write_fraction=0.125)
    cells = lenet.weights * spec.memristor_cells_per_weight
    assert got["counts"]["memristor_cell_writes"] == pytest.approx(0.125 * cells, rel=1e-12)
    assert got["energy_j"] == pytest.approx(want.energy_j, rel=1e-12)
    assert got["area_mm2"] == pytest.approx(want.area_mm2, rel=1e-12)  # the run's 3 tiles
    # --hardware, when given, replaces the run's hardware; the measured fraction stays
    code, out, err = run_cli(capsys, "--from-run", str(run), "--hardware", "bplight-16b",
                             "--batch", "4", "--json")
    assert code == 0, err
    other = json.loads(out.strip().splitlines()[-1])
    ref = estimate(lenet, load_spec("bplight-16b"), "train", 4, write_fraction=0.125)
    assert other["area_mm2"] == pytest.approx(ref.area_mm2, rel=1e-12)
    assert other["area_mm2"] != pytest.approx(got["area_mm2"])
    assert other["counts"]["memristor_cell_writes"] == pytest.approx(0.125 * cells)


@pytest.mark.parametrize("record, words", [
    (None, "no measured write fraction"),
    ({"cell_writes": 0, "cells": 10, "steps": 0, "write_fraction": None},
     "no measured write fraction"),
    ({"write_fraction": 1.5}, "in [0, 1]"),
])
def test_from_run_without_a_measured_fraction_is_one_sentence(capsys, tmp_path, record,
                                                              words) -> None:
    run, _ = _run_dir(tmp_path, record)
    code, out, err = run_cli(capsys, "--from-run", str(run))
    assert code == 2 and words in err and err.count("\n") == 1 and "Traceback" not in err


def test_from_run_names_a_missing_or_unfinished_run(capsys, tmp_path) -> None:
    code, _, err = run_cli(capsys, "--from-run", str(tmp_path / "nope"))
    assert code == 2 and "no such run directory" in err
    (tmp_path / "half").mkdir()
    code, _, err = run_cli(capsys, "--from-run", str(tmp_path / "half"))
    assert code == 2 and "summary.json" in err and "--resume" in err
