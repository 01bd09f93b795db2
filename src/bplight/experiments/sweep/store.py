"""The durable store of a sweep: one SQLite file (``sweep.sqlite``) in the run directory.

SQLite in WAL mode with ``synchronous=FULL``: every finished point is committed in its
own transaction (cost points, which the vectorised engine finishes together, one
transaction per evaluated block), so a reader, a ``--resume`` or a crash sees a point
either completely or not at all; ``kill -9`` of the driver loses only the points in
flight. Only the driver writes.

Tables:

* ``meta`` (key, value): the sweep spec (YAML text), the resolved base hardware
  description, its hash, the code version, the creation time;
* ``points``: one row per finished point — ``id`` (a hash of what defines the point:
  kind, base hardware, parameter values, workload, seed), ``kind`` (``cost``,
  ``accuracy`` or ``fp32``), ``design`` (the parameter values, JSON), ``workload``,
  ``seed``, ``status`` (``done``, ``infeasible`` or ``failed``), ``reason`` (why it is
  infeasible), ``error`` (why it failed), ``attempts``, ``objectives`` (strict JSON),
  ``hardware`` (the resolved hardware description of an accuracy point as YAML; a cost
  point's is the base's with its ``design`` applied: :func:`resolved_hardware`),
  ``code_version`` and timings.
"""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bplight.errors import InputError
from bplight.io import dumps_json

STORE_NAME = "sweep.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS points (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    design TEXT NOT NULL,
    workload TEXT NOT NULL,
    seed INTEGER,
    status TEXT NOT NULL CHECK (status IN ('done', 'infeasible', 'failed')),
    reason TEXT,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 1,
    objectives TEXT NOT NULL,
    hardware TEXT,
    code_version TEXT NOT NULL,
    wall_s REAL,
    finished_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS points_kind ON points(kind, workload);
"""


def point_id(kind: str, base_hash: str, design_key: str, workload: str,
             seed: int | None) -> str:
    """The identity of a point: the same inputs give the same id in every run."""
    text = "\x1f".join((kind, base_hash, design_key, workload, str(seed)))
    return hashlib.sha256(text.encode()).hexdigest()[:24]


_CODE_VERSION: str | None = None


def code_version() -> str:
    """``bplight <version> git <commit>[+dirty] src <hash of the package's .py files>``."""
    global _CODE_VERSION
    if _CODE_VERSION is not None:
        return _CODE_VERSION
    import bplight

    pkg = Path(bplight.__file__).parent
    h = hashlib.sha256()
    for f in sorted(pkg.rglob("*.py")):
        h.update(str(f.relative_to(pkg)).encode())
        h.update(f.read_bytes())
    parts = [f"bplight {bplight.__version__}"]
    try:
        commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=pkg,
                                capture_output=True, text=True, timeout=10)
        if commit.returncode == 0 and commit.stdout.strip():
            dirty = subprocess.run(["git", "status", "--porcelain", "--", "."], cwd=pkg,
                                   capture_output=True, text=True, timeout=10)
            flag = "+dirty" if dirty.returncode == 0 and dirty.stdout.strip() else ""
            parts.append(f"git {commit.stdout.strip()}{flag}")
    except (OSError, subprocess.SubprocessError):
        pass
    parts.append(f"src {h.hexdigest()[:12]}")
    _CODE_VERSION = " ".join(parts)
    return _CODE_VERSION


@dataclass
class PointRecord:
    """One finished point, as written to and read from the store."""

    id: str
    kind: str
    design: dict[str, Any]
    workload: str
    seed: int | None
    status: str
    objectives: dict[str, Any]
    reason: str | None = None
    error: str | None = None
    attempts: int = 1
    hardware: str | None = None
    wall_s: float | None = None
    code_version: str = ""
    design_text: str | None = field(default=None, repr=False, compare=False)
    """The design's canonical JSON (:func:`~.spec.design_key`) where the caller has it
    already (written as is; computed from ``design`` otherwise)."""


