"""Gemini generateContent (`POST .../models/<model>:generateContent`) <-> canonical model.

Requests, responses, `?alt=sse` streams (both directions) and `google.rpc.Status` errors, in
Gemini's shapes. Rules where Gemini differs from the canonical model:

- The model is part of the URL, not the body: `decode_request(body, model=...)` takes it, and
  `encode_request` does not write it (the upstream adapter puts it in the URL or envelope).
  Streaming is chosen by the method too: decoded requests have `stream=False`.
- A `thoughtSignature` on a non-thought part (a function call, a text) decodes to a separate
  `ThinkingPart(text="", signature=...)` placed just before that part; encoding puts such a
  signature-only thinking part back on the part that follows it. Other formats then carry the
  signature as an (empty) signed thinking block, and it reaches Gemini again on its call.
- Tool calls without an id get `call_<n>`, `n` counting the calls of the conversation (or of
  the answer) from 0, so the same body always gets the same ids; a function response without
  an id takes the id of the earliest unanswered call of the same name.
- A tool result is `functionResponse{id, name, response}`, `name` looked up from the call with
  that id; its text is `response.result` (`response.error` when `is_error`).
- Consecutive turns of one role are merged; a conversation that starts with a model turn gets
  a user turn holding `LEADING_USER_TEXT` in front (Gemini requires a user turn first).
- Tool schemas are cleaned to the subset Gemini accepts (`clean_schema`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

import msgspec

from aigateway.adapters.codecs.base import (
    DEFAULT_EFFORT_BUDGETS,
    WireFormatError,
    convert,
    decode_body,
    json_encode,
)
from aigateway.adapters.codecs.sse import ENDED_EARLY, SSEEvent, SSEStreamDecoder, frame
from aigateway.application.errors import GatewayError, invalid_request
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
    SignatureDelta,
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
    ToolResultContent,
    ToolResultPart,
    UnsupportedContent,
    Usage,
    WireFormat,
    error_type_for_status,
    parse_tool_arguments,
)

FORMAT = WireFormat.GEMINI
TITLE = "Gemini generateContent"
LEADING_USER_TEXT = "(continued)"

_KNOWN_FIELDS = frozenset(
    {"model", "contents", "systemInstruction", "tools", "toolConfig", "generationConfig"}
)
_KNOWN_GENERATION = frozenset(
    {
        "maxOutputTokens",
        "temperature",
        "topP",
        "topK",
        "stopSequences",
        "thinkingConfig",
        "responseMimeType",
    }
)

_FINISH_IN = {
    "STOP": StopReason.END_TURN,
    "MAX_TOKENS": StopReason.MAX_TOKENS,
    "SAFETY": StopReason.CONTENT_FILTER,
    "RECITATION": StopReason.CONTENT_FILTER,
    "BLOCKLIST": StopReason.CONTENT_FILTER,
    "PROHIBITED_CONTENT": StopReason.CONTENT_FILTER,
    "SPII": StopReason.CONTENT_FILTER,
    "OTHER": StopReason.CONTENT_FILTER,
    "IMAGE_SAFETY": StopReason.CONTENT_FILTER,
    "LANGUAGE": StopReason.CONTENT_FILTER,
}
_FINISH_OUT = {
    StopReason.END_TURN: "STOP",
    StopReason.MAX_TOKENS: "MAX_TOKENS",
    StopReason.STOP_SEQUENCE: "STOP",
    StopReason.TOOL_USE: "STOP",
    StopReason.CONTENT_FILTER: "SAFETY",
    StopReason.PAUSE_TURN: "STOP",
    StopReason.OTHER: "OTHER",
}
_STATUS_NAMES = {
    ErrorType.INVALID_REQUEST: "INVALID_ARGUMENT",
    ErrorType.AUTHENTICATION: "UNAUTHENTICATED",
    ErrorType.PERMISSION: "PERMISSION_DENIED",
    ErrorType.NOT_FOUND: "NOT_FOUND",
    ErrorType.REQUEST_TOO_LARGE: "INVALID_ARGUMENT",
    ErrorType.RATE_LIMIT: "RESOURCE_EXHAUSTED",
    ErrorType.API_ERROR: "INTERNAL",
    ErrorType.OVERLOADED: "UNAVAILABLE",
    ErrorType.TIMEOUT: "DEADLINE_EXCEEDED",
}
_STATUS_TYPES = {
    "INVALID_ARGUMENT": ErrorType.INVALID_REQUEST,
    "FAILED_PRECONDITION": ErrorType.INVALID_REQUEST,
    "UNAUTHENTICATED": ErrorType.AUTHENTICATION,
    "PERMISSION_DENIED": ErrorType.PERMISSION,
    "NOT_FOUND": ErrorType.NOT_FOUND,
    "RESOURCE_EXHAUSTED": ErrorType.RATE_LIMIT,
    "INTERNAL": ErrorType.API_ERROR,
    "UNAVAILABLE": ErrorType.OVERLOADED,
    "DEADLINE_EXCEEDED": ErrorType.TIMEOUT,
}


def finish_reason(value: str | None, *, has_calls: bool) -> StopReason | None:
    """A Gemini finishReason -> canonical; an answer with a function call is a tool use."""
    if value is None:
        return StopReason.TOOL_USE if has_calls else None
    stop = _FINISH_IN.get(value, StopReason.OTHER)
    return StopReason.TOOL_USE if has_calls and stop is StopReason.END_TURN else stop


def finish_reason_out(stop: StopReason | None) -> str:
    return "STOP" if stop is None else _FINISH_OUT[stop]


def _unsupported(what: str) -> UnsupportedContent:
    return UnsupportedContent(what, TITLE)


def _opaque_unsupported(part: OpaquePart) -> UnsupportedContent:
    return _unsupported(f"{part.format} {part.kind} `{part.name}`")


# --- wire types -------------------------------------------------------------------------------


class _WireContent(msgspec.Struct):
    parts: list[dict[str, Any]] = msgspec.field(default_factory=list)
    role: str | None = None


class _WireDeclaration(msgspec.Struct):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None


class _WireCallingConfig(msgspec.Struct):
    mode: str | None = None
    allowedFunctionNames: list[str] | None = None


class _WireToolConfig(msgspec.Struct):
    functionCallingConfig: _WireCallingConfig | None = None


class _WireThinkingConfig(msgspec.Struct):
    includeThoughts: bool | None = None
    thinkingBudget: int | None = None
    thinkingLevel: str | None = None


class _WireGeneration(msgspec.Struct):
    maxOutputTokens: int | None = None
    temperature: float | None = None
    topP: float | None = None
    topK: int | None = None
    stopSequences: list[str] | None = None
    thinkingConfig: _WireThinkingConfig | None = None
    responseMimeType: str | None = None


class _WireRequest(msgspec.Struct):
    contents: list[_WireContent]
    model: str | None = None
    systemInstruction: _WireContent | None = None
    tools: list[dict[str, Any]] | None = None
    toolConfig: _WireToolConfig | None = None
    generationConfig: _WireGeneration | None = None


class _WireInlineData(msgspec.Struct):
    mimeType: str
    data: str


class _WireFileData(msgspec.Struct):
    fileUri: str
    mimeType: str | None = None


class _WireFunctionCall(msgspec.Struct):
    name: str
    args: Any = None
    id: str | None = None


class _WireFunctionResponse(msgspec.Struct):
    name: str = ""
    response: Any = None
    id: str | None = None


class _WireUsage(msgspec.Struct):
    promptTokenCount: int | None = None
    candidatesTokenCount: int | None = None
    thoughtsTokenCount: int | None = None
    cachedContentTokenCount: int | None = None


class _WireCandidate(msgspec.Struct):
    content: _WireContent | None = None
    finishReason: str | None = None


class _WireStatus(msgspec.Struct):
    code: Any = None
    message: Any = None
    status: Any = None


class _WireResponse(msgspec.Struct):
    candidates: list[_WireCandidate] = msgspec.field(default_factory=list)
    usageMetadata: _WireUsage | None = None
    modelVersion: str | None = None
    responseId: str | None = None
    error: _WireStatus | None = None
    response: _WireResponse | None = None  # the Antigravity envelope


class _WireErrorBody(msgspec.Struct):
    error: _WireStatus | str | None = None


_decode_response_body = msgspec.json.Decoder(_WireResponse).decode


def _decode_answer(body: bytes) -> _WireResponse:
    """Antigravity wraps each answer as `{"response": {...}, "traceId": ...}`: unwrapped."""
    found = _decode_response_body(body)
    return found.response if found.response is not None else found


def _decode_json(body: bytes) -> Any:
    return msgspec.json.decode(body)


# --- helpers ----------------------------------------------------------------------------------


def _usage_in(wire: _WireUsage) -> Usage:
    prompt = wire.promptTokenCount or 0
    cached = wire.cachedContentTokenCount
    thoughts = wire.thoughtsTokenCount
    return Usage(
        input_tokens=max(prompt - (cached or 0), 0),
        output_tokens=(wire.candidatesTokenCount or 0) + (thoughts or 0),
        cache_read_tokens=cached,
        reasoning_tokens=thoughts,
    )


def _usage_out(usage: Usage) -> dict[str, Any]:
    prompt = usage.prompt_tokens
    out: dict[str, Any] = {
        "promptTokenCount": prompt,
        "candidatesTokenCount": max(usage.output_tokens - (usage.reasoning_tokens or 0), 0),
        "totalTokenCount": prompt + usage.output_tokens,
    }
    if usage.reasoning_tokens is not None:
        out["thoughtsTokenCount"] = usage.reasoning_tokens
    if usage.cache_read_tokens is not None:
        out["cachedContentTokenCount"] = usage.cache_read_tokens
    return out


def _error_message(value: Any) -> str:
    return value if isinstance(value, str) else json_encode(value).decode()


def _call_id(given: str | None, counter: list[int]) -> str:
    index = counter[0]
    counter[0] += 1
    return given if given else f"call_{index}"


# --- tool schemas -----------------------------------------------------------------------------

_SCHEMA_KEYS = frozenset(
    {
        "type",
        "format",
        "description",
        "nullable",
        "enum",
        "properties",
        "required",
        "items",
        "minItems",
        "maxItems",
        "minimum",
        "maximum",
        "minLength",
        "maxLength",
        "pattern",
        "anyOf",
        "propertyOrdering",
    }
)
_MAX_REF_DEPTH = 16


def clean_schema(schema: Any) -> Any:
    """A JSON schema -> the subset Gemini's `Schema` accepts: `$ref`s inlined (from `$defs` /
    `definitions`), `allOf` merged, a null branch of `anyOf`/`oneOf` (or of a type list) made
    `nullable`, a single remaining branch collapsed, `const` -> `enum`, enum values as strings,
    and every other keyword (`$schema`, `additionalProperties`, `default`, `examples`,
    `title`, `x-*`, `if/then/else`, `not`, ...) dropped."""
    if not isinstance(schema, dict):
        return schema
    definitions: dict[str, Any] = {}
    for key in ("$defs", "definitions"):
        found = schema.get(key)
        if isinstance(found, dict):
            definitions.update(found)
    return _clean(schema, definitions, 0)


def _resolve(node: dict[str, Any], definitions: dict[str, Any], depth: int) -> dict[str, Any]:
    ref = node.get("$ref")
    if not isinstance(ref, str) or depth > _MAX_REF_DEPTH:
        return node
    target = definitions.get(ref.rsplit("/", 1)[-1])
    if not isinstance(target, dict):
        return {k: v for k, v in node.items() if k != "$ref"}
    merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return _resolve(merged, definitions, depth + 1)


def _clean(node: Any, definitions: dict[str, Any], depth: int) -> Any:
    if not isinstance(node, dict):
        return node
    node = _resolve(node, definitions, depth)
    node = dict(node)
    for branch in node.pop("allOf", None) or ():
        if isinstance(branch, dict):
            branch = _resolve(branch, definitions, depth + 1)
            for key, value in branch.items():
                if key == "properties" and isinstance(value, dict):
                    node["properties"] = {**node.get("properties", {}), **value}
                elif key == "required" and isinstance(value, list):
                    node["required"] = [*node.get("required", []), *value]
                else:
                    node.setdefault(key, value)
    out: dict[str, Any] = {}
    branches = node.pop("anyOf", None) or node.pop("oneOf", None)
    if isinstance(branches, list):
        kept = [b for b in branches if not (isinstance(b, dict) and b.get("type") == "null")]
        if len(kept) < len(branches):
            out["nullable"] = True
        if len(kept) == 1 and isinstance(kept[0], dict):
            single = _clean(kept[0], definitions, depth + 1)
            for key, value in single.items():
                node.setdefault(key, value)
        elif kept:
            out["anyOf"] = [_clean(b, definitions, depth + 1) for b in kept]
    kind = node.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        if len(kinds) < len(kind):
            out["nullable"] = True
        node["type"] = kinds[0] if kinds else "string"
    if "const" in node:
        node["enum"] = [node.pop("const")]
    for key, value in node.items():
        if key not in _SCHEMA_KEYS:
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _clean(sub, definitions, depth + 1) for name, sub in value.items()}
        elif key == "items":
            out[key] = _clean(value, definitions, depth + 1)
        elif key == "enum" and isinstance(value, list):
            out[key] = [v if isinstance(v, str) else json_encode(v).decode() for v in value]
        elif key == "anyOf" and isinstance(value, list):
            out[key] = [_clean(b, definitions, depth + 1) for b in value]
        else:
            out[key] = value
    if "enum" in out and "type" not in out:
        out["type"] = "string"
    return out


# --- decoding parts ---------------------------------------------------------------------------


class _Ids:
    """Tool-call ids of one conversation: synthesised when missing, matched to responses."""

    __slots__ = ("counter", "names", "pending")

    def __init__(self) -> None:
        self.counter = [0]
        self.names: dict[str, str] = {}  # id -> function name
        self.pending: list[tuple[str, str]] = []  # (id, name) of calls not answered yet

    def call(self, given: str | None, name: str) -> str:
        call_id = _call_id(given, self.counter)
        self.names[call_id] = name
        self.pending.append((call_id, name))
        return call_id

    def response(self, given: str | None, name: str) -> str:
        if given:
            self.pending = [p for p in self.pending if p[0] != given]
            return given
        for k, (call_id, called) in enumerate(self.pending):
            if called == name:
                del self.pending[k]
                return call_id
        if self.pending:
            return self.pending.pop(0)[0]
        return _call_id(None, self.counter)


def _signature(raw: dict[str, Any], path: str) -> str | None:
    signature = raw.get("thoughtSignature")
    if signature is None:
        return None
    if not isinstance(signature, str):
        raise invalid_request(f"{path}.thoughtSignature must be a string", param=path)
    return signature


def _result_content_in(response: Any) -> tuple[tuple[ToolResultContent, ...], bool]:
    if isinstance(response, dict) and len(response) == 1:
        ((key, value),) = response.items()
        if key in ("result", "error") and isinstance(value, str):
            return ((TextPart(value),) if value else ()), key == "error"
    if response is None or response == {}:
        return (), False
    return (TextPart(json_encode(response).decode()),), False


def _parts_in(raw_parts: list[dict[str, Any]], path: str, ids: _Ids) -> list[Part]:
    parts: list[Part] = []
    for k, raw in enumerate(raw_parts):
        where = f"{path}[{k}]"
        if not isinstance(raw, dict):
            raise invalid_request(f"{where} must be an object", param=where)
        signature = _signature(raw, where)
        if raw.get("thought") is True:
            text = raw.get("text", "")
            if not isinstance(text, str):
                raise invalid_request(f"{where}.text must be a string", param=f"{where}.text")
            parts.append(ThinkingPart(text=text, signature=signature))
            continue
        if signature is not None:
            parts.append(ThinkingPart(signature=signature))
        parts.append(_part_in(raw, where, ids))
    return parts


def _part_in(raw: dict[str, Any], path: str, ids: _Ids) -> Part:
    if "text" in raw:
        text = raw["text"]
        if not isinstance(text, str):
            raise invalid_request(f"{path}.text must be a string", param=f"{path}.text")
        return TextPart(text)
    if "inlineData" in raw:
        inline = convert(raw["inlineData"], _WireInlineData, f"{path}.inlineData")
        return ImagePart(media_type=inline.mimeType, data=inline.data)
    if "fileData" in raw:
        file = convert(raw["fileData"], _WireFileData, f"{path}.fileData")
        return ImagePart(media_type=file.mimeType, url=file.fileUri)
    if "functionCall" in raw:
        call = convert(raw["functionCall"], _WireFunctionCall, f"{path}.functionCall")
        return ToolCallPart(
            id=ids.call(call.id, call.name),
            name=call.name,
            arguments=call.args if call.args is not None else {},
        )
    if "functionResponse" in raw:
        answer = convert(raw["functionResponse"], _WireFunctionResponse, f"{path}.functionResponse")
        content, is_error = _result_content_in(answer.response)
        return ToolResultPart(
            tool_call_id=ids.response(answer.id, answer.name), content=content, is_error=is_error
        )
    name = next((key for key in raw if key != "thoughtSignature"), "part")
    return OpaquePart(format=FORMAT, kind="part", name=name, data=raw)


# --- encoding parts ---------------------------------------------------------------------------


def _image_out(part: ImagePart) -> dict[str, Any]:
    if part.data is not None:
        mime = part.media_type or "application/octet-stream"
        return {"inlineData": {"mimeType": mime, "data": part.data}}
    file: dict[str, Any] = {"fileUri": part.url or ""}
    if part.media_type is not None:
        file["mimeType"] = part.media_type
    return {"fileData": file}


def _result_out(part: ToolResultPart, name: str) -> list[dict[str, Any]]:
    """A tool result -> its functionResponse, then any images it holds as parts of their own
    (they follow the response in the same user turn; they come back as the user's images)."""
    texts: list[str] = []
    images: list[dict[str, Any]] = []
    for item in part.content:
        if isinstance(item, TextPart):
            texts.append(item.text)
        elif isinstance(item, ImagePart):
            images.append(_image_out(item))
        else:
            raise _opaque_unsupported(item)
    answer: dict[str, Any] = {"name": name, "response": {}}
    if part.tool_call_id:
        answer = {"id": part.tool_call_id, **answer}
    if texts or part.is_error:
        answer["response"] = {("error" if part.is_error else "result"): "\n".join(texts)}
    return [{"functionResponse": answer}, *images]


def _parts_out(
    parts: Iterable[Part], names: dict[str, str], *, request: bool
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    pending: str | None = None  # a signature-only thinking part: goes on the next part
    for part in parts:
        if isinstance(part, ThinkingPart):
            if part.redacted_data is not None:
                if request:
                    continue  # another model's encrypted reasoning cannot be sent to Gemini
                raise _unsupported("redacted thinking")
            if pending is not None:
                out.append({"text": "", "thought": True, "thoughtSignature": pending})
                pending = None
            if not part.text and part.signature:
                pending = part.signature
                continue
            thought: dict[str, Any] = {"text": part.text, "thought": True}
            if part.signature:
                thought["thoughtSignature"] = part.signature
            out.append(thought)
            continue
        wire: dict[str, Any]
        if isinstance(part, TextPart):
            wire = {"text": part.text}
        elif isinstance(part, ImagePart):
            wire = _image_out(part)
        elif isinstance(part, ToolCallPart):
            arguments = part.arguments if isinstance(part.arguments, dict) else {}
            wire = {"functionCall": {"id": part.id, "name": part.name, "args": arguments}}
            names[part.id] = part.name
        elif isinstance(part, ToolResultPart):
            if not request:
                raise _unsupported("a tool result in a model answer")
            wire, *images = _result_out(part, names.get(part.tool_call_id, part.tool_call_id))
            if pending is not None:
                wire["thoughtSignature"] = pending
                pending = None
            out += [wire, *images]
            continue
        elif part.format == FORMAT:
            wire = dict(part.data)
        else:
            raise _opaque_unsupported(part)
        if pending is not None:
            wire["thoughtSignature"] = pending
            pending = None
        out.append(wire)
    if pending is not None:
        out.append({"text": "", "thought": True, "thoughtSignature": pending})
    return out


class GeminiCodec:
    """Gemini generateContent <-> canonical model.

    `effort_budgets` turns an OpenAI `reasoning_effort` into a `thinkingBudget`.
    """

    title = TITLE

    def __init__(self, *, effort_budgets: Mapping[str, int] | None = None) -> None:
        self.effort_budgets = dict(effort_budgets or DEFAULT_EFFORT_BUDGETS)

    @property
    def format(self) -> WireFormat:
        return FORMAT

    # --- requests -----------------------------------------------------------------------------

    def decode_request(self, body: bytes, *, model: str = "") -> ChatRequest:
        """A client body -> canonical request; malformed or ill-typed bodies are 400s. `model`
        comes from the URL (a `model` field in the body, if any, is used when it is empty)."""
        document = decode_body(body)
        wire = convert(document, _WireRequest, None)
        if not wire.contents:
            raise invalid_request("contents must contain at least one content", param="contents")
        ids = _Ids()
        messages: list[Message] = []
        for i, content in enumerate(wire.contents):
            role: Literal["user", "assistant"] = "assistant" if content.role == "model" else "user"
            parts = tuple(_parts_in(content.parts, f"contents[{i}].parts", ids))
            messages.append(Message(role, parts))
        system: tuple[TextPart, ...] = ()
        if wire.systemInstruction is not None:
            texts: list[TextPart] = []
            for k, raw in enumerate(wire.systemInstruction.parts):
                text = raw.get("text") if isinstance(raw, dict) else None
                if not isinstance(text, str):
                    where = f"systemInstruction.parts[{k}].text"
                    raise invalid_request(f"{where} must be a string", param=where)
                texts.append(TextPart(text))
            system = tuple(texts)
        tools: list[Tool | OpaquePart] = []
        for k, raw in enumerate(wire.tools or ()):
            declarations = raw.get("functionDeclarations")
            if declarations is None:
                name = next(iter(raw), "tool")
                tools.append(OpaquePart(format=FORMAT, kind="tool", name=name, data=raw))
                continue
            found = convert(
                declarations, list[_WireDeclaration], f"tools[{k}].functionDeclarations"
            )
            tools += [
                Tool(name=d.name, description=d.description, parameters=d.parameters) for d in found
            ]
        generation = wire.generationConfig or _WireGeneration()
        extras = {key: value for key, value in document.items() if key not in _KNOWN_FIELDS}
        raw_generation = document.get("generationConfig")
        if isinstance(raw_generation, dict):
            unknown = {k: v for k, v in raw_generation.items() if k not in _KNOWN_GENERATION}
            if unknown:
                extras["generationConfig"] = unknown
        response_format = None
        if generation.responseMimeType == "application/json":
            response_format = {"type": "json_object"}
        elif generation.responseMimeType not in (None, "text/plain"):
            extras.setdefault("generationConfig", {})["responseMimeType"] = (
                generation.responseMimeType
            )
        return ChatRequest(
            model=model or wire.model or "",
            messages=tuple(messages),
            system=system,
            tools=tuple(tools),
            tool_choice=self._tool_choice_in(wire.toolConfig),
            max_tokens=generation.maxOutputTokens,
            temperature=generation.temperature,
            top_p=generation.topP,
            top_k=generation.topK,
            stop=tuple(generation.stopSequences or ()),
            thinking=self._thinking_in(generation.thinkingConfig),
            response_format=response_format,
            extras={FORMAT: extras} if extras else {},
        )

    @staticmethod
    def _tool_choice_in(config: _WireToolConfig | None) -> ToolChoice | None:
        calling = config.functionCallingConfig if config else None
        if calling is None or calling.mode is None:
            return None
        mode = calling.mode.upper()
        if mode == "NONE":
            return ToolChoice("none")
        if mode == "ANY":
            allowed = calling.allowedFunctionNames or []
            return ToolChoice("tool", allowed[0]) if len(allowed) == 1 else ToolChoice("required")
        return ToolChoice("auto")  # AUTO, VALIDATED, MODE_UNSPECIFIED

    @staticmethod
    def _thinking_in(config: _WireThinkingConfig | None) -> Thinking | None:
        if config is None:
            return None
        if config.thinkingLevel is not None:
            return Thinking(effort=config.thinkingLevel.lower())
        budget = config.thinkingBudget
        if budget == 0:
            return Thinking(enabled=False)
        if budget is None or budget < 0:
            return Thinking(enabled=True)
        return Thinking(budget_tokens=budget)

    def to_wire_request(self, request: ChatRequest) -> dict[str, Any]:
        """Canonical request -> the Gemini JSON document (raises UnsupportedContent)."""
        extras = dict(request.extras.get(FORMAT, {}))
        generation: dict[str, Any] = dict(extras.pop("generationConfig", None) or {})
        body: dict[str, Any] = extras
        names: dict[str, str] = {}
        contents: list[dict[str, Any]] = []
        for message in request.messages:
            parts = _parts_out(message.content, names, request=True)
            if len(parts) > 1:  # empty text parts are rejected next to other content
                parts = [p for p in parts if p.get("text") != "" or len(p) > 1]
            if not parts:
                continue
            role = "model" if message.role == "assistant" else "user"
            if contents and contents[-1]["role"] == role:
                contents[-1]["parts"] += parts
            else:
                contents.append({"role": role, "parts": parts})
        if contents and contents[0]["role"] != "user":
            contents.insert(0, {"role": "user", "parts": [{"text": LEADING_USER_TEXT}]})
        body["contents"] = contents
        if request.system:
            body["systemInstruction"] = {
                "role": "user",
                "parts": [{"text": part.text} for part in request.system],
            }
        if request.tools:
            declarations: list[dict[str, Any]] = []
            others: list[dict[str, Any]] = []
            for tool in request.tools:
                if isinstance(tool, OpaquePart):
                    if tool.format != FORMAT:
                        raise _opaque_unsupported(tool)
                    others.append(dict(tool.data))
                    continue
                declaration: dict[str, Any] = {"name": tool.name}
                if tool.description is not None:
                    declaration["description"] = tool.description
                if tool.parameters is not None:
                    declaration["parameters"] = clean_schema(tool.parameters)
                declarations.append(declaration)
            body["tools"] = ([{"functionDeclarations": declarations}] if declarations else []) + (
                others
            )
            choice = request.tool_choice
            if choice is not None:
                calling: dict[str, Any]
                if choice.mode == "tool":
                    calling = {"mode": "ANY", "allowedFunctionNames": [choice.name or ""]}
                else:
                    modes = {"auto": "AUTO", "none": "NONE", "required": "ANY"}
                    calling = {"mode": modes[choice.mode]}
                body["toolConfig"] = {"functionCallingConfig": calling}
        if request.max_tokens is not None:
            generation["maxOutputTokens"] = request.max_tokens
        if request.temperature is not None:
            generation["temperature"] = request.temperature
        if request.top_p is not None:
            generation["topP"] = request.top_p
        if request.top_k is not None:
            generation["topK"] = request.top_k
        if request.stop:
            generation["stopSequences"] = list(request.stop)
        thinking = self._thinking_out(request.thinking)
        if thinking is not None:
            generation["thinkingConfig"] = thinking
        response_format = request.response_format
        if response_format is not None:
            kind = response_format.get("type")
            if kind == "json_object":
                generation["responseMimeType"] = "application/json"
            elif kind != "text":
                raise _unsupported(f"response_format `{kind}`")
        if generation:
            body["generationConfig"] = generation
        for field in request.opaque:
            if field.format != FORMAT:
                raise _opaque_unsupported(field)
            body[field.name] = field.data
        return body

    def encode_request(self, request: ChatRequest) -> bytes:
        return json_encode(self.to_wire_request(request))

    def _thinking_out(self, thinking: Thinking | None) -> dict[str, Any] | None:
        if thinking is None:
            return None
        if not thinking.enabled:
            return {"includeThoughts": False, "thinkingBudget": 0}
        budget = thinking.budget_tokens
        if budget is None and thinking.effort is not None:
            found = self.effort_budgets.get(thinking.effort)
            if found is None:
                raise _unsupported(f"reasoning_effort `{thinking.effort}`")
            budget = found
        return {"includeThoughts": True, "thinkingBudget": -1 if budget is None else budget}

    # --- responses ----------------------------------------------------------------------------

    def decode_response(self, body: bytes) -> ChatResponse:
        try:
            wire = _decode_answer(body)
        except msgspec.MsgspecError as exc:
            raise WireFormatError(f"not a Gemini response: {exc}") from None
        candidate = wire.candidates[0] if wire.candidates else _WireCandidate()
        raw_parts = candidate.content.parts if candidate.content else []
        try:
            content = _parts_in(raw_parts, "candidates[0].content.parts", _Ids())
        except GatewayError as exc:  # a 400 about the upstream's body is not the client's
            raise WireFormatError(f"malformed Gemini part: {exc}") from None
        has_calls = any(isinstance(part, ToolCallPart) for part in content)
        return ChatResponse(
            id=wire.responseId or "",
            model=wire.modelVersion or "",
            content=tuple(content),
            stop_reason=finish_reason(candidate.finishReason, has_calls=has_calls),
            usage=_usage_in(wire.usageMetadata) if wire.usageMetadata else Usage(),
        )

    def to_wire_response(self, response: ChatResponse) -> dict[str, Any]:
        parts = _parts_out(response.content, {}, request=False)
        return {
            "candidates": [
                {
                    "content": {"role": "model", "parts": parts},
                    "finishReason": finish_reason_out(response.stop_reason),
                    "index": 0,
                }
            ],
            "usageMetadata": _usage_out(response.usage),
            "modelVersion": response.model,
            "responseId": response.id,
        }

    def encode_response(self, response: ChatResponse, *, created: int | None = None) -> bytes:
        return json_encode(self.to_wire_response(response))

    # --- streams ------------------------------------------------------------------------------

    def stream_decoder(self) -> GeminiStreamDecoder:
        return GeminiStreamDecoder()

    def stream_encoder(
        self, *, include_usage: bool = False, created: int = 0, model: str | None = None
    ) -> GeminiStreamEncoder:
        return GeminiStreamEncoder(model=model)

    # --- errors -------------------------------------------------------------------------------

    def decode_error(self, status: int, body: bytes) -> ApiError:
        message, code = "", None
        try:
            document = _decode_json(body)
            if isinstance(document, list) and document:  # some endpoints wrap it in a list
                document = document[0]
            wire = msgspec.convert(document, _WireErrorBody)
        except (msgspec.MsgspecError, TypeError):
            message = body.decode("utf-8", "replace")[:2000]
        else:
            if isinstance(wire.error, _WireStatus):
                message = _error_message(wire.error.message) if wire.error.message else ""
                code = wire.error.status if isinstance(wire.error.status, str) else None
            elif isinstance(wire.error, str):
                message = wire.error
        error_type = error_type_for_status(status)
        if status not in (400, 401, 403, 404, 408, 413, 429, 500, 503, 504) and code:
            error_type = _STATUS_TYPES.get(code, error_type)
        return ApiError(
            status=status,
            type=error_type,
            message=message or f"upstream answered HTTP {status}",
            code=code,
        )

    def encode_error(self, error: ApiError) -> bytes:
        return error_body(error.message, status=error.status, type=error.type)

    def encode_stream_error(self, error: StreamError) -> bytes:
        return frame(error_body(error.message, type=error.type))


def error_body(message: str, *, type: ErrorType, status: int | None = None) -> bytes:
    """A `google.rpc.Status`: `{"error":{"code":..., "message":..., "status":...}}`."""
    code = status if status is not None else _STATUS_CODES[type]
    return json_encode({"error": {"code": code, "message": message, "status": _STATUS_NAMES[type]}})


_STATUS_CODES = {
    ErrorType.INVALID_REQUEST: 400,
    ErrorType.AUTHENTICATION: 401,
    ErrorType.PERMISSION: 403,
    ErrorType.NOT_FOUND: 404,
    ErrorType.REQUEST_TOO_LARGE: 413,
    ErrorType.RATE_LIMIT: 429,
    ErrorType.API_ERROR: 500,
    ErrorType.OVERLOADED: 503,
    ErrorType.TIMEOUT: 504,
}


# --- streams ----------------------------------------------------------------------------------


class GeminiStreamDecoder(SSEStreamDecoder):
    """Gemini `?alt=sse` bytes -> canonical events. Blocks open and close as the part kind
    changes; each functionCall is a whole tool block; the finish reason and usage (which may
    come on separate last chunks) end the message at `finish()`."""

    __slots__ = (
        "_calls",
        "_counter",
        "_done",
        "_finish",
        "_index",
        "_open",
        "_started",
        "_usage",
    )

    def __init__(self) -> None:
        super().__init__()
        self._started = False
        self._done = False
        self._index = 0  # the next block index
        self._open: BlockKind | None = None  # kind of the open block (index `_index - 1`)
        self._counter = [0]
        self._calls = False
        self._finish: str | None = None
        self._usage: Usage | None = None

    @property
    def done(self) -> bool:
        return self._done

    def _end_of_stream(self, events: list[StreamEvent]) -> None:
        if self._done:
            return
        self._done = True
        self._close(events)
        if self._finish is None:
            message = ENDED_EARLY if self._started else "upstream stream was empty"
            events.append(StreamError(ErrorType.API_ERROR, message))
            return
        stop = finish_reason(self._finish, has_calls=self._calls)
        events.append(MessageDelta(stop_reason=stop, usage=self._usage))
        events.append(MessageStop())

    def _event(self, sse: SSEEvent, events: list[StreamEvent]) -> None:
        if self._done or not sse.data.strip() or sse.is_done:
            return
        try:
            wire = _decode_answer(sse.data)
        except msgspec.MsgspecError as exc:
            raise WireFormatError(f"malformed Gemini stream chunk: {exc}") from None
        if wire.error is not None:
            self._done = True
            code = wire.error.status if isinstance(wire.error.status, str) else ""
            message = _error_message(wire.error.message) if wire.error.message else ""
            events.append(
                StreamError(
                    _STATUS_TYPES.get(code, ErrorType.API_ERROR),
                    message or "upstream stream error",
                )
            )
            return
        if not self._started:
            self._started = True
            events.append(MessageStart(id=wire.responseId or "", model=wire.modelVersion or ""))
        if wire.usageMetadata is not None:
            self._usage = _usage_in(wire.usageMetadata)
        if not wire.candidates:
            return
        candidate = wire.candidates[0]
        if candidate.content is not None:
            for raw in candidate.content.parts:
                if isinstance(raw, dict):
                    self._part(raw, events)
        if candidate.finishReason is not None:
            self._finish = candidate.finishReason

    def _open_block(self, kind: BlockKind, events: list[StreamEvent], **fields: Any) -> int:
        self._close(events)
        index = self._index
        self._index += 1
        self._open = kind
        events.append(BlockStart(index=index, kind=kind, **fields))
        return index

    def _close(self, events: list[StreamEvent]) -> None:
        if self._open is not None:
            events.append(BlockStop(self._index - 1))
            self._open = None

    def _part(self, raw: dict[str, Any], events: list[StreamEvent]) -> None:
        signature = raw.get("thoughtSignature")
        signature = signature if isinstance(signature, str) and signature else None
        text = raw.get("text")
        if raw.get("thought") is True:
            if self._open is not BlockKind.THINKING:
                self._open_block(BlockKind.THINKING, events)
            index = self._index - 1
            if isinstance(text, str) and text:
                events.append(ThinkingDelta(index, text))
            if signature is not None:
                events.append(SignatureDelta(index, signature))
            return
        if signature is not None:  # a signature on a call or text: its own thinking block
            index = self._open_block(BlockKind.THINKING, events)
            events.append(SignatureDelta(index, signature))
        if isinstance(text, str):
            if not text and signature is None:
                return
            if self._open is not BlockKind.TEXT:
                self._open_block(BlockKind.TEXT, events)
            if text:
                events.append(TextDelta(self._index - 1, text))
            return
        call = raw.get("functionCall")
        if isinstance(call, dict):
            self._calls = True
            name = str(call.get("name") or "")
            given = call.get("id")
            call_id = _call_id(given if isinstance(given, str) else None, self._counter)
            index = self._open_block(BlockKind.TOOL_USE, events, id=call_id, name=name)
            args = call.get("args")
            events.append(
                ToolArgumentsDelta(index, json_encode(args if args is not None else {}).decode())
            )
            self._close(events)
            return
        name = next((key for key in raw if key != "thoughtSignature"), "part")
        data = {k: v for k, v in raw.items() if k != "thoughtSignature"}
        self._open_block(BlockKind.OPAQUE, events, name=name, data=data, format=FORMAT)
        self._close(events)


class GeminiStreamEncoder:
    """Canonical events -> Gemini `?alt=sse` chunks: a chunk per text or thought delta, a whole
    functionCall when its tool block stops, and a last chunk with finishReason and
    usageMetadata at the message stop. A signature-only thinking block rides on the next part."""

    __slots__ = (
        "_args",
        "_blocks",
        "_done",
        "_id",
        "_model",
        "_model_override",
        "_pending",
        "_stop",
        "_thought_text",
        "_usage",
    )

    def __init__(self, *, model: str | None = None) -> None:
        self._model_override = model
        self._model = ""
        self._id = ""
        self._done = False
        self._blocks: dict[int, BlockStart] = {}
        self._args: dict[int, list[str]] = {}
        self._thought_text: set[int] = set()  # thinking blocks that had text
        self._pending: str | None = None  # signature waiting for the next part
        self._stop: StopReason | None = None
        self._usage: Usage | None = None

    @property
    def done(self) -> bool:
        return self._done

    def encode_all(self, events: Iterable[StreamEvent]) -> bytes:
        return b"".join([self.encode(event) for event in events])

    def _chunk(
        self,
        parts: list[dict[str, Any]],
        finish: str | None = None,
        usage: Usage | None = None,
    ) -> bytes:
        if self._pending is not None and parts:
            parts[0] = {**parts[0], "thoughtSignature": self._pending}
            self._pending = None
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
        if finish is not None:
            candidate["finishReason"] = finish
        body: dict[str, Any] = {"candidates": [candidate]}
        if usage is not None:
            body["usageMetadata"] = _usage_out(usage)
        body["modelVersion"] = self._model_override or self._model
        body["responseId"] = self._id
        return frame(json_encode(body))

    def _flush_pending(self) -> bytes:
        if self._pending is None:
            return b""
        signature, self._pending = self._pending, None
        return self._chunk([{"text": "", "thought": True, "thoughtSignature": signature}])

    def encode(self, event: StreamEvent) -> bytes:
        if self._done:
            return b""
        if isinstance(event, TextDelta):
            return self._chunk([{"text": event.text}]) if event.text else b""
        if isinstance(event, ThinkingDelta):
            if not event.text:
                return b""
            self._thought_text.add(event.index)
            return self._flush_pending() + self._chunk([{"text": event.text, "thought": True}])
        if isinstance(event, SignatureDelta):
            out = self._flush_pending()
            if event.index in self._thought_text:
                part = {"text": "", "thought": True, "thoughtSignature": event.signature}
                return out + self._chunk([part])
            self._pending = event.signature
            return out
        if isinstance(event, ToolArgumentsDelta):
            self._args.setdefault(event.index, []).append(event.partial_json)
            return b""
        if isinstance(event, BlockStart):
            self._blocks[event.index] = event
            if event.kind is BlockKind.OPAQUE:
                if event.format != FORMAT or not isinstance(event.data, dict):
                    raise _unsupported(f"{event.format} block `{event.name}`")
                return self._chunk([dict(event.data)])
            return b""
        if isinstance(event, BlockStop):
            start = self._blocks.get(event.index)
            if start is None or start.kind is not BlockKind.TOOL_USE:
                return b""
            arguments, _ = parse_tool_arguments("".join(self._args.pop(event.index, [])))
            call = {
                "id": start.id or "",
                "name": start.name or "",
                "args": arguments if isinstance(arguments, dict) else {},
            }
            return self._chunk([{"functionCall": call}])
        if isinstance(event, MessageStart):
            self._id, self._model = event.id, event.model
            if event.usage is not None:
                self._usage = event.usage
            return b""
        if isinstance(event, MessageDelta):
            self._stop = event.stop_reason
            if event.usage is not None:
                self._usage = event.usage
            return b""
        if isinstance(event, MessageStop):
            self._done = True
            parts: list[dict[str, Any]] = []
            if self._pending is not None:
                parts.append({"text": "", "thought": True, "thoughtSignature": self._pending})
                self._pending = None
            return self._chunk(parts, finish_reason_out(self._stop), self._usage or Usage())
        if isinstance(event, StreamError):
            self._done = True
            return frame(error_body(event.message, type=event.type))
        return b""  # Ping: Gemini streams have no keep-alive event


__all__ = [
    "FORMAT",
    "LEADING_USER_TEXT",
    "TITLE",
    "GeminiCodec",
    "GeminiStreamDecoder",
    "GeminiStreamEncoder",
    "clean_schema",
    "error_body",
    "finish_reason",
    "finish_reason_out",
]
