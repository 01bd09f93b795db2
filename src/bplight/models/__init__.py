"""CNN models trained on the simulated accelerator: LeNet-5 and VGG-8/11/16.

:func:`build_model` builds one by name; :func:`count_macs` counts the multiply-accumulates
of every Conv2d/Linear layer with forward hooks (works on ``meta`` tensors, so a 224 px
VGG-16 can be counted without allocating weights).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from bplight.models.lenet import LeNet5
from bplight.models.vgg import VGG, VGG_CONFIGS, vgg

__all__ = [
    "MODEL_NAMES",
    "VGG",
    "VGG_CONFIGS",
    "LeNet5",
    "build_model",
    "count_macs",
    "count_params",
    "layer_macs",
    "vgg",
]

MODEL_NAMES: tuple[str, ...] = ("lenet5", "vgg8", "vgg11", "vgg16")


def build_model(
    name: str,
    in_channels: int,
    num_classes: int,
    input_size: int,
    width: float = 1.0,
    batch_norm: bool = False,
) -> nn.Module:
    """Model ``name`` mapping [N, in_channels, input_size, input_size] -> [N, num_classes].

    ``name`` is one of :data:`MODEL_NAMES` (case-insensitive); ``batch_norm`` is only
    available for the VGG models.
    """
    key = name.strip().lower().replace("-", "").replace("_", "")
    if key == "lenet5":
        if batch_norm:
            raise ValueError("batch_norm is only available for the VGG models, not lenet5.")
        return LeNet5(in_channels, num_classes, input_size=input_size, width=width)
    if key in ("vgg8", "vgg11", "vgg16"):
        return vgg(
            int(key[3:]),
            in_channels=in_channels,
            num_classes=num_classes,
            input_size=input_size,
            width=width,
            batch_norm=batch_norm,
        )
    raise ValueError(f"Unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)}.")


def layer_macs(model: nn.Module, input_shape: Sequence[int]) -> list[tuple[str, int]]:
    """(module name, MACs per sample) for each Conv2d/Linear, in call order.

    ``input_shape`` is the batched shape [N, C, H, W]; the model runs once on zeros on the
    device of its first parameter (use ``meta`` for a free count).
    """
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    names = {m: n for n, m in model.named_modules()}
    batch = int(input_shape[0])
    counts: list[tuple[str, int]] = []

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        per_out = out.numel() // batch
        if isinstance(module, nn.Conv2d):
            k = module.kernel_size[0] * module.kernel_size[1]
            macs = per_out * (module.in_channels // module.groups) * k
        else:
            assert isinstance(module, nn.Linear)
            macs = per_out * module.in_features
        counts.append((names[module], macs))

    handles = [
        m.register_forward_hook(hook)
        for m in model.modules()
        if isinstance(m, (nn.Conv2d, nn.Linear))
    ]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(tuple(input_shape), device=device))
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return counts


def count_macs(model: nn.Module, input_shape: Sequence[int]) -> int:
    """Total Conv2d + Linear MACs per sample for a batched ``input_shape`` [N, C, H, W]."""
    return sum(m for _, m in layer_macs(model, input_shape))


def count_params(model: nn.Module) -> int:
    """Number of parameters (trainable or not, buffers excluded)."""
    return sum(p.numel() for p in model.parameters())
