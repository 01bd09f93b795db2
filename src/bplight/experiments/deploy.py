"""Deploying a network trained elsewhere onto the chip, as is or after noise-aware
fine-tuning (``bplight train --init-from RUN_DIR``).

A network trained in FP32 (the ``fp32`` model of an earlier ``bplight train`` run, its
``checkpoint-fp32.pt``) is

(a) **deployed as is**: its weights are programmed into the memristor cells (rounded to
    the stored grid, with the design's device variation) and the test set is classified
    through the chip model (forward products with read noise and quantization);
(b) **fine-tuned, then deployed**: the run trains ``--epochs`` more epochs from those
    weights (usually at a small ``--lr``) and is evaluated through the chip the same way.

Where the fine-tuning runs (``--finetune-on``):

* ``host`` — hardware-aware training elsewhere, as in IBM aihwkit's inference workflow
  (aihwkit docs, "Hardware-aware training": train digitally with the analog
  non-idealities injected in the forward pass, then program the chip): the forward
  product goes through the chip model (read noise, DAC/ADC quantization, crosstalk), the
  error and weight-gradient products are exact float, the weights stay float
  (``update.memristor: false``); the final weights are then programmed into the cells.
  Its cost is the host's: the GPU baseline's training cost per image × the images
  fine-tuned (:mod:`bplight.baselines`).
* ``chip`` — the fine-tuning epochs are ordinary training on the chip (all three
  products and the memristor writes, as ``bplight train``); its cost is the cost
  engine's training cost per image of the design (with the run's measured write
  fraction) × the images fine-tuned.

The record (``summary.json`` ``deploy``) holds the source network's FP32 test accuracy,
the as-is and fine-tuned accuracies on the chip and what the fine-tuning cost.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
import yaml

from bplight.config.spec import HardwareSpec
from bplight.errors import InputError

FINETUNE_PLACES = ("host", "chip")
HOST_BASELINE = "gtx1080"
"""The baseline whose training cost per image prices fine-tuning on the host."""

_MATCH = ("model", "dataset", "width", "batch_norm")
"""Fields of the source run's args.json that must equal the fine-tuning run's."""


def host_spec(spec: HardwareSpec) -> HardwareSpec:
    """The spec hardware-aware training on the host uses: ``spec``'s forward product,
    float error and weight-gradient products, float weights (no memristor writes)."""
    return spec.replace(update=spec.update.model_copy(update={"memristor": False}),
                        error=spec.error.model_copy(update={"analog": False}),
                        weight_grad=spec.weight_grad.model_copy(update={"analog": False}))


def check_source(run_dir: Path, cfg: Any) -> None:
    """InputError unless ``run_dir`` holds an FP32 model of the same network and data as
    ``cfg`` (model, dataset, width, batch_norm)."""
    if source_checkpoint(run_dir) is None:
        raise InputError(f"--init-from {run_dir} holds no FP32 model (checkpoint-fp32.pt, or "
                         "checkpoint-hardware.pt of a --hardware fp32 run); give a run of "
                         "bplight train with its FP32 baseline (without --no-baseline)")
    try:
        saved = json.loads((run_dir / "args.json").read_text())
    except (OSError, json.JSONDecodeError):
        raise InputError(f"--init-from {run_dir}: args.json is missing or not valid JSON; "
                         "give a directory written by bplight train") from None
    for key in _MATCH:
        mine, theirs = getattr(cfg, key), saved.get(key)
        if mine != theirs:
            raise InputError(f"--init-from {run_dir} trained {key} = {theirs!r}, this run "
                             f"{key} = {mine!r}; allowed: the same {', '.join(_MATCH)}")


def source_checkpoint(run_dir: Path) -> Path | None:
    """The FP32 model's checkpoint of the run in ``run_dir``: its baseline's, or its own
    when the run trained ``--hardware fp32``; None when it has neither."""
    if (run_dir / "checkpoint-fp32.pt").is_file():
        return run_dir / "checkpoint-fp32.pt"
    own = run_dir / "checkpoint-hardware.pt"
    try:
        mode = (yaml.safe_load((run_dir / "config.yaml").read_text()) or {}).get("mode")
    except (OSError, yaml.YAMLError, AttributeError):
        return None
    return own if mode == "fp32" and own.is_file() else None


def source_weights(run_dir: Path) -> dict[str, torch.Tensor]:
    """The FP32 model's state dict of the run in ``run_dir``."""
    path = source_checkpoint(run_dir)
    if path is None:
        raise InputError(f"--init-from {run_dir} holds no FP32 model")
    from bplight.experiments.train import load_checkpoint

    return load_checkpoint(path)["model"]


