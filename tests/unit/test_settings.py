from __future__ import annotations

from pathlib import Path

import pytest

from aigateway.entrypoints.ioc.settings import ConfigError, load_settings


def test_defaults_are_the_embedded_sqlite_and_no_redis(tmp_path: Path) -> None:
    settings = load_settings({})
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert settings.redis_url is None
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)


def test_yaml_then_environment_overrides(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "server:\n  port: 9000\ndatabase:\n  url: mysql://root@db:3306/gw\nredis:\n  url: redis://r:6379/0\n"
    )
    settings = load_settings({"AIGATEWAY_CONFIG": str(config), "AIGATEWAY_PORT": "9100"})
    assert settings.port == 9100
    assert settings.database_url == "mysql+asyncmy://root@db:3306/gw"
    assert settings.redis_url == "redis://r:6379/0"


def test_secrets_are_not_in_the_repr() -> None:
    settings = load_settings(
        {"AIGATEWAY_ADMIN_KEY": "adm_topsecret", "AIGATEWAY_SECRET_KEY": "s3cr3t"}
    )
    assert settings.admin_key == "adm_topsecret"
    assert "topsecret" not in repr(settings) and "s3cr3t" not in repr(settings)


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"AIGATEWAY_DATABASE_URL": "::::"}, "not a valid database URL"),
        ({"AIGATEWAY_DATABASE_URL": "postgresql://x/y"}, "unsupported database"),
        ({"AIGATEWAY_DATABASE_URL": "mysql://root@h"}, "names no database"),
        ({"AIGATEWAY_REDIS_URL": "localhost:6379"}, "must start with redis://"),
        ({"AIGATEWAY_PORT": "eighty"}, "invalid setting"),
        ({"AIGATEWAY_PORT": "70000"}, "out of range"),
        ({"AIGATEWAY_WORKERS": "2"}, "needs AIGATEWAY_REDIS_URL"),
        ({"AIGATEWAY_CONFIG": "/nonexistent/config.yaml"}, "does not exist"),
    ],
)
def test_invalid_configuration_is_one_clear_error(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    assert fragment in str(caught.value)
    assert "\n" not in str(caught.value)


def test_unknown_yaml_keys_are_refused(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("server:\n  prot: 1\n")
    with pytest.raises(ConfigError, match=r"server\.prot"):
        load_settings({"AIGATEWAY_CONFIG": str(config)})
