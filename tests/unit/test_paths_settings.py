"""Paths honour CRYPTODESK_HOME; settings are typed, validated, atomic and survive corruption."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from cryptodesk.errors import SettingsError
from cryptodesk.paths import app_paths
from cryptodesk.settings import (
    SCHEMA_VERSION,
    ExchangeSettings,
    Settings,
    from_dict,
    load_settings,
    save_settings,
)


def test_home_override_puts_everything_under_one_folder(cryptodesk_home: Path) -> None:
    paths = app_paths()
    for folder in (paths.data, paths.config, paths.cache, paths.log):
        assert cryptodesk_home.resolve() in folder.parents
    assert paths.settings_file.parent == paths.config
    assert paths.candles.parent == paths.data


def test_without_override_appdirs_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRYPTODESK_HOME")
    paths = app_paths()
    assert "CryptoDesk" in str(paths.data) and "CryptoDesk" in str(paths.config)


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    settings, warnings = load_settings(tmp_path / "settings.json")
    assert settings == Settings() and warnings == []


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    settings = dataclasses.replace(
        Settings(), theme="dark", seed=7,
        exchanges={"binance": ExchangeSettings(api_url="http://127.0.0.1:9000", max_retries=2)},
    )
    save_settings(settings, path)
    loaded, warnings = load_settings(path)
    assert loaded == settings and warnings == []
    assert json.loads(path.read_text())["schema_version"] == SCHEMA_VERSION
    assert not list(tmp_path.glob(".settings.json.*"))  # no temp files left behind


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "[1, 2]",
        json.dumps({"schema_version": 1, "theme": "purple"}),
        json.dumps({"schema_version": 1, "seed": "seven"}),
        json.dumps({"schema_version": 1, "unknown_key": 1}),
        json.dumps({"schema_version": 99}),
        json.dumps({"schema_version": 1, "exchanges": {"binance": {"api_url": "ftp://x"}}}),
    ],
)
def test_corrupt_or_invalid_file_is_kept_and_defaults_used(tmp_path: Path, content: str) -> None:
    path = tmp_path / "settings.json"
    path.write_text(content)
    settings, warnings = load_settings(path)
    assert settings == Settings()
    assert len(warnings) == 1 and "using defaults" in warnings[0]
    bad = list(tmp_path.glob("settings.json.bad-*"))
    assert len(bad) == 1 and bad[0].read_text() == content
    assert not path.exists()


def test_old_schema_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"style": "dark", "seed": 3}))
    settings, warnings = load_settings(path)
    assert warnings == [] and settings.theme == "dark" and settings.seed == 3


def test_invalid_settings_are_not_saved(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="theme"):
        save_settings(dataclasses.replace(Settings(), theme="neon"), tmp_path / "s.json")
    assert not (tmp_path / "s.json").exists()
    with pytest.raises(SettingsError, match="device"):
        from_dict({"device": "tpu"})


def test_schema_1_files_move_from_the_old_app_seed_to_the_shared_default(tmp_path) -> None:
    import json

    from cryptodesk.settings import SCHEMA_VERSION, Settings, load_settings

    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"schema_version": 1, "seed": 42, "theme": "dark"}))
    settings, warnings = load_settings(path)
    assert warnings == [] and settings.seed == 0 and settings.theme == "dark"
    assert settings.schema_version == SCHEMA_VERSION == 2 and Settings().seed == 0
    path.write_text(json.dumps({"schema_version": 1, "seed": 7}))
    assert load_settings(path)[0].seed == 7  # a seed the user chose stays
