"""Exchange downloads end to end: the real ccxt client against a local Binance-speaking server
that serves the real hourly candles, with injected faults. After every scenario the store must
hold exactly the served candles: none lost, none duplicated, the real gap still a gap."""

from __future__ import annotations

import itertools
import os
import signal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cryptodesk.cli import main
from cryptodesk.data.exchange import FetchResult, RetryPolicy, fetch_candles, list_markets
from cryptodesk.data.exchange_client import RetriesExhausted
from cryptodesk.data.schema import COLUMNS, SeriesKey, validate_candles
from cryptodesk.data.store import CandleStore
from cryptodesk.errors import ExchangeError
from cryptodesk.jobs import Cancelled, TaskContext
from cryptodesk.paths import app_paths
from cryptodesk.settings import ExchangeSettings, Settings, save_settings
from tests.support.fake_binance import FakeBinance, Faults, Recorded

pytestmark = pytest.mark.network

KEY = SeriesKey("binance", "BTC/USDT", "1h")
FAST = RetryPolicy(max_retries=4, base_delay=0.001, max_delay=0.01)
# A window of ~4,000 hours around the real gap (2023-03-24 13:00 is missing): 5 pages.
SINCE, UNTIL = "2023-01-01", "2023-06-15"
GAP = pd.Timestamp("2023-03-24 13:00", tz="UTC")


# `server`: a local Binance-speaking server on the shared hourly data (tests/conftest.py)


@pytest.fixture
def store(tmp_path: Path) -> CandleStore:
    return CandleStore(tmp_path / "candles")


def _fetch(server: FakeBinance, store: CandleStore, **kwargs) -> FetchResult:
    kwargs.setdefault("retry", FAST)
    symbol = kwargs.pop("symbol", "BTC/USDT")
    timeframe = kwargs.pop("timeframe", "1h")
    return fetch_candles(store, "binance", symbol, timeframe, api_url=server.base_url, **kwargs)


def _expected(server: FakeBinance, since: str | None = None, until: str | None = None,
              interval: str = "1h") -> pd.DataFrame:
    served = server.served("BTCUSDT", interval)
    if since is not None:
        served = served[served.index >= pd.Timestamp(since, tz="UTC")]
    if until is not None:
        served = served[served.index < pd.Timestamp(until, tz="UTC")]
    return served


def _assert_store_holds(store: CandleStore, expected: pd.DataFrame, key: SeriesKey = KEY) -> None:
    """Exactly the expected candles, bit for bit, once each."""
    stored = store.load(key)
    validate_candles(stored)
    assert stored.index.is_unique
    assert len(stored) == len(expected)
    assert stored.index.equals(expected.index)
    np.testing.assert_array_equal(stored[list(COLUMNS)].to_numpy(), expected[list(COLUMNS)].to_numpy())
    assert store.info(key).rows == len(expected)


def _assert_gap_kept(store: CandleStore) -> None:
    index = store.load(KEY).index
    steps = np.diff(index.asi8)
    assert (steps == 3_600 * 10**9).sum() == len(index) - 2  # one step is the gap
    assert GAP not in index and GAP - pd.Timedelta("1h") in index and GAP + pd.Timedelta("1h") in index


def _outcomes(server: FakeBinance) -> list[str]:
    return [r.outcome for r in server.requests]


# ------------------------------------------------------------------------------ clean runs
def test_full_history_download_matches_the_served_candles(server: FakeBinance, store: CandleStore) -> None:
    result = _fetch(server, store)
    expected = _expected(server)
    assert len(expected) == 26_279
    _assert_store_holds(store, expected)
    _assert_gap_kept(store)
    assert store.info(KEY).meta.source == "binance" and store.info(KEY).meta.symbol == "BTC/USDT"
    assert (result.received, result.added, result.retries) == (len(expected), len(expected), 0)
    assert result.first == expected.index[0] and result.last == expected.index[-1]
    # every request went through the rewrite to Binance's spot host; no futures/margin calls
    assert {r.host for r in server.requests} == {"api.binance.com"}
    assert {r.path for r in server.requests} == {"/api/v3/exchangeInfo", "/api/v3/klines"}
    klines = server.klines_requests()
    assert klines[0].params["startTime"] == "0"  # nothing stored: from the exchange's start
    pages = [r for r in klines if "startTime" in r.params]
    assert {r.params["limit"] for r in pages} == {"1000"}  # the exchange's own page limit
    # 27 pages + the empty answer after them, which is the end only because the exchange's
    # newest candle (one request without startTime) is older than it
    assert len(pages) == 28 and len(klines) == result.requests == 29
    assert "startTime" not in klines[-1].params and klines[-1].params["limit"] == "1"


