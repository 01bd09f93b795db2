"""``bplight train``: train a CNN on real data through the chip's numerical model.

The same command also trains the FP32 digital baseline (same seed, data order and
schedule) unless ``--no-baseline``, and shows both test accuracies side by side.

A run directory holds ``config.yaml`` (the resolved hardware description),
``args.json``, ``metrics.csv`` / ``metrics.json`` (one row per epoch and run) and
``checkpoint-<run>.pt`` (written atomically after every good epoch). The data, the
hardware description and the flags are checked before anything is written, and a new
run directory appears complete (it is assembled under a temporary name and renamed).

Learning rate: cosine annealing over the run's total epochs E, set at the start of each
epoch e = 0..E-1 to ``lr * (1 + cos(pi * e / E)) / 2`` (the ``lr`` column of the metrics is
the rate that epoch trained at). ``--resume DIR`` continues an interrupted run on the
same curve; ``--resume DIR --epochs N`` with N above the epochs done extends it: the
curve is recomputed for the new total N and training continues from the current epoch
on it, exactly as a run started with ``--epochs N`` would have trained those epochs.
Ctrl-C stops the run (exit 130), keeps the checkpoint of the last finished epoch and
prints the ``--resume`` command. A NaN/inf loss stops the run (exit 3) and keeps the
last good checkpoint.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from bplight.config.loader import dump_spec, load_spec
from bplight.config.spec import HardwareSpec
from bplight.errors import InputError
from bplight.experiments import ddp
from bplight.experiments.common import json_line
from bplight.experiments.target import check_target
from bplight.io import atomic_path, atomic_write_json, atomic_write_text

if TYPE_CHECKING:
    from bplight.workload import Workload

EXIT_DIVERGED = 3
EXIT_INTERRUPTED = 130


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


@dataclass
class TrainConfig:
    """Everything that defines a training run (saved as ``args.json``)."""

    model: str = "lenet5"
    dataset: str = "mnist"
    hardware: str = "bplight-16b"
    overrides: tuple[str, ...] = ()
    epochs: int = 3
    batch_size: int = 128
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 0.0
    seed: int = 0
    subset: int | None = None
    width: float = 1.0
    data_root: str | None = None
    device: str = "auto"
    baseline: bool = True
    target_accuracy: float | None = None
    batch_norm: bool = False
    init_from: str | None = None  # fine-tune the FP32 model of this run (experiments.deploy)
    finetune_on: str = "chip"


def cosine_lr(base_lr: float, epoch: int, total_epochs: int) -> float:
    """The learning rate of epoch ``epoch`` (0-based) of a run of ``total_epochs``:
    ``base_lr * (1 + cos(pi * epoch / total_epochs)) / 2``."""
    return base_lr * 0.5 * (1.0 + math.cos(math.pi * epoch / max(total_epochs, 1)))


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """``torch.save`` through the one atomic writer (temporary file, fsync, rename)."""
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: Path) -> dict[str, Any]:
    return torch.load(path, map_location="cpu", weights_only=True)


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    kind, _, index = name.partition(":")
    if kind not in ("cpu", "cuda") or (index and not (kind == "cuda" and index.isdigit())):
        raise InputError(f"--device {name!r} is not known; allowed: auto, cpu, cuda, cuda:N")
    if kind == "cuda" and not torch.cuda.is_available():
        raise InputError(f"--device {name} was asked for but no CUDA device is available; "
                         "use --device cpu or auto")
    if index and int(index) >= torch.cuda.device_count():
        raise InputError(f"--device {name}: this machine has {torch.cuda.device_count()} CUDA "
                         "device(s)")
    return torch.device(name)


def _dataset_geometry(dataset: str) -> tuple[int, int, int]:
    """(channels, image size, classes) of ``dataset``."""
    from bplight.data.sources import dataset_info

    info = dataset_info(dataset)
    return info.channels, info.size, info.num_classes


def build_run_model(cfg: TrainConfig, spec: HardwareSpec, device: torch.device) -> nn.Module:
    """The model of ``cfg``, converted to ``spec`` and (for hardware runs) with its
    weights written into the memristor store."""
    from bplight.models import build_model
    from bplight.numerics import MemristorWriter, convert

    channels, size, classes = _dataset_geometry(cfg.dataset)
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.model, channels, classes, size, width=cfg.width,
                        batch_norm=cfg.batch_norm)
    if cfg.init_from is not None:  # start from a network trained elsewhere
        from bplight.experiments.deploy import source_weights

        model.load_state_dict(source_weights(Path(cfg.init_from)))
    model = model.to(device)
    if spec.is_fp32:
        return model
    # analog read noise independent per rank (rank 0: the run's seed); the memristor
    # writer seeded identically on every rank, so every rank writes the same cells
    model = convert(model, spec, seed=cfg.seed + ddp.RANK_SEED_STRIDE * ddp.rank(),
                    inplace=True)
    if spec.update.memristor:
        model.bplight_writer = MemristorWriter(model, spec, seed=cfg.seed + 1)
    return model


def evaluate(model: nn.Module, loader, device: torch.device) -> tuple[float, float]:
    """(mean loss, accuracy in [0, 1]) over ``loader`` (under torchrun: each rank reads its
    share of every batch and the sums are taken over the ranks)."""
    model.eval()
    correct, total, loss_sum = 0, 0, 0.0
    with torch.no_grad():
        for x, y in (ddp.RankShard(loader) if ddp.active() else loader):
            x, y = x.to(device), y.to(device)
            out = model(x)
            loss_sum += float(F.cross_entropy(out, y, reduction="sum"))
            correct += int((out.argmax(1) == y).sum())
            total += int(y.numel())
    model.train()
    loss_sum, correct, total = ddp.sum_over_ranks(loss_sum, correct, total)
    return loss_sum / max(total, 1), correct / max(total, 1)


def train_one(cfg: TrainConfig, spec: HardwareSpec, run_dir: Path, tag: str,
              loaders: tuple, device: torch.device, progress: bool = True,
              resume: bool = False) -> dict[str, Any]:
    """Train one model (``tag`` = "hardware" or "fp32") and return its final metrics.

    Each epoch trains at :func:`cosine_lr` of the run's ``cfg.epochs``."""
    from tqdm import tqdm

    train_loader, test_loader = loaders
    model = build_run_model(cfg, spec, device)
    net = ddp.wrap(model, device)  # DistributedDataParallel under torchrun
    if ddp.active():
        train_loader = ddp.RankShard(train_loader)
        progress = progress and ddp.is_main()
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum,
                          weight_decay=cfg.weight_decay)
    ckpt_path = run_dir / f"checkpoint-{tag}.pt"
    history: list[dict[str, Any]] = []
    start_epoch = 0
    if resume and ckpt_path.exists():
        state = load_checkpoint(ckpt_path)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])  # momentum buffers; lr is set per epoch
        history = json.loads(state["history"])
        start_epoch = int(state["epoch"])
        size = int(state.get("world_size", 1))
        if size != ddp.world_size():
            raise InputError(f"--resume: {ckpt_path} was written by a run on {size} "
                             f"process(es); resume it with {size}, not {ddp.world_size()}")
        r = ddp.rank()
        torch.set_rng_state(state["torch_rng_ranks"][r] if size > 1 else state["torch_rng"])
        hw = getattr(model, "bplight_hw", None)
        if hw is not None and "hw_rng" in state:
            hw.set_state(state["hw_rng_ranks"][r] if size > 1 else state["hw_rng"])
        writer = getattr(model, "bplight_writer", None)
        if writer is not None and "writer_rng" in state:
            writer.set_state(state["writer_rng"])
    else:
        torch.manual_seed(cfg.seed + 17)
    writer = getattr(model, "bplight_writer", None)
    images_seen = int(history[-1].get("images_seen", 0)) if history else 0
    for epoch in range(start_epoch, cfg.epochs):
        lr = cosine_lr(cfg.lr, epoch, cfg.epochs)
        for group in opt.param_groups:
            group["lr"] = lr
        train_loader.set_epoch(epoch)
        model.train()
        t0 = time.perf_counter()
        loss_sum, seen, correct = 0.0, 0, 0
        bar = tqdm(train_loader, total=len(train_loader), disable=not progress, leave=False,
                   desc=f"{tag} epoch {epoch + 1}/{cfg.epochs}", file=sys.stderr)
        for x, y in bar:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            out = net(x)
            loss = F.cross_entropy(out, y)
            if not (ddp.all_finite(loss) if ddp.active() else torch.isfinite(loss)):
                raise TrainingDiverged(
                    f"{tag} run: the loss became {float(loss.detach())} in epoch "
                    f"{epoch + 1}; the last good checkpoint ({ckpt_path.name}, after epoch "
                    f"{epoch}) is kept; lower --lr or raise the hardware resolution")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if writer is not None:
                writer.step()
            n = int(y.numel())
            loss_sum += float(loss.detach()) * n
            seen += n
            correct += int((out.argmax(1) == y).sum())
            bar.set_postfix(loss=f"{loss_sum / seen:.4f}")
        bar.close()
        ddp.average_norm_statistics(model)
        loss_sum, seen, correct = ddp.sum_over_ranks(loss_sum, seen, correct)
        seen, correct = int(seen), int(correct)
        train_time = time.perf_counter() - t0
        test_loss, test_acc = evaluate(model, test_loader, device)
        row = {"run": tag, "epoch": epoch + 1, "train_loss": loss_sum / max(seen, 1),
               "train_accuracy": correct / max(seen, 1), "test_loss": test_loss,
               "test_accuracy": test_acc, "epoch_time_s": train_time, "lr": lr,
               "images_seen": images_seen + seen}
        images_seen += seen
        if writer is not None:
            row["memristor_cell_writes"] = writer.cells_written
        history.append(row)
        if progress:
            print(f"[{tag}] epoch {epoch + 1}/{cfg.epochs}  train loss {row['train_loss']:.4f}  "
                  f"test accuracy {test_acc:.4f}  ({train_time:.1f} s)", file=sys.stderr)
        state = {"model": model.state_dict(), "optimizer": opt.state_dict(),
                 "epoch": epoch + 1, "history": json.dumps(history),
                 "torch_rng": torch.get_rng_state()}
        hw = getattr(model, "bplight_hw", None)
        if hw is not None:
            state["hw_rng"] = hw.get_state()
        if writer is not None:
            state["writer_rng"] = writer.get_state()  # the same on every rank
        if ddp.active():  # every rank's own generators, gathered on all ranks
            state["world_size"] = ddp.world_size()
            state["torch_rng_ranks"] = ddp.gather(state["torch_rng"])
            if hw is not None:
                state["hw_rng_ranks"] = ddp.gather(
                    {k: v.cpu() for k, v in state["hw_rng"].items()})
        if ddp.is_main():
            save_checkpoint(ckpt_path, state)
            _write_metrics(run_dir, tag, history)
        ddp.barrier()
    final = history[-1] if history else {}
    out = {"history": history, "test_accuracy": final.get("test_accuracy"),
           "test_loss": final.get("test_loss")}
    if writer is not None:  # the measured memristor writes (cost: estimate --from-run)
        from bplight.experiments.wear import wear_record

        out["memristor"] = writer.write_record()
        out["memristor"]["wear"] = wear_record(writer, spec, len(history))
    return out


