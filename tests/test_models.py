"""Model shapes, MAC and parameter counts, and the model factory."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from bplight.models import (
    MODEL_NAMES,
    VGG,
    LeNet5,
    build_model,
    count_macs,
    count_params,
    layer_macs,
    vgg,
)


@pytest.mark.parametrize("name", MODEL_NAMES)
@pytest.mark.parametrize("size", [28, 32])
@pytest.mark.parametrize("channels", [1, 3])
def test_output_shape(name: str, size: int, channels: int) -> None:
    torch.manual_seed(0)
    model = build_model(name, channels, 10, size, width=0.25)
    out = model(torch.randn(3, channels, size, size))
    assert out.shape == (3, 10)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("size", [28, 32])
def test_lenet5_macs_match_lecun(size: int) -> None:
    model = LeNet5(in_channels=1, num_classes=10, input_size=size)
    per_layer = [m for _, m in layer_macs(model, (2, 1, size, size))]
    assert per_layer == [117_600, 240_000, 48_000, 10_080, 840]
    assert count_macs(model, (1, 1, size, size)) == 416_520
    assert count_params(model) == 61_706


def test_lenet5_feature_map_sizes() -> None:
    model = LeNet5(input_size=28)
    x = torch.randn(1, 1, 28, 28)
    c1 = model.features[0](x)
    assert c1.shape == (1, 6, 28, 28)
    assert model.features(x).shape == (1, 120, 1, 1)
    assert isinstance(model.features[2], nn.AvgPool2d)
    assert isinstance(LeNet5(pool="max").features[2], nn.MaxPool2d)


def test_lenet5_rejects_other_sizes() -> None:
    with pytest.raises(ValueError, match="28 or 32"):
        LeNet5(input_size=30)


@pytest.mark.parametrize(
    ("depth", "convs"), [(8, 5), (11, 8), (16, 13)]
)
def test_vgg_layer_counts(depth: int, convs: int) -> None:
    model = vgg(depth, 3, 10, input_size=32, width=0.125)
    n_conv = sum(isinstance(m, nn.Conv2d) for m in model.modules())
    n_fc = sum(isinstance(m, nn.Linear) for m in model.modules())
    assert (n_conv, n_fc) == (convs, 3)


def test_vgg_pool_skipping_at_28px() -> None:
    m28 = vgg(11, 1, 10, input_size=28, width=0.25)
    m32 = vgg(11, 1, 10, input_size=32, width=0.25)
    assert m28.skipped_pools == 1 and m32.skipped_pools == 0
    assert m28.feature_shape == (128, 1, 1) == m32.feature_shape
    n_pool = sum(isinstance(m, nn.MaxPool2d) for m in m28.modules())
    assert n_pool == 4


def test_vgg_width_rounding_and_batchnorm() -> None:
    model = vgg(8, 3, 10, input_size=32, width=0.1, batch_norm=True)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [6, 13, 26, 51, 51]
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == 5
    tiny = vgg(8, 3, 10, input_size=32, width=0.001)
    assert all(c.out_channels == 1 for c in tiny.modules() if isinstance(c, nn.Conv2d))


def test_vgg16_cifar_macs() -> None:
    # Analytic count: sum over convs of C_in * C_out * 9 * H * W, plus the 3 FC layers.
    stages = [(32, [(3, 64), (64, 64)]), (16, [(64, 128), (128, 128)]),
              (8, [(128, 256), (256, 256), (256, 256)]), (4, [(256, 512), (512, 512), (512, 512)]),
              (2, [(512, 512)] * 3)]
    conv = sum(ci * co * 9 * s * s for s, layers in stages for ci, co in layers)
    fc = 512 * 512 + 512 * 512 + 512 * 10
    assert conv == 313_196_544
    with torch.device("meta"):
        model = build_model("vgg16", 3, 10, 32)
    assert count_macs(model, (1, 3, 32, 32)) == conv + fc


def test_vgg16_imagenet_macs_and_params() -> None:
    with torch.device("meta"):
        model = vgg(16, 3, 1000, input_size=224)
    assert isinstance(model, VGG)
    macs = count_macs(model, (1, 3, 224, 224))
    assert abs(macs - 15.47e9) / 15.47e9 < 0.005
    assert count_params(model) == 138_357_544
    drops = [m.p for m in model.modules() if isinstance(m, nn.Dropout)]
    assert drops == [0.5, 0.5]


def test_build_model_unknown_name() -> None:
    with pytest.raises(ValueError, match="lenet5, vgg8, vgg11, vgg16") as info:
        build_model("resnet18", 3, 10, 32)
    assert str(info.value).count(".") >= 1 and "\n" not in str(info.value)


def test_build_model_aliases_and_batchnorm_guard() -> None:
    assert isinstance(build_model("VGG-11", 3, 10, 32, width=0.125), VGG)
    with pytest.raises(ValueError, match="only available for the VGG"):
        build_model("lenet5", 1, 10, 28, batch_norm=True)


def test_vgg_bad_depth() -> None:
    with pytest.raises(ValueError, match="8, 11, 16"):
        vgg(19)


def test_models_train_one_step() -> None:
    torch.manual_seed(0)
    model = build_model("vgg8", 1, 10, 28, width=0.125)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    x, y = torch.randn(8, 1, 28, 28), torch.randint(0, 10, (8,))
    before = [p.detach().clone() for p in model.parameters()]
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
