"""A fake Cloud Code (`v1internal`) backend, as Antigravity reaches it with Google OAuth tokens.

`with FakeCloudCode(tokens={"ya29.a"}) as fake:`; `fake.base_url` is the server root (callers
append `/v1internal:<method>`). Every call is recorded in `fake.calls` (method, bearer token,
headers, parsed and raw body; `inner_raw` is the bytes of the envelope's `request`). A bearer
token not in `fake.tokens` gets a 401 UNAUTHENTICATED.

Methods and their real shapes (late-2026 behaviour):
- `generateContent`: envelope `{project, model, userAgent, requestType, requestId, request}` in,
  `{"response": {candidates, usageMetadata, modelVersion, responseId}, "traceId"}` out.
- `streamGenerateContent?alt=sse`: one `data: <envelope>` line per chunk, the text split over
  `stream_chunks` chunks, `finishReason` on the last content chunk, `usageMetadata` on a later
  chunk with the same `traceId` (`usage_apart`), no `[DONE]`. `empty_streams` answers that many
  streams with no parts at all (a lone finish chunk) before real ones.
- `countTokens`: `{"request": {"model": "models/<model>", "contents"}}` (no envelope) ->
  `{"totalTokens": n}`, n the words of the contents' parts.
- `loadCodeAssist`: `cloudaicompanionProject` (the string `project`, or `{"id": ...}` with
  `project_as_object`; absent when `project` is None and nobody onboarded), `currentTier`,
  `allowedTiers[{id, isDefault}]`.
- `onboardUser`: snake_case `tier_id` and `metadata.ide_type` required; a long-running
  operation: `done: false` for `onboard_pending` polls, then `done: true` with
  `response.cloudaicompanionProject.id` = `onboard_project` (loadCodeAssist answers it after).
- `fetchAvailableModels`: `models` keyed by runtime id (`displayName`, `quotaInfo`,
  `maxOutputTokens`, a `model: "MODEL_PLACEHOLDER_..."` that must not be sent back) and
  `deprecatedModelIds`.

Generation answers:
- `errors[model]` (or `errors["*"]`): that status and body instead (see `quota_exhausted`,
  `no_capacity`, `validation_required`, `tos_violation`, `not_found`), `error_headers` alike;
  `key_errors[token]` likewise for one account's calls (countTokens included).
- The version gate: a User-Agent version below `min_version` gets, for a model in
  `gated_models`, a 404 NOT_FOUND; for any other model a 200 whose reply text is `UPGRADE_TEXT`.
- Gemini rules: the first content must be a user turn; the first `functionCall` part of a
  model turn sent back without a `thoughtSignature` is a 400 (`MISSING_SIGNATURE`); a signature
  other than the one the fake issued on that call is a 400 too, except `SKIP_SIGNATURE`, which
  Gemini accepts for turns it did not sign. The fake issues a signature on every function call
  of a `gemini-*` answer. Signatures are URL-safe base64, as Google's SDKs read and write them
  (they decode `thoughtSignature` to bytes).
- Claude rules (`claude-*`): tool declarations with `parametersJsonSchema` are refused
  (`tools.0.custom.input_schema: Field required`), tools need `mode: VALIDATED`, a
  `thoughtSignature` the fake did not issue is refused, empty text parts are refused.
- The script: tools offered and a last user turn of text -> a call of the first tool (or
  `tool_name`) with `tool_input` (after `tool_preamble` text, if set); a last turn holding
  `functionResponse` parts -> `"The tool said: <result>"`; else `reply_text`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

import msgspec
from aiohttp import web

from tests.fakes.openai_upstream import UpstreamServer, count_words, split_text

UPGRADE_TEXT = (
    "This version of Antigravity is no longer supported. "
    "Please upgrade to receive the latest features."
)
MISSING_SIGNATURE = (
    "Function call is missing a thought_signature in functionCall parts. This is required for"
    " tools to work correctly, and missing thought_signature may lead to degraded model"
    " performance. Additional data, function call `default_api:{name}` , position {position}."
    " Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details."
)
SKIP_SIGNATURE = "skip_thought_signature_validator"
_VERSION = re.compile(r"antigravity/(?:[a-z]+/)?(\d+(?:\.\d+)*)")
_DOMAIN = "cloudcode-pa.googleapis.com"
_TYPE = "type.googleapis.com/google.rpc."


# --- error bodies, as the real backend sends them ---------------------------------------------


def status_error(
    code: int, status: str, message: str, details: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details is not None:
        error["details"] = details
    return {"error": error}


def quota_exhausted(
    model: str,
    *,
    retry_delay: str = "12.5s",
    quota_reset_delay: str | None = None,
    reason: str = "RATE_LIMIT_EXCEEDED",
) -> tuple[int, dict[str, Any]]:
    metadata = {"model": model, "uiMessage": "true"}
    if quota_reset_delay is not None:
        metadata["quotaResetDelay"] = quota_reset_delay
    details: list[dict[str, Any]] = [
        {
            "@type": _TYPE + "ErrorInfo",
            "reason": reason,
            "domain": _DOMAIN,
            "metadata": metadata,
        },
        {"@type": _TYPE + "RetryInfo", "retryDelay": retry_delay},
    ]
    message = "You have exhausted your capacity on this model. Your quota will reset after 12s."
    return 429, status_error(429, "RESOURCE_EXHAUSTED", message, details)


def no_capacity(model: str) -> tuple[int, dict[str, Any]]:
    details: list[dict[str, Any]] = [
        {
            "@type": _TYPE + "ErrorInfo",
            "reason": "MODEL_CAPACITY_EXHAUSTED",
            "domain": _DOMAIN,
            "metadata": {"model": model},
        },
        {"@type": _TYPE + "RetryInfo", "retryDelay": "39s"},
    ]
    message = f"No capacity available for model {model} on the server"
    return 503, status_error(503, "UNAVAILABLE", message, details)


def validation_required(url: str) -> tuple[int, dict[str, Any]]:
    details: list[dict[str, Any]] = [
        {
            "@type": _TYPE + "ErrorInfo",
            "reason": "VALIDATION_REQUIRED",
            "domain": _DOMAIN,
            "metadata": {
                "validation_url": url,
                "validation_url_link_text": "Verify your account",
                "validation_error_message": "Verify your account to continue.",
            },
        }
    ]
    message = f"To continue, verify your account at\n\n{url}"
    return 403, status_error(403, "PERMISSION_DENIED", message, details)


def tos_violation(appeal_url: str) -> tuple[int, dict[str, Any]]:
    details: list[dict[str, Any]] = [
        {
            "@type": _TYPE + "ErrorInfo",
            "reason": "TOS_VIOLATION",
            "domain": _DOMAIN,
            "metadata": {
                "appeal_url": appeal_url,
                "appeal_url_link_text": "Submit an appeal",
                "uiMessage": "true",
            },
        }
    ]
    message = (
        "This service has been disabled in this account for violation of Terms of Service."
        " Please submit an appeal to continue using this product."
    )
    return 403, status_error(403, "PERMISSION_DENIED", message, details)


def not_found() -> tuple[int, dict[str, Any]]:
    return 404, status_error(404, "NOT_FOUND", "Requested entity was not found.")


def _bad_request(message: str) -> tuple[int, dict[str, Any]]:
    return 400, status_error(400, "INVALID_ARGUMENT", message)


def _version(user_agent: str) -> tuple[int, ...] | None:
    found = _VERSION.search(user_agent)
    return tuple(int(p) for p in found.group(1).split(".")) if found else None


def _parse_version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


@dataclass(frozen=True)
class CloudCall:
    method: str  # generateContent, streamGenerateContent, countTokens, loadCodeAssist, ...
    key: str  # the bearer token
    headers: dict[str, str]
    body: Any
    raw: bytes
    query: str = ""
    # the address the request came from: 127.0.0.1 direct, a proxy's egress IP through one
    peer: str = field(default="", compare=False)

    @property
    def model(self) -> str:
        return str(self.body.get("model", "")) if isinstance(self.body, dict) else ""

    @property
    def inner_raw(self) -> bytes:
        """The bytes of the envelope's `request`, as the gateway sent them."""
        top = msgspec.json.decode(self.raw, type=dict[str, msgspec.Raw])
        return bytes(top.get("request", b""))

    @property
    def request(self) -> dict[str, Any]:
        """The inner Gemini request of a generation call."""
        inner = self.body.get("request") if isinstance(self.body, dict) else None
        return inner if isinstance(inner, dict) else {}


