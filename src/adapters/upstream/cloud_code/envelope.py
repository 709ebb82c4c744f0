"""The Cloud Code envelope around a Gemini request, and the session id inside it.

Each generation call is `{"project", "model", "userAgent": "antigravity", "requestType":
"agent", "requestId": "agent-<uuid4>", "request": <Gemini request>}`. The inner request is
encoded once per client request; an attempt only writes the head (its account's project, a
fresh request id) and closes the object, by concatenation. Answers come back as
`{"response": <Gemini answer>, "traceId": ...}` (whole, and per SSE line); some carry the
answer at the root: `unwrap` gives the inner answer either way.
"""

from __future__ import annotations

import hashlib
import uuid

import msgspec

_encode = msgspec.json.Encoder().encode
_INT63 = (1 << 63) - 1


def wrap(inner: bytes, *, project: str, model: str, request_id: str) -> bytes:
    """The envelope's bytes around `inner` (the JSON of the Gemini request, not re-encoded)."""
    return b"".join(
        (
            b'{"project":',
            _encode(project),
            b',"model":',
            _encode(model),
            b',"userAgent":"antigravity","requestType":"agent","requestId":',
            _encode(request_id),
            b',"request":',
            inner,
            b"}",
        )
    )


def new_request_id() -> str:
    return f"agent-{uuid.uuid4()}"


def session_id(first_user_text: str) -> str:
    """A stable session id for a conversation, from its first user text: `-<int63>` (the form
    the upstream's own client sends); the same conversation gets the same id on every turn."""
    digest = hashlib.sha256(first_user_text.encode("utf-8", "surrogatepass")).digest()
    return f"-{int.from_bytes(digest[:8], 'big') & _INT63}"
