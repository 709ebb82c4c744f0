"""Responses client request body -> canonical request (400 naming the field).

`input` items are grouped into turns: assistant items (`message` with role assistant,
`function_call`, `custom_tool_call`, `reasoning`) make assistant turns; user messages and tool
outputs make user turns; `system` and `developer` messages join `instructions` as the system
prompt, in order. Items the canonical model has no place for (hosted-tool calls such as
`web_search_call`, `compaction`) are request-level droppable parts that remember where they
stood (`hosted_item`): written back in place for the same format, left out by others, and no
turn of their own. `item_reference` names stored state and is refused.
"""

from __future__ import annotations

from typing import Any, Literal

from aigateway.adapters.codecs.base import decode_body, parse_data_url
from aigateway.adapters.codecs.openai_responses.wire import (
    FORMAT,
    REDACTED_PREFIX,
    SUMMARY_SEPARATOR,
    refuse_state,
)
from aigateway.application.errors import invalid_request
from aigateway.domain.llm import (
    ChatRequest,
    ImagePart,
    Message,
    OpaquePart,
    Part,
    TextPart,
    Thinking,
    ThinkingPart,
    Tool,
    ToolCallPart,
    ToolChoice,
    ToolResultContent,
    ToolResultPart,
    parse_tool_arguments,
)

KNOWN_FIELDS = frozenset(
    {
        "model", "input", "instructions", "tools", "tool_choice", "max_output_tokens",
        "temperature", "top_p", "parallel_tool_calls", "reasoning", "text", "stream",
        "user", "safety_identifier", "store",
    }
)  # fmt: skip
CUSTOM_INPUT = "input"  # the one argument of a custom tool seen as a function
NAMESPACE = "namespace"  # a group of tools, whose calls name it
_ASSISTANT_ITEMS = frozenset({"function_call", "custom_tool_call", "reasoning"})
_USER_ITEMS = frozenset({"function_call_output", "custom_tool_call_output"})
_TOOL_CHOICES = {"auto": "auto", "none": "none", "required": "required"}
Role = Literal["user", "assistant"]


def custom_parameters(tool: dict[str, Any]) -> dict[str, Any]:
    """A custom (free-form) tool as a function with one string argument `input`."""
    description = "The tool's whole input, as raw text"
    grammar = tool.get("format")
    if isinstance(grammar, dict) and grammar.get("type") == "grammar":
        syntax, definition = grammar.get("syntax"), grammar.get("definition")
        description += f", following this {syntax} grammar:\n{definition}"
    return {
        "type": "object",
        "properties": {CUSTOM_INPUT: {"type": "string", "description": description}},
        "required": [CUSTOM_INPUT],
    }


def namespaces(request: ChatRequest) -> dict[str, str]:
    """Function name -> the namespace a Responses client grouped it in."""
    found: dict[str, str] = {}
    for tool in request.tools:
        if isinstance(tool, OpaquePart) and tool.format == FORMAT and tool.name == NAMESPACE:
            group = tool.data
            inner_tools = group.get("tools")
            for inner in inner_tools if isinstance(inner_tools, list) else ():
                if isinstance(inner, dict) and isinstance(inner.get("name"), str):
                    found.setdefault(inner["name"], str(group.get("name") or ""))
    return found


