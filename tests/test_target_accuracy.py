"""``bplight train --target-accuracy``: epochs and images to a test accuracy, and what they
cost on the chip (cost engine) and on the GTX 1080 and PipeLayer baselines."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest
from test_train_cli import make_pattern_mnist

from bplight.baselines.registry import get_baseline
from bplight.cli import main
from bplight.config import load_spec
from bplight.cost.engine import estimate
from bplight.data import datasets as ds_mod
from bplight.experiments.target import time_to_target
from bplight.models import build_model
from bplight.workload import Workload

TARGET = 0.5


@pytest.fixture(scope="module")
def target_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, str]:
    root = tmp_path_factory.mktemp("data")
    make_pattern_mnist(root)
    run = tmp_path_factory.mktemp("runs") / "target"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ds_mod, "local_source_dirs", lambda name: [])
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            assert main(["train", "--epochs", "3", "--lr", "0.1", "--batch-size", "64",
                         "--run-dir", str(run), "--data-root", str(root),
                         "--target-accuracy", str(TARGET), "--quiet", "--json"]) == 0
    out = buf.getvalue()
    return run, json.loads(out.strip().splitlines()[-1]), out


def _first(history: list[dict], target: float) -> dict:
    return next(r for r in history if r["test_accuracy"] >= target)


def test_target_costs_images_times_the_per_image_estimates(target_run) -> None:
    run, printed, text = target_run
    summary = json.loads((run / "summary.json").read_text())
    rec = summary["target"]
    assert printed["target"] == rec and rec["target_accuracy"] == TARGET
    metrics = json.loads((run / "metrics.json").read_text())
    workload = Workload.from_model(build_model("lenet5", 1, 10, 28), (1, 28, 28))
    spec = load_spec("bplight-16b")
    batch = 64
    chip = estimate(workload, spec, "train", batch,
                    write_fraction=summary["memristor"]["write_fraction"])
    hw = _first(metrics["hardware"], TARGET)
    row = rec["designs"]["chip"]
    assert row["reached"] and row["epochs"] == hw["epoch"] and row["trained_as"] == "hardware"
    assert row["images"] == hw["images_seen"] == 600 * hw["epoch"]  # 600 training images
    assert row["seconds"] == pytest.approx(row["images"] * chip.latency_s / batch)
    assert row["joules"] == pytest.approx(row["images"] * chip.energy_j / batch)
    fp = _first(metrics["fp32"], TARGET)
    for name in ("gtx1080", "pipelayer"):
        base = get_baseline(name).estimate(workload, "train", batch)
        row = rec["designs"][name]
        assert row["epochs"] == fp["epoch"] and row["images"] == fp["images_seen"]
        assert row["joules"] == pytest.approx(fp["images_seen"] * base.energy_j / batch)
        assert row["seconds"] == pytest.approx(fp["images_seen"] * base.latency_s / batch)
    assert f"to test accuracy {TARGET}:" in text and "pipelayer" in text


def test_unreached_target_is_null_with_a_reason() -> None:
    history = [{"epoch": 1, "test_accuracy": 0.4, "images_seen": 600},
               {"epoch": 2, "test_accuracy": 0.6, "images_seen": 1200}]
    costs = {"chip": {"seconds_per_image": 1.0, "joules_per_image": 2.0, "design": "x"},
             "gtx1080": {"seconds_per_image": 3.0, "joules_per_image": 4.0,
                         "design": "gtx1080"}}
    rec = time_to_target(0.5, history, history, costs)
    assert rec["designs"]["chip"]["images"] == 1200 and rec["designs"]["chip"]["epochs"] == 2
    assert rec["designs"]["gtx1080"]["joules"] == pytest.approx(4.0 * 1200)
    rec = time_to_target(0.7, history, None, costs)
    chip, gpu = rec["designs"]["chip"], rec["designs"]["gtx1080"]
    assert not chip["reached"] and chip["seconds"] is None and chip["joules"] is None
    assert "did not reach" in chip["seconds_reason"]
    assert not gpu["reached"] and "--no-baseline" in gpu["joules_reason"]


@pytest.mark.parametrize("value", ["0", "1.5", "-0.1"])
def test_bad_target_is_one_sentence(value: str, tmp_path: Path, capsys) -> None:
    assert main(["train", "--target-accuracy", value, "--run-dir", str(tmp_path / "r"),
                 "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert f"--target-accuracy {float(value)}" in err and "(0, 1]" in err
    assert len(err.splitlines()) == 1 and not (tmp_path / "r").exists()
