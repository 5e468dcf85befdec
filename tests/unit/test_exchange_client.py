"""Exchange client layer without a server: lazy import, URL rewrite, validation, retries."""

from __future__ import annotations

import random
import subprocess
import sys

import ccxt
import pandas as pd
import pytest

from cryptodesk.data.exchange import parse_time
from cryptodesk.data.exchange_client import (
    Retrier,
    RetriesExhausted,
    RetryPolicy,
    make_exchange,
    ohlcv_page_limit,
    resolve_timeframe,
    rewrite_api_urls,
)
from cryptodesk.errors import DataError, ExchangeError
from cryptodesk.jobs import Cancelled, TaskContext


def test_importing_the_package_and_exchange_modules_does_not_import_ccxt() -> None:
    code = (
        "import sys, cryptodesk, cryptodesk.data, cryptodesk.data.exchange, "
        "cryptodesk.data.exchange_client, cryptodesk.cli.exchange_cmds\n"
        "assert 'ccxt' not in sys.modules, 'ccxt was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_rewrite_api_urls_handles_nested_values_and_keeps_hosts() -> None:
    urls = {
        "public": "https://api.example.com/v3",
        "nested": {"a": "http://fapi.example.com/x/y", "ws": "wss://stream.example.com/ws"},
        "list": ["https://h1.example.com/p", "not a url"],
    }
    out = rewrite_api_urls(urls, "http://127.0.0.1:8080/")
    assert out == {
        "public": "http://127.0.0.1:8080/api.example.com/v3",
        "nested": {"a": "http://127.0.0.1:8080/fapi.example.com/x/y",
                   "ws": "wss://stream.example.com/ws"},
        "list": ["http://127.0.0.1:8080/h1.example.com/p", "not a url"],
    }
    assert urls["public"] == "https://api.example.com/v3"  # input untouched


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


def test_make_exchange_rewrites_every_rest_url_and_leaves_other_clients_alone() -> None:
    base = "http://127.0.0.1:9"
    client = make_exchange("binance", api_url=base, timeout_ms=1234)
    rewritten = _strings(client.urls["api"])
    assert len(rewritten) > 10
    assert all(u.startswith(base + "/") and "://" not in u[len(base):] for u in rewritten)
    assert client.urls["api"]["public"] == f"{base}/api.binance.com/api/v3"
    assert client.timeout == 1234 and client.enableRateLimit
    fresh = make_exchange("binance")
    assert fresh.urls["api"]["public"] == "https://api.binance.com/api/v3"
    # spot markets only: no futures hosts contacted while loading markets
    assert fresh.options["fetchMarkets"]["types"] == ["spot"]


def test_make_exchange_rejects_a_bad_api_url() -> None:
    with pytest.raises(ExchangeError, match="http"):
        make_exchange("binance", api_url="ftp://mirror")


def test_unknown_exchange_suggests_close_ids() -> None:
    with pytest.raises(ExchangeError, match="did you mean binance") as info:
        make_exchange("binanse")
    assert "cryptodesk data exchanges" in str(info.value)


def test_resolve_timeframe_maps_spellings_and_lists_what_exists() -> None:
    client = make_exchange("binance")
    assert resolve_timeframe(client, "1h") == ("1h", "1h")
    assert resolve_timeframe(client, "60m") == ("1h", "1h")
    assert resolve_timeframe(client, "24h") == ("1d", "1d")
    with pytest.raises(ExchangeError, match=r"no 2d candles.*1d, 3d, 1w"):
        resolve_timeframe(client, "2d")
    with pytest.raises(ExchangeError, match="unknown timeframe"):
        resolve_timeframe(client, "hourly")


def test_page_limit_comes_from_ccxt_features() -> None:
    client = make_exchange("binance")
    assert ohlcv_page_limit(client, {"type": "spot"}) == 1000


def test_parse_time() -> None:
    assert parse_time("2024-01-02") == pd.Timestamp("2024-01-02", tz="UTC")
    assert parse_time("2024-01-02T03:00+01:00") == pd.Timestamp("2024-01-02 02:00", tz="UTC")
    assert parse_time(0) == pd.Timestamp("1970-01-01", tz="UTC")
    assert parse_time(None) is None
    with pytest.raises(DataError, match="as a date"):
        parse_time("yesterday-ish")


def test_backoff_grows_exponentially_with_bounded_jitter() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0, jitter=0.5)
    rng = random.Random(1)
    for attempt, nominal in enumerate([1, 2, 4, 8, 8, 8]):
        delays = [policy.delay(attempt, rng) for _ in range(200)]
        assert all(0.5 * nominal <= d <= 1.5 * nominal for d in delays)
        assert max(delays) - min(delays) > 0.5 * nominal  # jitter really spreads them
    assert RetryPolicy(jitter=0).delay(3, rng) == 4.0


