"""One Cloud Code attempt's answer: `TranslatedExchange` plus what this backend needs.

- A stream is held until its first event with content (a part) or an error, not just its first
  event: a stream with no parts at all is empty, and is asked for once more on the same URL
  before it counts as a failed attempt.
- A client that wants a whole answer from a model that only answers completely as a stream
  (Claude, thinking models) gets the stream read to its end and assembled into one answer.
- A 200 whose reply text is the upstream's upgrade notice is a `Refusal` (status 200, the text
  as its body): the classifier tells the operator to raise the client version.
- A 404 for a model the provider or the account lists is marked `model_known`: that is the
  client-version gate, not a missing model.
- The signatures of the calls in an answer are in the store before the client can see the
  calls: a whole answer is returned once they are written; a stream's chunk that carries a
  call is relayed once its signature is written (the client's next turn, which may reach
  another gateway process, cannot start earlier).
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Any

import msgspec

from aigateway.adapters.codecs.base import WireCodec, WireFormatError
from aigateway.adapters.codecs.gemini import GeminiCodec
from aigateway.adapters.codecs.sse import SSEEvent, SSEParser
from aigateway.adapters.upstream.cloud_code.answers import AnswerView, ViewedStream
from aigateway.adapters.upstream.exchange import (
    FIRST_EVENT_LIMIT,
    JSON,
    MAX_SUMMARY,
    TranslatedExchange,
    _Held,
    error_summary,
    port_usage,
)
from aigateway.application.ports.signatures import ThoughtSignatures
from aigateway.application.ports.upstream import Answer, Refusal, UpstreamResponse
from aigateway.domain.errors import error_in_success, version_gate_notice
from aigateway.domain.llm import (
    BlockKind,
    BlockStart,
    BlockStop,
    ChatResponse,
    MessageDelta,
    MessageStart,
    OpaquePart,
    Part,
    SignatureDelta,
    StopReason,
    StreamError,
    StreamEvent,
    TextDelta,
    TextPart,
    ThinkingDelta,
    ThinkingPart,
    ToolArgumentsDelta,
    ToolCallPart,
    Usage,
    parse_tool_arguments,
)

Reopen = Callable[[], Awaitable[UpstreamResponse]]


class _Probe(msgspec.Struct):
    """Just enough of a stream chunk to tell content, an error, or nothing yet."""

    candidates: list[_ProbeCandidate] = msgspec.field(default_factory=list)
    error: msgspec.Raw = msgspec.Raw(b"")
    response: _Probe | None = None


class _ProbeContent(msgspec.Struct):
    parts: list[dict[str, Any]] = msgspec.field(default_factory=list)


class _ProbeCandidate(msgspec.Struct):
    content: _ProbeContent | None = None


_probe = msgspec.json.Decoder(_Probe).decode


def _chunk_parts(data: bytes) -> tuple[list[dict[str, Any]], bool]:
    """A chunk's parts (envelope unwrapped), and whether it is an error."""
    try:
        found = _probe(data)
    except (msgspec.MsgspecError, RecursionError):
        return [], False
    inner = found.response if found.response is not None else found
    if bytes(inner.error) not in (b"", b"null") or bytes(found.error) not in (b"", b"null"):
        return [], True
    parts: list[dict[str, Any]] = []
    for candidate in inner.candidates:
        if candidate.content is not None:
            parts += candidate.content.parts
    return parts, False


def _parts_text(parts: list[dict[str, Any]]) -> str:
    return "".join(
        p["text"] for p in parts if isinstance(p.get("text"), str) and p.get("thought") is not True
    )


class _AnswerCodec(GeminiCodec):
    """The Gemini codec for one exchange: its answers seen through the request's view."""

    def __init__(self, base: GeminiCodec, view: AnswerView) -> None:
        super().__init__(effort_budgets=base.effort_budgets)
        self.view = view
        self.notice_text = ""  # the reply text of the latest whole answer (its start)

    def decode_response(self, body: bytes) -> ChatResponse:
        answer, self.notice_text = self.view.response(super().decode_response(body))
        return answer

    def stream_decoder(self) -> ViewedStream:  # type: ignore[override]
        return self.view.stream_decoder(super().stream_decoder())


