"""Workloads: the layers of a CNN as the mapping and the cost engine see them.

:meth:`Workload.from_model` traces any ``torch.nn.Module`` once, with forward hooks, on
one random N(0, 1) image of ``input_shape`` (generator seeded: deterministic), and
records

* every ``nn.Conv2d`` / ``nn.Linear`` call (the photonic layers of
  :mod:`bplight.numerics` subclass them, so converted models trace too) as a
  :class:`~bplight.mapping.LayerShape` at batch 1, in call order (a grouped or depthwise
  convolution as one LayerShape with its ``groups``); a module called twice gets ``#2``.
  A Linear applied to a [*, T, F] input has T positions (``out_hw = (T, 1)``).
* ``first_layer`` on the first compute layer called: it issues no error product (there
  is no gradient to propagate into the data).
* ``input_signed`` where the layer's input tensor in that traced pass holds a negative
  value: the first layer (the N(0, 1) image is signed, as a normalised image is) and any
  layer not preceded by ReLU/pooling of non-negative maps. Its forward and weight-gradient
  products then take two sign passes (``two_pass``) or the offset encoding.
* the element counts of activation modules (output elements) and pooling modules (input
  elements) for the digital units; functional calls (``F.relu``) are not seen.

:meth:`Workload.gemms` lists the GEMMs of inference (``forward``) or of a training step
(``forward``, ``error``, ``weight_grad`` of every layer) at a batch, through
:func:`bplight.mapping.layer_gemms`, the one definition both engines use.
:meth:`Workload.from_name` builds the named built-ins of :mod:`bplight.models`.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from dataclasses import dataclass

from bplight.mapping import GemmShape, LayerShape, layer_gemms

MODES = ("train", "infer")

ACTIVATION_TYPES = ("ReLU", "ReLU6", "LeakyReLU", "PReLU", "ELU", "SELU", "CELU", "GELU",
                    "SiLU", "Mish", "Sigmoid", "Tanh", "Hardtanh", "Hardswish",
                    "Hardsigmoid", "Softplus")
"""``torch.nn`` activation modules whose outputs the digital units count."""
POOLING_TYPES = ("MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d",
                 "AvgPool3d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d",
                 "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "LPPool2d")
"""``torch.nn`` pooling modules whose inputs the digital units count."""


@dataclass(frozen=True)
class DigitalOp:
    """An element-wise or pooling step run on the digital units, per image."""

    name: str
    kind: str  # "activation" or "pooling"
    elements: int


@dataclass(frozen=True)
class Workload:
    """A network as a list of layers at batch 1 (see the module docstring)."""

    name: str
    input_shape: tuple[int, ...]
    layers: tuple[LayerShape, ...]
    digital_ops: tuple[DigitalOp, ...] = ()

    def __post_init__(self) -> None:
        if not self.layers:
            raise ValueError(f"workload {self.name!r} has no Conv2d or Linear layer to map")
        if any(layer.batch != 1 for layer in self.layers):
            raise ValueError("Workload layers are stored at batch 1")

    # ---- per-image counts ----
    @property
    def macs(self) -> int:
        """MACs of one forward pass of one image."""
        return sum(layer_macs(layer) for layer in self.layers)

    @property
    def weights(self) -> int:
        """Weights of the conv/linear layers (biases excluded; they stay digital)."""
        return sum(layer_weights(layer) for layer in self.layers)

    @property
    def activation_elements(self) -> int:
        return sum(op.elements for op in self.digital_ops if op.kind == "activation")

    @property
    def pooling_elements(self) -> int:
        return sum(op.elements for op in self.digital_ops if op.kind == "pooling")

    def macs_for(self, mode: str) -> int:
        """MACs per image of ``mode``: forward only (``infer``) or forward + error +
        weight gradient (``train``; the first layer has no error product)."""
        return sum(g.macs for g in self.gemms(mode, 1))

    # ---- GEMMs ----
    def layers_at(self, batch: int) -> list[LayerShape]:
        """The layers with ``batch`` samples."""
        _check_batch(batch)
        return [dataclasses.replace(layer, batch=batch) for layer in self.layers]

    def gemms(self, mode: str = "train", batch: int = 1) -> list[GemmShape]:
        """GEMMs of ``mode`` at ``batch``, layer by layer in the order forward, error,
        weight_grad (``infer``: forward only)."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; allowed: {', '.join(MODES)}")
        out: list[GemmShape] = []
        for layer in self.layers_at(batch):
            gs = layer_gemms(layer)
            out.extend(gs.values() if mode == "train" else [gs["forward"]])
        return out

    def summary(self) -> dict[str, object]:
        return {"name": self.name, "input_shape": list(self.input_shape),
                "layers": len(self.layers), "macs_per_image": self.macs,
                "weights": self.weights, "activation_elements": self.activation_elements,
                "pooling_elements": self.pooling_elements}

    # ---- construction ----
    @classmethod
    def from_model(cls, model, input_shape: Sequence[int], name: str = "custom",
                   seed: int = 0) -> Workload:
        """Trace ``model`` on one N(0, 1) image of ``input_shape`` (no batch dimension)."""
        return _trace(model, tuple(int(s) for s in input_shape), name, seed)

    @classmethod
    def from_name(cls, name: str, input_shape: Sequence[int],
                  num_classes: int | None = None) -> Workload:
        """A named built-in (:data:`bplight.models.MODEL_NAMES`) on a C×S×S input.

        ``num_classes`` defaults to 1000 (ImageNet classifier) for S ≥ 224, else 10.
        """
        shape = tuple(int(s) for s in input_shape)
        if len(shape) != 3 or shape[1] != shape[2]:
            raise ValueError(f"built-in models take a square CxSxS input, got "
                             f"{'x'.join(map(str, shape))}")
        if num_classes is None:
            num_classes = 1000 if shape[1] >= 224 else 10
        return _named(name.strip().lower(), shape, num_classes)


