"""Gemini client request body -> canonical request (400 naming the field)."""

from __future__ import annotations

from typing import Any, Literal

from aigateway.adapters.codecs.base import convert, decode_body
from aigateway.adapters.codecs.gemini.parts import Ids, parts_in
from aigateway.adapters.codecs.gemini.wire import (
    FORMAT,
    KNOWN_FIELDS,
    KNOWN_GENERATION,
    WireDeclaration,
    WireGeneration,
    WireRequest,
    WireThinkingConfig,
    WireToolConfig,
)
from aigateway.application.errors import invalid_request
from aigateway.domain.llm import (
    ChatRequest,
    Message,
    OpaquePart,
    TextPart,
    Thinking,
    Tool,
    ToolChoice,
)


def decode_request(body: bytes, *, model: str = "") -> ChatRequest:
    """A client body -> canonical request; malformed or ill-typed bodies are 400s. `model`
    comes from the URL (a `model` field in the body, if any, is used when it is empty)."""
    document = camel_names(decode_body(body))
    wire = convert(document, WireRequest, None)
    if not wire.contents:
        raise invalid_request("contents must contain at least one content", param="contents")
    ids = Ids()
    messages: list[Message] = []
    for i, content in enumerate(wire.contents):
        role: Literal["user", "assistant"] = "assistant" if content.role == "model" else "user"
        parts = tuple(parts_in(content.parts, f"contents[{i}].parts", ids))
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
        found = convert(declarations, list[WireDeclaration], f"tools[{k}].functionDeclarations")
        tools += [
            Tool(name=d.name, description=d.description, parameters=_parameters(d)) for d in found
        ]
    generation = wire.generationConfig or WireGeneration()
    extras = {key: value for key, value in document.items() if key not in KNOWN_FIELDS}
    raw_generation = document.get("generationConfig")
    if isinstance(raw_generation, dict):
        unknown = {k: v for k, v in raw_generation.items() if k not in KNOWN_GENERATION}
        if unknown:
            extras["generationConfig"] = unknown
    response_format = None
    if generation.responseMimeType == "application/json":
        response_format = {"type": "json_object"}
    elif generation.responseMimeType not in (None, "text/plain"):
        extras.setdefault("generationConfig", {})["responseMimeType"] = generation.responseMimeType
    return ChatRequest(
        model=model or wire.model or "",
        messages=tuple(messages),
        system=system,
        tools=tuple(tools),
        tool_choice=_tool_choice_in(wire.toolConfig),
        max_tokens=generation.maxOutputTokens,
        temperature=generation.temperature,
        top_p=generation.topP,
        top_k=generation.topK,
        stop=tuple(generation.stopSequences or ()),
        thinking=_thinking_in(generation.thinkingConfig),
        response_format=response_format,
        extras={FORMAT: extras} if extras else {},
    )


# the values whose keys are the client's own (arguments, results, schemas, labels)
_OWN_KEYS = frozenset(
    {
        "args",
        "response",
        "parameters",
        "parametersJsonSchema",
        "responseJsonSchema",
        "responseSchema",
        "labels",
        "partMetadata",
    }
)


def camel_names(value: Any) -> Any:
    """Field names in camel case. Google's API reads a field by its proto name too
    (`thinking_budget` for `thinkingBudget`), and Google's Python SDK sends some that way
    (`parameters_json_schema`, `thinking_config.include_thoughts`). The camel-case name wins
    when both are sent; the values holding the client's own keys are left as they are."""
    if isinstance(value, list):
        return [camel_names(item) for item in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    renamed: list[tuple[str, Any]] = []
    for key, item in value.items():
        if "_" in key and not key.startswith("_"):
            head, *rest = key.split("_")
            renamed.append((head + "".join(word[:1].upper() + word[1:] for word in rest), item))
        else:
            out[key] = item if key in _OWN_KEYS else camel_names(item)
    for name, item in renamed:
        if name not in out:
            out[name] = item if name in _OWN_KEYS else camel_names(item)
    return out


def _parameters(declaration: WireDeclaration) -> dict[str, Any] | None:
    """The declaration's schema as JSON Schema: `parametersJsonSchema` is one already;
    `parameters` is Gemini's `Schema`, whose type names Google's SDKs write in upper case."""
    if declaration.parametersJsonSchema is not None:
        return declaration.parametersJsonSchema
    if declaration.parameters is None:
        return None
    return _lower_types(declaration.parameters)


def _lower_types(schema: dict[str, Any]) -> dict[str, Any]:
    """A `Schema` with its `type` names in JSON Schema's lower case, in every nested schema."""
    out = dict(schema)
    if isinstance(kind := out.get("type"), str):
        out["type"] = kind.lower()
    if isinstance(properties := out.get("properties"), dict):
        out["properties"] = {
            name: _lower_types(value) if isinstance(value, dict) else value
            for name, value in properties.items()
        }
    if isinstance(items := out.get("items"), dict):
        out["items"] = _lower_types(items)
    if isinstance(options := out.get("anyOf"), list):
        out["anyOf"] = [_lower_types(o) if isinstance(o, dict) else o for o in options]
    return out


def _tool_choice_in(config: WireToolConfig | None) -> ToolChoice | None:
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


def _thinking_in(config: WireThinkingConfig | None) -> Thinking | None:
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
