"""One Cloud Code attempt's answer for a client that is not Gemini: `TranslatedExchange` plus
what this backend needs (`attempt.CloudCodeAttempt`: the content hold, the empty-stream retry,
upgrade notices, the version gate's 404).

- A client that wants a whole answer from a model that only answers completely as a stream
  gets the stream's canonical events assembled into one answer (`assemble`).
- The signatures of the calls in an answer are in the store before the client can see the
  calls: a whole answer is returned once they are written; a stream's chunk that carries a
  call is relayed once its signature is written (the client's next turn, which may reach
  another gateway process, cannot start earlier).
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, AsyncIterator

import msgspec

from aigateway.adapters.codecs.base import WireCodec, WireFormatError
from aigateway.adapters.codecs.gemini import GeminiCodec
from aigateway.adapters.upstream.cloud_code.answers import AnswerView, ViewedStream
from aigateway.adapters.upstream.cloud_code.attempt import CloudCodeAttempt, Reopen
from aigateway.adapters.upstream.exchange import JSON, TranslatedExchange, _Held, port_usage
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


class CloudCodeExchange(CloudCodeAttempt, TranslatedExchange):
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
