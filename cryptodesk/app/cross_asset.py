"""Other stored series as model inputs: ``--with`` features and the nets' pre-training series.

The app layer owns this join (models never read the store): it finds each named series in the
store (same timeframe as the target), records it in the run spec as a
:class:`~cryptodesk.app.runspec.CrossInput` with its fingerprint, and joins it onto the candles
causally (:mod:`cryptodesk.features.cross_asset`: a row holds only other bars that closed
before it). The walk-forward then slices the joined frame at each origin, so no asset's future
reaches a fit. A ``with`` join is also recorded in ``attrs["external_sources"]`` (kind
``asset``), so a saved model can rebuild its columns when it forecasts later.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from cryptodesk.app.runspec import CrossInput, DataRef, ModelSpec, data_ref
from cryptodesk.errors import DataError

DEFAULT_LAGS = 3
ASSET_KIND = "asset"


def pretrain_symbols(models: Iterable[ModelSpec | tuple[str, dict[str, Any]]]) -> list[str]:
    """Every series some model pre-trains on (nets' ``pretrain``, ensemble members' too)."""
    out: list[str] = []
    for item in models:
        config = item.config if isinstance(item, ModelSpec) else item[1]
        configs = [config, *(config.get("member_configs") or {}).values()]
        for cfg in configs:
            for symbol in cfg.get("pretrain") or ():
                if symbol not in out:
                    out.append(str(symbol))
    return out


def find_series(symbol: str, timeframe: str, store: Any = None) -> tuple[DataRef, pd.DataFrame]:
    """A stored series of ``symbol`` in ``timeframe`` and its reference (fingerprinted)."""
    from cryptodesk.data.store import CandleStore

    store = store if store is not None else CandleStore()
    try:
        key = store.find(symbol, timeframe, None)
    except DataError as exc:
        raise DataError(f"cross-asset input {symbol}: {exc}") from None
    frame = store.load(key)
    return data_ref(frame), frame


def cross_inputs(candles: pd.DataFrame, with_symbols: Iterable[str] = (),
                 pretrain: Iterable[str] = (), *, lags: int = DEFAULT_LAGS,
                 store: Any = None) -> tuple[CrossInput, ...]:
    """The run spec's cross-asset inputs for ``--with`` symbols and pre-training symbols."""
    timeframe = str(candles.attrs.get("timeframe") or "1d")
    target = str(candles.attrs.get("symbol") or "")
    out = []
    for role, symbols in (("with", with_symbols), ("pretrain", pretrain)):
        for symbol in dict.fromkeys(symbols):
            if symbol == target:
                raise DataError(f"{symbol} is the target series itself; name other series")
            ref, _frame = find_series(symbol, timeframe, store)
            out.append(CrossInput(role, ref, lags))
    return tuple(out)


def join_cross(candles: pd.DataFrame, cross: Iterable[CrossInput],
               store: Any = None) -> pd.DataFrame:
    """``candles`` with every cross-asset input joined (each loaded by its fingerprinted
    reference: changed bars are refused)."""
    from cryptodesk.app.spec_candles import load_candles
    from cryptodesk.features.cross_asset import join_pretrain, join_with, with_columns

    cross = list(cross)
    if not cross:
        return candles
    out = candles
    sources = dict(candles.attrs.get("external_sources", {}))
    for item in cross:
        other = load_candles(item.data, store)
        symbol, tf = item.data.symbol, item.data.timeframe
        if item.role == "with":
            out = join_with(out, other, symbol, item.lags, tf)
            sources[f"x_{symbol}"] = {"kind": ASSET_KIND, "symbol": symbol, "timeframe": tf,
                                      "source": item.data.source, "lags": item.lags,
                                      "columns": list(with_columns(symbol, item.lags))}
        else:
            out = join_pretrain(out, other, symbol, tf)
    out.attrs["external_sources"] = sources
    return out


def split_sources(sources: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(asset joins, everything else) of a manifest's ``external_sources``."""
    assets = {k: v for k, v in sources.items() if v.get("kind") == ASSET_KIND}
    return assets, {k: v for k, v in sources.items() if k not in assets}


def rebuild_assets(candles: pd.DataFrame, sources: dict[str, Any],
                   store: Any = None) -> pd.DataFrame:
    """Join the recorded ``with`` series again (the newest stored bars) for a forecast."""
    from cryptodesk.features.cross_asset import join_with

    out = candles
    for spec in sources.values():
        _ref, other = find_series(str(spec["symbol"]), str(spec["timeframe"]), store)
        out = join_with(out, other, str(spec["symbol"]), int(spec["lags"]),
                        str(spec["timeframe"]))
    return out


def plan_cross(candles: pd.DataFrame, models: list[tuple[str, dict[str, Any]]],
               with_symbols: Iterable[str] = (), *, lags: int = DEFAULT_LAGS,
               compare_scratch: bool = True,
               store: Any = None) -> tuple[list[ModelSpec], tuple[CrossInput, ...]]:
    """A run's models and cross-asset inputs: every pre-training series and ``--with`` series
    found in the store, and, with ``compare_scratch``, each pre-trained net (labelled
    ``<name>+pretrain``) followed by the same net trained from scratch (``<name>``), so the
    report shows fine-tuned against from-scratch."""
    out: list[ModelSpec] = []
    for name, config in models:
        if config.get("pretrain"):
            out.append(ModelSpec(name, config, f"{name}+pretrain"))
            if compare_scratch:
                out.append(ModelSpec(name, {**config, "pretrain": []}))
        else:
            out.append(ModelSpec(name, config))
    cross = cross_inputs(candles, with_symbols, pretrain_symbols(out), lags=lags, store=store)
    return out, cross