def _write_metrics(run_dir: Path, tag: str, history: list[dict[str, Any]]) -> None:
    path = run_dir / "metrics.json"
    data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    data[tag] = history
    atomic_write_json(path, data)
    rows = [r for runs in data.values() for r in runs]
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=keys)
    w.writeheader()
    w.writerows(rows)
    atomic_write_text(run_dir / "metrics.csv", buf.getvalue())


def check_run_dir(run_dir: Path) -> None:
    """InputError unless ``run_dir`` can become a new run: not a file, not below a
    file, and not already holding a run."""
    for p in (run_dir, *run_dir.parents):
        if p.exists() and not p.is_dir():
            raise InputError(f"--run-dir {run_dir}: {p} is a file, not a directory; choose "
                             "another --run-dir")
    if (run_dir / "args.json").exists():
        raise InputError(f"--run-dir {run_dir} already holds a run; use --resume {run_dir} "
                         "or another directory")


def create_run_dir(run_dir: Path, cfg: TrainConfig, spec: HardwareSpec) -> None:
    """Write ``config.yaml`` and ``args.json`` of a new run. A directory that does not exist
    yet is assembled under a temporary name beside it and renamed into place, so it
    either appears complete or not at all."""
    args = {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(cfg).items()}
    if run_dir.is_dir():
        atomic_write_text(run_dir / "config.yaml", dump_spec(spec))
        atomic_write_json(run_dir / "args.json", args)
        return
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{run_dir.name}.", suffix=".tmp", dir=run_dir.parent))
    try:
        atomic_write_text(tmp / "config.yaml", dump_spec(spec))
        atomic_write_json(tmp / "args.json", args)
        os.rename(tmp, run_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def prepare(cfg: TrainConfig) -> tuple[HardwareSpec, torch.device, tuple]:
    """Everything a run needs before it writes anything: the validated hardware
    description, the device and the (train, test) loaders (which read and check the data
    files). Raises a BplightError (config, input or data) with one sentence."""
    from bplight.data.datasets import make_loaders

    spec = load_spec(cfg.hardware, list(cfg.overrides))
    device = pick_device(ddp.device_for(cfg.device))
    loaders = make_loaders(cfg.dataset, cfg.batch_size, root=cfg.data_root, subset=cfg.subset,
                           seed=cfg.seed, test_batch_size=1000, device=device)
    return spec, device, loaders


def run_training(cfg: TrainConfig, run_dir: Path, resume: bool = False,
                 progress: bool = True,
                 prepared: tuple[HardwareSpec, torch.device, tuple] | None = None
                 ) -> dict[str, Any]:
    """Train the hardware model (and the FP32 baseline) and return the summary.

    Inputs are checked (:func:`prepare`, unless given as ``prepared``) before the run
    directory is created or touched."""
    spec, device, loaders = prepared if prepared is not None else prepare(cfg)
    ddp.barrier()  # every rank has checked the run directory before rank 0 creates it
    if ddp.is_main() and (not resume or not (run_dir / "config.yaml").exists()):
        create_run_dir(run_dir, cfg, spec)
    ddp.barrier()
    runs: list[tuple[str, HardwareSpec]] = [("hardware", spec)]
    if cfg.init_from is not None and cfg.finetune_on == "host":
        from bplight.experiments.deploy import host_spec

        runs = [("hardware", host_spec(spec))]  # hardware-aware training off the chip
    if cfg.baseline and not spec.is_fp32:
        runs.append(("fp32", spec.replace(mode="fp32")))
    results: dict[str, Any] = {}
    t0 = time.perf_counter()
    for tag, s in runs:
        results[tag] = train_one(cfg, s, run_dir, tag, loaders, device, progress, resume)
    fp32 = results.get("fp32", {}).get("test_accuracy")
    summary = {
        "test_accuracy": results["hardware"]["test_accuracy"],
        "fp32_test_accuracy": fp32,
        "accuracy_gap_pp": (None if fp32 is None else
                            100.0 * (fp32 - results["hardware"]["test_accuracy"])),
        "hardware": spec.name, "mode": spec.mode, "model": cfg.model,
        "dataset": cfg.dataset, "epochs": cfg.epochs, "batch_size": cfg.batch_size,
        "seed": cfg.seed, "subset": cfg.subset, "device": str(device),
        "run_dir": str(run_dir), "wall_time_s": time.perf_counter() - t0,
    }
    if "memristor" in results["hardware"]:
        summary["memristor"] = results["hardware"]["memristor"]
    if cfg.target_accuracy is not None:
        summary["target"] = _target_record(cfg, spec, results)
    if cfg.init_from is not None and ddp.is_main():
        from bplight.experiments.deploy import deploy_record

        summary["deploy"] = deploy_record(cfg, spec, run_dir, loaders, device,
                                          results["hardware"])
    if ddp.active():
        summary["world_size"] = ddp.world_size()
    if ddp.is_main():
        atomic_write_json(run_dir / "summary.json", summary)
    ddp.barrier()
    return summary


def run_workload(cfg: TrainConfig) -> Workload:
    """The cost engine's workload of the run's own model (its dataset's geometry, width
    and BatchNorm), traced from a freshly built model."""
    from bplight.models import build_model
    from bplight.workload import Workload

    channels, size, classes = _dataset_geometry(cfg.dataset)
    model = build_model(cfg.model, channels, classes, size, width=cfg.width,
                        batch_norm=cfg.batch_norm)
    return Workload.from_model(model, (channels, size, size), name=cfg.model)


def _target_record(cfg: TrainConfig, spec: HardwareSpec, results: dict[str, Any]
                   ) -> dict[str, Any]:
    """Time and energy to ``cfg.target_accuracy`` (:mod:`bplight.experiments.target`) on
    the workload traced from the run's own model; a design the cost engine rejects gets
    its one-sentence reason instead."""
    from bplight.errors import BplightError
    from bplight.experiments.target import per_image_costs, time_to_target

    workload = run_workload(cfg)
    fraction = results["hardware"].get("memristor", {}).get("write_fraction")
    try:
        costs = per_image_costs(workload, spec, cfg.batch_size, fraction)
    except BplightError as exc:
        return {"target_accuracy": cfg.target_accuracy, "error": str(exc)}
    fp32 = results.get("fp32", {}).get("history")
    return time_to_target(cfg.target_accuracy, results["hardware"]["history"], fp32, costs)


NULL_REASONS = {
    "fp32_test_accuracy": "no FP32 baseline was trained (--no-baseline, or the hardware "
    "itself is fp32)",
    "accuracy_gap_pp": "no FP32 baseline to compare with",
    "subset": "the full dataset was used",
    "lifetime_runs": "no memristor cell was written, so the run wears nothing",
    "lifetime_runs_mean": "no memristor cell was written, so the run wears nothing",
    "lifetime_steps": "no memristor cell was written, so the run wears nothing",
    "lifetime_runs_if_all": "no weight update was written",
    "policy_gain": "a lifetime is unlimited (nothing written), so there is no ratio",
    "images": "the run did not reach the target accuracy",
    "epochs": "the run did not reach the target accuracy",
}
"""Why a summary field can be ``null`` (shown beside it in ``--json``)."""


def _default_run_dir(cfg: TrainConfig) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    hw = Path(cfg.hardware).stem
    return Path("runs") / f"{stamp}-{cfg.model}-{cfg.dataset}-{hw}"


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "train", help="train a CNN on real data through the chip model (and the FP32 baseline)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    from bplight.data.sources import DATASET_NAMES
    from bplight.models import MODEL_NAMES

    p.add_argument("--model", default="lenet5", help=", ".join(MODEL_NAMES))
    p.add_argument("--dataset", default="mnist", help=", ".join(DATASET_NAMES))
    p.add_argument("--hardware", default="bplight-16b",
                   help="preset name (fp32, ideal, bplight-16b) or a YAML file")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="override a hardware field, e.g. --set forward.adc_bits=6 "
                   "or --set mode=exact (repeatable)")
    p.add_argument("--epochs", type=int, default=None,
                   help="epochs to train (default 3; with --resume: the run's own, or more "
                   "to extend it: the cosine schedule is recomputed for the new total and "
                   "training continues from the current epoch on it)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.05,
                   help="initial learning rate; epoch e of E trains at "
                   "lr*(1+cos(pi*e/E))/2 (default 0.05)")
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--subset", type=int, default=None,
                   help="use this many train and test samples (deterministic)")
    p.add_argument("--width", type=float, default=1.0, help="channel width multiplier")
    p.add_argument("--batch-norm", action="store_true",
                   help="VGG models: BatchNorm after each conv (digital, in the chip model "
                   "and in the cost engine's workload)")
    p.add_argument("--data-root", default=None,
                   help="data directory (default: $BPLIGHT_DATA or ~/.cache/bplight/data; "
                   "with --resume: the run's own unless given)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")
    p.add_argument("--no-baseline", action="store_true",
                   help="do not train the FP32 baseline beside the hardware run")
    p.add_argument("--run-dir", default=None, help="where to write the run (default: runs/...)")
    p.add_argument("--resume", default=None, metavar="RUN_DIR",
                   help="continue the run in RUN_DIR (interrupted, or finished: extend it "
                   "with --epochs)")
    p.add_argument("--target-accuracy", type=float, default=None, metavar="ACC",
                   help="also report the epochs and training images to reach test accuracy "
                   "ACC (e.g. 0.99) and what they cost: on the chip (cost engine, measured "
                   "write fraction) and on the GTX 1080 and PipeLayer (FP32 run's images); "
                   "in summary.json under 'target'")
    p.add_argument("--init-from", default=None, metavar="RUN_DIR",
                   help="start from the FP32 model of the run in RUN_DIR (trained "
                   "elsewhere) and fine-tune it for --epochs; summary.json 'deploy' gives "
                   "its test accuracy programmed into the chip as is and after fine-tuning")
    p.add_argument("--finetune-on", default="chip", choices=("host", "chip"),
                   help="with --init-from: 'chip' trains on the chip model (all products, "
                   "memristor writes); 'host' is hardware-aware training elsewhere (chip "
                   "forward product, float backward and weights), programmed at the end "
                   "(default chip)")
    p.add_argument("--json", action="store_true",
                   help="print the final summary as one JSON object on the last stdout line")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_train)
    return p


