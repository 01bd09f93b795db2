"""VGG networks (Simonyan & Zisserman, 2015) for 28-32 px inputs, and VGG-16 at 224 px.

Feature extractors use 3x3 convolutions with padding 1 (+ optional BatchNorm) + ReLU and
2x2 max pooling with stride 2. Channel counts are the paper's multiplied by ``width``
(rounded, at least 1).

Configurations (numbers are output channels, ``M`` a max pool):

* ``vgg8``: 64, M, 128, M, 256, M, 512, M, 512, M -- a 5-conv + 3-FC network (one conv
  per stage of VGG-11), the usual "VGG-8" of small-image photonic/analog-hardware papers.
* ``vgg11`` (config A): 64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M.
* ``vgg16`` (config D): 64, 64, M, 128, 128, M, 256, 256, 256, M, 512, 512, 512, M,
  512, 512, 512, M.

Pooling on small inputs: the spatial size is tracked through the network and any pool
that would shrink a map below 1x1 is skipped. For 32 px all five pools run (32->1); for
28 px the sizes go 28->14->7->3->1 and the fifth pool is skipped.

Classifiers:

* ``"cifar"`` (default below 224 px): flatten [512w * s * s] -> 512w -> 512w -> classes
  with ReLU, where ``s`` is the final map size (1 for 28 and 32 px) and ``512w`` the scaled
  width; dropout defaults to 0.
* ``"imagenet"`` (default for 224 px and larger): flatten [512w * 7 * 7] -> 4096w ->
  4096w -> classes with ReLU and dropout 0.5, as in the paper. VGG-16 at 3x224x224 with
  1000 classes has 138,357,544 parameters and 15.47 G MACs.

Weights use the torchvision initialisation: Kaiming-normal (fan_out, ReLU) convolutions,
N(0, 0.01) linear layers, zero biases, BatchNorm weight 1 / bias 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["VGG", "VGG_CONFIGS", "vgg"]

# Output channels per conv; "M" = 2x2 max pool.
VGG_CONFIGS: dict[int, tuple[int | str, ...]] = {
    8: (64, "M", 128, "M", 256, "M", 512, "M", 512, "M"),
    11: (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    16: (
        64, 64, "M", 128, 128, "M", 256, 256, 256, "M",
        512, 512, 512, "M", 512, 512, 512, "M",
    ),
}


def _scaled(channels: int, width: float) -> int:
    """Channel count ``channels * width`` rounded, at least 1."""
    return max(1, int(round(channels * width)))


class VGG(nn.Module):
    """VGG: [N, in_channels, S, S] -> logits [N, num_classes].

    Args:
        cfg: layer configuration (ints = conv output channels before scaling, "M" = pool).
        in_channels: input channels.
        num_classes: number of output logits.
        input_size: input height = width (>= 1); sets pool skipping and the flatten size.
        width: channel multiplier applied to convs and hidden FC layers (round, min 1).
        batch_norm: insert BatchNorm2d after each conv.
        classifier: ``"cifar"`` or ``"imagenet"``; ``None`` picks ``"imagenet"`` for
            ``input_size >= 224`` and ``"cifar"`` otherwise.
        dropout: dropout before the hidden FC layers; ``None`` = 0.5 for the ImageNet
            classifier and 0.0 for the CIFAR one.
    """

    def __init__(
        self,
        cfg: Sequence[int | str],
        in_channels: int = 3,
        num_classes: int = 10,
        input_size: int = 32,
        width: float = 1.0,
        batch_norm: bool = False,
        classifier: str | None = None,
        dropout: float | None = None,
    ) -> None:
        super().__init__()
        if in_channels < 1 or num_classes < 1 or input_size < 1 or width <= 0:
            raise ValueError(
                "VGG needs in_channels >= 1, num_classes >= 1, input_size >= 1 and width > 0."
            )
        if classifier is None:
            classifier = "imagenet" if input_size >= 224 else "cifar"
        if classifier not in ("cifar", "imagenet"):
            raise ValueError(f"VGG classifier must be 'cifar' or 'imagenet', got {classifier!r}.")
        if dropout is None:
            dropout = 0.5 if classifier == "imagenet" else 0.0
        self.input_size = input_size
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.skipped_pools = 0

        layers: list[nn.Module] = []
        channels, size = in_channels, input_size
        for item in cfg:
            if item == "M":
                if size // 2 < 1:
                    self.skipped_pools += 1
                    continue
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
                size //= 2
            else:
                out = _scaled(int(item), width)
                layers.append(nn.Conv2d(channels, out, kernel_size=3, padding=1))
                if batch_norm:
                    layers.append(nn.BatchNorm2d(out))
                layers.append(nn.ReLU(inplace=True))
                channels = out
        self.features = nn.Sequential(*layers)  # [N, channels, size, size]
        self.feature_shape = (channels, size, size)

        hidden = _scaled(4096 if classifier == "imagenet" else 512, width)
        head: list[nn.Module] = [nn.Flatten(), nn.Linear(channels * size * size, hidden)]
        head.append(nn.ReLU(inplace=True))
        if dropout > 0:
            head.append(nn.Dropout(dropout))
        head += [nn.Linear(hidden, hidden), nn.ReLU(inplace=True)]
        if dropout > 0:
            head.append(nn.Dropout(dropout))
        head.append(nn.Linear(hidden, num_classes))
        self.classifier = nn.Sequential(*head)
        self._init_weights()

    def _init_weights(self) -> None:
        """torchvision VGG initialisation (see module docstring)."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[N, C, S, S] float -> [N, num_classes] logits."""
        return self.classifier(self.features(x))


def vgg(
    depth: int,
    in_channels: int = 3,
    num_classes: int = 10,
    input_size: int = 32,
    width: float = 1.0,
    batch_norm: bool = False,
    classifier: str | None = None,
    dropout: float | None = None,
) -> VGG:
    """Build VGG-``depth`` (8, 11 or 16); see :class:`VGG` for the arguments."""
    if depth not in VGG_CONFIGS:
        allowed = ", ".join(str(d) for d in VGG_CONFIGS)
        raise ValueError(f"VGG depth must be one of {allowed}, got {depth}.")
    return VGG(
        VGG_CONFIGS[depth],
        in_channels=in_channels,
        num_classes=num_classes,
        input_size=input_size,
        width=width,
        batch_norm=batch_norm,
        classifier=classifier,
        dropout=dropout,
    )
