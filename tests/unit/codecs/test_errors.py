"""Errors in each format: rendering, decoding upstream bodies, mid-stream error events."""

from __future__ import annotations

import json

import pytest

from aigateway.adapters.codecs.anthropic_messages import error_body
from aigateway.adapters.codecs.base import api_error_from_gateway
from aigateway.application.errors import GatewayError, invalid_request
from aigateway.domain.llm import ApiError, ErrorType, StreamError, error_type_for_status
from tests.unit.codecs.wire import ANTHROPIC, OPENAI, sse_frames

# status -> (OpenAI type, Anthropic type), per WIRE-FORMATS.md section 5
STATUS_TYPES = [
    (400, "invalid_request_error", "invalid_request_error"),
    (401, "authentication_error", "authentication_error"),
    (403, "permission_error", "permission_error"),
    (404, "invalid_request_error", "not_found_error"),
    (413, "invalid_request_error", "request_too_large"),
    (429, "rate_limit_error", "rate_limit_error"),
    (500, "server_error", "api_error"),
    (502, "server_error", "api_error"),
    (503, "server_error", "overloaded_error"),
    (529, "server_error", "overloaded_error"),
    (504, "server_error", "timeout_error"),
]


@pytest.mark.parametrize(("status", "openai_type", "anthropic_type"), STATUS_TYPES)
def test_error_types_by_status(status: int, openai_type: str, anthropic_type: str) -> None:
    error = ApiError(status=status, type=error_type_for_status(status), message="boom")
    openai = json.loads(OPENAI.encode_error(error))
    assert openai == {
        "error": {
            "message": "boom",
            "type": openai_type,
            "param": None,
            "code": "model_not_found" if status == 404 else None,
        }
    }
    anthropic = json.loads(ANTHROPIC.encode_error(error))
    assert anthropic == {"type": "error", "error": {"type": anthropic_type, "message": "boom"}}


def test_gateway_errors_render_in_both_formats() -> None:
    error = api_error_from_gateway(invalid_request("max_tokens is required", param="max_tokens"))
    assert json.loads(OPENAI.encode_error(error))["error"]["param"] == "max_tokens"
    body = json.loads(ANTHROPIC.encode_error(error))
    assert body["error"] == {"type": "invalid_request_error", "message": "max_tokens is required"}
    limited = api_error_from_gateway(GatewayError(429, "slow down"))
    assert json.loads(ANTHROPIC.encode_error(limited))["error"]["type"] == "rate_limit_error"


def test_upstream_error_bodies_cross_formats() -> None:
    anthropic_body = error_body("Overloaded", type="overloaded_error")
    error = ANTHROPIC.decode_error(529, anthropic_body)
    assert (error.type, error.message) == (ErrorType.OVERLOADED, "Overloaded")
    assert json.loads(OPENAI.encode_error(error))["error"]["type"] == "server_error"
    openai_body = (
        b'{"error":{"message":"Rate limit reached for gpt-4o","type":"rate_limit_error",'
        b'"param":null,"code":"rate_limit_exceeded"}}'
    )
    error = OPENAI.decode_error(429, openai_body)
    assert (error.type, error.code) == (ErrorType.RATE_LIMIT, "rate_limit_exceeded")
    assert json.loads(ANTHROPIC.encode_error(error)) == {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": "Rate limit reached for gpt-4o"},
    }


@pytest.mark.parametrize(
    "body",
    [b"<html>502 Bad Gateway</html>", b'{"error":"plain string"}', b'{"message":"m"}', b""],
)
def test_odd_upstream_error_bodies_still_decode(body: bytes) -> None:
    for codec in (OPENAI, ANTHROPIC):
        error = codec.decode_error(502, body)
        assert error.status == 502 and error.type is ErrorType.API_ERROR and error.message


def test_mid_stream_errors() -> None:
    error = StreamError(ErrorType.OVERLOADED, "Overloaded")
    assert sse_frames(ANTHROPIC.encode_stream_error(error)) == [
        ("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    ]
    frames = sse_frames(OPENAI.encode_stream_error(error))
    assert frames[-1] == ("", "[DONE]")
    assert frames[0][1]["error"]["type"] == "server_error"
