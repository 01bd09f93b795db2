"""Where each field of a hardware description comes from, kept after loading.

A preset (or a user's YAML file) cites its sources in comments beside the values
(``ring_q: 8000  # CrossLight``, continued on aligned comment-only lines below); the schema
documents every field in its ``Field(description=...)``. :func:`field_sources` reads both
for a loaded description: for each dotted field the value, and the source text with where
it was found (the YAML comment, following ``base:`` inheritance and ``&anchor``/``*alias``
blocks, then the schema description, then ``--set`` overrides). The source keys (LT, AQ,
CrossLight, ...) are expanded in ``docs/sources.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from bplight.config.dotted import flatten, leaf_paths
from bplight.config.spec import HardwareSpec
from bplight.errors import ConfigError

SOURCES_DOC = "docs/sources.md"


@dataclass(frozen=True)
class FieldSource:
    """One field of a loaded description: its value, the source text and where that text
    was found (``"preset <name>"``, ``"file <path>"``, ``"schema"`` or ``"--set"``)."""

    path: str
    value: Any
    source: str
    origin: str


def _comment(line: str) -> tuple[int, str] | None:
    """(column of the ``#``, text after it) of a YAML line's comment outside quotes."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return i, line[i + 1:].strip()
    return None


def yaml_comment_sources(text: str) -> dict[str, str | None]:
    """Dotted field -> the comment beside its value in YAML ``text`` (with the aligned
    comment-only lines that continue it), ``None`` for a field set without one. An alias
    (``error: *product``) gets the comments of the anchored block."""
    lines = text.splitlines()
    out: dict[str, str | None] = {}
    root = yaml.compose(text)
    if not isinstance(root, yaml.MappingNode):
        return out

    def at(line_no: int) -> str | None:
        found = _comment(lines[line_no]) if line_no < len(lines) else None
        if not found or not found[1]:
            return None
        col, first = found
        parts = [first]
        for nxt in lines[line_no + 1:]:  # continuation: comment-only, same column
            more = _comment(nxt)
            if nxt.strip()[:1] != "#" or more is None or more[0] != col:
                break
            parts.append(more[1])
        return " ".join(parts)

    def walk(node: yaml.MappingNode, prefix: str) -> None:
        for key, value in node.value:
            path = f"{prefix}{key.value}"
            if isinstance(value, yaml.MappingNode):
                walk(value, path + ".")
            else:
                out[path] = at(value.start_mark.line)

    walk(root, "")
    return out


def _description_sources(model: BaseModel, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            out.update(_description_sources(value, f"{prefix}{name}."))
        elif info.description:
            out[f"{prefix}{name}"] = info.description
    return out


def _yaml_chain(source: str, depth: int = 0) -> list[tuple[str, str]]:
    """(origin, YAML text) of ``source`` and its ``base:`` ancestors, base first."""
    from bplight.config.loader import preset_path

    path = Path(source)
    if source.endswith((".yaml", ".yml")) or path.is_file():
        text, origin = path.read_text(), f"file {source}"
    else:
        text, origin = preset_path(source).read_text(), f"preset {source}"
    data = yaml.safe_load(text) or {}
    base = data.get("base") if isinstance(data, dict) else None
    if isinstance(base, str) and depth < 8:
        return [*_yaml_chain(base, depth + 1), (origin, text)]
    return [(origin, text)]


def field_sources(source: str | Path | HardwareSpec = "bplight-16b",
                  overrides: list[str] | None = None) -> list[FieldSource]:
    """Every field of the description ``source`` (preset name, YAML file, or an already
    loaded :class:`HardwareSpec`) with ``overrides`` applied, in schema order, with its
    value and source. For a loaded spec the comments are those of the preset of the same
    name, and a field whose value differs from that preset's is marked as overridden."""
    from bplight.config.loader import load_spec, parse_overrides, preset_names

    spec: HardwareSpec = load_spec(source if isinstance(source, HardwareSpec) else str(source),
                                   list(overrides or []))
    values = flatten(spec.model_dump(mode="json"))
    described = _description_sources(spec)
    if isinstance(source, HardwareSpec):
        name = source.name if source.name in preset_names() else None
        chain = _yaml_chain(name) if name else []
        base = flatten(load_spec(name).model_dump(mode="json")) if name else {}
        changed = {p for p, v in values.items() if name and base.get(p) != v}
    else:
        chain, changed = _yaml_chain(str(source)), set()
    commented: dict[str, tuple[str, str]] = {}
    for origin, text in chain:
        try:
            notes = yaml_comment_sources(text)
        except yaml.YAMLError as exc:  # load_spec accepted it, so this is not expected
            raise ConfigError(f"{origin} could not be re-read for its sources: {exc}") from None
        for p, note in notes.items():  # a file that sets a field replaces its source
            if note:
                commented[p] = (note, origin)
            else:
                commented.pop(p, None)
    set_paths = set(leaf_paths(parse_overrides(list(overrides or []))))
    out = []
    for path, value in values.items():
        if path in set_paths:
            text, origin = "set on the command line", "--set"
        elif path in changed:
            text, origin = "changed from the preset after loading", "override"
        elif path in commented:
            text, origin = commented[path]
        elif path in described:
            text, origin = described[path], "schema"
        else:
            text, origin = "no source recorded", "schema"
        out.append(FieldSource(path, value, text, origin))
    return out
