"""``bplight train``: learns through the chip model, run directory, resume, NaN, errors."""

from __future__ import annotations

import gzip
import json
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from bplight.cli import main
from bplight.data import datasets as ds_mod
from bplight.experiments import train as train_mod


def _write_idx(path: Path, arr: np.ndarray) -> None:
    header = struct.pack(">I", 0x0800 | arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(header + np.ascontiguousarray(arr, np.uint8).tobytes()))


def make_pattern_mnist(root: Path, n_train: int = 600, n_test: int = 200) -> None:
    """MNIST-layout data whose class is a bright 6x6 block at one of 10 places."""
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        imgs = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
        for i, k in enumerate(labels):
            r, c = 2 + 12 * (k // 5), 2 + 5 * (k % 5)
            imgs[i, r:r + 6, c:c + 6] = 255
        _write_idx(root / "mnist" / f"{prefix}-images-idx3-ubyte.gz", imgs)
        _write_idx(root / "mnist" / f"{prefix}-labels-idx1-ubyte.gz", labels)


@pytest.fixture
def data_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(ds_mod, "local_source_dirs", lambda name: [])
    root = tmp_path / "data"
    make_pattern_mnist(root)
    return root


def _last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


def test_train_learns_through_the_chip_and_writes_the_run(data_root: Path, tmp_path: Path,
                                                          capsys) -> None:
    run = tmp_path / "run"
    rc = main(["train", "--model", "lenet5", "--dataset", "mnist", "--hardware", "bplight-16b",
               "--epochs", "3", "--batch-size", "32", "--data-root",
               str(data_root), "--run-dir", str(run), "--json", "--quiet"])
    assert rc == 0
    s = _last_json(capsys.readouterr().out)
    assert s["hardware"] == "bplight-16b" and s["epochs"] == 3 and s["run_dir"] == str(run)
    assert 0.0 <= s["test_accuracy"] <= 1.0
    assert s["test_accuracy"] > 0.8 and s["fp32_test_accuracy"] > 0.8
    for name in ("config.yaml", "args.json", "metrics.json", "metrics.csv", "summary.json",
                 "checkpoint-hardware.pt", "checkpoint-fp32.pt"):
        assert (run / name).exists(), name
    metrics = json.loads((run / "metrics.json").read_text())
    assert [r["epoch"] for r in metrics["hardware"]] == [1, 2, 3]
    assert metrics["hardware"][-1]["memristor_cell_writes"] > 0
    ckpt = torch.load(run / "checkpoint-hardware.pt", weights_only=True)
    assert ckpt["epoch"] == 3
    assert not list(run.glob(".*.tmp"))


def test_resume_extends_a_finished_run(data_root: Path, tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    common = ["--data-root", str(data_root), "--quiet", "--json"]
    assert main(["train", "--epochs", "1", "--batch-size", "64", "--no-baseline",
                 "--run-dir", str(run), *common]) == 0
    first = _last_json(capsys.readouterr().out)
    assert main(["train", "--resume", str(run), "--epochs", "2", *common]) == 0
    second = _last_json(capsys.readouterr().out)
    hist = json.loads((run / "metrics.json").read_text())["hardware"]
    assert [r["epoch"] for r in hist] == [1, 2]
    assert hist[0]["test_accuracy"] == first["test_accuracy"]
    assert second["epochs"] == 2


def test_interrupted_run_resumes_to_the_same_result(data_root: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys) -> None:
    common = ["--data-root", str(data_root), "--quiet", "--json", "--batch-size", "64",
              "--epochs", "2"]
    assert main(["train", "--run-dir", str(tmp_path / "a"), *common]) == 0
    straight = _last_json(capsys.readouterr().out)
    real = train_mod.evaluate
    calls = {"n": 0}

    def interrupted(*a, **k):  # Ctrl-C while the second epoch is being evaluated
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(train_mod, "evaluate", interrupted)
    assert main(["train", "--run-dir", str(tmp_path / "b"), *common]) == 130
    ckpt = torch.load(tmp_path / "b" / "checkpoint-hardware.pt", weights_only=True)
    assert ckpt["epoch"] == 1
    monkeypatch.setattr(train_mod, "evaluate", real)
    assert main(["train", "--resume", str(tmp_path / "b"), "--data-root", str(data_root),
                 "--quiet", "--json"]) == 0
    resumed = _last_json(capsys.readouterr().out)
    assert resumed["test_accuracy"] == straight["test_accuracy"]
    assert resumed["fp32_test_accuracy"] == straight["fp32_test_accuracy"]


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(
        data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    run = tmp_path / "run"
    common = ["--data-root", str(data_root), "--quiet", "--batch-size", "64", "--no-baseline",
              "--run-dir", str(run)]
    assert main(["train", "--epochs", "1", *common]) == 0
    good = (run / "checkpoint-hardware.pt").read_bytes()
    args = json.loads((run / "args.json").read_text())
    args["epochs"] = 2
    (run / "args.json").write_text(json.dumps(args))
    real = train_mod.F.cross_entropy
    calls = {"n": 0}

    def poisoned(*a, **k):
        calls["n"] += 1
        loss = real(*a, **k)
        return loss * float("nan") if calls["n"] == 3 else loss

    monkeypatch.setattr(train_mod.F, "cross_entropy", poisoned)
    rc = main(["train", "--resume", str(run), "--data-root", str(data_root), "--quiet"])
    assert rc == 3
    assert "nan" in capsys.readouterr().err.lower()
    assert (run / "checkpoint-hardware.pt").read_bytes() == good


@pytest.mark.parametrize("argv,needle", [
    (["--model", "resnet50"], "--model"),
    (["--dataset", "imagenet"], "imagenet"),
    (["--epochs", "0"], "--epochs"),
    (["--hardware", "nonsense-chip"], "unknown hardware preset"),
    (["--set", "forward.adc_bits=99"], "forward.adc_bits"),
    (["--lr", "-1"], "--lr"),
])
def test_bad_input_gets_one_sentence_and_exit_2(argv: list[str], needle: str, tmp_path: Path,
                                               capsys) -> None:
    rc = main(["train", "--run-dir", str(tmp_path / "r"), "--quiet", *argv])
    err = capsys.readouterr().err
    assert rc == 2
    assert needle in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_existing_run_dir_is_not_overwritten(data_root: Path, tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    common = ["--data-root", str(data_root), "--quiet", "--epochs", "1", "--no-baseline",
              "--run-dir", str(run), "--subset", "64"]
    assert main(["train", *common]) == 0
    before = (run / "metrics.json").read_text()
    assert main(["train", *common]) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert (run / "metrics.json").read_text() == before


def test_missing_dataset_is_a_clear_error(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(ds_mod, "local_source_dirs", lambda name: [])
    rc = main(["train", "--data-root", str(tmp_path / "empty"), "--quiet",
               "--run-dir", str(tmp_path / "r")])
    assert rc == 2
    assert "bplight data fetch mnist" in capsys.readouterr().err
