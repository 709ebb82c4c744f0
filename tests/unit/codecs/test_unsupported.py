"""Content one format cannot express is refused with a clear message (what is dropped instead
is listed in each codec's `request_in` and tested in test_current_fields.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from aigateway.adapters.codecs.base import WireCodec
from aigateway.adapters.codecs.translate import StreamTranslator
from aigateway.domain.llm import (
    BlockKind,
    BlockStart,
    ChatResponse,
    ImagePart,
    MessageStart,
    OpaquePart,
    UnsupportedContent,
)
from tests.unit.codecs.wire import ANTHROPIC, OPENAI, assert_valid_openai_stream


def _openai_body(content: list[dict[str, Any]], **fields: Any) -> bytes:
    return json.dumps(
        {"model": "gpt-4o", "messages": [{"role": "user", "content": content}], **fields}
    ).encode()


def _anthropic_body(content: list[dict[str, Any]], **fields: Any) -> bytes:
    return json.dumps(
        {
            "model": "claude-sonnet-4-5",
            "max_tokens": 100,
            "messages": [{"role": "user", "content": content}],
            **fields,
        }
    ).encode()


AUDIO = {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}
FILE = {"type": "file", "file": {"file_id": "file-abc123"}}
DOCUMENT = {
    "type": "document",
    "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="},
}


@pytest.mark.parametrize(
    ("body", "what"),
    [
        (_openai_body([AUDIO]), "part `input_audio`"),
        (_openai_body([{"type": "text", "text": "x"}, FILE]), "part `file`"),
        (_openai_body([{"type": "text", "text": "x"}], n=3), "field `n`"),
        (
            _openai_body([{"type": "text", "text": "x"}], modalities=["text", "audio"]),
            "`modalities`",
        ),
        (_openai_body([{"type": "text", "text": "x"}], logprobs=True), "field `logprobs`"),
        (
            _openai_body(
                [{"type": "text", "text": "x"}],
                response_format={"type": "json_schema", "json_schema": {"name": "x"}},
            ),
            "response_format `json_schema`",
        ),
        (
            _openai_body(
                [{"type": "text", "text": "x"}], tools=[{"type": "custom", "custom": {"name": "x"}}]
            ),
            "tool `custom`",
        ),
    ],
)
def test_openai_content_anthropic_cannot_express(body: bytes, what: str) -> None:
    request = OPENAI.decode_request(body)
    OPENAI.encode_request(request)  # the same format writes it back
    with pytest.raises(UnsupportedContent) as caught:
        ANTHROPIC.encode_request(request)
    assert what in str(caught.value) and "Anthropic Messages" in str(caught.value)


@pytest.mark.parametrize(
    ("body", "what"),
    [
        (_anthropic_body([DOCUMENT]), "block `document`"),
        (
            _anthropic_body(
                [
                    {
                        "type": "image",
                        "source": {"type": "file", "file_id": "file_011CNha8iCJcU1wXNR6q4V8w"},
                    }
                ]
            ),
            "block `image:file`",
        ),
        (
            _anthropic_body(
                [{"type": "tool_result", "tool_use_id": "toolu_1", "content": [DOCUMENT]}]
            ),
            "block `document`",
        ),
        (
            _anthropic_body(
                [{"type": "text", "text": "x"}],
                tools=[{"type": "bash_20250124", "name": "bash"}],
            ),
            "tool `bash_20250124`",
        ),
        (
            _anthropic_body(
                [{"type": "text", "text": "x"}],
                mcp_servers=[{"type": "url", "url": "https://mcp.example", "name": "ex"}],
            ),
            "field `mcp_servers`",
        ),
    ],
)
def test_anthropic_content_openai_cannot_express(body: bytes, what: str) -> None:
    request = ANTHROPIC.decode_request(body)
    ANTHROPIC.encode_request(request)
    with pytest.raises(UnsupportedContent) as caught:
        OPENAI.encode_request(request)
    assert what in str(caught.value) and "OpenAI Chat Completions" in str(caught.value)


def test_server_tool_blocks_in_history_cannot_cross() -> None:
    body = json.dumps(
        {
            "model": "claude-sonnet-4-5",
            "max_tokens": 100,
            "messages": [
                {"role": "user", "content": "search it"},
                {
                    "role": "assistant",
                    "content": [
                        {
                            "type": "server_tool_use",
                            "id": "srvtoolu_01",
                            "name": "web_search",
                            "input": {"query": "weather"},
                        },
                        {
                            "type": "web_search_tool_result",
                            "tool_use_id": "srvtoolu_01",
                            "content": [],
                        },
                    ],
                },
            ],
        }
    ).encode()
    request = ANTHROPIC.decode_request(body)
    assert json.loads(ANTHROPIC.encode_request(request))["messages"] == json.loads(body)["messages"]
    with pytest.raises(UnsupportedContent, match="server_tool_use"):
        OPENAI.encode_request(request)


def test_server_tool_block_in_a_response_cannot_cross() -> None:
    body = json.dumps(
        {
            "id": "msg_1",
            "model": "claude-sonnet-4-5",
            "content": [
                {"type": "server_tool_use", "id": "srv_1", "name": "web_search", "input": {}}
            ],
            "stop_reason": "pause_turn",
            "usage": {"input_tokens": 1, "output_tokens": 1},
        }
    ).encode()
    response = ANTHROPIC.decode_response(body)
    with pytest.raises(UnsupportedContent, match="server_tool_use"):
        OPENAI.encode_response(response)


@pytest.mark.parametrize("codec", [OPENAI, ANTHROPIC])
def test_images_in_an_answer_cannot_be_written(codec: WireCodec) -> None:
    answer = ChatResponse(
        id="x", model="m", content=(ImagePart(media_type="image/png", data="AA"),)
    )
    with pytest.raises(UnsupportedContent, match="image"):
        codec.encode_response(answer)


def test_opaque_block_mid_stream_becomes_an_error_event_for_openai_clients() -> None:
    translator = StreamTranslator(ANTHROPIC.stream_decoder(), OPENAI.stream_encoder())
    stream = (
        b'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1",'
        b'"model":"claude","usage":{"input_tokens":3,"output_tokens":1}}}\n\n'
        b'event: content_block_start\ndata: {"type":"content_block_start","index":0,'
        b'"content_block":{"type":"server_tool_use","id":"srv_1","name":"web_search","input":{}}}\n\n'
    )
    out = translator.feed(stream)
    assert translator.done and translator.error is not None
    assert "server_tool_use" in translator.error.message
    assert_valid_openai_stream(out, include_usage=False)
    assert translator.feed(b"event: ping\ndata: {}\n\n") == b""


def test_opaque_parts_from_another_format_name_their_origin() -> None:
    part = OpaquePart(format="gemini", kind="part", name="fileData", data={})
    encoder = ANTHROPIC.stream_encoder()
    encoder.encode(MessageStart(id="m", model="x"))
    with pytest.raises(UnsupportedContent, match="gemini"):
        encoder.encode(
            BlockStart(index=0, kind=BlockKind.OPAQUE, name=part.name, data={}, format="gemini")
        )