def _check_args(args: argparse.Namespace) -> None:
    from bplight.data.sources import canonical_name
    from bplight.models import MODEL_NAMES

    if args.model.lower() not in MODEL_NAMES:
        raise InputError(f"--model {args.model!r} is not known; allowed: "
                         f"{', '.join(MODEL_NAMES)}")
    canonical_name(args.dataset)  # UnknownDatasetError names the allowed ones
    for flag, value, low in (("--epochs", args.epochs, 1), ("--batch-size", args.batch_size, 1)):
        if value < low:
            raise InputError(f"{flag} must be >= {low}, got {value}")
    if not (args.lr > 0 and math.isfinite(args.lr)):
        raise InputError(f"--lr must be a positive number, got {args.lr}")
    if args.target_accuracy is not None:
        check_target(args.target_accuracy)
    if args.subset is not None and args.subset < 1:
        raise InputError(f"--subset must be >= 1, got {args.subset}")
    if not (args.width > 0 and math.isfinite(args.width)):
        raise InputError(f"--width must be > 0, got {args.width}")
    if args.finetune_on != "chip" and args.init_from is None:
        raise InputError("--finetune-on needs --init-from RUN_DIR (the network to fine-tune)")
    if args.batch_norm and not args.model.lower().startswith("vgg"):
        raise InputError(f"--batch-norm is only available for the VGG models, not "
                         f"{args.model}")


