"""Accuracy benchmark: does LeNet-5 still learn MNIST on the simulated chip?

Measured side by side in one run, same seed, data order and schedule:

1. FP32 (plain PyTorch) vs ``bplight-16b`` (fast mode) on full MNIST.
2. ``exact`` mode (every pass, chunk and ADC read) vs fast mode vs FP32 on a subset.
3. Where accuracy falls off: a sweep of operand resolution (input and weight bits of
   all three products, 4-16) and of detector noise (the SNR the link budget is sized
   for, which sets the noise of every analog pass).

Writes ``accuracy.json`` (read by ``bplight reproduce --accuracy-json``),
``accuracy.md`` (tables) and ``accuracy.png`` (the two sweeps) into ``--out``.

    python benchmarks/bench_accuracy.py            # full run, ~20-30 min on 2 CPU cores
    python benchmarks/bench_accuracy.py --quick    # smoke run on small subsets
    python benchmarks/bench_accuracy.py --markdown-from docs/accuracy/accuracy.json

Each training run is cached in ``OUT/runs/TAG`` under a key of the code (a hash of every
file of the ``bplight`` package) and the run's arguments: a rerun after a code change or
with other arguments trains again instead of reporting the stale accuracy (``--fresh``
retrains everything). ``accuracy.json`` records the code version it was measured with.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
import shutil
import subprocess
import time
from pathlib import Path

import torch

import bplight
from bplight.config import load_spec
from bplight.experiments.train import TrainConfig, run_training
from bplight.io import atomic_path, atomic_write_json, atomic_write_text
from bplight.photonics.link_budget import link_budget

CACHE_KEY_FILE = "cache-key.json"


def source_hash(package_dir: Path | None = None) -> str:
    """SHA-256 over the relative path and content of every file of the package (code,
    presets, templates; caches excluded): changes whenever the code that trains does."""
    root = Path(package_dir or Path(bplight.__file__).parent)
    h = hashlib.sha256()
    for f in sorted(p for p in root.rglob("*") if p.is_file()
                    and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo")):
        h.update(f.relative_to(root).as_posix().encode() + b"\0")
        h.update(f.read_bytes() + b"\0")
    return h.hexdigest()


def code_version(package_dir: Path | None = None) -> dict:
    """The source hash, and the git commit and dirty flag where this is a checkout."""
    root = Path(package_dir or Path(bplight.__file__).parent)
    out: dict = {"src_sha256": source_hash(root), "git_commit": None, "git_dirty": None}
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                                text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "."], cwd=root,
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):  # no git: the hash alone keys the cache
        return out
    if commit.returncode == 0:
        out["git_commit"] = commit.stdout.strip()
        out["git_dirty"] = bool(dirty.stdout.strip())
    return out


def cache_key(cfg: TrainConfig, src_sha256: str) -> str:
    """Key of one training run: the code and every argument of the run."""
    args = json.dumps(dataclasses.asdict(cfg), sort_keys=True, default=str)
    return hashlib.sha256(f"{src_sha256}\n{args}".encode()).hexdigest()


def cached_summary(run_dir: Path, key: str) -> dict | None:
    """The cached run's summary if ``run_dir`` holds a finished run under ``key``."""
    try:
        stored = json.loads((run_dir / CACHE_KEY_FILE).read_text())["key"]
        summary = json.loads((run_dir / "summary.json").read_text())
    except (OSError, json.JSONDecodeError, KeyError, TypeError):
        return None  # absent, unfinished or from before keyed caching: not reusable
    return summary if stored == key else None


_SRC_SHA256: str | None = None
_FRESH = False


