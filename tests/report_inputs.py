"""Inputs for the ``bplight report`` tests: real ``estimate`` / ``compare`` JSON produced by
the commands (fast), a small run directory with the files ``bplight train`` writes, and
the repository's reproduction document."""

from __future__ import annotations

import contextlib
import functools
import io
import json
from pathlib import Path

from bplight.cli import main

REPO = Path(__file__).resolve().parents[1]
REPRODUCTION_MD = REPO / "docs" / "reproduction.md"


@functools.lru_cache(maxsize=8)
def _stdout(argv: tuple[str, ...]) -> str:
    """What a bplight command prints (run once per test session and argument list)."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(list(argv)) == 0
    return buf.getvalue()


def command_json(argv: list[str], path: Path) -> dict:
    """Run a bplight command with ``--json``, store its stdout at ``path`` (as the demo
    does with ``> file``) and return the JSON object of its last line."""
    out = _stdout(tuple(argv))
    path.write_text(out)
    return json.loads(out.strip().splitlines()[-1])


def make_estimate(tmp: Path, phase: str = "train") -> Path:
    path = tmp / f"estimate-{phase}.txt"
    command_json(["estimate", "--model", "lenet5", "--input", "1x28x28", "--hardware",
                  "bplight-16b", "--phase", phase, "--batch", "128", "--json"], path)
    return path


def make_compare(tmp: Path) -> Path:
    path = tmp / "compare-train.txt"
    command_json(["compare", "--model", "lenet5", "--input", "1x28x28", "--hardware",
                  "bplight-16b", "--phase", "train", "--batch", "128", "--json"], path)
    return path


def make_run(root: Path, name: str = "hardware-run", hardware: str = "bplight-16b",
             yaml_extra: str = "", summary: bool = True) -> Path:
    """A run directory as ``bplight train`` leaves it after 3 epochs (no checkpoints)."""
    from bplight.config import dump_spec, load_spec

    run = root / name
    run.mkdir(parents=True)
    rows = {"hardware": [], "fp32": []}
    for ep, (hw, fp) in enumerate([(0.951, 0.958), (0.972, 0.976), (0.978, 0.981)], 1):
        for tag, acc in (("hardware", hw), ("fp32", fp)):
            row = {"run": tag, "epoch": ep, "train_loss": 0.9 / ep, "train_accuracy": acc,
                   "test_loss": 1.0 / ep, "test_accuracy": acc, "epoch_time_s": 9.1,
                   "lr": 0.05 * (3 - ep) / 3}
            if tag == "hardware":
                row["memristor_cell_writes"] = 480_000 * ep
            rows[tag].append(row)
    (run / "metrics.json").write_text(json.dumps(rows, indent=2))
    args = {"model": "lenet5", "dataset": "mnist", "hardware": hardware, "overrides": [],
            "epochs": 3, "batch_size": 128, "lr": 0.05, "momentum": 0.9,
            "weight_decay": 0.0, "seed": 0, "subset": None, "width": 1.0,
            "data_root": "/data", "device": "auto", "baseline": True}
    (run / "args.json").write_text(json.dumps(args, indent=2))
    (run / "config.yaml").write_text(yaml_extra + dump_spec(load_spec("bplight-16b")))
    if summary:
        (run / "summary.json").write_text(json.dumps({
            "test_accuracy": 0.978, "fp32_test_accuracy": 0.981, "hardware": hardware,
            "mode": "fast", "model": "lenet5", "dataset": "mnist", "epochs": 3,
            "batch_size": 128, "seed": 0, "subset": None, "device": "cpu",
            "run_dir": str(run), "wall_time_s": 30.2, "accuracy_gap_pp": 0.3,
            "memristor": {"cell_writes": 1_440_000, "cells": 491_760, "steps": 1407,
                          "write_fraction": 0.00208,
                          "wear": {"max_writes_per_cell": 1363, "mean_writes_per_cell": 2.93,
                                   "cells_never_written": 179_467,
                                   "histogram": {"edges": [0, 1, 2, 4, 8],
                                                 "counts": [179_467, 200_000, 100_000,
                                                            12_293]},
                                   "endurance_cycles": 1e6,
                                   "endurance_source": "Huang et al. <HfOx>",
                                   "write_policy": "changed", "lifetime_runs": 733.7}}},
            indent=2))
    return run
