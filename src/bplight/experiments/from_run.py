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

Under ``photonics.ring_model: add_drop`` the weight rings' tuning power depends on the
slice digits they hold: :func:`run_ring_digits` reads the trained weights the run's chip
holds (``checkpoint-hardware.pt``, the ``model`` state dict: the ``weight`` of every
photonic layer) and gives their digit distribution
(:func:`bplight.photonics.tuning.trained_digit_distribution`).
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


CHECKPOINT = "checkpoint-hardware.pt"
"""The hardware run's checkpoint (``bplight train``), read for its trained weights."""


@dataclass(frozen=True)
class RingDigits:
    """The slice-digit distribution the weight rings' tuning is charged over, and where it
    came from: ``p`` None means the stated distribution; ``source`` says which, in words
    (and, when a run's weights were not used, why)."""

    p: Any  # numpy [2L+1] or None
    source: str
    layers: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the source, the layers read and the distribution (None: stated)."""
        return {"source": self.source, "layers": list(self.layers),
                "p": None if self.p is None else [float(x) for x in self.p]}


def run_ring_digits(run_dir: Path | str, spec: Any) -> RingDigits:
    """The slice-digit distribution of the weights the run in ``run_dir`` trained, as the
    rings of ``spec`` (the hardware being costed) hold them. Under ``ring_model: ideal``
    (flat hold power) or non-volatile rings the distribution changes no charge and the
    checkpoint is not read; a run without ``checkpoint-hardware.pt`` or without photonic
    layers in it keeps the stated distribution and says why. A checkpoint that cannot be
    read is an :class:`InputError`."""
    run_dir = Path(run_dir)
    if spec.photonics.ring_model != "add_drop":
        return RingDigits(None, "stated (photonics.ring_model 'ideal' holds every ring at "
                          "a flat power: the trained weights change nothing)")
    if spec.components.weight_ring_tuning == "nonvolatile":
        return RingDigits(None, "stated (non-volatile weight rings hold without power: "
                          "the trained weights change nothing)")
    if spec.forward.weight_bits is None:
        return RingDigits(None, "stated (forward.weight_bits is None: unquantized weights "
                          "have no slice digits)")
    path = run_dir / CHECKPOINT
    if not path.is_file():
        return RingDigits(None, f"stated ({run_dir} holds no {CHECKPOINT})")
    from bplight.experiments.train import load_checkpoint
    from bplight.photonics.tuning import chip_weights, trained_digit_distribution

    try:
        state = load_checkpoint(path)
    except Exception as exc:  # torch raises many kinds for a damaged or foreign file
        why = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise InputError(f"--from-run {run_dir}: {CHECKPOINT} cannot be read ({why}); "
                         "give a run directory written by bplight train") from None
    model = state.get("model") if isinstance(state, dict) else None
    weights = chip_weights(model) if isinstance(model, dict) else {}
    if not weights:
        return RingDigits(None, f"stated ({path} holds no photonic layer weights)")
    p = trained_digit_distribution(spec, weights.values())
    return RingDigits(p, f"trained weights of {run_dir}", tuple(weights))
