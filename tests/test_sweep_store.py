"""The sweep's durable store and process pool: a killed worker loses only its point (which
is retried), a point that kills its worker twice is recorded failed with the error, a
killed driver loses only the points in flight and ``--resume`` finishes the sweep with no
point lost or duplicated.

The task function (``tests/sweep_points.py``) stands in for training so that these tests
take seconds; real training runs through the same executors in ``test_sweep.py`` and
``test_sweep_ray.py``."""

from __future__ import annotations

import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bplight.experiments.sweep import SweepOptions, SweepStore, load_sweep_spec, run_sweep
from bplight.experiments.sweep.store import sqlite_is_durable

FN = "sweep_points:slow_point"
TESTS = Path(__file__).parent


def _spec(bits: list[int], seeds: list[int] | None = None) -> dict:
    return {"name": "s", "parameters": {"forward.adc_bits": bits},
            "workloads": {"cost": [{"model": "lenet5", "batch": 4}],
                          "accuracy": [{"model": "lenet5", "subset": 64}]},
            "seeds": seeds or [0], "accuracy": "all"}


def _calls(run: Path) -> list[str]:
    log = run / "calls.log"
    return [line.split()[0] for line in log.read_text().splitlines()] if log.exists() else []


def _opts(**kw) -> SweepOptions:
    base = {"workers": 2, "progress": False, "train_fn": FN, "outputs": False}
    base.update(kw)
    return SweepOptions(**base)