class _Refused(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def _default_models() -> dict[str, dict[str, Any]]:
    return {
        "gemini-3-flash": {
            "displayName": "Gemini 3 Flash",
            "maxTokens": 1048576,
            "maxOutputTokens": 65536,
            "model": "MODEL_PLACEHOLDER_M18",
            "supportsThinking": True,
            "quotaInfo": {"remainingFraction": 0.75, "resetTime": "2026-10-20T10:00:00Z"},
        },
        "claude-sonnet-4-6": {
            "displayName": "Claude Sonnet 4.6 (Thinking)",
            "maxTokens": 200000,
            "maxOutputTokens": 64000,
            "model": "MODEL_PLACEHOLDER_M35",
            "supportsThinking": True,
            "quotaInfo": {"remainingFraction": 0.5, "resetTime": "2026-10-20T11:00:00Z"},
        },
        "claude-opus-4-6-thinking": {
            "displayName": "Claude Opus 4.6 (Thinking)",
            "maxTokens": 200000,
            "maxOutputTokens": 64000,
            "model": "MODEL_PLACEHOLDER_M26",
            "supportsThinking": True,
            "quotaInfo": {"resetTime": "2026-10-21T09:00:00Z"},  # no fraction: exhausted
        },
    }


@dataclass
class FakeCloudCode:
    """Start with `with FakeCloudCode(tokens={...}) as fake:`; `fake.base_url` is the root."""

    tokens: set[str] = field(default_factory=set)
    reply_text: str = "Hello from the fake Cloud Code backend."
    stream_chunks: int = 3
    usage_apart: bool = True  # usageMetadata on a chunk of its own after the finish chunk
    calls: list[CloudCall] = field(default_factory=list)
    # model (or "*") -> (status, google.rpc.Status body) answered to generation calls
    errors: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    error_headers: dict[str, dict[str, str]] = field(default_factory=dict)
    key_errors: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)  # by token
    empty_streams: int = 0  # this many streams are answered with no parts at all
    min_version: str | None = None  # the version gate: a lower User-Agent version is refused
    gated_models: set[str] = field(default_factory=set)  # models answered 404 below the gate
    tool_input: dict[str, Any] = field(default_factory=lambda: {"city": "Paris"})
    tool_name: str | None = None
    tool_preamble: str | None = None
    # loadCodeAssist / onboardUser
    project: str | None = "fake-project-0001"
    project_as_object: bool = False
    onboard_project: str = "onboarded-project-0001"
    onboard_pending: int = 1  # polls answered `done: false` before `done: true`
    tiers: list[dict[str, Any]] = field(
        default_factory=lambda: [
            {"id": "free-tier", "isDefault": True, "name": "Antigravity"},
            {"id": "standard-tier", "name": "Code Assist"},
        ]
    )
    current_tier: dict[str, Any] | None = field(
        default_factory=lambda: {"id": "free-tier", "name": "Antigravity"}
    )
    # fetchAvailableModels
    models: dict[str, dict[str, Any]] = field(default_factory=_default_models)
    deprecated: dict[str, dict[str, str]] = field(
        default_factory=lambda: {"gemini-3.5-flash": {"newModelId": "gemini-3-flash"}}
    )
    # the thought signatures issued: tool-call id -> signature (Gemini calls), and every
    # signature issued on a Claude thought
    issued_signatures: dict[str, str] = field(default_factory=dict)
    claude_signatures: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._server = UpstreamServer()
        self._lock = threading.Lock()
        self._onboard_polls = 0
        self._onboarded = False

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def generation_calls(self) -> list[CloudCall]:
        with self._lock:
            return [c for c in self.calls if c.method in _GENERATION]

    def calls_to(self, method: str) -> list[CloudCall]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def __enter__(self) -> FakeCloudCode:
        self._server.start([("POST", "/{method:v1internal:[A-Za-z]+}", self._dispatch)])
        return self

    def __exit__(self, *_: object) -> None:
        self._server.stop()

    # --- plumbing ---------------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"].removeprefix("v1internal:")
        raw = await request.read()
        try:
            body: Any = json.loads(raw) if raw else {}
        except ValueError:
            body = None
        key = request.headers.get("Authorization", "").removeprefix("Bearer ")
        call = CloudCall(
            method=method,
            key=key,
            headers=dict(request.headers),
            body=body,
            raw=raw,
            query=request.query_string,
            peer=request.remote or "",
        )
        with self._lock:
            self.calls.append(call)
        if not request.headers.get("Authorization", "").startswith("Bearer ") or (
            key not in self.tokens
        ):
            message = (
                "Request had invalid authentication credentials. Expected OAuth 2 access"
                " token, login cookie or other valid authentication credential."
            )
            return _json(401, status_error(401, "UNAUTHENTICATED", message))
        if not isinstance(body, dict):
            return _json(*_bad_request("Invalid JSON payload received."))
        handlers = {
            "generateContent": self._generate,
            "streamGenerateContent": self._generate,
            "countTokens": self._count_tokens,
            "loadCodeAssist": self._load_code_assist,
            "onboardUser": self._onboard_user,
            "fetchAvailableModels": self._fetch_models,
        }
        handler = handlers.get(method)
        if handler is None:
            return _json(*not_found())
        refused = self.key_errors.get(key)
        if refused is not None and method in ("countTokens", *_GENERATION):
            kind = "text/event-stream" if method == "streamGenerateContent" else "application/json"
            return _json(*refused, content_type=kind)
        return await handler(request, call)

    # --- project and models -----------------------------------------------------------------

    async def _load_code_assist(self, request: web.Request, call: CloudCall) -> web.Response:
        metadata = call.body.get("metadata")
        if not isinstance(metadata, dict) or not metadata.get("ideType"):
            return _json(*_bad_request("metadata.ideType: Field required"))
        answer: dict[str, Any] = {"allowedTiers": self.tiers}
        if self.current_tier is not None:
            answer["currentTier"] = self.current_tier
        project = self.onboard_project if self._onboarded else self.project
        if project is not None:
            answer["cloudaicompanionProject"] = (
                {"id": project, "name": project} if self.project_as_object else project
            )
        return _json(200, answer)

    async def _onboard_user(self, request: web.Request, call: CloudCall) -> web.Response:
        body = call.body
        metadata = body.get("metadata")
        if not isinstance(body.get("tier_id"), str):
            return _json(*_bad_request('Invalid JSON payload received. Unknown name "tierId".'))
        if not isinstance(metadata, dict) or not metadata.get("ide_type"):
            return _json(*_bad_request("metadata.ide_type: Field required"))
        with self._lock:
            self._onboard_polls += 1
            done = self._onboard_polls > self.onboard_pending
            if done:
                self._onboarded = True
        if not done:
            return _json(200, {"name": "operations/onboard-fake", "done": False})
        project = {"id": self.onboard_project, "name": self.onboard_project}
        return _json(
            200,
            {
                "name": "operations/onboard-fake",
                "done": True,
                "response": {
                    "@type": "type.googleapis.com/google.internal.cloud.code.v1internal"
                    ".OnboardUserResponse",
                    "cloudaicompanionProject": project,
                },
            },
        )

    async def _fetch_models(self, request: web.Request, call: CloudCall) -> web.Response:
        answer: dict[str, Any] = {"models": self.models}
        if self.deprecated:
            answer["deprecatedModelIds"] = self.deprecated
        return _json(200, answer)

    async def _count_tokens(self, request: web.Request, call: CloudCall) -> web.Response:
        inner = call.body.get("request")
        if not isinstance(inner, dict) or not isinstance(inner.get("contents"), list):
            return _json(*_bad_request("request.contents: Field required"))
        if not str(inner.get("model", "")).startswith("models/"):
            return _json(*_bad_request("request.model: must be models/<model>"))
        total = sum(count_words(c.get("parts")) for c in inner["contents"] if isinstance(c, dict))
        return _json(200, {"totalTokens": max(1, total)})

    # --- generation -------------------------------------------------------------------------

    async def _generate(self, request: web.Request, call: CloudCall) -> web.StreamResponse:
        stream = call.method == "streamGenerateContent"
        if stream and request.query.get("alt") != "sse":
            return _json(*_bad_request("streamGenerateContent needs alt=sse here"))
        model = call.model
        scripted = self.errors.get(model) or self.errors.get("*")
        if scripted is not None:
            headers = self.error_headers.get(model) or self.error_headers.get("*") or {}
            kind = "text/event-stream" if stream else "application/json"
            return _json(scripted[0], scripted[1], headers, content_type=kind)
        try:
            _check_envelope(call.body)
            gated = self._version_gate(request.headers.get("User-Agent", ""), model)
            if gated is None:
                self._check_request(model, call.request)
        except _Refused as refused:
            return _json(refused.status, refused.body)
        trace = secrets.token_hex(8)
        if gated is not None:
            parts: list[dict[str, Any]] = [{"text": gated}]
        elif stream and self._take_empty():
            return await _sse(request, [_envelope({"candidates": [_finish([])]}, trace)])
        else:
            parts = self._answer(model, call.request)
        response_id = f"msg_vrtx_{secrets.token_hex(6)}" if _claude(model) else trace
        usage = {
            "promptTokenCount": max(1, count_words(call.request.get("contents"))),
            "candidatesTokenCount": max(1, count_words(parts)),
            "totalTokenCount": 0,
        }
        usage["totalTokenCount"] = usage["promptTokenCount"] + usage["candidatesTokenCount"]
        head = {"modelVersion": model, "responseId": response_id}
        if not stream:
            answer = {"candidates": [_finish(parts)], "usageMetadata": usage, **head}
            return _json(200, {"response": answer, "traceId": trace})
        pieces = _pieces(parts, self.stream_chunks)
        bodies: list[dict[str, Any]] = [{"candidates": [_content(p)], **head} for p in pieces]
        bodies[-1]["candidates"][0]["finishReason"] = "STOP"
        if self.usage_apart:
            bodies.append({"candidates": [], "usageMetadata": usage, **head})
        else:
            bodies[-1]["usageMetadata"] = usage
        return await _sse(request, [_envelope(b, trace) for b in bodies])

    def _take_empty(self) -> bool:
        with self._lock:
            if self.empty_streams <= 0:
                return False
            self.empty_streams -= 1
            return True

    def _version_gate(self, user_agent: str, model: str) -> str | None:
        """None: the version passes; else the reply text (a 404 raises)."""
        if self.min_version is None:
            return None
        version = _version(user_agent)
        if version is not None and version >= _parse_version(self.min_version):
            return None
        if model in self.gated_models:
            raise _Refused(*not_found())
        return UPGRADE_TEXT

    def _check_request(self, model: str, inner: dict[str, Any]) -> None:
        contents = inner.get("contents")
        if not isinstance(contents, list) or not contents:
            raise _Refused(*_bad_request("contents is not specified"))
        if "safetySettings" in inner and _claude(model):
            raise _Refused(*_bad_request("safetySettings: Extra inputs are not permitted"))
        first = contents[0]
        if not isinstance(first, dict) or first.get("role") != "user":
            raise _Refused(
                *_bad_request(
                    "Please ensure that multiturn requests alternate between user and model,"
                    " and that the first turn is a user turn."
                )
            )
        if _claude(model):
            self._check_claude(inner)
        else:
            self._check_gemini(contents)

    def _check_gemini(self, contents: list[Any]) -> None:
        for content in contents:
            if not isinstance(content, dict) or content.get("role") != "model":
                continue
            first = True  # the first call of a step carries its signature; the rest may not
            for position, part in enumerate(content.get("parts") or []):
                call = part.get("functionCall") if isinstance(part, dict) else None
                if not isinstance(call, dict):
                    continue
                signature = part.get("thoughtSignature")
                if not signature and first:
                    message = MISSING_SIGNATURE.format(name=call.get("name"), position=position)
                    raise _Refused(*_bad_request(message))
                first = False
                if not signature:
                    continue
                issued = self.issued_signatures.get(str(call.get("id")))
                if signature != SKIP_SIGNATURE and signature != issued:
                    raise _Refused(
                        *_bad_request(
                            "Unable to submit request because Thought signature is not valid.."
                        )
                    )

    def _check_claude(self, inner: dict[str, Any]) -> None:
        tools = inner.get("tools") or []
        declared = False
        for tool in tools:
            for declaration in tool.get("functionDeclarations") or []:
                declared = True
                if "parametersJsonSchema" in declaration or "parameters" not in declaration:
                    raise _Refused(*_claude_400("tools.0.custom.input_schema: Field required"))
        if declared:
            calling = (inner.get("toolConfig") or {}).get("functionCallingConfig") or {}
            if calling.get("mode") != "VALIDATED":
                raise _Refused(*_claude_400("tool_choice: function calling mode must be VALIDATED"))
        for index, content in enumerate(inner.get("contents") or []):
            for position, part in enumerate(content.get("parts") or []):
                if not isinstance(part, dict):
                    continue
                if part.get("text") == "" and not part.get("thoughtSignature"):
                    raise _Refused(*_claude_400("messages: text content blocks must be non-empty"))
                signature = part.get("thoughtSignature")
                if signature and signature not in self.claude_signatures:
                    raise _Refused(
                        *_claude_400(
                            f"messages.{index}.content.{position}: Invalid `signature` in"
                            " `thinking` block"
                        )
                    )

    def _answer(self, model: str, inner: dict[str, Any]) -> list[dict[str, Any]]:
        contents = inner["contents"]
        last = contents[-1] if isinstance(contents[-1], dict) else {}
        parts = [p for p in last.get("parts") or [] if isinstance(p, dict)]
        results = [p["functionResponse"] for p in parts if "functionResponse" in p]
        thinking = (inner.get("generationConfig") or {}).get("thinkingConfig") or {}
        out: list[dict[str, Any]] = []
        if _claude(model) and thinking.get("includeThoughts"):
            signature = _signature("claudesig000")
            self.claude_signatures.add(signature)
            thought = {"text": "Thinking it over.", "thought": True}
            out.append({**thought, "thoughtSignature": signature})
        if last.get("role") == "user" and results:
            said = "; ".join(_result_text(r) for r in results)
            return [*out, {"text": f"The tool said: {said}"}]
        declarations = [
            d for t in inner.get("tools") or [] for d in t.get("functionDeclarations") or []
        ]
        texts = [p for p in parts if "text" in p]
        if declarations and last.get("role") == "user" and texts:
            names = [d.get("name") for d in declarations]
            name = self.tool_name if self.tool_name in names else names[0]
            if self.tool_preamble:
                out.append({"text": self.tool_preamble})
            call_id = (
                f"toolu_vrtx_{secrets.token_hex(12)}"
                if _claude(model)
                else f"fc_{secrets.token_hex(8)}"
            )
            part: dict[str, Any] = {
                "functionCall": {"id": call_id, "name": name, "args": dict(self.tool_input)}
            }
            if not _claude(model):
                signature = _signature("geminisig000")
                self.issued_signatures[call_id] = signature
                part["thoughtSignature"] = signature
            return [*out, part]
        return [*out, {"text": self.reply_text}]


