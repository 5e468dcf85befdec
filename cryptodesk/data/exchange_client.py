"""The ccxt side of exchange downloads: client factory, URL rewrite, validation, retries.

ccxt is imported inside functions only: importing :mod:`cryptodesk.data` (or this module) must
not pay for ccxt's import (~1 s), so the CLI and the GUI start fast.

- :func:`make_exchange` builds a ccxt client with our timeout and, with ``api_url``, every REST
  URL rewritten from ``https://HOST/PATH`` to ``BASE/HOST/PATH`` (mirrors, proxies, tests).
- :func:`resolve_market` and :func:`resolve_timeframe` turn what a user typed into what the
  exchange has, or fail at once with a message that says what exists instead.
- :class:`Retrier` calls the exchange with exponential backoff and jitter for transient errors
  and turns everything else into an immediate :class:`~cryptodesk.errors.ExchangeError`.
  Transient means: ccxt's network/availability family, any HTTP 5xx and 429/418 whatever the
  body says (clients from :func:`make_exchange` classify by status before the exchange's own
  error-code table, which maps unknown codes to a permanent error), and
  :class:`ImplausibleAnswer` (an answer that cannot be right, e.g. no candles where the
  exchange serves some).
"""

from __future__ import annotations

import difflib
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from cryptodesk.data.schema import loose_symbol
from cryptodesk.data.timeframes import normalize_timeframe
from cryptodesk.errors import DataError, ExchangeError
from cryptodesk.jobs import TaskContext

log = logging.getLogger(__name__)
T = TypeVar("T")
_MESSAGE_CHARS = 240


# --------------------------------------------------------------------------- client factory
def exchange_ids() -> list[str]:
    """Ids of every exchange ccxt knows (``binance``, ``kraken``, ...)."""
    import ccxt

    return list(ccxt.exchanges)


def rewrite_api_urls(urls: Any, base: str) -> Any:
    """Return ``urls`` (a string, or nested dicts/lists of them) with every ``http(s)://HOST/PATH``
    turned into ``BASE/HOST/PATH``.

    Why this shape: keeping the original host in the path lets one proxy or test server stand
    in for an exchange that spreads its API over several hosts (Binance: api., fapi., dapi.).
    Values that are not http(s) URLs (websocket URLs, placeholders) are left alone.
    """
    base = base.rstrip("/")
    if isinstance(urls, str):
        for scheme in ("https://", "http://"):
            if urls.startswith(scheme):
                return f"{base}/{urls[len(scheme):]}"
        return urls
    if isinstance(urls, Mapping):
        return {key: rewrite_api_urls(value, base) for key, value in urls.items()}
    if isinstance(urls, list | tuple):
        return type(urls)(rewrite_api_urls(value, base) for value in urls)
    return urls


def make_exchange(
    exchange_id: str,
    *,
    api_url: str | None = None,
    timeout_ms: int | None = None,
    config: Mapping[str, Any] | None = None,
) -> Any:
    """Build a ccxt client for ``exchange_id`` with ccxt's rate limiter on.

    ``api_url`` rewrites every REST URL (see :func:`rewrite_api_urls`). ``config`` is merged into
    ccxt's constructor config (e.g. ``{"rateLimit": 5}`` in tests). Exchanges that load several
    market types by default (Binance: spot, USDⓈ-M and COIN-M futures) load spot markets only:
    CryptoDesk forecasts spot prices, and each extra type costs a request and another host.
    Raises :class:`ExchangeError` naming close matches for an unknown id.
    """
    import ccxt

    exchange_id = str(exchange_id).strip().lower()
    if exchange_id not in ccxt.exchanges:
        close = difflib.get_close_matches(exchange_id, ccxt.exchanges, n=5, cutoff=0.6)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise ExchangeError(
            f"unknown exchange {exchange_id!r}; {hint}"
            "list the exchanges with candles with 'cryptodesk data exchanges'"
        )
    settings: dict[str, Any] = {"enableRateLimit": True}
    if timeout_ms is not None:
        settings["timeout"] = int(timeout_ms)
    settings.update(config or {})
    client = getattr(ccxt, exchange_id)(settings)
    _prefer_spot(client, (config or {}).get("options", {}))
    _classify_by_status_first(client)
    if api_url:
        if not api_url.startswith(("http://", "https://")):
            raise ExchangeError(f"--api-url must start with http:// or https://, not {api_url!r}")
        client.urls["api"] = rewrite_api_urls(client.urls.get("api"), api_url)
    return client


def _classify_by_status_first(client: Any) -> None:
    """Make every 5xx answer ccxt's ``ExchangeNotAvailable`` and every 429/418 a rate limit,
    whatever the body says.

    Why: ccxt asks the exchange's own error table first, and Binance's maps any JSON ``code`` it
    does not know to the generic (permanent) ``ExchangeError``; an overloaded gateway's 503 with
    such a body, or a 505/599 that is in no table, would then stop a download that a retry would
    finish. A server error is the server's, so it is retried (a bounded number of times).
    """
    import ccxt

    original = client.handle_errors

    def handle_errors(code: Any, reason: Any, url: Any, method: Any, headers: Any, body: Any,
                      *rest: Any) -> Any:
        if isinstance(code, int):
            text = " ".join(str(body or "").split())[:200]
            where = f"{client.id} {method} {url} {code} {reason or ''}".rstrip()
            if 500 <= code <= 599:
                raise ccxt.ExchangeNotAvailable(f"{where} {text}".rstrip())
            if code in (418, 429):
                raise ccxt.DDoSProtection(f"{where} {text}".rstrip())
        return original(code, reason, url, method, headers, body, *rest)

    client.handle_errors = handle_errors