def test_worker_killed_mid_run_loses_only_its_point(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SWEEP_TEST_SLEEP", "1.5")
    r = load_sweep_spec(_spec([4, 6, 8]))
    log = tmp_path / "run" / "calls.log"
    killed: list[tuple[str, int]] = []

    def killer() -> None:  # kill -9 the worker of the first point once it is running
        deadline = time.time() + 120
        while time.time() < deadline:
            if log.exists() and log.read_text().strip():
                point, pid = log.read_text().split()[:2]
                killed.append((point, int(pid)))
                os.kill(int(pid), signal.SIGKILL)
                return
            time.sleep(0.05)

    watcher = threading.Thread(target=killer, daemon=True)
    watcher.start()
    run = run_sweep(r, tmp_path / "run", _opts())
    watcher.join()
    assert run.failed == 0 and killed
    with SweepStore.open(tmp_path / "run") as store:
        recs = store.records("accuracy") + store.records("fp32")
    assert len(recs) == 4 and all(x.status == "done" for x in recs)
    assert sorted(x.objectives["accuracy"] for x in recs if x.kind == "accuracy") == \
        pytest.approx([0.91, 0.93, 0.95])
    retried = [x for x in recs if x.attempts == 2]
    assert [x.id for x in retried] == [killed[0][0]]  # only the killed point ran twice
    assert retried[0].objectives["pid"] != killed[0][1]  # on the replacement worker
    calls = _calls(tmp_path / "run")
    assert len(calls) == 5 and calls.count(killed[0][0]) == 2
    assert sqlite_is_durable(tmp_path / "run" / "sweep.sqlite")


def test_crashing_point_is_retried_once_then_recorded_failed(tmp_path: Path) -> None:
    # 3 kills its worker on every attempt; 5 only on its first
    r = load_sweep_spec(_spec([3, 5, 6]))
    run = run_sweep(r, tmp_path / "run", _opts())
    assert run.failed == 1
    with SweepStore.open(tmp_path / "run") as store:
        recs = {x.design.get("forward.adc_bits"): x for x in store.records("accuracy")}
    assert recs[3].status == "failed" and recs[3].attempts == 2
    assert "worker process died (killed by signal 9)" in recs[3].error
    assert recs[5].status == "done" and recs[5].attempts == 2
    assert recs[6].status == "done" and recs[6].attempts == 1
    calls = _calls(tmp_path / "run")
    assert len(calls) == 1 + 2 + 2 + 1  # fp32, 3 twice, 5 twice, 6 once
    # --resume skips the failed point too, unless asked to retry it
    again = run_sweep(r, tmp_path / "run", _opts(resume=True))
    assert again.accuracy_new == 0 and len(_calls(tmp_path / "run")) == len(calls)
    again = run_sweep(r, tmp_path / "run", _opts(resume=True, retry_failed=True))
    assert again.accuracy_new == 1 and again.failed == 1


_DRIVER = """
import sys
sys.path.insert(0, {tests!r})
from bplight.experiments.sweep import SweepOptions, load_sweep_spec, run_sweep
r = load_sweep_spec({spec!r})
run_sweep(r, {run!r}, SweepOptions(workers=1, progress=False, train_fn={fn!r},
                                    outputs=False))
"""


def _done_count(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        conn = sqlite3.connect(db, timeout=5)
        try:
            return conn.execute("SELECT COUNT(*) FROM points WHERE kind != 'cost'"
                                ).fetchone()[0]
        finally:
            conn.close()
    except sqlite3.OperationalError:
        return 0


def test_killed_driver_resumes_with_no_point_lost_or_duplicated(tmp_path: Path) -> None:
    spec = _spec([4, 6, 7, 8, 10], seeds=[0])  # 5 designs + fp32 = 6 training points
    run = tmp_path / "run"
    env = {**os.environ, "SWEEP_TEST_SLEEP": "0.7"}
    code = _DRIVER.format(tests=str(TESTS), spec=spec, run=str(run), fn=FN)
    proc = subprocess.Popen([sys.executable, "-c", code], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    db = run / "sweep.sqlite"
    deadline = time.time() + 120
    while _done_count(db) < 2 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.1)
    assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
    os.kill(proc.pid, signal.SIGKILL)  # kill -9 the driver mid-sweep
    proc.wait()
    before = _done_count(db)
    assert 2 <= before < 6
    time.sleep(1.5)  # the orphaned worker notices and exits
    with SweepStore.open(run) as store:
        finished_before = {x.id for x in store.records() if x.kind != "cost"}
    calls_before = _calls(run)
    # resume in this process (the same points, the same ids)
    os.environ["SWEEP_TEST_SLEEP"] = "0.05"
    try:
        res = run_sweep(load_sweep_spec(spec), run, _opts(resume=True, workers=1))
    finally:
        del os.environ["SWEEP_TEST_SLEEP"]
    assert res.cost_new == 0
    with SweepStore.open(run) as store:
        recs = [x for x in store.records() if x.kind != "cost"]
    ids = [x.id for x in recs]
    assert len(ids) == 6 == len(set(ids))  # none lost, none duplicated
    assert all(x.status == "done" for x in recs)
    calls = _calls(run)
    rerun = calls[len(calls_before):]
    assert not finished_before & set(rerun)  # finished points were not run again
    assert len(rerun) == 6 - len(finished_before)
    # the orphaned worker did not keep running points after the driver died
    assert len(calls_before) <= len(finished_before) + 1, (run / "calls.log").read_text()


def test_store_needs_resume_and_resume_needs_a_store(tmp_path: Path) -> None:
    from bplight.errors import InputError

    (tmp_path / "f").write_text("x")
    with pytest.raises(InputError, match="is a file"):
        SweepStore.create(tmp_path / "f" / "run", {}, False)
    with pytest.raises(InputError, match="holds no sweep"):
        SweepStore.create(tmp_path / "new", {}, True)
    SweepStore.create(tmp_path / "run", {"a": "1"}, False).close()
    with pytest.raises(InputError, match="add --resume"):
        SweepStore.create(tmp_path / "run", {}, False)
    with SweepStore.create(tmp_path / "run", {"b": "2"}, True) as s:
        assert s.meta()["a"] == "1" and s.meta()["b"] == "2"


def test_a_worker_dying_while_idle_is_replaced(tmp_path: Path) -> None:
    from bplight.experiments.sweep.executors import Task, run_pool

    outcomes = []
    first: list[int] = []

    def kill_before_any_task(pids: list[int]) -> None:
        if not first:  # the pool's first workers: kill one before it gets a task
            first.append(pids[0])
            os.kill(pids[0], signal.SIGKILL)
            time.sleep(0.5)

    tasks = [Task(f"t{i}", {"run_dir": str(tmp_path / "runs" / f"t{i}"), "overrides": [],
                            "seed": 0}) for i in range(3)]
    run_pool(tasks, FN, outcomes.append, workers=2, on_start=kill_before_any_task)
    assert sorted(o.id for o in outcomes) == ["t0", "t1", "t2"]
    assert all(o.ok and o.attempts == 1 for o in outcomes)  # no point was charged for it
    assert first[0] not in {o.result["pid"] for o in outcomes}


def test_objectives_json_is_strict_and_the_float_fast_path_matches() -> None:
    from bplight.experiments.sweep.store import _objectives_json

    floats = {"a_j": 1.5, "b_s": math.nan, "c": math.inf, "d": -math.inf, "e": 1e-320}
    text = _objectives_json(floats)  # the fast path (floats only)
    assert json.loads(text) == {"a_j": 1.5, "b_s": None, "c": None, "d": None, "e": 1e-320}
    assert "NaN" not in text and "Infinity" not in text
    mixed = {**floats, "n": 3}  # the general path
    assert _objectives_json(mixed) == text[:-1] + ', "n": 3}'
    assert json.loads(_objectives_json({"reason": "loss NaN", "x": math.nan})) == {
        "reason": "loss NaN", "x": None}
