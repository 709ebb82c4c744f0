"""OpenAI Responses: `POST /v1/responses` (stateless), OpenAI's error object. The model list
is OpenAI's `GET /v1/models`."""

from __future__ import annotations

from aigateway.adapters.codecs import openai_responses
from aigateway.entrypoints.http.formats.spec import ClientFormat, body_head

SPEC = ClientFormat(
    format=openai_responses.FORMAT,
    path="/v1/responses",
    codec=openai_responses.OpenAIResponsesCodec(),
    head=body_head(openai_responses.decode_head),
)
