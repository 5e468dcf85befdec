"""From what a user typed to one stored series: ``BTC-USDT``, ``btc/usdt`` and ``BTCUSDT`` all
match ``BTC/USDT``, and ``BTC`` alone matches it when it is the only BTC pair stored. When none
or several match, the error lists what is stored, so the next attempt is the right one."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cryptodesk.data.schema import SeriesKey, loose_symbol, normalize_symbol
from cryptodesk.data.timeframes import normalize_timeframe
from cryptodesk.errors import StoreError


def find_series(infos: Iterable[Any], symbol: str, timeframe: str | None = None,
                source: str | None = None) -> SeriesKey:
    """The key of the one series among ``infos`` (the store's
    :class:`~cryptodesk.data.store.SeriesInfo` list) that ``symbol``, ``timeframe`` and
    ``source`` name; :class:`StoreError` listing the candidates when none or several do."""
    infos = list(infos)
    wanted = loose_symbol(symbol)
    tf = normalize_timeframe(timeframe) if timeframe else None
    src = source.strip().lower() if source else None
    exact = [i for i in infos if i.meta.symbol == normalize_symbol(symbol)]
    pool = exact or [i for i in infos if loose_symbol(i.meta.symbol) == wanted]
    if not pool:  # "BTC" finds "BTC/USDT" when it is the only BTC pair stored
        bases = {i.meta.symbol for i in infos if loose_symbol(_base(i.meta.symbol)) == wanted}
        if len(bases) == 1:
            pool = [i for i in infos if i.meta.symbol in bases]
    matches = [
        i for i in pool
        if (tf is None or i.meta.timeframe == tf) and (src is None or i.meta.source == src)
    ]
    if len(matches) == 1:
        return matches[0].key
    if not matches:
        if pool:
            options = ", ".join(str(i.key) for i in pool)
            raise StoreError(f"no stored series {symbol} with that timeframe/source; have: {options}")
        have = ", ".join(sorted({i.meta.symbol for i in infos})) or "nothing yet"
        raise StoreError(
            f"no stored series for symbol {symbol!r}; stored symbols: {have} "
            "(import one with 'cryptodesk data import' or 'cryptodesk data demo')"
        )
    options = ", ".join(str(i.key) for i in matches)
    raise StoreError(f"{symbol} is ambiguous; pick one with --timeframe/--source: {options}")


def _base(symbol: str) -> str:
    """The base asset of a pair (``BTC`` of ``BTC/USDT``, ``BTC-USD``, ``BTC_USDT``)."""
    for sep in ("/", "-", "_", ":"):
        if sep in symbol:
            return symbol.split(sep, 1)[0]
    return symbol