def _epochs_done(run_dir: Path) -> int:
    """Epochs the run in ``run_dir`` has finished (its hardware run's metrics)."""
    path = run_dir / "metrics.json"
    if not path.exists():
        return 0
    rows = json.loads(path.read_text()).get("hardware", [])
    return max((int(r["epoch"]) for r in rows), default=0)


def _resume_config(args: argparse.Namespace) -> tuple[TrainConfig, Path]:
    run_dir = Path(args.resume)
    if not (run_dir / "args.json").is_file():
        raise InputError(f"--resume {run_dir} holds no run (args.json missing)")
    try:
        saved = json.loads((run_dir / "args.json").read_text())
    except json.JSONDecodeError as exc:
        raise InputError(f"--resume {run_dir}: args.json is not valid JSON (line "
                         f"{exc.lineno}); restore it or start a new run") from None
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(saved) - known) if isinstance(saved, dict) else ["(not an object)"]
    if unknown:
        raise InputError(f"--resume {run_dir}: args.json has unknown entries "
                         f"{', '.join(unknown)}; it was not written by this version")
    saved["overrides"] = tuple(saved.get("overrides", ()))
    cfg = TrainConfig(**saved)
    if args.data_root is not None:  # the data may have moved since the run started
        cfg.data_root = args.data_root
    if args.target_accuracy is not None:
        cfg.target_accuracy = check_target(args.target_accuracy)
    if args.epochs is not None:
        done = _epochs_done(run_dir)
        if args.epochs < max(done, 1):
            raise InputError(f"--epochs {args.epochs} is below the {done} epoch(s) the run in "
                             f"{run_dir} has finished; give more to extend it")
        cfg.epochs = args.epochs
    return cfg, run_dir


