"""Tool schemas cleaned to the subset Gemini accepts."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import msgspec

from aigateway.adapters.codecs.base import json_decode, json_encode
from aigateway.adapters.codecs.tool_lists import schema_key

# The keywords of Gemini's `Schema` that the gateway passes on; every other one is refused by
# Gemini ("Invalid JSON payload received. Unknown name ...") and dropped.
SCHEMA_KEYS = frozenset(
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
MAX_DEPTH = 32  # nesting of properties / items / anyOf; deeper schemas become `{}`
MAX_REFS = 64  # `$ref`s inlined per schema: a recursive or fanned-out definition stops here
# Cleaned schemas remembered per process (agents send the same tools on every turn), keyed by
# the schema's JSON: at most this many, each at most this long; longer ones are not kept.
REMEMBERED_SCHEMAS = 256
MAX_REMEMBERED_SCHEMA = 16 * 1024


class _Refs:
    """The definitions of one schema and how many more `$ref`s may be inlined."""

    def __init__(self, definitions: dict[str, Any]) -> None:
        self.definitions = definitions
        self.left = MAX_REFS

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        seen: set[str] = set()
        while isinstance(ref := node.get("$ref"), str):
            rest = {k: v for k, v in node.items() if k != "$ref"}
            name = ref.rsplit("/", 1)[-1]
            target = self.definitions.get(name)
            if not isinstance(target, dict) or name in seen or self.left <= 0:
                return rest
            seen.add(name)
            self.left -= 1
            node = {**target, **rest}
        return node


def clean_schema(schema: Any) -> Any:
    """A JSON schema -> the subset Gemini's `Schema` accepts: `$ref`s inlined (from `$defs` /
    `definitions`, at most `MAX_REFS` of them), `allOf` merged, a null branch of
    `anyOf`/`oneOf` (or of a type list) made `nullable`, a single remaining branch collapsed,
    `const` -> `enum`, enum values as strings, tuple `items` reduced to their first schema,
    and every other keyword (`$schema`, `additionalProperties`, `default`, `examples`,
    `title`, `x-*`, `if/then/else`, `not`, ...) dropped. Cleaning a cleaned schema changes
    nothing."""
    if not isinstance(schema, dict):
        return schema
    definitions: dict[str, Any] = {}
    for key in ("$defs", "definitions"):
        found = schema.get(key)
        if isinstance(found, dict):
            definitions.update(found)
    return _clean(schema, _Refs(definitions), 0)


def _merge_all_of(node: dict[str, Any], refs: _Refs) -> dict[str, Any]:
    branches = node.pop("allOf", None)
    if not isinstance(branches, list):
        return node
    for branch in branches:
        if not isinstance(branch, dict):
            continue
        for key, value in refs.resolve(branch).items():
            if key == "properties" and isinstance(value, dict):
                known = node.get("properties")
                node["properties"] = {**(known if isinstance(known, dict) else {}), **value}
            elif key == "required" and isinstance(value, list):
                known = node.get("required")
                node["required"] = [*(known if isinstance(known, list) else []), *value]
            else:
                node.setdefault(key, value)
    return node


def _clean(node: Any, refs: _Refs, depth: int) -> dict[str, Any]:
    if not isinstance(node, dict) or depth >= MAX_DEPTH:
        return {}
    node = _merge_all_of(dict(refs.resolve(node)), refs)
    out: dict[str, Any] = {}
    branches = node.pop("anyOf", None)
    other = node.pop("oneOf", None)
    if not isinstance(branches, list):
        branches = other
    if isinstance(branches, list):
        dicts = [refs.resolve(b) for b in branches if isinstance(b, dict)]
        kept = [b for b in dicts if b.get("type") != "null"]
        if len(kept) < len(dicts):
            out["nullable"] = True
        if len(kept) == 1:
            for key, value in _clean(kept[0], refs, depth).items():
                node.setdefault(key, value)
        elif kept:
            out["anyOf"] = [_clean(b, refs, depth + 1) for b in kept]
    kind = node.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        if len(kinds) < len(kind):
            out["nullable"] = True
        node["type"] = kinds[0] if kinds else "string"
    if "const" in node:
        node["enum"] = [node.pop("const")]
    for key, value in node.items():
        if key not in SCHEMA_KEYS:
            continue
        if key == "properties":
            if isinstance(value, dict):
                out[key] = {name: _clean(sub, refs, depth + 1) for name, sub in value.items()}
        elif key == "items":
            if isinstance(value, list):  # tuple validation: Gemini takes one schema
                value = next((v for v in value if isinstance(v, dict)), {})
            out[key] = _clean(value, refs, depth + 1)
        elif key == "enum":
            if isinstance(value, list):
                out[key] = [v if isinstance(v, str) else json_encode(v).decode() for v in value]
        elif key == "anyOf":
            out[key] = value  # a single branch's own alternatives, cleaned with it
        else:
            out[key] = value
    if "enum" in out:
        kind = out.setdefault("type", "string")
        if not isinstance(kind, str) or kind.lower() != "string":
            del out["enum"]  # Gemini: "enum: only allowed for STRING type"
    return out


def remembered(transform: Callable[[Any], Any]) -> Callable[[Any], msgspec.Raw]:
    """`transform` (a pure function of a JSON schema) -> the same, answering the JSON of its
    result (to put in a request as it is) and remembering it per schema in a bounded LRU."""

    @functools.lru_cache(maxsize=REMEMBERED_SCHEMAS)
    def by_json(key: bytes) -> msgspec.Raw:
        return msgspec.Raw(json_encode(transform(json_decode(key))))

    def apply(schema: Any) -> msgspec.Raw:
        key = schema_key(schema)
        if len(key) > MAX_REMEMBERED_SCHEMA:
            return msgspec.Raw(json_encode(transform(schema)))
        return by_json(key)

    return apply


clean_schema_json = remembered(clean_schema)
"""`clean_schema` as JSON, remembered per schema."""
