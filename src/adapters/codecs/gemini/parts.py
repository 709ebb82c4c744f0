"""Gemini parts <-> canonical parts (ids, thought signatures, function responses)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aigateway.adapters.codecs.base import convert, json_encode
from aigateway.adapters.codecs.gemini.wire import (
    FORMAT,
    SKIP_SIGNATURE,
    WireFileData,
    WireFunctionCall,
    WireFunctionResponse,
    WireInlineData,
    next_call_id,
    opaque_unsupported,
    unsupported,
)
from aigateway.application.errors import invalid_request
from aigateway.domain.llm import (
    ImagePart,
    OpaquePart,
    Part,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolResultContent,
    ToolResultPart,
)

# --- decoding parts ---------------------------------------------------------------------------


class Ids:
    """Tool-call ids of one conversation: synthesised when missing, matched to responses."""

    __slots__ = ("counter", "names", "pending")

    def __init__(self) -> None:
        self.counter = [0]
        self.names: dict[str, str] = {}  # id -> function name
        self.pending: list[tuple[str, str]] = []  # (id, name) of calls not answered yet

    def call(self, given: str | None, name: str) -> str:
        call_id = next_call_id(given, self.counter)
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
        return next_call_id(None, self.counter)


def _signature(raw: dict[str, Any], path: str) -> str | None:
    signature = raw.get("thoughtSignature")
    if signature is None:
        return None
    if not isinstance(signature, str):
        raise invalid_request(f"{path}.thoughtSignature must be a string", param=path)
    return None if signature == SKIP_SIGNATURE else signature


def _result_content_in(response: Any) -> tuple[tuple[ToolResultContent, ...], bool]:
    """`{"output": text}` (Gemini's documented key, Gemini CLI's), `{"result": text}` or
    `{"error": text}` is that text; any other response is its JSON."""
    if isinstance(response, dict) and len(response) == 1:
        ((key, value),) = response.items()
        if key in ("output", "result", "error") and isinstance(value, str):
            return ((TextPart(value),) if value else ()), key == "error"
    if response is None or response == {}:
        return (), False
    return (TextPart(json_encode(response).decode()),), False


def parts_in(raw_parts: list[dict[str, Any]], path: str, ids: Ids) -> list[Part]:
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


def _part_in(raw: dict[str, Any], path: str, ids: Ids) -> Part:
    if "text" in raw:
        text = raw["text"]
        if not isinstance(text, str):
            raise invalid_request(f"{path}.text must be a string", param=f"{path}.text")
        return TextPart(text)
    if "inlineData" in raw:
        inline = convert(raw["inlineData"], WireInlineData, f"{path}.inlineData")
        return ImagePart(media_type=inline.mimeType, data=inline.data)
    if "fileData" in raw:
        file = convert(raw["fileData"], WireFileData, f"{path}.fileData")
        return ImagePart(media_type=file.mimeType, url=file.fileUri)
    if "functionCall" in raw:
        call = convert(raw["functionCall"], WireFunctionCall, f"{path}.functionCall")
        return ToolCallPart(
            id=ids.call(call.id, call.name),
            name=call.name,
            arguments=call.args if call.args is not None else {},
        )
    if "functionResponse" in raw:
        answer = convert(raw["functionResponse"], WireFunctionResponse, f"{path}.functionResponse")
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
            raise opaque_unsupported(item)
    answer: dict[str, Any] = {"name": name, "response": {}}
    if part.tool_call_id:
        answer = {"id": part.tool_call_id, **answer}
    if texts or part.is_error:
        answer["response"] = {("error" if part.is_error else "result"): "\n".join(texts)}
    return [{"functionResponse": answer}, *images]


def parts_out(
    parts: Iterable[Part], names: dict[str, str], *, request: bool
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    pending: str | None = None  # a signature-only thinking part: goes on the next part
    for part in parts:
        if isinstance(part, ThinkingPart):
            if part.redacted_data is not None:
                if request:
                    continue  # another model's encrypted reasoning cannot be sent to Gemini
                raise unsupported("redacted thinking")
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
                raise unsupported("a tool result in a model answer")
            wire, *images = _result_out(part, names.get(part.tool_call_id, part.tool_call_id))
            if pending is not None:
                wire["thoughtSignature"] = pending
                pending = None
            out += [wire, *images]
            continue
        elif part.format == FORMAT:
            wire = dict(part.data)
        else:
            raise opaque_unsupported(part)
        if pending is not None:
            wire["thoughtSignature"] = pending
            pending = None
        out.append(wire)
    if pending is not None:
        out.append({"text": "", "thought": True, "thoughtSignature": pending})
    return out
