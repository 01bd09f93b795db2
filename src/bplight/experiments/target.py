"""Time and energy to reach a target test accuracy (``bplight train --target-accuracy``).

From a run's per-epoch history: the first epoch whose test accuracy reaches the target,
and the training images seen up to the end of that epoch. Those images are multiplied by
a per-image training cost:

* the chip: the cost engine's training estimate of one batch
  (:func:`bplight.cost.engine.estimate` with mode "train" at the run's batch size, on
  the workload traced from the run's own model and the run's hardware description, with
  the write fraction the run measured) divided by the batch size, times the **hardware**
  run's images to target;
* each training baseline (GTX 1080 and PipeLayer by default): its own per-image training
  estimate for the same workload and batch, times the **FP32** run's images to target
  (a digital baseline trains in full precision).

A run that never reaches the target gets ``reached: false`` and ``null`` seconds and
joules (with a reason), never an extrapolation.
"""

from __future__ import annotations

from typing import Any

from bplight.errors import InputError

DEFAULT_BASELINES = ("gtx1080", "pipelayer")


def check_target(target: float) -> float:
    """``target`` if it is an accuracy in (0, 1], else InputError."""
    if not 0.0 < target <= 1.0:
        raise InputError(f"--target-accuracy {target} is not an accuracy; allowed: a "
                         "fraction in (0, 1], e.g. 0.99")
    return target


def images_to_target(history: list[dict[str, Any]], target: float
                     ) -> tuple[int | None, int | None]:
    """(epoch, training images seen by the end of it) of the first epoch of ``history``
    whose test accuracy is >= ``target``; (None, None) if none is."""
    for row in history:
        if row["test_accuracy"] >= target:
            return int(row["epoch"]), int(row["images_seen"])
    return None, None


def per_image_costs(workload: Any, spec: Any, batch: int, write_fraction: float | None,
                    baselines: tuple[str, ...] = DEFAULT_BASELINES
                    ) -> dict[str, dict[str, float]]:
    """Seconds and joules per training image: ``{"chip": {...}, <baseline>: {...}}``,
    each the training estimate of one batch divided by ``batch``."""
    from bplight.baselines.registry import get_baseline
    from bplight.cost.engine import estimate

    out: dict[str, dict[str, float]] = {}
    rep = estimate(workload, spec, mode="train", batch=batch, write_fraction=write_fraction)
    out["chip"] = {"seconds_per_image": rep.latency_s / batch,
                   "joules_per_image": rep.energy_j / batch, "design": spec.name}
    for name in baselines:
        b = get_baseline(name)
        r = b.estimate(workload, mode="train", batch=batch)
        out[b.name] = {"seconds_per_image": r.latency_s / batch,
                       "joules_per_image": r.energy_j / batch, "design": b.name}
    return out


def time_to_target(target: float, hardware_history: list[dict[str, Any]],
                   fp32_history: list[dict[str, Any]] | None,
                   costs: dict[str, dict[str, float]]) -> dict[str, Any]:
    """The ``target`` record of a run (module docstring): per design (``chip`` and each
    baseline in ``costs``), epochs and images to target, seconds and joules."""
    hw_epoch, hw_images = images_to_target(hardware_history, target)
    fp_epoch, fp_images = (images_to_target(fp32_history, target) if fp32_history
                           else (None, None))
    designs: dict[str, Any] = {}
    for key, c in costs.items():
        chip = key == "chip"
        epoch, images = (hw_epoch, hw_images) if chip else (fp_epoch, fp_images)
        row: dict[str, Any] = {
            "design": c["design"], "trained_as": "hardware" if chip else "fp32",
            "reached": images is not None, "epochs": epoch, "images": images,
            "seconds_per_image": c["seconds_per_image"],
            "joules_per_image": c["joules_per_image"],
            "seconds": None if images is None else images * c["seconds_per_image"],
            "joules": None if images is None else images * c["joules_per_image"],
        }
        if images is None:
            if not chip and not fp32_history:
                why = ("no FP32 run was trained (--no-baseline), so the baseline has no "
                       "images to target")
            else:
                why = (f"the {'hardware' if chip else 'FP32'} run did not reach test accuracy "
                       f"{target} in the epochs trained")
            row["seconds_reason"] = row["joules_reason"] = why
        designs[key] = row
    return {"target_accuracy": target, "designs": designs}


def target_lines(rec: dict[str, Any]) -> list[str]:
    """The target record as text, one line per design."""
    from bplight.units import format_si

    lines = [f"to test accuracy {rec['target_accuracy']}:"]
    for row in rec["designs"].values():
        if not row["reached"]:
            lines.append(f"  {row['design']:<14s} not reached ({row['seconds_reason']})")
            continue
        lines.append(f"  {row['design']:<14s} {row['epochs']} epoch(s), {row['images']} images "
                     f"({row['trained_as']} run) -> {format_si(row['seconds'], 's')}, "
                     f"{format_si(row['joules'], 'J')}")
    return lines