class SweepStore:
    """A sweep's SQLite store (create with :meth:`create`, reopen with :meth:`open`)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.executescript(_SCHEMA)

    # -- opening --------------------------------------------------------------------------
    @classmethod
    def create(cls, run_dir: Path, meta: dict[str, str], resume: bool) -> SweepStore:
        """Open the store of ``run_dir``: a new one, or (``resume``) the existing one.
        InputError if a sweep is already there and ``resume`` is not set, or if
        ``resume`` is set and there is none."""
        run_dir = Path(run_dir)
        for p in (run_dir, *run_dir.parents):
            if p.exists() and not p.is_dir():
                raise InputError(f"sweep output {run_dir}: {p} is a file, not a directory; "
                                 "choose another --out")
        path = run_dir / STORE_NAME
        if path.exists() and not resume:
            raise InputError(f"{run_dir} already holds a sweep; add --resume to finish it or "
                             "choose another --out")
        if resume and not path.exists():
            raise InputError(f"--resume: {run_dir} holds no sweep ({STORE_NAME} is missing); "
                             "drop --resume to start one")
        run_dir.mkdir(parents=True, exist_ok=True)
        store = cls(path)
        with store.transaction():
            for k, v in meta.items():
                store.conn.execute("INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) "
                                   "DO UPDATE SET value = excluded.value", (k, v))
            if not resume:
                store.conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES(?, ?)",
                                   ("created_at", str(time.time())))
        return store

    @classmethod
    def open(cls, run_dir: Path) -> SweepStore:
        """An existing sweep's store (InputError naming the directory if there is none)."""
        path = Path(run_dir) / STORE_NAME
        if not path.is_file():
            raise InputError(f"{run_dir} holds no sweep ({STORE_NAME} is missing); give the "
                             "directory a `bplight sweep` run wrote")
        return cls(path)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> SweepStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing --------------------------------------------------------------------------
    class _Tx:
        def __init__(self, conn: sqlite3.Connection) -> None:
            self.conn = conn

        def __enter__(self) -> sqlite3.Connection:
            self.conn.execute("BEGIN IMMEDIATE")
            return self.conn

        def __exit__(self, typ, *rest) -> None:
            self.conn.execute("COMMIT" if typ is None else "ROLLBACK")

    def transaction(self) -> SweepStore._Tx:
        return SweepStore._Tx(self.conn)

    def put(self, records: Iterable[PointRecord]) -> int:
        """Write finished points in one transaction (a point already stored is replaced,
        so a point is never duplicated). Returns how many were written."""
        now = time.time()
        rows = [(r.id, r.kind, r.design_text or json.dumps(r.design, sort_keys=True,
                                                            default=str), r.workload,
                 r.seed, r.status, r.reason, r.error, r.attempts,
                 _objectives_json(r.objectives), r.hardware,
                 r.code_version or code_version(), r.wall_s, now) for r in records]
        with self.transaction() as c:
            c.executemany("INSERT OR REPLACE INTO points(id, kind, design, workload, seed, "
                          "status, reason, error, attempts, objectives, hardware, "
                          "code_version, wall_s, finished_at) "
                          "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        return len(rows)

    # -- reading --------------------------------------------------------------------------
    def meta(self) -> dict[str, str]:
        return dict(self.conn.execute("SELECT key, value FROM meta"))

    def finished_ids(self, include_failed: bool = True) -> set[str]:
        q = "SELECT id FROM points" + ("" if include_failed else
                                        " WHERE status != 'failed'")
        return {r[0] for r in self.conn.execute(q)}

    def records(self, kind: str | None = None) -> list[PointRecord]:
        q = ("SELECT id, kind, design, workload, seed, status, objectives, reason, error, "
             "attempts, hardware, wall_s, code_version FROM points")
        args: tuple = ()
        if kind is not None:
            q += " WHERE kind = ?"
            args = (kind,)
        q += " ORDER BY finished_at, id"
        out = []
        for row in self.conn.execute(q, args):
            out.append(PointRecord(id=row[0], kind=row[1], design=json.loads(row[2]),
                                   workload=row[3], seed=row[4], status=row[5],
                                   objectives=json.loads(row[6]), reason=row[7],
                                   error=row[8], attempts=row[9], hardware=row[10],
                                   wall_s=row[11], code_version=row[12]))
        return out

    def count(self) -> dict[str, int]:
        return dict(self.conn.execute("SELECT status, COUNT(*) FROM points GROUP BY status"))


def _objectives_json(obj: dict[str, Any]) -> str:
    """Strict JSON of a flat dict of numbers (non-finite -> null); nested values go
    through :func:`bplight.io.dumps_json`."""
    if all(type(v) is float for v in obj.values()) and not any(":" in k for k in obj):
        # a cost point (floats only): Python's encoder writes non-finite floats as the
        # bare tokens NaN / Infinity / -Infinity, after ": " (no key holds a colon)
        text = json.dumps(obj)
        if "NaN" in text or "Infinity" in text:
            text = text.replace(": NaN", ": null").replace(": -Infinity", ": null").replace(
                ": Infinity", ": null")
        return text
    flat = {}
    for k, v in obj.items():
        if isinstance(v, float):
            flat[k] = v if math.isfinite(v) else None
        elif v is None or isinstance(v, (int, str, bool)):
            flat[k] = v
        else:
            return dumps_json(obj, indent=None).strip()
    return json.dumps(flat, allow_nan=False)


def resolved_hardware(store: SweepStore, design: dict[str, Any]) -> Any:
    """The resolved hardware description (HardwareSpec) of ``design`` in ``store``'s
    sweep: the stored base description with the design's values applied."""
    import yaml

    from bplight.config.dotted import merge_into, nested
    from bplight.config.loader import load_spec
    from bplight.config.spec import HardwareSpec

    base = HardwareSpec.model_validate(yaml.safe_load(store.meta()["base_hardware"]))
    over: dict[str, Any] = {}
    for k, v in design.items():
        merge_into(over, nested(k, v))
    return load_spec(base, over)


def sqlite_is_durable(path: Path) -> bool:
    """Whether the store at ``path`` is in WAL mode (for tests and diagnostics)."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


__all__ = ["STORE_NAME", "PointRecord", "SweepStore", "code_version", "point_id",
           "resolved_hardware", "sqlite_is_durable"]
