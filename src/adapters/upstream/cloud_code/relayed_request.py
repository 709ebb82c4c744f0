"""A Gemini client's request -> the inner Cloud Code request, without translation.

The backend speaks Gemini inside its envelope, so a Gemini client's body goes in as it is, plus
only what the backend needs of any request:

- a stable `sessionId` (the hash of the first user text, as for every client: `envelope.
  session_id`), appended as the object's last member unless the client sent one;
- no `safetySettings` (Antigravity's own client sends none, and Claude refuses them);
- `generationConfig.maxOutputTokens` at most the provider's cap for the model family.

When only the session id is added, the inner request is the client's bytes with one member
appended; otherwise the object is written again one level deep (every member's value kept as
the client's bytes, `generationConfig` likewise). Thought signatures, Gemini CLI's
`skip_thought_signature_validator` included, go up as the client sent them: a Gemini client
keeps its own signatures, so the signature store is not involved.

Claude models get the rules every client's request gets (`request.claude_rules`), applied as
edits on the client's JSON, not through the canonical model: tool names sanitised (`ToolNames`,
also in calls, results and `allowedFunctionNames`), each declaration's schema
(`parametersJsonSchema` or `parameters`) as Claude's strict `parameters`, `VALIDATED` mode, no
empty text parts, no signature Claude did not make (a thought without its signature or text is
dropped; a signature on a call or a text, Gemini's or the sentinel, is removed), the output cap
when none is asked, thinking budgets under it.

Google's JSON reader takes a field's proto name (snake_case) as well as its JSON name
(lowerCamelCase), and clients write either (google-genai sends `parameters_json_schema`): the
fields read or edited here are found in both spellings (`_spelled`); the Claude edits write
them in lowerCamelCase.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import msgspec

from aigateway.adapters.codecs.base import (
    NESTED_TOO_DEEPLY,
    convert,
    decode_client,
    json_encode,
    validation_error,
)
from aigateway.adapters.upstream.cloud_code.envelope import session_id
from aigateway.adapters.upstream.cloud_code.request import CLAUDE, claude_rules, family
from aigateway.adapters.upstream.cloud_code.tools import ToolNames
from aigateway.application.errors import invalid_request

_encode = msgspec.json.Encoder().encode
_decode_top = msgspec.json.Decoder(dict[str, msgspec.Raw]).decode
_decode_document = msgspec.json.Decoder(dict[str, Any]).decode
_UPPER = re.compile(r"[A-Z]")
_NONE = msgspec.Raw(b"[]")


class RelayedRequest(msgspec.Struct, frozen=True, kw_only=True):
    body: bytes  # the inner request's JSON
    names: ToolNames  # Claude: client tool names <-> upstream ones
    schemas: dict[str, Any]  # Claude: client tool name -> its schema (to drop placeholders)
    thinking: bool  # the request asks for thinking (the model answers whole only as a stream)


def _snake(name: str) -> str:
    return _UPPER.sub(lambda found: "_" + found.group().lower(), name)


def _spelled(fields: Mapping[str, object], name: str) -> str | None:
    """The key under which `fields` holds the field `name` (given in lowerCamelCase)."""
    if name in fields:
        return name
    snake = _snake(name)
    return snake if snake in fields else None


def _decoded(raw: msgspec.Raw, type_: Any, path: str) -> Any:
    """`raw` as `type_` (a 400 naming the field under `path` when it is not one)."""
    try:
        return msgspec.json.decode(raw, type=type_)
    except msgspec.ValidationError as exc:
        raise validation_error(str(exc), path) from None
    except RecursionError:
        raise invalid_request(NESTED_TOO_DEEPLY) from None


# --- what the request is read for ------------------------------------------------------------


class _Part(msgspec.Struct):
    text: Any = None
    thought: Any = None


class _Content(msgspec.Struct):
    role: str | None = None
    parts: list[_Part] = msgspec.field(default_factory=list)


class _Thinking(msgspec.Struct):
    thinkingBudget: int | None = None
    thinking_budget: int | None = None


def relayed_request(body: bytes, upstream_model: str, *, max_output_tokens: int) -> RelayedRequest:
    """The inner request for a Gemini client's body (a 400 for a body of the wrong shape)."""
    top = decode_client(_decode_top, body)
    contents: list[_Content] = _decoded(top.get("contents", _NONE), list[_Content], "contents")
    session = session_id(_first_user_text(contents))
    generation_key = _spelled(top, "generationConfig")
    generation: dict[str, msgspec.Raw] | None = None
    if generation_key is not None:
        generation = _decoded(top[generation_key], dict[str, msgspec.Raw] | None, generation_key)
    thinking = generation is not None and _thinks(generation, generation_key or "")
    if family(upstream_model) == CLAUDE:
        return _claude(body, session, max_output_tokens, thinking=thinking)
    edited = False
    for key in ("safetySettings", "safety_settings"):
        edited = top.pop(key, None) is not None or edited
    tokens = _spelled(generation, "maxOutputTokens") if generation is not None else None
    if generation is not None and tokens is not None:
        path = f"{generation_key}.{tokens}"
        asked: float | None = _decoded(generation[tokens], int | float | None, path)
        if asked is not None and asked > max_output_tokens:
            generation[tokens] = msgspec.Raw(_encode(max_output_tokens))
            top[generation_key or ""] = msgspec.Raw(_encode(generation))
            edited = True
    if _spelled(top, "sessionId") is not None:
        session_member = b""
    else:
        session_member = b',"sessionId":' + _encode(session)
    if edited:
        body = _encode(top)
    if session_member:
        body = body.rstrip()[:-1] + session_member + b"}"
    return RelayedRequest(body=body, names=ToolNames(), schemas={}, thinking=thinking)


