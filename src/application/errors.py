"""Errors a use case reports to a client; entrypoints render them in the client's wire format."""

from __future__ import annotations


class GatewayError(Exception):
    """An error with an HTTP status, an OpenAI-style `type` and a stable `code`."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.headers = headers or {}


def invalid_request(message: str, *, param: str | None = None) -> GatewayError:
    return GatewayError(400, message, code="invalid_request", param=param)


def authentication_failed(message: str = "invalid or missing API key") -> GatewayError:
    return GatewayError(401, message, type="authentication_error", code="invalid_api_key")


def model_not_found(model: str) -> GatewayError:
    return GatewayError(404, f"provider not found: {model}", code="model_not_found", param="model")


def no_available_accounts(provider_id: str) -> GatewayError:
    return GatewayError(
        503,
        f"no available accounts for provider {provider_id}",
        type="service_unavailable",
        code="no_available_accounts",
    )


def upstream_unavailable(provider_id: str) -> GatewayError:
    return GatewayError(
        502,
        f"failed to connect to provider {provider_id}",
        type="upstream_error",
        code="upstream_unavailable",
    )


class ValidationFailed(ValueError):
    """An admin write with values that break a rule (HTTP 422)."""


class ServiceUnavailable(RuntimeError):
    """A dependency the use case needs is down (HTTP 503)."""