class CloudCodeExchange(TranslatedExchange):
    __slots__ = ("_codec", "_model_known", "_reopen", "_signatures", "_upstream_stream", "_view")

    def __init__(
        self,
        response: UpstreamResponse,
        base: GeminiCodec,
        view: AnswerView,
        client: WireCodec,
        *,
        signatures: ThoughtSignatures,
        client_model: str,
        include_usage: bool,
        upstream_stream: bool,
        model_known: bool,
        reopen: Reopen,
    ) -> None:
        codec = _AnswerCodec(base, view)
        super().__init__(
            response, codec, client, client_model=client_model, include_usage=include_usage
        )
        self._codec = codec
        self._view = view
        self._signatures = signatures
        self._upstream_stream = upstream_stream
        self._model_known = model_known
        self._reopen = reopen

    async def _store_signatures(self) -> None:
        pending = self._view.pending
        if pending:
            self._view.pending = {}
            await self._signatures.remember(pending)

    # --- refusals ---------------------------------------------------------------------------

    def _refusal(self, body: bytes) -> Refusal:
        refusal = super()._refusal(body)
        if refusal.status == 404 and self._model_known:
            return msgspec.structs.replace(refusal, model_known=True)
        return refusal

    def _notice(self, text: str) -> Refusal:
        return Refusal(
            status=self._response.status,
            body=text.encode(),
            headers=self._response.headers,
            client_body=None,
            summary=f"client version refused: {text}"[:MAX_SUMMARY],
        )

    def _empty(self) -> Refusal:
        return Refusal(
            status=self._response.status,
            body=b"",
            headers=self._response.headers,
            client_body=None,
            summary="empty stream (retried once)",
        )

    async def _retry(self) -> None:
        await self._response.close()
        self._response = await self._reopen()

    # --- whole answers ----------------------------------------------------------------------

    def _success(self, body: bytes) -> Answer | Refusal:
        if error_in_success(body):
            return self._error_in_success(body, "error object inside a 2xx answer")
        try:
            answer = self._codec.decode_response(body)
        except Exception as exc:  # the upstream's answer cannot be read
            return self._bad_answer(exc)
        if version_gate_notice(self._codec.notice_text):
            return self._notice(self._codec.notice_text)
        return self._render(answer)

    def _render(self, answer: ChatResponse) -> Answer:
        self._usage = port_usage(answer.usage)
        try:
            answer = msgspec.structs.replace(answer, model=self._model)
            body = self._client.encode_response(answer, created=int(time.time()))
        except Exception as exc:  # the answer cannot be expressed in the client's format
            return self._bad_answer(exc)
        return Answer(status=self._response.status, content_type=JSON, body=body, usage=self._usage)

    async def answer(self) -> Answer | Refusal:
        result = await self._whole()
        if isinstance(result, Answer):
            await self._store_signatures()
        return result

    async def _whole(self) -> Answer | Refusal:
        if not self._upstream_stream:
            return await super().answer()
        for retried in (False, True):
            response = self._response
            body = await response.read()
            if response.status >= 400:
                return self._refusal(body)
            try:
                events = SSEParser().feed(body)
            except WireFormatError as exc:
                return self._bad_answer(exc)
            content = False
            for event in events:
                parts, is_error = _chunk_parts(event.data)
                if is_error:
                    summary = f"stream began with an error: {error_summary(event.data)}"
                    return self._error_in_success(event.data, summary)
                if parts:
                    content = True
                    break
            if content:
                return self._assembled(body)
            if not retried:
                await self._retry()
        return self._empty()

    def _assembled(self, body: bytes) -> Answer | Refusal:
        decoder = self._codec.stream_decoder()
        try:
            events = decoder.feed(body) + decoder.finish()
            answer = assemble(events)
        except Exception as exc:  # a stream that cannot be read or does not end properly
            return self._bad_answer(exc)
        if version_gate_notice(decoder.text):
            return self._notice(decoder.text)
        return self._render(answer)

    # --- streams ----------------------------------------------------------------------------

    async def open_stream(self) -> AsyncIterator[bytes] | Refusal:
        for retried in (False, True):
            response = self._response
            if response.status >= 400:
                return self._refusal(await response.read())
            held, parts = await self._hold_content()
            first = held.first
            if first is not None and not parts:  # held on an error event
                summary = f"stream began with an error: {error_summary(first.data)}"
                return self._error_in_success(first.data, summary)
            if first is None and held.ended:
                if not retried:
                    await self._retry()
                    continue
                return self._empty()
            text = _parts_text(parts)
            if text and version_gate_notice(text):
                return self._notice(text)
            return self._relay(held)
        return self._empty()  # not reached: the second pass returns

    async def _relay(self, held: _Held) -> AsyncIterator[bytes]:
        relayed = super()._relay(held)
        assert isinstance(relayed, AsyncGenerator)
        try:
            async for out in relayed:
                if self._view.pending:  # this chunk shows a call: its signature is stored first
                    await self._store_signatures()
                yield out
        finally:
            await relayed.aclose()

    async def _hold_content(self) -> tuple[_Held, list[dict[str, Any]]]:
        """Read until an event with parts (returned with its parts) or an error event (no
        parts), the end of the stream (`first` None, `ended`), or FIRST_EVENT_LIMIT bytes."""
        chunks = self._chunks = self._response.iter_chunks()
        parser = SSEParser()
        held: list[bytes] = []
        size = 0
        try:
            async for chunk in chunks:
                held.append(chunk)
                size += len(chunk)
                for event in parser.feed(chunk):
                    found = self._content(event)
                    if found is not None:
                        return _Held(held, event, ended=False), found
                if size > FIRST_EVENT_LIMIT:
                    return _Held(held, None, ended=False), []
            for event in parser.finish():
                found = self._content(event)
                if found is not None:
                    return _Held(held, event, ended=True), found
        except WireFormatError:  # not an error event: relayed, the decoder decides
            return _Held(held, None, ended=False), []
        return _Held(held, None, ended=True), []

    @staticmethod
    def _content(event: SSEEvent) -> list[dict[str, Any]] | None:
        """The event's parts when it has some, [] for an error event, None for neither."""
        if event.event == "error":
            return []
        parts, is_error = _chunk_parts(event.data)
        if is_error:
            return []
        return parts or None


