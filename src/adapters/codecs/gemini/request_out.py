"""Canonical request -> Gemini request body (raises UnsupportedContent)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aigateway.adapters.codecs.base import json_encode
from aigateway.adapters.codecs.gemini.parts import parts_out
from aigateway.adapters.codecs.gemini.schema import clean_schema_json
from aigateway.adapters.codecs.gemini.wire import (
    FORMAT,
    LEADING_USER_TEXT,
    opaque_unsupported,
    unsupported,
)
from aigateway.domain.llm import ChatRequest, OpaquePart, Thinking

if TYPE_CHECKING:
    from aigateway.adapters.codecs.gemini.codec import GeminiCodec


def to_wire_request(codec: GeminiCodec, request: ChatRequest) -> dict[str, Any]:
    """Canonical request -> the Gemini JSON document (raises UnsupportedContent)."""
    extras = dict(request.extras.get(FORMAT, {}))
    generation: dict[str, Any] = dict(extras.pop("generationConfig", None) or {})
    body: dict[str, Any] = extras
    names: dict[str, str] = {}
    contents: list[dict[str, Any]] = []
    for message in request.messages:
        parts = parts_out(message.content, names, request=True)
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
                if tool.format == FORMAT:
                    others.append(dict(tool.data))
                elif not tool.droppable:
                    raise opaque_unsupported(tool)
                continue
            declaration: dict[str, Any] = {"name": tool.name}
            if tool.description is not None:
                declaration["description"] = tool.description
            if tool.parameters is not None:
                declaration["parameters"] = clean_schema_json(tool.parameters)
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
    thinking = _thinking_out(codec, request.thinking)
    if thinking is not None:
        generation["thinkingConfig"] = thinking
    response_format = request.response_format
    if response_format is not None:
        kind = response_format.get("type")
        if kind == "json_object":
            generation["responseMimeType"] = "application/json"
        elif kind != "text":
            raise unsupported(f"response_format `{kind}`")
    if generation:
        body["generationConfig"] = generation
    for field in request.opaque:
        if field.format == FORMAT:
            body[field.name] = field.data
        elif not field.droppable:
            raise opaque_unsupported(field)
    return body


def encode_request(codec: GeminiCodec, request: ChatRequest) -> bytes:
    return json_encode(to_wire_request(codec, request))


def _thinking_out(codec: GeminiCodec, thinking: Thinking | None) -> dict[str, Any] | None:
    if thinking is None:
        return None
    if not thinking.enabled:
        return {"includeThoughts": False, "thinkingBudget": 0}
    budget = thinking.budget_tokens
    if budget is None and thinking.effort is not None:
        found = codec.effort_budgets.get(thinking.effort)
        if found is None:
            raise unsupported(f"reasoning_effort `{thinking.effort}`")
        budget = found
    return {"includeThoughts": True, "thinkingBudget": -1 if budget is None else budget}
