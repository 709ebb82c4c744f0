"""Counting tokens through Cloud Code: an Anthropic `count_tokens` request ->
`POST {base}/v1internal:countTokens` -> `{"input_tokens": N}`.

The body is the one Gemini CLI sends there, `{"request": {"model": "models/<upstream model>",
"contents": [...]}}`, with no envelope and no project. The client's body goes through the
canonical model and the Gemini codec; Anthropic counts the system prompt and the tools too, so
they are counted as text in front of the first user turn (the body holds contents only). The
answer `{"totalTokens": N}` is the request's prompt tokens. A refusal is decided and classified
like a chat's (failover on 429 and 5xx); its error reaches the client in Anthropic's format.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec

from aigateway.adapters.codecs.base import WireCodec, decode_client, json_encode
from aigateway.adapters.codecs.gemini import GeminiCodec
from aigateway.adapters.upstream.exchange import JSON, _Exchange, describe
from aigateway.application.ports.upstream import Answer, Refusal, UpstreamResponse, Usage
from aigateway.domain.errors import error_in_success
from aigateway.domain.llm import ApiError, ErrorType

log = logging.getLogger(__name__)

COUNT = "/v1internal:countTokens"

_decode_top = msgspec.json.Decoder(dict[str, msgspec.Raw]).decode
_encode = msgspec.json.Encoder().encode


def count_request(
    client: WireCodec, gemini: GeminiCodec, body: bytes, upstream_model: str
) -> bytes:
    """The countTokens body for an Anthropic `count_tokens` body (a 400 for a bad one; raises
    UnsupportedContent for what Gemini cannot express)."""
    top = decode_client(_decode_top, body)
    top.setdefault("max_tokens", msgspec.Raw(b"1"))  # a Messages request without the answer cap
    wire = gemini.to_wire_request(client.decode_request(_encode(top)))
    request = {"model": f"models/{upstream_model}", "contents": _counted(wire)}
    return json_encode({"request": request})


def _counted(wire: dict[str, Any]) -> list[dict[str, Any]]:
    contents: list[dict[str, Any]] = list(wire["contents"])
    extra: list[dict[str, Any]] = list((wire.get("systemInstruction") or {}).get("parts") or ())
    declarations = [
        declaration
        for tool in wire.get("tools") or ()
        for declaration in tool.get("functionDeclarations") or ()
    ]
    if declarations:
        extra.append({"text": json_encode(declarations).decode()})
    if not extra:
        return contents
    if contents and contents[0].get("role") == "user":
        contents[0] = {**contents[0], "parts": [*extra, *contents[0]["parts"]]}
    else:
        contents.insert(0, {"role": "user", "parts": extra})
    return contents


class _Count(msgspec.Struct):
    totalTokens: int = 0  # proto3 JSON leaves a zero out


_decode_count = msgspec.json.Decoder(_Count).decode


class CountExchange(_Exchange):
    """One countTokens attempt's answer, in the client's (Anthropic's) format."""

    __slots__ = ("_gemini", "_usage")

    def __init__(self, response: UpstreamResponse, gemini: GeminiCodec, client: WireCodec) -> None:
        super().__init__(response, client)
        self._gemini = gemini
        self._usage: Usage | None = None

    @property
    def usage(self) -> Usage | None:
        return self._usage

    def _render_error(self, status: int, body: bytes) -> bytes:
        return self._client.encode_error(self._gemini.decode_error(status, body))

    def _success(self, body: bytes) -> Answer | Refusal:
        if error_in_success(body):
            return self._error_in_success(body, "error object inside a 2xx answer")
        try:
            total = _decode_count(body).totalTokens
        except (msgspec.MsgspecError, RecursionError) as exc:
            message = f"bad upstream answer: {describe(exc)}"
            log.warning("%s", message)
            error = ApiError(status=502, type=ErrorType.API_ERROR, message=message)
            return Answer(
                status=502,
                content_type=JSON,
                body=self._client.encode_error(error),
                usage=None,
                error=message,
            )
        self._usage = Usage(prompt_tokens=total)
        return Answer(
            status=self._response.status,
            content_type=JSON,
            body=json_encode({"input_tokens": total}),
            usage=self._usage,
        )
