"""Every ``cryptodesk`` command in the README's command-line section runs as written.

The commands are read from README.md itself (so the README cannot drift from the program) and
run in order in one folder, as a user would: a Yahoo export ``BTC-USD.csv``, a ``posts.csv`` and
a ``funding.csv`` lie in the folder; the exchange is a local Binance-speaking server, reached
through the ``api_url`` setting (never the network). Before ``models retrain`` the newer bars of
the same export are imported, as after a ``data fetch``. Running them all takes minutes (WF1
backtests, a LightGBM trained 7 days ahead, a retrain), so that test is marked slow; the default
run checks that every README command parses with the current command line.
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pandas as pd
import pytest

from cryptodesk.cli import main

README = Path(__file__).resolve().parents[2] / "README.md"
HEAVY = ("lstm", "gru", "cnn", "transformer")


def readme_commands() -> list[str]:
    """The ``cryptodesk`` commands of the README's "Command line" block, continuation lines
    joined and comments dropped."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Command line"):]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    joined = block.replace("\\\n", " ")
    out = []
    for line in joined.splitlines():
        line = line.split(" # ")[0].strip() if " # " in line else line.strip()
        if line.startswith("cryptodesk"):
            out.append(line)
    return out


def _folder(tmp_path: Path, shared_data: Path) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    daily = pd.read_csv(shared_data / "daily" / "BTC-USD.csv")
    daily.iloc[:-40].to_csv(work / "BTC-USD.csv", index=False)  # newer bars come later
    daily.to_csv(work / "BTC-USD-newer.csv", index=False)
    shutil.copy(Path(__file__).parents[1] / "data" / "sentiment_examples.csv", work / "posts.csv")
    times = pd.date_range("2024-01-01", periods=200, freq="8h", tz="UTC")
    pd.DataFrame({"time": times.strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "funding": [0.0001 * ((i % 7) - 3) for i in range(200)]}).to_csv(
        work / "funding.csv", index=False)
    return work


def _run_all(tmp_path: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch,
             heavy: bool) -> list[str]:
    from cryptodesk.paths import app_paths
    from cryptodesk.settings import ExchangeSettings, Settings, save_settings
    from tests.support.fake_binance import FakeBinance

    work = _folder(tmp_path, shared_data)
    monkeypatch.chdir(work)
    ran = []
    with FakeBinance(shared_data / "hourly") as server:
        save_settings(Settings(exchanges={"binance": ExchangeSettings(api_url=server.base_url)}),
                      app_paths().settings_file)
        for command in readme_commands():
            if not heavy and any(f",{m}" in command or f" {m}" in command for m in HEAVY):
                continue
            if command.startswith("cryptodesk models retrain"):
                assert main(["data", "import", "BTC-USD-newer.csv", "--symbol", "BTC-USD"]) == 0
            argv = shlex.split(command)[1:]
            try:
                code = main(argv)
            except SystemExit as exc:  # --version exits through argparse
                code = exc.code
            assert code == 0, command
            ran.append(command)
    assert (work / "next_week.csv").exists() and (work / "vol.json").exists()
    return ran


def test_every_readme_command_parses() -> None:
    from cryptodesk.cli import build_parser

    parser = build_parser()
    commands = readme_commands()
    assert len(commands) >= 30
    for command in commands:
        argv = shlex.split(command)[1:]
        if argv == ["--version"]:
            continue
        parser.parse_args(argv)  # SystemExit(2) on an unknown flag or a missing argument


@pytest.mark.slow
def test_readme_commands_run_as_written(tmp_path: Path, shared_data: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    ran = _run_all(tmp_path, shared_data, monkeypatch, heavy=False)
    assert any(c.startswith("cryptodesk models retrain") for c in ran)
    assert len(ran) >= 30


@pytest.mark.slow
def test_readme_commands_with_the_neural_nets(tmp_path: Path, shared_data: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    ran = _run_all(tmp_path, shared_data, monkeypatch, heavy=True)
    assert len(ran) == len(readme_commands())
