"""A client's request -> the inner Cloud Code request, once per client request.

Canonical request (client model name) -> upstream model name -> tool names sanitised -> Gemini
JSON -> what the model family needs (Claude: strict schemas in `parameters`, `VALIDATED`
calling mode, no empty text parts, no thinking blocks it did not sign, a thinking budget below
the output cap) -> a stable `sessionId`, no `safetySettings`.

Gemini: a replayed `functionCall` without its `thoughtSignature` (an OpenAI-format client cannot
carry it) makes the request a `Replay`, finished in the first attempt: the signatures the store
holds for those calls are put back (one lookup per request); a model turn whose first call is
still unsigned (the store forgot it, or never saw it) gets `SKIP_SIGNATURE` there, which Gemini
accepts for turns it did not sign. Claude refuses any signature it did not make: its unsigned
thinking is dropped and nothing is looked up.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

from aigateway.adapters.codecs.base import json_encode
from aigateway.adapters.codecs.gemini import GeminiCodec
from aigateway.adapters.upstream.cloud_code.envelope import session_id
from aigateway.adapters.upstream.cloud_code.tools import ToolNames, claude_schema_json
from aigateway.application.ports.signatures import ThoughtSignatures, askable
from aigateway.domain.llm import (
    ChatRequest,
    Message,
    Part,
    TextPart,
    ThinkingPart,
    Tool,
    ToolCallPart,
)

_Named = TypeVar("_Named", Tool, ToolCallPart)

CLAUDE = "claude"
GEMINI = "gemini"
MIN_CLAUDE_BUDGET = 1024  # below it the upstream refuses a thinking config: none is sent
SKIP_SIGNATURE = "skip_thought_signature_validator"  # Gemini's "not signed by me, accept it"


def family(upstream_model: str) -> str:
    """The model family whose request rules apply (Claude models are named `claude-*`)."""
    return CLAUDE if upstream_model.lower().startswith(CLAUDE) else GEMINI


def streams_upstream(upstream_model: str, *, thinking: bool) -> bool:
    """Claude and thinking models (or a request that asks for thinking) answer completely only
    on the stream method."""
    return family(upstream_model) == CLAUDE or thinking or "thinking" in upstream_model.lower()


class Replay:
    """A Gemini request with calls to sign: its bytes once the store has answered (the same
    for every attempt of the request)."""

    __slots__ = ("_body", "_turns", "_wire")

    def __init__(self, wire: dict[str, Any], turns: list[list[dict[str, Any]]]) -> None:
        self._wire: dict[str, Any] | None = wire
        self._turns = turns  # per model turn: its functionCall parts, in order
        self._body: bytes | None = None

    def call_ids(self) -> list[str]:
        """The ids of the calls that came back unsigned (to look up)."""
        return [
            str(part["functionCall"].get("id") or "")
            for turn in self._turns
            for part in turn
            if not part.get("thoughtSignature")
        ]

    async def body(self, signatures: ThoughtSignatures) -> bytes:
        if self._body is None:
            assert self._wire is not None
            wanted = [call_id for call_id in self.call_ids() if askable(call_id)]
            found = await signatures.recall(wanted) if wanted else {}
            for turn in self._turns:
                for part in turn:
                    signature = found.get(str(part["functionCall"].get("id") or ""))
                    if signature is not None and not part.get("thoughtSignature"):
                        part["thoughtSignature"] = signature
                if not turn[0].get("thoughtSignature"):
                    turn[0]["thoughtSignature"] = SKIP_SIGNATURE
            self._body, self._wire = json_encode(self._wire), None
        return self._body


class InnerRequest(msgspec.Struct, frozen=True, kw_only=True):
    body: bytes  # the JSON of the inner request; b"" while `replay` holds it
    names: ToolNames
    schemas: dict[str, Any]  # client tool name -> its schema (to drop Claude's placeholders)
    replay: Replay | None = None


def inner_request(
    codec: GeminiCodec,
    request: ChatRequest,
    upstream_model: str,
    *,
    max_output_tokens: int,
) -> InnerRequest:
    """The inner request (raises UnsupportedContent for what Gemini cannot express)."""
    claude = family(upstream_model) == CLAUDE
    declared = [tool for tool in request.tools if isinstance(tool, Tool)]
    names = ToolNames(tool.name for tool in declared)
    messages = tuple(_message(m, names, claude=claude) for m in request.messages)
    tools = tuple(
        _renamed(tool, names.to_upstream(tool.name)) if isinstance(tool, Tool) else tool
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
        claude_rules(wire, {names.to_upstream(t.name): t.parameters for t in declared})
    wire["sessionId"] = session_id(_first_user_text(request.messages))
    schemas = {tool.name: tool.parameters for tool in declared if tool.parameters is not None}
    turns = [] if claude else _unsigned_turns(wire)
    if turns:
        return InnerRequest(body=b"", names=names, schemas=schemas, replay=Replay(wire, turns))
    return InnerRequest(body=json_encode(wire), names=names, schemas=schemas)


def _unsigned_turns(wire: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """The functionCall parts of each model turn whose first call is unsigned (Gemini signs
    the first call of a step; a turn whose first call carries one is complete)."""
    turns = []
    for content in wire.get("contents") or ():
        if content.get("role") != "model":
            continue
        calls = [part for part in content.get("parts") or () if "functionCall" in part]
        if calls and not calls[0].get("thoughtSignature"):
            turns.append(calls)
    return turns


def _renamed(item: _Named, name: str) -> _Named:
    return item if item.name == name else msgspec.structs.replace(item, name=name)


def _message(message: Message, names: ToolNames, *, claude: bool) -> Message:
    """The message with its tool calls named as upstream knows them (and, for Claude, without
    the thinking it refuses); the same message when nothing changes."""
    parts: list[Part] = []
    changed = False
    for part in message.content:
        if isinstance(part, ToolCallPart):
            renamed = _renamed(part, names.to_upstream(part.name))
            changed = changed or renamed is not part
            parts.append(renamed)
        elif claude and isinstance(part, ThinkingPart) and not _claude_thinking(part):
            changed = True  # unsigned, or a Gemini signature: Claude refuses what it did not sign
        else:
            parts.append(part)
    return msgspec.structs.replace(message, content=tuple(parts)) if changed else message


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


def claude_rules(wire: dict[str, Any], schemas: dict[str, Any]) -> None:
    """What Claude needs of a Gemini request, in place: each declaration's schema (`schemas`, by
    upstream tool name) as strict `parameters`, `VALIDATED` mode, no empty text parts, a
    thinking config it accepts."""
    declared = False
    for tool in wire.get("tools") or ():
        for declaration in tool.get("functionDeclarations") or ():
            declared = True
            declaration.pop("parametersJsonSchema", None)
            declaration["parameters"] = claude_schema_json(schemas.get(declaration["name"]) or {})
    if declared:  # a client's `null` config is no config
        config = wire["toolConfig"] = wire.get("toolConfig") or {}
        calling = config["functionCallingConfig"] = config.get("functionCallingConfig") or {}
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
