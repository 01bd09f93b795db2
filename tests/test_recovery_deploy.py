"""Deployment of an FP32-trained network onto the chip, as is and after noise-aware
fine-tuning (``bplight train --init-from RUN --finetune-on host|chip``), on a tiny case."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest
import torch
from test_train_cli import FAST, make_pattern_mnist

from bplight.cli import main
from bplight.config import load_spec
from bplight.data import datasets as ds_mod
from bplight.experiments.deploy import host_spec


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(data root, an FP32 run of one epoch on the pattern data)."""
    root = tmp_path_factory.mktemp("data")
    make_pattern_mnist(root)
    run = tmp_path_factory.mktemp("runs") / "fp32"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ds_mod, "local_source_dirs", lambda name: [])
        with contextlib.redirect_stdout(io.StringIO()):
            assert main(["train", "--hardware", "fp32", "--epochs", "1", "--run-dir",
                         str(run), "--data-root", str(root), *FAST]) == 0
    return root, run


def _finetune(source, tmp_path, monkeypatch, capsys, *extra: str) -> dict:
    root, run = source
    monkeypatch.setattr(ds_mod, "local_source_dirs", lambda name: [])
    out = tmp_path / "ft"
    rc = main(["train", "--init-from", str(run), "--epochs", "1", "--lr", "0.01",
               "--no-baseline", "--run-dir", str(out), "--data-root", str(root),
               "--hardware", "bplight-16b", "--set", "update.weight_bits=6", *FAST, *extra])
    assert rc == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_host_spec_keeps_the_forward_product_only():
    spec = load_spec("bplight-8b-1x2")
    h = host_spec(spec)
    assert h.forward == spec.forward
    assert not h.error.analog and not h.weight_grad.analog and not h.update.memristor
    assert h.photonics == spec.photonics and h.name == spec.name


@pytest.mark.parametrize("place", ["host", "chip"])
def test_finetune_records_as_is_and_finetuned_accuracy_and_cost(source, tmp_path, monkeypatch,
                                                                capsys, place):
    s = _finetune(source, tmp_path, monkeypatch, capsys, "--finetune-on", place)
    d = s["deploy"]
    assert d["source_run"] == str(source[1]) and d["finetune_on"] == place
    assert d["finetune_epochs"] == 1 and d["finetune_images"] == 256
    for key in ("source_fp32_test_accuracy", "as_is_test_accuracy", "finetuned_test_accuracy"):
        assert 0.0 <= d[key] <= 1.0
    assert d["gain_pp"] == pytest.approx(100 * (d["finetuned_test_accuracy"]
                                                - d["as_is_test_accuracy"]))
    assert d["finetune_joules"] == pytest.approx(256 * d["joules_per_image"])
    if place == "chip":  # trained on the chip: its own test accuracy, its own cost
        assert d["finetuned_test_accuracy"] == s["test_accuracy"]
        assert d["cost_design"] == "bplight-16b"
    else:
        assert d["cost_design"] != "bplight-16b"  # the host GPU's cost per image
        ckpt = torch.load(tmp_path / "ft" / "checkpoint-hardware.pt", weights_only=True)
        assert not any(k.endswith("mem_codes") for k in ckpt["model"])  # float weights
    # the fine-tuning started from the source's weights, not a fresh initialisation
    args = json.loads((tmp_path / "ft" / "args.json").read_text())
    assert args["init_from"] == str(source[1]) and args["finetune_on"] == place


def test_init_from_refuses_a_run_of_another_network(source, tmp_path, monkeypatch, capsys):
    root, run = source
    monkeypatch.setattr(ds_mod, "local_source_dirs", lambda name: [])
    rc = main(["train", "--init-from", str(run), "--model", "vgg8", "--run-dir",
               str(tmp_path / "x"), "--data-root", str(root), *FAST])
    assert rc == 2
    err = capsys.readouterr().err
    assert "trained model = 'lenet5'" in err and not (tmp_path / "x").exists()
    rc = main(["train", "--finetune-on", "host", "--run-dir", str(tmp_path / "y"),
               "--data-root", str(root), *FAST])
    assert rc == 2 and "--finetune-on needs --init-from" in capsys.readouterr().err