def _thinks(generation: dict[str, msgspec.Raw], path: str) -> bool:
    """Thinking asked (as the Gemini codec reads it: any config but a zero budget)."""
    key = _spelled(generation, "thinkingConfig")
    if key is None:
        return False
    config: _Thinking | None = _decoded(generation[key], _Thinking | None, f"{path}.{key}")
    if config is None:
        return False
    budget = config.thinkingBudget if config.thinkingBudget is not None else config.thinking_budget
    return budget != 0


def _first_user_text(contents: list[_Content]) -> str:
    for content in contents:
        if content.role == "model":
            continue
        for part in content.parts:
            if isinstance(part.text, str) and part.text and part.thought is not True:
                return part.text
    return ""


# --- Claude ----------------------------------------------------------------------------------


class _Declaration(msgspec.Struct):
    name: str


class _Tool(msgspec.Struct):
    functionDeclarations: list[_Declaration] | None = None


class _Calling(msgspec.Struct):
    allowedFunctionNames: list[str] | None = None


class _ToolConfig(msgspec.Struct):
    functionCallingConfig: _Calling | None = None


class _Named(msgspec.Struct):
    name: str


class _ClaudePart(msgspec.Struct):
    functionCall: _Named | None = None
    functionResponse: _Named | None = None
    thoughtSignature: str | None = None


class _ClaudeContent(msgspec.Struct):
    parts: list[_ClaudePart] = msgspec.field(default_factory=list)


class _ThinkingConfig(msgspec.Struct):
    includeThoughts: bool | None = None
    thinkingBudget: int | None = None


class _GenerationConfig(msgspec.Struct):
    maxOutputTokens: int | None = None
    thinkingConfig: _ThinkingConfig | None = None


class _ClaudeShape(msgspec.Struct):
    """The shapes the edits rely on (anything else in the body is the upstream's to judge)."""

    contents: list[_ClaudeContent]
    tools: list[_Tool] | None = None
    toolConfig: _ToolConfig | None = None
    generationConfig: _GenerationConfig | None = None


def _camel(fields: Any, *names: str) -> Any:
    """`fields` (when an object) with the fields `names` under their lowerCamelCase keys."""
    if isinstance(fields, dict):
        for name in names:
            key = _spelled(fields, name)
            if key is not None and key != name:
                fields[name] = fields.pop(key)
    return fields


def _spelled_in_camel_case(wire: dict[str, Any]) -> None:
    """The fields the Claude edits read and write, renamed to lowerCamelCase where the client
    used their proto names."""
    _camel(wire, "tools", "toolConfig", "generationConfig", "safetySettings", "sessionId")
    for tool in _items(wire.get("tools")):
        for declaration in _items(_camel(tool, "functionDeclarations").get("functionDeclarations")):
            _camel(declaration, "parametersJsonSchema")
    calling = _camel(wire.get("toolConfig"), "functionCallingConfig")
    if isinstance(calling, dict):
        _camel(calling.get("functionCallingConfig"), "allowedFunctionNames")
    for content in _items(wire.get("contents")):
        for part in _items(content.get("parts")):
            _camel(part, "functionCall", "functionResponse", "thoughtSignature")
    generation = _camel(wire.get("generationConfig"), "maxOutputTokens", "thinkingConfig")
    if isinstance(generation, dict):
        _camel(generation.get("thinkingConfig"), "includeThoughts", "thinkingBudget")


def _items(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _claude(body: bytes, session: str, cap: int, *, thinking: bool) -> RelayedRequest:
    wire = decode_client(_decode_document, body)
    _spelled_in_camel_case(wire)
    convert(wire, _ClaudeShape, None)
    declarations = [
        declaration
        for tool in wire.get("tools") or ()
        for declaration in tool.get("functionDeclarations") or ()
    ]
    names = ToolNames(d["name"] for d in declarations)
    schemas: dict[str, Any] = {}
    upstream_schemas: dict[str, Any] = {}
    for declaration in declarations:
        schema = declaration.pop("parametersJsonSchema", None)
        if schema is None:
            schema = declaration.get("parameters")
        if schema is not None:
            schemas[declaration["name"]] = schema
        declaration["name"] = names.to_upstream(declaration["name"])
        upstream_schemas[declaration["name"]] = schema
    calling = (wire.get("toolConfig") or {}).get("functionCallingConfig") or {}
    if calling.get("allowedFunctionNames"):
        calling["allowedFunctionNames"] = [
            names.to_upstream(n) for n in calling["allowedFunctionNames"]
        ]
    for content in wire["contents"]:
        content["parts"] = [
            _claude_part(part, names) for part in content.get("parts") or () if _kept(part)
        ]
    generation = wire.get("generationConfig")
    if generation is None:
        generation = wire["generationConfig"] = {}
    asked = generation.get("maxOutputTokens")
    generation["maxOutputTokens"] = min(asked, cap) if isinstance(asked, int) else cap
    claude_rules(wire, upstream_schemas)
    wire.pop("safetySettings", None)
    wire.setdefault("sessionId", session)
    return RelayedRequest(body=json_encode(wire), names=names, schemas=schemas, thinking=thinking)


def _kept(part: dict[str, Any]) -> bool:
    """A thought Claude can take back: one it signed, with its text."""
    if part.get("thought") is not True:
        return True
    return bool(part.get("thoughtSignature")) and bool(part.get("text"))


def _claude_part(part: dict[str, Any], names: ToolNames) -> dict[str, Any]:
    if part.get("thought") is not True:
        part.pop("thoughtSignature", None)  # Gemini's, or the sentinel: Claude refuses both
    for key in ("functionCall", "functionResponse"):
        named = part.get(key)
        if named is not None:
            named["name"] = names.to_upstream(named["name"])
    return part