def _plain_model(cfg: Any, state: dict[str, torch.Tensor], device: torch.device) -> nn.Module:
    from bplight.experiments.train import _dataset_geometry
    from bplight.models import build_model

    channels, size, classes = _dataset_geometry(cfg.dataset)
    model = build_model(cfg.model, channels, classes, size, width=cfg.width,
                        batch_norm=cfg.batch_norm)
    # a fine-tuned checkpoint may hold the chip model's extra buffers; the weights,
    # biases and BatchNorm statistics must all be there
    missing, _ = model.load_state_dict(state, strict=False)
    if missing:
        raise InputError(f"the model state lacks {', '.join(missing[:3])}; it was not "
                         f"written for {cfg.model}")
    return model.to(device)


def program_and_evaluate(cfg: Any, spec: HardwareSpec, state: dict[str, torch.Tensor],
                         test_loader: Any, device: torch.device) -> float:
    """Test accuracy of the float weights ``state`` programmed into ``spec``'s memristor
    cells and read through its chip model (``spec`` fp32: the float network itself)."""
    from bplight.experiments.train import evaluate
    from bplight.numerics import MemristorWriter, convert

    model = _plain_model(cfg, state, device)
    if not spec.is_fp32:
        model = convert(model, spec, seed=cfg.seed, inplace=True)
        if spec.update.memristor:
            model.bplight_writer = MemristorWriter(model, spec, seed=cfg.seed + 1)
    return evaluate(model, test_loader, device)[1]


def deploy_record(cfg: Any, spec: HardwareSpec, run_dir: Path, loaders: tuple,
                  device: torch.device, hardware: dict[str, Any]) -> dict[str, Any]:
    """The ``deploy`` record of a fine-tuning run (module docstring); ``hardware``: the
    hardware run's results (:func:`bplight.experiments.train.train_one`)."""
    from bplight.errors import BplightError
    from bplight.experiments.train import load_checkpoint

    test_loader = loaders[1]
    source = Path(cfg.init_from)
    init = source_weights(source)
    fp32_acc = program_and_evaluate(cfg, spec.replace(mode="fp32"), init, test_loader, device)
    as_is = program_and_evaluate(cfg, spec, init, test_loader, device)
    if cfg.finetune_on == "host":
        final = load_checkpoint(run_dir / "checkpoint-hardware.pt")["model"]
        tuned = program_and_evaluate(cfg, spec, final, test_loader, device)
    else:  # trained on the chip: the weights are in the cells already
        tuned = hardware["test_accuracy"]
    history = hardware.get("history") or [{}]
    images = int(history[-1].get("images_seen", 0))
    record: dict[str, Any] = {
        "source_run": str(source), "finetune_on": cfg.finetune_on,
        "finetune_epochs": len(history), "finetune_images": images,
        "source_fp32_test_accuracy": fp32_acc, "as_is_test_accuracy": as_is,
        "finetuned_test_accuracy": tuned, "gain_pp": 100.0 * (tuned - as_is),
    }
    try:
        per_image = finetune_cost_per_image(cfg, spec, hardware)
    except BplightError as exc:  # a design the cost engine rejects: say why
        record["cost_error"] = str(exc)
        return record
    record.update(per_image)
    record["finetune_joules"] = images * per_image["joules_per_image"]
    record["finetune_seconds"] = images * per_image["seconds_per_image"]
    return record


def finetune_cost_per_image(cfg: Any, spec: HardwareSpec, hardware: dict[str, Any]
                            ) -> dict[str, Any]:
    """Seconds and joules per fine-tuning image where it ran: the chip's training
    estimate (measured write fraction) or the host GPU baseline's."""
    from bplight.experiments.target import per_image_costs
    from bplight.experiments.train import run_workload

    workload = run_workload(cfg)
    if cfg.finetune_on == "chip":
        fraction = hardware.get("memristor", {}).get("write_fraction")
        c = per_image_costs(workload, spec, cfg.batch_size, fraction, baselines=())["chip"]
    else:
        c = per_image_costs(workload, spec, cfg.batch_size, None,
                            baselines=(HOST_BASELINE,))
        c = next(v for k, v in c.items() if k != "chip")
    return {"cost_design": c["design"], "seconds_per_image": c["seconds_per_image"],
            "joules_per_image": c["joules_per_image"]}


def deploy_lines(d: dict[str, Any]) -> list[str]:
    """Human-readable lines of a ``deploy`` record."""
    lines = [f"deployment of {d['source_run']} (FP32 {100 * d['source_fp32_test_accuracy']:.2f} "
             f"%): as is on the chip {100 * d['as_is_test_accuracy']:.2f} %, after "
             f"{d['finetune_epochs']} fine-tuning epoch(s) on the {d['finetune_on']} "
             f"{100 * d['finetuned_test_accuracy']:.2f} % ({d['gain_pp']:+.2f} pp)"]
    if "finetune_joules" in d:
        lines.append(f"fine-tuning cost ({d['cost_design']}): {d['finetune_images']} images, "
                     f"{d['finetune_seconds']:.3g} s, {d['finetune_joules']:.3g} J")
    elif "cost_error" in d:
        lines.append(f"fine-tuning cost: not costed ({d['cost_error']})")
    return lines
