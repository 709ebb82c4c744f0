"""Tool lists converted once per exact JSON: the same tools on the next turn, bounded."""

from __future__ import annotations

import json
from typing import Any

import msgspec

from aigateway.adapters.codecs import anthropic_messages, openai_chat
from aigateway.adapters.codecs.tool_lists import ToolList, ToolLists, as_sent, schema_json
from aigateway.domain.llm import Tool
from aigateway.entrypoints.ioc.providers import CODECS

BY_FORMAT = {codec.format: codec for codec in CODECS}
OPENAI = BY_FORMAT[openai_chat.FORMAT]
ANTHROPIC = BY_FORMAT[anthropic_messages.FORMAT]

SCHEMA = {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}


def _convert(raw: bytes) -> tuple[ToolList, list[tuple[Any, bytes]]]:
    tools = []
    schemas = []
    for item in json.loads(raw):
        schema = item["schema"]
        schemas.append((schema, json.dumps(schema).encode()))
        tools.append(Tool(name=item["name"], parameters=schema))
    return tuple(tools), schemas


def _array(name: str) -> bytes:
    return json.dumps([{"name": name, "schema": SCHEMA}]).encode()


def test_the_same_array_gives_the_same_tools_and_schemas_keep_their_json() -> None:
    cache = ToolLists()
    first = cache.get(_array("Read"), _convert)
    again = cache.get(_array("Read"), _convert)
    assert first is again and first is not None
    tool = first[0]
    assert isinstance(tool, Tool)
    assert schema_json(tool.parameters) == msgspec.Raw(json.dumps(SCHEMA).encode())
    assert as_sent(dict(SCHEMA)) == SCHEMA  # an equal schema of no cached list: itself


def test_the_cache_is_bounded_and_forgets_the_oldest_lists_schemas() -> None:
    cache = ToolLists(max_entries=2, max_bytes=10_000)
    oldest = cache.get(_array("A"), _convert)
    cache.get(_array("B"), _convert)
    cache.get(_array("C"), _convert)
    assert oldest is not None and isinstance(oldest[0], Tool)
    assert schema_json(oldest[0].parameters) is None
    assert cache.get(_array("A"), _convert) is not oldest  # converted again


def test_a_long_array_is_converted_every_time() -> None:
    cache = ToolLists(max_entries=2, max_bytes=10)
    first = cache.get(_array("A"), _convert)
    assert first is not None and cache.get(_array("A"), _convert) is not first
    assert isinstance(first[0], Tool) and schema_json(first[0].parameters) is None


def _openai_body(schema: Any) -> bytes:
    tool = {"type": "function", "function": {"name": "Read", "parameters": schema}}
    return json.dumps(
        {"model": "m", "messages": [{"role": "user", "content": "hi"}], "tools": [tool]},
        indent=1,  # the client's own formatting
    ).encode()


def test_an_agents_next_turn_sends_the_same_schema_upstream() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer", "default": 1.5e2}}}
    sent = [
        json.loads(ANTHROPIC.encode_request(OPENAI.decode_request(_openai_body(schema))))
        for _ in range(2)
    ]
    assert sent[0] == sent[1]
    assert sent[0]["tools"][0]["input_schema"] == schema


def test_a_tool_array_of_another_shape_is_read_as_before() -> None:
    body = json.loads(_openai_body(SCHEMA))
    body["tools"].append({"type": "custom", "custom": {"name": "grammar"}})
    request = OPENAI.decode_request(json.dumps(body).encode())
    assert [type(tool).__name__ for tool in request.tools] == ["Tool", "OpaquePart"]
