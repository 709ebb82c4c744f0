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
# SQLAlchemy FunctionElement and its @compiles hook (adapters/persistence/tables.py UtcNow)
_.inherit_cache, _utc_now_default
# asyncio.Protocol callbacks (adapters/redis/pipelined.py)
_.connection_made, _.data_received, _.connection_lost
# uvicorn's app factory, named as a string (entrypoints/cli/main.py APP_FACTORY)
create_app

# --- struct fields msgspec encodes or decodes by name ---------------------------------------
_.includeThoughts  # Gemini thinkingConfig (adapters/codecs/gemini/wire.py)
# Gemini request shapes msgspec validates before the Claude edits (cloud_code/relayed_request.py)
_.functionDeclarations, _.functionCall, _.functionResponse, _.thoughtSignature
_.display_name, _.has_more, _.first_id, _.last_id  # model list (http/formats/anthropic_messages.py)
_.base_model_id, _.supported_generation_methods  # model list (http/formats/gemini.py)
_.service, _.uptime_seconds  # /health (entrypoints/http/health.py)
_.retry_count, _.switched_from_account_id  # RequestLogEntry, written by column name
_.health_status, _.moved  # proxy views of the admin API (http/proxies.py, ProxyRef in http/admin.py)
# fields only the source format acts on, read by name from FAST_EXTRAS (codecs/*/wire.py)
_.context_management, _.inference_geo, _.service_tier, _.speed, _.fallbacks  # Anthropic
_.fallback_credit_token, _.diagnostics  # Anthropic
_.verbosity, _.prediction, _.prompt_cache_key, _.prompt_cache_options  # OpenAI
_.prompt_cache_retention, _.moderation, _.seed, _.frequency_penalty  # OpenAI
_.presence_penalty, _.logit_bias  # OpenAI

_.exception_handlers  # litestar Controller attribute (entrypoints/http/oauth.py)
MANUAL  # FlowType member, decoded from request bodies (application/ports/onboarding.py)

# --- kept on purpose ----------------------------------------------------------------------
_.since, _.last_seen  # Notice fields, shown in /health (application/use_cases/notices.py)
_.unrouted  # ProxyPool field, shown in /health (entrypoints/http/health.py)
