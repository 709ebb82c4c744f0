"""Properties of tool-schema cleaning and tool-name mapping.

- `clean_schema` (Gemini) and `claude_schema` (Claude through Antigravity) are idempotent and
  their output holds no keyword the upstream refuses, for arbitrary JSON-schema-like input;
- every object `claude_schema` puts out has a required property that it declares;
- `ToolNames` is one to one, its upstream names are valid, and they map back.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from aigateway.adapters.codecs.gemini.schema import SCHEMA_KEYS, clean_schema, clean_schema_json
from aigateway.adapters.upstream.cloud_code.tools import (
    ToolNames,
    claude_schema,
    claude_schema_json,
)

# the keywords Claude through Antigravity accepts in a tool schema (late-2026 behaviour)
CLAUDE_SCHEMA_KEYS = frozenset({"type", "description", "properties", "required", "items"})

KEYWORDS = (
    "type",
    "properties",
    "required",
    "items",
    "enum",
    "const",
    "anyOf",
    "oneOf",
    "allOf",
    "$ref",
    "$defs",
    "definitions",
    "description",
    "nullable",
    "title",
    "default",
    "examples",
    "format",
    "minimum",
    "maximum",
    "minLength",
    "pattern",
    "additionalProperties",
    "patternProperties",
    "not",
    "if",
    "then",
    "$schema",
    "x-extra",
    "propertyOrdering",
)
NAMES = st.sampled_from(["a", "b", "reason", "_", "Unit", "N", "$ref", "type", "x y"])
TYPES = st.sampled_from(["object", "array", "string", "integer", "number", "boolean", "null"])
scalars = st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=6) | TYPES
refs = st.sampled_from(["#/$defs/Unit", "#/$defs/N", "#/definitions/a", "#/$defs/missing"])


def _value(key: str, children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    if key in ("properties", "$defs", "definitions", "patternProperties"):
        return st.dictionaries(NAMES, children, max_size=3) | scalars
    if key in ("items", "not", "if", "then", "additionalProperties"):
        return children | st.lists(children, max_size=2) | scalars
    if key in ("anyOf", "oneOf", "allOf"):
        return st.lists(children, max_size=3) | scalars
    if key == "type":
        return TYPES | st.lists(TYPES, max_size=3) | scalars
    if key == "required":
        return st.lists(NAMES | scalars, max_size=3) | scalars
    if key == "enum":
        return st.lists(scalars, max_size=4) | scalars
    if key == "$ref":
        return refs | scalars
    return scalars | st.lists(scalars, max_size=2)


def _node(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(st.sampled_from(KEYWORDS), max_size=5, unique=True).flatmap(
        lambda keys: st.fixed_dictionaries({k: _value(k, children) for k in keys})
    )


schemas = st.recursive(
    st.fixed_dictionaries({}) | st.fixed_dictionaries({"type": TYPES}) | scalars,
    _node,
    max_leaves=25,
)


def schema_nodes(schema: Any) -> Iterator[dict[str, Any]]:
    """Every schema (not property map) in a cleaned schema."""
    if not isinstance(schema, dict):
        return
    yield schema
    properties = schema.get("properties")
    if isinstance(properties, dict):
        for sub in properties.values():
            yield from schema_nodes(sub)
    yield from schema_nodes(schema.get("items"))
    for branch in schema.get("anyOf") or ():
        yield from schema_nodes(branch)


@given(schemas)
def test_gemini_cleaning_is_idempotent_and_keeps_only_accepted_keywords(schema: Any) -> None:
    cleaned = clean_schema(schema)
    assert clean_schema(cleaned) == cleaned
    for node in schema_nodes(cleaned):
        assert set(node) <= SCHEMA_KEYS
        assert isinstance(node.get("properties", {}), dict)
        assert isinstance(node.get("items", {}), dict)
        assert all(isinstance(b, dict) for b in node.get("anyOf", ()))
        if "enum" in node:
            assert node["type"] == "string"
            assert all(isinstance(v, str) for v in node["enum"])


@given(schemas)
def test_claude_cleaning_is_idempotent_and_strict(schema: Any) -> None:
    cleaned = claude_schema(schema)
    assert claude_schema(cleaned) == cleaned
    assert cleaned["type"] == "object"
    for node in schema_nodes(cleaned):
        assert set(node) <= CLAUDE_SCHEMA_KEYS
        assert "description" not in node or isinstance(node["description"], str)
        if "properties" in node:
            assert node["type"].lower() == "object"
            required = node["required"]
            assert required, node
            assert set(required) <= set(node["properties"])
            assert len(set(required)) == len(required)


@given(schemas)
def test_remembered_cleaning_gives_what_cleaning_gives(schema: Any) -> None:
    """The JSON put into a request is the cleaned schema, asked once or again (remembered)."""
    for _ in range(2):
        assert msgspec.json.decode(clean_schema_json(schema)) == clean_schema(schema)
        assert msgspec.json.decode(claude_schema_json(schema)) == claude_schema(schema)


tool_names = st.text(
    st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs")), min_size=0, max_size=80
) | st.sampled_from(["a.b", "a_b", "a:b", "a b", "_2", "a_b_2", "9lives", "x" * 70])
UPSTREAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")


@given(st.lists(tool_names, max_size=12), st.lists(tool_names, max_size=6))
def test_tool_names_are_one_to_one_and_round_trip(declared: list[str], later: list[str]) -> None:
    names = ToolNames(declared)
    every = [*declared, *later]
    upstream = {name: names.to_upstream(name) for name in every}
    assert len(set(upstream.values())) == len(upstream)  # injective
    for name, sent in upstream.items():
        assert UPSTREAM_NAME.fullmatch(sent), sent
        assert names.to_upstream(name) == sent  # stable
        assert names.to_client(sent) == name  # round trip
    for name in declared:
        if UPSTREAM_NAME.fullmatch(name):
            assert upstream[name] == name  # a valid declared name is sent as it is
