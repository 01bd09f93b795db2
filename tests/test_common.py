"""What the result commands share: the --input parser, built-in inputs, strict JSON."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from bplight.errors import InputError
from bplight.experiments.common import (
    DEFAULT_INPUT,
    build_workload,
    builtin_input,
    json_line,
    parse_input,
    with_null_reasons,
)


@pytest.mark.parametrize("text, shape", [
    ("3x224x224", (3, 224, 224)), ("1×28×28", (1, 28, 28)), (" 12 ", (12,)),
    ("2x3x4x5", (2, 3, 4, 5)),
])
def test_parse_input_accepts_1_to_4_sizes(text: str, shape: tuple[int, ...]) -> None:
    assert parse_input(text) == shape


@pytest.mark.parametrize("text", ["", "3x", "0x32x32", "3x-1x2", "1x2x3x4x5", "3x32.5x32",
                                  "3x5000x5000", "abc"])
def test_parse_input_refuses_with_one_sentence(text: str) -> None:
    with pytest.raises(InputError, match="CxHxW") as info:
        parse_input(text)
    assert "\n" not in str(info.value) and not isinstance(info.value, ValueError)


def test_builtin_inputs() -> None:
    assert builtin_input("VGG-16", None) == DEFAULT_INPUT["vgg16"] == (3, 224, 224)
    assert builtin_input("lenet5", "1x28x28") == (1, 28, 28)
    with pytest.raises(InputError, match="lenet5 takes 28x28 or 32x32"):
        builtin_input("lenet5", "1x20x20")
    with pytest.raises(InputError, match="H = W"):
        builtin_input("vgg8", "3x32x16")
    with pytest.raises(InputError, match="resnet50.*allowed: lenet5"):
        builtin_input("resnet50", None)
    assert tuple(build_workload("lenet5").input_shape) == (1, 32, 32)
    assert build_workload("vgg8", (3, 32, 32)).macs == build_workload("vgg8", "3x32x32").macs


def test_null_with_a_reason_never_nan() -> None:
    data = {"a": math.nan, "b": {"c": math.inf, "d": 1.5}, "e": [np.float64(-math.inf), 2],
            "f": None, "g": None}
    out = with_null_reasons(data, {"f": "nothing to compare with"})
    assert out["a"] is None and "not a number" in out["a_reason"]
    assert out["b"]["c"] is None and out["b"]["c_reason"] == "the value is infinite"
    assert out["b"]["d"] == 1.5 and "d_reason" not in out["b"]
    assert out["f_reason"] == "nothing to compare with" and "g_reason" not in out
    line = json_line(data, {"a": "no FP32 run"})
    assert "NaN" not in line and "Infinity" not in line and "\n" not in line
    parsed = json.loads(line)
    assert parsed["a"] is None and parsed["a_reason"] == "no FP32 run"
    assert parsed["e"] == [None, 2]