def test_incremental_update_continues_after_the_last_stored_candle(
    server: FakeBinance, store: CandleStore
) -> None:
    first = _fetch(server, store, since=SINCE, until="2023-03-01")
    _assert_store_holds(store, _expected(server, SINCE, "2023-03-01"))
    server.reset_counters()
    second = _fetch(server, store, until=UNTIL)  # no since: resume
    _assert_store_holds(store, _expected(server, SINCE, UNTIL))
    _assert_gap_kept(store)
    start = int(server.klines_requests()[0].params["startTime"])
    assert pd.Timestamp(start, unit="ms", tz="UTC") == pd.Timestamp("2023-03-01", tz="UTC")
    assert first.added + second.added == len(_expected(server, SINCE, UNTIL))
    assert second.added == second.received  # nothing fetched twice


def test_other_timeframes_and_symbol_spellings(server: FakeBinance, store: CandleStore) -> None:
    result = _fetch(server, store, symbol="btc-usdt", timeframe="240m", since=SINCE, until=UNTIL)
    key = SeriesKey("binance", "BTC/USDT", "4h")
    assert result.key == key
    assert {r.params["interval"] for r in server.klines_requests()} == {"4h"}
    _assert_store_holds(store, _expected(server, SINCE, UNTIL, "4h"), key)
    _fetch(server, store, symbol="ETHUSDT", since=SINCE, until="2023-01-02")
    assert store.info(SeriesKey("binance", "ETH/USDT", "1h")).rows == 24


def test_the_still_open_candle_is_never_stored(server: FakeBinance, store: CandleStore) -> None:
    server.faults.live_candle = True
    expected = _expected(server)
    since = expected.index[-5]
    result = _fetch(server, store, since=since)
    assert result.dropped_open == 1
    _assert_store_holds(store, expected[expected.index >= since])
    # and a later update does not pick it up either
    again = _fetch(server, store)
    assert again.received == 0 and again.dropped_open == 1
    assert store.info(KEY).rows == 5


# ------------------------------------------------------------------------------ faults
@pytest.mark.parametrize("status", [429, 418, 500, 503])
def test_every_nth_request_failing_is_retried_without_loss(
    server: FakeBinance, store: CandleStore, status: int
) -> None:
    server.faults = Faults(status_every=2, status=status)
    result = _fetch(server, store, since=SINCE, until=UNTIL)
    _assert_store_holds(store, _expected(server, SINCE, UNTIL))
    _assert_gap_kept(store)
    failed = _outcomes(server).count(str(status))
    assert failed >= 3 and result.retries == failed


def test_rate_limit_answer_waits_at_least_the_rate_limit_interval(
    server: FakeBinance, store: CandleStore
) -> None:
    server.faults = Faults(status_every=2, status=429)
    _fetch(server, store, since=SINCE, until="2023-03-01", client_config={"rateLimit": 150})
    klines = server.klines_requests()
    pauses = [b.at - a.at for a, b in itertools.pairwise(klines) if a.outcome == "429"]
    assert pauses and min(pauses) >= 0.14


def test_requests_hanging_past_the_timeout_are_retried(server: FakeBinance, store: CandleStore) -> None:
    server.faults = Faults(hang_every=2, hang_s=1.5)
    result = _fetch(server, store, since=SINCE, until=UNTIL, timeout_ms=300)
    _assert_store_holds(store, _expected(server, SINCE, UNTIL))
    hangs = _outcomes(server).count("hang")
    # each hang costs one retry (a slow machine may time out on a normal answer too)
    assert hangs >= 2 and result.retries >= hangs


