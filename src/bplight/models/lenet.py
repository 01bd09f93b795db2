"""LeNet-5 (LeCun et al., 1998) for 28x28 or 32x32 single-image inputs.

Layer sizes follow the paper: C1 6@5x5, S2 2x2 subsampling, C3 16@5x5 (full connection
to all six S2 maps, not the paper's sparse table), S4 2x2 subsampling, C5 120@5x5 (a
convolution whose 5x5 kernel covers the whole 5x5 S4 map, so it is equivalent to a
Linear 400->120), F6 84 and a 10-way output layer.

Modern choices, documented here:

* ReLU replaces the paper's scaled tanh squashing function.
* S2/S4 default to average pooling (``pool="avg"``), which is LeCun's subsampling without
  the per-map trainable coefficient and bias; ``pool="max"`` gives the common variant.
* The output is a plain Linear layer (logits for cross-entropy) instead of RBF units.
* For 28x28 inputs (MNIST) C1 uses ``padding=2`` so its maps are 28x28, exactly as the
  32x32 paper inputs give; all later layers, and the MAC count, are then identical.

MACs per image (width 1): C1 117,600; C3 240,000; C5 48,000; F6 10,080; out 840; total
416,520.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["LeNet5"]


def _scaled(channels: int, width: float) -> int:
    """Channel count ``channels * width`` rounded, at least 1."""
    return max(1, int(round(channels * width)))


class LeNet5(nn.Module):
    """LeNet-5: [N, in_channels, S, S] -> logits [N, num_classes], S in {28, 32}.

    Args:
        in_channels: input channels (1 for MNIST, 3 for CIFAR-10).
        num_classes: number of output logits.
        input_size: input height = width, 28 (C1 padded by 2) or 32 (no padding).
        width: multiplier on every hidden width (6, 16, 120, 84), rounded, min 1.
        pool: ``"avg"`` (LeCun subsampling, default) or ``"max"``.
    """

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 10,
        input_size: int = 28,
        width: float = 1.0,
        pool: str = "avg",
    ) -> None:
        super().__init__()
        if input_size not in (28, 32):
            raise ValueError(f"LeNet5 needs input_size 28 or 32, got {input_size}.")
        if pool not in ("avg", "max"):
            raise ValueError(f"LeNet5 pool must be 'avg' or 'max', got {pool!r}.")
        if in_channels < 1 or num_classes < 1 or width <= 0:
            raise ValueError("LeNet5 needs in_channels >= 1, num_classes >= 1 and width > 0.")
        c1, c3, c5, f6 = (_scaled(c, width) for c in (6, 16, 120, 84))
        pool_cls: type[nn.Module] = nn.AvgPool2d if pool == "avg" else nn.MaxPool2d
        self.input_size = input_size
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c1, kernel_size=5, padding=2 if input_size == 28 else 0),
            nn.ReLU(inplace=True),  # C1: [N, c1, 28, 28]
            pool_cls(kernel_size=2, stride=2),  # S2: [N, c1, 14, 14]
            nn.Conv2d(c1, c3, kernel_size=5),
            nn.ReLU(inplace=True),  # C3: [N, c3, 10, 10]
            pool_cls(kernel_size=2, stride=2),  # S4: [N, c3, 5, 5]
            nn.Conv2d(c3, c5, kernel_size=5),
            nn.ReLU(inplace=True),  # C5: [N, c5, 1, 1]
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),  # [N, c5]
            nn.Linear(c5, f6),
            nn.ReLU(inplace=True),  # F6: [N, f6]
            nn.Linear(f6, num_classes),  # output: [N, num_classes]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[N, C, S, S] float -> [N, num_classes] logits."""
        return self.classifier(self.features(x))
