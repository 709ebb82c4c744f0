"""OpenAI Chat Completions: request validation, model rewrite, usage extraction, and the
translating codec (`OpenAIChatCodec`).

Same-format traffic stays a byte passthrough: the body is decoded once for validation and
re-encoded only when the upstream model name differs from the client's. Traffic that crosses
formats goes through `OpenAIChatCodec` (canonical model in aigateway.domain.llm).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import msgspec

from aigateway.adapters.codecs.base import (
    DEFAULT_EFFORT_BUDGETS,
    WireFormatError,
    convert,
    data_url,
    decode_body,
    json_encode,
    parse_data_url,
)
from aigateway.adapters.codecs.sse import DONE_FRAME, ENDED_EARLY, SSEEvent, SSEStreamDecoder, frame
from aigateway.application.errors import GatewayError, invalid_request
from aigateway.application.ports.upstream import Usage
from aigateway.domain.llm import (
    ApiError,
    BlockKind,
    BlockStart,
    BlockStop,
    ChatRequest,
    ChatResponse,
    ErrorType,
    ImagePart,
    Message,
    MessageDelta,
    MessageStart,
    MessageStop,
    OpaquePart,
    Part,
    StopReason,
    StreamError,
    StreamEvent,
    TextDelta,
    TextPart,
    Thinking,
    ThinkingDelta,
    ThinkingPart,
    Tool,
    ToolArgumentsDelta,
    ToolCallPart,
    ToolChoice,
    ToolResultPart,
    UnsupportedContent,
    WireFormat,
    error_type_for_status,
    parse_tool_arguments,
)
from aigateway.domain.llm import Usage as CanonicalUsage


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


def error_body(message: str, *, type: str, code: str | None, param: str | None = None) -> bytes:
    return msgspec.json.encode(
        {"error": {"message": message, "type": type, "param": param, "code": code}}
    )


# ---------------------------------------------------------------------------------------------
# Translating codec: OpenAI Chat Completions <-> canonical model
# ---------------------------------------------------------------------------------------------

FORMAT = WireFormat.OPENAI_CHAT
TITLE = "OpenAI Chat Completions"

# Request fields whose loss would change what the client gets back: carried as opaque fields,
# written back by this codec, rejected by any other.
_UNPORTABLE_FIELDS = frozenset(
    {"audio", "functions", "function_call", "top_logprobs", "web_search_options"}
)
_KNOWN_FIELDS = frozenset(
    {
        "model",
        "messages",
        "stream",
        "stream_options",
        "max_tokens",
        "max_completion_tokens",
        "temperature",
        "top_p",
        "top_k",
        "stop",
        "n",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "response_format",
        "reasoning_effort",
        "user",
        "modalities",
        "logprobs",
        *_UNPORTABLE_FIELDS,
    }
)

_FINISH_TO_STOP = {
    "stop": StopReason.END_TURN,
    "length": StopReason.MAX_TOKENS,
    "tool_calls": StopReason.TOOL_USE,
    "function_call": StopReason.TOOL_USE,
    "content_filter": StopReason.CONTENT_FILTER,
}
_STOP_TO_FINISH = {
    StopReason.END_TURN: "stop",
    StopReason.STOP_SEQUENCE: "stop",
    StopReason.PAUSE_TURN: "stop",
    StopReason.OTHER: "stop",
    StopReason.MAX_TOKENS: "length",
    StopReason.TOOL_USE: "tool_calls",
    StopReason.CONTENT_FILTER: "content_filter",
}
_ERROR_TYPES = {
    ErrorType.INVALID_REQUEST: "invalid_request_error",
    ErrorType.AUTHENTICATION: "authentication_error",
    ErrorType.PERMISSION: "permission_error",
    ErrorType.NOT_FOUND: "invalid_request_error",
    ErrorType.REQUEST_TOO_LARGE: "invalid_request_error",
    ErrorType.RATE_LIMIT: "rate_limit_error",
    ErrorType.API_ERROR: "server_error",
    ErrorType.OVERLOADED: "server_error",
    ErrorType.TIMEOUT: "server_error",
}
_ERROR_TYPES_IN = {
    "invalid_request_error": ErrorType.INVALID_REQUEST,
    "authentication_error": ErrorType.AUTHENTICATION,
    "permission_error": ErrorType.PERMISSION,
    "not_found_error": ErrorType.NOT_FOUND,
    "rate_limit_error": ErrorType.RATE_LIMIT,
    "insufficient_quota": ErrorType.RATE_LIMIT,
    "server_error": ErrorType.API_ERROR,
    "api_error": ErrorType.API_ERROR,
    "overloaded_error": ErrorType.OVERLOADED,
    "timeout_error": ErrorType.TIMEOUT,
}


def _unsupported(what: str) -> UnsupportedContent:
    return UnsupportedContent(what, TITLE)


def _opaque_unsupported(part: OpaquePart) -> UnsupportedContent:
    return _unsupported(f"{_format_title(part.format)} {part.kind} `{part.name}`")


def _format_title(format_: str) -> str:
    return {"anthropic_messages": "Anthropic Messages", FORMAT: TITLE}.get(format_, format_)


def finish_reason(stop: StopReason | None) -> str | None:
    return None if stop is None else _STOP_TO_FINISH[stop]


def stop_reason(finish: str | None) -> StopReason | None:
    return None if finish is None else _FINISH_TO_STOP.get(finish, StopReason.OTHER)


# --- request wire types (validated; unknown fields are kept as extras) -----------------------


class _WireMessage(msgspec.Struct):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None
    name: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    reasoning_content: str | None = None
    refusal: str | None = None
    function_call: dict[str, Any] | None = None


class _WireRequest(msgspec.Struct):
    model: str
    messages: list[_WireMessage]
    stream: bool | None = None
    stream_options: dict[str, Any] | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    stop: str | list[str] | None = None
    n: int | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    response_format: dict[str, Any] | None = None
    reasoning_effort: str | None = None
    user: str | None = None
    modalities: list[str] | None = None
    logprobs: bool | None = None


class _WireText(msgspec.Struct):
    text: str


class _WireImageUrl(msgspec.Struct):
    url: str
    detail: str | None = None


class _WireImage(msgspec.Struct):
    image_url: _WireImageUrl


class _WireRefusal(msgspec.Struct):
    refusal: str


class _WireFunction(msgspec.Struct):
    name: str
    arguments: str | None = None


class _WireToolCall(msgspec.Struct):
    id: str
    function: _WireFunction


class _WireFunctionSpec(msgspec.Struct):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class _WireTool(msgspec.Struct):
    function: _WireFunctionSpec


class _WireNamedFunction(msgspec.Struct):
    name: str


class _WireNamedChoice(msgspec.Struct):
    function: _WireNamedFunction


_TOOL_CHOICES = {
    "auto": ToolChoice("auto"),
    "none": ToolChoice("none"),
    "required": ToolChoice("required"),
}
_EFFORTS = frozenset({"none", "minimal", "low", "medium", "high", "xhigh"})


# --- response wire types ----------------------------------------------------------------------


class _PromptDetails(msgspec.Struct):
    cached_tokens: int | None = None


class _CompletionDetails(msgspec.Struct):
    reasoning_tokens: int | None = None


class _WireUsage(msgspec.Struct):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    prompt_tokens_details: _PromptDetails | None = None
    completion_tokens_details: _CompletionDetails | None = None


class _WireResponseMessage(msgspec.Struct):
    content: str | list[dict[str, Any]] | None = None
    reasoning_content: str | None = None
    reasoning: Any = None
    refusal: str | None = None
    tool_calls: list[dict[str, Any]] | None = None


class _WireChoice(msgspec.Struct):
    message: _WireResponseMessage
    index: int = 0
    finish_reason: str | None = None


class _WireResponse(msgspec.Struct):
    choices: list[_WireChoice]
    id: str = ""
    model: str = ""
    created: int | None = None
    usage: _WireUsage | None = None


class _WireErrorObject(msgspec.Struct):
    message: Any = None
    type: Any = None
    code: Any = None
    param: Any = None


class _WireErrorBody(msgspec.Struct):
    error: _WireErrorObject | str | None = None
    message: Any = None


_decode_response_body = msgspec.json.Decoder(_WireResponse).decode
_decode_error_body = msgspec.json.Decoder(_WireErrorBody).decode


# --- stream wire types ------------------------------------------------------------------------


class _ChunkFunction(msgspec.Struct):
    name: str | None = None
    arguments: str | None = None


class _ChunkToolCall(msgspec.Struct):
    index: int | None = None
    id: str | None = None
    type: str | None = None
    function: _ChunkFunction | None = None


class _ChunkDelta(msgspec.Struct):
    content: str | None = None
    reasoning_content: str | None = None
    reasoning: Any = None
    refusal: str | None = None
    tool_calls: list[_ChunkToolCall] | None = None


class _ChunkChoice(msgspec.Struct):
    index: int = 0
    delta: _ChunkDelta | None = None
    finish_reason: str | None = None


class _Chunk(msgspec.Struct):
    id: str = ""
    model: str = ""
    choices: list[_ChunkChoice] | None = None
    usage: _WireUsage | None = None
    error: _WireErrorObject | None = None


_decode_chunk = msgspec.json.Decoder(_Chunk).decode


# --- helpers ----------------------------------------------------------------------------------


def _usage_in(wire: _WireUsage) -> CanonicalUsage:
    prompt = wire.prompt_tokens or 0
    cached = wire.prompt_tokens_details.cached_tokens if wire.prompt_tokens_details else None
    reasoning = (
        wire.completion_tokens_details.reasoning_tokens if wire.completion_tokens_details else None
    )
    return CanonicalUsage(
        input_tokens=max(prompt - (cached or 0), 0),
        output_tokens=wire.completion_tokens or 0,
        cache_read_tokens=cached,
        reasoning_tokens=reasoning,
    )


def _usage_out(usage: CanonicalUsage) -> dict[str, Any]:
    prompt = usage.prompt_tokens
    out: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": usage.output_tokens,
        "total_tokens": prompt + usage.output_tokens,
    }
    if usage.cache_read_tokens is not None:
        out["prompt_tokens_details"] = {"cached_tokens": usage.cache_read_tokens}
    if usage.reasoning_tokens is not None:
        out["completion_tokens_details"] = {"reasoning_tokens": usage.reasoning_tokens}
    return out


def _reasoning_text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _arguments_out(part: ToolCallPart) -> str:
    if part.raw_arguments is not None:
        return part.raw_arguments
    return json_encode(part.arguments).decode()


def _image_out(part: ImagePart) -> dict[str, Any]:
    if part.data is not None:
        url = data_url(part.media_type or "application/octet-stream", part.data)
    else:
        url = part.url or ""
    image_url: dict[str, Any] = {"url": url}
    if part.detail is not None:
        image_url["detail"] = part.detail
    return {"type": "image_url", "image_url": image_url}


def _image_in(url: str, detail: str | None) -> ImagePart:
    inline = parse_data_url(url)
    if inline is not None:
        return ImagePart(media_type=inline[0], data=inline[1], detail=detail)
    return ImagePart(url=url, detail=detail)


def _text_content(texts: list[str]) -> str | list[dict[str, Any]]:
    if len(texts) == 1:
        return texts[0]
    return [{"type": "text", "text": text} for text in texts]


def _error_message(value: Any) -> str:
    return value if isinstance(value, str) else json_encode(value).decode()


class OpenAIChatCodec:
    """OpenAI Chat Completions <-> canonical model.

    Options (per upstream): `max_tokens_field` is the name sent upstream (`max_tokens`, or
    `max_completion_tokens` for OpenAI's reasoning models); `reasoning_history` sends thinking
    from earlier assistant turns back as `reasoning_content` (DeepSeek-style servers want it;
    api.openai.com rejects it, so it is off by default); `send_top_k` forwards `top_k` (not an
    OpenAI parameter; many compatible servers accept it); `send_reasoning_effort` turns a
    thinking request into `reasoning_effort` (off for models that reject the parameter);
    `effort_budgets` maps a thinking budget to a `reasoning_effort`.
    """

    format = FORMAT
    title = TITLE

    def __init__(
        self,
        *,
        max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens",
        reasoning_history: bool = False,
        send_top_k: bool = False,
        send_reasoning_effort: bool = True,
        effort_budgets: Mapping[str, int] | None = None,
    ) -> None:
        self.max_tokens_field = max_tokens_field
        self.reasoning_history = reasoning_history
        self.send_top_k = send_top_k
        self.send_reasoning_effort = send_reasoning_effort
        self.effort_budgets = dict(effort_budgets or DEFAULT_EFFORT_BUDGETS)

    # --- requests -----------------------------------------------------------------------------

    def decode_request(self, body: bytes) -> ChatRequest:
        """A client body -> canonical request; malformed or ill-typed bodies are 400s."""
        document = decode_body(body)
        wire = convert(document, _WireRequest, None)
        if not wire.model.strip():
            raise invalid_request("model is required", param="model")
        if not wire.messages:
            raise invalid_request("messages must contain at least one message", param="messages")
        system: list[TextPart] = []
        messages: list[Message] = []
        tool_turn = False  # the last canonical message holds only tool results
        for i, message in enumerate(wire.messages):
            path = f"messages[{i}]"
            role = message.role
            if role in ("system", "developer"):
                system.extend(self._system_in(message.content, path))
                tool_turn = False
            elif role == "user":
                messages.append(Message("user", self._user_content_in(message.content, path)))
                tool_turn = False
            elif role == "assistant":
                messages.append(Message("assistant", self._assistant_in(message, path)))
                tool_turn = False
            elif role == "tool":
                if not message.tool_call_id:
                    raise invalid_request(
                        f"{path}.tool_call_id is required for a tool message",
                        param=f"{path}.tool_call_id",
                    )
                result = ToolResultPart(
                    tool_call_id=message.tool_call_id,
                    content=self._tool_content_in(message.content, path),
                )
                if tool_turn:
                    last = messages[-1]
                    messages[-1] = Message("user", (*last.content, result))
                else:
                    messages.append(Message("user", (result,)))
                tool_turn = True
            else:  # legacy `function` role
                raw = document["messages"][i]
                opaque = OpaquePart(format=FORMAT, kind="message", name=role, data=raw)
                messages.append(Message("user", (opaque,)))
                tool_turn = False
        opaque_fields = [
            OpaquePart(format=FORMAT, kind="field", name=key, data=document[key])
            for key in sorted(_UNPORTABLE_FIELDS.intersection(document))
        ]
        if wire.n is not None and wire.n != 1:
            opaque_fields.append(OpaquePart(format=FORMAT, kind="field", name="n", data=wire.n))
        if wire.modalities is not None and wire.modalities != ["text"]:
            opaque_fields.append(
                OpaquePart(format=FORMAT, kind="field", name="modalities", data=wire.modalities)
            )
        if wire.logprobs:
            opaque_fields.append(
                OpaquePart(format=FORMAT, kind="field", name="logprobs", data=True)
            )
        extras = {k: v for k, v in document.items() if k not in _KNOWN_FIELDS}
        stream_options = dict(wire.stream_options or {})
        include_usage = bool(stream_options.pop("include_usage", False))
        if stream_options:
            extras["stream_options"] = stream_options
        tool_choice, choice_opaque = self._tool_choice_in(wire.tool_choice)
        if choice_opaque is not None:
            opaque_fields.append(choice_opaque)
        thinking = None
        if wire.reasoning_effort is not None:
            if wire.reasoning_effort not in _EFFORTS:
                raise invalid_request(
                    f"reasoning_effort must be one of {', '.join(sorted(_EFFORTS))}",
                    param="reasoning_effort",
                )
            thinking = Thinking(
                enabled=wire.reasoning_effort != "none", effort=wire.reasoning_effort
            )
        stop = wire.stop
        return ChatRequest(
            model=wire.model,
            messages=tuple(messages),
            system=tuple(system),
            tools=tuple(
                self._tool_in(tool, f"tools[{i}]") for i, tool in enumerate(wire.tools or ())
            ),
            tool_choice=tool_choice,
            parallel_tool_calls=wire.parallel_tool_calls,
            max_tokens=(
                wire.max_completion_tokens
                if wire.max_completion_tokens is not None
                else wire.max_tokens
            ),
            temperature=wire.temperature,
            top_p=wire.top_p,
            top_k=wire.top_k,
            stop=(stop,) if isinstance(stop, str) else tuple(stop or ()),
            stream=bool(wire.stream),
            include_usage=include_usage,
            thinking=thinking,
            user=wire.user,
            response_format=wire.response_format,
            opaque=tuple(opaque_fields),
            extras={FORMAT: extras} if extras else {},
        )

    def _system_in(self, content: str | list[dict[str, Any]] | None, path: str) -> list[TextPart]:
        if content is None:
            return []
        if isinstance(content, str):
            return [TextPart(content)]
        parts: list[TextPart] = []
        for j, raw in enumerate(content):
            if raw.get("type") != "text":
                raise invalid_request(
                    f"{path}.content[{j}].type must be text: system messages take text only",
                    param=f"{path}.content[{j}].type",
                )
            parts.append(TextPart(convert(raw, _WireText, f"{path}.content[{j}]").text))
        return parts

    def _part_in(self, raw: dict[str, Any], path: str) -> TextPart | ImagePart | OpaquePart:
        kind = raw.get("type")
        if kind == "text":
            return TextPart(convert(raw, _WireText, path).text)
        if kind == "image_url":
            image = convert(raw, _WireImage, path).image_url
            return _image_in(image.url, image.detail)
        if kind == "refusal":
            return TextPart(convert(raw, _WireRefusal, path).refusal)
        if not isinstance(kind, str):
            raise invalid_request(f"{path}.type is required", param=f"{path}.type")
        return OpaquePart(format=FORMAT, kind="part", name=kind, data=raw)

    def _user_content_in(
        self, content: str | list[dict[str, Any]] | None, path: str
    ) -> tuple[Part, ...]:
        if content is None:
            return ()
        if isinstance(content, str):
            return (TextPart(content),)
        return tuple(self._part_in(raw, f"{path}.content[{j}]") for j, raw in enumerate(content))

    def _tool_content_in(
        self, content: str | list[dict[str, Any]] | None, path: str
    ) -> tuple[TextPart | ImagePart | OpaquePart, ...]:
        if not content:
            return ()
        if isinstance(content, str):
            return (TextPart(content),)
        return tuple(self._part_in(raw, f"{path}.content[{j}]") for j, raw in enumerate(content))

    def _assistant_in(self, message: _WireMessage, path: str) -> tuple[Part, ...]:
        parts: list[Part] = []
        if message.reasoning_content:
            parts.append(ThinkingPart(text=message.reasoning_content))
        parts.extend(self._user_content_in(message.content, path))
        if message.refusal:
            parts.append(TextPart(message.refusal))
        for j, raw in enumerate(message.tool_calls or ()):
            parts.append(self._tool_call_in(raw, f"{path}.tool_calls[{j}]"))
        if message.function_call is not None:
            parts.append(
                OpaquePart(
                    format=FORMAT, kind="part", name="function_call", data=message.function_call
                )
            )
        return tuple(parts)

    def _tool_call_in(self, raw: dict[str, Any], path: str) -> ToolCallPart | OpaquePart:
        kind = raw.get("type", "function")
        if kind != "function":
            return OpaquePart(format=FORMAT, kind="part", name=f"tool_call:{kind}", data=raw)
        call = convert(raw, _WireToolCall, path)
        arguments, invalid = parse_tool_arguments(call.function.arguments or "")
        return ToolCallPart(
            id=call.id, name=call.function.name, arguments=arguments, raw_arguments=invalid
        )

    def _tool_in(self, raw: dict[str, Any], path: str) -> Tool | OpaquePart:
        kind = raw.get("type", "function")
        if kind != "function":
            return OpaquePart(format=FORMAT, kind="tool", name=str(kind), data=raw)
        spec = convert(raw, _WireTool, path).function
        return Tool(
            name=spec.name,
            description=spec.description,
            parameters=spec.parameters,
            strict=spec.strict,
        )

    def _tool_choice_in(
        self, choice: str | dict[str, Any] | None
    ) -> tuple[ToolChoice | None, OpaquePart | None]:
        if choice is None:
            return None, None
        if isinstance(choice, str):
            known = _TOOL_CHOICES.get(choice)
            if known is not None:
                return known, None
            raise invalid_request(
                "tool_choice must be auto, none, required or a named function",
                param="tool_choice",
            )
        if choice.get("type") == "function":
            named = convert(choice, _WireNamedChoice, "tool_choice")
            return ToolChoice("tool", named.function.name), None
        return None, OpaquePart(format=FORMAT, kind="field", name="tool_choice", data=choice)

    def to_wire_request(self, request: ChatRequest) -> dict[str, Any]:
        """Canonical request -> the OpenAI JSON document (raises UnsupportedContent)."""
        body: dict[str, Any] = dict(request.extras.get(FORMAT, {}))
        stream_options = body.pop("stream_options", None)
        body["model"] = request.model
        body["messages"] = self._messages_out(request)
        if request.tools:
            body["tools"] = [self._tool_out(tool) for tool in request.tools]
        if request.tool_choice is not None:
            choice = request.tool_choice
            body["tool_choice"] = (
                {"type": "function", "function": {"name": choice.name or ""}}
                if choice.mode == "tool"
                else choice.mode
            )
        if request.parallel_tool_calls is not None:
            body["parallel_tool_calls"] = request.parallel_tool_calls
        if request.max_tokens is not None:
            body[self.max_tokens_field] = request.max_tokens
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.top_p is not None:
            body["top_p"] = request.top_p
        if request.top_k is not None and self.send_top_k:
            body["top_k"] = request.top_k
        if request.stop:
            body["stop"] = list(request.stop)
        if request.stream:
            body["stream"] = True
            if request.include_usage or stream_options:
                body["stream_options"] = {
                    **(stream_options or {}),
                    "include_usage": request.include_usage,
                }
        effort = self._effort_out(request.thinking) if self.send_reasoning_effort else None
        if effort is not None:
            body["reasoning_effort"] = effort
        if request.user is not None:
            body["user"] = request.user
        if request.response_format is not None:
            body["response_format"] = request.response_format
        for field in request.opaque:
            if field.format != FORMAT:
                raise _opaque_unsupported(field)
            body[field.name] = field.data
        return body

    def encode_request(self, request: ChatRequest) -> bytes:
        return json_encode(self.to_wire_request(request))

    def _effort_out(self, thinking: Thinking | None) -> str | None:
        if thinking is None:
            return None
        if thinking.effort is not None:
            return thinking.effort
        if not thinking.enabled or thinking.budget_tokens is None:
            return None
        for effort in ("low", "medium", "high"):
            if thinking.budget_tokens <= self.effort_budgets.get(effort, 0):
                return effort
        return "high"

    def _messages_out(self, request: ChatRequest) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if request.system:
            out.append(
                {"role": "system", "content": _text_content([p.text for p in request.system])}
            )
        for message in request.messages:
            if message.role == "assistant":
                out.append(self._assistant_out(message.content))
                continue
            results = [p for p in message.content if isinstance(p, ToolResultPart)]
            others: list[Part] = [p for p in message.content if not isinstance(p, ToolResultPart)]
            if len(others) == 1 and isinstance(others[0], OpaquePart):
                opaque = others[0]
                if opaque.kind == "message":
                    if opaque.format != FORMAT:
                        raise _opaque_unsupported(opaque)
                    out.append(opaque.data)
                    continue
            hoisted: list[Part] = []
            for result in results:
                out.append(self._tool_result_out(result, hoisted))
            others = hoisted + others
            if others or not results:
                out.append({"role": "user", "content": self._user_content_out(others)})
        return out

    def _tool_result_out(self, result: ToolResultPart, hoisted: list[Part]) -> dict[str, Any]:
        texts: list[str] = []
        images: list[ImagePart] = []
        for part in result.content:
            if isinstance(part, TextPart):
                texts.append(part.text)
            elif isinstance(part, ImagePart):
                images.append(part)
            else:
                raise _opaque_unsupported(part)
        if images:
            # Tool messages take text only: the images follow in a user message.
            hoisted.append(TextPart(f"[images returned by tool call {result.tool_call_id}]"))
            hoisted.extend(images)
        content: str | list[dict[str, Any]] = _text_content(texts) if texts else ""
        return {"role": "tool", "tool_call_id": result.tool_call_id, "content": content}

    def _user_content_out(self, parts: list[Part]) -> str | list[dict[str, Any]]:
        if len(parts) == 1 and isinstance(parts[0], TextPart):
            return parts[0].text
        out: list[dict[str, Any]] = []
        for part in parts:
            if isinstance(part, TextPart):
                out.append({"type": "text", "text": part.text})
            elif isinstance(part, ImagePart):
                out.append(_image_out(part))
            elif isinstance(part, OpaquePart) and part.format == FORMAT and part.kind == "part":
                out.append(part.data)
            elif isinstance(part, OpaquePart):
                raise _opaque_unsupported(part)
            elif isinstance(part, ThinkingPart):
                raise _unsupported("thinking in a user message")
            else:
                raise _unsupported("a tool call in a user message")
        return out

    def _assistant_out(self, parts: tuple[Part, ...]) -> dict[str, Any]:
        texts: list[str] = []
        reasoning: list[str] = []
        calls: list[dict[str, Any]] = []
        message: dict[str, Any] = {"role": "assistant"}
        for part in parts:
            if isinstance(part, TextPart):
                texts.append(part.text)
            elif isinstance(part, ToolCallPart):
                calls.append(
                    {
                        "id": part.id,
                        "type": "function",
                        "function": {"name": part.name, "arguments": _arguments_out(part)},
                    }
                )
            elif isinstance(part, ThinkingPart):
                # Earlier reasoning is not content the model needs; sent only when configured.
                if not part.redacted and part.text:
                    reasoning.append(part.text)
            elif isinstance(part, OpaquePart) and part.format == FORMAT:
                if part.name == "function_call":
                    message["function_call"] = part.data
                else:
                    calls.append(part.data)
            elif isinstance(part, OpaquePart):
                raise _opaque_unsupported(part)
            elif isinstance(part, ImagePart):
                raise _unsupported("an image in an assistant message")
            else:
                raise _unsupported("a tool result in an assistant message")
        message["content"] = _text_content(texts) if texts else None
        if reasoning and self.reasoning_history:
            message["reasoning_content"] = "".join(reasoning)
        if calls:
            message["tool_calls"] = calls
        return message

    def _tool_out(self, tool: Tool | OpaquePart) -> dict[str, Any]:
        if isinstance(tool, OpaquePart):
            if tool.format != FORMAT:
                raise _opaque_unsupported(tool)
            return dict(tool.data)
        function: dict[str, Any] = {"name": tool.name}
        if tool.description is not None:
            function["description"] = tool.description
        if tool.parameters is not None:
            function["parameters"] = tool.parameters
        if tool.strict is not None:
            function["strict"] = tool.strict
        return {"type": "function", "function": function}

    # --- responses ----------------------------------------------------------------------------

    def decode_response(self, body: bytes) -> ChatResponse:
        try:
            wire = _decode_response_body(body)
        except msgspec.MsgspecError as exc:
            raise WireFormatError(f"not an OpenAI chat completion: {exc}") from None
        if not wire.choices:
            raise WireFormatError("OpenAI chat completion without choices")
        choice = wire.choices[0]
        message = choice.message
        parts: list[Part] = []
        reasoning = message.reasoning_content or _reasoning_text(message.reasoning)
        if reasoning:
            parts.append(ThinkingPart(text=reasoning))
        if isinstance(message.content, str):
            if message.content:
                parts.append(TextPart(message.content))
        elif message.content:
            for raw in message.content:
                if raw.get("type") == "text" and isinstance(raw.get("text"), str):
                    parts.append(TextPart(raw["text"]))
                elif raw.get("type") == "refusal" and isinstance(raw.get("refusal"), str):
                    parts.append(TextPart(raw["refusal"]))
        if message.refusal:
            parts.append(TextPart(message.refusal))
        has_calls = False
        for j, raw in enumerate(message.tool_calls or ()):
            try:
                call = self._tool_call_in(raw, f"choices[0].message.tool_calls[{j}]")
            except GatewayError as exc:
                raise WireFormatError(exc.message) from None
            has_calls = True
            parts.append(call)
        stop = stop_reason(choice.finish_reason)
        if has_calls and stop is StopReason.END_TURN:
            stop = StopReason.TOOL_USE
        return ChatResponse(
            id=wire.id,
            model=wire.model,
            content=tuple(parts),
            stop_reason=stop,
            usage=_usage_in(wire.usage) if wire.usage else CanonicalUsage(),
            created=wire.created,
        )

    def to_wire_response(
        self, response: ChatResponse, *, created: int | None = None
    ) -> dict[str, Any]:
        texts: list[str] = []
        reasoning: list[str] = []
        calls: list[dict[str, Any]] = []
        for part in response.content:
            if isinstance(part, TextPart):
                texts.append(part.text)
            elif isinstance(part, ToolCallPart):
                calls.append(
                    {
                        "id": part.id,
                        "type": "function",
                        "function": {"name": part.name, "arguments": _arguments_out(part)},
                    }
                )
            elif isinstance(part, ThinkingPart):
                if part.text:
                    reasoning.append(part.text)
            elif isinstance(part, OpaquePart):
                if part.format != FORMAT:
                    raise _opaque_unsupported(part)
                calls.append(part.data)
            elif isinstance(part, ImagePart):
                raise _unsupported("an image in an assistant answer")
            else:
                raise _unsupported("a tool result in an assistant answer")
        message: dict[str, Any] = {
            "role": "assistant",
            "content": "".join(texts) if texts else None,
        }
        if reasoning:
            message["reasoning_content"] = "".join(reasoning)
        if calls:
            message["tool_calls"] = calls
        return {
            "id": response.id,
            "object": "chat.completion",
            "created": created if created is not None else response.created or 0,
            "model": response.model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": finish_reason(response.stop_reason),
                }
            ],
            "usage": _usage_out(response.usage),
        }

    def encode_response(self, response: ChatResponse, *, created: int | None = None) -> bytes:
        """`created` (unix seconds) when the response came from a format without one."""
        return json_encode(self.to_wire_response(response, created=created))

    # --- streams ------------------------------------------------------------------------------

    def stream_decoder(self) -> OpenAIStreamDecoder:
        return OpenAIStreamDecoder()

    def stream_encoder(
        self, *, include_usage: bool = False, created: int = 0, model: str | None = None
    ) -> OpenAIStreamEncoder:
        return OpenAIStreamEncoder(include_usage=include_usage, created=created, model=model)

    # --- errors -------------------------------------------------------------------------------

    def decode_error(self, status: int, body: bytes) -> ApiError:
        """An upstream error answer (any shape) -> ApiError; the type follows the status."""
        message, code, param = "", None, None
        try:
            wire = _decode_error_body(body)
        except msgspec.MsgspecError:
            message = body.decode("utf-8", "replace")[:2000]
        else:
            if isinstance(wire.error, _WireErrorObject):
                message = _error_message(wire.error.message) if wire.error.message else ""
                code = str(wire.error.code) if wire.error.code is not None else None
                param = wire.error.param if isinstance(wire.error.param, str) else None
            elif isinstance(wire.error, str):
                message = wire.error
            elif wire.message is not None:
                message = _error_message(wire.message)
        return ApiError(
            status=status,
            type=error_type_for_status(status),
            message=message or f"upstream answered HTTP {status}",
            code=code,
            param=param,
        )

    def encode_error(self, error: ApiError) -> bytes:
        code = error.code
        if code is None and error.type is ErrorType.NOT_FOUND:
            code = "model_not_found"
        return error_body(
            error.message, type=_ERROR_TYPES[error.type], code=code, param=error.param
        )

    def encode_stream_error(self, error: StreamError) -> bytes:
        return (
            frame(error_body(error.message, type=_ERROR_TYPES[error.type], code=None)) + DONE_FRAME
        )


def _stream_error_in(error: _WireErrorObject) -> StreamError:
    kind = error.type if isinstance(error.type, str) else ""
    message = _error_message(error.message) if error.message else "upstream stream error"
    return StreamError(_ERROR_TYPES_IN.get(kind, ErrorType.API_ERROR), message)


class OpenAIStreamDecoder(SSEStreamDecoder):
    """OpenAI `chat.completion.chunk` SSE bytes -> canonical events.

    Opens one block per kind change (reasoning -> thinking, content -> text, each tool call ->
    tool_use), holds the finish reason until the usage chunk (or `[DONE]`) so that
    `MessageDelta` carries both, and synthesises missing tool-call ids.
    """

    __slots__ = (
        "_delta_sent",
        "_done",
        "_finish",
        "_id",
        "_next_index",
        "_open",
        "_open_kind",
        "_started",
        "_tools",
        "_usage",
    )

    def __init__(self) -> None:
        super().__init__()
        self._started = False
        self._done = False
        self._id = ""
        self._next_index = 0
        self._open: int | None = None
        self._open_kind: BlockKind | None = None
        self._tools: dict[int, int] = {}  # OpenAI tool-call index -> block index
        self._finish: StopReason | None = None
        self._usage: CanonicalUsage | None = None
        self._delta_sent = False

    @property
    def done(self) -> bool:
        return self._done

    def _end_of_stream(self, events: list[StreamEvent]) -> None:
        if not self._done:
            if self._finish is not None:
                self._end(events)
            else:
                self._done = True
                events.append(StreamError(ErrorType.API_ERROR, ENDED_EARLY))

    def _event(self, sse: SSEEvent, events: list[StreamEvent]) -> None:
        if self._done:
            return
        if sse.is_done:
            self._end(events)
            return
        try:
            chunk = _decode_chunk(sse.data)
        except msgspec.MsgspecError as exc:
            raise WireFormatError(f"malformed OpenAI stream chunk: {exc}") from None
        if chunk.error is not None:
            self._done = True
            events.append(_stream_error_in(chunk.error))
            return
        if not self._started:
            self._started = True
            self._id = chunk.id
            events.append(MessageStart(id=chunk.id, model=chunk.model))
        for choice in chunk.choices or ():
            if choice.index != 0:
                continue
            delta = choice.delta
            if delta is not None:
                reasoning = delta.reasoning_content or _reasoning_text(delta.reasoning)
                if reasoning:
                    self._ensure(BlockKind.THINKING, events)
                    events.append(ThinkingDelta(self._index(), reasoning))
                if delta.content:
                    self._ensure(BlockKind.TEXT, events)
                    events.append(TextDelta(self._index(), delta.content))
                if delta.refusal:
                    self._ensure(BlockKind.TEXT, events)
                    events.append(TextDelta(self._index(), delta.refusal))
                if delta.tool_calls:
                    for position, call in enumerate(delta.tool_calls):
                        self._tool_delta(call, position, events)
            if choice.finish_reason is not None:
                self._close(events)
                stop = stop_reason(choice.finish_reason)
                if self._tools and stop is StopReason.END_TURN:
                    stop = StopReason.TOOL_USE
                self._finish = stop
        if chunk.usage is not None:
            self._usage = _usage_in(chunk.usage)
            if self._finish is not None and not self._delta_sent:
                self._delta_sent = True
                events.append(MessageDelta(stop_reason=self._finish, usage=self._usage))

    def _index(self) -> int:
        assert self._open is not None
        return self._open

    def _tool_delta(self, call: _ChunkToolCall, position: int, events: list[StreamEvent]) -> None:
        key = call.index if call.index is not None else position
        function = call.function or _ChunkFunction()
        index = self._tools.get(key)
        if index is None:
            self._close(events)
            index = self._next_index
            self._next_index += 1
            self._tools[key] = index
            self._open, self._open_kind = index, BlockKind.TOOL_USE
            call_id = call.id or f"call_{self._id or 'gateway'}_{key}"
            events.append(
                BlockStart(
                    index=index, kind=BlockKind.TOOL_USE, id=call_id, name=function.name or ""
                )
            )
        if function.arguments:
            events.append(ToolArgumentsDelta(index, function.arguments))

    def _ensure(self, kind: BlockKind, events: list[StreamEvent]) -> None:
        if self._open_kind is kind:
            return
        self._close(events)
        self._open, self._open_kind = self._next_index, kind
        self._next_index += 1
        events.append(BlockStart(index=self._open, kind=kind))

    def _close(self, events: list[StreamEvent]) -> None:
        if self._open is not None:
            events.append(BlockStop(self._open))
            self._open = self._open_kind = None

    def _end(self, events: list[StreamEvent]) -> None:
        self._done = True
        if not self._started:
            self._started = True
            events.append(MessageStart(id="", model=""))
        self._close(events)
        if not self._delta_sent:
            self._delta_sent = True
            stop = self._finish
            if stop is None:
                stop = StopReason.TOOL_USE if self._tools else StopReason.END_TURN
            events.append(MessageDelta(stop_reason=stop, usage=self._usage))
        events.append(MessageStop())


_CHUNK_TAIL = b',"logprobs":null,"finish_reason":null}]'


class OpenAIStreamEncoder:
    """Canonical events -> `chat.completion.chunk` SSE bytes.

    Every chunk carries the stream's id/created/model; the first delta has the role; each tool
    call gets its own OpenAI index and a first delta with id/type/name and `arguments: ""`; the
    finish reason is held until the end so the final chunk, the usage chunk (when
    `include_usage`) and `[DONE]` go out together. `model` overrides the upstream's name.
    """

    __slots__ = (
        "_created",
        "_done",
        "_include_usage",
        "_model",
        "_next_tool",
        "_prefix",
        "_stop",
        "_suffix",
        "_tools",
        "_usage",
    )

    def __init__(
        self, *, include_usage: bool = False, created: int = 0, model: str | None = None
    ) -> None:
        self._include_usage = include_usage
        self._created = created
        self._model = model
        self._prefix: bytes | None = None
        self._suffix = b',"usage":null}\n\n' if include_usage else b"}\n\n"
        self._tools: dict[int, int] = {}  # block index -> OpenAI tool-call index
        self._next_tool = 0
        self._stop: StopReason | None = None
        self._usage: CanonicalUsage | None = None
        self._done = False

    @property
    def done(self) -> bool:
        return self._done

    def encode_all(self, events: Iterable[StreamEvent]) -> bytes:
        return b"".join([self.encode(event) for event in events])

    def encode(self, event: StreamEvent) -> bytes:
        if self._done:
            return b""
        if isinstance(event, TextDelta):
            return self._chunk(b'{"content":' + json_encode(event.text) + b"}")
        if isinstance(event, ToolArgumentsDelta):
            tool = self._tools.get(event.index)
            if tool is None or not event.partial_json:
                return b""
            return self._chunk(
                b'{"tool_calls":[{"index":%d,"function":{"arguments":' % tool
                + json_encode(event.partial_json)
                + b"}}]}"
            )
        if isinstance(event, ThinkingDelta):
            return self._chunk(b'{"reasoning_content":' + json_encode(event.text) + b"}")
        if isinstance(event, BlockStart):
            return self._block_start(event)
        if isinstance(event, MessageStart):
            if self._prefix is not None:
                return b""  # a second message_start (e.g. after a failover) is not repeated
            self._start(event.id, event.model)
            if event.usage is not None:
                self._usage = event.usage
            return self._chunk(b'{"role":"assistant","content":""}')
        if isinstance(event, MessageDelta):
            self._stop = event.stop_reason
            if event.usage is not None:
                self._usage = event.usage
            return b""
        if isinstance(event, MessageStop):
            return self._finish()
        if isinstance(event, StreamError):
            self._done = True
            return (
                self._ensure_started()
                + frame(error_body(event.message, type=_ERROR_TYPES[event.type], code=None))
                + DONE_FRAME
            )
        return b""  # SignatureDelta, BlockStop, Ping: nothing to show

    def _block_start(self, event: BlockStart) -> bytes:
        if event.kind is BlockKind.TOOL_USE:
            tool = self._tools[event.index] = self._next_tool
            self._next_tool += 1
            first = {
                "index": tool,
                "id": event.id or "",
                "type": "function",
                "function": {"name": event.name or "", "arguments": ""},
            }
            return self._chunk(b'{"tool_calls":[' + json_encode(first) + b"]}")
        if event.kind is BlockKind.OPAQUE:
            raise _unsupported(f"{_format_title(event.format or '')} block `{event.name}`")
        return self._ensure_started()

    def _start(self, id_: str, model: str) -> None:
        self._prefix = (
            b'data: {"id":'
            + json_encode(id_)
            + b',"object":"chat.completion.chunk","created":%d,"model":' % self._created
            + json_encode(self._model or model)
            + b',"choices":[{"index":0,"delta":'
        )

    def _ensure_started(self) -> bytes:
        if self._prefix is not None:
            return b""
        self._start("chatcmpl-gateway", self._model or "")
        return self._chunk(b'{"role":"assistant","content":""}')

    def _chunk(self, delta: bytes) -> bytes:
        opening = self._ensure_started() if self._prefix is None else b""
        assert self._prefix is not None
        return opening + self._prefix + delta + _CHUNK_TAIL + self._suffix

    def _finish(self) -> bytes:
        self._done = True
        head = self._ensure_started()
        assert self._prefix is not None
        stop = self._stop or (StopReason.TOOL_USE if self._tools else StopReason.END_TURN)
        reason = json_encode(_STOP_TO_FINISH[stop])
        out = (
            head
            + self._prefix
            + b'{},"logprobs":null,"finish_reason":'
            + reason
            + b"}]"
            + self._suffix
        )
        if self._include_usage:
            usage = json_encode(_usage_out(self._usage or CanonicalUsage()))
            out += self._prefix[: -len(b'[{"index":0,"delta":')] + b'[],"usage":' + usage + b"}\n\n"
        return out + DONE_FRAME
