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