def _cmd_train(args: argparse.Namespace) -> int:
    ddp.init()  # under torchrun: join the ranks (module bplight.experiments.ddp)
    if args.resume:
        cfg, run_dir = _resume_config(args)
    else:
        if args.epochs is None:
            args.epochs = 3
        _check_args(args)
        cfg = TrainConfig(model=args.model.lower(), dataset=args.dataset,
                          hardware=args.hardware, overrides=tuple(args.set),
                          epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                          momentum=args.momentum, weight_decay=args.weight_decay,
                          seed=args.seed, subset=args.subset, width=args.width,
                          data_root=args.data_root, device=args.device,
                          baseline=not args.no_baseline,
                          target_accuracy=args.target_accuracy,
                          batch_norm=args.batch_norm, init_from=args.init_from,
                          finetune_on=args.finetune_on)
        run_dir = Path(args.run_dir) if args.run_dir else _default_run_dir(cfg)
        check_run_dir(run_dir)
        if cfg.init_from is not None:
            from bplight.experiments.deploy import check_source

            check_source(Path(cfg.init_from), cfg)
    prepared = prepare(cfg)  # data, hardware and device checked before writing anything
    try:
        summary = run_training(cfg, run_dir, resume=bool(args.resume),
                               progress=not args.quiet, prepared=prepared)
    except TrainingDiverged as exc:
        print(f"bplight train: {exc}", file=sys.stderr)
        return EXIT_DIVERGED
    except KeyboardInterrupt:
        print(_interrupted_message(run_dir), file=sys.stderr)
        return EXIT_INTERRUPTED
    if not ddp.is_main():
        return 0
    _print_summary(summary)
    if args.json:
        print(json_line(summary, NULL_REASONS))
    return 0


