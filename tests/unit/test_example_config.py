from __future__ import annotations

from pathlib import Path

from aigateway.entrypoints.ioc.settings import load_settings

EXAMPLE = Path(__file__).parents[2] / "config" / "config.example.yaml"


def test_the_shipped_example_config_loads_to_the_defaults() -> None:
    settings = load_settings({"AIGATEWAY_CONFIG": str(EXAMPLE)})
    assert settings.port == 8080
    assert settings.embedded and settings.redis_url is None
    assert settings.admin_key is None and settings.secret_key is None
