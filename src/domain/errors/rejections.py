"""Failures that are the request's own: they go back to the client and cool nothing down."""

from __future__ import annotations

from aigateway.domain.errors import codes
from aigateway.domain.errors.call import Call
from aigateway.domain.errors.failure import Failure, FailureAction, FailureCategory

_CLIENT_TEXT = {
    400: "request rejected as invalid",
    413: "request too large",
    422: "request could not be processed",
}


def client_error(call: Call, text: str | None = None) -> Failure:
    code = call.code(codes.CLIENT)
    words = text or _CLIENT_TEXT.get(call.status, "request rejected")
    return Failure(
        category=FailureCategory.CLIENT_ERROR,
        action=FailureAction.RETURN_TO_CLIENT,
        reason=call.reason(words + "; returned to the client", code),
        status=call.status,
        code=code,
    )


def client_outdated(call: Call) -> Failure:
    """The upstream refuses the gateway's client version: every account would answer the
    same, and none is at fault. Nothing rests, nothing is disabled, no other account is
    tried; the operator must raise the provider's client version."""
    code = call.code(codes.NOT_FOUND)
    return Failure(
        category=FailureCategory.CLIENT_OUTDATED,
        action=FailureAction.RETURN_TO_CLIENT,
        reason=call.reason(
            "the upstream refuses the gateway's client version as outdated; raise "
            "config.client_version of the provider",
            code,
        ),
        status=call.status,
        code=code,
    )


def not_found(call: Call) -> Failure:
    """The model or endpoint the request named. Models are a provider's, not an account's,
    and a client may pick names through a pattern: every account would answer the same, so
    the client gets the answer and no account+model rests."""
    code = call.code(codes.NOT_FOUND)
    return Failure(
        category=FailureCategory.NOT_FOUND,
        action=FailureAction.RETURN_TO_CLIENT,
        reason=call.reason("model or endpoint not found; returned to the client", code),
        status=call.status,
        code=code,
    )