def _prefer_spot(client: Any, user_options: Mapping[str, Any]) -> None:
    if "fetchMarkets" in user_options:
        return  # the caller chose
    option = client.options.get("fetchMarkets")
    if isinstance(option, dict) and "spot" in (option.get("types") or []):
        client.options["fetchMarkets"] = {**option, "types": ["spot"]}
    elif isinstance(option, list) and "spot" in option:
        client.options["fetchMarkets"] = ["spot"]


# --------------------------------------------------------------------------- listings
@dataclass(frozen=True)
class ExchangeInfo:
    """An exchange that serves candles, and the timeframes it offers (ccxt names)."""

    id: str
    name: str
    timeframes: tuple[str, ...]


@dataclass(frozen=True)
class MarketInfo:
    """One market of an exchange: unified symbol (``BTC/USDT``) and the exchange's own id."""

    symbol: str
    id: str
    base: str
    quote: str
    type: str
    active: bool | None


def list_exchanges() -> list[ExchangeInfo]:
    """Every ccxt exchange with ``fetchOHLCV``, with its timeframes. Offline (no requests)."""
    import ccxt

    out = []
    for exchange_id in ccxt.exchanges:
        client = getattr(ccxt, exchange_id)()
        if client.has.get("fetchOHLCV"):
            timeframes = tuple((client.timeframes or {}).keys())
            out.append(ExchangeInfo(exchange_id, str(client.name), timeframes))
    return out


def market_infos(client: Any, quote: str | None = None) -> list[MarketInfo]:
    """The loaded markets of ``client`` (optionally only those quoted in ``quote``), by symbol."""
    wanted = quote.strip().upper() if quote else None
    out = []
    for market in (client.markets or {}).values():
        if wanted and str(market.get("quote", "")).upper() != wanted:
            continue
        out.append(MarketInfo(
            symbol=market["symbol"], id=str(market.get("id")), base=str(market.get("base")),
            quote=str(market.get("quote")), type=str(market.get("type")),
            active=market.get("active"),
        ))
    return sorted(out, key=lambda m: m.symbol)


# --------------------------------------------------------------------------- validation
def resolve_timeframe(client: Any, timeframe: str) -> tuple[str, str]:
    """Map a user's timeframe to ``(the exchange's name for it, our canonical name)``.

    ``60m`` finds the exchange's ``1h``. Fails with the exchange's timeframes when it has none
    that matches. An exchange that lists no timeframes gets the canonical name as is.
    """
    offered = list((client.timeframes or {}).keys())
    try:
        canonical = normalize_timeframe(timeframe)
    except DataError:
        raise ExchangeError(
            f"unknown timeframe {timeframe!r}; {client.id} offers: {', '.join(offered)}"
        ) from None
    if not offered:
        return canonical, canonical
    for name in offered:
        try:
            if normalize_timeframe(name) == canonical:
                return name, canonical
        except DataError:  # e.g. ccxt's "1M" (month): not a fixed length, so never ours
            continue
    raise ExchangeError(
        f"{client.id} has no {timeframe} candles; its timeframes are: {', '.join(offered)}"
    )


def resolve_market(client: Any, symbol: str) -> dict[str, Any]:
    """Find the market a user means: ``BTC/USDT``, ``btc/usdt``, ``BTCUSDT`` (the exchange's
    id) or ``BTC-USDT`` all find Binance's ``BTC/USDT``.

    Markets must be loaded. Fails with close matches (and the same base's markets) when none
    fits, so a typo costs one round trip, not a search through the docs.
    """
    markets: dict[str, Any] = client.markets or {}
    text = str(symbol).strip()
    for candidate in (text, text.upper()):
        if candidate in markets:
            return markets[candidate]
    by_id = getattr(client, "markets_by_id", None) or {}
    for candidate in (text, text.upper(), text.lower()):
        found = by_id.get(candidate)
        if found:
            return _prefer_spot_market(found if isinstance(found, list) else [found])
    loose = loose_symbol(text)
    same = [m for m in markets.values() if loose_symbol(m["symbol"]) == loose]
    if same:
        return _prefer_spot_market(same)
    guess = text.upper().replace("-", "/").replace("_", "/")
    close = difflib.get_close_matches(guess, list(markets), n=5, cutoff=0.5)
    base = guess.split("/")[0]
    close += [s for s in sorted(markets) if s.split("/")[0] == base and s not in close][:5]
    hint = f"close matches: {', '.join(close)}; " if close else ""
    raise ExchangeError(
        f"{client.id} has no market {symbol!r}; {hint}list them with "
        f"'cryptodesk data markets --exchange {client.id}'"
    )


