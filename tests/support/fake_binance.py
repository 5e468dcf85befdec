"""A local HTTP server that speaks enough of Binance's spot REST API for ccxt to download candles.

Why: the exchange-download tests run the real ccxt client (no mock of ccxt) against this server on
127.0.0.1, so the whole path (URL rewrite, request signing-free public calls, JSON parsing,
ccxt's error mapping, our retries and the store) is exercised without the internet.

It serves the real hourly candles from ``../shared/data/hourly`` (``BTC-USDT-1h.csv`` becomes the
market ``BTCUSDT`` = ``BTC/USDT``), coarser intervals resampled from them, and implements:

- ``/api/v3/exchangeInfo``: spot markets only (plus two data-less markets for suggestions and a
  halted one), in Binance's format;
- ``/api/v3/klines``: ``symbol``, ``interval``, ``startTime``, ``endTime``, ``limit`` (default
  500, max 1000; more is an error, as on Binance) with Binance's semantics;
- ``/api/v3/time`` and ``/api/v3/ping``.

The client reaches it through the ``--api-url`` rewrite, so request paths look like
``/api.binance.com/api/v3/klines``: the first segment is the host the client would have called.
Each request is recorded (:attr:`FakeBinance.requests`) so tests can assert on what was sent.

Fault injection (:class:`Faults`, changeable while the server runs): every Nth counted request
answers an HTTP status (429, 418, 500, 503; 400 = Binance's permanent "Invalid symbol.") or hangs past the client's timeout; pages overlap the
previous one; duplicate rows; the connection drops for every request after the Kth; a still-open
"live" candle at the current time. Every wait is bounded and ends when the server stops.

Per-request scripts (:attr:`Faults.script` for pages, i.e. klines requests with ``startTime``;
:attr:`Faults.probe_script` for klines requests without it, which ask for the newest candles)
and per-``startTime`` stuck answers (:attr:`Faults.stuck`, a broken cache answering the same way
every time) serve what a misbehaving exchange or gateway does to one answer:

- ``empty``: ``[]``;
- ``short``: only the first half of the page (at least one row);
- ``stale``: a page from an earlier request (the rows before ``startTime``; for a request
  without ``startTime``, the newest candles as they were one page earlier);
- ``overlap``: the page starts half a page before ``startTime``;
- ``dup``: every row twice;
- ``NNN`` or ``NNN/json``: HTTP status NNN, with a gateway's HTML page or with a Binance-style
  JSON body carrying an error code ccxt does not know (``/json``).

None of them invents a candle or leaves one out of the middle of a page: what such an answer
says about the candles it does contain is true, only incomplete.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import numpy as np
import pandas as pd

HOUR_MS = 3_600_000
MAX_LIMIT = 1000
DEFAULT_LIMIT = 500
# Binance's kline intervals; the ones from 1h up are served (resampled from the hourly data).
INTERVALS_MS = {
    "1s": 1_000, "1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000, "30m": 1_800_000,
    "1h": HOUR_MS, "2h": 2 * HOUR_MS, "4h": 4 * HOUR_MS, "6h": 6 * HOUR_MS, "8h": 8 * HOUR_MS,
    "12h": 12 * HOUR_MS, "1d": 24 * HOUR_MS, "3d": 72 * HOUR_MS, "1w": 168 * HOUR_MS,
    "1M": 30 * 24 * HOUR_MS,
}
# Markets listed without candle data: they make symbol suggestions and quote filters realistic.
EXTRA_MARKETS = (("ETH", "BTC", "TRADING"), ("BTC", "EUR", "TRADING"), ("LUNA", "USDT", "BREAK"))
PAGE_FAULTS = ("ok", "empty", "short", "stale", "overlap", "dup")
_STATUS_FAULT = re.compile(r"(\d{3})(/json)?")


@dataclass
class Faults:
    """Fault-injection knobs. Change them at any time (the server reads them per request).

    ``status_every``/``hang_every`` count only requests whose path ends with ``only`` (klines by
    default; None counts every request), so "every Nth request" means every Nth page.

    ``script`` (pages: klines with ``startTime``) and ``probe_script`` (klines without it) are
    consumed one entry per request, then answers are normal again; ``stuck`` maps a
    ``startTime`` to the answer it gets every time. A request they answer is not counted for
    ``status_every``/``hang_every``. Entries: see the module docstring.
    """

    status_every: int = 0
    status: int = 429
    hang_every: int = 0
    hang_s: float = 2.0
    overlap: int = 0
    duplicate_rows: bool = False
    drop_after: int | None = None
    live_candle: bool = False
    only: str | None = "/klines"
    script: list[str] = field(default_factory=list)
    probe_script: list[str] = field(default_factory=list)
    stuck: dict[int, str] = field(default_factory=dict)
    error_body: str = "html"


@dataclass(frozen=True)
class Recorded:
    """One request as the server saw it."""

    n: int
    host: str | None
    path: str
    params: dict[str, str]
    outcome: str  # "ok", "drop", "hang", a page fault ("empty"...), or an error status ("503")
    at: float = 0.0  # time.monotonic() when it arrived


@dataclass
class _Series:
    times: np.ndarray  # int64 ms, ascending
    rows: list[str]  # the JSON text of each kline, precomputed so serving is cheap
    frame: pd.DataFrame


@dataclass
class FakeBinance:
    """The server. Use as a context manager; ``base_url`` is what ``--api-url`` takes."""

    data_dir: Path
    faults: Faults = field(default_factory=Faults)
    on_request: Callable[[Recorded], None] | None = None

    def __post_init__(self) -> None:
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._count = 0
        self._fault_count = 0
        self._hourly: dict[str, pd.DataFrame] = {}
        self._markets: list[tuple[str, str, str]] = []
        self._series: dict[tuple[str, str], _Series] = {}
        for csv in sorted(Path(self.data_dir).glob("*-*-1h.csv")):
            base, quote = csv.name.split("-")[:2]
            self._hourly[base + quote] = _read_hourly(csv)
            self._markets.append((base, quote, "TRADING"))
        if not self._hourly:
            raise FileNotFoundError(f"no *-*-1h.csv files in {self.data_dir}")
        self._markets += list(EXTRA_MARKETS)
        self._exchange_info = json.dumps(_exchange_info(self._markets)).encode()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> FakeBinance:
        """Listen on 127.0.0.1 on a free port and serve in a background thread."""
        handler = type("Handler", (_Handler,), {"owner": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; hanging handlers wake up and close their connections."""
        self._stop.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeBinance:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``: the ``--api-url`` that routes a client here."""
        assert self._httpd is not None, "start() the server first"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    # ------------------------------------------------------------------ what it serves
    @property
    def market_ids(self) -> list[str]:
        """Ids of the markets that have candles (``BTCUSDT``, ...)."""
        return list(self._hourly)

    def served(self, market_id: str = "BTCUSDT", interval: str = "1h") -> pd.DataFrame:
        """The candles this server serves for a market, as a UTC-indexed float64 frame."""
        return self._get_series(market_id, interval).frame.copy()

    def klines_requests(self) -> list[Recorded]:
        """The recorded ``/klines`` requests, in order."""
        with self._lock:
            return [r for r in self.requests if r.path.endswith("/klines")]

    def reset_counters(self) -> None:
        """Forget recorded requests and restart the fault counters (e.g. before a re-run)."""
        with self._lock:
            self.requests.clear()
            self._count = 0
            self._fault_count = 0

    # ------------------------------------------------------------------ handling
    def _decide(self, host: str | None, path: str, params: dict[str, str]) -> Recorded:
        faults = self.faults
        with self._lock:
            self._count += 1
            n = self._count
            outcome = "ok"
            if faults.drop_after is not None and n > faults.drop_after:
                outcome = "drop"
            elif path.endswith("/klines") and self._scripted(params) is not None:
                outcome = self._scripted(params, pop=True) or "ok"
            elif faults.only is None or path.endswith(faults.only):
                self._fault_count += 1
                k = self._fault_count
                if faults.hang_every and k % faults.hang_every == 0:
                    outcome = "hang"
                elif faults.status_every and k % faults.status_every == 0:
                    outcome = str(faults.status)
                    if faults.error_body == "json":
                        outcome += "/json"
            record = Recorded(n, host, path, params, outcome, time.monotonic())
            self.requests.append(record)
        return record

    def _scripted(self, params: dict[str, str], pop: bool = False) -> str | None:
        """The scripted answer for this klines request, if any (caller holds the lock)."""
        faults = self.faults
        start = params.get("startTime")
        if start is not None and start.lstrip("-").isdigit() and int(start) in faults.stuck:
            return faults.stuck[int(start)]
        queue = faults.script if start is not None else faults.probe_script
        if not queue:
            return None
        return queue.pop(0) if pop else queue[0]

    def handle(self, handler: _Handler) -> None:
        """Answer one request (called on the handler's thread)."""
        url = urlsplit(handler.path)
        segments = url.path.lstrip("/").split("/", 1)
        host = None
        path = url.path
        if "." in segments[0]:  # /api.binance.com/api/v3/klines -> host + /api/v3/klines
            host = segments[0]
            path = "/" + (segments[1] if len(segments) > 1 else "")
        params = dict(parse_qsl(url.query))
        record = self._decide(host, path, params)
        if self.on_request is not None:
            self.on_request(record)
        if record.outcome == "drop":
            handler.drop()
            return
        if record.outcome == "hang":
            self._stop.wait(self.faults.hang_s)
            handler.drop()
            return
        status = _STATUS_FAULT.fullmatch(record.outcome)
        if status:
            handler.answer(*_error_answer(int(status.group(1)), json_body=bool(status.group(2))))
            return
        kind = record.outcome if record.outcome in PAGE_FAULTS else "ok"
        handler.answer(*self._route(path, params, kind))

    def _route(
        self, path: str, params: dict[str, str], kind: str = "ok"
    ) -> tuple[int, bytes, dict[str, str]]:
        if path == "/api/v3/ping":
            return 200, b"{}", {}
        if path == "/api/v3/time":
            return 200, json.dumps({"serverTime": int(time.time() * 1000)}).encode(), {}
        if path == "/api/v3/exchangeInfo":
            return 200, self._exchange_info, {}
        if path == "/api/v3/klines":
            return self._klines(params, kind)
        return _binance_error(404, -1, f"unknown path {path}")

    def _klines(self, params: dict[str, str], kind: str = "ok") -> tuple[int, bytes, dict[str, str]]:
        market_id = params.get("symbol")
        if not market_id:
            return _binance_error(400, -1102, "Mandatory parameter 'symbol' was not sent.")
        if market_id not in {base + quote for base, quote, _ in self._markets}:
            return _binance_error(400, -1121, "Invalid symbol.")
        interval = params.get("interval", "")
        if interval not in INTERVALS_MS:
            return _binance_error(400, -1120, "Invalid interval.")
        try:
            limit = int(params.get("limit", DEFAULT_LIMIT))
            start = int(params["startTime"]) if "startTime" in params else None
            end = int(params["endTime"]) if "endTime" in params else None
        except ValueError:
            return _binance_error(400, -1100, "Illegal characters found in a parameter.")
        if not 1 <= limit <= MAX_LIMIT:
            return _binance_error(400, -1130, "Invalid data sent for a parameter.")
        if market_id not in self._hourly or INTERVALS_MS[interval] < HOUR_MS:
            return 200, b"[]", {}
        series = self._get_series(market_id, interval)
        times, rows = series.times, list(series.rows)
        if self.faults.live_candle:  # the current, still-open candle, as a live exchange has
            step = INTERVALS_MS[interval]
            now = int(time.time() * 1000) // step * step
            last = series.frame["close"].iloc[-1]
            times = np.append(times, now)
            rows.append(_kline_row(now, step, last, last, last, last, 0.0))
        lo = 0 if start is None else int(np.searchsorted(times, start, side="left"))
        hi = len(times) if end is None else int(np.searchsorted(times, end, side="right"))
        if start is None:
            lo = max(lo, hi - limit)  # no start: the newest `limit` candles up to endTime
        hi = min(hi, lo + limit)
        if start is not None and self.faults.overlap:
            lo = max(0, lo - self.faults.overlap)  # a page that repeats the previous one's tail
        if kind == "overlap":
            lo = max(0, lo - max(1, limit // 2))
        elif kind == "stale":  # what an earlier request got: one page further back
            if start is None:
                lo, hi = max(0, lo - limit), max(0, hi - limit)
            else:
                lo, hi = max(0, lo - limit), lo  # ends before startTime
        page = rows[lo:hi]
        if kind == "empty":
            page = []
        elif kind == "short" and len(page) > 1:
            page = page[: len(page) // 2]
        if self.faults.duplicate_rows or kind == "dup":
            page = [row for row in page for _ in (0, 1)]
        return 200, ("[" + ",".join(page) + "]").encode(), {}

    def _get_series(self, market_id: str, interval: str) -> _Series:
        key = (market_id, interval)
        with self._lock:
            cached = self._series.get(key)
        if cached is not None:
            return cached
        frame = _resample(self._hourly[market_id], interval)
        times = (frame.index.as_unit("ns").asi8 // 1_000_000).astype(np.int64)
        step = INTERVALS_MS[interval]
        columns = [frame[c].to_numpy() for c in ("open", "high", "low", "close", "volume")]
        rows = [
            _kline_row(int(t), step, o, h, lo, c, v)
            for t, o, h, lo, c, v in zip(times, *columns, strict=True)
        ]
        series = _Series(times, rows, frame)
        with self._lock:
            self._series[key] = series
        return series


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real exchange and ccxt's session use
    owner: FakeBinance

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle's algorithm holds the body
        # until the client's delayed ACK of the headers (~40 ms a request on Linux loopback).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self.owner.handle(self)

    def answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        try:
            self.send_response(status)
            content_type = headers.pop("Content-Type", "application/json;charset=UTF-8")
            self.send_header("Content-Type", content_type)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (timed out): nothing to do

    def drop(self) -> None:
        """Close the connection without an answer: a network failure as the client sees it."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet: tests read self.owner.requests instead


def _read_hourly(path: Path) -> pd.DataFrame:
    raw = pd.read_csv(path)  # served as repr(float): ccxt parses back the very same floats
    index = pd.DatetimeIndex(pd.to_datetime(raw["date"]), name="time").tz_localize("UTC")
    frame = raw.drop(columns=["date"]).set_index(index.as_unit("ns")).astype(np.float64)
    return frame[["open", "high", "low", "close", "volume"]]


def _resample(hourly: pd.DataFrame, interval: str) -> pd.DataFrame:
    if interval == "1h":
        return hourly
    origin = pd.Timestamp("1970-01-05", tz="UTC") if interval == "1w" else "epoch"
    rule = pd.Timedelta(milliseconds=INTERVALS_MS[interval])
    agg = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    out = hourly.resample(rule, origin=origin).agg(agg)
    return out.dropna(subset=["open"])  # an interval with no trades has no candle


def _kline_row(t: int, step: int, o: float, h: float, lo: float, c: float, v: float) -> str:
    o, h, lo, c, v = (float(x) for x in (o, h, lo, c, v))  # repr of a numpy scalar is not JSON
    # Binance: [openTime, "open", "high", "low", "close", "volume", closeTime, "quoteVolume",
    #           trades, "takerBuyBase", "takerBuyQuote", "ignore"]
    return (
        f'[{t},"{o!r}","{h!r}","{lo!r}","{c!r}","{v!r}",{t + step - 1},'
        f'"{v * c!r}",100,"0","0","0"]'
    )


def _exchange_info(markets: list[tuple[str, str, str]]) -> dict:
    symbols = []
    for base, quote, status in markets:
        symbols.append({
            "symbol": base + quote, "status": status,
            "baseAsset": base, "baseAssetPrecision": 8,
            "quoteAsset": quote, "quotePrecision": 8, "quoteAssetPrecision": 8,
            "baseCommissionPrecision": 8, "quoteCommissionPrecision": 8,
            "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"],
            "icebergAllowed": True, "ocoAllowed": True, "otoAllowed": True,
            "quoteOrderQtyMarketAllowed": True, "allowTrailingStop": True,
            "cancelReplaceAllowed": True, "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": False,
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": "0.00010000",
                 "maxPrice": "1000000.00000000", "tickSize": "0.00010000"},
                {"filterType": "LOT_SIZE", "minQty": "0.00001000",
                 "maxQty": "9000000.00000000", "stepSize": "0.00001000"},
            ],
            "permissions": [], "permissionSets": [["SPOT"]],
            "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
            "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
        })
    return {
        "timezone": "UTC", "serverTime": int(time.time() * 1000),
        "rateLimits": [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE",
                        "intervalNum": 1, "limit": 6000}],
        "exchangeFilters": [], "symbols": symbols,
    }


def _binance_error(status: int, code: int, msg: str) -> tuple[int, bytes, dict[str, str]]:
    return status, json.dumps({"code": code, "msg": msg}).encode(), {}


def _error_answer(status: int, json_body: bool = False) -> tuple[int, bytes, dict[str, str]]:
    """What an overloaded exchange or its gateway answers with this status: for 5xx an HTML page
    from a gateway, or (``json_body``) Binance-style JSON with a code ccxt has never heard of."""
    if status == 400:  # a permanent refusal, in Binance's words
        return _binance_error(400, -1121, "Invalid symbol.")
    if json_body and status >= 500:
        return _binance_error(status, -1999, "Service busy; an internal component is restarting.")
    if status in (418, 429):
        body = {"code": -1003, "msg": "Too many requests; current limit is 6000 request weight "
                "per 1 MINUTE. Please use the websocket for live updates to avoid polling the API."}
        return status, json.dumps(body).encode(), {"Retry-After": "1"}
    # 5xx from a gateway: an HTML page, not Binance JSON
    html = f"<html><body><h1>{status} Service Unavailable</h1></body></html>".encode()
    return status, html, {"Content-Type": "text/html"}


def main(argv: list[str] | None = None) -> int:
    """Serve until killed: ``python -m tests.support.fake_binance DATA_DIR`` prints the base URL
    on its first line (the benchmark runs the server in its own process, away from the GIL of
    the client it measures). Stops when stdin closes, so it never outlives its parent."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m tests.support.fake_binance DATA_DIR", file=sys.stderr)
        return 2
    with FakeBinance(Path(args[0])) as server:
        print(server.base_url, flush=True)
        sys.stdin.read()  # returns when the parent closes the pipe or exits
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