def test_overlapping_pages_and_repeated_rows_give_no_duplicates(
    server: FakeBinance, store: CandleStore
) -> None:
    server.faults = Faults(overlap=7, duplicate_rows=True)
    result = _fetch(server, store, since=SINCE, until=UNTIL)
    expected = _expected(server, SINCE, UNTIL)
    _assert_store_holds(store, expected)
    _assert_gap_kept(store)
    assert result.received == result.added == len(expected)


def test_connection_drop_exhausts_retries_keeps_pages_and_a_rerun_completes(
    server: FakeBinance, store: CandleStore
) -> None:
    server.faults = Faults(drop_after=4)  # exchangeInfo + 3 pages, then the network is gone
    with pytest.raises(RetriesExhausted) as info:
        _fetch(server, store, since=SINCE, until=UNTIL)
    message = str(info.value)
    assert "still failing after 4 retries (NetworkError" in message
    assert "kept the 3,000 candles" in message and "again to resume" in message
    assert _outcomes(server).count("drop") == 5  # first try + 4 retries
    expected = _expected(server, SINCE, UNTIL)
    _assert_store_holds(store, expected.iloc[:3000])
    server.faults = Faults()
    _fetch(server, store, until=UNTIL)  # re-run without --since
    _assert_store_holds(store, expected)
    _assert_gap_kept(store)


def test_cancel_keeps_every_finished_page_and_a_rerun_resumes(
    server: FakeBinance, store: CandleStore
) -> None:
    pages = []

    def on_progress(fraction: float | None, message: str) -> None:
        if "bars ·" in message:
            pages.append(message)
            if len(pages) == 2:
                ctx.cancel()

    ctx = TaskContext(on_progress=on_progress)
    with pytest.raises(Cancelled):
        _fetch(server, store, since=SINCE, until=UNTIL, ctx=ctx)
    expected = _expected(server, SINCE, UNTIL)
    _assert_store_holds(store, expected.iloc[:2000])
    assert len(server.klines_requests()) == 2  # stopped before asking for page 3
    _fetch(server, store, until=UNTIL)
    _assert_store_holds(store, expected)


def test_progress_reports_fraction_and_rate(server: FakeBinance, store: CandleStore) -> None:
    reports: list[tuple[float | None, str]] = []
    _fetch(server, store, since=SINCE, until=UNTIL,
           ctx=TaskContext(on_progress=lambda f, m: reports.append((f, m))))
    fractions = [f for f, _ in reports if f is not None]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and 0 < fractions[0] < 0.5
    assert any("bars/s" in m and "1,000 bars" in m for _, m in reports)


def test_loading_markets_is_retried_too(server: FakeBinance) -> None:
    server.faults = Faults(status_every=1, status=503, only="/exchangeInfo")

    def recover(record: Recorded) -> None:
        if record.n == 1:  # decided already: this one fails, the retry is answered
            server.faults.status_every = 0

    server.on_request = recover
    markets = list_markets("binance", "BTC", api_url=server.base_url, retry=FAST)
    assert [m.symbol for m in markets] == ["ETH/BTC"]
    assert _outcomes(server) == ["503", "ok"]
    server.on_request = None
    server.faults.status_every = 1
    with pytest.raises(RetriesExhausted, match="loading markets still failing after 4 retries"):
        list_markets("binance", api_url=server.base_url, retry=FAST)


# ------------------------------------------------------------------------------ permanent errors
def test_unknown_symbol_fails_at_once_with_close_matches(server: FakeBinance, store: CandleStore) -> None:
    with pytest.raises(ExchangeError, match=r"no market 'BTC/USDC'; close matches: BTC/USDT"):
        _fetch(server, store, symbol="BTC/USDC")
    assert server.klines_requests() == [] and not store.exists(KEY)


def test_unknown_timeframe_fails_before_any_request(server: FakeBinance, store: CandleStore) -> None:
    with pytest.raises(ExchangeError, match=r"no 2d candles; its timeframes are: 1s, 1m"):
        _fetch(server, store, timeframe="2d")
    assert server.requests == []


