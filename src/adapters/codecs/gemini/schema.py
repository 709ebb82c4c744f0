"""Tool schemas cleaned to the subset Gemini accepts."""

from __future__ import annotations

from typing import Any

from aigateway.adapters.codecs.base import json_encode

_SCHEMA_KEYS = frozenset(
    {
        "type",
        "format",
        "description",
        "nullable",
        "enum",
        "properties",
        "required",
        "items",
        "minItems",
        "maxItems",
        "minimum",
        "maximum",
        "minLength",
        "maxLength",
        "pattern",
        "anyOf",
        "propertyOrdering",
    }
)
_MAX_REF_DEPTH = 16


def clean_schema(schema: Any) -> Any:
    """A JSON schema -> the subset Gemini's `Schema` accepts: `$ref`s inlined (from `$defs` /
    `definitions`), `allOf` merged, a null branch of `anyOf`/`oneOf` (or of a type list) made
    `nullable`, a single remaining branch collapsed, `const` -> `enum`, enum values as strings,
    and every other keyword (`$schema`, `additionalProperties`, `default`, `examples`,
    `title`, `x-*`, `if/then/else`, `not`, ...) dropped."""
    if not isinstance(schema, dict):
        return schema
    definitions: dict[str, Any] = {}
    for key in ("$defs", "definitions"):
        found = schema.get(key)
        if isinstance(found, dict):
            definitions.update(found)
    return _clean(schema, definitions, 0)


def _resolve(node: dict[str, Any], definitions: dict[str, Any], depth: int) -> dict[str, Any]:
    ref = node.get("$ref")
    if not isinstance(ref, str) or depth > _MAX_REF_DEPTH:
        return node
    target = definitions.get(ref.rsplit("/", 1)[-1])
    if not isinstance(target, dict):
        return {k: v for k, v in node.items() if k != "$ref"}
    merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return _resolve(merged, definitions, depth + 1)


def _clean(node: Any, definitions: dict[str, Any], depth: int) -> Any:
    if not isinstance(node, dict):
        return node
    node = _resolve(node, definitions, depth)
    node = dict(node)
    for branch in node.pop("allOf", None) or ():
        if isinstance(branch, dict):
            branch = _resolve(branch, definitions, depth + 1)
            for key, value in branch.items():
                if key == "properties" and isinstance(value, dict):
                    node["properties"] = {**node.get("properties", {}), **value}
                elif key == "required" and isinstance(value, list):
                    node["required"] = [*node.get("required", []), *value]
                else:
                    node.setdefault(key, value)
    out: dict[str, Any] = {}
    branches = node.pop("anyOf", None) or node.pop("oneOf", None)
    if isinstance(branches, list):
        kept = [b for b in branches if not (isinstance(b, dict) and b.get("type") == "null")]
        if len(kept) < len(branches):
            out["nullable"] = True
        if len(kept) == 1 and isinstance(kept[0], dict):
            single = _clean(kept[0], definitions, depth + 1)
            for key, value in single.items():
                node.setdefault(key, value)
        elif kept:
            out["anyOf"] = [_clean(b, definitions, depth + 1) for b in kept]
    kind = node.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        if len(kinds) < len(kind):
            out["nullable"] = True
        node["type"] = kinds[0] if kinds else "string"
    if "const" in node:
        node["enum"] = [node.pop("const")]
    for key, value in node.items():
        if key not in _SCHEMA_KEYS:
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _clean(sub, definitions, depth + 1) for name, sub in value.items()}
        elif key == "items":
            out[key] = _clean(value, definitions, depth + 1)
        elif key == "enum" and isinstance(value, list):
            out[key] = [v if isinstance(v, str) else json_encode(v).decode() for v in value]
        elif key == "anyOf" and isinstance(value, list):
            out[key] = [_clean(b, definitions, depth + 1) for b in value]
        else:
            out[key] = value
    if "enum" in out and "type" not in out:
        out["type"] = "string"
    return out
