"""Tool schemas and names for Claude through the Cloud Code API."""

from __future__ import annotations

from typing import Any

from aigateway.adapters.codecs.gemini.schema import MAX_REFS, clean_schema
from aigateway.adapters.upstream.cloud_code.tools import (
    ToolNames,
    claude_schema,
    drop_placeholders,
)

# The shape of a real MCP tool schema (zod-to-json-schema output, as Claude Code sends it).
MCP_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "path": {"type": "string", "minLength": 1, "description": "File to read"},
        "mode": {"type": "string", "enum": ["text", "binary"], "default": "text"},
        "encoding": {"const": "utf-8"},
        "limit": {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}]},
        "range": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "integer"}}]},
        "options": {"type": "object", "properties": {"follow": {"type": "boolean"}}},
    },
    "required": ["path", "missing"],
}


def test_claude_schema_keeps_the_strict_subset_and_hints_what_it_drops() -> None:
    assert claude_schema(MCP_SCHEMA) == {
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "File to read (minLength: 1)"},
            "mode": {"type": "string", "description": "(Allowed: text, binary)"},
            "encoding": {"type": "string", "description": "(Allowed: utf-8)"},
            "limit": {"type": "integer", "description": "(minimum: 1; May be null)"},
            "range": {
                "type": "array",
                "items": {"type": "integer"},
                "description": "(Accepts: string | array)",
            },
            "options": {
                "type": "object",
                "properties": {
                    "follow": {"type": "boolean"},
                    "_": {"type": "boolean", "description": "Always true"},
                },
                "required": ["_"],
            },
        },
        "required": ["path"],  # pruned to existing properties
    }


def test_an_object_without_properties_gets_a_required_reason() -> None:
    for schema in (None, {}, {"type": "object"}, {"type": "object", "properties": {}}):
        assert claude_schema(schema) == {
            "type": "object",
            "properties": {
                "reason": {
                    "type": "string",
                    "description": "Brief explanation of why you are calling this tool",
                }
            },
            "required": ["reason"],
        }


def test_a_client_property_named_like_a_placeholder_is_required_not_replaced() -> None:
    schema = {"type": "object", "properties": {"_": {"type": "string", "description": "mine"}}}
    assert claude_schema(schema)["properties"] == {"_": {"type": "string", "description": "mine"}}
    assert claude_schema(schema)["required"] == ["_"]
    assert drop_placeholders({"_": "kept"}, schema) == {"_": "kept"}


def test_placeholders_are_dropped_from_the_call_arguments() -> None:
    arguments = {
        "path": "/a",
        "options": {"follow": True, "_": True},
        "reason": "to read it",
    }
    assert drop_placeholders(arguments, MCP_SCHEMA) == {"path": "/a", "options": {"follow": True}}
    assert drop_placeholders({"reason": "x"}, {}) == {}


def test_gemini_cleaning_drops_enums_on_non_strings_and_tuple_items() -> None:
    schema = {
        "type": "object",
        "properties": {
            "level": {"type": "integer", "enum": [1, 2]},  # Gemini: enum only for STRING
            "pair": {"type": "array", "items": [{"type": "string"}, {"type": "integer"}]},
            "bad": {"enum": "x"},
        },
    }
    assert clean_schema(schema) == {
        "type": "object",
        "properties": {
            "level": {"type": "integer"},
            "pair": {"type": "array", "items": {"type": "string"}},
            "bad": {},
        },
    }


def test_fanned_out_recursive_definitions_stay_small() -> None:
    # ten self-references per level: inlined naively this is 10**depth nodes
    node = {"type": "object", "properties": {f"p{i}": {"$ref": "#/$defs/N"} for i in range(10)}}
    cleaned = clean_schema({"$defs": {"N": node}, **node})

    def count(schema: Any) -> int:
        props = schema.get("properties", {}) if isinstance(schema, dict) else {}
        return 1 + sum(count(sub) for sub in props.values())

    assert count(cleaned) <= 1 + 10 * (MAX_REFS + 1)


def test_tool_names_are_sanitised_and_mapped_back() -> None:
    names = ToolNames(["mcp__github__get_issue", "read.file", "read_file", "9lives", "a b:c"])
    assert names.to_upstream("mcp__github__get_issue") == "mcp__github__get_issue"
    assert names.to_upstream("read_file") == "read_file"  # valid: keeps its name
    assert names.to_upstream("read.file") == "read_file_2"  # collides after sanitising
    assert names.to_upstream("9lives") == "_9lives"
    assert names.to_upstream("a b:c") == "a_b_c"
    assert names.to_client("read_file_2") == "read.file"
    assert names.to_client("_9lives") == "9lives"
    assert names.to_client("never_sent") == "never_sent"


def test_long_tool_names_are_cut_to_64_and_stay_distinct() -> None:
    first, second = "t." + "x" * 80, "t:" + "x" * 80
    names = ToolNames([first, second])
    a, b = names.to_upstream(first), names.to_upstream(second)
    assert len(a) <= 64 and len(b) <= 64 and a != b
    assert (names.to_client(a), names.to_client(b)) == (first, second)


def test_a_name_seen_only_in_the_history_is_mapped_when_asked() -> None:
    names = ToolNames(["get.weather"])
    assert names.to_upstream("get_weather") == "get_weather_2"  # "get_weather" is taken
    assert names.to_client("get_weather") == "get.weather"
