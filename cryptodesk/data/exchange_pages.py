"""One exchange download's page loop and its bookkeeping of what is missing.

:func:`cryptodesk.data.exchange.fetch_candles` resolves the exchange, market and timeframe and
then runs a :class:`Download`: the page loop, then the check that every gap in what was stored
is one the exchange's own answers prove (see the class docstring). The errors that end a
download part way (:class:`IncompleteDownload`, :class:`MissingCandles`) carry the missing
ranges, and the helpers here word them.
"""

from __future__ import annotations

import bisect
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cryptodesk.data.exchange_client import ImplausibleAnswer, Retrier, RetriesExhausted
from cryptodesk.data.schema import COLUMNS, INDEX_NAME, SeriesKey, make_candles
from cryptodesk.data.store import CandleStore
from cryptodesk.errors import DataError, ExchangeError
from cryptodesk.jobs import TaskContext

log = logging.getLogger("cryptodesk.data.exchange")


def ts(ms: int | None) -> pd.Timestamp | None:
    return None if ms is None else pd.Timestamp(ms, unit="ms", tz="UTC")


class _Spans:
    """Time spans (ms, end exclusive) in which the exchange's own answers show no candles."""

    def __init__(self) -> None:
        self._spans: list[tuple[int, int]] = []
        self._merged: list[tuple[int, int]] | None = []

    def add(self, first: int, end: int) -> None:
        if end > first:
            self._spans.append((first, end))
            self._merged = None

    def covers(self, first: int, end: int) -> bool:
        """True if ``[first, end)`` lies inside the union of the spans."""
        if self._merged is None:
            merged: list[tuple[int, int]] = []
            for a, b in sorted(self._spans):
                if merged and a <= merged[-1][1]:
                    merged[-1] = (merged[-1][0], max(merged[-1][1], b))
                else:
                    merged.append((a, b))
            self._merged = merged
        i = bisect.bisect_right(self._merged, (first, float("inf"))) - 1
        return i >= 0 and self._merged[i][0] <= first and end <= self._merged[i][1]


