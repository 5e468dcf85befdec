"""Downloads never end "successfully" with candles missing that the exchange serves.

The real ccxt client against the local Binance-speaking server, which here answers with empty,
short, stale, overlapping and duplicated pages, 5xx answers of every kind and 429s, once
(scripted) or every time for one ``startTime`` (a stuck cache). Either the store ends up holding
exactly what the server serves for the range, or the download fails, naming the missing range.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cryptodesk.cli import main
from cryptodesk.data.exchange import (
    IncompleteDownload,
    MissingCandles,
    RetryPolicy,
    fetch_candles,
    make_exchange,
)
from cryptodesk.data.exchange_client import RetriesExhausted
from cryptodesk.data.schema import COLUMNS, SeriesKey
from cryptodesk.data.store import CandleStore
from cryptodesk.errors import ExchangeError
from cryptodesk.paths import app_paths
from tests.support.fake_binance import FakeBinance, Faults
from tests.unit.test_settings_robust import immutable, read_only_folder

pytestmark = pytest.mark.network

KEY = SeriesKey("binance", "BTC/USDT", "1h")
HOUR = 3_600_000
FAST = RetryPolicy(max_retries=3, base_delay=0.001, max_delay=0.01)
SINCE, UNTIL = "2023-01-01", "2023-06-15"  # ~3,900 hours, the real missing hour inside
GAP = pd.Timestamp("2023-03-24 13:00", tz="UTC")


# `server`: a local Binance-speaking server on the shared hourly data (tests/conftest.py)


def served(server: FakeBinance, since: Any = None, until: Any = None) -> pd.DataFrame:
    frame = server.served("BTCUSDT", "1h")
    if since is not None:
        frame = frame[frame.index >= utc(since)]
    if until is not None:
        frame = frame[frame.index < utc(until)]
    return frame


def utc(value: Any) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts


def ms(ts: pd.Timestamp) -> int:
    return int(ts.value // 1_000_000)


def fetch(server: FakeBinance, store: CandleStore, **kwargs: Any) -> Any:
    kwargs.setdefault("retry", FAST)
    kwargs.setdefault("since", SINCE)
    kwargs.setdefault("until", UNTIL)
    return fetch_candles(store, "binance", "BTC/USDT", "1h", api_url=server.base_url, **kwargs)


def assert_holds_exactly(store: CandleStore, expected: pd.DataFrame) -> None:
    if expected.empty:  # e.g. a range of nothing but the exchange's own missing hour
        assert not store.exists(KEY) or store.load(KEY).empty
        return
    stored = store.load(KEY)
    assert stored.index.equals(expected.index), (len(stored), len(expected))
    np.testing.assert_array_equal(stored[list(COLUMNS)].to_numpy(), expected[list(COLUMNS)].to_numpy())


def fetch_argv(server: FakeBinance, *extra: str) -> list[str]:
    return ["data", "fetch", "--exchange", "binance", "--symbol", "BTC/USDT", "--timeframe", "1h",
            "--since", SINCE, "--until", UNTIL, "--api-url", server.base_url, *extra]


# ------------------------------------------------------------------------------ reproducers
@pytest.mark.parametrize("fault", ["empty", "stale"])
def test_an_empty_or_stale_page_mid_range_is_paged_past_and_fetched_again(
    server: FakeBinance, fault: str, capsys: pytest.CaptureFixture[str]
) -> None:
    server.faults = Faults(script=["ok", "ok", fault])  # page 3 comes back empty once
    assert main(fetch_argv(server)) == 0
    expected = served(server, SINCE, UNTIL)
    assert f"{len(expected):,} candles fetched" in capsys.readouterr().out
    assert_holds_exactly(CandleStore(app_paths().candles), expected)
    page3 = str(ms(expected.index[2000]))
    asked = [r.params.get("startTime") for r in server.klines_requests()]
    # the empty answer, the pages after it, then page 3 again in the final check
    assert asked.count(page3) == 2 and asked[-1] == page3


def test_a_page_stuck_empty_fails_naming_the_range_and_keeps_the_rest(
    server: FakeBinance, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = served(server, SINCE, UNTIL)
    hole = expected.index[2000:3000]  # the third page
    server.faults = Faults(stuck={ms(hole[0]): "empty"})
    assert main(fetch_argv(server, "--retries", "1", "--quiet")) == 1
    [err] = capsys.readouterr().err.strip().splitlines()  # one line, no traceback
    assert err.startswith("cryptodesk: error: binance serves BTC/USDT 1h candles that it kept "
                          "answering empty after 1 retry: ")
    assert f"{hole[0]:%Y-%m-%d %H:%M} to {hole[-1] + pd.Timedelta('1h'):%Y-%m-%d %H:%M} UTC" in err
    assert f"--since {hole[0]:%Y-%m-%dT%H:%M} --until {hole[-1] + pd.Timedelta('1h'):%Y-%m-%dT%H:%M}" in err
    store = CandleStore(app_paths().candles)
    assert_holds_exactly(store, expected.drop(hole))  # everything else, pages after it too
    # the suggested command fills it once the exchange answers again
    server.faults = Faults()
    argv = fetch_argv(server)
    argv[argv.index("--since") + 1] = f"{hole[0]:%Y-%m-%dT%H:%M}"
    argv[argv.index("--until") + 1] = f"{hole[-1] + pd.Timedelta('1h'):%Y-%m-%dT%H:%M}"
    assert main(argv) == 0
    assert_holds_exactly(store, expected)


def test_a_failure_after_a_skipped_page_names_the_hole_too(server: FakeBinance) -> None:
    expected = served(server, SINCE, UNTIL)
    page2 = expected.index[1000]  # the skip is one page width: 1,000 hours
    hole = expected.index[(expected.index >= page2) & (expected.index < page2 + 1000 * pd.Timedelta("1h"))]
    # markets, page 1, page 2 (empty), the newest candle, page 3; then the network is gone
    server.faults = Faults(stuck={ms(page2): "empty"}, drop_after=5)
    store = CandleStore(app_paths().candles)
    with pytest.raises(RetriesExhausted) as info:
        fetch(server, store)
    assert isinstance(info.value, IncompleteDownload)
    message = str(info.value)
    page4 = page2 + 2000 * pd.Timedelta("1h")
    assert f"fetching BTC/USDT 1h candles from {page4:%Y-%m-%d %H:%M} still failing" in message
    hole_end = page2 + 1000 * pd.Timedelta("1h")
    assert (f"; missing {hole[0]:%Y-%m-%d %H:%M} to {hole_end:%Y-%m-%d %H:%M}, "
            f"{page4:%Y-%m-%d %H:%M} to 2023-06-15 00:00 UTC; ") in message
    assert f"; fetch it again with --since {hole[0]:%Y-%m-%dT%H:%M} --until {hole_end:%Y-%m-%dT%H:%M};" in message
    assert message.endswith("run the same command again to resume")
    assert info.value.missing == [(hole[0], page2 + 1000 * pd.Timedelta("1h")),
                                  (page4, pd.Timestamp(UNTIL, tz="UTC"))]
    stored = store.load(KEY).index
    assert not stored.isin(hole).any() and stored.isin(expected.index).all()


@pytest.mark.parametrize("answer", ["503/json", "500/json", "502", "505", "507/json", "599"])
def test_every_5xx_is_retried_whatever_its_body(server: FakeBinance, answer: str) -> None:
    server.faults = Faults(script=["ok", answer, answer])
    store = CandleStore(app_paths().candles)
    result = fetch(server, store)
    assert result.retries == 2
    assert_holds_exactly(store, served(server, SINCE, UNTIL))


def test_cli_retries_a_503_with_an_unknown_json_code(server: FakeBinance) -> None:
    server.faults = Faults(status_every=3, status=503, error_body="json")
    assert main(fetch_argv(server, "--quiet")) == 0
    assert [r.outcome for r in server.requests].count("503/json") >= 1
    assert_holds_exactly(CandleStore(app_paths().candles), served(server, SINCE, UNTIL))


def test_the_end_of_history_needs_the_exchanges_word_and_implausible_answers_are_retried(
    server: FakeBinance,
) -> None:
    tail = served(server).index[-1500]
    # after the last candle: the probe for the newest answers none, then an older one than
    # already sent; both are impossible, so retried, and then the end is accepted
    server.faults = Faults(probe_script=["empty", "stale", "503"])
    store = CandleStore(app_paths().candles)
    result = fetch(server, store, since=tail, until=None)
    assert result.retries == 3
    assert_holds_exactly(store, served(server, tail))
    probes = [r for r in server.klines_requests() if "startTime" not in r.params]
    assert [r.outcome for r in probes] == ["empty", "stale", "503", "ok"]


def test_the_end_of_the_exchanges_history_costs_one_request(server: FakeBinance) -> None:
    # the page after the last candle is empty; the exchange's newest candle is older than it
    tail = served(server).index[-300]
    store = CandleStore(app_paths().candles)
    fetch(server, store, since=tail, until=None, page_limit=100)
    assert_holds_exactly(store, served(server, tail))
    assert len(server.klines_requests()) == 5  # 3 pages, the empty answer, the probe


# ------------------------------------------------------------------------------ bad settings
@pytest.mark.parametrize("thing", ["directory", "fifo", "invalid in a read-only folder"])
def test_exchange_commands_run_on_defaults_whatever_the_settings_file_is(
    server: FakeBinance, thing: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import os

    path = app_paths().settings_file
    path.parent.mkdir(parents=True, exist_ok=True)
    if thing == "directory":
        path.mkdir()
    elif thing == "fifo":
        os.mkfifo(path)
    else:
        path.write_text("{broken")
    markets = ["data", "markets", "--exchange", "binance", "--quote", "USDT",
               "--api-url", server.base_url]
    fetch_cmd = fetch_argv(server, "--quiet")
    fetch_cmd[fetch_cmd.index("--until") + 1] = "2023-01-03"
    if thing.startswith("invalid"):
        with read_only_folder(path.parent):
            codes = main(markets), main(fetch_cmd)
    else:
        codes = main(markets), main(fetch_cmd)
    assert codes == (0, 0)
    err = capsys.readouterr().err
    assert err.count(f"cryptodesk: warning: settings file {path}") == 2
    assert "using defaults" in err and "Traceback" not in err
    assert CandleStore(app_paths().candles).info(KEY).rows == 48


def test_an_immutable_invalid_settings_file_does_not_stop_a_fetch(
    server: FakeBinance, capsys: pytest.CaptureFixture[str]
) -> None:
    path = app_paths().settings_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"theme": 7}')
    argv = fetch_argv(server, "--quiet")
    argv[argv.index("--until") + 1] = "2023-01-02"
    with immutable(path):
        assert main(argv) == 0
    assert "could not be kept as settings.json.bad-" in capsys.readouterr().err


# ------------------------------------------------------------------------------ property
PAGE_ANSWERS = ["ok", "empty", "short", "stale", "overlap", "dup",
                "429", "500", "502/json", "503", "503/json", "504", "599/json"]
STATUS_ANSWERS = ["429", "500", "503/json", "599"]
R = FAST.max_retries


@pytest.fixture(scope="module")
def client(_binance_server: FakeBinance) -> Any:
    """One ccxt client for every example (markets loaded once); no rate-limit spacing."""
    return make_exchange("binance", api_url=_binance_server.base_url, config={"rateLimit": 1})


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    to_the_end=st.booleans(),
    offset_h=st.integers(0, 700),
    length_h=st.integers(1, 700),
    page_limit=st.sampled_from([60, 100, 250]),
    script=st.lists(st.sampled_from(PAGE_ANSWERS), max_size=14),
    stuck=st.lists(st.integers(0, 12), max_size=2),
    probe_script=st.lists(st.sampled_from(STATUS_ANSWERS), max_size=R),
)
def test_random_page_faults_never_end_in_success_with_a_hole(
    server: FakeBinance, client: Any, to_the_end: bool, offset_h: int, length_h: int,
    page_limit: int, script: list[str], stuck: list[int], probe_script: list[str],
) -> None:
    all_served = server.served("BTCUSDT", "1h")
    if to_the_end:  # up to the exchange's last candle: its end must be told from a fault
        since, until = all_served.index[-1] - pd.Timedelta(hours=offset_h), None
    else:  # around the real missing hour, which must stay a gap and never be "missing"
        since = GAP - pd.Timedelta(hours=offset_h)
        until = since + pd.Timedelta(hours=length_h)
    expected = served(server, since, until)
    # a stuck answer for the startTime of the k-th page of a clean run (a broken cache)
    starts = [ms(since) + k * page_limit * HOUR for k in stuck]
    server.faults = Faults(script=list(script), probe_script=list(probe_script),
                           stuck={t: "empty" for t in starts})
    server.reset_counters()
    with tempfile.TemporaryDirectory() as tmp:
        store = CandleStore(Path(tmp))
        try:
            result = fetch_candles(store, "binance", "BTC/USDT", "1h", since=since, until=until,
                                   retry=FAST, client=client, page_limit=page_limit)
        except ExchangeError as exc:
            event(f"failed: {type(exc).__name__}")  # --hypothesis-show-statistics
            message = str(exc)
            assert "\n" not in message
            assert isinstance(exc, MissingCandles | RetriesExhausted), message
            assert isinstance(exc, IncompleteDownload), message
            missing = exc.missing
            assert missing, message
            for first, _ in missing:  # every range is named in the message
                assert f"{first:%Y-%m-%d %H:%M}" in message
            stored = store.load(KEY).index if store.exists(KEY) else expected.index[:0]
            lost = expected.index[~expected.index.isin(stored)]
            for t in lost:  # nothing is missing that the error does not name
                assert any(a <= t and (b is None or t < b) for a, b in missing), (t, message)
            if len(stored):  # what was stored is what the exchange serves, bit for bit
                got = store.load(KEY)
                np.testing.assert_array_equal(got.to_numpy(), expected.loc[got.index].to_numpy())
            # with at most R faulty answers in all, no request can exhaust its R retries
            assert starts or len(script) + len(probe_script) > R, message
        else:
            event("complete" + (" after fetching skipped pages again" if result.refetched else ""))
            assert_holds_exactly(store, expected)
