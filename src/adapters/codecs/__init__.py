"""Wire-format codecs, one package per format, around the canonical model in domain/llm.

- `openai_chat`, `anthropic_messages`, `gemini`: one package per wire format (wire types,
  requests, responses, streams, errors, passthrough helpers, the codec)
- `sse`: incremental server-sent-events parser; `translate`: `StreamTranslator`
- `base`: the `WireCodec` / `StreamDecoder` / `StreamEncoder` protocols and shared helpers
"""