def _train(tag: str, out: Path, hardware: str, overrides: list[str], epochs: int,
           subset: int | None, baseline: bool, batch_size: int = 128) -> dict:
    global _SRC_SHA256
    if _SRC_SHA256 is None:
        _SRC_SHA256 = source_hash()
    run_dir = out / "runs" / tag
    cfg = TrainConfig(model="lenet5", dataset="mnist", hardware=hardware,
                      overrides=tuple(overrides), epochs=epochs, subset=subset,
                      batch_size=batch_size, baseline=baseline, seed=0)
    key = cache_key(cfg, _SRC_SHA256)
    cached = None if _FRESH else cached_summary(run_dir, key)
    if cached is not None:
        print(f"  {tag:28s} cached (same code and arguments)", flush=True)
        return cached
    if run_dir.exists():  # stale: other code or arguments (or unfinished): train again
        print(f"  {tag:28s} stale cache, retraining", flush=True)
        shutil.rmtree(run_dir)
    t0 = time.perf_counter()
    s = run_training(cfg, run_dir, progress=False)
    s["wall_time_s"] = time.perf_counter() - t0
    atomic_write_json(run_dir / "summary.json", s)
    atomic_write_json(run_dir / CACHE_KEY_FILE, {"key": key, "src_sha256": _SRC_SHA256,
                                                "config": dataclasses.asdict(cfg)})
    print(f"  {tag:28s} test accuracy {100 * s['test_accuracy']:6.2f} %"
          + (f"   fp32 {100 * s['fp32_test_accuracy']:6.2f} %" if s.get("fp32_test_accuracy")
             is not None else "") + f"   ({s['wall_time_s']:.0f} s)", flush=True)
    return s


def _inference_check(out: Path, n: int) -> dict:
    """Accuracy of the same trained network (the main run's FP32 model) read through the
    chip in exact and fast mode (three noise seeds each for fast) and in FP32."""
    from bplight.data.datasets import load_dataset
    from bplight.models import build_model
    from bplight.numerics import convert

    state = torch.load(out / "runs" / "main" / "checkpoint-fp32.pt", weights_only=True)
    net = build_model("lenet5", 1, 10, 28)
    net.load_state_dict(state["model"])
    net.eval()
    test = load_dataset("mnist", split="test")
    x, y = test.images[:n], test.labels[:n]

    def acc(model: torch.nn.Module) -> float:
        correct = 0
        with torch.no_grad():
            for i in range(0, n, 250):
                correct += int((model(x[i:i + 250]).argmax(1) == y[i:i + 250]).sum())
        return correct / n

    res = {"fp32": acc(net)}
    t0 = time.perf_counter()
    res["exact"] = acc(convert(net, load_spec("bplight-16b", ["mode=exact"]), seed=0))
    t_exact = time.perf_counter() - t0
    for seed in (0, 1, 2):
        res[f"fast (seed {seed})"] = acc(convert(net, load_spec("bplight-16b"), seed=seed))
    return {"test_images": n, "accuracy": res, "exact_time_s": t_exact}


