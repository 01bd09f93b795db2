"""`bplight reproduce`: claims data, analysis, the accuracy file read by known keys, the
document template, the command's inputs and outputs."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path

import pytest

from bplight.cli import build_parser, main
from bplight.errors import InputError
from bplight.experiments.reproduce import (
    CLAIMS,
    DEFAULT_OUT,
    bisect_log,
    explain,
    geomean,
    read_accuracy,
    render_markdown,
    reproduce,
)
from bplight.experiments.reproduce.render import template
from bplight.experiments.sensitivity import PARAMETERS

ROOT = Path(__file__).resolve().parents[1]
ACCURACY_JSON = ROOT / "docs" / "accuracy" / "accuracy.json"


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def lenet_rep():
    from bplight.config import load_spec

    return reproduce(load_spec("bplight-16b"), ["lenet5"], 8, read_accuracy(ACCURACY_JSON))


# --- claims ---------------------------------------------------------------------------------

def test_claims_are_the_abstracts_six_ratios() -> None:
    assert [(c.mode, c.metric, c.claimed) for c in CLAIMS] == [
        ("train", "speedup", 34.0), ("train", "gops_per_s_per_mm2_ratio", 34.0),
        ("train", "energy_saving", 38.5), ("infer", "speedup", 29.0),
        ("infer", "gops_per_s_per_mm2_ratio", 31.0), ("infer", "energy_saving", 38.7)]
    for c in CLAIMS:
        assert "arXiv:2102.10140" in c.source and c.why
        assert c.primary == ("pipelayer" if c.mode == "train" else "isaac")


# --- analysis --------------------------------------------------------------------------------

def test_bisect_log_solves_power_law() -> None:
    x = bisect_log(lambda v: v ** 2, 49.0, 1.0, 100.0, rel_tol=1e-9)
    assert x == pytest.approx(7.0, rel=1e-6)
    assert bisect_log(lambda v: v, 1000.0, 1.0, 10.0) is None


def test_geomean() -> None:
    assert geomean([2.0, 8.0]) == pytest.approx(4.0)
    assert geomean([2.0, None, 8.0, math.nan]) == pytest.approx(4.0)
    assert math.isnan(geomean([]))


def test_each_claim_is_the_geomean_of_its_models(lenet_rep) -> None:
    for r in lenet_rep.results:
        assert r.ours == pytest.approx(r.per_model["lenet5"])
        assert r.context[r.claim.primary]["lenet5"] == r.per_model["lenet5"]
        assert r.within == (abs(r.ours / r.claim.claimed - 1) <= 0.25)
        # every claim off by more than 25 % carries an explanation with a swing
        assert r.within or (r.explanation is not None and r.explanation.swing)


def test_explanation_names_the_rejected_range(lenet_rep) -> None:
    speed = next(r for r in lenet_rep.results if r.claim.key == "train_speedup")
    e = speed.explanation
    assert e.parameter.paths[0] == "photonics.modulation_rate_hz"
    # a faster rate eventually needs an SNR the RIN cap forbids: the reason is kept
    assert e.invalid_beyond is not None and "RIN" in (e.invalid_reason or "")
    assert e.matching_value is None  # no rate closes a ~60x gap


def test_a_bug_in_a_parameter_surfaces(lenet_rep) -> None:
    """Only a rejected design (a BplightError) is skipped; any other exception is a bug."""
    from dataclasses import replace

    from bplight.config import load_spec

    def broken(spec, base, value):
        raise ValueError("shape mismatch")

    p = next(p for p in PARAMETERS if p.paths[0] == "photonics.modulation_rate_hz")
    bad = replace(p, key="broken")
    object.__setattr__(bad, "apply", broken)
    with pytest.raises(ValueError, match="shape mismatch"):
        explain(CLAIMS[0], 0.01, lenet_rep.workloads, load_spec("bplight-16b"), 8, [bad])


# --- accuracy file --------------------------------------------------------------------------

def test_read_accuracy_known_keys() -> None:
    a = read_accuracy(ACCURACY_JSON)
    raw = json.loads(ACCURACY_JSON.read_text())
    assert a.fp32 == raw["main"]["fp32_test_accuracy"]
    assert a.hardware == raw["main"]["hardware_test_accuracy"]
    assert a.drop_points == pytest.approx(raw["main"]["gap_pp"])
    assert [p.setting for p in a.resolution_sweep] == [r["bits"] for r in
                                                       raw["resolution_sweep"]]
    assert a.noise_sweep[-1].setting is None  # the noise-off point


@pytest.mark.parametrize("drop, needle", [
    (("main", "hardware_test_accuracy"), "main.hardware_test_accuracy"),
    (("sweep_fp32_test_accuracy",), "sweep_fp32_test_accuracy"),
    (("exact_inference",), "exact_inference.accuracy"),
])
def test_missing_key_names_key_and_file(tmp_path: Path, drop, needle) -> None:
    data = json.loads(ACCURACY_JSON.read_text())
    node = data
    for k in drop[:-1]:
        node = node[k]
    del node[drop[-1]]
    p = tmp_path / "acc.json"
    p.write_text(json.dumps(data))
    with pytest.raises(InputError, match=f"{p}.*'{needle}'"):
        read_accuracy(p)


def test_guessable_but_unknown_keys_are_refused(tmp_path: Path) -> None:
    p = tmp_path / "a.json"
    p.write_text(json.dumps({"fp32_accuracy": 0.99, "hardware_accuracy": 0.985}))
    with pytest.raises(InputError, match="no key 'main.epochs'"):
        read_accuracy(p)


def test_bad_accuracy_files(tmp_path: Path) -> None:
    p = tmp_path / "a.json"
    p.write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        read_accuracy(p)
    data = json.loads(ACCURACY_JSON.read_text())
    data["main"]["fp32_test_accuracy"] = 99.02  # a percentage where a fraction belongs
    p.write_text(json.dumps(data))
    with pytest.raises(InputError, match=r"main.fp32_test_accuracy' is 99.02; allowed"):
        read_accuracy(p)
    with pytest.raises(InputError, match="no such file"):
        read_accuracy(tmp_path / "absent.json")


# --- document --------------------------------------------------------------------------------

def test_template_has_every_placeholder_filled(lenet_rep) -> None:
    placeholders = {m.group("named") or m.group("braced")
                    for m in template().pattern.finditer(template().template)
                    if m.group("named") or m.group("braced")}
    assert {"claims_table", "accuracy", "reasons", "common_cause"} <= placeholders
    text = render_markdown(lenet_rep)
    assert "$" not in text
    for claim in CLAIMS:
        assert claim.text in text
    off = [line for line in text.splitlines() if line.startswith("| ") and "| no |" in line]
    reasons = text.split("## Why the numbers differ")[1].split("**Common cause.**")[0]
    assert len([r for r in reasons.splitlines() if r.startswith("- **")]) == len(off) == 6
    acc = read_accuracy(ACCURACY_JSON)
    assert f"{100 * acc.fp32:.2f} %" in text and f"{acc.drop_points:.2f} points" in text
    assert "| no noise |" in text


# --- command ---------------------------------------------------------------------------------

def test_reproduce_json_and_document(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = tmp_path / "r.md"
    code, out, err = run_cli(capsys, "reproduce", "--out", str(doc), "--models", "lenet5",
                             "--batch", "8", "--accuracy-json", str(ACCURACY_JSON), "--json")
    assert code == 0, err
    data = json.loads(out.strip().splitlines()[-1], parse_constant=pytest.fail)
    assert [c["key"] for c in data["claims"]] == [c.key for c in CLAIMS]
    # the FP32 accuracy of the benchmark file, passed through
    fp32 = read_accuracy(ACCURACY_JSON).fp32
    assert data["accuracy"]["fp32_test_accuracy"] == pytest.approx(fp32)
    assert data["out"] == str(doc)
    text = doc.read_text()
    assert "--accuracy-json" in text.splitlines()[2]  # the command that made it
    for c in data["claims"]:
        assert f"| {c['text']} |" in text


def test_missing_accuracy_file_is_an_error_and_writes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = tmp_path / "docs" / "reproduction.md"
    code, out, err = run_cli(capsys, "reproduce", "--out", str(doc), "--models", "lenet5",
                             "--accuracy-json", str(tmp_path / "none.json"))
    assert code == 2
    assert err.count("\n") == 1 and "none.json" in err and "bench_accuracy.py" in err
    assert not doc.exists() and not doc.parent.exists()


@pytest.mark.parametrize("argv, needle", [
    (("--models", "lenet5,resnet"), "--models"),
    (("--batch", "0"), "--batch 0"),
])
def test_bad_flags_one_sentence(capsys: pytest.CaptureFixture[str], argv, needle) -> None:
    code, _, err = run_cli(capsys, "reproduce", "--out", "/nonexistent/x.md", *argv)
    assert code == 2 and needle in err and err.count("\n") == 1


def _path_defaults(parser) -> list[tuple[str, str]]:
    """(command flag, default) for every option of every subcommand whose default is a
    path of a file or folder the command writes."""
    import argparse

    out = []
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, p in sub.choices.items():
        for a in p._actions:
            if isinstance(a.default, str) and any(w in a.dest for w in ("out", "dir", "plot")):
                out.append((f"{name} {a.option_strings[0]}", a.default))
    return out


def test_no_default_output_is_a_tracked_file() -> None:
    """Writing a tracked file (docs/reproduction.md, ...) needs the user to name it."""
    defaults = _path_defaults(build_parser())
    assert ("reproduce --out", DEFAULT_OUT) in defaults
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: no tracked files to protect")
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.splitlines()
    assert "docs/reproduction.md" in tracked
    for flag, default in defaults:
        path = Path(default).as_posix().rstrip("/")
        hit = [t for t in tracked if t == path or t.startswith(path + "/")]
        assert not hit, f"{flag} defaults to {default}, which holds tracked files {hit[:3]}"
