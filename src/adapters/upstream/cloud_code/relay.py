"""One Cloud Code attempt's answer for a Gemini client: relayed, not translated.

Whether the attempt failed is decided as for any client (`attempt.CloudCodeAttempt`: error
statuses and error objects by the raw answer, the content hold, the empty-stream retry, the
upgrade notice, the version gate's 404). A success reaches the client as the Gemini answer
inside the envelope (`unwrap`): a whole answer as its bytes, a stream event by event, a whole
answer from a stream assembled. The upstream's errors are Google's errors already: the client
gets them as they came (with their `details`, such as `RetryInfo`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import msgspec

from aigateway.adapters.codecs.gemini import GeminiCodec
from aigateway.adapters.upstream.cloud_code.attempt import CloudCodeAttempt, Reopen
from aigateway.adapters.upstream.cloud_code.unwrap import (
    ClaudeCalls,
    StreamUnwrap,
    assemble,
    read_chunk,
)
from aigateway.adapters.upstream.exchange import JSON, _Held, describe
from aigateway.application.ports.upstream import (
    Answer,
    Refusal,
    UpstreamResponse,
    UpstreamUnavailable,
    Usage,
)
from aigateway.domain.errors import error_in_success, version_gate_notice
from aigateway.domain.llm import ApiError, ErrorType

log = logging.getLogger(__name__)

_CODEC = GeminiCodec()


class _ErrorTop(msgspec.Struct):
    error: dict[str, object] | None = None


_decode_error_top = msgspec.json.Decoder(_ErrorTop).decode


class RelayExchange(CloudCodeAttempt):
    __slots__ = ("_calls", "_model_known", "_reopen", "_unwrap", "_upstream_stream", "_usage")

    def __init__(
        self,
        response: UpstreamResponse,
        *,
        calls: ClaudeCalls | None,
        upstream_stream: bool,
        model_known: bool,
        reopen: Reopen,
    ) -> None:
        super().__init__(response, _CODEC)
        self._calls = calls
        self._upstream_stream = upstream_stream
        self._model_known = model_known
        self._reopen = reopen
        self._unwrap: StreamUnwrap | None = None
        self._usage: Usage | None = None

    @property
    def usage(self) -> Usage | None:
        return self._unwrap.usage if self._unwrap is not None else self._usage

    def _render_error(self, status: int, body: bytes) -> bytes:
        try:
            found = _decode_error_top(body)
        except (msgspec.MsgspecError, RecursionError):
            found = None
        if found is not None and found.error is not None:
            return body
        return _CODEC.encode_error(_CODEC.decode_error(status, body))

    def _bad_answer(self, exc: Exception) -> Answer:
        message = f"bad upstream answer: {describe(exc)}"
        log.warning("%s", message)
        body = _CODEC.encode_error(ApiError(status=502, type=ErrorType.API_ERROR, message=message))
        return Answer(status=502, content_type=JSON, body=body, usage=None, error=message)

    # --- whole answers ----------------------------------------------------------------------

    def _success(self, body: bytes) -> Answer | Refusal:
        if error_in_success(body):
            return self._error_in_success(body, "error object inside a 2xx answer")
        try:
            chunk = read_chunk(body)
            inner = chunk.inner if self._calls is None else self._calls.edit(chunk.inner)
        except Exception as exc:  # the upstream's answer cannot be read
            return self._bad_answer(exc)
        if version_gate_notice(chunk.text):
            return self._notice(chunk.text)
        self._usage = chunk.usage
        return Answer(
            status=self._response.status, content_type=JSON, body=inner, usage=chunk.usage
        )

    def _assembled(self, body: bytes) -> Answer | Refusal:
        try:
            whole = assemble(body, self._calls)
        except Exception as exc:  # a stream that cannot be read or does not end properly
            return self._bad_answer(exc)
        if version_gate_notice(whole.text):
            return self._notice(whole.text)
        self._usage = whole.usage
        return Answer(
            status=self._response.status, content_type=JSON, body=whole.body, usage=whole.usage
        )

    # --- streams ----------------------------------------------------------------------------

    async def _relay(self, held: _Held) -> AsyncIterator[bytes]:
        unwrap = self._unwrap = StreamUnwrap(self._calls)
        try:
            out = unwrap.feed(b"".join(held.chunks))
            if out:
                yield out
            if not held.ended:
                async for chunk in self._rest():
                    out = unwrap.feed(chunk)
                    if out:
                        yield out
                    if unwrap.done:
                        break
            tail = unwrap.finish()
        except UpstreamUnavailable as exc:
            tail = unwrap.fail(f"upstream stream broke: {exc}")
        except Exception as exc:  # a chunk that cannot be read is the upstream's fault
            log.warning("bad upstream stream: %s", describe(exc))
            tail = unwrap.fail(f"bad upstream stream: {describe(exc)}")
        self.stream_error = unwrap.error
        if tail:
            yield tail
