"""`bplight reproduce --waterfall`: the chain from bplight-paper to bplight-16b, its JSON,
document section and PNG, and a tiny real training run."""

from __future__ import annotations

import contextlib
import io
import json
import math
from pathlib import Path

import pytest

from bplight.baselines import BASELINES, TRAINING_BASELINES
from bplight.cli import main
from bplight.config import load_spec
from bplight.errors import InputError
from bplight.experiments.reproduce import CLAIMS
from bplight.experiments.waterfall import (
    DESIGNS,
    END,
    START,
    STEPS,
    AccuracySetup,
    chain,
    read_waterfall,
    render_section,
    spec_differences,
    waterfall,
)
from bplight.photonics.limits import check_limits


@pytest.fixture(scope="module")
def points():
    return chain()


def test_chain_runs_from_paper_to_16b(points) -> None:
    assert points[0].step is None and points[0].spec == load_spec(START)
    assert [p.step for p in points[1:]] == list(STEPS)
    assert spec_differences(points[-1].spec, load_spec(END)) == set()


def test_each_step_changes_exactly_its_named_fields(points) -> None:
    for prev, cur in zip(points, points[1:], strict=False):
        assert spec_differences(prev.spec, cur.spec) == set(cur.step.fields), cur.key
        assert [c.split("=")[0] for c in cur.changed] == list(cur.step.fields)


def test_steps_cover_every_difference_once() -> None:
    fields = [f for s in STEPS for f in s.fields]
    assert len(fields) == len(set(fields))
    assert set(fields) == spec_differences(load_spec(START), load_spec(END))


def test_each_step_clears_the_limits_it_names(points) -> None:
    before = {v.key for v in check_limits(points[0].spec)}
    assert before == {k for s in STEPS for k in s.clears}
    for cur in points[1:]:
        after = {v.key for v in check_limits(cur.spec)}
        assert after <= before, f"{cur.key} broke a new limit: {after - before}"
        assert before - after == set(cur.step.clears), cur.key
        before = after
    assert before == set()


def test_every_step_names_its_limit_and_source() -> None:
    for s in STEPS:
        assert s.restores.endswith(".") and s.source and s.title


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def cost_only(tmp_path_factory):
    """The cost-only waterfall through the command (no training: --no-accuracy)."""
    out_dir = tmp_path_factory.mktemp("wf")
    doc = out_dir / "r.md"
    buf, errbuf = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(errbuf):
        code = main(["reproduce", "--waterfall", "--no-accuracy", "--models", "lenet5",
                     "--batch", "8", "--out", str(doc), "--json"])
    assert code == 0, errbuf.getvalue()
    return doc, buf.getvalue()


def test_json_has_a_waterfall_list_with_every_baseline(cost_only) -> None:
    doc, out = cost_only
    data = json.loads(out.strip().splitlines()[-1], parse_constant=pytest.fail)
    wf = data["waterfall"]
    assert [r["key"] for r in wf] == ["paper"] + [s.key for s in STEPS]
    for row in wf:
        assert row["test_accuracy"] is None and "--no-accuracy" in row["test_accuracy_reason"]
        assert set(row["ratios"]["infer"]) == set(BASELINES)
        assert set(row["ratios"]["train"]) == set(BASELINES)
        for name in BASELINES:
            for metric in ("speedup", "gops_per_s_per_mm2_ratio", "energy_saving"):
                v = row["ratios"]["train"][name][metric]
                if name in TRAINING_BASELINES:
                    assert v > 0
                else:
                    assert v is None and name in row["cannot_run"]["train"]
                assert row["ratios"]["infer"][name][metric] > 0
        assert set(row["latency_bound"]) == {"train", "infer"}
        assert row["latency_bound"]["train"]["lenet5"]
    assert [d["hardware"] for d in data["designs"]] == list(DESIGNS)
    assert data["waterfall_setup"]["accuracy_skipped"] is True
    assert set(data["waterfall_setup"]["code_version"]) == {"git_commit", "git_dirty"}
    # the last step is bplight-16b: its ratios are the claims' "ours" for bplight-16b
    last = wf[-1]["ratios"]
    for c in data["claims"]:
        claim = next(k for k in CLAIMS if k.key == c["key"])
        assert last[claim.mode][claim.primary][claim.metric] == pytest.approx(c["ours"])
    assert data["designs"][0]["violations"] and not data["designs"][2]["violations"]
    json_path, png = (Path(p) for p in data["waterfall_files"])
    assert json_path.is_file() and png.read_bytes()[:4] == b"\x89PNG"


