"""Tool lists as clients send them: converted once per exact JSON, schemas kept with theirs.

Agents send the same tools on every turn (a long list: names, descriptions, JSON schemas). A
codec that reads a client's `tools` array keeps the canonical tools it made of it in a
`ToolLists` cache, keyed by the array's bytes, and the next identical array costs one lookup.
The JSON of each schema is kept alongside (`schema_json`): an encoder that writes a schema
unchanged writes those bytes instead of encoding the dict again, and a schema transformed per
target (Gemini's cleaning) is remembered under them.

The cached tools, and the schema dicts in them, are shared by every request that sent the
same array: nothing may mutate them (the codecs build new dicts for what they change).
Bounded: at most `max_entries` lists per cache, each at most `max_bytes` long (longer ones
are converted every time and not kept).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeVar

import msgspec

from aigateway.adapters.codecs.base import convert, decode_body, json_encode, present
from aigateway.domain.llm import OpaquePart, Tool

ToolList = tuple[Tool | OpaquePart, ...]

MAX_ENTRIES = 32
MAX_BYTES = 128 * 1024

# id(schema dict) -> (the dict, its JSON as the client sent it), for the schemas of the cached
# lists; an entry holds its dict, so no other object can take its id while it is here.
_schema_json: dict[int, tuple[Any, bytes]] = {}


def schema_json(schema: Any) -> msgspec.Raw | None:
    """The JSON a cached tool list's schema came as, or None for any other value."""
    entry = _schema_json.get(id(schema))
    return msgspec.Raw(entry[1]) if entry is not None and entry[0] is schema else None


def as_sent(schema: Any) -> Any:
    """A schema to write unchanged: its JSON when a cached list holds it, else itself."""
    found = schema_json(schema)
    return schema if found is None else found


def schema_key(schema: Any) -> bytes:
    """The JSON of a schema, to key what is made of it: as it came, or encoded."""
    entry = _schema_json.get(id(schema))
    return entry[1] if entry is not None and entry[0] is schema else json_encode(schema)


class ToolLists:
    """One codec's cache of converted tool lists (see the module's docstring)."""

    def __init__(self, *, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> None:
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._lists: OrderedDict[bytes, tuple[ToolList, list[int]]] = OrderedDict()

    def get(
        self,
        raw: bytes,
        convert: Callable[[bytes], tuple[ToolList, Iterable[tuple[Any, bytes]]] | None],
    ) -> ToolList | None:
        """The tools of the JSON array `raw`: cached, or `convert(raw)` (the tools and each
        schema with its JSON; None when the array is not of the shape the codec converts
        here), kept when short enough."""
        found = self._lists.get(raw)
        if found is not None:
            self._lists.move_to_end(raw)
            return found[0]
        converted = convert(raw)
        if converted is None:
            return None
        tools, schemas = converted
        if len(raw) > self._max_bytes:
            return tools
        ids = []
        for schema, json in schemas:
            _schema_json[id(schema)] = (schema, json)
            ids.append(id(schema))
        self._lists[raw] = (tools, ids)
        if len(self._lists) > self._max_entries:
            _, (_, evicted) = self._lists.popitem(last=False)
            for schema_id in evicted:
                _schema_json.pop(schema_id, None)
        return tools


class TypedRequest(Protocol):
    @property
    def tools(self) -> msgspec.Raw: ...


Typed = TypeVar("Typed", bound=TypedRequest)
General = TypeVar("General")
ToolsIn = Callable[[bytes], tuple[ToolList, Iterable[tuple[Any, bytes]]] | None]


def decode_request_body(
    body: bytes,
    typed: Callable[[bytes], Typed],
    general: type[General],
    tool_lists: ToolLists,
    tools_in: ToolsIn,
) -> tuple[Typed, None, ToolList] | tuple[General, dict[str, Any], None]:
    """A client body in one typed pass (`typed`, its `tools` through `tool_lists`) when it is
    of the common shape: (request, None, its tools). Any other body, every bad one included,
    is decoded generically and validated as `general`: (request, the document, None); the
    caller goes on through the same code either way, so both give the same request and the
    same 400s."""
    try:
        wire = typed(body)
        tools: ToolList | None = ()
        if present(wire.tools):
            tools = tool_lists.get(bytes(wire.tools), tools_in)
        if tools is not None:
            return wire, None, tools
    except (msgspec.MsgspecError, RecursionError):
        pass
    document = decode_body(body)
    return convert(document, general, None), document, None