@dataclass
class Download:
    """One download: the page loop, then the check of what was stored, with its counters (read
    for messages on failure).

    What an answer proves. The exchange answers ``since=S`` with the candles it serves from S on,
    in order (Binance's contract; ccxt drops rows before S). So the rows of a non-empty answer
    are real, the span from S to its first row holds no candle, and neither do the spans
    between its consecutive rows: those are the exchange's own gaps, recorded in ``empty``.
    An empty (or stale: ccxt filters it to empty) answer proves nothing: it is the end of the
    exchange's history only if the exchange's newest candle is older than S (asked separately,
    :meth:`_newest`); otherwise it is a fault, and the loop skips ahead and carries on.

    After paging, :meth:`_verify` reads back the stored times for the range and checks every
    gap among them against ``empty``; any gap the answers do not explain is fetched again
    (retrying implausible answers with backoff) and what still cannot be fetched ends the
    download with :class:`MissingCandles`, naming the ranges.
    """

    store: CandleStore
    client: Any
    retrier: Retrier
    ctx: TaskContext
    key: SeriesKey
    market_symbol: str
    exchange_tf: str
    step_ms: int
    limit: int | None
    end_ms: int | None = None
    requests: int = 0
    received: int = 0
    added: int = 0
    refetched: int = 0
    dropped_open: int = 0
    skipped_pages: int = 0
    first_ms: int | None = None
    last_ms: int | None = None
    cursor: int = 0
    paged: bool = False  # the page loop finished (failures after it are in the check)
    seen_ms: int | None = None  # newest candle time in any answer, closed or not
    newest_ms: int | None = None  # newest candle the exchange says it has (see _newest)
    empty: _Spans = field(default_factory=_Spans)

    def run(self, start_ms: int, end_ms: int | None) -> None:
        self.end_ms = end_ms
        self._page(start_ms)
        self.paged = True
        self._verify(start_ms)

    # ------------------------------------------------------------------ the page loop
    def _page(self, start_ms: int) -> None:
        self.cursor = start_ms
        origin: int | None = None  # first candle received: where the progress bar starts
        skip = self._page_span()
        t0 = time.monotonic()
        while True:
            self.ctx.check_cancelled()
            now = int(self.client.milliseconds())
            stop = now if self.end_ms is None else min(self.end_ms, now)
            # nothing left that is both in range and closed
            if self.cursor >= stop or self.cursor + self.step_ms > now:
                return
            times, values = self.retrier.call(
                f"fetching {self.market_symbol} {self.exchange_tf} candles from {_fmt(self.cursor)}",
                self._ask, self.cursor, self.limit,
            )
            if not (times >= self.cursor).any():  # empty, or only rows from before the cursor
                if not self._serves_from(self.cursor):
                    return  # the end of the exchange's history
                self._skip(skip)
                skip *= 2  # consecutive empty answers: cover a long broken stretch in few requests
                continue
            skip = self._page_span()
            newest, is_open = self._take(times, values, self.cursor, now, count_open=True)
            origin = self.first_ms if origin is None else origin
            self.cursor = newest + self.step_ms
            if (self.end_ms is not None and self.cursor >= self.end_ms) or is_open:
                return
            self._report(self.cursor, origin, stop, t0)

    def _skip(self, span: int) -> None:
        """Advance past a page the exchange answered empty although it serves later candles;
        :meth:`_verify` asks for the skipped span again."""
        self.skipped_pages += 1
        target = self.cursor + span
        log.warning("%s: no %s %s candles from %s although it serves later ones; continuing "
                    "from %s, the skipped span is fetched again at the end", self.client.id,
                    self.market_symbol, self.exchange_tf, _fmt(self.cursor), _fmt(target))
        self.ctx.progress(self.ctx.last_fraction,
                          f"empty answer at {_fmt(self.cursor)}; skipped ahead, will retry it")
        self.cursor = target

    def _page_span(self) -> int:
        return (self.limit or 500) * self.step_ms

    def _ask(self, since: int | None, limit: int | None) -> tuple[np.ndarray, np.ndarray]:
        """One ``fetch_ohlcv`` call (no retries here): its rows as arrays."""
        rows = self.client.fetch_ohlcv(self.market_symbol, self.exchange_tf, since, limit)
        self.requests += 1
        if not rows:
            return np.empty(0, np.int64), np.empty((0, len(COLUMNS)))
        times, values = _page_arrays(rows)
        top = int(times.max())
        self.seen_ms = top if self.seen_ms is None else max(self.seen_ms, top)
        return times, values

    def _take(self, times: np.ndarray, values: np.ndarray, since: int, now: int,
              bound: int | None = None, count_open: bool = False) -> tuple[int, bool]:
        """Record what the answer to ``since`` proves, store its closed in-range candles (before
        ``bound`` if given); return its newest candle and whether any of them is still open."""
        ahead = times >= since
        served = np.unique(times[ahead])
        self.empty.add(since, int(served[0]))
        for i in np.nonzero(np.diff(served) > self.step_ms)[0]:
            self.empty.add(int(served[i]) + self.step_ms, int(served[i + 1]))
        keep = ahead.copy()
        if self.end_ms is not None:
            keep &= times < self.end_ms
        if bound is not None:
            keep &= times < bound
        is_open = times + self.step_ms > now
        if count_open:
            self.dropped_open += int((keep & is_open).sum())
        keep &= ~is_open
        if keep.any():
            self._write(times[keep], values[keep])
        return int(served[-1]), bool((ahead & is_open).any())

    # ------------------------------------------------------------------ the exchange's newest
    def _serves_from(self, since: int) -> bool:
        """Does the exchange serve any candle at or after ``since``?"""
        if self.newest_ms is not None and self.newest_ms >= since:
            return True
        newest = self._newest()
        return newest is not None and newest >= since

    def _newest(self) -> int | None:
        """The exchange's newest candle (its answer without ``since``), or None if it has none.

        An answer that contradicts what the exchange already sent (none at all, or older than a
        candle it sent) is implausible and retried like a transient error.
        """
        def ask() -> int | None:
            seen = self.seen_ms  # before this answer counts
            times, _ = self._ask(None, 1)
            if not len(times):
                if seen is not None:
                    raise ImplausibleAnswer(f"it answered no newest candle, but sent one from {_fmt(seen)}")
                return None
            newest = int(times.max())
            if seen is not None and newest < seen:
                raise ImplausibleAnswer(
                    f"its newest candle {_fmt(newest)} is older than one it sent ({_fmt(seen)})"
                )
            return newest

        newest = self.retrier.call(
            f"asking for the newest {self.market_symbol} {self.exchange_tf} candle", ask
        )
        if newest is not None:
            self.newest_ms = newest if self.newest_ms is None else max(self.newest_ms, newest)
        return newest

    # ------------------------------------------------------------------ the check
    def _verify(self, start_ms: int) -> None:
        """Compare the stored candles of the range with the exchange's answers; fetch again what
        they do not explain; raise :class:`MissingCandles` for what still cannot be fetched."""
        end = self._coverage_end()
        if end is None or end <= start_ms:
            return
        gaps = self._unexplained(start_ms, end)
        if not gaps:
            return
        self.ctx.progress(self.ctx.last_fraction,
                          f"fetching {len(gaps)} range(s) again that came back empty")
        for first, stop in gaps:
            self._fill(first, stop)
        missing = self._unexplained(start_ms, end)
        if missing:
            raise MissingCandles(self._missing_message(missing), as_ranges(missing))

    def _coverage_end(self) -> int | None:
        """End (exclusive) of what the store should hold now: closed, in range, and no later
        than the newest candle the exchange is known to serve."""
        known = [t for t in (self.seen_ms, self.newest_ms) if t is not None]
        if not known:
            return None
        now = int(self.client.milliseconds())
        end = min(max(known) + self.step_ms, now - self.step_ms + 1)
        return end if self.end_ms is None else min(end, self.end_ms)

    def _unexplained(self, start_ms: int, end_ms: int) -> list[tuple[int, int]]:
        """Gaps in the stored candles of ``[start_ms, end_ms)`` that no answer explains."""
        stored = self.store.timestamps(self.key, ts(start_ms), ts(end_ms))
        times = stored.asi8 // 1_000_000
        if not len(times):
            gaps = [(start_ms, end_ms)]
        else:
            gaps = [(start_ms, int(times[0]))] if times[0] > start_ms else []
            gaps += [(int(times[i]) + self.step_ms, int(times[i + 1]))
                     for i in np.nonzero(np.diff(times) > self.step_ms)[0]]
            if times[-1] + self.step_ms < end_ms:
                gaps.append((int(times[-1]) + self.step_ms, end_ms))
        return [(a, b) for a, b in gaps if not self.empty.covers(a, b)]

    def _fill(self, first: int, stop: int) -> None:
        """Page through ``[first, stop)`` again. The exchange serves a candle at or after
        ``stop - 1`` (a stored one, or its newest), so an empty answer here is implausible:
        it is retried with backoff, and after the last retry the rest of the span is left
        to the caller to report."""
        cursor = first
        while cursor < stop:
            self.ctx.check_cancelled()

            def ask(since: int = cursor) -> tuple[np.ndarray, np.ndarray]:
                times, values = self._ask(since, self.limit)
                if not (times >= since).any():
                    raise ImplausibleAnswer(
                        f"no candles from {_fmt(since)} although it serves later ones"
                    )
                return times, values

            try:
                times, values = self.retrier.call(
                    f"fetching {self.market_symbol} {self.exchange_tf} candles from "
                    f"{_fmt(cursor)} again", ask,
                )
            except RetriesExhausted as exc:
                if isinstance(exc.__cause__, ImplausibleAnswer):
                    log.warning("%s", exc)
                    return
                raise
            before = self.received
            newest, _ = self._take(times, values, cursor, int(self.client.milliseconds()),
                                   bound=stop)
            self.refetched += self.received - before
            cursor = newest + self.step_ms

    # ------------------------------------------------------------------ storing, reporting
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
            fraction = min(1.0, (cursor - origin) / (stop - origin))
        rate = self.received / max(time.monotonic() - t0, 1e-9)
        self.ctx.progress(fraction, f"{self.received:,} bars · {_fmt(cursor)} · {rate:,.0f} bars/s")

    def kept(self) -> str:
        """Where the store stands, for messages after a failure or cancel."""
        if not self.received:
            return "nothing new was stored"
        return (f"kept the {self.received:,} candles fetched so far "
                f"({_fmt(self.first_ms)} to {_fmt(self.last_ms)})")

    def missing_after_failure(self, start_ms: int) -> list[tuple[int, int | None]]:
        """What a failed or cancelled download leaves missing, from what is stored and what the
        answers proved (no further requests): skipped spans, and everything from the page in
        flight on (or, in the check, the spans it had not fetched)."""
        try:
            if not self.paged:
                holes: list[tuple[int, int | None]] = list(
                    self._unexplained(start_ms, self.cursor) if self.cursor > start_ms else []
                )
                return [*holes, (self.cursor, self.end_ms)]
            end = self._coverage_end()
            return list(self._unexplained(start_ms, end)) if end and end > start_ms else []
        except (DataError, OSError):  # the store itself failed: say what we know
            return [(start_ms, self.end_ms)]

    def _missing_message(self, missing: list[tuple[int, int]]) -> str:
        n = self.retrier.policy.max_retries
        return (
            f"{self.client.id} serves {self.market_symbol} {self.exchange_tf} candles that it "
            f"kept answering empty after {n} retr{'y' if n == 1 else 'ies'}: "
            f"{ranges_text(missing)}; {fill_hint(missing)}"
        )


