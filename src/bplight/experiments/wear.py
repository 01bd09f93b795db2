"""Memristor wear of a training run: how often each cell was re-programmed, and how many
such runs the cells survive.

:func:`wear_record` reads the per-cell write counts of a
:class:`~bplight.numerics.update.MemristorWriter` after training (the counts cover every
step the run trained, resumed parts included) and returns a JSON-ready record:

* ``max_writes_per_cell`` / ``mean_writes_per_cell`` and a histogram of the counts in
  power-of-two bins (``edges`` [0, 1, 2, 4, ...]; ``counts[i]`` cells were written
  ``edges[i] <= n < edges[i+1]`` times);
* ``endurance_cycles`` of the hardware description with its source (the spec's comment,
  e.g. "Huang et al. (HfOx)");
* ``lifetime_runs``: endurance / max writes per cell, the identical training runs the
  array survives before its most-written cell reaches its endurance (the first cell to
  fail ends the array's guaranteed life), and ``lifetime_runs_mean`` = endurance / mean
  (the life if writes were levelled evenly over the cells);
* ``update_scheme`` (and ``transfer_every``): under mixed-precision updates a cell is
  written only when its weight's accumulator moves a whole step, and the counts show it;
* the write policy's effect: the same run under ``update.write_policy: all`` writes every
  cell once per step, so its lifetime is endurance / steps exactly
  (``lifetime_runs_if_all``); ``policy_gain`` = lifetime_runs / lifetime_runs_if_all.

The record is stored in ``summary.json`` under ``memristor.wear``; :func:`read_wear` reads
it back from a run directory (for ``bplight report`` and other readers) and
:func:`wear_lines` formats it as text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from bplight.errors import InputError

ENDURANCE_FIELD = "memristor.endurance_cycles"


def endurance_source(hardware: Any, overrides: list[str] | tuple[str, ...] = ()) -> str:
    """Where the endurance of ``hardware`` (preset name, YAML path or loaded spec) comes
    from: its comment in the description, the schema's description, or '--set'."""
    from bplight.config.field_sources import field_sources

    for row in field_sources(hardware, list(overrides)):
        if row.path == ENDURANCE_FIELD:
            return f"{row.source} [{row.origin}]" if row.source else row.origin
    return "unknown"


def count_histogram(counts: torch.Tensor) -> dict[str, list[int]]:
    """Histogram of non-negative integer ``counts`` in power-of-two bins: ``edges`` =
    [0, 1, 2, 4, ..., 2^k], the smallest such list with 2^k > max; ``counts[i]`` = number
    of entries with ``edges[i] <= n < edges[i+1]``."""
    flat = counts.reshape(-1).to(torch.int64)
    top = int(flat.max()) if flat.numel() else 0
    k = top.bit_length()  # 2^k > top
    edges = [0] + [2**i for i in range(k + 1)]
    # bin index: 0 for n == 0, 1 + floor(log2 n) for n >= 1
    idx = torch.zeros_like(flat)
    pos = flat > 0
    idx[pos] = 1 + torch.floor(torch.log2(flat[pos].double())).to(torch.int64)
    hist = torch.bincount(idx, minlength=len(edges) - 1)
    return {"edges": edges, "counts": [int(x) for x in hist.tolist()]}


