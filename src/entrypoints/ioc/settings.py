"""Settings: `config/config.yaml` (or $AIGATEWAY_CONFIG), then environment overrides.

One Struct per yaml section; `Settings` composes them. Every key `<section>.<key>` is also the
environment variable `AIGATEWAY_<SECTION>_<KEY>` (upper-case), so adding a setting is one field
in one section Struct (plus its documentation). `_ALIASES` keeps the names documented before
that rule working. Nothing here runs at import time; `load_settings()` is called by the CLI
and the app factory.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import msgspec
import yaml
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from aigateway.domain.proxies import DirectEgress

DEFAULT_CONFIG_PATH = "config/config.yaml"
ENV_PREFIX = "AIGATEWAY_"


class ConfigError(ValueError):
    """Invalid configuration; the message is one line for the operator."""


class _Section(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """A yaml section. Subclasses repeat `frozen=True` so that mypy sees it."""

    def _shown(self) -> dict[str, Any]:
        """The fields as `repr` shows them; a section holding a secret masks it here."""
        return {f: getattr(self, f) for f in self.__struct_fields__}

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self._shown().items())
        return f"{type(self).__name__}({fields})"

    def __rich_repr__(self) -> Any:
        yield from self._shown().items()


class ServerSettings(_Section, frozen=True):
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    max_body_bytes: int = 32 * 1024 * 1024


class StorageSettings(_Section, frozen=True):
    data_dir: str = "./data"


class DatabaseSettings(_Section, frozen=True):
    url: str = ""  # empty: SQLite file under storage.data_dir

    def _shown(self) -> dict[str, Any]:
        return {"url": masked_url(self.url)}


class RedisSettings(_Section, frozen=True):
    url: str | None = None  # None: in-process stores (one process only)

    def _shown(self) -> dict[str, Any]:
        return {"url": masked_url(self.url)}


class SecuritySettings(_Section, frozen=True):
    admin_key: str | None = None
    secret_key: str | None = None

    def _shown(self) -> dict[str, Any]:
        return {f: None if getattr(self, f) is None else "***" for f in self.__struct_fields__}


class LoggingSettings(_Section, frozen=True):
    level: str = "info"


class UpstreamSettings(_Section, frozen=True):
    timeout_s: float = 600.0
    connect_timeout_s: float = 10.0


class RequestLogSettings(_Section, frozen=True):
    flush_interval_s: float = 0.25
    batch_size: int = 500
    max_pending: int = 100_000


class RetrySettings(_Section, frozen=True):
    max_attempts: int = 3
    deadline_s: float = 60.0


class CatalogSettings(_Section, frozen=True):
    ttl_s: float = 30.0
    watch_interval_s: float = 1.0


class OAuthClientSettings(_Section, frozen=True):
    """One OAuth client the gateway refreshes tokens with and onboards accounts through.

    `client_id` / `client_secret` are never committed: operators configure them. `scopes` is
    space-separated, as the authorize URL carries it.
    """

    client_id: str | None = None
    client_secret: str | None = None
    auth_url: str = ""
    token_url: str = ""
    userinfo_url: str | None = None
    redirect_uri: str = ""
    scopes: str = ""

    def _shown(self) -> dict[str, Any]:
        shown = super()._shown()
        shown["client_secret"] = None if self.client_secret is None else "***"
        return shown


_GOOGLE_SCOPES = " ".join(
    ["openid", "email", "profile"]
    + [
        f"https://www.googleapis.com/auth/{scope}"
        for scope in (
            "cloud-platform",
            "userinfo.email",
            "userinfo.profile",
            "cclog",
            "experimentsandconfigs",
            "aicode",
        )
    ]
)


class GoogleOAuthSettings(OAuthClientSettings, frozen=True):
    """Google's installed-app client of Antigravity (accounts of kind `antigravity`)."""

    auth_url: str = "https://accounts.google.com/o/oauth2/v2/auth"
    token_url: str = "https://oauth2.googleapis.com/token"  # noqa: S105 (a URL)
    userinfo_url: str | None = "https://www.googleapis.com/oauth2/v2/userinfo"
    redirect_uri: str = "http://localhost:8080/api/v1/oauth/callback"
    scopes: str = _GOOGLE_SCOPES


class AnthropicOAuthSettings(OAuthClientSettings, frozen=True):
    """Claude's public client (subscription accounts of kind `anthropic`; no secret)."""

    auth_url: str = "https://claude.ai/oauth/authorize"
    token_url: str = "https://console.anthropic.com/v1/oauth/token"  # noqa: S105 (a URL)
    redirect_uri: str = "https://console.anthropic.com/oauth/code/callback"
    scopes: str = "org:create_api_key user:profile user:inference"


