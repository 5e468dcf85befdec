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
- **No silent holes**: an empty or stale page is taken as the end of the exchange's history only
  when the exchange's newest candle is older than the page; otherwise the download skips ahead
  and, after the last page, checks every gap in what it stored against the exchange's answers,
  fetches the unexplained ones again and fails with :class:`MissingCandles` (naming the ranges)
  for any it still cannot get. A gap the exchange's answers prove (its own missing hours) stays.

ccxt is imported lazily (inside the functions that need it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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
from cryptodesk.data.exchange_pages import (
    Download,
    IncompleteDownload,
    IncompleteRetries,
    MissingCandles,
    as_ranges,
    fill_hint,
    ranges_text,
    ts,
)
from cryptodesk.data.schema import SeriesKey
from cryptodesk.data.store import CandleStore
from cryptodesk.data.timeframes import timeframe_seconds
from cryptodesk.errors import DataError, ExchangeError
from cryptodesk.jobs import Cancelled, TaskContext, null_context

__all__ = [
    "ExchangeInfo",
    "FetchResult",
    "IncompleteDownload",
    "MarketInfo",
    "MissingCandles",
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
    refetched: int = 0  # candles the final check fetched again after empty answers

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
    consecutive transient failures (the message says what was kept); :class:`MissingCandles`
    when the exchange kept answering empty for ranges it serves; raises
    :class:`~cryptodesk.jobs.Cancelled` when ``ctx`` is cancelled. In every case the pages
    already written stay in the store, and running the same call again resumes. Once the
    download has started, every error is an :class:`IncompleteDownload` (a
    :class:`RetriesExhausted` too where retries ran out), whose ``missing`` and message name the
    ranges the store still lacks.

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
    job = Download(
        store=store, client=client, retrier=retrier, ctx=ctx, key=key,
        market_symbol=market["symbol"], exchange_tf=exchange_tf,
        step_ms=timeframe_seconds(tf) * 1000,
        limit=page_limit or ohlcv_page_limit(client, market),
    )
    start_ms = _start_ms(store, key, since_ts, job.step_ms)
    end_ms = None if until_ts is None else int(until_ts.value // 1_000_000)
    try:
        job.run(start_ms, end_ms)
    except MissingCandles as exc:
        raise MissingCandles(f"{exc}; {job.kept()}", exc.missing) from exc
    except RetriesExhausted as exc:
        raise _failed(IncompleteRetries, exc, job, start_ms, resume=True) from exc
    except ExchangeError as exc:
        raise _failed(IncompleteDownload, exc, job, start_ms, resume=False) from exc
    except Cancelled:
        holes = _holes(job, job.missing_after_failure(start_ms))
        log.info("download of %s cancelled; %s%s", key, job.kept(),
                 f"; also missing {ranges_text(holes)}" if holes else "")
        raise
    elapsed = time.monotonic() - started
    ctx.progress(1.0, f"{job.received:,} bars · done · {job.received / max(elapsed, 1e-9):,.0f} bars/s")
    return FetchResult(
        key=key, since=ts(start_ms), until=ts(end_ms), requests=job.requests,
        retries=retrier.retries, received=job.received, added=job.added,
        dropped_open=job.dropped_open, first=ts(job.first_ms), last=ts(job.last_ms),
        elapsed_s=elapsed, refetched=job.refetched,
    )


def _failed(kind: type[IncompleteDownload], exc: ExchangeError, job: Download, start_ms: int,
            resume: bool) -> IncompleteDownload:
    """The error to raise for a download that failed part way: what was kept and what is missing
    (a plain re-run resumes after the newest stored candle, so holes before it need --since)."""
    missing = job.missing_after_failure(start_ms)
    holes = _holes(job, missing)
    text = f"{exc}; {job.kept()}"
    if missing:
        text += f"; missing {ranges_text(missing)}"
    if holes:
        text += f"; {fill_hint(holes)}"
    if resume and not job.paged:
        text += "; run the same command again to resume"
    return kind(text, as_ranges(missing))


def _holes(job: Download, missing: list[tuple[int, int | None]]) -> list[tuple[int, int]]:
    """The spans of ``missing`` before the point where the page loop stopped (a re-run without
    --since does not revisit them; the last span is that point on, which a re-run resumes)."""
    before = missing if job.paged else missing[:-1]
    return [(a, b) for a, b in before if b is not None and b > a]


def _start_ms(store: CandleStore, key: SeriesKey, since: pd.Timestamp | None, step_ms: int) -> int:
    if since is not None:
        return int(since.value // 1_000_000)
    last = store.last_timestamp(key)
    if last is None:
        return 0  # the exchange's whole history: it answers from its first candle on
    return int(last.value // 1_000_000) + step_ms
