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
"""

from __future__ import annotations

from typing import Any

import msgspec

from aigateway.adapters.codecs.base import (
    ABSENT,
    convert,
    decode_body,
    decode_client,
    json_encode,
    present,
)
from aigateway.adapters.upstream.cloud_code.envelope import session_id
from aigateway.adapters.upstream.cloud_code.request import CLAUDE, claude_rules, family
from aigateway.adapters.upstream.cloud_code.tools import ToolNames

_encode = msgspec.json.Encoder().encode
_decode_top = msgspec.json.Decoder(dict[str, msgspec.Raw]).decode


class RelayedRequest(msgspec.Struct, frozen=True, kw_only=True):
    body: bytes  # the inner request's JSON
    names: ToolNames  # Claude: client tool names <-> upstream ones
    schemas: dict[str, Any]  # Claude: client tool name -> its schema (to drop placeholders)
    thinking: bool  # the request asks for thinking (the model answers whole only as a stream)


# --- what the request is read for ------------------------------------------------------------


class _Part(msgspec.Struct):
    text: Any = None
    thought: Any = None


class _Content(msgspec.Struct):
    role: str | None = None
    parts: list[_Part] = msgspec.field(default_factory=list)


class _Thinking(msgspec.Struct):
    thinkingBudget: int | None = None
    includeThoughts: bool | None = None


class _Generation(msgspec.Struct):
    maxOutputTokens: int | float | None = None
    thinkingConfig: _Thinking | None = None


class _Head(msgspec.Struct):
    contents: list[_Content]
    generationConfig: _Generation | None = None
    safetySettings: msgspec.Raw = ABSENT
    sessionId: msgspec.Raw = ABSENT


_decode_head = msgspec.json.Decoder(_Head).decode


def relayed_request(body: bytes, upstream_model: str, *, max_output_tokens: int) -> RelayedRequest:
    """The inner request for a Gemini client's body (a 400 for a body of the wrong shape)."""
    head = decode_client(_decode_head, body)
    generation = head.generationConfig
    thinking = generation is not None and _thinks(generation.thinkingConfig)
    session = session_id(_first_user_text(head.contents))
    if family(upstream_model) == CLAUDE:
        return _claude(body, session, max_output_tokens, thinking=thinking)
    cap = generation is not None and _over(generation.maxOutputTokens, max_output_tokens)
    if not cap and not present(head.safetySettings):
        if not present(head.sessionId):
            body = b"".join((body.rstrip()[:-1], b',"sessionId":', _encode(session), b"}"))
        return RelayedRequest(body=body, names=ToolNames(), schemas={}, thinking=thinking)
    top = _decode_top(body)
    top.pop("safetySettings", None)
    if cap:
        config = _decode_top(top["generationConfig"])
        config["maxOutputTokens"] = msgspec.Raw(_encode(max_output_tokens))
        top["generationConfig"] = msgspec.Raw(_encode(config))
    if not present(head.sessionId):
        top["sessionId"] = msgspec.Raw(_encode(session))
    return RelayedRequest(body=_encode(top), names=ToolNames(), schemas={}, thinking=thinking)


def _thinks(config: _Thinking | None) -> bool:
    """Thinking asked (as the Gemini codec reads it: any config but a zero budget)."""
    return config is not None and config.thinkingBudget != 0


def _over(value: int | float | None, cap: int) -> bool:
    return value is not None and value > cap


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


class _ClaudeShape(msgspec.Struct):
    """The shapes the edits rely on (anything else in the body is the upstream's to judge)."""

    contents: list[_ClaudeContent]
    tools: list[_Tool] | None = None
    toolConfig: _ToolConfig | None = None
    generationConfig: dict[str, Any] | None = None


def _claude(body: bytes, session: str, cap: int, *, thinking: bool) -> RelayedRequest:
    wire = decode_body(body)
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
