"""Tool declarations for the Cloud Code API: Claude's stricter schemas and sanitised names.

Claude models reached through Antigravity take `functionDeclarations[].parameters` (never
`parametersJsonSchema`) in `VALIDATED` function-calling mode. Upstream turns the schema into
Claude's `input_schema`, and refuses or mis-validates more than Gemini does (late-2026
behaviour): enums are not enforced on function arguments, `nullable`, `anyOf` and the numeric
and string constraints give "Unknown name" 400s, and `VALIDATED` needs every object to declare
at least one required property. `claude_schema` keeps only `type`, `description`,
`properties`, `required` and `items`; what it drops that the model should still know (the
allowed values, constraints, alternatives) becomes a hint in the description.

Tool names go upstream as `[A-Za-z0-9_-]`, starting with a letter or `_`, at most 64
characters; `ToolNames` maps them one to one and back for the answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from aigateway.adapters.codecs.base import json_encode
from aigateway.adapters.codecs.gemini.schema import MAX_DEPTH, clean_schema, remembered

# Kept as description hints, in this order, when they are dropped.
_HINTED = (
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "pattern",
    "format",
)
MAX_HINT_VALUES = 16  # enum values listed in an "Allowed:" hint
MAX_HINT_VALUE = 64  # characters of one hinted value
MAX_HINTS = 512  # characters of the hints added to one description

# The placeholders that give an object a required property where it has none. `VALIDATED`
# mode refuses an object without one ("every tool schema must declare at least one required
# property"); making one of the client's optional properties required would force the model
# to invent a value for it, so a property of the gateway's own is added instead, and only
# where nothing is required. An empty object gets a short free-text `reason` (models fill it
# sensibly); an object with only optional properties gets a boolean `_`. Their values are
# the gateway's, not the tool's: `drop_placeholders` removes them from the call's arguments.
PLACEHOLDER_REASON = "reason"
PLACEHOLDER_FLAG = "_"
_PLACEHOLDERS: dict[str, dict[str, Any]] = {
    PLACEHOLDER_REASON: {
        "type": "string",
        "description": "Brief explanation of why you are calling this tool",
    },
    PLACEHOLDER_FLAG: {"type": "boolean", "description": "Always true"},
}


def claude_schema(schema: Any) -> dict[str, Any]:
    """A client's tool schema -> the `parameters` Claude through Antigravity accepts.

    Starts from the Gemini-cleaned schema (`clean_schema`); the top level is always an object.
    Cleaning a cleaned schema changes nothing."""
    cleaned = clean_schema(schema)
    top = cleaned if isinstance(cleaned, dict) else {}
    return _claude({**top, "type": "object"}, 0)


claude_schema_json = remembered(claude_schema)
"""`claude_schema` as JSON, remembered per schema."""


def _claude(node: dict[str, Any], depth: int) -> dict[str, Any]:
    hints: list[str] = []
    node = _project_any_of(node, hints)
    enum = node.get("enum")
    if isinstance(enum, list) and enum:
        values = [_hint_value(v) for v in enum[:MAX_HINT_VALUES]]
        more = ", ..." if len(enum) > MAX_HINT_VALUES else ""
        hints.append("Allowed: " + ", ".join(values) + more)
    for key in _HINTED:
        if key in node:
            hints.append(f"{key}: {_hint_value(node[key])}")
    if node.get("nullable") is True:
        hints.append("May be null")
    out: dict[str, Any] = {}
    kind = node.get("type")
    if isinstance(kind, str) and kind:
        out["type"] = kind
    description = _description(node.get("description"), hints)
    if description is not None:
        out["description"] = description
    properties = node.get("properties")
    is_object = isinstance(kind, str) and kind.lower() == "object"
    if isinstance(properties, dict) or is_object:
        props = properties if isinstance(properties, dict) else {}
        children = depth + 1 < MAX_DEPTH
        out["type"] = kind if is_object else "object"
        out["properties"] = {
            str(name): _claude(sub, depth + 1) if children and isinstance(sub, dict) else {}
            for name, sub in props.items()
        }
        out["required"] = _required(node.get("required"), out["properties"])
    elif isinstance(kind, str) and kind.lower() == "array":
        items = node.get("items")
        out["items"] = (
            _claude(items, depth + 1) if isinstance(items, dict) and depth + 1 < MAX_DEPTH else {}
        )
    return out


def _project_any_of(node: dict[str, Any], hints: list[str] | None = None) -> dict[str, Any]:
    """Alternatives -> the most structured one (object, then array, else the first); the
    types of all of them are named in `hints`."""
    while branches := [b for b in node.get("anyOf") or () if isinstance(b, dict)]:
        best = min(branches, key=_branch_rank)
        merged = {k: v for k, v in node.items() if k != "anyOf"}
        for key, value in best.items():
            merged.setdefault(key, value)
        kinds = [b["type"] for b in branches if isinstance(b.get("type"), str)]
        if hints is not None and len(set(kinds)) > 1:
            hints.append("Accepts: " + " | ".join(dict.fromkeys(kinds)))
        node = merged
    return {k: v for k, v in node.items() if k != "anyOf"}


def _branch_rank(branch: dict[str, Any]) -> int:
    kind = branch.get("type")
    return {"object": 0, "array": 1}.get(kind.lower(), 2) if isinstance(kind, str) else 2


def _required(required: Any, properties: dict[str, Any]) -> list[str]:
    names = [
        name
        for name in dict.fromkeys(required if isinstance(required, list) else ())
        if isinstance(name, str) and name in properties
    ]
    if names:
        return names
    placeholder = PLACEHOLDER_FLAG if properties else PLACEHOLDER_REASON
    if placeholder in properties:  # the client's own property of that name: require it
        return [placeholder]
    properties[placeholder] = dict(_PLACEHOLDERS[placeholder])
    return [placeholder]


def _hint_value(value: Any) -> str:
    text = value if isinstance(value, str) else json_encode(value).decode()
    return text if len(text) <= MAX_HINT_VALUE else text[: MAX_HINT_VALUE - 1] + "…"


def _description(description: Any, hints: list[str]) -> str | None:
    if description is None and not hints:
        return None
    text = description if isinstance(description, str) else ""
    if description is not None and not isinstance(description, str):
        text = json_encode(description).decode()
    if hints:
        joined = "; ".join(hints)
        if len(joined) > MAX_HINTS:
            joined = joined[: MAX_HINTS - 1] + "…"
        text = f"{text} ({joined})" if text else f"({joined})"
    return text


def drop_placeholders(arguments: Any, client_schema: Any) -> Any:
    """A function call's arguments without the placeholders `claude_schema` added to the
    client's schema (a property the client declared itself is kept)."""
    return _drop(arguments, clean_schema(client_schema), 0)


