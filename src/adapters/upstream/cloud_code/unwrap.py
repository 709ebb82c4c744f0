"""Cloud Code answers for a Gemini client: the envelope taken off, the Gemini answer relayed as
the upstream's bytes.

An answer, whole or per SSE event, is `{"response": <Gemini answer>, "traceId": ...}` (some carry
the answer at the root): the client gets the bytes of `response`, sliced out (`msgspec.Raw`),
not decoded and encoded again. Read on the side: the usage (`usageMetadata`), whether a
`finishReason` came, and the text of the parts (for the upgrade notice).

- Streams (`StreamUnwrap`): Cloud Code puts `finishReason` on the last content chunk and
  `usageMetadata` on a chunk after it, but a Gemini client (Gemini CLI) takes a stream whose
  last chunk has no `finishReason` for a broken one. So the finish chunk is held until the
  stream ends, and what later chunks without parts bring (their usage, above all) is merged
  into it. A stream that ends without a `finishReason`, or breaks, ends with an error event in
  Gemini's format; an upstream error event is relayed as it came and ends the stream.
- Whole answers from a stream (`assemble`): the chunks' parts in order (adjacent text of one
  kind joined), the last `finishReason`, the last `usageMetadata`.
- Claude (`ClaudeCalls`): calls go back with the client's tool names and without the
  placeholder arguments of the strict schemas; only a chunk that holds a `functionCall` is
  decoded and written again.
"""

from __future__ import annotations

from typing import Any

import msgspec

from aigateway.adapters.codecs.base import ABSENT, WireFormatError, json_encode, present
from aigateway.adapters.codecs.gemini import error_body
from aigateway.adapters.codecs.sse import ENDED_EARLY, SSEEvent, SSEParser, frame
from aigateway.adapters.upstream.cloud_code.tools import ToolNames, drop_placeholders
from aigateway.adapters.upstream.exchange import error_summary
from aigateway.application.ports.upstream import Usage
from aigateway.domain.llm import ErrorType

_encode = msgspec.json.Encoder().encode
_decode_top = msgspec.json.Decoder(dict[str, msgspec.Raw]).decode
_decode_object = msgspec.json.Decoder(dict[str, Any]).decode


class _Envelope(msgspec.Struct):
    response: msgspec.Raw = ABSENT


class _Part(msgspec.Struct):
    text: Any = None
    thought: Any = None


class _Content(msgspec.Struct):
    parts: list[_Part] = msgspec.field(default_factory=list)


class _Candidate(msgspec.Struct):
    content: _Content | None = None
    finishReason: str | None = None


class _Usage(msgspec.Struct):
    promptTokenCount: int | None = None
    candidatesTokenCount: int | None = None
    thoughtsTokenCount: int | None = None


class _Answer(msgspec.Struct):
    candidates: list[_Candidate] | None = None
    usageMetadata: _Usage | None = None
    error: msgspec.Raw = ABSENT


_decode_envelope = msgspec.json.Decoder(_Envelope).decode
_decode_answer = msgspec.json.Decoder(_Answer).decode


class Chunk(msgspec.Struct, frozen=True):
    """One Gemini answer (a whole one, or a stream's chunk) out of its envelope."""

    inner: bytes  # the Gemini answer's bytes, as the upstream sent them
    parts: int
    text: str  # the reply text (thoughts left out)
    finished: bool  # it carries a finishReason
    usage: Usage | None
    error: bool  # it is an error object


def read_chunk(data: bytes) -> Chunk:
    """The Gemini answer inside `data` (raises WireFormatError for what is not one)."""
    try:
        envelope = _decode_envelope(data)
        inner = bytes(envelope.response) if present(envelope.response) else data
        answer = _decode_answer(inner)
    except (msgspec.MsgspecError, RecursionError) as exc:
        raise WireFormatError(f"not a Gemini answer: {str(exc)[:200]}") from None
    if present(answer.error):
        return Chunk(inner, 0, "", finished=False, usage=None, error=True)
    parts = 0
    text: list[str] = []
    finished = False
    for candidate in answer.candidates or ():
        finished = finished or candidate.finishReason is not None
        if candidate.content is not None:
            parts += len(candidate.content.parts)
            text += [
                p.text
                for p in candidate.content.parts
                if isinstance(p.text, str) and p.thought is not True
            ]
    found = answer.usageMetadata
    usage = None
    if found is not None:
        output = (found.candidatesTokenCount or 0) + (found.thoughtsTokenCount or 0)
        usage = Usage(found.promptTokenCount or 0, output)
    return Chunk(inner, parts, "".join(text), finished=finished, usage=usage, error=False)


def _event(inner: bytes) -> bytes:
    """An SSE event holding `inner` on one line (outside strings, JSON may break lines only
    where a space would do)."""
    if b"\n" in inner or b"\r" in inner:
        inner = inner.replace(b"\r", b" ").replace(b"\n", b" ")
    return frame(inner)


def error_event(message: str) -> bytes:
    return frame(error_body(message, type=ErrorType.API_ERROR))


