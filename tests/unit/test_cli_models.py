"""``cryptodesk train``, ``forecast`` and ``models ...`` as a user runs them."""

from __future__ import annotations

from pathlib import Path

import pytest

from cryptodesk.cli import main
from cryptodesk.io.bundles import ModelLibrary
from cryptodesk.io.exports import FORECAST_COLUMNS, read_forecasts_csv


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_train_list_forecast_rename_export_import_delete(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert run(capsys, "data", "demo")[0] == 0
    code, out, _ = run(capsys, "train", "--symbol", "DEMO/USD", "--timeframe", "1d",
                       "--model", "drift", "--name", "my drift", "--horizon", "3")
    assert code == 0 and "Saved model drift-" in out and "naive" in out and "TheilU" in out
    code, out, _ = run(capsys, "models", "list")
    assert code == 0 and "my drift" in out and "DEMO/USD" in out
    assert "ok" in out or "degraded" in out
    target = tmp_path / "f.csv"
    code, out, _ = run(capsys, "forecast", "--model", "my drift", "--horizon", "3", "--out", str(target))
    assert code == 0 and "3 step(s)" in out
    table = read_forecasts_csv(target)
    assert tuple(table.columns) == FORECAST_COLUMNS and list(table.horizon) == [1, 2, 3]
    assert table.lower.notna().all() and table.actual.isna().all()
    code, _, err = run(capsys, "forecast", "--model", "my drift", "--horizon", "3",
                       "--symbol", "DEMO/USD", "--timeframe", "1h")
    assert code == 1 and "trained on 1d bars" in err
    assert run(capsys, "models", "rename", "my drift", "renamed")[0] == 0
    archive = tmp_path / "m.zip"
    assert run(capsys, "models", "export", "renamed", "--out", str(archive))[0] == 0
    code, out, _ = run(capsys, "models", "show", "renamed")
    assert code == 0 and '"bundle_format"' in out
    assert run(capsys, "models", "delete", "renamed", "--yes")[0] == 0
    assert ModelLibrary().list() == []
    code, out, _ = run(capsys, "models", "import", str(archive))
    assert code == 0 and len(ModelLibrary().list()) == 1


def test_train_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "data", "demo")
    code, _, err = run(capsys, "train", "--symbol", "DEMO/USD", "--timeframe", "1d",
                       "--model", "nosuch")
    assert code == 1 and "unknown model" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "train", "--symbol", "DEMO/USD", "--timeframe", "1d",
                       "--model", "lightgbm", "--config", "{bad json")
    assert code == 1 and "--config" in err
    code, _, err = run(capsys, "forecast", "--model", "nothing", "--horizon", "1")
    assert code == 1 and "no saved model" in err
