"""``search: optuna``: designs proposed by an optimizer instead of a grid or random draws.

Optuna's multi-objective NSGA-II sampler (seeded by ``sampler_seed``) proposes
``samples`` designs, a generation at a time, steered by the spec's *cost* objectives,
which the vectorised engine evaluates for a whole generation at once. The proposed designs
then run as any sweep's designs: their cost points are stored, and accuracy is measured
for all of them or for the cost-Pareto candidates (``accuracy: all | pareto``). The same
seed proposes the same designs, so ``--resume`` finds them again. Accuracy does not steer
the optimizer (training every proposal inside the loop would serialize the sweep).

Optuna is optional: without it, ``search: optuna`` is a :class:`ConfigError` saying how
to install it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from bplight.errors import ConfigError
from bplight.experiments.sweep.spec import ResolvedSweep, design_key, maximized

GENERATION = 32
"""Trials asked for (and costed) together."""


def optuna_designs(resolved: ResolvedSweep, run_dir: Path, opts: Any) -> list[dict[str, Any]]:
    try:
        import optuna
    except ImportError:
        raise ConfigError("search: optuna needs the optional package optuna (pip install "
                          "optuna); use search: grid or random") from None
    from bplight.experiments.sweep.points import cost_points

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    objs = [o for o in resolved.objectives if o not in ("accuracy", "accuracy_loss_pp")]
    if not objs:
        raise ConfigError("search: optuna steers by cost objectives; name at least one "
                          "(e.g. train_energy_per_image_j)")
    dists: dict[str, Any] = {}
    for path in resolved.spec.parameters:
        if path in resolved.values:
            dists[path] = optuna.distributions.CategoricalDistribution(
                [_cat(v) for v in resolved.values[path]])
        else:
            lo, hi, log, integer, _ = resolved.ranges[path]
            dists[path] = (optuna.distributions.IntDistribution(int(lo), int(hi), log=log)
                           if integer else
                           optuna.distributions.FloatDistribution(lo, hi, log=log))
    study = optuna.create_study(
        directions=["maximize" if maximized(o) else "minimize" for o in objs],
        sampler=optuna.samplers.NSGAIISampler(seed=resolved.spec.sampler_seed,
                                              population_size=GENERATION))
    wl = resolved.spec.workloads.cost[0]
    designs: list[dict[str, Any]] = []
    seen: set[str] = set()
    total = int(resolved.spec.samples or 0)
    while len(designs) < total:
        trials = [study.ask(dists) for _ in range(min(GENERATION, total - len(designs)))]
        batch = [resolved.expand({p: _uncat(t.params[p]) for p in dists}) for t in trials]
        for t, (obj, ok, _) in zip(trials, cost_points(resolved, batch, wl), strict=True):
            vals = [obj.get(o, math.nan) for o in objs]
            if ok and all(math.isfinite(v) for v in vals):
                study.tell(t, vals)
            else:
                study.tell(t, state=optuna.trial.TrialState.FAIL)
        for d in batch:
            if design_key(d) not in seen:
                seen.add(design_key(d))
                designs.append(d)
    return designs


def _cat(v: Any) -> Any:
    return "null" if v is None else v


def _uncat(v: Any) -> Any:
    return None if v == "null" else v