def test_document_has_every_baseline_as_co_headline(cost_only) -> None:
    doc, _ = cost_only
    text = doc.read_text()
    section = text.split("## Waterfall")[1].split("## Accuracy")[0]
    assert "not known from its abstract" in text.split("## Waterfall")[0]
    assert "not known from its abstract" in section
    for name in BASELINES:
        assert f"**vs {name}**" in section
    for s in STEPS:
        assert s.title in section
    assert "accuracy not measured (--no-accuracy)" in section
    # table rows keep their column count (pipes inside cells escaped)
    for line in section.splitlines():
        if line.startswith("| 0 |") or line.startswith("| 5 |"):
            assert line.replace("\\|", "").count("|") == 11


def test_waterfall_json_renders_the_same_section(cost_only, tmp_path: Path,
                                                 capsys) -> None:
    doc, _ = cost_only
    data_path = doc.with_name("r-waterfall.json")
    data = read_waterfall(data_path)
    section = doc.read_text().split("## Waterfall: from the paper's assumptions to the "
                                    "physics\n\n")[1].split("\n\n## Accuracy")[0]
    assert section == render_section(data)
    again = tmp_path / "again.md"
    code, _, err = _cli(capsys, "reproduce", "--waterfall-json", str(data_path), "--models",
                        "lenet5", "--batch", "8", "--out", str(again))
    assert code == 0, err
    assert render_section(data) in again.read_text()


def test_read_waterfall_names_a_missing_key(cost_only, tmp_path: Path) -> None:
    doc, _ = cost_only
    data = json.loads(doc.with_name("r-waterfall.json").read_text())
    del data["waterfall"][2]["ratios"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    with pytest.raises(InputError, match=r"waterfall\[2\]\.ratios"):
        read_waterfall(bad)
    with pytest.raises(InputError, match="no such file"):
        read_waterfall(tmp_path / "none.json")


@pytest.mark.parametrize("argv, needle", [
    (("--waterfall", "--waterfall-json", "x.json"), "give only one"),
    (("--train-images", "512"), "use them with --waterfall"),
    (("--waterfall", "--train-images", "5"), "--train-images 5"),
    (("--waterfall", "--no-accuracy", "--seed", "3"), "--no-accuracy skips"),
])
def test_bad_waterfall_flags_one_sentence(capsys, argv, needle, tmp_path: Path) -> None:
    out = tmp_path / "x.md"
    code, _, err = _cli(capsys, "reproduce", "--out", str(out), *argv)
    assert code == 2 and needle in err and err.count("\n") == 1
    assert not out.exists()


@pytest.mark.slow
def test_tiny_real_waterfall_trains_every_design() -> None:
    """128 MNIST images, 1 epoch: every point of the chain and every design really
    trained (same seed and data), FP32 once."""
    setup = AccuracySetup(images=128, epochs=1, seed=0)
    wf = waterfall(["lenet5"], 8, setup)
    data = wf.to_json()
    assert 0.0 <= data["fp32_test_accuracy"] <= 1.0
    for row in data["waterfall"] + data["designs"]:
        acc = row["test_accuracy"]
        assert 0.0 <= acc <= 1.0 and math.isclose(acc * 128, round(acc * 128))
        assert row["accuracy_gap_pp"] == pytest.approx(
            100 * (data["fp32_test_accuracy"] - acc))
    by_key = {r["key"]: r["test_accuracy"] for r in data["waterfall"]}
    designs = {d["hardware"]: d["test_accuracy"] for d in data["designs"]}
    assert designs[START] == by_key["paper"] and designs[END] == by_key[STEPS[-1].key]
    assert data["accuracy_setup"]["images"] == 128


def test_reading_is_computed_from_the_data(cost_only) -> None:
    from bplight.experiments.waterfall import reading

    doc, _ = cost_only
    data = read_waterfall(doc.with_name("r-waterfall.json"))
    data["fp32_test_accuracy"] = 0.9
    for i, row in enumerate(data["waterfall"]):  # accuracy recovers at step 3
        row["test_accuracy"] = 0.9 if i >= 3 else 0.1
        row["accuracy_gap_pp"] = 100 * (0.9 - row["test_accuracy"])
    for base in data["waterfall"][0]["ratios"]["infer"]:  # make deap the closest
        for mode in ("train", "infer"):
            r = data["waterfall"][0]["ratios"][mode].get(base, {})
            for k in list(r):
                if r[k] is not None:
                    r[k] = 50.0 if base == "deap" else 0.5
    text = reading(data)
    assert f"first at step 3 ({STEPS[2].title})" in text
    assert "closest to the six claims against deap" not in text  # deap cannot train
    data["waterfall"][0]["ratios"]["train"]["deap"] = {
        "speedup": 50.0, "gops_per_s_per_mm2_ratio": 50.0, "energy_saving": 50.0}
    assert "closest to the six claims against deap" in reading(data)
