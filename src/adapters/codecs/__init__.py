"""Wire-format codecs, one module per format, around the canonical model in domain/llm.

- `openai_chat`: OpenAI Chat Completions (passthrough helpers + `OpenAIChatCodec`)
- `anthropic_messages`: Anthropic Messages (passthrough helpers + `AnthropicMessagesCodec`)
- `sse`: incremental server-sent-events parser; `translate`: `StreamTranslator`
- `base`: the `WireCodec` / `StreamDecoder` / `StreamEncoder` protocols and shared helpers
"""
