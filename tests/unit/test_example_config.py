from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from aigateway.entrypoints.ioc.settings import SECTIONS, load_settings

EXAMPLE = Path(__file__).parents[2] / "config" / "config.example.yaml"


def test_the_shipped_example_config_loads_to_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no config/config.yaml here
    assert load_settings({"AIGATEWAY_CONFIG": str(EXAMPLE)}) == load_settings({})


def test_the_example_lists_every_setting() -> None:
    document = yaml.safe_load(EXAMPLE.read_text())
    listed = {section: tuple(body) for section, body in document.items()}
    assert listed == SECTIONS
