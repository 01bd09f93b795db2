"""Speed benchmark: training-step time of the photonic numerics vs plain PyTorch.

Median time of one LeNet-5 training step (forward, backward, SGD step and, for the
hardware modes, the memristor write) at batch 128 on random MNIST-shaped data, with 2
threads, measured side by side in one run (interleaved rounds so that machine load
affects all variants alike):

* plain PyTorch (FP32);
* ``fast`` mode (``bplight-16b``), with and without the memristor write, and with it but
  without the compiled kernels (``bplight.numerics.kernels``: what a machine without
  numba runs);
* ``exact`` mode (every pass, chunk and ADC read), timed on fewer steps.

Then VGG-8 on CIFAR-size input (3x32x32, 10 classes) at batch 128, the same way: plain
PyTorch, fast mode without and with the memristor write (target <= 1.5x), the write's own
share of the step, and, for scale, fast mode with the smallest wrong reads left out
(``engine.SPARSE_VAR_TAIL`` = 1e-4, not the default: it changes the share of error-free
outputs; skip with ``--no-what-if``). Skip VGG-8 with ``--no-vgg``.

Then LeNet-5 fast steps (with the memristor write) at intermediate read error rates
(``laser.target_snr_db`` 30, 35 and 37.9: tens to hundreds of wrong reads per output),
with the hybrid draw (``engine.fold_frequent``: frequent small wrong reads drawn as
Gaussian) and, side by side, every wrong read drawn one by one (``engine.FOLD_MIN_RATE``
= inf, the previous releases' draw); skip with ``--no-snr``.

Then one full hardware-aware MNIST epoch of LeNet-5 in fast mode (target <= 60 s).

The machine's 1-minute load average is recorded at the start and end of each part
(``load_average``): on a shared machine the ratios, measured side by side, are what
count.

    python benchmarks/bench_speed.py [--steps 30] [--vgg-steps 10] [--snr-steps 3]
        [--no-vgg] [--no-snr] [--no-epoch] [--no-what-if] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import time

import torch
import torch.nn.functional as F

from bplight.config import load_spec
from bplight.models import build_model
from bplight.numerics import MemristorWriter, convert
from bplight.numerics import engine as _engine
from bplight.numerics import kernels as _kernels


def _load() -> float | None:
    """1-minute load average (None where the OS does not report it)."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def _step_fn(model, writer=None, write_times: list[float] | None = None):
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step(x, y):
        out = model(x)
        loss = F.cross_entropy(out, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if writer is not None:
            t0 = time.perf_counter()
            writer.step()
            if write_times is not None:
                write_times.append(time.perf_counter() - t0)
    return step


def _with_engine(step, name: str, value, module=_engine):
    """``step`` run with the module constant ``<module>.<name>`` (default: of
    ``bplight.numerics.engine``) set to ``value`` (restored afterwards)."""
    def run(x, y):
        saved = getattr(module, name)
        setattr(module, name, value)
        try:
            step(x, y)
        finally:
            setattr(module, name, saved)
    return run


def _without_kernels(step):
    """``step`` with the compiled kernels off (``bplight.numerics.kernels.AVAILABLE``
    False: the torch/numpy operations of a machine without numba)."""
    return _with_engine(step, "AVAILABLE", False, _kernels)


def _interleaved(variants: dict, x, y, steps: int) -> dict[str, float]:
    """Median seconds per step of each variant, one warm-up step each, then ``steps``
    rounds that run every variant once (machine load hits all variants alike)."""
    times: dict[str, list[float]] = {k: [] for k in variants}
    for fn in variants.values():  # warm-up
        fn(x, y)
    for _ in range(steps):
        for name, fn in variants.items():
            t0 = time.perf_counter()
            fn(x, y)
            times[name].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


WHAT_IF_TAIL = 1e-4
"""``SPARSE_VAR_TAIL`` of the what-if variant."""


def bench_vgg8(batch: int, steps: int, what_if: bool = True) -> dict:
    """VGG-8 on 3x32x32 input: plain PyTorch step vs fast mode without and with the
    memristor write (and the write's own time), interleaved."""
    torch.manual_seed(0)
    x = torch.randn(batch, 3, 32, 32)
    y = torch.randint(0, 10, (batch,))
    base = build_model("vgg8", 3, 10, 32)
    spec = load_spec("bplight-16b")
    fast = convert(base, spec)
    fast_w = convert(base, spec)
    writer = MemristorWriter(fast_w, spec)
    write_times: list[float] = []
    variants = {"pytorch": _step_fn(base), "fast (no memristor write)": _step_fn(fast),
                "fast": _step_fn(fast_w, writer, write_times)}
    if _kernels.AVAILABLE:
        fast_k = convert(base, spec)
        variants["fast, without compiled kernels"] = _without_kernels(
            _step_fn(fast_k, MemristorWriter(fast_k, spec)))
    if what_if:
        fast_t = convert(base, spec)
        variants[f"fast, SPARSE_VAR_TAIL={WHAT_IF_TAIL:g}"] = _with_engine(
            _step_fn(fast_t, MemristorWriter(fast_t, spec)), "SPARSE_VAR_TAIL", WHAT_IF_TAIL)
    load0 = _load()
    med = _interleaved(variants, x, y, steps)
    ratio = {k: v / med["pytorch"] for k, v in med.items()}
    return {"median_step_s": med, "ratio_to_pytorch": ratio,
            "ratio_fast_to_pytorch": ratio["fast"],
            "write_s": statistics.median(write_times[1:] or write_times),
            "steps": steps, "batch": batch, "cells": writer.cells,
            "load_average": [load0, _load()]}


SNRS = (30.0, 35.0, 37.9)
"""``laser.target_snr_db`` of the intermediate-error-rate part."""


def bench_snr(batch: int, steps: int, snrs: tuple[float, ...] = SNRS) -> dict:
    """LeNet-5 fast steps (memristor write included) at each of ``snrs``, hybrid draw vs
    every wrong read drawn, interleaved with the plain PyTorch step."""
    torch.manual_seed(0)
    x = torch.randn(batch, 1, 28, 28)
    y = torch.randint(0, 10, (batch,))
    base = build_model("lenet5", 1, 10, 28)
    variants = {"pytorch": _step_fn(base)}
    for snr in snrs:
        spec = load_spec("bplight-16b", [f"laser.target_snr_db={snr:g}"])
        for name, fold_min in (("hybrid", _engine.FOLD_MIN_RATE), ("all discrete", math.inf)):
            model = convert(base, spec)
            variants[f"{snr:g} dB, {name}"] = _with_engine(
                _step_fn(model, MemristorWriter(model, spec)), "FOLD_MIN_RATE", fold_min)
    load0 = _load()
    med = _interleaved(variants, x, y, steps)
    return {"median_step_s": med,
            "ratio_to_pytorch": {k: v / med["pytorch"] for k, v in med.items()},
            "steps": steps, "batch": batch, "fold_min_rate": _engine.FOLD_MIN_RATE,
            "fold_keep_rate": _engine.FOLD_KEEP_RATE, "load_average": [load0, _load()]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--exact-steps", type=int, default=2)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--vgg-steps", type=int, default=10)
    ap.add_argument("--snr-steps", type=int, default=3)
    ap.add_argument("--no-vgg", action="store_true", help="skip the VGG-8 timing")
    ap.add_argument("--no-snr", action="store_true",
                    help="skip the LeNet-5 timing at intermediate read error rates")
    ap.add_argument("--no-epoch", action="store_true", help="skip the full-epoch timing")
    ap.add_argument("--no-what-if", action="store_true",
                    help="skip the VGG-8 variant with the smallest wrong reads left out")
    ap.add_argument("--json", default=None, help="also write the results to this file")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x = torch.randn(args.batch, 1, 28, 28)
    y = torch.randint(0, 10, (args.batch,))
    base = build_model("lenet5", 1, 10, 28)
    spec = load_spec("bplight-16b")
    fast = convert(base, spec)
    fast_w = convert(base, spec)
    writer = MemristorWriter(fast_w, spec)
    exact = convert(base, spec.replace(mode="exact"))
    variants = {
        "pytorch": _step_fn(base),
        "fast (no memristor write)": _step_fn(fast),
        "fast": _step_fn(fast_w, writer),
    }
    if _kernels.AVAILABLE:
        fast_k = convert(base, spec)
        variants["fast, without compiled kernels"] = _without_kernels(
            _step_fn(fast_k, MemristorWriter(fast_k, spec)))
    load0 = _load()
    med = _interleaved(variants, x, y, args.steps)
    ex_step = _step_fn(exact)
    ex_times = []
    for _ in range(args.exact_steps):  # (0: not timed)
        t0 = time.perf_counter()
        ex_step(x, y)
        ex_times.append(time.perf_counter() - t0)
    if ex_times:
        med["exact"] = statistics.median(ex_times)
    ref = med["pytorch"]
    print(f"LeNet-5 training step, batch {args.batch}, {args.threads} threads "
          f"(median of {args.steps}; exact: {args.exact_steps})")
    print(f"{'variant':28s} {'ms/step':>10s} {'x PyTorch':>10s}")
    for k, v in med.items():
        print(f"{k:28s} {1e3 * v:10.1f} {v / ref:10.2f}")
    result = {"batch": args.batch, "threads": args.threads,
              "median_step_s": med, "ratio_to_pytorch": {k: v / ref for k, v in med.items()},
              "load_average": [load0, _load()]}
    print(f"load average {load0:.1f} at the start, {_load():.1f} at the end")
    if not args.no_vgg:
        vgg = bench_vgg8(args.batch, args.vgg_steps, not args.no_what_if)
        m, r = vgg["median_step_s"], vgg["ratio_to_pytorch"]
        print(f"VGG-8 training step, 3x32x32, batch {args.batch}, {args.threads} threads "
              f"(median of {args.vgg_steps}, interleaved; load average "
              f"{vgg['load_average'][0]:.1f} -> {vgg['load_average'][1]:.1f})")
        for k, v in m.items():
            print(f"  {k:36s} {1e3 * v:10.0f} ms {r[k]:8.2f}x")
        print(f"  of which the memristor write       {1e3 * vgg['write_s']:10.0f} ms "
              f"({vgg['cells']:,} cells); fast with write / PyTorch = "
              f"{vgg['ratio_fast_to_pytorch']:.2f}x (target <= 1.5x)")
        result["vgg8"] = vgg
    if not args.no_snr:
        snr = bench_snr(args.batch, args.snr_steps)
        m, r = snr["median_step_s"], snr["ratio_to_pytorch"]
        print(f"LeNet-5 fast step with writes at intermediate read error rates (median of "
              f"{args.snr_steps}, interleaved; load average {snr['load_average'][0]:.1f} -> "
              f"{snr['load_average'][1]:.1f})")
        for k, v in m.items():
            print(f"  {k:36s} {1e3 * v:10.1f} ms {r[k]:8.2f}x")
        result["snr"] = snr
    if not args.no_epoch:
        from bplight.data.datasets import make_loaders

        train, _ = make_loaders("mnist", args.batch)
        load0 = _load()
        model = convert(build_model("lenet5", 1, 10, 28), spec)
        step = _step_fn(model, MemristorWriter(model, spec))
        t0 = time.perf_counter()
        for xb, yb in train:
            step(xb, yb)
        epoch = time.perf_counter() - t0
        base2 = build_model("lenet5", 1, 10, 28)
        step2 = _step_fn(base2)
        t0 = time.perf_counter()
        for xb, yb in train:
            step2(xb, yb)
        epoch_fp32 = time.perf_counter() - t0
        print(f"full MNIST epoch (60000 images): fast {epoch:.1f} s, PyTorch {epoch_fp32:.1f} s "
              f"({epoch / epoch_fp32:.2f}x); target <= 60 s")
        result["epoch_s"] = {"fast": epoch, "pytorch": epoch_fp32,
                             "load_average": [load0, _load()]}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
