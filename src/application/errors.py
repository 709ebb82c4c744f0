"""Errors a use case reports to a client, format-neutral: each client wire format renders them
(OpenAI's error object, Anthropic's, Google's) from the status, the canonical error type, a
stable `code` and the message."""

from __future__ import annotations

from collections.abc import Sequence

from aigateway.domain.llm import ErrorType, error_type_for_status


class GatewayError(Exception):
    """An error with an HTTP status, a canonical error type and a stable `code`."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: ErrorType | None = None,
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type or error_type_for_status(status)
        self.code = code
        self.param = param
        self.headers = headers or {}


def invalid_request(message: str, *, param: str | None = None) -> GatewayError:
    return GatewayError(400, message, code="invalid_request", param=param)


def authentication_failed(message: str = "invalid or missing API key") -> GatewayError:
    return GatewayError(401, message, code="invalid_api_key")


def model_not_found(model: str) -> GatewayError:
    return GatewayError(404, f"provider not found: {model}", code="model_not_found", param="model")


def no_available_accounts(provider_id: str, reasons: Sequence[str] = ()) -> GatewayError:
    """`reasons`: why accounts that exist cannot be used (e.g. their proxy is down)."""
    message = f"no available accounts for provider {provider_id}"
    if reasons:
        message += ": " + "; ".join(reasons)
    return GatewayError(503, message, code="no_available_accounts")


def upstream_unavailable(provider_id: str) -> GatewayError:
    return GatewayError(
        502,
        f"failed to connect to provider {provider_id}",
        type=ErrorType.API_ERROR,
        code="upstream_unavailable",
    )


def client_version_outdated(provider_id: str) -> GatewayError:
    return GatewayError(
        502,
        f"provider {provider_id} refuses the gateway's Antigravity client version as outdated; "
        "the operator must raise config.client_version of the provider",
        type=ErrorType.API_ERROR,
        code="client_version_outdated",
    )


def internal_error() -> GatewayError:
    return GatewayError(500, "internal error", type=ErrorType.API_ERROR, code="internal_error")


class ValidationFailed(ValueError):
    """An admin write with values that break a rule (HTTP 422)."""


class ServiceUnavailable(RuntimeError):
    """A dependency the use case needs is down (HTTP 503)."""


class UpstreamRefused(RuntimeError):
    """An upstream the operator's action needed refused it or was away (HTTP 502); the
    message is operator text (never a credential)."""
