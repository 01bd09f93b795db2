"""``bplight sweep``: spec validation, vectorised cost of every design, infeasible points
kept with their reason, outputs (Pareto front, CSV, PNG), accuracy points trained through
the chip model against FP32, and the best design exported as a loadable preset."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from bplight.cli import main
from bplight.config.loader import load_spec
from bplight.cost.engine import estimate
from bplight.errors import ConfigError
from bplight.experiments.common import build_workload
from bplight.experiments.sweep import (
    SweepOptions,
    SweepStore,
    export_best,
    load_sweep_spec,
    results_frame,
    run_sweep,
)
from bplight.experiments.sweep.run import pareto_mask

COST_SPEC = {
    "name": "t",
    "parameters": {"forward.adc_bits": [4, 6],
                   "photonics.modulation_rate_hz": ["1 GHz", "5 GHz"]},
    "workloads": {"cost": [{"model": "lenet5", "batch": 16}]},
}


def _write(tmp_path: Path, data: dict, name: str = "spec.yaml") -> Path:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data))
    return p


def _err(capsys) -> str:
    return capsys.readouterr().err.strip()


# --- spec validation ------------------------------------------------------------------------

@pytest.mark.parametrize("change, needle", [
    ({"parameterz": {}}, "unknown field 'parameterz'; allowed here: name"),
    ({"parameters": {"forward.adc_bit": [4]}}, "did you mean forward.adc_bits"),
    ({"parameters": {"forward.adc_bits": {"low": 8, "high": 4, "num": 2}}},
     "low (8) is above high (4)"),
    ({"parameters": {"forward.adc_bits": [4, 99]}}, "forward.adc_bits = 99 is not allowed"),
    ({"parameters": {"forward.adc_bits": {"low": 2, "high": 8}}}, "add num"),
    ({"parameters": {"forward.adc_range": {"low": 0, "high": 1, "log": True, "num": 3}}},
     "not allowed"),
    ({"search": "random"}, "needs samples"),
    ({"accuracy": "all"}, "needs at least one workloads.accuracy"),
    ({"objectives": ["energy"]}, "unknown objective 'energy'"),
    ({"workloads": {"cost": [{"model": "resnet"}]}}, "not a built-in model"),
    ({"workloads": {"cost": [{"model": "lenet5", "bach": 3}]}},
     "unknown field 'workloads.cost.0.bach'; allowed here: model, input, batch"),
])
def test_bad_spec_is_one_sentence_and_exit_2(tmp_path: Path, capsys, change, needle) -> None:
    spec = _write(tmp_path, {**COST_SPEC, **change})
    assert main(["sweep", str(spec), "-o", str(tmp_path / "out"), "--quiet"]) == 2
    err = _err(capsys)
    assert err.startswith("bplight sweep: error: ") and needle in err, err
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "out").exists()  # nothing written for a bad spec


def test_missing_spec_file_and_bad_flags(tmp_path: Path, capsys) -> None:
    assert main(["sweep", str(tmp_path / "nope.yaml")]) == 2
    assert "does not exist" in _err(capsys)
    spec = _write(tmp_path, COST_SPEC)
    assert main(["sweep", str(spec), "--workers", "0"]) == 2
    assert "--workers 0 is out of range" in _err(capsys)
    assert main(["sweep", "best"]) == 2
    assert "best needs the sweep directory" in _err(capsys)


def test_grid_random_and_units() -> None:
    r = load_sweep_spec({**COST_SPEC, "parameters": {
        "forward.adc_bits": {"low": 2, "high": 8, "num": 4},
        "photonics.modulation_rate_hz": {"low": "1 GHz", "high": "10 GHz", "log": True,
                                         "num": 3}}})
    d = r.designs()
    assert len(d) == 12
    assert sorted({x["forward.adc_bits"] for x in d}) == [2, 4, 6, 8]  # integers
    rates = sorted({x["photonics.modulation_rate_hz"] for x in d})
    assert rates == pytest.approx([1e9, math.sqrt(1e19), 1e10])
    rnd = load_sweep_spec({**COST_SPEC, "search": "random", "samples": 20,
                           "parameters": {"forward.adc_bits": {"low": 2, "high": 8},
                                          "photonics.modulation_rate_hz": {
                                              "low": 1e9, "high": 1e10, "log": True}}})
    a, b = rnd.designs(), rnd.designs()
    assert a == b and len(a) == 20  # the same draws every time (resume finds them)
    assert all(isinstance(x["forward.adc_bits"], int) for x in a)
    assert all(1e9 <= x["photonics.modulation_rate_hz"] <= 1e10 for x in a)


def test_optuna_absent_is_a_clear_message(tmp_path: Path, capsys) -> None:
    pytest.importorskip("numpy")
    try:
        import optuna  # noqa: F401
        pytest.skip("optuna is installed here")
    except ImportError:
        pass
    spec = _write(tmp_path, {**COST_SPEC, "search": "optuna", "samples": 4})
    assert main(["sweep", str(spec), "-o", str(tmp_path / "o"), "--quiet"]) == 2
    assert "needs the optional package optuna" in _err(capsys)


# --- cost points -----------------------------------------------------------------------------

def test_cost_points_match_estimate_and_outputs_are_written(tmp_path: Path, capsys) -> None:
    spec = _write(tmp_path, COST_SPEC)
    out = tmp_path / "run"
    assert main(["sweep", str(spec), "-o", str(out), "--quiet", "--json"]) == 0
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["designs"] == 4 and line["cost_points"] == 4 and line["failed"] == 0
    with SweepStore.open(out) as store:
        frame = results_frame(store)
        assert len(store.records("cost")) == 4
        meta = store.meta()
        assert "bplight 0.1.0" in meta["code_version"]
        assert load_spec("bplight-16b").name in meta["base_hardware"]
    wl = build_workload("lenet5")
    for _, row in frame.iterrows():
        spec_i = load_spec("bplight-16b", {"forward": {"adc_bits": int(row["forward.adc_bits"])},
                                           "photonics": {"modulation_rate_hz":
                                                         row["photonics.modulation_rate_hz"]}})
        for mode in ("train", "infer"):
            ref = estimate(wl, spec_i, mode=mode, batch=16)
            assert row[f"{mode}_latency_s"] == pytest.approx(ref.latency_s, rel=1e-9)
            assert row[f"{mode}_energy_per_image_j"] == pytest.approx(ref.energy_j / 16,
                                                                      rel=1e-9)
            assert row[f"{mode}_gops_per_w"] == pytest.approx(ref.gops_per_w, rel=1e-9)
    for name in ("results.csv", "pareto.csv", "pareto.txt", "summary.json"):
        assert (out / name).stat().st_size > 0
    assert (out / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((out / "summary.json").read_text())
    assert any("paper's claim" in r["label"] for r in summary["references"])
    assert any(r["label"] == "bplight-16b" for r in summary["references"])
    with open(out / "pareto.csv") as f:
        front = list(csv.DictReader(f))
    assert 1 <= len(front) <= 4
    # a second run into the same directory needs --resume; with it, nothing is redone
    assert main(["sweep", str(spec), "-o", str(out), "--quiet"]) == 2
    assert "--resume" in _err(capsys)
    assert main(["sweep", str(spec), "-o", str(out), "--quiet", "--resume", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["cost_new"] == 0


def test_infeasible_designs_are_recorded_with_their_reason(tmp_path: Path) -> None:
    # a 10 mW laser cap cannot close the link budget at 64 wavelengths: infeasible points
    r = load_sweep_spec({**COST_SPEC, "parameters": {
        "photonics.wavelengths_per_bank": [8, 64],
        "laser.max_power_per_wavelength_w": ["0.01 mW", "100 mW"]}})
    run = run_sweep(r, tmp_path / "run", SweepOptions(progress=False, outputs=True))
    assert run.cost_points == 4
    with SweepStore.open(tmp_path / "run") as store:
        recs = store.records("cost")
    bad = [x for x in recs if x.status == "infeasible"]
    assert len(recs) == 4 and bad, "the 0.01 mW cap must make some designs infeasible"
    assert all(x.reason for x in bad)
    assert all(x.objectives.get("train_latency_s") is None for x in bad)  # strict JSON null
    reasons = " ".join(x.reason for x in bad)
    assert "FSR" in reasons  # a schema limit of the combination (64 rings, 18 nm FSR)
    assert "dBm per wavelength" in reasons  # the link budget cannot close
    rows = list(csv.DictReader(open(tmp_path / "run" / "results.csv")))
    assert sum(r["feasible"] == "False" for r in rows) == len(bad)


def test_pareto_mask() -> None:
    v = [[1, 5], [2, 2], [3, 3], [5, 1], [1, 5]]
    assert pareto_mask(v) == [True, True, False, True, True]
    rng = np.random.default_rng(0)
    pts = rng.random((50, 3)).tolist()
    mask = pareto_mask(pts)
    for i, keep in enumerate(mask):
        dominated = any(all(a <= b for a, b in zip(pts[j], pts[i], strict=True))
                        and pts[j] != pts[i] for j in range(50))
        assert keep == (not dominated)


# --- accuracy points (real training) and the best design ------------------------------------

def test_accuracy_points_train_through_the_chip_and_best_exports(tmp_path: Path, capsys,
                                                                  monkeypatch) -> None:
    from test_train_cli import make_pattern_mnist

    from bplight.data import datasets as ds_mod

    monkeypatch.setattr(ds_mod, "local_source_dirs", lambda name: [])
    data = tmp_path / "data"
    make_pattern_mnist(data, n_train=128, n_test=64)
    spec = {**COST_SPEC, "parameters": {"forward.adc_bits": [2, 6]},
            "workloads": {"cost": [{"model": "lenet5", "batch": 16}],
                          "accuracy": [{"model": "lenet5", "dataset": "mnist", "subset": 128,
                                        "epochs": 1, "batch_size": 64, "lr": 0.05}]},
            "accuracy": "all", "data_root": str(data)}
    r = load_sweep_spec(spec)
    run = run_sweep(r, tmp_path / "run", SweepOptions(backend="inline", progress=False))
    assert run.accuracy_points == 2 and run.failed == 0
    with SweepStore.open(tmp_path / "run") as store:
        frame = results_frame(store)
        fp32 = store.records("fp32")
        acc = store.records("accuracy")
    assert len(fp32) == 1 and len(acc) == 2
    assert all(a.hardware and "adc_bits" in a.hardware for a in acc)  # resolved spec kept
    assert 0.0 <= fp32[0].objectives["accuracy"] <= 1.0
    by_bits = {int(r["forward.adc_bits"]): r for _, r in frame.iterrows()}
    for bits, row in by_bits.items():
        assert row["accuracy_loss_pp"] == pytest.approx(
            100 * (row["fp32_accuracy"] - row["accuracy"]))
        assert yaml.safe_load(next(a.hardware for a in acc
                                   if a.design["forward.adc_bits"] == bits)
                              )["forward"]["adc_bits"] == bits
    # best within a generous bound: the cheaper of the two; exported, loadable
    out = tmp_path / "design.yaml"
    assert main(["sweep", "best", str(tmp_path / "run"), "--within-pp", "100", "-o",
                 str(out)]) == 0
    loaded = load_spec(str(out))
    cheapest = frame.sort_values("train_energy_per_image_j").iloc[0]
    assert loaded.forward.adc_bits == int(cheapest["forward.adc_bits"])
    assert loaded.name.startswith("sweep-best")
    # within an impossible bound: one sentence, exit 2
    assert main(["sweep", "best", str(tmp_path / "run"), "--within-pp", "-1"]) == 2
    assert ">= 0" in _err(capsys)
    worst = float(frame["accuracy_loss_pp"].min())
    if worst > 0:
        with pytest.raises(Exception, match="no design is within"):
            export_best(tmp_path / "run", tmp_path / "x.yaml", worst / 2)


def test_best_without_accuracy_needs_within_none(tmp_path: Path, capsys) -> None:
    r = load_sweep_spec(COST_SPEC)
    run_sweep(r, tmp_path / "run", SweepOptions(progress=False))
    assert main(["sweep", "best", str(tmp_path / "run"), "-o", str(tmp_path / "d.yaml")]) == 2
    assert "no design of this sweep was trained" in _err(capsys)
    assert main(["sweep", "best", str(tmp_path / "run"), "--within-pp", "none", "-o",
                 str(tmp_path / "d.yaml")]) == 0
    assert load_spec(str(tmp_path / "d.yaml")).forward.adc_bits in (4, 6)
    capsys.readouterr()
    assert main(["sweep", "best", str(tmp_path / "run"), "--within-pp", "none", "-o",
                 str(tmp_path / "d.yaml"), "--json"]) == 0
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["accuracy_loss_pp"] is None  # strict JSON: not measured
    r = line["ratios"]
    assert set(r) == {"gtx1080", "pipelayer", "isaac"} and len(r["gtx1080"]) == 6
    assert r["isaac"]["train_speedup"] is None and r["isaac"]["infer_speedup"] > 0
    ref = estimate(build_workload("lenet5"), load_spec(str(tmp_path / "d.yaml")), "train", 16)
    from bplight.baselines import get_baseline

    gpu = get_baseline("gtx1080").estimate(build_workload("lenet5"), "train", 16)
    assert r["gtx1080"]["train_speedup"] == pytest.approx(gpu.latency_s / ref.latency_s)


def test_unknown_set_path_in_parameters_lists_nearest() -> None:
    with pytest.raises(ConfigError, match="did you mean .*photonics.wavelengths_per_bank"):
        load_sweep_spec({**COST_SPEC, "parameters": {"photonics.wavelength_per_bank": [8]}})


def test_optuna_proposes_the_same_designs_again(tmp_path: Path) -> None:
    pytest.importorskip("optuna", reason="optuna is optional (pip install optuna)")
    spec = {**COST_SPEC, "search": "optuna", "samples": 40, "parameters": {
        "forward.adc_bits": [4, 6, 8],
        "photonics.modulation_rate_hz": {"low": "1 GHz", "high": "20 GHz", "log": True},
        "architecture.tiles": {"low": 8, "high": 256}}}
    r = load_sweep_spec(spec)
    first = run_sweep(r, tmp_path / "run", SweepOptions(progress=False, outputs=False))
    assert first.designs == 40 and first.cost_new == 40
    again = run_sweep(r, tmp_path / "run", SweepOptions(progress=False, outputs=False,
                                                         resume=True))
    assert again.cost_new == 0  # the seeded sampler proposed the same designs
    with SweepStore.open(tmp_path / "run") as store:
        designs = [x.design for x in store.records("cost")]
    assert all(8 <= d["architecture.tiles"] <= 256 and 1e9 <= d[
        "photonics.modulation_rate_hz"] <= 2e10 for d in designs)


def test_pareto_candidates_are_layers_of_the_cost_front(tmp_path: Path, monkeypatch) -> None:
    """accuracy: pareto trains the cost front, then the next layers, up to the cap."""
    monkeypatch.setenv("SWEEP_TEST_SLEEP", "0")
    spec = {**COST_SPEC, "parameters": {"forward.adc_bits": [4, 6, 8],
                                        "photonics.modulation_rate_hz": ["2 GHz", "5 GHz"]},
            "workloads": {"cost": [{"model": "lenet5", "batch": 16}],
                          "accuracy": [{"model": "lenet5", "subset": 64}]},
            "accuracy": "pareto", "max_accuracy_points": 3}
    run = run_sweep(load_sweep_spec(spec), tmp_path / "run", SweepOptions(
        backend="inline", progress=False, train_fn="sweep_points:slow_point"))
    assert run.accuracy_points == 3 and run.failed == 0
    with SweepStore.open(tmp_path / "run") as store:
        frame = results_frame(store)
        trained = {json.dumps(r.design, sort_keys=True) for r in store.records("accuracy")}
    cost = frame[["design_key", "train_energy_per_image_j", "train_latency_s"]].values.tolist()
    layers = []
    rest = cost
    while rest:  # non-dominated sorting by hand
        mask = pareto_mask([[e, t] for _, e, t in rest])
        layers.append({k for (k, _, _), m in zip(rest, mask, strict=True) if m})
        rest = [r for r, m in zip(rest, mask, strict=True) if not m]
    assert layers[0] <= trained  # the whole front is trained first
    layer_of = {k: i for i, lay in enumerate(layers) for k in lay}
    untrained = set(layer_of) - trained
    assert max(layer_of[k] for k in trained) <= min(layer_of[k] for k in untrained)
    assert frame["accuracy_loss_pp"].notna().sum() == 3


def test_infeasible_designs_are_not_trained_but_recorded(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SWEEP_TEST_SLEEP", "0")
    spec = {**COST_SPEC, "parameters": {"photonics.wavelengths_per_bank": [8, 64]},
            "workloads": {"cost": [{"model": "lenet5", "batch": 16}],
                          "accuracy": [{"model": "lenet5", "subset": 64}]},
            "accuracy": "all"}
    run = run_sweep(load_sweep_spec(spec), tmp_path / "run", SweepOptions(
        backend="inline", progress=False, train_fn="sweep_points:slow_point"))
    assert run.infeasible == 1 and run.failed == 0
    with SweepStore.open(tmp_path / "run") as store:
        acc = {r.design["photonics.wavelengths_per_bank"]: r for r in store.records("accuracy")}
    assert acc[8].status == "done"
    assert acc[64].status == "infeasible" and "not trained" in acc[64].reason
    assert "FSR" in acc[64].reason
    calls = (tmp_path / "run" / "calls.log").read_text().splitlines()
    assert len(calls) == 2  # FP32 and the feasible design only


def test_a_design_the_code_rejects_is_infeasible_at_once(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SWEEP_TEST_SLEEP", "0")
    spec = {**COST_SPEC, "parameters": {"forward.adc_bits": [2, 6]},
            "workloads": {"cost": [{"model": "lenet5", "batch": 16}],
                          "accuracy": [{"model": "lenet5", "subset": 64}]},
            "accuracy": "all"}
    run = run_sweep(load_sweep_spec(spec), tmp_path / "run", SweepOptions(
        backend="inline", progress=False, train_fn="sweep_points:slow_point"))
    assert run.failed == 0 and run.infeasible == 1
    with SweepStore.open(tmp_path / "run") as store:
        acc = {r.design["forward.adc_bits"]: r for r in store.records("accuracy")}
    assert acc[2].status == "infeasible" and acc[2].attempts == 1  # not retried
    assert acc[2].reason == "2-bit reads cannot resolve this design's sums"


# --- tied parameters and accuracy strata ------------------------------------------------------

TIED = "forward.adc_bits, error.adc_bits, weight_grad.adc_bits"


def test_a_tied_parameter_sets_every_path_and_costs_like_estimate(tmp_path: Path) -> None:
    r = load_sweep_spec({**COST_SPEC, "parameters": {TIED: [4, 6],
                                                     "architecture.tiles": [8, 64]}})
    d = r.designs()
    assert len(d) == 4  # one dimension of 2 values, not 2^3
    assert r.paths == ["forward.adc_bits", "error.adc_bits", "weight_grad.adc_bits",
                       "architecture.tiles"]
    assert all(x["forward.adc_bits"] == x["error.adc_bits"] == x["weight_grad.adc_bits"]
               for x in d)
    run_sweep(r, tmp_path / "run", SweepOptions(progress=False))
    with SweepStore.open(tmp_path / "run") as store:
        frame = results_frame(store)
    wl = build_workload("lenet5")
    for _, row in frame.iterrows():
        bits, tiles = int(row["error.adc_bits"]), int(row["architecture.tiles"])
        ref = estimate(wl, load_spec("bplight-16b", {
            "forward": {"adc_bits": bits}, "error": {"adc_bits": bits},
            "weight_grad": {"adc_bits": bits}, "architecture": {"tiles": tiles}}),
            mode="train", batch=16)
        assert row["train_energy_per_image_j"] == pytest.approx(ref.energy_j / 16, rel=1e-9)
        assert row["train_latency_s"] == pytest.approx(ref.latency_s, rel=1e-9)
    table = (tmp_path / "run" / "pareto.txt").read_text()
    assert "adc_bits (x3)" in table.splitlines()[0]  # one column for the tied parameter


@pytest.mark.parametrize("params, needle", [
    ({TIED: [4, 6], "error.adc_bits": [5]}, "error.adc_bits appears in more than one"),
    ({"forward.adc_bits, error.adc_bit": [4]}, "did you mean error.adc_bits"),
    ({"forward.adc_bits, photonics.modulation_rate_hz": {"low": 1, "high": 2, "num": 2}},
     "ties integer and real fields"),
])
def test_bad_tied_parameter_is_one_sentence(params, needle) -> None:
    with pytest.raises(ConfigError) as exc:
        load_sweep_spec({**COST_SPEC, "parameters": params})
    assert needle in str(exc.value) and "\n" not in str(exc.value)


def test_accuracy_strata_must_be_swept_paths() -> None:
    with pytest.raises(ConfigError, match="accuracy_strata names 'forward.input_bits'"):
        load_sweep_spec({**COST_SPEC, "accuracy_strata": ["forward.input_bits"]})


def test_accuracy_strata_take_turns(tmp_path: Path, monkeypatch) -> None:
    """Each stratum's cost front is trained before any stratum's second layer; a stratum
    that is costly everywhere (16-bit inputs) still gets its candidates."""
    monkeypatch.setenv("SWEEP_TEST_SLEEP", "0")
    spec = {**COST_SPEC, "parameters": {"forward.input_bits": [4, 16],
                                        "architecture.tiles": [8, 16, 32, 64]},
            "workloads": {"cost": [{"model": "lenet5", "batch": 16}],
                          "accuracy": [{"model": "lenet5", "subset": 64}]},
            "accuracy": "pareto", "max_accuracy_points": 4,
            "accuracy_strata": ["forward.input_bits"]}
    run_sweep(load_sweep_spec(spec), tmp_path / "run", SweepOptions(
        backend="inline", progress=False, train_fn="sweep_points:slow_point", outputs=False))
    with SweepStore.open(tmp_path / "run") as store:
        frame = results_frame(store)
        trained = [r.design for r in store.records("accuracy")]
    assert len(trained) == 4
    assert sorted(d["forward.input_bits"] for d in trained) == [4, 4, 16, 16]
    for bits in (4, 16):  # within a stratum: its front, then its next layer
        sub = frame[frame["forward.input_bits"] == bits]
        vals = sub[["train_energy_per_image_j", "train_latency_s"]].values.tolist()
        front = {k for k, m in zip(sub["design_key"], pareto_mask(vals), strict=True) if m}
        mine = {json.dumps(d, sort_keys=True) for d in trained
                if d["forward.input_bits"] == bits}
        assert front <= mine or mine <= front


def test_rin_column_is_not_formatted_as_hertz() -> None:
    from bplight.experiments.sweep.pareto import _fmt

    assert _fmt("laser.rin_db_per_hz", -150.0) == "-150"
    assert _fmt("photonics.modulation_rate_hz", 5e9) == "5 GHz"
