"""Load hardware descriptions: named presets, YAML files, ``--set`` overrides.

Every error is a :class:`ConfigError` whose message is one sentence naming the field,
the offending value and what is allowed.
"""

from __future__ import annotations

import copy
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bplight.config.spec import HardwareSpec


class ConfigError(ValueError):
    """A hardware description that cannot be used, with a one-sentence reason."""


def preset_names() -> list[str]:
    """Names of the shipped presets (``fp32``, ``ideal``, ``bplight-16b``, ...)."""
    files = resources.files("bplight.config").joinpath("presets")
    return sorted(p.name[:-5] for p in files.iterdir() if p.name.endswith(".yaml"))


def _preset_data(name: str) -> dict[str, Any]:
    path = resources.files("bplight.config").joinpath("presets", f"{name}.yaml")
    if not path.is_file():
        raise ConfigError(
            f"unknown hardware preset {name!r}; allowed: {', '.join(preset_names())} "
            "or a path to a YAML file")
    return _read_yaml_text(path.read_text(), str(path))


def _read_yaml_text(text: str, where: str) -> dict[str, Any]:
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
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


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
        return _resolve(_read_yaml_text(path.read_text(), str(path)), str(path), depth)
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
        data = _merge(data, over)
    try:
        return HardwareSpec.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(validation_message(exc, where)) from None


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """``["forward.adc_bits=6", "mode=exact"]`` -> nested dict (values as YAML scalars)."""
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"override {item!r} must look like field.path=value")
        key, raw = item.split("=", 1)
        parts = [p for p in key.strip().split(".") if p]
        if not parts:
            raise ConfigError(f"override {item!r} names no field")
        try:
            value = yaml.safe_load(raw) if raw.strip() else raw
        except yaml.YAMLError:
            value = raw
        node = out
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {item!r} conflicts with another override")
        node[parts[-1]] = value
    return out


def dump_spec(spec: HardwareSpec) -> str:
    """YAML text of a spec, round-trippable through :func:`load_spec`."""
    return yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False)