Ranges = list[tuple[pd.Timestamp, pd.Timestamp | None]]


class IncompleteDownload(ExchangeError):
    """A download stopped part way. ``missing`` lists what the store still lacks as (first, end)
    UTC timestamps, end exclusive, end None meaning "up to now"; the message names them. What
    was fetched is stored."""

    def __init__(self, message: str, missing: Ranges) -> None:
        super().__init__(message)
        self.missing = missing


class MissingCandles(IncompleteDownload):
    """The exchange kept answering empty for ranges in which it serves candles (its answers
    around them show it), through every retry."""


class IncompleteRetries(RetriesExhausted, IncompleteDownload):
    """Retries ran out part way: a :class:`RetriesExhausted` that also says what is missing."""


def as_ranges(spans: list[tuple[int, int | None]]) -> Ranges:
    return [(pd.Timestamp(a, unit="ms", tz="UTC"), ts(b)) for a, b in spans]


def ranges_text(spans: list[tuple[int, int | None]], most: int = 3) -> str:
    """``2023-01-09 08:00 to 2023-01-17 16:00 UTC`` for up to ``most`` spans (end exclusive)."""
    parts = [f"{_fmt(a)} to {_fmt(b)}" if b is not None else f"from {_fmt(a)} on"
             for a, b in spans[:most]]
    more = f" and {len(spans) - most} more" if len(spans) > most else ""
    return ", ".join(parts) + more + " UTC"


def fill_hint(spans: list[tuple[int, int | None]]) -> str:
    """How to fetch the first missing span again (a plain re-run resumes after the newest
    stored candle, so it would not revisit a hole in the middle)."""
    first, end = spans[0]
    until = f" --until {_iso(end)}" if end is not None else ""
    what = "it" if len(spans) == 1 else "them, the first"
    return f"fetch {what} again with --since {_iso(first)}{until}"


def _iso(ms: int) -> str:
    return pd.Timestamp(ms, unit="ms", tz="UTC").strftime("%Y-%m-%dT%H:%M")


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