def _drop(value: Any, schema: Any, depth: int) -> Any:
    if not isinstance(schema, dict) or depth >= MAX_DEPTH:
        return value
    schema = _project_any_of(schema)
    if isinstance(value, dict):
        declared = schema.get("properties")
        props = declared if isinstance(declared, dict) else {}
        return {
            key: _drop(sub, props.get(key), depth + 1)
            for key, sub in value.items()
            if key in props or key not in _PLACEHOLDERS
        }
    if isinstance(value, list):
        return [_drop(item, schema.get("items"), depth + 1) for item in value]
    return value


# --- names -----------------------------------------------------------------------------------

MAX_TOOL_NAME = 64
_INVALID_CHARS = re.compile(r"[^A-Za-z0-9_-]")
_VALID_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")


def _sanitise(name: str) -> str:
    clean = _INVALID_CHARS.sub("_", name)
    if not clean or not (clean[0].isalpha() or clean[0] == "_"):  # ASCII only by now
        clean = "_" + clean
    return clean[:MAX_TOOL_NAME]


class ToolNames:
    """Client tool names <-> upstream names, one to one, for one request.

    A name that is already valid upstream keeps itself; another one is sanitised, and a name
    that would then collide gets a numbered suffix. Names first seen later (a tool call in
    the history whose tool is no longer declared) are mapped when asked for. Bounded by the
    request: one entry per distinct name it holds.
    """

    def __init__(self, names: Iterable[str] = ()) -> None:
        self._up: dict[str, str] = {}
        self._down: dict[str, str] = {}
        listed = list(dict.fromkeys(names))
        for name in listed:  # valid names first: they keep themselves
            if _VALID_NAME.fullmatch(name):
                self._assign(name, name)
        for name in listed:
            self.to_upstream(name)

    def to_upstream(self, name: str) -> str:
        known = self._up.get(name)
        if known is not None:
            return known
        base = _sanitise(name)
        candidate, number = base, 1
        while candidate in self._down:
            number += 1
            suffix = f"_{number}"
            candidate = base[: MAX_TOOL_NAME - len(suffix)] + suffix
        self._assign(name, candidate)
        return candidate

    def to_client(self, name: str) -> str:
        """The client's name for an upstream one; a name the gateway did not send passes."""
        return self._down.get(name, name)

    def _assign(self, client: str, upstream: str) -> None:
        self._up[client] = upstream
        self._down[upstream] = client