def _prefer_spot_market(markets: list[dict[str, Any]]) -> dict[str, Any]:
    spot = [m for m in markets if m.get("spot") or m.get("type") == "spot"]
    return (spot or markets)[0]


def ohlcv_page_limit(client: Any, market: Mapping[str, Any]) -> int | None:
    """The most candles one ``fetchOHLCV`` request may ask for on this market, per ccxt's
    ``features`` table (Binance spot: 1000), or None where ccxt does not say."""
    features = getattr(client, "features", None) or {}
    kind = str(market.get("type") or "spot")
    node = features.get(kind) or {}
    if kind in ("swap", "future") and isinstance(node, dict):
        node = node.get("linear" if market.get("linear") else "inverse") or {}
    ohlcv = node.get("fetchOHLCV") if isinstance(node, dict) else None
    limit = ohlcv.get("limit") if isinstance(ohlcv, dict) else None
    return int(limit) if limit else None


# --------------------------------------------------------------------------- retries
@dataclass(frozen=True)
class RetryPolicy:
    """How transient failures are retried: delay ``base * 2**attempt`` capped at ``max_delay``,
    each multiplied by a random factor in ``[1 - jitter, 1 + jitter]`` so many clients that failed
    together do not retry together. ``max_retries`` consecutive failures of one request end it."""

    max_retries: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    jitter: float = 0.5

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before retry number ``attempt + 1``."""
        raw = min(self.max_delay, self.base_delay * (2 ** attempt))
        return max(0.0, raw * (1 + self.jitter * (2 * rng.random() - 1)))


class RetriesExhausted(ExchangeError):
    """A transient error persisted through every retry."""


class ImplausibleAnswer(Exception):
    """An answer that cannot be right, e.g. no candles from a time after which the exchange is
    known to serve some. Raised by the function a :class:`Retrier` calls; retried like a
    transient error (a cache or gateway glitch usually passes), and after the last retry it
    becomes the cause of :class:`RetriesExhausted`."""


def is_transient(exc: BaseException) -> bool:
    """True for failures worth retrying: network errors, timeouts, rate limits (429/418), 5xx
    and "exchange not available" (ccxt's ``NetworkError`` family), ccxt's other
    ``OperationFailed`` errors (e.g. Binance's "unknown error, try again"), and
    :class:`ImplausibleAnswer`."""
    import ccxt

    return isinstance(exc, ccxt.OperationFailed | ImplausibleAnswer)


def is_rate_limit(exc: BaseException) -> bool:
    """True for 429/418-style answers (the exchange asks us to slow down)."""
    import ccxt

    return isinstance(exc, ccxt.DDoSProtection | ccxt.RateLimitExceeded)


def describe_error(exc: BaseException) -> str:
    """``ClassName: message`` cut to one readable line (ccxt messages can carry whole bodies)."""
    text = " ".join(str(exc).split())
    if len(text) > _MESSAGE_CHARS:
        text = text[: _MESSAGE_CHARS - 1] + "…"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@dataclass
class Retrier:
    """Calls into a ccxt client with retries; counts them for the job's result.

    Backoff sleeps are cut into short slices that check the task context, so a cancel is
    honoured within ~0.1 s even while waiting. ccxt's own rate limiter still spaces every
    request (``enableRateLimit``); after a rate-limit answer the wait is at least one of the
    exchange's rate-limit intervals on top.
    """

    client: Any
    policy: RetryPolicy
    ctx: TaskContext
    rng: random.Random = field(default_factory=random.Random)
    sleep: Callable[[float], None] = time.sleep
    retries: int = 0

    def call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` with retries; ``what`` names the call in messages."""
        import ccxt

        attempt = 0
        while True:
            self.ctx.check_cancelled()
            try:
                return fn(*args, **kwargs)
            except (ccxt.BaseError, ImplausibleAnswer) as exc:
                if not is_transient(exc):
                    raise ExchangeError(
                        f"{self.client.id}: {what} failed: {describe_error(exc)}"
                    ) from exc
                if attempt >= self.policy.max_retries:
                    raise RetriesExhausted(
                        f"{self.client.id}: {what} still failing after {attempt} "
                        f"retr{'y' if attempt == 1 else 'ies'} ({describe_error(exc)})"
                    ) from exc
                wait = self.policy.delay(attempt, self.rng)
                if is_rate_limit(exc):
                    wait = max(wait, float(getattr(self.client, "rateLimit", 0) or 0) / 1000)
                attempt += 1
                self.retries += 1
                log.warning("%s: %s failed (%s); retry %d/%d in %.2f s", self.client.id, what,
                            describe_error(exc), attempt, self.policy.max_retries, wait)
                self.ctx.progress(
                    self.ctx.last_fraction,
                    f"{type(exc).__name__}; retry {attempt}/{self.policy.max_retries} "
                    f"in {wait:.1f}s",
                )
                self._wait(wait)

    def _wait(self, seconds: float) -> None:
        left = seconds
        while left > 0:
            self.ctx.check_cancelled()
            chunk = min(0.1, left)
            self.sleep(chunk)
            left -= chunk
        self.ctx.check_cancelled()
