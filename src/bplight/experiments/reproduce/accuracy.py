"""The accuracy benchmark's JSON (``benchmarks/bench_accuracy.py``), read by known keys.

Every key the reproduction uses is listed here; a file without one of them is an
:class:`bplight.errors.InputError` naming the key and the file (no guessing from key
names). Accuracies are fractions in [0, 1].
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bplight.errors import InputError

PRODUCE_HINT = ("produce it with `python benchmarks/bench_accuracy.py` (it writes "
                "benchmarks/out/accuracy/accuracy.json) or use the checked-in "
                "docs/accuracy/accuracy.json")


@dataclass(frozen=True)
class SweepPoint:
    """One point of a sweep: the setting (``None`` for "no noise") and the accuracy."""

    setting: float | None
    test_accuracy: float


@dataclass(frozen=True)
class AccuracyResult:
    """What the reproduction shows of the accuracy benchmark."""

    path: str
    epochs: int
    fp32: float
    """Test accuracy of plain PyTorch (FP32), same seed, data order and schedule."""
    hardware: float
    """Test accuracy trained through the chip model (``bplight-16b``, fast mode)."""
    inference: dict[str, float]
    """The FP32-trained network read through the chip: mode -> test accuracy."""
    inference_images: int
    sweep_epochs: int
    sweep_fp32: float
    resolution_sweep: tuple[SweepPoint, ...]
    """Operand bits -> test accuracy, ascending bits."""
    noise_sweep: tuple[SweepPoint, ...]
    """Detector SNR (dB; ``None``: noise off) -> test accuracy, ascending SNR."""

    @property
    def drop_points(self) -> float:
        """FP32 minus hardware accuracy, percentage points."""
        return 100.0 * (self.fp32 - self.hardware)

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "epochs": self.epochs, "fp32_test_accuracy": self.fp32,
                "hardware_test_accuracy": self.hardware, "drop_points": self.drop_points,
                "inference": dict(self.inference), "inference_images": self.inference_images,
                "sweep_epochs": self.sweep_epochs, "sweep_fp32_test_accuracy": self.sweep_fp32,
                "resolution_sweep": [{"bits": p.setting, "test_accuracy": p.test_accuracy}
                                     for p in self.resolution_sweep],
                "noise_sweep": [{"snr_db": p.setting, "test_accuracy": p.test_accuracy}
                                for p in self.noise_sweep]}


class _Reader:
    """Looks up dotted keys in one file's data; every miss names the key and the file."""

    def __init__(self, path: Path, data: Any) -> None:
        self.path, self.data = path, data

    def get(self, key: str, node: Any = None, where: str = "") -> Any:
        node = self.data if node is None else node
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                raise InputError(f"accuracy file {self.path} has no key "
                                 f"'{where}{key}'; {PRODUCE_HINT}")
            node = node[part]
        return node

    def accuracy(self, key: str, node: Any = None, where: str = "") -> float:
        v = self.get(key, node, where)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= v <= 1.0:
            raise InputError(f"accuracy file {self.path}: '{where}{key}' is {v!r}; allowed: "
                             "a fraction in [0, 1]")
        return float(v)

    def count(self, key: str, node: Any = None, where: str = "") -> int:
        v = self.get(key, node, where)
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise InputError(f"accuracy file {self.path}: '{where}{key}' is {v!r}; allowed: "
                             "an integer >= 1")
        return v

    def setting(self, key: str, node: Any, where: str) -> float | None:
        v = self.get(key, node, where)
        if v is None:  # strict JSON writes "no noise" (infinite SNR) as null
            return None
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise InputError(f"accuracy file {self.path}: '{where}{key}' is {v!r}; allowed: "
                             "a number or null")
        return None if math.isinf(v) else float(v)

    def sweep(self, key: str, setting: str) -> tuple[SweepPoint, ...]:
        rows = self.get(key)
        if not isinstance(rows, list) or not rows:
            raise InputError(f"accuracy file {self.path}: '{key}' must be a non-empty list "
                             "of sweep points")
        return tuple(SweepPoint(self.setting(setting, row, f"{key}[{i}]."),
                                self.accuracy("test_accuracy", row, f"{key}[{i}]."))
                     for i, row in enumerate(rows))


def read_accuracy(path: str | Path) -> AccuracyResult:
    """Read ``accuracy.json`` as ``benchmarks/bench_accuracy.py`` writes it.

    Raises :class:`InputError` when the file is missing, is not JSON, or lacks a key
    (the message names it)."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"--accuracy-json {path}: no such file; {PRODUCE_HINT}")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"accuracy file {path} is not valid JSON ({exc.msg} at line "
                         f"{exc.lineno}); {PRODUCE_HINT}") from None
    except UnicodeDecodeError:
        raise InputError(f"accuracy file {path} is not UTF-8 text; {PRODUCE_HINT}") from None
    r = _Reader(p, data)
    epochs = r.count("main.epochs")
    fp32 = r.accuracy("main.fp32_test_accuracy")
    hardware = r.accuracy("main.hardware_test_accuracy")
    inference = r.get("exact_inference.accuracy")
    if not isinstance(inference, dict) or not inference:
        raise InputError(f"accuracy file {path}: 'exact_inference.accuracy' must map each "
                         "mode to its test accuracy")
    return AccuracyResult(
        path=str(path), epochs=epochs, fp32=fp32, hardware=hardware,
        inference={str(k): r.accuracy(str(k), inference, "exact_inference.accuracy.")
                   for k in inference},
        inference_images=r.count("exact_inference.test_images"),
        sweep_epochs=r.count("sweep_epochs"),
        sweep_fp32=r.accuracy("sweep_fp32_test_accuracy"),
        resolution_sweep=r.sweep("resolution_sweep", "bits"),
        noise_sweep=r.sweep("noise_sweep", "snr_db"),
    )
