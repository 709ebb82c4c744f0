from __future__ import annotations

from pathlib import Path

import pytest

from aigateway.domain.proxies import DirectEgress
from aigateway.entrypoints.ioc.settings import (
    SECTIONS,
    ConfigError,
    Settings,
    env_name,
    load_settings,
    masked_url,
)


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test runs where no config/config.yaml exists, unless it writes one."""
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    return workdir


def write_config(tmp_path: Path, text: str) -> dict[str, str]:
    config = tmp_path / "config.yaml"
    config.write_text(text)
    return {"AIGATEWAY_CONFIG": str(config)}


def test_defaults_are_the_embedded_sqlite_and_no_redis() -> None:
    settings = load_settings({})
    assert settings.database.url == "sqlite+aiosqlite:///data/aigateway.db"
    assert settings.embedded and settings.redis.url is None
    assert (settings.server.host, settings.server.port) == ("127.0.0.1", 8080)
    assert settings.security.admin_key is None and settings.security.secret_key is None


def test_the_default_config_file_is_read_from_the_working_directory(workdir: Path) -> None:
    (workdir / "config").mkdir()
    (workdir / "config" / "config.yaml").write_text("server:\n  port: 9001\n")
    assert load_settings({}).server.port == 9001


def test_yaml_then_environment_then_overrides(tmp_path: Path) -> None:
    env = write_config(
        tmp_path,
        "server:\n  port: 9000\n  host: 0.0.0.0\n"
        "database:\n  url: mysql://root@db:3306/gw\nredis:\n  url: redis://r:6379/0\n",
    )
    settings = load_settings(
        env | {"AIGATEWAY_SERVER_PORT": "9100"}, overrides={"server": {"host": "::1", "port": None}}
    )
    assert settings.server.port == 9100
    assert settings.server.host == "::1"
    assert settings.database.url == "mysql+asyncmy://root@db:3306/gw"
    assert settings.redis.url == "redis://r:6379/0"


def test_every_key_has_its_derived_environment_name(tmp_path: Path) -> None:
    """AIGATEWAY_<SECTION>_<KEY> reaches every field, typed by the section Struct."""
    env = {
        "AIGATEWAY_SERVER_HOST": "0.0.0.0",
        "AIGATEWAY_SERVER_PORT": "9200",
        "AIGATEWAY_SERVER_WORKERS": "3",
        "AIGATEWAY_SERVER_MAX_BODY_BYTES": "1024",
        "AIGATEWAY_STORAGE_DATA_DIR": str(tmp_path / "d"),
        "AIGATEWAY_DATABASE_URL": "mysql+asyncmy://u:p@h:3306/gw",
        "AIGATEWAY_REDIS_URL": "redis://h:6379/2",
        "AIGATEWAY_SECURITY_ADMIN_KEY": "adm_x",
        "AIGATEWAY_SECURITY_SECRET_KEY": "sek",
        "AIGATEWAY_LOGGING_LEVEL": "debug",
        "AIGATEWAY_UPSTREAM_TIMEOUT_S": "5",
        "AIGATEWAY_UPSTREAM_CONNECT_TIMEOUT_S": "2.5",
        "AIGATEWAY_REQUEST_LOG_FLUSH_INTERVAL_S": "0.5",
        "AIGATEWAY_REQUEST_LOG_BATCH_SIZE": "7",
        "AIGATEWAY_REQUEST_LOG_MAX_PENDING": "8",
        "AIGATEWAY_RETRY_MAX_ATTEMPTS": "4",
        "AIGATEWAY_RETRY_DEADLINE_S": "9",
        "AIGATEWAY_CATALOG_TTL_S": "11",
        "AIGATEWAY_CATALOG_WATCH_INTERVAL_S": "0.2",
        "AIGATEWAY_OAUTH_REFRESH_SKEW_S": "120",
        "AIGATEWAY_OAUTH_REFRESH_AHEAD_S": "600",
        "AIGATEWAY_OAUTH_REFRESH_INTERVAL_S": "15",
        "AIGATEWAY_OAUTH_REFRESH_LOCK_S": "12",
        "AIGATEWAY_PROXY_DIRECT_EGRESS": "fallback",
        "AIGATEWAY_PROXY_HEALTH_CHECK_INTERVAL_S": "30",
        "AIGATEWAY_PROXY_HEALTH_CHECK_URL": "http://check.example/204",
        "AIGATEWAY_PROXY_CHECK_TIMEOUT_S": "4",
        "AIGATEWAY_PROXY_FAILURE_THRESHOLD": "5",
        "AIGATEWAY_PROXY_RECOVERY_S": "90",
        "AIGATEWAY_PROXY_POOL_SIZE": "20",
    }
    for section in ("google_oauth", "anthropic_oauth"):
        for key in SECTIONS[section]:
            env[env_name(section, key)] = f"{section}-{key}"
    assert set(env) == {env_name(s, k) for s, keys in SECTIONS.items() for k in keys}
    settings = load_settings(env)
    assert settings.server.workers == 3 and settings.server.max_body_bytes == 1024
    assert settings.storage.data_dir == str(tmp_path / "d")
    assert settings.security.admin_key == "adm_x" and settings.security.secret_key == "sek"
    assert settings.logging.level == "debug"
    assert settings.upstream.timeout_s == 5.0 and settings.upstream.connect_timeout_s == 2.5
    assert (settings.request_log.flush_interval_s, settings.request_log.batch_size) == (0.5, 7)
    assert settings.request_log.max_pending == 8
    assert (settings.retry.max_attempts, settings.retry.deadline_s) == (4, 9.0)
    proxy = settings.proxy
    assert proxy.direct_egress is DirectEgress.FALLBACK and proxy.health_check_interval_s == 30
    assert (proxy.health_check_url, proxy.check_timeout_s) == ("http://check.example/204", 4.0)
    assert (proxy.failure_threshold, proxy.recovery_s, proxy.pool_size) == (5, 90.0, 20)
    assert (settings.catalog.ttl_s, settings.catalog.watch_interval_s) == (11.0, 0.2)
    assert (settings.oauth.refresh_skew_s, settings.oauth.refresh_ahead_s) == (120.0, 600.0)
    assert (settings.oauth.refresh_interval_s, settings.oauth.refresh_lock_s) == (15.0, 12.0)
    assert settings.google_oauth.token_url == "google_oauth-token_url"
    assert settings.anthropic_oauth.client_id == "anthropic_oauth-client_id"
    assert "google_oauth-client_secret" not in repr(settings)


def test_the_names_documented_before_the_rule_still_work(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "AIGATEWAY_HOST": "0.0.0.0",
            "AIGATEWAY_PORT": "9300",
            "AIGATEWAY_WORKERS": "2",
            "AIGATEWAY_REDIS_URL": "redis://h:6379/0",
            "AIGATEWAY_MAX_BODY_BYTES": "2048",
            "AIGATEWAY_DATA_DIR": str(tmp_path / "old"),
            "AIGATEWAY_ADMIN_KEY": "adm_old",
            "AIGATEWAY_SECRET_KEY": "old-secret",
            "AIGATEWAY_LOG_LEVEL": "warning",
            "AIGATEWAY_LOG_FLUSH_INTERVAL_S": "3",
        }
    )
    assert (settings.server.host, settings.server.port, settings.server.workers) == (
        "0.0.0.0",
        9300,
        2,
    )
    assert settings.server.max_body_bytes == 2048
    assert settings.storage.data_dir == str(tmp_path / "old")
    assert settings.database.url.endswith("/old/aigateway.db")
    assert settings.security.admin_key == "adm_old"
    assert settings.security.secret_key == "old-secret"
    assert settings.logging.level == "warning"
    assert settings.request_log.flush_interval_s == 3.0


def test_the_derived_name_wins_over_its_alias() -> None:
    settings = load_settings({"AIGATEWAY_PORT": "9400", "AIGATEWAY_SERVER_PORT": "9401"})
    assert settings.server.port == 9401


def test_empty_environment_values_are_ignored(tmp_path: Path) -> None:
    env = write_config(tmp_path, "server:\n  port: 9500\n")
    assert load_settings(env | {"AIGATEWAY_SERVER_PORT": "", "AIGATEWAY_PORT": ""}).server.port == (
        9500
    )


def test_secrets_are_not_in_the_repr() -> None:
    settings = load_settings(
        {
            "AIGATEWAY_ADMIN_KEY": "adm_topsecret",
            "AIGATEWAY_SECRET_KEY": "s3cr3t",
            "AIGATEWAY_DATABASE_URL": "mysql://aigw:dbpa55word@db:3306/gw",
            "AIGATEWAY_REDIS_URL": "rediss://default:redispa55@r:6380/1?password=qpa55",
        }
    )
    assert settings.security.admin_key == "adm_topsecret"
    assert settings.database.url == "mysql+asyncmy://aigw:dbpa55word@db:3306/gw"
    shown = repr(settings)
    for secret in ("topsecret", "s3cr3t", "dbpa55word", "redispa55", "qpa55"):
        assert secret not in shown
    assert "aigw:***@db:3306/gw" in shown and "default:***@r:6380/1" in shown
    assert "port=8080" in shown  # the rest is still there to read


def test_rich_repr_hides_the_same_secrets() -> None:
    settings = load_settings(
        {"AIGATEWAY_ADMIN_KEY": "adm_topsecret", "AIGATEWAY_REDIS_URL": "redis://:pw9@r/0"}
    )
    shown = str(list(settings.security.__rich_repr__())) + str(list(settings.redis.__rich_repr__()))
    assert "topsecret" not in shown and "pw9" not in shown


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:pw@h:6379/0", "redis://:***@h:6379/0"),
        ("redis://h:6379/0", "redis://h:6379/0"),
        ("unix://user:pw@/run/redis.sock?db=1", "unix://user:***@/run/redis.sock?db=1"),
        ("mysql+asyncmy://u:p%40ss@h/db", "mysql+asyncmy://u:***@h/db"),
        ("sqlite+aiosqlite:///data/aigateway.db", "sqlite+aiosqlite:///data/aigateway.db"),
        (None, None),
    ],
)
def test_masked_url(url: str | None, shown: str | None) -> None:
    assert masked_url(url) == shown


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"AIGATEWAY_DATABASE_URL": "::::"}, "not a valid database URL"),
        ({"AIGATEWAY_DATABASE_URL": "postgresql://x/y"}, "unsupported database"),
        ({"AIGATEWAY_DATABASE_URL": "mysql://root@h"}, "names no database"),
        ({"AIGATEWAY_REDIS_URL": "localhost:6379"}, "must start with redis://"),
        ({"AIGATEWAY_PORT": "eighty"}, "invalid setting: Expected `int`, got `str` (server.port)"),
        ({"AIGATEWAY_RETRY_DEADLINE_S": "soon"}, "(retry.deadline_s)"),
        ({"AIGATEWAY_SERVER_PORT": "70000"}, "out of range"),
        ({"AIGATEWAY_RETRY_MAX_ATTEMPTS": "0"}, "retry.max_attempts must be at least 1"),
        ({"AIGATEWAY_WORKERS": "2"}, "needs AIGATEWAY_REDIS_URL"),
        ({"AIGATEWAY_CONFIG": "/nonexistent/config.yaml"}, "does not exist"),
    ],
)
def test_invalid_configuration_is_one_clear_error(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    assert fragment in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("server:\n  prot: 1\n", "unknown setting 'server.prot'"),
        ("sever:\n  port: 1\n", "unknown section 'sever'"),
        ("server: 8080\n", "section 'server' must be a mapping"),
        ("- server\n", "must hold a mapping of sections"),
        ("server:\n  port: [1\n", "cannot read"),
        ("request_log:\n  batch_size: many\n", "(request_log.batch_size)"),
    ],
)
def test_bad_yaml_is_one_clear_error(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(write_config(tmp_path, text))
    assert fragment in str(caught.value)
    assert "\n" not in str(caught.value)


def test_empty_sections_and_keys_keep_the_defaults(tmp_path: Path) -> None:
    settings = load_settings(write_config(tmp_path, "server:\nredis:\n  url:\n"))
    assert settings == load_settings({})


def test_every_section_is_a_struct_of_settings() -> None:
    """The yaml sections are exactly the fields of Settings (the one place settings grow)."""
    assert list(SECTIONS) == list(Settings.__struct_fields__)
    assert SECTIONS["server"] == ("host", "port", "workers", "max_body_bytes")
