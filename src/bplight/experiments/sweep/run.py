"""The sweep driver: expand the spec into points, cost every design with the vectorised
engine, train the accuracy points on an executor, write each finished point to the store
as it finishes, then write the outputs (:mod:`.pareto`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bplight.config.loader import dump_spec
from bplight.errors import ConfigError
from bplight.experiments.sweep.executors import (
    Outcome,
    Progress,
    Task,
    run_inline,
    run_pool,
    run_ray,
)
from bplight.experiments.sweep.points import TRAIN_FN, cost_points
from bplight.experiments.sweep.spec import ResolvedSweep, design_key, maximized
from bplight.experiments.sweep.store import (
    PointRecord,
    SweepStore,
    code_version,
    point_id,
)
from bplight.io import atomic_write_text

COST_BLOCK = 50_000
"""Designs costed (and committed) together (the engine bounds its memory in blocks of
its own; a larger block here runs the link budget once per distinct combination)."""

BACKENDS = ("pool", "ray", "inline")


@dataclass
class SweepOptions:
    """How to run a sweep (not what: that is the spec)."""

    workers: int = 2
    threads: int = 1
    backend: str = "pool"
    address: str | None = None
    resume: bool = False
    retry_failed: bool = False
    progress: bool = True
    data_root: str | None = None
    device: str = "cpu"
    train_fn: str = TRAIN_FN
    on_workers: Any = None  # callback(list of worker pids), for tests
    outputs: bool = True


@dataclass
class SweepRun:
    """What a sweep run did (counts are of this invocation; the store holds all)."""

    run_dir: Path
    designs: int
    cost_points: int
    cost_new: int
    accuracy_points: int
    accuracy_new: int
    failed: int
    infeasible: int
    cost_infeasible: int = 0
    outputs: dict[str, str] = field(default_factory=dict)


def _meta(resolved: ResolvedSweep) -> dict[str, str]:
    return {"spec": yaml.safe_dump(resolved.spec.model_dump(mode="json"), sort_keys=False),
            "base_hardware": resolved.base_yaml, "base_hash": resolved.base_hash,
            "code_version": code_version(), "objectives": ",".join(resolved.objectives),
            "primary_cost_workload": resolved.spec.workloads.cost[0].key,
            "primary_accuracy_workload": (resolved.spec.workloads.accuracy[0].key
                                          if resolved.spec.workloads.accuracy else "")}


def default_run_dir(resolved: ResolvedSweep) -> Path:
    return Path("runs") / f"sweep-{resolved.spec.name}"


def run_sweep(resolved: ResolvedSweep, run_dir: str | Path | None = None,
              options: SweepOptions | None = None) -> SweepRun:
    """Run (or, with ``options.resume``, finish) the sweep into ``run_dir``."""
    opts = options or SweepOptions()
    if opts.backend not in BACKENDS:
        raise ConfigError(f"--backend {opts.backend!r} is not known; allowed: "
                          f"{', '.join(BACKENDS)}")
    if opts.backend == "ray":
        from bplight.experiments.sweep.executors import ray_available

        why = ray_available()
        if why:
            raise ConfigError(why)
    run_dir = Path(run_dir) if run_dir is not None else default_run_dir(resolved)
    if resolved.spec.search == "optuna":
        from bplight.experiments.sweep.optimize import optuna_designs

        designs = optuna_designs(resolved, run_dir, opts)  # checks optuna is there first
    else:
        designs = resolved.designs()
    store = SweepStore.create(run_dir, _meta(resolved), opts.resume)
    try:
        run = _run(resolved, designs, store, run_dir, opts)
        if opts.outputs:
            from bplight.experiments.sweep.pareto import write_outputs

            run.outputs = write_outputs(run_dir, store)
        return run
    finally:
        store.close()


def _run(resolved: ResolvedSweep, designs: list[dict[str, Any]], store: SweepStore,
         run_dir: Path, opts: SweepOptions) -> SweepRun:
    spec = resolved.spec
    finished = store.finished_ids(include_failed=not opts.retry_failed)
    bh = resolved.base_hash
    cv = code_version()

    # --- cost: every design on every cost workload, in process ---------------------------
    n_cost = n_cost_new = n_cost_bad = 0
    keys = [design_key(d) for d in designs]
    for wl in spec.workloads.cost:
        ids = [point_id("cost", bh, k, wl.key, None) for k in keys]
        n_cost += len(ids)
        todo = [(i, d, k) for i, d, k in zip(ids, designs, keys, strict=True)
                if i not in finished]
        bar = Progress(len(todo), f"cost {wl.model} b{wl.batch}",
                       opts.progress and len(todo) > 0)
        for lo in range(0, len(todo), COST_BLOCK):
            block = todo[lo:lo + COST_BLOCK]
            results = cost_points(resolved, [d for _, d, _ in block], wl)
            recs = [PointRecord(id=i, kind="cost", design=d, workload=wl.key, seed=None,
                                status="done" if ok else "infeasible", objectives=obj,
                                reason=None if ok else (why or "infeasible"),
                                code_version=cv, design_text=k)
                    for (i, d, k), (obj, ok, why) in zip(block, results, strict=True)]
            n_cost_new += store.put(recs)
            n_cost_bad += sum(r.status == "infeasible" for r in recs)
            bar.bar.update(len(block))
        bar.close()

    # --- accuracy: the chosen designs, each seed, plus FP32 trained identically ----------
    acc_designs = _accuracy_designs(resolved, designs, store)
    base_file = run_dir / "base-hardware.yaml"
    if acc_designs and (not base_file.exists() or base_file.read_text() != resolved.base_yaml):
        atomic_write_text(base_file, resolved.base_yaml)  # (a resumed spec may change it)
    data_root = opts.data_root or spec.data_root
    tasks: list[Task] = []
    info: dict[str, dict[str, Any]] = {}
    infeasible_recs: list[PointRecord] = []
    primary_cost = spec.workloads.cost[0].key
    cost_by_design = {design_key(r.design): r for r in store.records("cost")
                      if r.workload == primary_cost} if acc_designs else {}
    for wl in spec.workloads.accuracy if acc_designs else []:
        for seed in spec.seeds:
            payload = {"model": wl.model, "dataset": wl.dataset, "subset": wl.subset,
                       "epochs": wl.epochs, "batch_size": wl.batch_size, "lr": wl.lr,
                       "width": wl.width, "seed": seed, "data_root": data_root,
                       "device": opts.device}
            fid = point_id("fp32", "fp32", "{}", wl.key, seed)
            info[fid] = {"kind": "fp32", "design": {}, "workload": wl.key, "seed": seed,
                         "hardware": None}
            if fid not in finished:
                tasks.append(Task(fid, {**payload, "hardware": "fp32", "overrides": [],
                                        "run_dir": str(run_dir / "runs" / fid)}))
            for d in acc_designs:
                pid = point_id("accuracy", bh, design_key(d), wl.key, seed)
                if pid in finished:
                    continue
                cost = cost_by_design.get(design_key(d))
                meta = {"kind": "accuracy", "design": d, "workload": wl.key, "seed": seed}
                if cost is not None and cost.status == "infeasible":
                    infeasible_recs.append(PointRecord(
                        id=pid, status="infeasible", objectives={},
                        reason=f"not trained: {cost.reason}", code_version=cv, **meta))
                    continue
                try:
                    hw = dump_spec(resolved.point_spec(d))
                except ConfigError as exc:
                    infeasible_recs.append(PointRecord(
                        id=pid, status="infeasible", objectives={}, reason=str(exc),
                        code_version=cv, **meta))
                    continue
                info[pid] = {**meta, "hardware": hw}
                tasks.append(Task(pid, {**payload, "hardware": str(base_file),
                                        "overrides": [f"{k}={_yaml_scalar(v)}"
                                                      for k, v in d.items()],
                                        "run_dir": str(run_dir / "runs" / pid)}))
    if infeasible_recs:
        store.put(infeasible_recs)
    tasks.sort(key=lambda t: info[t.id]["kind"] != "fp32")  # baselines first
    counts = {"failed": 0, "infeasible": len(infeasible_recs)}

    def record(out: Outcome) -> None:
        m = info[out.id]
        res = dict(out.result or {})
        status, reason = "done", None
        if not out.ok and out.user_error:  # the code rejected the design (one sentence)
            status, reason = "infeasible", out.error
        elif not out.ok:
            status = "failed"
        elif res.get("accuracy") is None:
            status, reason = "infeasible", res.get("reason", "no accuracy")
        counts[status] = counts.get(status, 0) + 1
        store.put([PointRecord(id=out.id, kind=m["kind"], design=m["design"],
                               workload=m["workload"], seed=m["seed"], status=status,
                               objectives=res, reason=reason, error=out.error,
                               attempts=out.attempts, hardware=m["hardware"],
                               wall_s=out.wall_s, code_version=cv)])

    if tasks:
        bar = Progress(len(tasks), "accuracy", opts.progress)
        try:
            if opts.backend == "inline":
                run_inline(tasks, opts.train_fn, record, progress=bar)
            elif opts.backend == "ray":
                run_ray(tasks, opts.train_fn, record, opts.address, opts.threads,
                        progress=bar)
            else:
                run_pool(tasks, opts.train_fn, record, opts.workers, opts.threads,
                         progress=bar, on_start=opts.on_workers)
        finally:
            bar.close()
    n_acc = sum(1 for t in info.values() if t["kind"] == "accuracy") + len(infeasible_recs)
    return SweepRun(run_dir, len(designs), n_cost, n_cost_new, n_acc,
                    len(tasks) + len(infeasible_recs), counts["failed"],
                    counts["infeasible"], n_cost_bad)


def _yaml_scalar(v: Any) -> str:
    """A value as ``--set`` parses it back (YAML flow scalar)."""
    text = yaml.safe_dump(v, default_flow_style=True).strip()
    return text[:-4].strip() if text.endswith("\n...") else text.removesuffix("...").strip()


DEFAULT_PARETO_POINTS = 16
"""Designs trained by ``accuracy: pareto`` when ``max_accuracy_points`` is not given."""


def _accuracy_designs(resolved: ResolvedSweep, designs: list[dict[str, Any]],
                      store: SweepStore) -> list[dict[str, Any]]:
    """The designs to train: none, all, or the cost-Pareto candidates.

    Candidates (``accuracy: pareto``) are the feasible designs of the first cost
    workload in Pareto layers of the spec's cost objectives: the front, then the front of
    what is left, and so on, until ``max_accuracy_points`` (default 16) designs are
    chosen. The layers after the first matter: the cheapest designs are often the least
    accurate, and the best design within an accuracy bound is usually a little more
    expensive than the front. With ``accuracy_strata``, each value combination of those
    paths is layered on its own and the strata take turns (their fronts first, then their
    second layers ...). ``all`` trains every design (capped by
    ``max_accuracy_points`` if given, evenly over the list)."""
    spec = resolved.spec
    if spec.accuracy == "none":
        return []
    cap = spec.max_accuracy_points
    if spec.accuracy == "all":
        chosen = list(designs)
        if cap is not None and len(chosen) > cap:  # evenly spread over the list
            step = len(chosen) / cap
            chosen = [chosen[int(i * step)] for i in range(cap)]
        return chosen
    cap = cap or DEFAULT_PARETO_POINTS
    wl = spec.workloads.cost[0].key
    keys = {design_key(d) for d in designs}
    objs = [o for o in resolved.objectives if o not in ("accuracy", "accuracy_loss_pp")]
    rows = [(r.design, [(-1 if maximized(o) else 1) * _num(r.objectives.get(o))
                        for o in objs])
            for r in store.records("cost")
            if r.workload == wl and r.status == "done" and design_key(r.design) in keys]
    rows = [(d, v) for d, v in rows if all(math.isfinite(x) for x in v)]
    rows.sort(key=lambda dv: (dv[1], design_key(dv[0])))
    strata: dict[str, list[tuple[dict[str, Any], list[float]]]] = {}
    for d, v in rows:  # one stratum per value combination of accuracy_strata (or one)
        strata.setdefault(design_key({p: d.get(p) for p in spec.accuracy_strata}),
                          []).append((d, v))
    ordered = [_layered(strata[k], cap) for k in sorted(strata)]
    chosen: list[dict[str, Any]] = []
    for rank in range(cap):  # the strata in turn: each one's best candidate, then next
        for designs_in in ordered:
            if rank < len(designs_in) and len(chosen) < cap:
                chosen.append(designs_in[rank])
    return chosen


def _layered(rows: list[tuple[dict[str, Any], list[float]]], cap: int
             ) -> list[dict[str, Any]]:
    """Up to ``cap`` designs of ``rows`` in Pareto layers: the front, then the front of
    what is left, and so on (each layer in ``rows``' order)."""
    chosen: list[dict[str, Any]] = []
    while rows and len(chosen) < cap:
        front = pareto_mask([v for _, v in rows])
        chosen += [d for (d, _), keep in zip(rows, front, strict=True) if keep]
        rows = [dv for dv, keep in zip(rows, front, strict=True) if not keep]
    return chosen[:cap]


def _num(v: Any) -> float:
    return math.nan if v is None else float(v)


def pareto_mask(values: list[list[float]]) -> list[bool]:
    """Which rows are not dominated (all objectives minimised; ties keep both)."""
    import numpy as np

    if not values:
        return []
    v = np.asarray(values, dtype=float)
    keep = np.ones(len(v), dtype=bool)
    order = np.argsort(v[:, 0], kind="stable")
    for i in order:
        if not keep[i]:
            continue
        dominated = np.all(v[i] <= v, axis=1) & np.any(v[i] < v, axis=1)
        keep &= ~dominated
    return keep.tolist()

