"""What the gateway needs to serve one client endpoint: its route, wire format and operation,
how the client's key and the routing head are read, and how errors and model lists render."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

import msgspec

from aigateway.adapters.codecs.base import WireCodec, api_error_from_gateway
from aigateway.application.errors import GatewayError
from aigateway.domain.llm import Operation, WireFormat

Headers = Iterable[tuple[bytes, bytes]]


class ModelEntry(msgspec.Struct, frozen=True):
    id: str
    owned_by: str  # the provider id


class Target(msgspec.Struct, frozen=True):
    """The request line beyond the route: path parameters and the raw query string."""

    params: Mapping[str, str]
    query: str


def client_token(headers: Headers, query: str = "") -> str | None:
    """`Authorization: Bearer <key>` or `x-api-key: <key>`."""
    api_key = None
    for name, value in headers:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
        elif name == b"x-api-key":
            api_key = value.decode("latin-1").strip()
    return api_key or None


def body_head(
    head: Callable[[bytes], tuple[str, bool]],
) -> Callable[[bytes, Target], tuple[str, bool]]:
    """A head read from the body alone (the model and `stream` are fields of it)."""
    return lambda body, _target: head(body)


class ClientFormat(msgspec.Struct, frozen=True, kw_only=True):
    format: WireFormat
    path: str  # the route (Litestar syntax: may hold path parameters)
    codec: WireCodec  # renders this format's errors
    # body, target -> (model, stream), reading only what routing needs; raises GatewayError (400)
    head: Callable[[bytes, Target], tuple[str, bool]]
    operation: Operation = Operation.CHAT
    # headers, query string -> the client's key (None: it sent none)
    token: Callable[[Headers, str], str | None] = client_token
    # client headers a same-format upstream may receive (lower-case)
    forwarded_headers: tuple[bytes, ...] = ()
    # the format's model list: `GET models_path`, in this format when the client sends
    # `models_header` (the format without one answers the rest); None: no list of its own
    render_models: Callable[[Sequence[ModelEntry], int], bytes] | None = None  # entries, epoch s
    models_path: str = "/v1/models"
    models_header: bytes | None = None
    # the endpoint is the subtree under `path`: `POST path/<target>` (the rest of the path is
    # the `target` parameter); `GET path` is the model list there (`models_path` is `path`)
    mounted: bool = False

    def render_error(self, error: GatewayError) -> bytes:
        return self.codec.encode_error(api_error_from_gateway(error))
