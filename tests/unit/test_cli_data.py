"""The data commands as a user runs them: exit codes, messages, store effects."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from cryptodesk.cli import main
from cryptodesk.data.schema import SeriesKey
from cryptodesk.data.store import CandleStore


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_import_list_show_check_export_delete(
    capsys: pytest.CaptureFixture[str], shared_data: Path, tmp_path: Path
) -> None:
    code, out, _ = run(capsys, "data", "import", str(shared_data / "hourly/ETH-USDT-1h.csv"),
                       "--symbol", "ETH/USDT", "--source", "binance")
    assert code == 0 and "26,279 new" in out and "gaps: 1" in out
    code, out, _ = run(capsys, "data", "list")
    assert code == 0 and "ETH/USDT" in out and "26,279" in out
    code, out, _ = run(capsys, "data", "show", "eth-usdt", "--tail", "2")
    assert code == 0 and "2025-04-28 07:00" in out and len(out.strip().splitlines()) == 4
    code, out, _ = run(capsys, "data", "check", "ETHUSDT")
    assert code == 0 and "2023-03-24T12:00:00Z" in out
    target = tmp_path / "eth.csv"
    code, out, _ = run(capsys, "data", "export", "ETH/USDT", "--out", str(target))
    assert code == 0 and target.exists()
    exported = pd.read_csv(target)
    assert len(exported) == 26_279 and exported.timestamp.iloc[0] == "2022-04-29T08:00:00Z"
    # the export re-imports to the same series, with nothing new
    code, out, _ = run(capsys, "data", "import", str(target), "--symbol", "ETH/USDT", "--source", "binance")
    assert code == 0 and "0 new" in out
    code, out, _ = run(capsys, "data", "delete", "ETH/USDT", "--yes")
    assert code == 0 and CandleStore().list() == []


def test_errors_are_one_line_with_exit_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("when,what\n1,2\n")
    code, out, err = run(capsys, "data", "import", str(bad), "--symbol", "X")
    assert code == 1 and out == ""
    assert err.startswith("cryptodesk: error: ") and "bad.csv" in err and "no time column" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert CandleStore().list() == []
    code, _, err = run(capsys, "data", "show", "NOPE")
    assert code == 1 and "no stored series" in err


def test_debug_adds_traceback(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("when,what\n1,2\n")
    code, _, err = run(capsys, "--debug", "data", "import", str(bad), "--symbol", "X")
    assert code == 1 and "Traceback" in err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["data", "import"])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["data", "frobnicate"])
    assert info.value.code == 2


def test_demo_and_resample(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "data", "demo")
    assert code == 0 and "SYNTHETIC" in out
    code, out, _ = run(capsys, "data", "list")
    assert "SYNTHETIC" in out and "DEMO/USD" in out
    code, out, _ = run(capsys, "data", "resample", "DEMO/USD", "--timeframe", "1h", "--to", "4h")
    assert code == 0
    info = CandleStore().info(SeriesKey("demo", "DEMO/USD", "4h"))
    assert info.rows == 17_520 // 4 and info.meta.synthetic


def test_log_file_is_written(capsys: pytest.CaptureFixture[str], cryptodesk_home: Path) -> None:
    run(capsys, "data", "show", "NOPE")
    logs = list(cryptodesk_home.rglob("cryptodesk.log"))
    assert logs and "no stored series" in logs[0].read_text()


def test_delete_without_terminal_refuses(cryptodesk_home: Path) -> None:
    env = {"CRYPTODESK_HOME": str(cryptodesk_home), "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-m", "cryptodesk", "data", "demo"], env=env, check=True,
                   capture_output=True)
    out = subprocess.run(
        [sys.executable, "-m", "cryptodesk", "data", "delete", "DEMO/USD", "--timeframe", "1d"],
        env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
    )
    assert out.returncode == 1 and "--yes" in out.stderr