def _text(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise invalid_request(f"{where} must be a string", param=where)
    return value


def _optional_text(value: object, where: str) -> str | None:
    return None if value is None else _text(value, where)


def _flag(value: object, where: str) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise invalid_request(f"{where} must be a boolean", param=where)
    return value


def hosted_item(item: dict[str, Any], position: int) -> OpaquePart:
    """An item only a Responses upstream understands, to go back before the canonical part
    numbered `position` (counting every part of every message, in order)."""
    data = {"position": position, "item": item}
    return OpaquePart(format=FORMAT, kind="item", name=item["type"], data=data, droppable=True)


def _object(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid_request(f"{where} must be an object", param=where)
    return value


def _content(value: object, where: str) -> list[TextPart | ImagePart | OpaquePart]:
    """A message's or a tool output's content: a string or an array of parts."""
    if isinstance(value, str):
        return [TextPart(value)]
    if not isinstance(value, list):
        raise invalid_request(f"{where} must be a string or an array of parts", param=where)
    parts: list[TextPart | ImagePart | OpaquePart] = []
    for k, raw in enumerate(value):
        at = f"{where}[{k}]"
        part = _object(raw, at)
        kind = part.get("type")
        if kind in ("input_text", "output_text", "text"):
            parts.append(TextPart(_text(part.get("text"), f"{at}.text")))
        elif kind == "refusal":
            parts.append(TextPart(_text(part.get("refusal"), f"{at}.refusal")))
        elif kind == "input_image" and (part.get("image_url") is not None or "file_id" not in part):
            url = _text(part.get("image_url"), f"{at}.image_url")
            detail = part.get("detail") if isinstance(part.get("detail"), str) else None
            inline = parse_data_url(url)
            if inline is not None:
                parts.append(ImagePart(media_type=inline[0], data=inline[1], detail=detail))
            else:
                parts.append(ImagePart(url=url, detail=detail))
        elif isinstance(kind, str):
            parts.append(OpaquePart(format=FORMAT, kind="part", name=kind, data=part))
        else:
            raise invalid_request(f"{at}.type must be a string", param=f"{at}.type")
    return parts


class _Turns:
    """Consecutive items of one side become one canonical message."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.system: list[TextPart] = []
        self.hosted: list[OpaquePart] = []
        self._role: Role | None = None
        self._parts: list[Part] = []
        self._count = 0  # parts added so far

    def add(self, role: Role, parts: list[Part]) -> None:
        if role != self._role:
            self.flush()
            self._role = role
        self._parts += parts
        self._count += len(parts)

    def host(self, item: dict[str, Any]) -> None:
        self.hosted.append(hosted_item(item, self._count))

    def flush(self) -> None:
        if self._role is not None and self._parts:
            self.messages.append(Message(self._role, tuple(self._parts)))
        self._role, self._parts = None, []


def _item(item: dict[str, Any], where: str, turns: _Turns) -> None:
    kind = item.get("type", "message")
    if not isinstance(kind, str):
        raise invalid_request(f"{where}.type must be a string", param=f"{where}.type")
    if kind == "message":
        role = item.get("role")
        content = _content(item.get("content"), f"{where}.content")
        if role in ("system", "developer"):
            for k, part in enumerate(content):
                if not isinstance(part, TextPart):
                    at = f"{where}.content[{k}]"
                    raise invalid_request(f"{at}: a {role} message holds text only", param=at)
                turns.system.append(part)
        elif role in ("user", "assistant"):
            turns.add(role, list(content))
        else:
            at = f"{where}.role"
            raise invalid_request(
                f"{at} must be one of user, assistant, system, developer", param=at
            )
    elif kind == "function_call":
        raw = _text(item.get("arguments", ""), f"{where}.arguments")
        arguments, unparsed = parse_tool_arguments(raw)
        call = ToolCallPart(
            id=_text(item.get("call_id"), f"{where}.call_id"),
            name=_text(item.get("name"), f"{where}.name"),
            arguments=arguments,
            raw_arguments=unparsed,
        )
        turns.add("assistant", [call])
    elif kind == "custom_tool_call":
        call = ToolCallPart(
            id=_text(item.get("call_id"), f"{where}.call_id"),
            name=_text(item.get("name"), f"{where}.name"),
            arguments={CUSTOM_INPUT: _text(item.get("input"), f"{where}.input")},
        )
        turns.add("assistant", [call])
    elif kind in _USER_ITEMS:
        output: list[ToolResultContent] = list(_content(item.get("output"), f"{where}.output"))
        result = ToolResultPart(
            tool_call_id=_text(item.get("call_id"), f"{where}.call_id"), content=tuple(output)
        )
        turns.add("user", [result])
    elif kind == "reasoning":
        thinking = _reasoning(item, where)
        if thinking is not None:
            turns.add("assistant", [thinking])
    elif kind == "item_reference":
        raise invalid_request(
            f"{where}: item_reference names a stored item; this gateway keeps none: send the "
            "item itself",
            param=where,
        )
    else:  # a hosted tool's call or output, compaction, ...
        turns.host(item)


def _reasoning(item: dict[str, Any], where: str) -> ThinkingPart | None:
    texts: list[str] = []
    for key, text_key in (("summary", "text"), ("content", "text")):
        entries = item.get(key) or []
        if not isinstance(entries, list):
            raise invalid_request(f"{where}.{key} must be an array", param=f"{where}.{key}")
        for k, entry in enumerate(entries):
            part = _object(entry, f"{where}.{key}[{k}]")
            texts.append(_text(part.get(text_key), f"{where}.{key}[{k}].{text_key}"))
        if texts:
            break  # the summary, or else the full reasoning text
    encrypted = item.get("encrypted_content")
    if encrypted is not None and not isinstance(encrypted, str):
        raise invalid_request(
            f"{where}.encrypted_content must be a string", param=f"{where}.encrypted_content"
        )
    if encrypted and encrypted.startswith(REDACTED_PREFIX):
        return ThinkingPart(redacted_data=encrypted[len(REDACTED_PREFIX) :])
    if not texts and not encrypted:
        return None
    return ThinkingPart(text=SUMMARY_SEPARATOR.join(texts), signature=encrypted or None)


def _tools(raw: object) -> tuple[Tool | OpaquePart, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise invalid_request("tools must be an array", param="tools")
    tools: list[Tool | OpaquePart] = []
    for k, entry in enumerate(raw):
        tools += _tool(_object(entry, f"tools[{k}]"), f"tools[{k}]")
    return tuple(tools)


def _tool(tool: dict[str, Any], where: str) -> list[Tool | OpaquePart]:
    kind = tool.get("type")
    if kind == "function":
        parameters = tool.get("parameters")
        if parameters is not None and not isinstance(parameters, dict):
            raise invalid_request(
                f"{where}.parameters must be an object", param=f"{where}.parameters"
            )
        return [
            Tool(
                name=_text(tool.get("name"), f"{where}.name"),
                description=_optional_text(tool.get("description"), f"{where}.description"),
                parameters=parameters,
                strict=_flag(tool.get("strict"), f"{where}.strict"),
            )
        ]
    if kind == "custom":
        return [
            Tool(
                name=_text(tool.get("name"), f"{where}.name"),
                description=_optional_text(tool.get("description"), f"{where}.description"),
                parameters=custom_parameters(tool),
            )
        ]
    if kind == "namespace" and isinstance(tool.get("tools"), list):
        # its functions are offered as they are; the group is kept to name each call's
        # namespace in the answer (`namespaces`)
        inner: list[Tool | OpaquePart] = []
        for k, entry in enumerate(tool["tools"]):
            inner += _tool(_object(entry, f"{where}.tools[{k}]"), f"{where}.tools[{k}]")
        group = OpaquePart(format=FORMAT, kind="tool", name=NAMESPACE, data=tool, droppable=True)
        return [*inner, group]
    if not isinstance(kind, str):
        raise invalid_request(f"{where}.type must be a string", param=f"{where}.type")
    # a hosted tool (web_search, file_search, image_generation, ...): only OpenAI runs it
    return [OpaquePart(format=FORMAT, kind="tool", name=kind, data=tool, droppable=True)]


def _tool_choice(raw: object) -> ToolChoice | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        mode = _TOOL_CHOICES.get(raw)
        if mode is None:
            raise invalid_request("tool_choice must be auto, none or required", param="tool_choice")
        return ToolChoice(mode)  # type: ignore[arg-type]
    choice = _object(raw, "tool_choice")
    if choice.get("type") in ("function", "custom"):
        return ToolChoice("tool", _text(choice.get("name"), "tool_choice.name"))
    if choice.get("type") == "allowed_tools" and choice.get("mode") == "required":
        return ToolChoice("required")
    return ToolChoice("auto")  # a hosted tool or an allowed set: the model chooses


def _thinking(raw: object) -> Thinking | None:
    if raw is None:
        return None
    effort = _object(raw, "reasoning").get("effort")
    if effort is None:
        return None
    effort = _text(effort, "reasoning.effort")
    return Thinking(enabled=False) if effort == "none" else Thinking(effort=effort)


def _response_format(raw: object) -> dict[str, Any] | None:
    if raw is None:
        return None
    found = _object(raw, "text").get("format")
    if found is None:
        return None
    shape = _object(found, "text.format")
    kind = shape.get("type")
    if kind == "json_object":
        return {"type": "json_object"}
    if kind == "json_schema":
        schema = {k: shape[k] for k in ("name", "schema", "description", "strict") if k in shape}
        return {"type": "json_schema", "json_schema": schema}
    return None  # text: the default


def _number(document: dict[str, Any], name: str, *, integer: bool = False) -> Any:
    value = document.get(name)
    if value is None:
        return None
    kinds: tuple[type, ...] = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds):
        what = "an integer" if integer else "a number"
        raise invalid_request(f"{name} must be {what}", param=name)
    return value


def decode_request(body: bytes) -> ChatRequest:
    document = decode_body(body)
    for name in ("store", "background"):
        if not isinstance(document.get(name), bool | None):
            raise invalid_request(f"{name} must be a boolean", param=name)
    refuse_state(
        previous_response_id=document.get("previous_response_id") is not None,
        conversation=document.get("conversation") is not None,
        store=document.get("store"),
        background=document.get("background"),
    )
    model = document.get("model")
    if not isinstance(model, str) or not model.strip():
        raise invalid_request("model is required", param="model")
    turns = _Turns()
    instructions = document.get("instructions")
    if instructions is not None:
        turns.system.append(TextPart(_text(instructions, "instructions")))
    raw_input = document.get("input")
    if isinstance(raw_input, str):
        turns.add("user", [TextPart(raw_input)])
    elif isinstance(raw_input, list) and raw_input:
        for i, entry in enumerate(raw_input):
            _item(_object(entry, f"input[{i}]"), f"input[{i}]", turns)
    else:
        raise invalid_request("input must be a non-empty string or array of items", param="input")
    turns.flush()
    if not turns.messages:
        raise invalid_request("input holds no user or assistant item", param="input")
    stream = _flag(document.get("stream"), "stream")
    parallel = _flag(document.get("parallel_tool_calls"), "parallel_tool_calls")
    user = _optional_text(document.get("safety_identifier"), "safety_identifier")
    user = user or _optional_text(document.get("user"), "user")
    extras = {k: v for k, v in document.items() if k not in KNOWN_FIELDS}
    text = document.get("text")
    if isinstance(text, dict) and "verbosity" in text:
        extras["text"] = {"verbosity": text["verbosity"]}
    return ChatRequest(
        model=model,
        messages=tuple(turns.messages),
        system=tuple(turns.system),
        tools=_tools(document.get("tools")),
        tool_choice=_tool_choice(document.get("tool_choice")),
        parallel_tool_calls=parallel,
        max_tokens=_number(document, "max_output_tokens", integer=True),
        temperature=_number(document, "temperature"),
        top_p=_number(document, "top_p"),
        stream=stream is True,
        include_usage=stream is True,
        thinking=_thinking(document.get("reasoning")),
        user=user,
        response_format=_response_format(text),
        opaque=tuple(turns.hosted),
        extras={FORMAT: extras} if extras else {},
    )