class _Flaky:
    """A callable that raises the given exceptions in turn, then returns "ok"."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def _retrier(max_retries: int = 3, ctx: TaskContext | None = None,
             sleeps: list[float] | None = None) -> Retrier:
    client = make_exchange("binance")
    record = sleeps if sleeps is not None else []
    return Retrier(client, RetryPolicy(max_retries=max_retries, base_delay=0.01, jitter=0),
                   ctx or TaskContext(), sleep=record.append)


@pytest.mark.parametrize("error", [
    ccxt.NetworkError("x"), ccxt.RequestTimeout("x"), ccxt.DDoSProtection("x"),
    ccxt.RateLimitExceeded("x"), ccxt.ExchangeNotAvailable("x"), ccxt.OnMaintenance("x"),
])
def test_transient_errors_are_retried(error: Exception) -> None:
    retrier = _retrier()
    flaky = _Flaky(error, error)
    assert retrier.call("test call", flaky) == "ok"
    assert flaky.calls == 3 and retrier.retries == 2


@pytest.mark.parametrize("error", [
    ccxt.BadSymbol("x"), ccxt.BadRequest("x"), ccxt.NotSupported("x"),
    ccxt.AuthenticationError("x"), ccxt.ExchangeError("x"),
])
def test_permanent_errors_fail_at_once(error: Exception) -> None:
    retrier = _retrier()
    flaky = _Flaky(error)
    with pytest.raises(ExchangeError, match=f"test call failed: {type(error).__name__}"):
        retrier.call("test call", flaky)
    assert flaky.calls == 1 and retrier.retries == 0


def test_retries_stop_at_the_limit_with_a_clear_message() -> None:
    sleeps: list[float] = []
    retrier = _retrier(max_retries=3, sleeps=sleeps)
    flaky = _Flaky(*[ccxt.RequestTimeout("slow")] * 10)
    with pytest.raises(RetriesExhausted, match=r"still failing after 3 retries \(RequestTimeout"):
        retrier.call("test call", flaky)
    assert flaky.calls == 4
    assert sum(sleeps) == pytest.approx(0.01 + 0.02 + 0.04)


def test_rate_limit_answers_wait_at_least_one_rate_limit_interval() -> None:
    sleeps: list[float] = []
    retrier = _retrier(sleeps=sleeps)
    retrier.client.rateLimit = 300
    retrier.call("test call", _Flaky(ccxt.RateLimitExceeded("429")))
    assert sum(sleeps) == pytest.approx(0.3)


def test_cancel_during_backoff_stops_promptly() -> None:
    ctx = TaskContext()
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        ctx.cancel()

    retrier = Retrier(make_exchange("binance"), RetryPolicy(base_delay=60, jitter=0), ctx,
                      sleep=sleep)
    with pytest.raises(Cancelled):
        retrier.call("test call", _Flaky(ccxt.NetworkError("down")))
    assert sleeps == [0.1]  # one slice, not the whole minute