def assemble(events: list[StreamEvent]) -> ChatResponse:
    """A whole stream's events -> the one answer they make (raises WireFormatError for a
    stream that failed or ended early)."""
    response_id, model = "", ""
    stop: StopReason | None = None
    usage: Usage | None = None
    blocks: dict[int, BlockStart] = {}
    texts: dict[int, list[str]] = {}
    signatures: dict[int, str] = {}
    order: list[int] = []
    for event in events:
        if isinstance(event, MessageStart):
            response_id, model = event.id, event.model
            usage = event.usage or usage
        elif isinstance(event, BlockStart):
            blocks[event.index] = event
            texts[event.index] = []
            order.append(event.index)
        elif isinstance(event, TextDelta | ThinkingDelta):
            texts.setdefault(event.index, []).append(event.text)
        elif isinstance(event, ToolArgumentsDelta):
            texts.setdefault(event.index, []).append(event.partial_json)
        elif isinstance(event, SignatureDelta):
            signatures[event.index] = event.signature
        elif isinstance(event, MessageDelta):
            stop = event.stop_reason or stop
            usage = event.usage or usage
        elif isinstance(event, StreamError):
            raise WireFormatError(event.message)
        elif isinstance(event, BlockStop):
            continue
    content: list[Part] = []
    for index in order:
        block = blocks[index]
        text = "".join(texts.get(index, ()))
        if block.kind is BlockKind.TEXT:
            content.append(TextPart(text))
        elif block.kind is BlockKind.THINKING:
            content.append(ThinkingPart(text=text, signature=signatures.get(index)))
        elif block.kind is BlockKind.TOOL_USE:
            arguments, raw = parse_tool_arguments(text)
            content.append(
                ToolCallPart(
                    id=block.id or "", name=block.name or "", arguments=arguments, raw_arguments=raw
                )
            )
        elif block.kind is BlockKind.OPAQUE:
            data, name = block.data, block.name or "part"
            content.append(OpaquePart(format=block.format or "", kind="part", name=name, data=data))
        else:
            raise WireFormatError(f"a {block.kind.value} block in a Cloud Code answer")
    return ChatResponse(
        id=response_id,
        model=model,
        content=tuple(content),
        stop_reason=stop,
        usage=usage or Usage(),
    )
