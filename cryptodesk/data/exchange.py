"""Download candles from any ccxt exchange into the local store: paginated, incremental,
resumable and fault-tolerant.

:func:`fetch_candles` is a core job (plain function + :class:`~cryptodesk.jobs.TaskContext`), run
by ``cryptodesk data fetch`` and, later, by the GUI in a worker thread.

- **Paginated** with the exchange's own page limit (ccxt's ``features`` table; Binance spot 1000).
- **Written page by page**: each page goes into the store as it arrives (the store appends it as a
  cheap segment), so a crash, a cancel or an exhausted retry loses at most the page in flight.
- **Incremental**: without ``since`` the download continues after the newest stored candle; a
  re-run after any failure therefore resumes where the last one stopped.
- **Closed candles only**: a candle whose period has not ended by the exchange client's clock
  is still changing; it is never stored, so the store holds only final values.
- **Faults**: transient errors are retried with backoff and jitter (see
  :class:`~cryptodesk.data.exchange_client.Retrier`); permanent ones fail at once. Duplicate or
  overlapping candles are harmless: pages are de-duplicated and the store keeps one row a time.

ccxt is imported lazily (inside the functions that need it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cryptodesk.data.exchange_client import (
    ExchangeInfo,
    MarketInfo,
    Retrier,
    RetriesExhausted,
    RetryPolicy,
    exchange_ids,
    list_exchanges,
    make_exchange,
    market_infos,
    ohlcv_page_limit,
    resolve_market,
    resolve_timeframe,
    rewrite_api_urls,
)
from cryptodesk.data.schema import COLUMNS, INDEX_NAME, SeriesKey, make_candles
from cryptodesk.data.store import CandleStore
from cryptodesk.data.timeframes import timeframe_seconds
from cryptodesk.errors import DataError, ExchangeError
from cryptodesk.jobs import Cancelled, TaskContext, null_context

__all__ = [
    "ExchangeInfo",
    "FetchResult",
    "MarketInfo",
    "RetriesExhausted",
    "RetryPolicy",
    "exchange_ids",
    "fetch_candles",
    "list_exchanges",
    "list_markets",
    "make_exchange",
    "parse_time",
    "rewrite_api_urls",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FetchResult:
    """What one download did. ``received`` counts closed, in-range candles the exchange sent
    (after de-duplication); ``added`` the timestamps that were new to the store."""

    key: SeriesKey
    since: pd.Timestamp | None
    until: pd.Timestamp | None
    requests: int
    retries: int
    received: int
    added: int
    dropped_open: int
    first: pd.Timestamp | None
    last: pd.Timestamp | None
    elapsed_s: float

    @property
    def rate(self) -> float:
        """Candles received per second of wall time."""
        return self.received / self.elapsed_s if self.elapsed_s > 0 else 0.0


def parse_time(value: str | pd.Timestamp | int | None) -> pd.Timestamp | None:
    """A user's date (``2024-01-01``, ``2024-01-01 12:00``, ISO 8601; naive means UTC) as a UTC
    Timestamp. Integers are epoch milliseconds, as exchanges use."""
    if value is None or value == "":
        return None
    try:
        ts = pd.Timestamp(int(value), unit="ms") if isinstance(value, int) else pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise DataError(f"cannot read {value!r} as a date (use e.g. 2024-01-31 or 2024-01-31T12:00)") from exc
    if ts is pd.NaT:
        raise DataError(f"cannot read {value!r} as a date")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def list_markets(
    exchange_id: str,
    quote: str | None = None,
    *,
    api_url: str | None = None,
    timeout_ms: int | None = None,
    retry: RetryPolicy | None = None,
    ctx: TaskContext | None = None,
    client: Any = None,
    client_config: Mapping[str, Any] | None = None,
) -> list[MarketInfo]:
    """Load an exchange's markets (one request or a few, retried like downloads) and list them,
    optionally only those quoted in ``quote`` (e.g. ``USDT``)."""
    ctx = ctx or null_context()
    client = client or make_exchange(
        exchange_id, api_url=api_url, timeout_ms=timeout_ms, config=client_config
    )
    Retrier(client, retry or RetryPolicy(), ctx).call("loading markets", client.load_markets)
    return market_infos(client, quote)


def fetch_candles(
    store: CandleStore,
    exchange_id: str,
    symbol: str,
    timeframe: str,
    since: str | pd.Timestamp | None = None,
    until: str | pd.Timestamp | None = None,
    ctx: TaskContext | None = None,
    api_url: str | None = None,
    *,
    timeout_ms: int | None = None,
    retry: RetryPolicy | None = None,
    client: Any = None,
    client_config: Mapping[str, Any] | None = None,
    page_limit: int | None = None,
) -> FetchResult:
    """Download closed candles of ``symbol`` on ``exchange_id`` into ``store``.

    ``since`` (inclusive) defaults to just after the newest stored candle, or the start of the
    exchange's history; ``until`` (exclusive: candles opening before it) defaults to now. The
    series is stored under source = the exchange id and symbol = ccxt's unified symbol.

    Raises :class:`~cryptodesk.errors.ExchangeError` at once for permanent errors (unknown
    exchange, market or timeframe: the message lists what exists) and after ``retry.max_retries``
    consecutive transient failures (the message says what was kept); raises
    :class:`~cryptodesk.jobs.Cancelled` when ``ctx`` is cancelled. In every case the pages
    already written stay in the store, and running the same call again resumes.

    ``timeout_ms`` and ``retry`` come from the exchange's settings in the CLI; ``client`` is a
    ready ccxt client (then ``api_url``, ``timeout_ms`` and ``client_config`` are not used);
    ``page_limit`` overrides the exchange's page size (ccxt's ``features`` table).
    """
    ctx = ctx or null_context()
    started = time.monotonic()
    client = client or make_exchange(
        exchange_id, api_url=api_url, timeout_ms=timeout_ms, config=client_config
    )
    if not client.has.get("fetchOHLCV"):
        raise ExchangeError(f"{client.id} does not serve candles (no fetchOHLCV in ccxt)")
    since_ts, until_ts = parse_time(since), parse_time(until)
    if since_ts is not None and until_ts is not None and until_ts <= since_ts:
        raise DataError(f"--until ({until_ts}) must be after --since ({since_ts})")
    retrier = Retrier(client, retry or RetryPolicy(), ctx)
    exchange_tf = None
    if client.timeframes:  # check before any request where the exchange lists them statically
        exchange_tf, tf = resolve_timeframe(client, timeframe)
    ctx.progress(None, f"loading {client.id} markets")
    retrier.call("loading markets", client.load_markets)
    if exchange_tf is None:
        exchange_tf, tf = resolve_timeframe(client, timeframe)
    market = resolve_market(client, symbol)
    key = SeriesKey(client.id, market["symbol"], tf)
    job = _Download(
        store=store, client=client, retrier=retrier, ctx=ctx, key=key,
        market_symbol=market["symbol"], exchange_tf=exchange_tf,
        step_ms=timeframe_seconds(tf) * 1000,
        limit=page_limit or ohlcv_page_limit(client, market),
    )
    start_ms = _start_ms(store, key, since_ts, job.step_ms)
    end_ms = None if until_ts is None else int(until_ts.value // 1_000_000)
    try:
        job.run(start_ms, end_ms)
    except RetriesExhausted as exc:
        raise RetriesExhausted(f"{exc}; {job.kept()}; run the same command again to resume") from exc
    except ExchangeError as exc:
        raise ExchangeError(f"{exc}; {job.kept()}") from exc
    except Cancelled:
        log.info("download of %s cancelled; %s", key, job.kept())
        raise
    elapsed = time.monotonic() - started
    ctx.progress(1.0, f"{job.received:,} bars · done · {job.received / max(elapsed, 1e-9):,.0f} bars/s")
    return FetchResult(
        key=key, since=_ts(start_ms), until=_ts(end_ms), requests=job.requests,
        retries=retrier.retries, received=job.received, added=job.added,
        dropped_open=job.dropped_open, first=_ts(job.first_ms), last=_ts(job.last_ms),
        elapsed_s=elapsed,
    )


def _start_ms(store: CandleStore, key: SeriesKey, since: pd.Timestamp | None, step_ms: int) -> int:
    if since is not None:
        return int(since.value // 1_000_000)
    last = store.last_timestamp(key)
    if last is None:
        return 0  # the exchange's whole history: it answers from its first candle on
    return int(last.value // 1_000_000) + step_ms


def _ts(ms: int | None) -> pd.Timestamp | None:
    return None if ms is None else pd.Timestamp(ms, unit="ms", tz="UTC")


@dataclass
class _Download:
    """The page loop of one download, with its counters (read for messages on failure)."""

    store: CandleStore
    client: Any
    retrier: Retrier
    ctx: TaskContext
    key: SeriesKey
    market_symbol: str
    exchange_tf: str
    step_ms: int
    limit: int | None
    requests: int = 0
    received: int = 0
    added: int = 0
    dropped_open: int = 0
    first_ms: int | None = None
    last_ms: int | None = None

    def run(self, start_ms: int, end_ms: int | None) -> None:
        cursor = start_ms
        origin: int | None = None  # first candle received: where the progress bar starts
        t0 = time.monotonic()
        while True:
            self.ctx.check_cancelled()
            now = int(self.client.milliseconds())
            stop = now if end_ms is None else min(end_ms, now)
            # nothing left that is both in range and closed
            if cursor >= stop or cursor + self.step_ms > now:
                return
            rows = self.retrier.call(
                f"fetching {self.market_symbol} {self.exchange_tf} candles from {_fmt(cursor)}",
                self.client.fetch_ohlcv, self.market_symbol, self.exchange_tf, cursor, self.limit,
            )
            self.requests += 1
            if not rows:
                return  # no candles from here on
            times, values = _page_arrays(rows)
            keep = times >= cursor
            if end_ms is not None:
                keep &= times < end_ms
            is_open = times + self.step_ms > now
            self.dropped_open += int((keep & is_open).sum())
            keep &= ~is_open
            newest = int(times.max())
            if keep.any():
                self._write(times[keep], values[keep])
                origin = self.first_ms if origin is None else origin
            if newest < cursor:
                return  # the exchange ignores `since`: no progress possible
            cursor = newest + self.step_ms
            if (end_ms is not None and cursor >= end_ms) or is_open.any():
                return
            self._report(cursor, origin, stop, t0)

    def _write(self, times: np.ndarray, values: np.ndarray) -> None:
        index = pd.DatetimeIndex((times * 1_000_000).view("datetime64[ns]")).tz_localize("UTC")
        index.name = INDEX_NAME
        frame = pd.DataFrame(values, index=index, columns=list(COLUMNS))
        if index.has_duplicates:  # an exchange repeating a row: the later copy wins
            frame = frame[~index.duplicated(keep="last")]
        candles = make_candles(
            frame, source=self.key.source, symbol=self.key.symbol, timeframe=self.key.timeframe
        )
        result = self.store.write(candles)
        self.received += len(candles)
        self.added += result.added
        first, last = int(times.min()), int(times.max())
        self.first_ms = first if self.first_ms is None else min(self.first_ms, first)
        self.last_ms = last if self.last_ms is None else max(self.last_ms, last)

    def _report(self, cursor: int, origin: int | None, stop: int, t0: float) -> None:
        fraction = None
        if origin is not None and stop > origin:
            fraction = (cursor - origin) / (stop - origin)
        rate = self.received / max(time.monotonic() - t0, 1e-9)
        self.ctx.progress(fraction, f"{self.received:,} bars · {_fmt(cursor)} · {rate:,.0f} bars/s")

    def kept(self) -> str:
        """Where the store stands, for messages after a failure or cancel."""
        if not self.received:
            return "nothing new was stored"
        return (f"kept the {self.received:,} candles fetched so far "
                f"({_fmt(self.first_ms)} to {_fmt(self.last_ms)})")


def _page_arrays(rows: list[list[Any]]) -> tuple[np.ndarray, np.ndarray]:
    """ccxt's ``[[ms, o, h, l, c, v], ...]`` as int64 times and a float64 (n, 5) array."""
    try:
        table = np.asarray(rows, dtype=np.float64)
    except (TypeError, ValueError):  # None for a missing value (some exchanges omit volume)
        table = np.array(
            [[np.nan if x is None else float(x) for x in row[:6]] for row in rows], dtype=np.float64
        )
    if table.ndim != 2 or table.shape[1] < 6:
        raise ExchangeError(f"unexpected candle rows from the exchange: {rows[:1]!r}")
    return table[:, 0].astype(np.int64), table[:, 1:6]


def _fmt(ms: int | None) -> str:
    if ms is None:
        return "-"
    return pd.Timestamp(ms, unit="ms", tz="UTC").strftime("%Y-%m-%d %H:%M")