def wear_from_counts(counts: torch.Tensor, steps: int, epochs: int, endurance: float,
                     source: str, policy: str) -> dict[str, Any]:
    """The wear record (module docstring) of per-cell write ``counts`` after ``steps``
    weight updates over ``epochs`` epochs, against ``endurance`` writes per cell."""
    flat = counts.reshape(-1).to(torch.int64)
    cells = int(flat.numel())
    total = int(flat.sum()) if cells else 0
    mx = int(flat.max()) if cells else 0
    mean = total / cells if cells else 0.0

    def life(writes: float) -> float | None:
        return endurance / writes if writes > 0 else None  # None: nothing wears

    life_max, life_all = life(mx), life(steps)
    return {
        "cells": cells, "cell_writes": total, "steps": steps, "epochs": epochs,
        "max_writes_per_cell": mx, "mean_writes_per_cell": mean,
        "cells_never_written": int((flat == 0).sum()) if cells else 0,
        "histogram": count_histogram(flat) if cells else {"edges": [0, 1], "counts": [0]},
        "endurance_cycles": endurance, "endurance_source": source,
        "write_policy": policy,
        "lifetime_runs": life_max, "lifetime_runs_mean": life(mean),
        "lifetime_steps": None if mx == 0 else endurance * steps / mx,
        "lifetime_runs_if_all": life_all,
        "policy_gain": (None if life_max is None or life_all is None
                        else life_max / life_all),
    }


def wear_record(writer: Any, spec: Any, epochs: int, source: str | None = None
                ) -> dict[str, Any]:
    """The wear record of ``writer`` (a MemristorWriter) after ``epochs`` epochs of
    training on ``spec``; ``source``: where the endurance comes from (default: looked
    up in the description by name)."""
    per_layer = writer.write_counts()
    counts = (torch.cat([c.reshape(-1) for c in per_layer.values()]) if per_layer
              else torch.zeros(0, dtype=torch.int32))
    if source is None:
        source = endurance_source(spec)
    rec = wear_from_counts(counts.cpu(), writer.steps, epochs,
                           float(spec.memristor.endurance_cycles), source,
                           spec.update.write_policy)
    rec["update_scheme"] = spec.update.scheme  # mixed precision writes fewer cells
    if spec.update.scheme == "mixed_precision":
        rec["transfer_every"] = spec.update.transfer_every
    return rec


def read_wear(run_dir: Path | str) -> dict[str, Any]:
    """The wear record of a finished run (``summary.json``'s ``memristor.wear``);
    InputError (one sentence) when the run has none."""
    from bplight.experiments.from_run import read_summary

    run_dir = Path(run_dir)
    path = run_dir / "summary.json"
    data = read_summary(run_dir, str(run_dir))
    mem = data.get("memristor") if isinstance(data, dict) else None
    wear = mem.get("wear") if isinstance(mem, dict) else None
    if not isinstance(wear, dict):
        raise InputError(f"{path} has no memristor wear record: only hardware runs with "
                         "memristor updates (update.memristor: true) record one")
    return wear


def _runs(x: float | None) -> str:
    return "unlimited (no cell written)" if x is None else f"{x:.4g} runs"


def wear_lines(w: dict[str, Any]) -> list[str]:
    """The wear record as a few lines of text."""
    hist = w["histogram"]
    edges = hist["edges"]
    labels = [str(lo) if hi == lo + 1 else f"{lo}-{hi - 1}"
              for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    bins = ", ".join(f"{lab}: {n}" for lab, n in zip(labels, hist["counts"], strict=True) if n)
    scheme = w.get("update_scheme", "direct")
    how = "" if scheme == "direct" else f"{scheme.replace('_', '-')} updates, "
    lines = [
        f"memristor wear ({how}{w['write_policy']} writes, {w['steps']} updates, {w['epochs']} "
        f"epochs): {w['cell_writes']} cell writes over {w['cells']} cells; per cell max "
        f"{w['max_writes_per_cell']}, mean {w['mean_writes_per_cell']:.4g}",
        f"  writes per cell (count: cells): {bins}",
        f"  endurance {w['endurance_cycles']:.3g} writes ({w['endurance_source']}): "
        f"lifetime {_runs(w['lifetime_runs'])} of this training (most-written cell), "
        f"{_runs(w['lifetime_runs_mean'])} if wear were levelled",
    ]
    if w["write_policy"] != "all":
        gain = w["policy_gain"]
        lines.append(f"  under write_policy 'all' (every cell every update): "
                     f"{_runs(w['lifetime_runs_if_all'])}"
                     + (f"; 'changed' lasts {gain:.3g}x longer" if gain is not None else ""))
    return lines