class OAuthSettings(_Section, frozen=True):
    refresh_skew_s: float = 300.0  # a token this close to its expiry is refreshed first
    refresh_ahead_s: float = 900.0  # the background refresher renews tokens inside this window
    refresh_interval_s: float = 60.0  # how often the background refresher looks
    refresh_lock_s: float = 30.0  # the refresh lock's expiry; how long other requests wait


class ProxySettings(_Section, frozen=True):
    # when a call may leave from the gateway's own address: when_no_proxies (only while the
    # pool is empty), never, or fallback (also for an account whose proxy cannot serve)
    direct_egress: DirectEgress = DirectEgress.WHEN_NO_PROXIES
    health_check_interval_s: float = 60.0  # how often every active proxy is checked
    health_check_url: str = "https://www.gstatic.com/generate_204"  # fetched through the proxy
    check_timeout_s: float = 10.0  # a check (or an admin test) that takes longer fails
    failure_threshold: int = 3  # consecutive failures that mark a proxy down
    recovery_s: float = 300.0  # a down proxy is checked again after this long
    pool_size: int = 100  # connections kept per proxy

    def __post_init__(self) -> None:
        if self.failure_threshold < 1 or self.pool_size < 1:
            raise ConfigError("proxy.failure_threshold and proxy.pool_size must be at least 1")
        for name in ("health_check_interval_s", "check_timeout_s", "recovery_s"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"proxy.{name} must be positive")


class Settings(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    server: ServerSettings = msgspec.field(default_factory=ServerSettings)
    storage: StorageSettings = msgspec.field(default_factory=StorageSettings)
    database: DatabaseSettings = msgspec.field(default_factory=DatabaseSettings)
    redis: RedisSettings = msgspec.field(default_factory=RedisSettings)
    security: SecuritySettings = msgspec.field(default_factory=SecuritySettings)
    logging: LoggingSettings = msgspec.field(default_factory=LoggingSettings)
    upstream: UpstreamSettings = msgspec.field(default_factory=UpstreamSettings)
    request_log: RequestLogSettings = msgspec.field(default_factory=RequestLogSettings)
    retry: RetrySettings = msgspec.field(default_factory=RetrySettings)
    catalog: CatalogSettings = msgspec.field(default_factory=CatalogSettings)
    google_oauth: GoogleOAuthSettings = msgspec.field(default_factory=GoogleOAuthSettings)
    anthropic_oauth: AnthropicOAuthSettings = msgspec.field(default_factory=AnthropicOAuthSettings)
    oauth: OAuthSettings = msgspec.field(default_factory=OAuthSettings)
    proxy: ProxySettings = msgspec.field(default_factory=ProxySettings)

    @property
    def embedded(self) -> bool:
        return self.database.url.startswith("sqlite")


def _sections() -> dict[str, tuple[str, ...]]:
    return {
        field.name: field.type.__struct_fields__  # every field of Settings is a section Struct
        for field in msgspec.structs.fields(Settings)
    }


SECTIONS: dict[str, tuple[str, ...]] = _sections()


def env_name(section: str, key: str) -> str:
    return f"{ENV_PREFIX}{section}_{key}".upper()


# Names documented before the AIGATEWAY_<SECTION>_<KEY> rule; the derived name wins if both are
# set. (AIGATEWAY_DATABASE_URL, AIGATEWAY_REDIS_URL and AIGATEWAY_UPSTREAM_TIMEOUT_S already
# follow the rule.)
_ALIASES: dict[str, tuple[str, str]] = {
    "AIGATEWAY_HOST": ("server", "host"),
    "AIGATEWAY_PORT": ("server", "port"),
    "AIGATEWAY_WORKERS": ("server", "workers"),
    "AIGATEWAY_MAX_BODY_BYTES": ("server", "max_body_bytes"),
    "AIGATEWAY_DATA_DIR": ("storage", "data_dir"),
    "AIGATEWAY_ADMIN_KEY": ("security", "admin_key"),
    "AIGATEWAY_SECRET_KEY": ("security", "secret_key"),
    "AIGATEWAY_LOG_LEVEL": ("logging", "level"),
    "AIGATEWAY_LOG_FLUSH_INTERVAL_S": ("request_log", "flush_interval_s"),
}


def masked_url(url: str | None) -> str | None:
    """`url` with the password (in the user info or a `password=` query argument) as `***`."""
    if not url:
        return url
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, host = netloc.rsplit("@", 1)
            if ":" in userinfo:
                netloc = userinfo.split(":", 1)[0] + ":***@" + host
        shown = url.replace(parts.netloc, netloc, 1) if netloc != parts.netloc else url
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        if any(k.lower() == "password" for k, _ in pairs):
            query = urlencode([(k, "***" if k.lower() == "password" else v) for k, v in pairs])
            shown = shown.replace("?" + parts.query, "?" + query, 1)
        return shown
    except ValueError:
        return "***"  # not parseable as a URL: show nothing of it


def _from_yaml(path: Path) -> dict[str, dict[str, Any]]:
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}".splitlines()[0]) from None
    if not isinstance(document, dict):
        raise ConfigError(f"{path} must hold a mapping of sections")
    values: dict[str, dict[str, Any]] = {}
    for section, body in document.items():
        if section not in SECTIONS:
            raise ConfigError(f"{path}: unknown section '{section}'")
        if body is None:  # a section whose keys are all commented out
            continue
        if not isinstance(body, dict):
            raise ConfigError(f"{path}: section '{section}' must be a mapping")
        for key, value in body.items():
            if key not in SECTIONS[section]:
                raise ConfigError(f"{path}: unknown setting '{section}.{key}'")
            if value is not None:  # a key without a value keeps its default
                values.setdefault(section, {})[key] = value
    return values


