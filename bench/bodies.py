"""The request bodies the wrk scenarios send, built deterministically (no fixtures).

- `small`: a one-line chat (system prompt + one user message), the body of every small
  scenario, in each client format: OpenAI Chat Completions (`openai`), Anthropic Messages
  (`anthropic`), OpenAI Responses (`responses`) and Gemini generateContent (`gemini`, whose
  model and streaming are in the URL, not the body).
- `agentic` (`agentic.py`): the turn a coding agent sends (~60 KB), in the OpenAI Chat
  Completions and the Anthropic Messages shapes.

    python bench/bodies.py [openai|anthropic]    prints the agentic body's size per shape
"""

from __future__ import annotations

import json
import sys
from typing import Any

from agentic import agentic, dump

SMALL_SYSTEM = "You are a helpful assistant."
SMALL_USER = "Say hello in one short sentence."


def small(fmt: str, model: str, stream: bool) -> bytes:
    if fmt == "openai":
        body: dict[str, Any] = {"model": model}
        if stream:
            body |= {"stream": True, "stream_options": {"include_usage": True}}
        body["messages"] = [
            {"role": "system", "content": SMALL_SYSTEM},
            {"role": "user", "content": SMALL_USER},
        ]
        return dump(body)
    if fmt == "responses":
        body = {"model": model, "instructions": SMALL_SYSTEM}
        body["input"] = [{"role": "user", "content": SMALL_USER}]
        return dump(body | {"max_output_tokens": 256, "store": False, "stream": stream})
    if fmt == "gemini":
        return dump(
            {
                "systemInstruction": {"parts": [{"text": SMALL_SYSTEM}]},
                "contents": [{"role": "user", "parts": [{"text": SMALL_USER}]}],
                "generationConfig": {"maxOutputTokens": 256},
            }
        )
    body = {"model": model, "max_tokens": 256}
    if stream:
        body["stream"] = True
    body |= {"system": SMALL_SYSTEM, "messages": [{"role": "user", "content": SMALL_USER}]}
    return dump(body)


BUILDERS = {"small": small, "agentic": agentic}


def build(kind: str, fmt: str, model: str, stream: bool) -> bytes:
    return BUILDERS[kind](fmt, model, stream)


if __name__ == "__main__":
    for shape in sys.argv[1:] or ["openai", "anthropic"]:
        data = agentic(shape, "gpt-4o-mini", False)
        parsed = json.loads(data)
        print(
            f"{shape}: {len(data):,} bytes, {len(parsed['messages'])} messages, "
            f"{len(parsed['tools'])} tools"
        )