def _all_products(field: str, value: object) -> list[str]:
    return [f"{p}.{field}={value}" for p in ("forward", "error", "weight_grad")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=3, help="epochs of the main comparison")
    ap.add_argument("--sweep-epochs", type=int, default=1)
    ap.add_argument("--sweep-subset", type=int, default=None,
                    help="train/test samples per sweep point (default: full MNIST)")
    ap.add_argument("--exact-subset", type=int, default=2048)
    ap.add_argument("--exact-batch", type=int, default=32)
    ap.add_argument("--exact-test", type=int, default=2000,
                    help="test images for the exact-vs-fast inference check")
    ap.add_argument("--out", default="benchmarks/out/accuracy")
    ap.add_argument("--quick", action="store_true", help="small subsets, for a smoke run")
    ap.add_argument("--fresh", action="store_true",
                    help="retrain every run even where the cache matches code and arguments")
    ap.add_argument("--markdown-from", metavar="JSON", default=None,
                    help="train nothing: rewrite accuracy.md next to this accuracy.json from "
                    "it (scripts/regenerate-docs does this for docs/accuracy/)")
    args = ap.parse_args()
    if args.markdown_from:
        src = Path(args.markdown_from)
        atomic_write_text(src.with_name("accuracy.md"), _markdown(json.loads(src.read_text())))
        print(f"wrote {src.with_name('accuracy.md')}")
        return
    global _FRESH
    _FRESH = args.fresh
    torch.set_num_threads(2)
    if args.quick:
        args.epochs, args.sweep_subset, args.exact_subset, args.exact_test = 1, 2000, 128, 200
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    main_subset = 2000 if args.quick else None
    ref = load_spec("bplight-16b")
    budget = link_budget(ref)
    result: dict = {"model": "lenet5", "dataset": "mnist", "hardware": "bplight-16b",
                    "code": code_version(),
                    "args": {k: v for k, v in vars(args).items() if k != "fresh"},
                    "reference_snr_db": budget.snr_db,
                    "reference_noise_sigma_rel": budget.noise_sigma_rel}

    print("1. FP32 vs bplight-16b (fast), same seed and schedule", flush=True)
    s = _train("main", out, "bplight-16b", [], args.epochs, main_subset, baseline=True)
    result["main"] = {"epochs": args.epochs, "subset": main_subset,
                      "fp32_test_accuracy": s["fp32_test_accuracy"],
                      "hardware_test_accuracy": s["test_accuracy"],
                      "gap_pp": s["accuracy_gap_pp"]}

    print(f"2. exact vs fast vs FP32 on a {args.exact_subset}-sample subset", flush=True)
    ex = {}
    for tag, hw, ov in (("exact", "bplight-16b", ["mode=exact"]),
                        ("fast", "bplight-16b", []), ("fp32", "fp32", [])):
        r = _train(f"subset-{tag}", out, hw, ov, 1, args.exact_subset, baseline=False,
                   batch_size=args.exact_batch)
        ex[tag] = {"test_accuracy": r["test_accuracy"], "wall_time_s": r["wall_time_s"]}
    result["exact_subset"] = {"subset": args.exact_subset, "epochs": 1,
                              "batch_size": args.exact_batch, **ex}

    print(f"2b. inference of the trained FP32 LeNet-5 on {args.exact_test} test images, "
          "through exact and fast mode", flush=True)
    result["exact_inference"] = _inference_check(out, args.exact_test)
    for k, v in result["exact_inference"]["accuracy"].items():
        print(f"  {k:28s} test accuracy {100 * v:6.2f} %", flush=True)

    print("3a. operand resolution sweep (input and weight bits of all products)", flush=True)
    res_rows = []
    for bits in (4, 6, 8, 10, 12, 16):
        ov = _all_products("input_bits", bits) + _all_products("weight_bits", bits)
        r = _train(f"bits-{bits}", out, "bplight-16b", ov, args.sweep_epochs,
                   args.sweep_subset, baseline=False)
        res_rows.append({"bits": bits, "test_accuracy": r["test_accuracy"]})
    fp = _train("sweep-fp32", out, "fp32", [], args.sweep_epochs, args.sweep_subset,
                baseline=False)
    result["sweep_fp32_test_accuracy"] = fp["test_accuracy"]
    result["resolution_sweep"] = res_rows

    print("3b. detector noise sweep (SNR the link budget is sized for)", flush=True)
    noise_rows = []
    # 37.9 dB = 6.02 x 6 + 1.76: the textbook SNR of 6-bit reads (CrossLight-style sizing)
    for snr in (15.0, 20.0, 25.0, 30.0, 35.0, 37.9, round(budget.snr_db, 1), 45.0):
        spec = load_spec("bplight-16b", [f"laser.target_snr_db={snr}"])
        lb = link_budget(spec)
        r = _train(f"snr-{snr:g}", out, "bplight-16b", [f"laser.target_snr_db={snr}"],
                   args.sweep_epochs, args.sweep_subset, baseline=False)
        noise_rows.append({"snr_db": snr, "noise_sigma_rel": lb.noise_sigma_rel,
                           "noise_sigma_units": lb.noise_sigma_rel * 16,
                           "feasible": lb.feasible, "test_accuracy": r["test_accuracy"]})
    r = _train("noise-off", out, "bplight-16b", _all_products("detector_noise", "false"),
               args.sweep_epochs, args.sweep_subset, baseline=False)
    # no noise: infinite SNR, written as null (strict JSON)
    noise_rows.append({"snr_db": None, "detector_noise": False, "noise_sigma_rel": 0.0,
                       "noise_sigma_units": 0.0, "feasible": True,
                       "test_accuracy": r["test_accuracy"]})
    result["noise_sweep"] = noise_rows
    result["sweep_epochs"] = args.sweep_epochs
    result["sweep_subset"] = args.sweep_subset

    atomic_write_json(out / "accuracy.json", result)
    atomic_write_text(out / "accuracy.md", _markdown(result))
    _plot(result, out / "accuracy.png")
    print(_markdown(result))
    print(f"wrote {out / 'accuracy.json'}, {out / 'accuracy.md'}, {out / 'accuracy.png'}")


