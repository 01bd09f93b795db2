"""``bplight hardware`` and the demo report."""

from __future__ import annotations

import json
from pathlib import Path

from bplight.cli import main
from bplight.config import load_spec
from bplight.config.dotted import leaf_paths
from bplight.report.demo import build_report, last_json
from bplight.report.demo import main as report_main


def test_hardware_list_and_show(capsys) -> None:
    assert main(["hardware", "list"]) == 0
    out = capsys.readouterr().out
    assert "bplight-16b" in out and "ideal" in out and "fp32" in out
    assert main(["hardware", "show", "bplight-16b", "--json"]) == 0
    info = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert info["link_budget"]["feasible"]
    assert info["products"]["forward"]["passes_per_chunk"] == 225
    assert info["products"]["error"]["sign_passes"] == 2
    assert abs(info["crosstalk_neighbour_db"] + 20.3) < 0.1


def test_hardware_show_reports_an_infeasible_budget(capsys) -> None:
    argv = ["hardware", "show", "bplight-16b"]
    for p in ("forward", "error", "weight_grad"):
        argv += ["--set", f"{p}.ring_bits=2", "--set", f"{p}.adc_bits=7"]
    assert main(argv) == 0
    assert "does NOT close" in capsys.readouterr().out


def test_hardware_show_bad_field(capsys) -> None:
    assert main(["hardware", "show", "--set", "photonics.ring_q=-3"]) == 2
    assert "photonics.ring_q" in capsys.readouterr().err


def test_demo_report_from_run_outputs(tmp_path: Path) -> None:
    run = tmp_path / "hardware-run"
    run.mkdir()
    (run / "summary.json").write_text(json.dumps({
        "model": "lenet5", "dataset": "mnist", "epochs": 2, "hardware": "bplight-16b",
        "mode": "fast", "test_accuracy": 0.981, "fp32_test_accuracy": 0.985,
        "accuracy_gap_pp": 0.4}))
    rows = [{"epoch": e, "train_loss": 1.0 / e, "test_accuracy": 0.9 + e / 100}
            for e in (1, 2)]
    (run / "metrics.json").write_text(json.dumps({"hardware": rows, "fp32": rows}))
    est = {"workload": "lenet5-1x28x28", "batch": 128, "latency_s": 1.6e-4,
           "energy_per_image_j": 1.06e-4, "power_w": 83.6, "area_mm2": 52.2, "gops": 1778,
           "gops_per_w": 21.3, "gops_per_s_per_mm2": 34.0,
           "energy_by_component_j": {"adc": 3.0, "laser": 1.0}}
    (tmp_path / "estimate-train.txt").write_text("table\n" + json.dumps(est) + "\n")
    (tmp_path / "compare-train.txt").write_text(json.dumps({"baselines": {
        "gtx1080": {"speedup": 0.5, "energy_saving": 1.2, "gops_per_w_ratio": 1.2,
                    "gops_per_s_per_mm2_ratio": 3.0},
        "isaac": {"speedup": None, "reason": "cannot train"}}}) + "\n")
    assert last_json(tmp_path / "estimate-train.txt")["gops"] == 1778
    text = build_report(tmp_path)
    assert "98.10 %" in text and "98.50 %" in text and "+0.40 pp" in text
    assert "| adc | 75.0 % |" in text and "cannot train" in text
    assert (tmp_path / "training.png").stat().st_size > 1000
    assert report_main([str(tmp_path)]) == 0
    assert (tmp_path / "report.md").read_text() == text


def test_hardware_show_sources_keeps_the_presets_citations(capsys) -> None:
    assert main(["hardware", "show", "bplight-16b", "--sources", "--set",
                 "forward.adc_bits=7"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "docs/sources.md" in lines[0]
    by_field = {ln.split(" = ")[0]: ln for ln in lines[1:]}
    assert by_field["photonics.ring_q"].endswith("# CrossLight [preset bplight-16b]")
    assert "8000" in by_field["photonics.ring_q"]
    # continued comment lines are joined; the alias `error: *product` keeps the citations
    ring_bits = by_field["forward.ring_bits"]
    assert "(AQ)" in ring_bits and "unreachable" in ring_bits
    assert "paper abstract" in by_field["error.input_bits"]
    assert "set on the command line [--set]" in by_field["forward.adc_bits"]
    assert "[schema]" in by_field["components.adc_energy_8b_j"]  # Field description
    assert "ISAAC" in by_field["components.adc_energy_8b_j"]


def test_hardware_show_sources_json_and_inheritance(capsys) -> None:
    assert main(["hardware", "show", "ideal", "--sources", "--json"]) == 0
    data = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    fields = data["fields"]
    ring = fields["photonics.ring_q"]
    assert ring == {"value": 8000.0, "source": "CrossLight", "origin": "preset bplight-16b"}
    # ideal sets input_bits to null without a comment: the base's citation no longer applies
    assert fields["forward.input_bits"]["value"] is None
    assert fields["forward.input_bits"]["origin"] == "schema"
    assert set(fields) == set(leaf_paths(load_spec("ideal").model_dump()))


def test_hardware_show_json_is_strict(capsys) -> None:
    assert main(["hardware", "show", "ideal", "--json"]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    info = json.loads(line)
    assert "NaN" not in line and "Infinity" not in line
    if info["link_budget"]["target_snr_db"] is None:
        assert info["link_budget"]["target_snr_db_reason"]


def test_hardware_argparse_error_is_one_sentence(capsys) -> None:
    import pytest

    with pytest.raises(SystemExit) as exc:
        main(["hardware", "show", "--bogus"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err == ("bplight hardware show: error: unrecognized arguments: --bogus; "
                   "see bplight hardware show --help")
