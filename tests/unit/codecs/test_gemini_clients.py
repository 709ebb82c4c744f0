"""What Gemini clients send, decoded for other upstreams: Gemini CLI's tool declarations
(`parametersJsonSchema`), its function responses (`{"output": ...}`) and the thought-signature
sentinel it puts on calls no model signed; Google's SDKs' upper-case `Schema` type names."""

from __future__ import annotations

import json
from typing import Any

from aigateway.adapters.codecs.gemini import GeminiCodec
from aigateway.domain.llm import (
    TextPart,
    Thinking,
    ThinkingPart,
    Tool,
    ToolCallPart,
    ToolResultPart,
)
from tests.unit.codecs.wire import ANTHROPIC, OPENAI

GEMINI = GeminiCodec()
SENTINEL = "skip_thought_signature_validator"
READ_FILE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "file_path": {"description": "The path to the file to read.", "type": "string"},
        "start_line": {"type": "integer", "minimum": 1},
    },
    "required": ["file_path"],
}


def _decode(document: dict[str, Any]) -> Any:
    return GEMINI.decode_request(json.dumps(document).encode(), model="gpt-5.1")


def _declared(declaration: dict[str, Any]) -> Tool:
    request = _decode(
        {
            "contents": [{"role": "user", "parts": [{"text": "go"}]}],
            "tools": [{"functionDeclarations": [declaration]}],
        }
    )
    (tool,) = request.tools
    assert isinstance(tool, Tool)
    return tool


def _tool_turn(call: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    """A conversation that replays a function call and answers it, as Gemini CLI does."""
    return {
        "contents": [
            {"role": "user", "parts": [{"text": "Read note.txt"}]},
            {"role": "model", "parts": [call]},
            {"role": "user", "parts": [{"functionResponse": response}]},
        ]
    }


def test_a_json_schema_declaration_reaches_openai_and_anthropic_upstreams() -> None:
    tool = _declared(
        {
            "name": "read_file",
            "description": "Reads a file",
            "parametersJsonSchema": READ_FILE_SCHEMA,
        }
    )
    assert tool.parameters == READ_FILE_SCHEMA
    request = _decode(
        {
            "contents": [{"role": "user", "parts": [{"text": "go"}]}],
            "tools": [
                {
                    "functionDeclarations": [
                        {"name": "read_file", "parametersJsonSchema": READ_FILE_SCHEMA}
                    ]
                }
            ],
        }
    )
    openai = json.loads(OPENAI.encode_request(request))
    assert openai["tools"][0]["function"]["parameters"] == READ_FILE_SCHEMA
    anthropic = json.loads(ANTHROPIC.encode_request(request))
    assert anthropic["tools"][0]["input_schema"] == READ_FILE_SCHEMA


def test_gemini_schema_type_names_become_json_schema_type_names() -> None:
    tool = _declared(
        {
            "name": "plan",
            "parameters": {
                "type": "OBJECT",
                "properties": {
                    "steps": {"type": "ARRAY", "items": {"type": "STRING", "enum": ["A", "B"]}},
                    "limit": {"anyOf": [{"type": "INTEGER"}, {"type": "NULL"}]},
                    "type": {"type": "BOOLEAN", "description": "a property named type"},
                },
                "required": ["steps"],
            },
        }
    )
    assert tool.parameters == {
        "type": "object",
        "properties": {
            "steps": {"type": "array", "items": {"type": "string", "enum": ["A", "B"]}},
            "limit": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
            "type": {"type": "boolean", "description": "a property named type"},
        },
        "required": ["steps"],
    }


def test_an_output_response_is_the_tool_results_text() -> None:
    document = _tool_turn(
        {"functionCall": {"id": "call_1", "name": "read_file", "args": {"file_path": "note.txt"}}},
        {"id": "call_1", "name": "read_file", "response": {"output": "line one\nline two\n"}},
    )
    request = _decode(document)
    (result,) = request.messages[-1].content
    assert result == ToolResultPart(
        tool_call_id="call_1", content=(TextPart("line one\nline two\n"),)
    )
    sent = json.loads(OPENAI.encode_request(request))["messages"][-1]
    assert sent == {"role": "tool", "tool_call_id": "call_1", "content": "line one\nline two\n"}


def test_an_error_response_is_an_error_result() -> None:
    document = _tool_turn(
        {"functionCall": {"id": "call_1", "name": "read_file", "args": {}}},
        {"id": "call_1", "name": "read_file", "response": {"error": "File not found"}},
    )
    (result,) = _decode(document).messages[-1].content
    assert result == ToolResultPart(
        tool_call_id="call_1", content=(TextPart("File not found"),), is_error=True
    )


def test_the_skip_sentinel_is_not_a_signature() -> None:
    call = {"functionCall": {"id": "call_1", "name": "read_file", "args": {}}}
    document = _tool_turn(
        {**call, "thoughtSignature": SENTINEL},
        {"id": "call_1", "name": "read_file", "response": {"output": "x"}},
    )
    request = _decode(document)
    assert request.messages[1].content == (ToolCallPart(id="call_1", name="read_file"),)
    anthropic = json.loads(ANTHROPIC.encode_request(request))
    assert [block["type"] for block in anthropic["messages"][1]["content"]] == ["tool_use"]
    # a signature a model made is still carried
    signed = _decode(
        _tool_turn(
            {**call, "thoughtSignature": "c2lnLWNhbGw="},
            {"id": "call_1", "name": "read_file", "response": {"output": "x"}},
        )
    )
    assert signed.messages[1].content[0] == ThinkingPart(signature="c2lnLWNhbGw=")


def test_proto_field_names_read_like_camel_case_ones() -> None:
    """What google-genai (Python) sends: some names in snake case, which Google accepts."""
    request = _decode(
        {
            "contents": [
                {"role": "user", "parts": [{"text": "go"}]},
                {
                    "role": "model",
                    "parts": [
                        {
                            "function_call": {"id": "c1", "name": "f", "args": {"file_path": "a"}},
                            "thought_signature": "c2ln",
                        }
                    ],
                },
            ],
            "system_instruction": {"parts": [{"text": "Be brief."}]},
            "tools": [
                {
                    "functionDeclarations": [
                        {"name": "f", "parameters_json_schema": {"type": "object", "x_y": {}}}
                    ]
                }
            ],
            "generationConfig": {
                "max_output_tokens": 64,
                "maxOutputTokens": 32,  # the camel-case name wins
                "thinkingConfig": {"include_thoughts": True, "thinking_budget": 100},
            },
        }
    )
    assert request.system == (TextPart("Be brief."),)
    (tool,) = request.tools
    assert isinstance(tool, Tool) and tool.parameters == {"type": "object", "x_y": {}}
    assert request.messages[1].content == (
        ThinkingPart(signature="c2ln"),
        ToolCallPart(id="c1", name="f", arguments={"file_path": "a"}),
    )
    assert request.max_tokens == 32
    assert request.thinking == Thinking(budget_tokens=100)