def _from_env(env: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    values: dict[str, dict[str, Any]] = {}
    names = dict(_ALIASES)
    names.update({env_name(s, k): (s, k) for s, keys in SECTIONS.items() for k in keys})
    for name, (section, key) in names.items():  # aliases first, so the derived name wins
        if env.get(name):
            values.setdefault(section, {})[key] = env[name]
    return values


def load_settings(
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Settings:
    """Defaults < config file < env < `overrides` ({section: {key: value}}, None skipped)."""
    env = os.environ if environ is None else environ
    config_path = Path(env.get("AIGATEWAY_CONFIG") or DEFAULT_CONFIG_PATH)
    layers: list[Mapping[str, Mapping[str, Any]]] = []
    if config_path.exists():
        layers.append(_from_yaml(config_path))
    elif env.get("AIGATEWAY_CONFIG"):
        raise ConfigError(f"AIGATEWAY_CONFIG points at {config_path}, which does not exist")
    layers.append(_from_env(env))
    layers.append(overrides or {})
    values: dict[str, dict[str, Any]] = {}
    for layer in layers:
        for section, body in layer.items():
            values.setdefault(section, {}).update({k: v for k, v in body.items() if v is not None})
    try:
        settings = msgspec.convert(values, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"invalid setting: {_dotted(str(exc))}") from None
    return _normalised(settings)


def _dotted(message: str) -> str:
    """msgspec's `... - at `$.server.port`` as `... (server.port)`."""
    text, sep, where = message.partition(" - at `$.")
    return f"{text} ({where.rstrip('`')})" if sep else message


def _normalised(settings: Settings) -> Settings:
    database_url = settings.database.url or (
        "sqlite+aiosqlite:///" + str(Path(settings.storage.data_dir) / "aigateway.db")
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
    redis_url = settings.redis.url or None
    if redis_url and not redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError("AIGATEWAY_REDIS_URL must start with redis://, rediss:// or unix://")
    server = settings.server
    if not 0 < server.port < 65536:
        raise ConfigError(f"port {server.port} is out of range")
    oauth = settings.oauth
    if oauth.refresh_interval_s <= 0 or oauth.refresh_lock_s <= 0:
        raise ConfigError("oauth.refresh_interval_s and oauth.refresh_lock_s must be positive")
    if settings.retry.max_attempts < 1:
        raise ConfigError("retry.max_attempts must be at least 1")
    if server.workers < 1:
        raise ConfigError("workers must be at least 1")
    if server.workers > 1 and redis_url is None:
        raise ConfigError("more than one worker needs AIGATEWAY_REDIS_URL (shared round-robin)")
    security = settings.security
    return msgspec.structs.replace(
        settings,
        database=DatabaseSettings(url=url.render_as_string(hide_password=False)),
        redis=RedisSettings(url=redis_url),
        security=SecuritySettings(
            admin_key=security.admin_key or None, secret_key=security.secret_key or None
        ),
    )


def resolve_secret_key(settings: Settings) -> tuple[str, bool]:
    """The configured secret key, else one kept in data_dir/secret.key (created once, mode 0600).

    Returns (secret, came_from_file).
    """
    if settings.security.secret_key:
        return settings.security.secret_key, False
    from aigateway.adapters.crypto import generate_secret

    path = Path(settings.storage.data_dir) / "secret.key"
    if path.exists():
        return path.read_text().strip(), True
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(generate_secret() + "\n")
    return path.read_text().strip(), True
