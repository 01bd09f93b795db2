"""The Ray backend against a real local Ray head on 127.0.0.1: the same results as the
process pool on a small sweep with real training, and a point that kills its worker
recorded as failed. Skipped (with the reason) only where Ray is not installed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'bplight[ray]')")

from bplight.experiments.sweep import (  # noqa: E402
    SweepOptions,
    SweepStore,
    load_sweep_spec,
    run_sweep,
)

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ray_head(tmp_path_factory: pytest.TempPathFactory):
    """``ray start --head --block`` on 127.0.0.1 (2 CPUs); stopped (SIGTERM to that
    process, which stops what it started) after the module."""
    port = _free_port()
    ray_bin = Path(sys.executable).parent / "ray"
    log = tmp_path_factory.mktemp("ray") / "head.log"
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    with open(log, "w") as f:
        proc = subprocess.Popen(
            [str(ray_bin), "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}",
             "--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats", "--block"],
            stdout=f, stderr=subprocess.STDOUT, env=env)
    deadline = time.time() + 120
    while "--block" not in log.read_text() and time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"ray start failed: {log.read_text()[-2000:]}")
        time.sleep(0.5)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()


def _records(run: Path) -> dict[tuple, tuple]:
    with SweepStore.open(run) as store:
        return {(r.kind, r.workload, r.seed, str(sorted(r.design.items()))):
                (r.status, r.objectives.get("accuracy")) for r in store.records()
                if r.kind != "cost"}


def test_ray_matches_the_pool_on_real_training(ray_head: str, tmp_path: Path,
                                               monkeypatch) -> None:
    from test_train_cli import make_pattern_mnist

    data = tmp_path / "data"
    make_pattern_mnist(data, n_train=128, n_test=64)
    spec = {"name": "r", "parameters": {"forward.adc_bits": [2, 6]},
            "workloads": {"cost": [{"model": "lenet5", "batch": 16}],
                          "accuracy": [{"model": "lenet5", "dataset": "mnist", "subset": 128,
                                        "epochs": 1, "batch_size": 64}]},
            "accuracy": "all", "data_root": str(data)}
    r = load_sweep_spec(spec)
    pool = run_sweep(r, tmp_path / "pool", SweepOptions(workers=2, progress=False,
                                                         outputs=False))
    on_ray = run_sweep(r, tmp_path / "ray", SweepOptions(backend="ray", address=ray_head,
                                                          progress=False, outputs=False))
    assert pool.failed == on_ray.failed == 0
    a, b = _records(tmp_path / "pool"), _records(tmp_path / "ray")
    assert len(a) == 3 and a == b  # FP32 + 2 designs: the same accuracies, bit for bit


def test_ray_records_a_crashing_point_as_failed(ray_head: str, tmp_path: Path,
                                                monkeypatch) -> None:
    spec = {"name": "c", "parameters": {"forward.adc_bits": [3, 6]},
            "workloads": {"cost": [{"model": "lenet5", "batch": 4}],
                          "accuracy": [{"model": "lenet5", "subset": 64}]},
            "accuracy": "all"}
    run = run_sweep(load_sweep_spec(spec), tmp_path / "run", SweepOptions(
        backend="ray", address=ray_head, progress=False, outputs=False,
        train_fn="sweep_points:slow_point"))
    assert run.failed == 1
    with SweepStore.open(tmp_path / "run") as store:
        recs = {r.design.get("forward.adc_bits"): r for r in store.records("accuracy")}
    assert recs[3].status == "failed" and "worker process died" in recs[3].error
    assert recs[6].status == "done" and recs[6].objectives["accuracy"] == pytest.approx(0.93)


def test_unreachable_address_is_one_sentence(tmp_path: Path) -> None:
    from bplight.errors import ConfigError

    spec = {"name": "u", "parameters": {"forward.adc_bits": [6]},
            "workloads": {"accuracy": [{"model": "lenet5", "subset": 64}]},
            "accuracy": "all"}
    with pytest.raises(ConfigError, match="no Ray cluster could be reached"):
        run_sweep(load_sweep_spec(spec), tmp_path / "run", SweepOptions(
            backend="ray", address=f"127.0.0.1:{_free_port()}", progress=False,
            outputs=False, train_fn="sweep_points:slow_point"))
