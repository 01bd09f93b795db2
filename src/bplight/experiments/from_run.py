"""What a training run measured that the cost engine can use (``bplight estimate
--from-run RUN_DIR``).

A run directory of ``bplight train`` holds ``config.yaml`` (the resolved hardware
description it trained on) and, once finished, ``summary.json``. A hardware run with
memristor weight updates records its writes there under one known key::

    "memristor": {"cell_writes": int, "cells": int, "steps": int, "write_fraction": float}

``write_fraction`` = cell_writes / (cells × steps): the fraction of the memristor cells
one weight update re-programmed on average (under ``update.write_policy: changed`` only
the cells whose digit changed are written). :func:`read_run` reads that key and nothing
else.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bplight.errors import InputError


@dataclass(frozen=True)
class RunWrites:
    """The measured memristor writes of a run and the hardware it trained on."""

    run_dir: Path
    write_fraction: float
    record: dict[str, Any]
    config: Path | None  # the run's config.yaml, None if the file is absent

    def hardware(self) -> str:
        """The run's hardware description (a YAML path ``load_spec`` takes)."""
        if self.config is None:
            raise InputError(f"--from-run {self.run_dir} holds no config.yaml; name the "
                             "hardware the run trained on with --hardware")
        return str(self.config)


def read_summary(run_dir: Path, where: str) -> Any:
    """The parsed ``summary.json`` of a finished run; InputError (one sentence, naming
    ``where``) when it is missing or not valid JSON."""
    path = run_dir / "summary.json"
    if not path.is_file():
        raise InputError(f"{where} holds no summary.json: the run has not finished "
                         f"(`bplight train --resume {run_dir}` completes it)")
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not valid JSON ({exc})") from None


def read_run(run_dir: Path | str) -> RunWrites:
    """The ``memristor`` record of ``run_dir/summary.json``; raises :class:`InputError`
    (one sentence) when the directory, the file or the record is missing or malformed."""
    from bplight import __version__

    run_dir = Path(run_dir)
    where = f"--from-run {run_dir}"
    if not run_dir.is_dir():
        raise InputError(f"{where}: no such run directory")
    data = read_summary(run_dir, where)
    record = data.get("memristor") if isinstance(data, dict) else None
    fraction = record.get("write_fraction") if isinstance(record, dict) else None
    if fraction is None:
        raise InputError(
            f"{where}: the run has no measured write fraction (summary.json has no "
            f"'memristor.write_fraction'); hardware runs with memristor updates "
            f"(update.memristor: true, not fp32) trained by bplight {__version__} or later "
            "record it")
    if (isinstance(fraction, bool) or not isinstance(fraction, (int, float))
            or not math.isfinite(fraction) or not 0.0 <= fraction <= 1.0):
        raise InputError(f"{run_dir / 'summary.json'}: memristor.write_fraction is "
                         f"{fraction!r}; a measured "
                         "fraction of cells lies in [0, 1]")
    config = run_dir / "config.yaml"
    return RunWrites(run_dir, float(fraction), dict(record),
                     config if config.is_file() else None)
