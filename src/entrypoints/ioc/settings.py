"""Settings: `config/config.yaml` (or $AIGATEWAY_CONFIG), then environment overrides.

Nothing here runs at import time; `load_settings()` is called by the CLI and the app factory.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec
import yaml
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_CONFIG_PATH = "config/config.yaml"


class ConfigError(ValueError):
    """Invalid configuration; the message is one line for the operator."""


class Settings(msgspec.Struct, kw_only=True, frozen=True):
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    data_dir: str = "./data"
    database_url: str = ""  # empty: SQLite file under data_dir
    redis_url: str | None = None  # None: in-process stores (one process only)
    admin_key: str | None = None
    secret_key: str | None = None
    log_level: str = "info"
    max_body_bytes: int = 32 * 1024 * 1024
    upstream_timeout_s: float = 600.0
    upstream_connect_timeout_s: float = 10.0
    catalog_ttl_s: float = 30.0
    catalog_watch_interval_s: float = 1.0
    log_flush_interval_s: float = 0.25
    log_batch_size: int = 500
    log_max_pending: int = 100_000
    retry_max_attempts: int = 3
    retry_deadline_s: float = 60.0

    @property
    def embedded(self) -> bool:
        return self.database_url.startswith("sqlite")

    def __repr__(self) -> str:
        shown = {
            f: getattr(self, f)
            for f in self.__struct_fields__
            if f not in ("admin_key", "secret_key")
        }
        return f"Settings({shown})"


# config.yaml layout -> field
_YAML_KEYS: dict[tuple[str, str], str] = {
    ("server", "host"): "host",
    ("server", "port"): "port",
    ("server", "workers"): "workers",
    ("server", "max_body_bytes"): "max_body_bytes",
    ("storage", "data_dir"): "data_dir",
    ("database", "url"): "database_url",
    ("redis", "url"): "redis_url",
    ("security", "admin_key"): "admin_key",
    ("security", "secret_key"): "secret_key",
    ("logging", "level"): "log_level",
    ("upstream", "timeout_s"): "upstream_timeout_s",
    ("upstream", "connect_timeout_s"): "upstream_connect_timeout_s",
    ("catalog", "ttl_s"): "catalog_ttl_s",
    ("catalog", "watch_interval_s"): "catalog_watch_interval_s",
    ("request_log", "flush_interval_s"): "log_flush_interval_s",
    ("request_log", "batch_size"): "log_batch_size",
    ("request_log", "max_pending"): "log_max_pending",
    ("retry", "max_attempts"): "retry_max_attempts",
    ("retry", "deadline_s"): "retry_deadline_s",
}

ENV_KEYS: dict[str, str] = {
    "AIGATEWAY_HOST": "host",
    "AIGATEWAY_PORT": "port",
    "AIGATEWAY_WORKERS": "workers",
    "AIGATEWAY_DATA_DIR": "data_dir",
    "AIGATEWAY_DATABASE_URL": "database_url",
    "AIGATEWAY_REDIS_URL": "redis_url",
    "AIGATEWAY_ADMIN_KEY": "admin_key",
    "AIGATEWAY_SECRET_KEY": "secret_key",
    "AIGATEWAY_LOG_LEVEL": "log_level",
    "AIGATEWAY_MAX_BODY_BYTES": "max_body_bytes",
    "AIGATEWAY_UPSTREAM_TIMEOUT_S": "upstream_timeout_s",
    "AIGATEWAY_LOG_FLUSH_INTERVAL_S": "log_flush_interval_s",
}


def _from_yaml(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}".splitlines()[0]) from None
    if not isinstance(document, dict):
        raise ConfigError(f"{path} must hold a mapping of sections")
    values: dict[str, Any] = {}
    for section, body in document.items():
        if not isinstance(body, dict):
            raise ConfigError(f"{path}: section '{section}' must be a mapping")
        for key, value in body.items():
            field = _YAML_KEYS.get((section, key))
            if field is None:
                raise ConfigError(f"{path}: unknown setting '{section}.{key}'")
            values[field] = value
    return values


def load_settings(
    environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> Settings:
    env = os.environ if environ is None else environ
    config_path = Path(env.get("AIGATEWAY_CONFIG", DEFAULT_CONFIG_PATH))
    values: dict[str, Any] = {}
    if config_path.exists():
        values.update(_from_yaml(config_path))
    elif "AIGATEWAY_CONFIG" in env:
        raise ConfigError(f"AIGATEWAY_CONFIG points at {config_path}, which does not exist")
    for name, field in ENV_KEYS.items():
        if env.get(name):
            values[field] = env[name]
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    try:
        settings = msgspec.convert(values, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"invalid setting: {exc}") from None
    return _normalised(settings)


def _normalised(settings: Settings) -> Settings:
    database_url = settings.database_url or (
        "sqlite+aiosqlite:///" + str(Path(settings.data_dir) / "aigateway.db")
    )
    try:
        url = make_url(database_url)
    except ArgumentError:
        raise ConfigError("AIGATEWAY_DATABASE_URL is not a valid database URL") from None
    drivers = {"mysql": "mysql+asyncmy", "mariadb": "mysql+asyncmy", "sqlite": "sqlite+aiosqlite"}
    backend = url.get_backend_name()
    if backend not in drivers:
        raise ConfigError(f"unsupported database '{backend}': use mysql+asyncmy:// or sqlite:///")
    if url.drivername != drivers[backend]:
        url = url.set(drivername=drivers[backend])
    if backend != "sqlite" and not url.database:
        raise ConfigError("AIGATEWAY_DATABASE_URL names no database")
    redis_url = settings.redis_url or None
    if redis_url and not redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError("AIGATEWAY_REDIS_URL must start with redis://, rediss:// or unix://")
    if not 0 < settings.port < 65536:
        raise ConfigError(f"port {settings.port} is out of range")
    if settings.retry_max_attempts < 1:
        raise ConfigError("retry.max_attempts must be at least 1")
    if settings.workers < 1:
        raise ConfigError("workers must be at least 1")
    if settings.workers > 1 and redis_url is None:
        raise ConfigError("more than one worker needs AIGATEWAY_REDIS_URL (shared round-robin)")
    return msgspec.structs.replace(
        settings,
        database_url=url.render_as_string(hide_password=False),
        redis_url=redis_url,
        admin_key=settings.admin_key or None,
        secret_key=settings.secret_key or None,
    )


def resolve_secret_key(settings: Settings) -> tuple[str, bool]:
    """The configured secret key, else one kept in data_dir/secret.key (created once, mode 0600).

    Returns (secret, came_from_file).
    """
    if settings.secret_key:
        return settings.secret_key, False
    from aigateway.adapters.crypto import generate_secret

    path = Path(settings.data_dir) / "secret.key"
    if path.exists():
        return path.read_text().strip(), True
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(generate_secret() + "\n")
    return path.read_text().strip(), True