_GENERATION = ("generateContent", "streamGenerateContent")


def _signature(prefix: str) -> str:
    """A fresh signature: `prefix` (12 base64 characters) and 24 random bytes, URL-safe base64
    that decodes and encodes back to itself."""
    return prefix + base64.urlsafe_b64encode(secrets.token_bytes(24)).decode()


def _claude(model: str) -> bool:
    return model.startswith("claude")


def _claude_400(message: str) -> tuple[int, dict[str, Any]]:
    """Claude's refusals reach Cloud Code clients as an Anthropic error inside `message`."""
    inner = {"type": "error", "error": {"type": "invalid_request_error", "message": message}}
    return _bad_request(json.dumps(inner))


def _check_envelope(body: dict[str, Any]) -> None:
    if not isinstance(body.get("project"), str) or not body["project"]:
        raise _Refused(*_bad_request("Invalid project resource name projects/"))
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise _Refused(*_bad_request("model: Field required"))
    if not isinstance(body.get("request"), dict):
        raise _Refused(*_bad_request("request: Field required"))
    for key in ("userAgent", "requestType", "requestId"):
        if not isinstance(body.get(key), str):
            raise _Refused(*_bad_request(f"{key}: Field required"))


def _result_text(response: Any) -> str:
    value = response.get("response") if isinstance(response, dict) else None
    if isinstance(value, dict):
        for key in ("result", "output", "error", "content"):
            if isinstance(value.get(key), str):
                return str(value[key])
        return json.dumps(value)
    return ""


