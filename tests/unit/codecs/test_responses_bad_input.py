"""Client input the Responses codec (and the Gemini relay to Claude) must refuse with a 400, not
crash on: found by mutating valid bodies field by field."""

from __future__ import annotations

import json

import pytest

from aigateway.adapters.codecs.openai_chat import OpenAIChatCodec
from aigateway.adapters.codecs.openai_responses import OpenAIResponsesCodec
from aigateway.adapters.upstream.cloud_code.relayed_request import relayed_request
from aigateway.application.errors import GatewayError

CODEC = OpenAIResponsesCodec()


def test_an_item_whose_type_is_not_a_string_is_a_400_naming_it() -> None:
    body = json.dumps({"model": "m", "input": [{"type": []}]}).encode()
    with pytest.raises(GatewayError) as caught:
        CODEC.decode_request(body)
    assert caught.value.status == 400 and caught.value.param == "input[0].type"


def test_a_namespace_tool_without_a_tool_list_binds_no_namespace() -> None:
    body = {"model": "m", "input": "hi", "tools": [{"type": "namespace", "name": "ns", "tools": 1}]}
    request = CODEC.decode_request(json.dumps(body).encode())
    bound = CODEC.for_request(request)
    assert bound.groups == {}


def test_a_json_schema_format_that_is_not_an_object_is_a_400_for_a_responses_upstream() -> None:
    chat = {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "response_format": {"type": "json_schema", "json_schema": "x"},
    }
    request = OpenAIChatCodec().decode_request(json.dumps(chat).encode())
    with pytest.raises(GatewayError) as caught:
        CODEC.encode_request(request)
    assert caught.value.status == 400


@pytest.mark.parametrize("config", [None, {"functionCallingConfig": None}])
def test_a_null_tool_config_to_claude_is_taken_as_none(config: object) -> None:
    body = {
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "tools": [{"functionDeclarations": [{"name": "f"}]}],
        "toolConfig": config,
    }
    relayed = relayed_request(json.dumps(body).encode(), "claude-sonnet-4-6", max_output_tokens=64)
    inner = json.loads(relayed.body)
    assert inner["toolConfig"]["functionCallingConfig"]["mode"] == "VALIDATED"
