"""Settings: one frozen object from defaults, a TOML file and SHOPSTREAM_* variables."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from shopstream.settings import SettingsError, load_settings


def test_defaults_are_frozen() -> None:
    settings = load_settings()
    assert settings.generator.customers == 10_000
    with pytest.raises(ValidationError):
        settings.generator.seed = 3  # type: ignore[misc]


def test_environment_beats_toml_beats_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "shop.toml"
    config.write_text("[generator]\nseed = 5\ncustomers = 77\n\n[generator.funnel]\npreset = 'flat'\n")
    monkeypatch.setenv("SHOPSTREAM_GENERATOR__SEED", "9")
    settings = load_settings(config)
    assert (settings.generator.seed, settings.generator.customers) == (9, 77)
    assert settings.generator.funnel.preset == "flat"


def test_bad_values_name_the_key_and_what_is_allowed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPSTREAM_GENERATOR__FUNNEL__PRESET", "zigzag")
    with pytest.raises(SettingsError, match=r"generator\.funnel\.preset .*'funnel' or 'flat'"):
        load_settings()
    monkeypatch.delenv("SHOPSTREAM_GENERATOR__FUNNEL__PRESET")
    typo = tmp_path / "typo.toml"
    typo.write_text("[generator]\ncustomer = 5\n")
    with pytest.raises(SettingsError, match=r"generator\.customer "):
        load_settings(typo)
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(tmp_path / "absent.toml")