def _interrupted_message(run_dir: Path) -> str:
    if not (run_dir / "args.json").exists():
        return "bplight train: interrupted before the run started; nothing was written"
    done = _epochs_done(run_dir)
    kept = (f"the checkpoint after epoch {done} is kept" if done else
            "no epoch had finished, so no checkpoint was written yet")
    return (f"bplight train: interrupted; {kept}; continue with: "
            f"bplight train --resume {run_dir}")


def _print_summary(s: dict[str, Any]) -> None:
    print(f"model {s['model']} on {s['dataset']}, {s['epochs']} epochs, run dir {s['run_dir']}")
    print(f"  {s['hardware']} ({s['mode']}) test accuracy: {100 * s['test_accuracy']:.2f} %")
    if s.get("fp32_test_accuracy") is not None:
        print(f"  fp32 baseline test accuracy:  {100 * s['fp32_test_accuracy']:.2f} %")
        print(f"  gap: {s['accuracy_gap_pp']:+.2f} percentage points")
    wear = (s.get("memristor") or {}).get("wear")
    if wear is not None:
        from bplight.experiments.wear import wear_lines

        for line in wear_lines(wear):
            print(f"  {line}")
    if s.get("deploy") is not None:
        from bplight.experiments.deploy import deploy_lines

        for line in deploy_lines(s["deploy"]):
            print(f"  {line}")
    target = s.get("target")
    if target is not None:
        from bplight.experiments.target import target_lines

        if "error" in target:
            print(f"  time to test accuracy {target['target_accuracy']}: not costed "
                  f"({target['error']})")
        else:
            for line in target_lines(target):
                print(f"  {line}")
