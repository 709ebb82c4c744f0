"""A client's request -> the inner Cloud Code request, once per client request.

Canonical request (client model name) -> upstream model name -> tool names sanitised -> thought
signatures put back on calls that came back without them -> Gemini JSON -> what the model
family needs (Claude: strict schemas in `parameters`, `VALIDATED` calling mode, no empty text
parts, no thinking blocks it did not sign, a thinking budget below the output cap) -> a stable
`sessionId`, no `safetySettings`.
"""

from __future__ import annotations

from typing import Any

import msgspec

from aigateway.adapters.codecs.base import json_encode
from aigateway.adapters.codecs.gemini import GeminiCodec
from aigateway.adapters.upstream.cloud_code.envelope import session_id
from aigateway.adapters.upstream.cloud_code.signatures import SignatureCache
from aigateway.adapters.upstream.cloud_code.tools import ToolNames, claude_schema
from aigateway.domain.llm import (
    ChatRequest,
    Message,
    Part,
    TextPart,
    ThinkingPart,
    Tool,
    ToolCallPart,
)

CLAUDE = "claude"
GEMINI = "gemini"
MIN_CLAUDE_BUDGET = 1024  # below it the upstream refuses a thinking config: none is sent


def family(upstream_model: str) -> str:
    """The model family whose request rules apply (Claude models are named `claude-*`)."""
    return CLAUDE if upstream_model.lower().startswith(CLAUDE) else GEMINI


def streams_upstream(request: ChatRequest, upstream_model: str) -> bool:
    """Claude and thinking models answer completely only on the stream method."""
    thinking = request.thinking is not None and request.thinking.enabled
    return family(upstream_model) == CLAUDE or thinking or "thinking" in upstream_model.lower()


class InnerRequest(msgspec.Struct, frozen=True, kw_only=True):
    body: bytes  # the JSON of the inner request
    names: ToolNames
    schemas: dict[str, Any]  # client tool name -> its schema (to drop Claude's placeholders)


def inner_request(
    codec: GeminiCodec,
    request: ChatRequest,
    upstream_model: str,
    signatures: SignatureCache,
    *,
    max_output_tokens: int,
) -> InnerRequest:
    """The inner request's bytes (raises UnsupportedContent for what Gemini cannot express)."""
    claude = family(upstream_model) == CLAUDE
    declared = [tool for tool in request.tools if isinstance(tool, Tool)]
    names = ToolNames(tool.name for tool in declared)
    messages = tuple(_message(m, names, signatures, claude=claude) for m in request.messages)
    tools = tuple(
        msgspec.structs.replace(tool, name=names.to_upstream(tool.name))
        if isinstance(tool, Tool)
        else tool
        for tool in request.tools
    )
    choice = request.tool_choice
    if choice is not None and choice.name is not None:
        choice = msgspec.structs.replace(choice, name=names.to_upstream(choice.name))
    max_tokens = request.max_tokens
    if max_tokens is None:
        max_tokens = max_output_tokens if claude else None
    else:
        max_tokens = min(max_tokens, max_output_tokens)
    request = msgspec.structs.replace(
        request, messages=messages, tools=tools, tool_choice=choice, max_tokens=max_tokens
    )
    wire = codec.to_wire_request(request)
    wire.pop("safetySettings", None)
    if claude:
        _claude_rules(wire, {names.to_upstream(t.name): t.parameters for t in declared})
    wire["sessionId"] = session_id(_first_user_text(request.messages))
    return InnerRequest(
        body=json_encode(wire),
        names=names,
        schemas={tool.name: tool.parameters for tool in declared if tool.parameters is not None},
    )


def _message(
    message: Message, names: ToolNames, signatures: SignatureCache, *, claude: bool
) -> Message:
    parts: list[Part] = []
    for part in message.content:
        if isinstance(part, ToolCallPart):
            if not claude and message.role == "assistant" and not _signed_before(parts):
                signature = signatures.recall(part.id)
                if signature is not None:
                    parts.append(ThinkingPart(signature=signature))
            parts.append(msgspec.structs.replace(part, name=names.to_upstream(part.name)))
        elif claude and isinstance(part, ThinkingPart) and not _claude_thinking(part):
            continue  # unsigned, or a Gemini signature: Claude refuses what it did not sign
        else:
            parts.append(part)
    return msgspec.structs.replace(message, content=tuple(parts))


def _signed_before(parts: list[Part]) -> bool:
    """The part before a call is its signature (a signature-only thinking part)."""
    last = parts[-1] if parts else None
    return isinstance(last, ThinkingPart) and bool(last.signature) and not last.text


def _claude_thinking(part: ThinkingPart) -> bool:
    return part.redacted or (bool(part.signature) and bool(part.text))


def _first_user_text(messages: tuple[Message, ...]) -> str:
    for message in messages:
        if message.role != "user":
            continue
        for part in message.content:
            if isinstance(part, TextPart) and part.text:
                return part.text
    return ""


def _claude_rules(wire: dict[str, Any], schemas: dict[str, Any]) -> None:
    declared = False
    for tool in wire.get("tools") or ():
        for declaration in tool.get("functionDeclarations") or ():
            declared = True
            declaration.pop("parametersJsonSchema", None)
            declaration["parameters"] = claude_schema(schemas.get(declaration["name"]) or {})
    if declared:
        calling = wire.setdefault("toolConfig", {}).setdefault("functionCallingConfig", {})
        calling["mode"] = "VALIDATED"
    contents = []
    for content in wire.get("contents") or ():
        parts = [p for p in content["parts"] if p.get("text") != "" or "thoughtSignature" in p]
        if parts:
            contents.append({**content, "parts": parts})
    wire["contents"] = contents
    generation = wire.get("generationConfig")
    thinking = generation.get("thinkingConfig") if generation else None
    if generation is None or thinking is None:
        return
    budget = thinking.get("thinkingBudget")
    if thinking.get("includeThoughts") is False or budget == 0:
        del generation["thinkingConfig"]
        return
    cap = generation.get("maxOutputTokens")
    if budget is None or budget < 0:  # the model decides: a level, not a budget
        thinking.pop("thinkingBudget", None)
        thinking["thinkingLevel"] = "high"
        return
    if isinstance(cap, int):
        budget = min(budget, cap - 1)
    if budget < MIN_CLAUDE_BUDGET:
        del generation["thinkingConfig"]
    else:
        thinking["thinkingBudget"] = budget
