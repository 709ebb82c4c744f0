"""Same-format passthrough helpers: request validation, model rewrite, usage scanning."""

from __future__ import annotations

import re
from typing import Any, Literal

import msgspec

from aigateway.application.errors import GatewayError, invalid_request
from aigateway.application.ports.upstream import Usage


class _ImageUrl(msgspec.Struct):
    url: str


class _ContentPart(msgspec.Struct, tag_field="type", tag=True):
    pass


class _TextPart(_ContentPart, tag="text"):
    text: str


class _ImagePart(_ContentPart, tag="image_url"):
    image_url: _ImageUrl


class _InputAudioPart(_ContentPart, tag="input_audio"):
    input_audio: dict[str, Any]


class _FilePart(_ContentPart, tag="file"):
    file: dict[str, Any]


class _RefusalPart(_ContentPart, tag="refusal"):
    refusal: str


_Part = _TextPart | _ImagePart | _InputAudioPart | _FilePart | _RefusalPart


class _Message(msgspec.Struct):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[_Part] | None = None
    name: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None


class ChatRequestHead(msgspec.Struct):
    """The fields the gateway validates; everything else is forwarded untouched."""

    model: str
    messages: list[_Message]
    stream: bool | None = None
    stream_options: dict[str, Any] | None = None
    temperature: float | None = None
    top_p: float | None = None
    n: int | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    stop: str | list[str] | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    user: str | None = None


_decode_head = msgspec.json.Decoder(ChatRequestHead).decode


def decode_request(body: bytes) -> ChatRequestHead:
    """Validate a client body; malformed JSON or wrong types -> 400 in OpenAI's format."""
    if not body:
        raise invalid_request("request body is empty; expected a JSON object")
    try:
        head = _decode_head(body)
    except msgspec.ValidationError as exc:
        raise _validation_error(str(exc)) from None
    except msgspec.DecodeError as exc:
        raise invalid_request(f"request body is not valid JSON: {exc}") from None
    if not head.model.strip():
        raise invalid_request("model is required", param="model")
    if not head.messages:
        raise invalid_request("messages must contain at least one message", param="messages")
    return head


def _validation_error(text: str) -> GatewayError:
    # msgspec: "Object missing required field `model`" / "Expected `str`, got `int` - at `$.model`"
    param = None
    if " - at `$." in text:
        text, _, where = text.partition(" - at `$.")
        param = where.rstrip("`")
    elif "missing required field `" in text:
        param = text.split("`")[1]
    message = f"{text} (at {param})" if param and "missing" not in text else text
    return invalid_request(message, param=param)


def rewrite_model(body: bytes, model: str) -> bytes:
    document = msgspec.json.decode(body)
    document["model"] = model
    return msgspec.json.encode(document)


class _UsageBody(msgspec.Struct):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class _WithUsage(msgspec.Struct):
    usage: _UsageBody | None = None


_decode_usage = msgspec.json.Decoder(_WithUsage).decode


def usage_from_body(body: bytes) -> Usage | None:
    try:
        found = _decode_usage(body).usage
    except msgspec.MsgspecError:
        return None
    return Usage(found.prompt_tokens, found.completion_tokens) if found else None


_USAGE_OBJECT = re.compile(rb'"usage"\s*:\s*\{')
_MAX_TAIL = 1 << 20


class StreamUsageScanner:
    """Watches an SSE byte stream for a chunk carrying `usage`, however the bytes are split."""

    __slots__ = ("_tail", "usage")

    def __init__(self) -> None:
        self._tail = b""
        self.usage: Usage | None = None

    def feed(self, chunk: bytes) -> None:
        data = self._tail + chunk if self._tail else chunk
        end = data.rfind(b"\n")
        if end < 0:
            self._tail = data if len(data) <= _MAX_TAIL else b""
            return
        complete, self._tail = data[: end + 1], data[end + 1 :]
        if _USAGE_OBJECT.search(complete) is None:
            return
        for line in complete.split(b"\n"):
            if line.startswith(b"data:") and _USAGE_OBJECT.search(line):
                usage = usage_from_body(line[5:].strip())
                if usage is not None:
                    self.usage = usage
