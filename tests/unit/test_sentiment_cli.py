"""``cryptodesk sentiment ...`` and ``cryptodesk series ...`` end to end (in-process)."""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cryptodesk.cli import sentiment_cmds
from cryptodesk.errors import CryptoDeskError

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "sentiment_examples.csv"


def run(argv: list[str]) -> int:
    """Parse and run like ``cryptodesk.cli.main`` does (exit 1 with one line on user errors)."""
    parser = argparse.ArgumentParser(prog="cryptodesk")
    sub = parser.add_subparsers(dest="command")
    sentiment_cmds.register(sub)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CryptoDeskError as exc:
        print(f"cryptodesk: error: {exc}", file=sys.stderr)
        return 1


def test_import_score_show_list_delete(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["sentiment", "import", str(EXAMPLES), "--dataset", "ex", "--source", "tests"]) == 0
    out = capsys.readouterr().out
    assert "into 'ex'" in out and "scored" in out and "lexicon" in out

    assert run(["sentiment", "score", "ex", "--all"]) == 0
    assert "Scored" in capsys.readouterr().out

    assert run(["sentiment", "score", "--text", "to the moon", "--text", "got rekt"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("+") and lines[1].startswith("-")

    assert run(["sentiment", "show", "ex", "--tail", "3"]) == 0
    out = capsys.readouterr().out
    assert "texts" in out and "latest texts" in out and "tests" in out

    assert run(["sentiment", "show", "ex", "--timeframe", "1d", "--json", "--tail", "2"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["scored"] == doc["texts"] and len(doc["bars"]) == 2
    assert set(next(iter(doc["bars"].values()))) == {"score", "count", "neg_share"}

    assert run(["sentiment", "list"]) == 0
    assert "ex" in capsys.readouterr().out
    assert run(["sentiment", "delete", "ex", "--yes"]) == 0
    assert run(["sentiment", "list"]) == 0
    assert "No sentiment datasets" in capsys.readouterr().out


def test_show_with_stored_candles_adds_divergence(capsys: pytest.CaptureFixture[str]) -> None:
    from cryptodesk.data.schema import make_candles
    from cryptodesk.data.store import CandleStore

    idx = pd.date_range("2024-03-01", periods=24 * 12, freq="h", tz="UTC")
    c = 100 * np.exp(np.cumsum(np.random.default_rng(0).normal(0, 0.01, len(idx))))
    frame = pd.DataFrame({"open": c, "high": c, "low": c, "close": c, "volume": 1.0}, index=idx)
    CandleStore().write(make_candles(frame, source="csv", symbol="BTC-USD", timeframe="1h"))
    assert run(["sentiment", "import", str(EXAMPLES), "--dataset", "ex"]) == 0
    capsys.readouterr()
    assert run(["sentiment", "show", "ex", "--symbol", "btc-usd", "--half-life", "3h", "--tail", "5"]) == 0
    out = capsys.readouterr().out
    assert "BTC-USD 1h" in out and "divergence" in out


def test_user_errors_exit_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "latin.csv"
    bad.write_bytes("time,text\n2024-01-01,caf\xe9\n".encode("latin-1"))
    assert run(["sentiment", "import", str(bad), "--dataset", "x"]) == 1
    err = capsys.readouterr().err
    assert "line 2" in err and "UTF-8" in err
    assert run(["sentiment", "show", "nope"]) == 1
    assert run(["sentiment", "import", str(EXAMPLES), "--dataset", "bad name"]) == 1
    assert run(["sentiment", "score", "--text", "x", "--scorer", "transformer"]) == 1
    assert "unavailable" in capsys.readouterr().err
    assert run(["sentiment", "scorers"]) == 0
    assert "lexicon" in capsys.readouterr().out


def test_series_commands(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "funding.csv"
    times = pd.date_range("2024-01-01", periods=30, freq="8h", tz="UTC")
    path.write_text("time,rate\n" + "".join(f"{t.isoformat()},{i * 1e-5}\n" for i, t in enumerate(times)))
    assert run(["series", "import", str(path), "--name", "funding"]) == 0
    out = capsys.readouterr().out
    assert "Imported series 'funding': 30 rows" in out and "typical spacing: 8h" in out
    assert run(["series", "list"]) == 0
    assert "funding" in capsys.readouterr().out
    assert run(["series", "show", "funding", "--tail", "2"]) == 0
    assert "publication delay" in capsys.readouterr().out
    capsys.readouterr()
    # no terminal to ask on: refused in one line naming --yes, and the series is kept (this
    # was a traceback: the question read the end of a closed stdin)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sys, "stdin", io.StringIO("y\n"))
        assert run(["series", "delete", "funding"]) == 1
        assert run(["sentiment", "delete", "nope"]) == 1  # unknown first, before any question
    err = capsys.readouterr().err.splitlines()
    assert err[0] == ("cryptodesk: error: refusing to delete series 'funding' without --yes "
                      "(no terminal to confirm)")
    assert err[1] == "cryptodesk: error: no sentiment dataset 'nope'"
    assert run(["series", "show", "funding", "--tail", "1"]) == 0
    assert run(["series", "delete", "funding", "--yes"]) == 0
    assert run(["series", "show", "funding"]) == 1


def test_a_dataset_is_deleted_only_when_the_terminal_says_yes(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(["sentiment", "import", str(EXAMPLES), "--dataset", "ex"]) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO())
    assert run(["sentiment", "delete", "ex"]) == 1
    assert "without --yes" in capsys.readouterr().err
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    answers = iter(["n", "", "YES "])
    monkeypatch.setattr("builtins.input", lambda _question: next(answers))
    for kept in (True, True, False):  # n, Enter, then yes
        assert run(["sentiment", "delete", "ex"]) == 0
        assert capsys.readouterr().out == ("Kept.\n" if kept else "Deleted 'ex'.\n")
        assert run(["sentiment", "show", "ex"]) == (0 if kept else 1)
        capsys.readouterr()

    def end_of_input(_question: str) -> str:
        raise EOFError

    assert run(["sentiment", "import", str(EXAMPLES), "--dataset", "ex"]) == 0
    monkeypatch.setattr("builtins.input", end_of_input)  # Ctrl+D at the question: no
    assert run(["sentiment", "delete", "ex"]) == 0
    assert "Kept." in capsys.readouterr().out


def test_importing_the_package_and_commands_stays_cheap() -> None:
    import subprocess

    heavy = ("pandas", "pyarrow", "numpy", "vaderSentiment", "transformers", "torch", "PySide6")
    code = (
        "import sys, cryptodesk.sentiment, cryptodesk.cli.sentiment_cmds; "
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