def layer_macs(layer: LayerShape) -> int:
    """MACs of ``layer`` per image (positions × Cin/groups·kh·kw × Cout)."""
    return layer.positions * layer.weights


def layer_weights(layer: LayerShape) -> int:
    """Weights of ``layer``: Cout × Cin/groups·kh·kw (biases excluded)."""
    return layer.weights


def _check_batch(batch: int) -> None:
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ValueError(f"batch must be an integer >= 1, got {batch!r}")


@functools.lru_cache(maxsize=32)
def _named(name: str, shape: tuple[int, int, int], num_classes: int) -> Workload:
    from bplight.models import build_model

    model = build_model(name, in_channels=shape[0], num_classes=num_classes,
                        input_size=shape[1])
    label = f"{name}-{'x'.join(map(str, shape))}"
    return _trace(model, shape, label, 0)


def _trace(model, input_shape: tuple[int, ...], name: str, seed: int) -> Workload:
    import torch
    from torch import nn

    if not input_shape or min(input_shape) < 1:
        raise ValueError(f"input shape must be positive sizes, got {input_shape}")
    names = {m: n or type(m).__name__ for n, m in model.named_modules()}
    seen: dict[str, int] = {}
    layers: list[LayerShape] = []
    ops: list[DigitalOp] = []

    def unique(module: nn.Module) -> str:
        base = names.get(module, type(module).__name__)
        seen[base] = seen.get(base, 0) + 1
        return base if seen[base] == 1 else f"{base}#{seen[base]}"

    def compute_hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        x = inputs[0]
        signed = bool((x < 0).any())
        first = not layers
        label = unique(module)
        if isinstance(module, nn.Conv2d):
            layers.extend(_conv_layers(module, x, output, label, signed, first))
        else:
            rows = x.numel() // x.shape[-1]  # batch 1: positions = leading dims
            layers.append(LayerShape(
                name=label, kind="linear", in_channels=module.in_features,
                out_channels=module.out_features, kernel=(1, 1), out_hw=(rows, 1),
                in_hw=(rows, 1), batch=1, input_signed=signed, first_layer=first))

    def digital_hook(kind: str):
        def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            t = output if kind == "activation" else inputs[0]
            ops.append(DigitalOp(unique(module), kind, int(t.numel())))
        return hook

    handles = []
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            handles.append(m.register_forward_hook(compute_hook))
        elif type(m).__name__ in ACTIVATION_TYPES:
            handles.append(m.register_forward_hook(digital_hook("activation")))
        elif type(m).__name__ in POOLING_TYPES:
            handles.append(m.register_forward_hook(digital_hook("pooling")))
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32
    gen = torch.Generator(device="cpu").manual_seed(seed)
    x = torch.randn((1, *input_shape), generator=gen).to(device=device, dtype=dtype)
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(x)
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return Workload(name=name, input_shape=input_shape, layers=tuple(layers),
                    digital_ops=tuple(ops))


def _conv_layers(module, x, output, label: str, signed: bool, first: bool
                 ) -> list[LayerShape]:
    """The LayerShape of one Conv2d call (``groups`` as the module has them)."""
    in_hw = (int(x.shape[-2]), int(x.shape[-1]))
    out_hw = (int(output.shape[-2]), int(output.shape[-1]))
    kernel = (int(module.kernel_size[0]), int(module.kernel_size[1]))
    return [LayerShape(label, "conv", module.in_channels, module.out_channels, kernel, out_hw,
                       in_hw, 1, signed, first, groups=module.groups)]