def test_a_permanent_answer_during_the_download_stops_at_once(
    server: FakeBinance, store: CandleStore
) -> None:
    # a market the exchange lists but whose klines it refuses (Binance: 400 "Invalid symbol.")
    def refuse(record: Recorded) -> None:
        if record.n == 3:  # page 2 is answered normally, page 3 is refused
            server.faults.status_every, server.faults.status = 1, 400

    server.on_request = refuse
    with pytest.raises(ExchangeError, match=r"failed: BadSymbol.*kept the 2,000 candles"):
        _fetch(server, store, since=SINCE, until=UNTIL)
    assert _outcomes(server).count("400") == 1  # not retried
    _assert_store_holds(store, _expected(server, SINCE, UNTIL).iloc[:2000])


# ------------------------------------------------------------------------------ CLI
def test_cli_fetch_then_rerun_after_a_dropped_connection(
    server: FakeBinance, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["data", "fetch", "--exchange", "binance", "--symbol", "BTC/USDT", "--timeframe", "1h",
            "--since", SINCE, "--until", UNTIL, "--api-url", server.base_url, "--retries", "0"]
    server.faults = Faults(drop_after=3)
    assert main(argv) == 1
    err = capsys.readouterr().err
    page3 = _expected(server, SINCE, UNTIL).index[2000]
    assert f"cryptodesk: error: binance: fetching BTC/USDT 1h candles from {page3:%Y-%m-%d %H:%M}" in err
    assert "kept the 2,000 candles" in err
    server.faults = Faults()
    assert main([a for a in argv if a != SINCE and a != "--since"]) == 0
    out = capsys.readouterr().out
    assert "BTC/USDT 1h (binance)" in out and f"stored: {len(_expected(server, SINCE, UNTIL)):,}" in out
    store = CandleStore(app_paths().candles)
    _assert_store_holds(store, _expected(server, SINCE, UNTIL))


def test_cli_uses_the_api_url_setting(server: FakeBinance, capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(exchanges={"binance": ExchangeSettings(api_url=server.base_url)})
    save_settings(settings, app_paths().settings_file)
    argv = ["data", "fetch", "--exchange", "binance", "--symbol", "XRPUSDT", "--timeframe", "1d",
            "--since", "2024-01-01", "--until", "2024-02-01", "--quiet"]
    assert main(argv) == 0
    assert {r.host for r in server.requests} == {"api.binance.com"}
    assert CandleStore(app_paths().candles).info(SeriesKey("binance", "XRP/USDT", "1d")).rows == 31


def test_cli_ctrl_c_stops_cleanly_and_keeps_the_pages(
    server: FakeBinance, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupt(record: Recorded) -> None:
        if record.path.endswith("/klines") and record.n == 3:  # while page 2 is in flight
            os.kill(os.getpid(), signal.SIGINT)

    server.on_request = interrupt
    handler_before = signal.getsignal(signal.SIGINT)
    argv = ["data", "fetch", "--exchange", "binance", "--symbol", "BTC/USDT", "--timeframe", "1h",
            "--since", SINCE, "--until", UNTIL, "--api-url", server.base_url]
    assert main(argv) == 130
    err = capsys.readouterr().err
    assert "stopping after the current request" in err and "cryptodesk: cancelled" in err
    store = CandleStore(app_paths().candles)
    expected = _expected(server, SINCE, UNTIL)
    stored = store.info(KEY).rows
    assert 2000 <= stored < len(expected) and stored % 1000 == 0
    _assert_store_holds(store, expected.iloc[:stored])
    assert signal.getsignal(signal.SIGINT) is handler_before  # our handler is gone again


def test_cli_markets_and_exchanges(server: FakeBinance, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "markets", "--exchange", "binance", "--quote", "usdt",
                 "--api-url", server.base_url]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["BTC/USDT", "ETH/USDT", "LUNA/USDT", "XRP/USDT"]
    assert "(inactive)" in lines[2]
    assert main(["data", "exchanges", "binance"]) == 0
    out = capsys.readouterr().out
    binance = next(line for line in out.splitlines() if line.split()[0] == "binance")
    assert " 1h " in binance and " 1d " in binance
    assert main(["data", "fetch", "--exchange", "nosuchexchange", "--symbol", "X/Y",
                 "--timeframe", "1h"]) == 1
    assert "unknown exchange 'nosuchexchange'" in capsys.readouterr().err