def _markdown(r: dict) -> str:
    m = r["main"]
    ex = r["exact_subset"]
    lines = [
        "## LeNet-5 on MNIST: FP32 vs bplight-16b", "",
        f"Main comparison ({m['epochs']} epochs, "
        f"{'full MNIST' if m['subset'] is None else str(m['subset']) + ' samples'}, seed 0):", "",
        "| run | test accuracy |", "|---|---|",
        f"| FP32 | {100 * m['fp32_test_accuracy']:.2f} % |",
        f"| bplight-16b (fast) | {100 * m['hardware_test_accuracy']:.2f} % |",
        f"| gap | {m['gap_pp']:+.2f} pp |", "",
        f"Exact vs fast on a {ex['subset']}-sample subset (1 epoch, batch {ex['batch_size']}):",
        "", "| run | test accuracy | wall time |", "|---|---|---|",
    ]
    for tag in ("fp32", "fast", "exact"):
        lines.append(f"| {tag} | {100 * ex[tag]['test_accuracy']:.2f} % | "
                     f"{ex[tag]['wall_time_s']:.0f} s |")
    inf = r.get("exact_inference")
    if inf:
        lines += ["", f"The same trained network (the FP32 model of the main comparison) read "
                  f"through the chip, {inf['test_images']} test images:", "",
                  "| mode | test accuracy |", "|---|---|"]
        lines += [f"| {k} | {100 * v:.2f} % |" for k, v in inf["accuracy"].items()]
    sub = "full MNIST" if r["sweep_subset"] is None else f"{r['sweep_subset']} samples"
    lines += ["", f"Operand-resolution sweep ({r['sweep_epochs']} epoch(s), {sub}; FP32: "
              f"{100 * r['sweep_fp32_test_accuracy']:.2f} %):", "",
              "| bits (input and weight, all products) | test accuracy |", "|---|---|"]
    lines += [f"| {row['bits']} | {100 * row['test_accuracy']:.2f} % |"
              for row in r["resolution_sweep"]]
    lines += ["", "Detector-noise sweep (SNR at full scale the laser is sized for; "
              "sigma in units of one slice step of a 16-unit partial sum):", "",
              "| SNR (dB) | noise sigma (steps) | test accuracy |", "|---|---|---|"]
    for row in r["noise_sweep"]:
        snr = "no noise" if _no_noise(row) else f"{row['snr_db']:g}"
        lines.append(f"| {snr} | {row['noise_sigma_units']:.3f} | "
                     f"{100 * row['test_accuracy']:.2f} % |")
    return "\n".join(lines) + "\n"


def _no_noise(row: dict) -> bool:
    """The noise-off point (``snr_db`` null; infinite in files written before strict JSON)."""
    return row["snr_db"] is None or math.isinf(row["snr_db"])


def _plot(r: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    fp = 100 * r["sweep_fp32_test_accuracy"]
    bits = [row["bits"] for row in r["resolution_sweep"]]
    a.plot(bits, [100 * row["test_accuracy"] for row in r["resolution_sweep"]], "o-",
           label="bplight-16b")
    a.axhline(fp, color="gray", ls="--", label="FP32")
    a.set_xlabel("operand resolution (bits)")
    a.set_ylabel("test accuracy (%)")
    a.set_title("LeNet-5 / MNIST vs resolution")
    a.legend()
    rows = [row for row in r["noise_sweep"] if not _no_noise(row)]
    b.plot([row["snr_db"] for row in rows], [100 * row["test_accuracy"] for row in rows], "o-",
           label="bplight-16b")
    b.axhline(fp, color="gray", ls="--", label="FP32")
    b.axvline(r["reference_snr_db"], color="tab:green", ls=":", label="reference design")
    b.set_xlabel("detector SNR at full scale (dB)")
    b.set_title("LeNet-5 / MNIST vs detector noise")
    b.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")


if __name__ == "__main__":
    main()
