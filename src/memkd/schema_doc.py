"""Render the config schema as the config reference (docs/config.md, a Markdown table), so the two agree."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

BEGIN = "<!-- config-reference:begin -->"
END = "<!-- config-reference:end -->"


def _type_of(node: dict) -> str:
    if "enum" in node:
        return " \\| ".join(json.dumps(v) for v in node["enum"])
    if "const" in node:
        return json.dumps(node["const"])
    kind = node.get("type", "")
    return " or ".join(kind) if isinstance(kind, list) else kind


def _resolve(node: dict, definitions: dict) -> dict:
    """Inline a local `$ref` (#/$defs/NAME), keeping the referring node's own description."""
    if "$ref" not in node:
        return node
    target = definitions[node["$ref"].rsplit("/", 1)[-1]]
    return {**target, **{k: v for k, v in node.items() if k != "$ref"}}


def _rows(node: dict, prefix: str, definitions: dict) -> list[tuple[str, str, str]]:
    rows = []
    for key, child in node.get("properties", {}).items():
        if not child:
            continue
        child = _resolve(child, definitions)
        path = f"{prefix}{key}"
        rows.append((path, _type_of(child), " ".join(child.get("description", "").split())))
        rows.extend(_rows(child, f"{path}.", definitions))
        if child.get("type") == "array" and isinstance(child.get("items"), dict):
            rows.extend(_rows(child["items"], f"{path}[].", definitions))
    if isinstance(node.get("additionalProperties"), dict):
        entry = node["additionalProperties"]
        rows.extend(_rows(entry, f"{prefix}<name>.", definitions))
        for branch in entry.get("allOf", []):
            kind = branch["if"]["properties"]["kind"]["const"]
            rows.extend(
                (f"{path} (kind {kind})", t, d) for path, t, d in _rows(branch["then"], f"{prefix}<name>.", definitions)
                if t or d
            )
    return rows


def render(schema_path: str | Path) -> str:
    schema = yaml.safe_load(Path(schema_path).read_text())
    lines = [BEGIN, "", "| key | type | meaning |", "| --- | --- | --- |"]
    rows = _rows(schema, "", schema.get("$defs", {}))
    lines += [f"| `{path}` | {kind} | {text} |" for path, kind, text in rows]
    return "\n".join(lines + ["", END])


def replace_section(readme: str, section: str) -> str:
    head, _, rest = readme.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return head + section + tail
