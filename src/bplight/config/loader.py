"""Load hardware descriptions: named presets, YAML files, ``--set`` overrides.

Every error is a :class:`ConfigError` whose message is one sentence naming the field,
the offending value and what is allowed.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bplight.config.dotted import leaf_paths, merge_into, nearest_paths, set_path
from bplight.config.spec import HardwareSpec
from bplight.errors import ConfigError

__all__ = ["ConfigError", "dump_spec", "load_spec", "parse_overrides", "preset_names",
           "preset_path", "validation_message"]


def preset_names() -> list[str]:
    """Names of the shipped presets (``fp32``, ``ideal``, ``bplight-16b``, ...)."""
    files = resources.files("bplight.config").joinpath("presets")
    return sorted(p.name[:-5] for p in files.iterdir() if p.name.endswith(".yaml"))


def preset_path(name: str) -> Any:
    """The packaged YAML file of preset ``name`` (a Traversable), or ConfigError."""
    path = resources.files("bplight.config").joinpath("presets", f"{name}.yaml")
    if not path.is_file():
        raise ConfigError(
            f"unknown hardware preset {name!r}; allowed: {', '.join(preset_names())} "
            "or a path to a YAML file")
    return path


def _preset_data(name: str) -> dict[str, Any]:
    path = preset_path(name)
    return read_yaml_text(path.read_text(), str(path))


def read_yaml_text(text: str, where: str) -> dict[str, Any]:
    """The mapping a YAML text holds (empty text: ``{}``); ConfigError naming ``where``
    and the line for bad syntax or a document that is not a mapping."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{where} is not valid YAML{at}; fix the syntax") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must hold a mapping of fields, not {type(data).__name__}")
    return data


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """A new nested dict: ``base`` with ``over`` merged in (``over`` wins)."""
    return merge_into(merge_into({}, base), over)


def _resolve(data: dict[str, Any], where: str, depth: int = 0) -> dict[str, Any]:
    """Apply ``base: <preset or file>`` inheritance."""
    base = data.pop("base", None)
    if base is None:
        return data
    if depth > 8:
        raise ConfigError(f"{where}: 'base' chain is deeper than 8; is it circular?")
    if not isinstance(base, str):
        raise ConfigError(f"{where}: 'base' must name a preset or a YAML file")
    parent = _load_data(base, depth + 1)
    return _merge(parent, data)


def _load_data(source: str, depth: int = 0) -> dict[str, Any]:
    path = Path(source)
    if source.endswith((".yaml", ".yml")) or path.is_file():
        if not path.is_file():
            raise ConfigError(f"hardware file {source!r} does not exist")
        return _resolve(read_yaml_text(path.read_text(), str(path)), str(path), depth)
    return _resolve(_preset_data(source), f"preset {source!r}", depth)


def validation_message(exc: ValidationError, where: str = "hardware") -> str:
    """One sentence from the first pydantic error: field path, value, what is allowed."""
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if err["type"] == "extra_forbidden":
        return f"{where}: unknown field {loc!r}; check the spelling against the schema"
    value = err.get("input")
    shown = "" if isinstance(value, dict) else f" = {value!r}"
    return f"{where}: {loc}{shown} is not allowed ({msg})"


def load_spec(source: str | Path | HardwareSpec = "bplight-16b",
              overrides: list[str] | dict[str, Any] | None = None) -> HardwareSpec:
    """Load a preset name or a YAML file, apply overrides, validate.

    ``overrides`` is a list of ``"dotted.field=value"`` strings (as given to
    ``--set``; values parsed as YAML scalars) or a nested dict.
    """
    if isinstance(source, HardwareSpec):
        data = source.model_dump()
        where = source.name
    else:
        data = _load_data(str(source))
        where = str(source)
    if overrides:
        over = parse_overrides(overrides) if isinstance(overrides, list) else overrides
        _check_override_fields(over, _validate(data, where))
        data = _merge(data, over)
    return _validate(data, where)


def _validate(data: dict[str, Any], where: str) -> HardwareSpec:
    try:
        return HardwareSpec.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(validation_message(exc, where)) from None


def _check_override_fields(over: dict[str, Any], base: HardwareSpec) -> None:
    """ConfigError naming the nearest valid fields for an override of an unknown field."""
    valid = base.model_dump()
    paths = set(leaf_paths(valid))
    prefixes = {p.rsplit(".", i)[0] for p in paths for i in range(p.count(".") + 1)}
    for path in leaf_paths(over):
        parts = path.split(".")
        known = any(".".join(parts[:i]) in paths for i in range(1, len(parts) + 1))
        if not known and path not in prefixes:
            near = nearest_paths(valid, path)
            hint = f"; did you mean {', '.join(near)}?" if near else \
                "; see `bplight hardware show --yaml` for the fields"
            raise ConfigError(f"--set {path}: unknown hardware field{hint}")


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """``["forward.adc_bits=6", "mode=exact"]`` -> nested dict (values as YAML scalars)."""
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"override {item!r} must look like field.path=value")
        key, raw = item.split("=", 1)
        path = ".".join(p for p in key.strip().split(".") if p)
        if not path:
            raise ConfigError(f"override {item!r} names no field")
        try:
            value = yaml.safe_load(raw) if raw.strip() else raw
        except yaml.YAMLError:
            value = raw
        try:
            set_path(out, path, value)
        except KeyError:  # dotted.set_path met a value where a block is
            raise ConfigError(f"override {item!r} conflicts with another override") from None
    return out


def dump_spec(spec: HardwareSpec) -> str:
    """YAML text of a spec, round-trippable through :func:`load_spec`."""
    return yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False)