class ClaudeCalls:
    """Claude's function calls as the client declared them: its tool names, no placeholders."""

    __slots__ = ("_names", "_schemas")

    def __init__(self, names: ToolNames, schemas: dict[str, Any]) -> None:
        self._names = names
        self._schemas = schemas

    def edit(self, inner: bytes) -> bytes:
        if b'"functionCall"' not in inner:
            return inner
        try:
            answer = _decode_object(inner)
        except (msgspec.MsgspecError, RecursionError) as exc:
            raise WireFormatError(f"not a Gemini answer: {str(exc)[:200]}") from None
        for candidate in answer.get("candidates") or ():
            content = candidate.get("content") if isinstance(candidate, dict) else None
            parts = content.get("parts") if isinstance(content, dict) else None
            for part in parts if isinstance(parts, list) else ():
                call = part.get("functionCall") if isinstance(part, dict) else None
                if isinstance(call, dict) and isinstance(call.get("name"), str):
                    self._call(call)
        return json_encode(answer)

    def _call(self, call: dict[str, Any]) -> None:
        name = call["name"] = self._names.to_client(call["name"])
        schema = self._schemas.get(name)
        if schema is not None and "args" in call:
            call["args"] = drop_placeholders(call["args"], schema)


class StreamUnwrap:
    """A Cloud Code stream, split anywhere -> the Gemini stream a client gets."""

    __slots__ = ("_calls", "_done", "_finished", "_held", "_parser", "error", "usage")

    def __init__(self, calls: ClaudeCalls | None = None) -> None:
        self._calls = calls
        self._parser = SSEParser()
        self._held: bytes | None = None  # the chunk with the finishReason, not yet relayed
        self._finished = False
        self._done = False
        self.usage: Usage | None = None
        self.error: str | None = None  # the stream ended in an error (its event relayed)

    @property
    def done(self) -> bool:
        """The stream has ended for the client (an error event was relayed)."""
        return self._done

    def feed(self, data: bytes) -> bytes:
        """What the client gets for these bytes (raises WireFormatError for a broken stream)."""
        return self._relay(self._parser.feed(data))

    def finish(self) -> bytes:
        """The upstream stream ended."""
        out = self._relay(self._parser.finish())
        if self._done:
            return out
        if not self._finished:
            return out + self.fail(ENDED_EARLY)
        self._done = True
        return out + self._flush()

    def fail(self, message: str) -> bytes:
        """The stream broke: what is held, then an error event."""
        if self._done:
            return b""
        self._done = True
        self.error = message
        return self._flush() + error_event(message)

    def _relay(self, events: list[SSEEvent]) -> bytes:
        out: list[bytes] = []
        for event in events:
            if self._done:
                break
            if event.is_done or not event.data.strip():
                continue
            chunk = read_chunk(event.data)
            if chunk.error:
                self._done = True
                self.error = f"upstream stream error: {error_summary(chunk.inner)}"
                out += [self._flush(), _event(chunk.inner)]
                continue
            if chunk.usage is not None:
                self.usage = chunk.usage
            inner = chunk.inner if self._calls is None else self._calls.edit(chunk.inner)
            if self._held is not None:
                if not chunk.parts:
                    self._held = _merged(self._held, inner)
                    continue
                out.append(self._flush())
            if chunk.finished:
                self._finished = True
                self._held = inner
            else:
                out.append(_event(inner))
        return b"".join(out)

    def _flush(self) -> bytes:
        held, self._held = self._held, None
        return _event(held) if held is not None else b""


def _merged(held: bytes, later: bytes) -> bytes:
    """The held finish chunk with what a later chunk without parts adds (its candidates, which
    hold no content, aside)."""
    top = _decode_top(held)
    for key, value in _decode_top(later).items():
        if key != "candidates":
            top[key] = value
    return _encode(top)


class Assembled(msgspec.Struct, frozen=True):
    body: bytes
    usage: Usage | None
    text: str


def assemble(body: bytes, calls: ClaudeCalls | None = None) -> Assembled:
    """A whole Cloud Code stream -> the one Gemini answer it makes (raises WireFormatError for a
    stream that failed or ended early)."""
    parser = SSEParser()
    answer: dict[str, Any] = {}
    candidate: dict[str, Any] = {}
    parts: list[Any] = []
    usage: Usage | None = None
    finished = False
    for event in parser.feed(body) + parser.finish():
        if event.is_done or not event.data.strip():
            continue
        chunk = read_chunk(event.data)
        if chunk.error:
            raise WireFormatError(f"upstream stream error: {error_summary(chunk.inner)}")
        finished = finished or chunk.finished
        usage = chunk.usage or usage
        found = _decode_object(chunk.inner)
        candidates = found.pop("candidates", None)
        answer.update(found)
        first = candidates[0] if isinstance(candidates, list) and candidates else None
        if isinstance(first, dict):
            content = first.pop("content", None)
            if isinstance(content, dict) and isinstance(content.get("parts"), list):
                parts += content["parts"]
            candidate.update(first)
    if not finished:
        raise WireFormatError(ENDED_EARLY)
    joined = _joined(parts)
    whole = {"candidates": [{"content": {"role": "model", "parts": joined}, **candidate}], **answer}
    text = "".join(p["text"] for p in joined if _text_only(p) and p.get("thought") is not True)
    out = json_encode(whole)
    return Assembled(out if calls is None else calls.edit(out), usage, text)


_TEXTS = frozenset({"text", "thought", "thoughtSignature"})


def _text_only(part: Any) -> bool:
    return isinstance(part, dict) and isinstance(part.get("text"), str) and part.keys() <= _TEXTS


def _joined(parts: list[Any]) -> list[Any]:
    """Adjacent text parts of one kind (reply or thought) as one part; a part that carries a
    signature ends its run (the signature stays on the text it came with)."""
    out: list[Any] = []
    for part in parts:
        previous: Any = out[-1] if out else None
        if (
            _text_only(previous)
            and _text_only(part)
            and (previous.get("thought") is True) == (part.get("thought") is True)
            and "thoughtSignature" not in previous
        ):
            out[-1] = {**previous, **part, "text": previous["text"] + part["text"]}
        else:
            out.append(part)
    return out
