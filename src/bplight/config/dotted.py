"""Dotted field paths (``"forward.adc_bits"``) over nested dicts: the one helper for
``--set`` overrides, sweep parameters and reports."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

_MISSING = object()


def get_path(data: dict[str, Any], path: str, default: Any = _MISSING) -> Any:
    """The value at ``path`` in nested dicts; ``KeyError`` (or ``default``) if absent."""
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            if default is _MISSING:
                raise KeyError(path)
            return default
        node = node[part]
    return node


def nested(path: str, value: Any) -> dict[str, Any]:
    """``nested("a.b.c", 1) == {"a": {"b": {"c": 1}}}``."""
    out: dict[str, Any] = {}
    set_path(out, path, value)
    return out


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set ``path`` in nested dicts, creating the intermediate dicts."""
    parts = path.split(".")
    node = data
    for p in parts[:-1]:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise KeyError(path)
    node[parts[-1]] = value


def merge_into(dst: dict[str, Any], src: dict[str, Any]) -> dict[str, Any]:
    """Merge nested ``src`` into ``dst`` in place (``src`` wins); returns ``dst``."""
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            merge_into(dst[k], v)
        elif isinstance(v, dict):
            dst[k] = merge_into({}, v)
        else:
            dst[k] = v
    return dst


def leaf_paths(data: dict[str, Any], prefix: str = "") -> Iterator[str]:
    """Every dotted path to a non-dict value, depth first."""
    for k, v in data.items():
        path = f"{prefix}{k}"
        if isinstance(v, dict):
            yield from leaf_paths(v, path + ".")
        else:
            yield path


def flatten(data: dict[str, Any]) -> dict[str, Any]:
    """``{"a": {"b": 1}} -> {"a.b": 1}``."""
    return {p: get_path(data, p) for p in leaf_paths(data)}


def nearest_paths(data: dict[str, Any], path: str, n: int = 3) -> list[str]:
    """The valid dotted paths of ``data`` closest to a mistyped ``path``."""
    valid = list(leaf_paths(data))
    close = difflib.get_close_matches(path, valid, n=n, cutoff=0.5)
    if not close:  # match the last component alone (e.g. "adc_bit" -> "*.adc_bits")
        last = path.split(".")[-1]
        tails = {p: p.split(".")[-1] for p in valid}
        hit = set(difflib.get_close_matches(last, list(tails.values()), n=n, cutoff=0.6))
        close = [p for p, t in tails.items() if t in hit][:n]
    return close
