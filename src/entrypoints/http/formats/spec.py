"""What the gateway needs to serve one client wire format."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import msgspec

from aigateway.adapters.codecs.base import WireCodec, api_error_from_gateway
from aigateway.application.errors import GatewayError
from aigateway.domain.llm import WireFormat


class ModelEntry(msgspec.Struct, frozen=True):
    id: str
    owned_by: str  # the provider id


class ClientFormat(msgspec.Struct, frozen=True, kw_only=True):
    format: WireFormat
    path: str  # the chat route
    codec: WireCodec  # renders this format's errors
    # body -> (model, stream), reading only what routing needs; raises GatewayError (400)
    head: Callable[[bytes], tuple[str, bool]]
    # client headers a same-format upstream may receive (lower-case)
    forwarded_headers: tuple[bytes, ...] = ()
    # `GET /v1/models` answers in this format when the client sends this header
    models_header: bytes | None = None
    render_models: Callable[[Sequence[ModelEntry], int], bytes]  # entries, created (epoch s)

    def render_error(self, error: GatewayError) -> bytes:
        return self.codec.encode_error(api_error_from_gateway(error))
