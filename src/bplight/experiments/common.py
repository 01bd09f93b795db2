"""What the result commands share: the one ``--input`` parser, the built-in workloads'
default inputs, and the ``--json`` line (strict JSON, ``null`` with a reason).

Nothing here imports the command line (:mod:`bplight.cli`); errors a user can fix are
:class:`bplight.errors.InputError`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from bplight.errors import InputError
from bplight.io import dumps_json

DEFAULT_INPUT: dict[str, tuple[int, int, int]] = {
    "lenet5": (1, 32, 32),   # LeNet-5 as published (32x32; 416.5 k MACs, docs/sources.md)
    "vgg8": (3, 32, 32),     # CIFAR-10 sized
    "vgg11": (3, 32, 32),    # CIFAR-10 sized
    "vgg16": (3, 224, 224),  # ImageNet VGG-16 (15.47 G MACs), as ISAAC/PipeLayer evaluate
}
"""Input shape (C, H, W) of each built-in model when ``--input`` is not given."""

MAX_INPUT_SIZE = 4096
_LENET_SIZES = (28, 32)  # LeNet5's two layouts (bplight.models.lenet)


def parse_input(text: str, flag: str = "--input") -> tuple[int, ...]:
    """``"3x224x224"`` -> (3, 224, 224): 1 to 4 sizes in 1..4096, separated by ``x``.

    Raises :class:`InputError` (one sentence) otherwise."""
    parts = text.strip().lower().replace("×", "x").split("x")
    if all(p.strip().isdigit() for p in parts):
        shape = tuple(int(p) for p in parts)
        if 1 <= len(shape) <= 4 and all(1 <= s <= MAX_INPUT_SIZE for s in shape):
            return shape
    raise InputError(f"{flag} {text!r} must look like CxHxW with integers "
                     f"1..{MAX_INPUT_SIZE}, e.g. 3x32x32")


def model_key(model: str) -> str:
    """The built-in model name of ``model`` (``"VGG-16"`` -> ``"vgg16"``), or InputError."""
    from bplight.models import MODEL_NAMES

    key = model.strip().lower().replace("-", "").replace("_", "")
    if key not in MODEL_NAMES:
        raise InputError(f"--model {model!r} is not a built-in model; allowed: "
                         f"{', '.join(MODEL_NAMES)}")
    return key


def builtin_input(model: str, text: str | None) -> tuple[int, int, int]:
    """The input shape of a built-in ``model``: ``--input`` ``text`` parsed and checked
    (C×S×S; LeNet-5 takes S = 28 or 32), or the model's :data:`DEFAULT_INPUT`."""
    key = model_key(model)
    if text is None:
        return DEFAULT_INPUT[key]
    shape = parse_input(text)
    if len(shape) != 3 or shape[1] != shape[2]:
        raise InputError(f"--input {text!r}: the built-in models take a CxHxW input with "
                         "H = W, e.g. 3x32x32")
    if key == "lenet5" and shape[1] not in _LENET_SIZES:
        raise InputError(f"--input {text!r}: lenet5 takes 28x28 or 32x32 images, "
                         f"not {shape[1]}x{shape[2]}")
    return shape  # type: ignore[return-value]


def build_workload(model: str, input_shape: Sequence[int] | str | None = None,
                   num_classes: int | None = None) -> Any:
    """The built-in ``model`` on ``input_shape`` (a C×S×S tuple, an ``--input`` text or
    ``None`` for the default) as a :class:`bplight.workload.Workload` (10 classes below
    224 px, 1000 from 224 px unless ``num_classes``)."""
    from bplight.workload import Workload

    if input_shape is None or isinstance(input_shape, str):
        shape = builtin_input(model, input_shape)
    else:
        shape = builtin_input(model, "x".join(str(int(s)) for s in input_shape))
    if num_classes is not None and num_classes < 1:
        raise InputError(f"--num-classes must be >= 1, got {num_classes}")
    return Workload.from_name(model_key(model), shape, num_classes=num_classes)


def check_batch(batch: int, flag: str = "--batch", high: int = 1_000_000) -> int:
    """``batch`` if it is in 1..``high``, else InputError."""
    if not 1 <= batch <= high:
        raise InputError(f"{flag} {batch} is out of range; allowed: 1..{high}")
    return batch


def _non_finite(value: Any) -> str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return "not a number (NaN)" if math.isnan(value) else "infinite"
    return None


def with_null_reasons(obj: Any, reasons: dict[str, str] | None = None) -> Any:
    """``obj`` ready for strict JSON: every non-finite float becomes ``None`` and gets a
    ``<key>_reason`` entry beside it (``reasons[key]`` where the caller knows why, else
    what the value was); a ``None`` already carrying a known reason gets it too."""
    reasons = reasons or {}
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        for k, v in obj.items():
            key = str(k)
            bad = _non_finite(v)
            if bad is not None:
                out[key] = None
                out.setdefault(f"{key}_reason", reasons.get(key, f"the value is {bad}"))
            else:
                out[key] = with_null_reasons(v, reasons)
                if v is None and key in reasons:
                    out.setdefault(f"{key}_reason", reasons[key])
        return out
    if isinstance(obj, (list, tuple)):
        return [with_null_reasons(v, reasons) for v in obj]
    return obj


def json_line(obj: Any, reasons: dict[str, str] | None = None) -> str:
    """One line of strict JSON (no NaN/Infinity: ``null`` with a reason, see
    :func:`with_null_reasons`), for the last stdout line of a ``--json`` command."""
    return dumps_json(with_null_reasons(obj, reasons), indent=None).rstrip("\n")
