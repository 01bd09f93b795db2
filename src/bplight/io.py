"""Atomic, durable file writes: the one writer for run directories, estimates, sweeps,
reports and downloads.

A file is written to a temporary name in the same directory, flushed and ``fsync``-ed,
then moved over the target with ``os.replace`` (atomic on POSIX and Windows), and the
directory entry is synced where the platform allows. A reader therefore sees either the
old file or the complete new one, never a half-written file, even after a crash or
``kill -9``.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # not possible on some platforms (Windows)
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; on normal exit it is fsync-ed and moved
    over ``target``; on an exception it is removed and ``target`` is left untouched.

    For writers that need a path (``torch.save``, ``matplotlib.savefig``, downloads)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    # mkstemp creates 0600; give the file the mode a plain open() would (0666 & ~umask)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write(target: str | os.PathLike[str], write: Callable[[Any], None],
                 binary: bool = False) -> None:
    """Call ``write(fileobj)`` on a temporary file and move it over ``target``."""
    with atomic_path(target) as tmp, open(tmp, "wb" if binary else "w",
                                          **({} if binary else {"encoding": "utf-8"})) as f:
        write(f)


def atomic_write_bytes(target: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``target`` atomically and durably."""
    atomic_write(target, lambda f: f.write(data), binary=True)


def atomic_write_text(target: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``target`` atomically and durably."""
    atomic_write(target, lambda f: f.write(text))


def json_safe(obj: Any) -> Any:
    """``obj`` with every non-finite float (NaN, ±inf) replaced by ``None``, so that the
    result is valid JSON (RFC 8259 has no NaN or Infinity). Numpy scalars become Python
    numbers, tuples become lists."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item) and getattr(obj, "ndim", 1) == 0:
        obj = obj.item()  # numpy / torch scalar
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def dumps_json(obj: Any, indent: int | None = 2) -> str:
    """Strict JSON text of ``obj``: non-finite floats become ``null`` (see
    :func:`json_safe`); ``allow_nan=False`` guarantees no ``NaN`` token is emitted."""
    return json.dumps(json_safe(obj), indent=indent, allow_nan=False) + "\n"


def atomic_write_json(target: str | os.PathLike[str], obj: Any, indent: int | None = 2
                      ) -> None:
    """Write ``obj`` as strict JSON (see :func:`dumps_json`) atomically."""
    atomic_write_text(target, dumps_json(obj, indent))