def _pieces(parts: list[dict[str, Any]], chunks: int) -> list[dict[str, Any]]:
    """Text parts split in about `chunks` pieces each; other parts whole."""
    out: list[dict[str, Any]] = []
    for part in parts:
        if "text" in part and not part.get("thought") and part["text"]:
            pieces = split_text(part["text"], chunks)
            out += [{"text": piece} for piece in pieces[:-1]]
            out.append({**part, "text": pieces[-1]})
        else:
            out.append(part)
    return out


def _content(part: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"role": "model", "parts": [part]}}


def _finish(parts: list[dict[str, Any]]) -> dict[str, Any]:
    return {"content": {"role": "model", "parts": parts}, "finishReason": "STOP"}


def _envelope(response: dict[str, Any], trace: str) -> bytes:
    return b"data: " + json.dumps({"response": response, "traceId": trace}).encode() + b"\r\n\r\n"


async def _sse(request: web.Request, chunks: list[bytes]) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    for chunk in chunks:
        await response.write(chunk)
        await asyncio.sleep(0)
    await response.write_eof()
    return response


def _json(
    status: int,
    payload: dict[str, Any],
    headers: dict[str, str] | None = None,
    *,
    content_type: str = "application/json",
) -> web.Response:
    return web.Response(
        body=json.dumps(payload).encode(),
        status=status,
        headers={"Content-Type": content_type, **(headers or {})},
    )
