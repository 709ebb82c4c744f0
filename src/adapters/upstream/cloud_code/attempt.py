"""What every Cloud Code attempt's answer goes through, whatever the client gets back.

- A stream is held until its first event with content (a part) or an error, not just its first
  event: a stream with no parts at all is empty, and is asked for once more on the same URL
  before it counts as a failed attempt.
- A client that wants a whole answer from a model that only answers completely as a stream
  (Claude, thinking models) gets the stream read to its end and assembled into one answer
  (`_assembled`, the subclass's).
- A 200 whose reply text is the upstream's upgrade notice is a `Refusal` (status 200, the text
  as its body): the classifier tells the operator to raise the client version.
- A 404 for a model the provider or the account lists is marked `model_known`: that is the
  client-version gate, not a missing model.

`CloudCodeAttempt` holds no state of its own (its subclasses declare the slots): a translated
exchange (`exchange.CloudCodeExchange`) and a relayed one (`relay.RelayExchange`) both build on
it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import msgspec

from aigateway.adapters.codecs.base import WireFormatError
from aigateway.adapters.codecs.sse import SSEEvent, SSEParser
from aigateway.adapters.upstream.exchange import (
    FIRST_EVENT_LIMIT,
    MAX_SUMMARY,
    _Exchange,
    _Held,
    error_summary,
)
from aigateway.application.ports.upstream import Answer, Refusal, UpstreamResponse
from aigateway.domain.errors import version_gate_notice

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


def chunk_parts(data: bytes) -> tuple[list[dict[str, Any]], bool]:
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


def parts_text(parts: list[dict[str, Any]]) -> str:
    """The reply text of parts (thoughts left out)."""
    return "".join(
        p["text"] for p in parts if isinstance(p.get("text"), str) and p.get("thought") is not True
    )


class CloudCodeAttempt(_Exchange):
    __slots__ = ()

    _model_known: bool
    _reopen: Reopen
    _upstream_stream: bool  # a whole answer asked on the stream method

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

    def _assembled(self, body: bytes) -> Answer | Refusal:
        """A whole stream that has content -> the one answer it makes."""
        raise NotImplementedError

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
                parts, is_error = chunk_parts(event.data)
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

    if TYPE_CHECKING:  # the subclass's: a 502 for an answer that cannot be read

        def _bad_answer(self, exc: Exception) -> Answer: ...

    async def answer(self) -> Answer | Refusal:
        return await self._whole()

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
            text = parts_text(parts)
            if text and version_gate_notice(text):
                return self._notice(text)
            return self._relay(held)
        return self._empty()  # not reached: the second pass returns

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
        parts, is_error = chunk_parts(event.data)
        if is_error:
            return []
        return parts or None
