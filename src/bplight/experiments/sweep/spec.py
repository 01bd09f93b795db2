"""The sweep specification (``SPEC.yaml``): what to vary, on which workloads, for which
objectives; validated into a :class:`SweepSpec` and expanded into design points.

A sweep spec is YAML::

    name: adc-and-rate              # names the default output directory
    hardware: bplight-16b           # base hardware: a preset name or a YAML file
    set: [update.write_policy=all]  # fixed --set overrides applied to every point
    search: grid                    # grid | random | optuna
    samples: 64                     # random/optuna: number of designs
    sampler_seed: 0                 # random/optuna: seed of the sampler
    parameters:                     # any --set path
      forward.adc_bits: [4, 6, 8]                    # values
      photonics.modulation_rate_hz: {low: 1 GHz, high: 10 GHz, log: true, num: 4}
    workloads:
      cost:     [{model: lenet5, batch: 64}, {model: vgg16}]
      accuracy: [{model: lenet5, dataset: mnist, subset: 2000, epochs: 1}]
    seeds: [0]                      # training seeds of each accuracy point
    accuracy: pareto                # none | all | pareto (the cost-Pareto candidates)
    objectives: [accuracy_loss_pp, train_energy_per_image_j, train_latency_s]

A parameter is a list of values, or a range ``{low, high}`` (``log: true`` samples or
spaces it logarithmically; ``num`` = grid points, needed by ``search: grid``). Every value
and range end is validated against the hardware schema (units such as ``5 GHz`` are
accepted); integer fields get integers. A key naming several paths separated by commas
(``forward.input_bits, error.input_bits, weight_grad.input_bits: [8, 16]``) is one *tied*
parameter: each design gives all of them the same value (one dimension of the space).
Errors are :class:`~bplight.errors.ConfigError` with one sentence naming the field and
what is allowed.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bplight.config.dotted import get_path, leaf_paths, nearest_paths
from bplight.config.loader import dump_spec, load_spec, read_yaml_text, validation_message
from bplight.config.spec import HardwareSpec
from bplight.errors import ConfigError, InputError

MAX_GRID = 2_000_000
"""The most design points a grid may expand to."""

MODES = ("train", "infer")

COST_METRICS = ("latency_s", "energy_per_image_j", "energy_j", "gops", "gops_per_w",
                "gops_per_s_per_mm2", "speedup_vs_gtx1080", "speedup_vs_pipelayer",
                "speedup_vs_isaac")
"""Per-mode cost metrics of every cost point (``train_*`` and ``infer_*``)."""

MAXIMIZE = {"gops", "gops_per_w", "gops_per_s_per_mm2", "speedup_vs_gtx1080",
            "speedup_vs_pipelayer", "speedup_vs_isaac", "accuracy"}
"""Objective stems where more is better (the rest are minimised)."""


def objective_names() -> list[str]:
    """Every objective a spec may name."""
    names = ["accuracy_loss_pp", "accuracy", "area_mm2"]
    names += [f"{m}_{k}" for m in MODES for k in COST_METRICS]
    return names


def maximized(name: str) -> bool:
    """Whether more of objective ``name`` is better."""
    stem = name.split("_", 1)[1] if name.startswith(("train_", "infer_")) else name
    return stem in MAXIMIZE


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ParamRange(_Strict):
    """A continuous or integer range of one parameter."""

    low: Any
    high: Any
    log: bool = False
    num: int | None = Field(None, ge=1, le=100_000)


class CostWorkload(_Strict):
    """A workload costed at every design point (both modes)."""

    model: str = "lenet5"
    input: str | None = None
    batch: int = Field(64, ge=1, le=1_000_000)

    @property
    def key(self) -> str:
        return f"{self.model}@{self.input or 'default'}/b{self.batch}"


class AccuracyWorkload(_Strict):
    """A short training run measuring accuracy through the chip model (and FP32)."""

    model: str = "lenet5"
    dataset: str = "mnist"
    subset: int | None = Field(2000, ge=16)
    epochs: int = Field(1, ge=1, le=1000)
    batch_size: int = Field(64, ge=1, le=65536)
    lr: float = Field(0.05, gt=0.0, le=10.0)
    width: float = Field(1.0, gt=0.0, le=8.0)

    @property
    def key(self) -> str:
        return (f"{self.model}/{self.dataset}/n{self.subset or 'all'}/e{self.epochs}"
                f"/b{self.batch_size}/lr{self.lr:g}/w{self.width:g}")


class Workloads(_Strict):
    cost: list[CostWorkload] = Field(default_factory=lambda: [CostWorkload()])
    accuracy: list[AccuracyWorkload] = Field(default_factory=list)


class SweepSpec(_Strict):
    """A validated sweep specification (see the module docstring)."""

    name: str = "sweep"
    description: str = ""
    hardware: str = "bplight-16b"
    set: list[str] = Field(default_factory=list)
    parameters: dict[str, list[Any] | ParamRange]
    search: Literal["grid", "random", "optuna"] = "grid"
    samples: int | None = Field(None, ge=1, le=MAX_GRID)
    sampler_seed: int = 0
    workloads: Workloads = Field(default_factory=Workloads)
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    accuracy: Literal["none", "all", "pareto"] = "none"
    max_accuracy_points: int | None = Field(None, ge=1)
    accuracy_strata: list[str] = Field(default_factory=list)
    """``accuracy: pareto``: swept paths whose every distinct value combination gets its
    own cost-Pareto candidates (e.g. the operand bits, which decide accuracy but not
    whether a design is on the cost front), taken in turn up to ``max_accuracy_points``."""
    objectives: list[str] = Field(default_factory=lambda: [
        "accuracy_loss_pp", "train_energy_per_image_j", "train_latency_s"])
    data_root: str | None = None

    @field_validator("objectives")
    @classmethod
    def _known_objectives(cls, v: list[str]) -> list[str]:
        known = objective_names()
        for name in v:
            if name not in known:
                raise ValueError(f"unknown objective {name!r}; allowed: {', '.join(known)}")
        if not v:
            raise ValueError("name at least one objective")
        return v


# --- loading and validation -------------------------------------------------------------

def load_sweep_spec(source: str | Path | dict[str, Any]) -> ResolvedSweep:
    """Read, validate and resolve a sweep spec (a YAML file or a dict)."""
    where = "sweep spec"
    if isinstance(source, dict):
        data, text = dict(source), yaml.safe_dump(source, sort_keys=False)
    else:
        path = Path(source)
        where = f"sweep spec {path}"
        if not path.is_file():
            raise InputError(f"sweep spec {str(path)!r} does not exist; give a YAML file")
        text = path.read_text()
        data = read_yaml_text(text, where)
        hw = data.get("hardware")
        if isinstance(hw, str) and hw.endswith((".yaml", ".yml")) and not Path(hw).is_absolute():
            data["hardware"] = str((path.parent / hw).resolve())
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_spec_message(exc, where)) from None
    return ResolvedSweep(spec, where)


def _spec_message(exc: ValidationError, where: str) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    if err["type"] == "extra_forbidden":
        allowed = _allowed_fields(err["loc"])
        return (f"{where}: unknown field {loc!r}; allowed here: {', '.join(allowed)}")
    if err["type"] == "missing":
        return f"{where}: the field {loc!r} is required"
    if loc.startswith("parameters."):  # a union error: say what a parameter may be
        return (f"{where}: {loc} must be a list of values or a range {{low, high, log, "
                "num}}")
    return validation_message(exc, where)


def _allowed_fields(loc: tuple) -> list[str]:
    model: Any = SweepSpec
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            continue
        ann = model.model_fields.get(str(part))
        if ann is None:
            break
        model = {"workloads": Workloads, "cost": CostWorkload,
                 "accuracy": AccuracyWorkload}.get(str(part), None)
    return list((model or SweepSpec).model_fields)


def _integer_field(current: Any) -> bool:
    return isinstance(current, int) and not isinstance(current, bool)


class ResolvedSweep:
    """A sweep spec checked against the hardware schema: the base hardware, the
    canonical values of every parameter, and the design points."""

    def __init__(self, spec: SweepSpec, where: str = "sweep spec") -> None:
        self.spec = spec
        self.where = where
        if not spec.parameters:
            raise ConfigError(f"{where}: parameters is empty; name at least one --set path "
                              "to vary")
        try:
            self.base = load_spec(spec.hardware, list(spec.set))
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        self.base_dump = self.base.model_dump()
        self.base_yaml = dump_spec(self.base)
        self.base_hash = hashlib.sha256(self.base_yaml.encode()).hexdigest()[:16]
        self.values: dict[str, list[Any]] = {}
        self.ranges: dict[str, tuple[float, float, bool, bool, int | None]] = {}
        self.groups: dict[str, list[str]] = {}
        """Each parameter key -> the hardware paths it sets (one, or several tied)."""
        for key, p in spec.parameters.items():
            paths = split_key(key)
            self.groups[key] = paths
            for path in paths:
                self._check_path(path)
            if isinstance(p, ParamRange):
                checked = [self._check_range(path, p) for path in paths]
                if len({c[3] for c in checked}) > 1:
                    raise ConfigError(f"{where}: parameters.{key} ties integer and real "
                                      "fields; tie fields of one type")
                self.ranges[key] = checked[0]
            else:
                if not p:
                    raise ConfigError(f"{where}: parameters.{key} is an empty list; give at "
                                      "least one value")
                per_path = [[self._canonical(path, v) for v in p] for path in paths]
                self.values[key] = list(dict.fromkeys(per_path[0]))
        self.paths: list[str] = [path for paths in self.groups.values() for path in paths]
        """Every hardware path a design sets, in the spec's order."""
        twice = sorted({path for path in self.paths if self.paths.count(path) > 1})
        if twice:
            raise ConfigError(f"{where}: parameters: {', '.join(twice)} appears in more "
                              "than one parameter; name each path once")
        for path in spec.accuracy_strata:
            if path not in self.paths:
                raise ConfigError(f"{where}: accuracy_strata names {path!r}, which is not a "
                                  f"swept path; allowed: {', '.join(self.paths)}")
        if spec.search == "grid":
            for path, (_, _, _, _, num) in self.ranges.items():
                if num is None:
                    raise ConfigError(f"{where}: parameters.{path} is a range, which search: "
                                      "grid needs as {low, high, num}; add num (grid points) "
                                      "or use search: random")
            size = math.prod(len(self.grid_values(p)) for p in spec.parameters)
            if size > MAX_GRID:
                raise ConfigError(f"{where}: the grid has {size} points, more than "
                                  f"{MAX_GRID}; use search: random with samples")
        elif spec.samples is None:
            raise ConfigError(f"{where}: search: {spec.search} needs samples (the number of "
                              "designs to draw)")
        if spec.accuracy != "none" and not spec.workloads.accuracy:
            raise ConfigError(f"{where}: accuracy: {spec.accuracy} needs at least one "
                              "workloads.accuracy entry (e.g. {model: lenet5, dataset: mnist})")
        if not spec.workloads.cost:
            raise ConfigError(f"{where}: workloads.cost is empty; name at least one model "
                              "to cost")
        self._check_workloads()
        if "accuracy_loss_pp" in spec.objectives or "accuracy" in spec.objectives:
            if spec.accuracy == "none":
                self.objectives = [o for o in spec.objectives
                                   if o not in ("accuracy_loss_pp", "accuracy")]
            else:
                self.objectives = list(spec.objectives)
        else:
            self.objectives = list(spec.objectives)
        if not self.objectives:
            raise ConfigError(f"{where}: with accuracy: none, name a cost objective too "
                              "(e.g. train_energy_per_image_j)")

    # -- checks ---------------------------------------------------------------------------
    def _check_path(self, path: str) -> None:
        valid = set(leaf_paths(self.base_dump))
        if path not in valid:
            near = nearest_paths(self.base_dump, path)
            hint = (f"; did you mean {', '.join(near)}?" if near else
                    "; see `bplight hardware show --yaml` for the fields")
            raise ConfigError(f"{self.where}: parameters.{path} is not a hardware field{hint}")
        if path in ("name", "description", "mode", "schema_version"):
            raise ConfigError(f"{self.where}: parameters.{path} cannot be swept; vary a "
                              "numeric or categorical field of a block (e.g. forward.adc_bits)")

    def _canonical(self, path: str, value: Any) -> Any:
        """``value`` as the schema stores it (units parsed), or ConfigError if the field
        rejects it on its own. A value that only fails a check across fields (e.g. more
        wavelengths than the ring's FSR holds at the base spacing) is allowed: each
        combination is checked per point, and one that fails is recorded infeasible."""
        from bplight.config.dotted import merge_into

        data = merge_into(merge_into({}, self.base_dump), _nest(path, value))
        try:
            spec = HardwareSpec.model_validate(data)
        except ValidationError as exc:
            parts = tuple(path.split("."))
            own = [e for e in exc.errors()
                   if tuple(str(p) for p in e["loc"])[:len(parts)] == parts
                   or len(e["loc"]) >= len(parts)]
            if own:
                msg = own[0]["msg"].removeprefix("Value error, ")
                raise ConfigError(f"{self.where}: parameters.{path} = {value!r} is not "
                                  f"allowed ({msg})") from None
            if isinstance(value, str):
                from bplight.units import UnitError, parse_quantity

                try:
                    return parse_quantity(value)
                except UnitError:
                    return value
            return value
        return get_path(spec.model_dump(), path)

    def _check_range(self, path: str, p: ParamRange
                     ) -> tuple[float, float, bool, bool, int | None]:
        current = get_path(self.base_dump, path)
        if isinstance(current, (bool, str)):
            raise ConfigError(f"{self.where}: parameters.{path} is not numeric; give it a "
                              "list of values instead of a range")
        lo, hi = self._canonical(path, p.low), self._canonical(path, p.high)
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lo, hi)):
            raise ConfigError(f"{self.where}: parameters.{path}: low and high must be numbers")
        if lo > hi:
            raise ConfigError(f"{self.where}: parameters.{path}: low ({p.low}) is above high "
                              f"({p.high}); give low <= high")
        if p.log and lo <= 0:
            raise ConfigError(f"{self.where}: parameters.{path}: a log range needs low > 0, "
                              f"got {p.low}")
        integer = _integer_field(current) or (current is None and isinstance(lo, int)
                                              and isinstance(hi, int))
        return float(lo), float(hi), p.log, integer, p.num

    def _check_workloads(self) -> None:
        from bplight.data.sources import canonical_name
        from bplight.experiments.common import builtin_input, model_key

        for w in self.spec.workloads.cost:
            try:
                builtin_input(w.model, w.input)
            except InputError as exc:
                raise ConfigError(f"{self.where}: workloads.cost: {_flagless(exc)}") from None
        for w in self.spec.workloads.accuracy:
            try:
                model_key(w.model)
                canonical_name(w.dataset)
            except Exception as exc:  # InputError / DataError: one sentence each
                raise ConfigError(f"{self.where}: workloads.accuracy: {_flagless(exc)}"
                                  ) from None

    # -- design points --------------------------------------------------------------------
    def grid_values(self, path: str) -> list[Any]:
        if path in self.values:
            return self.values[path]
        lo, hi, log, integer, num = self.ranges[path]
        n = num or 1
        pts = np.geomspace(lo, hi, n) if log else np.linspace(lo, hi, n)
        if integer:
            return list(dict.fromkeys(int(round(v)) for v in pts))
        return [float(v) for v in pts]

    def draw(self, rng: np.random.Generator, path: str) -> Any:
        if path in self.values:
            vals = self.values[path]
            return vals[int(rng.integers(len(vals)))]
        lo, hi, log, integer, _ = self.ranges[path]
        u = rng.random()
        v = math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo))) if log else \
            lo + u * (hi - lo)
        return int(round(v)) if integer else float(v)

    def designs(self) -> list[dict[str, Any]]:
        """The design points of a grid or random search, in a fixed order (the same list
        every time, so a resumed sweep finds its points again)."""
        keys = list(self.spec.parameters)
        if self.spec.search == "grid":
            return [self.expand(dict(zip(keys, combo, strict=True))) for combo in
                    itertools.product(*[self.grid_values(k) for k in keys])]
        if self.spec.search == "optuna":
            raise ConfigError("search: optuna proposes designs as it runs; use run_sweep")
        rng = np.random.default_rng(self.spec.sampler_seed)
        out, seen = [], set()
        for _ in range(int(self.spec.samples or 0)):
            d = self.expand({k: self.draw(rng, k) for k in keys})
            key = design_key(d)
            if key not in seen:  # a categorical space may repeat a draw
                seen.add(key)
                out.append(d)
        return out

    def expand(self, values: dict[str, Any]) -> dict[str, Any]:
        """A design ({hardware path: value}) from one value per parameter key (a tied
        key sets each of its paths)."""
        if all(len(self.groups[k]) == 1 for k in values):
            return values
        return {path: v for k, v in values.items() for path in self.groups[k]}

    def point_spec(self, design: dict[str, Any]) -> HardwareSpec:
        """The resolved hardware description of one design (ConfigError if the schema
        rejects the combination)."""
        over: dict[str, Any] = {}
        for path, v in design.items():
            _merge(over, _nest(path, v))
        return load_spec(self.base, over)

    def overrides(self, design: dict[str, Any]) -> list[str]:
        """``--set`` strings of the fixed overrides and of ``design`` (JSON values parse
        as the same YAML scalars)."""
        return list(self.spec.set) + [f"{k}={json.dumps(v)}" for k, v in design.items()]


def split_key(key: str) -> list[str]:
    """The hardware paths of a parameter key (``"a.b, c.d"``: two tied paths)."""
    return [part.strip() for part in key.split(",") if part.strip()] or [key]


def design_key(design: dict[str, Any]) -> str:
    """Canonical text of a design's parameter values."""
    return json.dumps(design, sort_keys=True, default=str)


def _nest(path: str, value: Any) -> dict[str, Any]:
    from bplight.config.dotted import nested

    return nested(path, value)


def _merge(dst: dict[str, Any], src: dict[str, Any]) -> None:
    from bplight.config.dotted import merge_into

    merge_into(dst, src)


def _after_colon(msg: str) -> str:
    """A loader message without its leading ``where:``."""
    return msg.split(": ", 1)[1] if ": " in msg else msg


def _flagless(exc: Exception) -> str:
    return str(exc).replace("--model ", "model ").replace("--input ", "input ")
