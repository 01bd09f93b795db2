"""benchmarks/bench_accuracy.py: its run cache is keyed on the code and the arguments, so
a rerun after a code change trains again instead of reporting stale accuracy."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from bplight.experiments.train import TrainConfig

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_accuracy",
                                                  ROOT / "benchmarks" / "bench_accuracy.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_source_hash_follows_every_file(bench, tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "a.py").write_text("x = 1\n")
    (pkg / "sub" / "preset.yaml").write_text("rate: 5 GHz\n")
    h0 = bench.source_hash(pkg)
    (pkg / "__pycache__").mkdir()
    (pkg / "__pycache__" / "a.cpython-312.pyc").write_bytes(b"\0")
    assert bench.source_hash(pkg) == h0  # caches do not count
    (pkg / "sub" / "preset.yaml").write_text("rate: 6 GHz\n")
    h1 = bench.source_hash(pkg)
    assert h1 != h0
    (pkg / "sub" / "preset.yaml").rename(pkg / "preset.yaml")  # same content, moved
    assert bench.source_hash(pkg) != h1


def test_cache_key_covers_code_and_arguments(bench) -> None:
    cfg = TrainConfig(epochs=3)
    k = bench.cache_key(cfg, "a" * 64)
    assert bench.cache_key(TrainConfig(epochs=3), "a" * 64) == k
    assert bench.cache_key(TrainConfig(epochs=4), "a" * 64) != k
    assert bench.cache_key(TrainConfig(epochs=3, overrides=("mode=exact",)), "a" * 64) != k
    assert bench.cache_key(cfg, "b" * 64) != k


def test_stale_run_is_not_reused(bench, tmp_path: Path) -> None:
    run = tmp_path / "main"
    run.mkdir()
    (run / "summary.json").write_text(json.dumps({"test_accuracy": 0.99}))
    # a run from before keyed caching (no key file) is not reused
    assert bench.cached_summary(run, "k1") is None
    (run / bench.CACHE_KEY_FILE).write_text(json.dumps({"key": "k1"}))
    assert bench.cached_summary(run, "k1") == {"test_accuracy": 0.99}
    assert bench.cached_summary(run, "k2") is None  # code or arguments changed
    (run / "summary.json").unlink()  # unfinished run
    assert bench.cached_summary(run, "k1") is None


def test_code_version_names_the_commit(bench) -> None:
    v = bench.code_version()
    assert len(v["src_sha256"]) == 64
    if shutil.which("git") and (ROOT / ".git").exists():
        assert len(v["git_commit"]) == 40 and isinstance(v["git_dirty"], bool)
