"""Workloads traced from torch models: layer shapes, MAC counts, signs, GEMMs."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from bplight.mapping import layer_gemms
from bplight.workload import Workload


@pytest.fixture(scope="module")
def lenet() -> Workload:
    return Workload.from_name("lenet5", (1, 32, 32))


def test_lenet5_macs_match_the_hand_count(lenet: Workload) -> None:
    # docs/sources.md: C1 117.6 k, C3 240 k, C5 48 k, F6 10.08 k, out 0.84 k
    per_layer = [lay.positions * lay.k_forward * lay.out_channels for lay in lenet.layers]
    assert per_layer == [117_600, 240_000, 48_000, 10_080, 840]
    assert lenet.macs == 416_520
    # weights: 6*25 + 16*150 + 120*400 + 84*120 + 10*84 (biases excluded)
    assert lenet.weights == 150 + 2_400 + 48_000 + 10_080 + 840


def test_lenet5_signs_first_layer_and_digital_ops(lenet: Workload) -> None:
    assert [lay.first_layer for lay in lenet.layers] == [True] + [False] * 4
    # only the N(0, 1) image is signed; every later input follows ReLU (+ pooling)
    assert [lay.input_signed for lay in lenet.layers] == [True] + [False] * 4
    assert lenet.layers[0].in_hw == (32, 32) and lenet.layers[0].out_hw == (28, 28)
    assert lenet.activation_elements == 6 * 28 * 28 + 16 * 10 * 10 + 120 + 84
    assert lenet.pooling_elements == 6 * 28 * 28 + 16 * 10 * 10


def test_vgg16_224_macs_and_weights() -> None:
    w = Workload.from_name("vgg16", (3, 224, 224))
    assert len(w.layers) == 16
    assert w.macs == 15_470_264_320  # 15.47 G (docs/sources.md)
    assert w.weights == 138_344_128  # 138,357,544 parameters minus 13,416 biases
    assert w.layers[-1].out_channels == 1000  # ImageNet classifier at 224 px


def test_gemms_follow_layer_gemms(lenet: Workload) -> None:
    infer = lenet.gemms("infer", 4)
    assert [g.phase for g in infer] == ["forward"] * 5
    train = lenet.gemms("train", 4)
    assert len(train) == 3 * 5 - 1  # the first layer issues no error product
    assert "error" not in {g.phase for g in train if g.layer == "features.0"}
    c1 = layer_gemms(lenet.layers_at(4)[0])
    assert (c1["forward"].m, c1["forward"].k, c1["forward"].n) == (4 * 784, 25, 6)
    assert (c1["weight_grad"].m, c1["weight_grad"].k, c1["weight_grad"].n) == (25, 4 * 784, 6)
    assert lenet.macs_for("infer") == lenet.macs
    assert lenet.macs_for("train") == 3 * lenet.macs - 117_600
    assert sum(g.macs for g in train) == 4 * lenet.macs_for("train")


def test_inline_model_signs_groups_and_tokens() -> None:
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1, groups=2),  # input non-negative (after ReLU)
        nn.Flatten(), nn.Linear(8 * 6 * 6, 16),  # input: a conv output, signed
        nn.Linear(16, 4),  # input is a Linear output without ReLU: signed
    )
    w = Workload.from_model(model, (3, 6, 6), name="toy")
    names = [lay.name for lay in w.layers]
    assert names == ["0", "2", "4", "5"]
    assert [lay.input_signed for lay in w.layers] == [True, False, True, True]
    assert w.layers[1].in_channels == 8 and w.layers[1].out_channels == 8
    assert w.layers[1].groups == 2 and w.layers[1].k_forward == 4 * 9
    assert w.macs == 36 * 27 * 8 + 2 * 36 * 36 * 4 + 288 * 16 + 16 * 4
    tokens = Workload.from_model(nn.Sequential(nn.Linear(5, 7)), (3, 5))
    assert tokens.layers[0].positions == 3 and tokens.macs == 3 * 5 * 7


def test_trace_is_deterministic_and_restores_mode() -> None:
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5), nn.Linear(4, 2))
    model.train()
    a = Workload.from_model(model, (4,))
    b = Workload.from_model(model, (4,))
    assert a == b and model.training


def test_photonic_layers_trace_like_torch_layers(lenet: Workload) -> None:
    from bplight.models import build_model
    from bplight.numerics import convert

    model = build_model("lenet5", 1, 10, 32)
    converted = convert(model, "bplight-16b")
    w = Workload.from_model(converted, (1, 32, 32), name=lenet.name)
    assert w.layers == lenet.layers


def test_bad_inputs_are_refused(lenet: Workload) -> None:
    with pytest.raises(ValueError, match="mode"):
        lenet.gemms("backprop", 1)
    with pytest.raises(ValueError, match="batch"):
        lenet.gemms("train", 0)
    with pytest.raises(ValueError, match="no Conv2d or Linear"):
        Workload.from_model(nn.Sequential(nn.ReLU()), (4,))
    with pytest.raises(ValueError, match="square"):
        Workload.from_name("vgg8", (3, 32, 16))
    with pytest.raises(ValueError):
        Workload.from_name("resnet50", (3, 32, 32))


def test_float64_model_traces() -> None:
    model = nn.Sequential(nn.Conv2d(1, 2, 3, stride=2)).to(torch.float64)
    w = Workload.from_model(model, (1, 7, 7))
    assert w.layers[0].out_hw == (3, 3) and w.layers[0].in_hw == (7, 7)
    assert w.macs == 9 * 9 * 2


# ---- grouped and depthwise convolutions ----

def test_depthwise_and_two_tower_convs_by_hand() -> None:
    model = nn.Sequential(
        nn.Conv2d(3, 48, 5, stride=2, padding=2), nn.ReLU(),            # 16x16 -> 8x8
        nn.Conv2d(48, 128, 3, padding=1, groups=2), nn.ReLU(),          # AlexNet-like towers
        nn.Conv2d(128, 128, 3, padding=1, groups=128), nn.ReLU(),       # depthwise
        nn.Conv2d(128, 64, 1), nn.ReLU(),                                # pointwise
        nn.Flatten(), nn.Linear(64 * 8 * 8, 10))
    w = Workload.from_model(model, (3, 16, 16), name="towers")
    towers, depthwise = w.layers[1], w.layers[2]
    assert (towers.groups, towers.in_channels, towers.out_channels) == (2, 48, 128)
    assert depthwise.groups == 128 and depthwise.k_forward == 9
    # weights: Cout * Cin/g * kh * kw (biases excluded), as torch counts them
    assert towers.weights == 128 * 24 * 9 == model[2].weight.numel()
    assert depthwise.weights == 128 * 1 * 9 == model[4].weight.numel()
    assert w.weights == sum(m.weight.numel() for m in model if hasattr(m, "weight"))
    # MACs per image: positions * weights
    hand = (64 * 48 * 3 * 25) + (64 * 128 * 24 * 9) + (64 * 128 * 9) + (64 * 64 * 128) + 4096 * 10
    assert w.macs == hand
    # GEMMs: per-group sizes, issued `groups` times; MACs = groups * m * k * n
    g = layer_gemms(towers)
    assert (g["forward"].m, g["forward"].k, g["forward"].n, g["forward"].groups) == (
        64, 24 * 9, 64, 2)
    assert (g["error"].m, g["error"].k, g["error"].n) == (64, 64, 24 * 9)
    assert (g["weight_grad"].m, g["weight_grad"].k, g["weight_grad"].n) == (24 * 9, 64, 64)
    for gemm in g.values():
        assert gemm.macs == 64 * 128 * 24 * 9
    # col2im fold of the error product: every group's columns overlap as in one conv
    assert g["error"].fold_adds == 2 * 64 * 24 * 9 - 48 * 8 * 8
    d = layer_gemms(depthwise)["forward"]
    assert (d.m, d.k, d.n, d.groups) == (64, 9, 1, 128)
    assert w.macs_for("train") == sum(x.macs for x in w.gemms("train", 1))


def test_groups_must_divide_the_channels() -> None:
    from bplight.mapping import LayerShape

    with pytest.raises(ValueError, match="groups=3"):
        LayerShape("c", "conv", 8, 6, (3, 3), groups=3)
