"""Synthetic candle series for tests: a fat-tailed random walk and autoregressive returns."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cryptodesk.data.schema import make_candles


def candles_from_returns(ret: np.ndarray, seed: int = 0, symbol: str = "TEST-USD",
                         start: str = "2020-01-01", freq: str = "D",
                         timeframe: str = "1d") -> pd.DataFrame:
    """Canonical candles whose closes follow the log returns ``ret`` (OHLV made up around)."""
    rng = np.random.default_rng(seed + 1000)
    n = len(ret)
    close = 100 * np.exp(np.cumsum(ret))
    open_ = np.concatenate([[100.0], close[:-1]])
    spread = np.abs(rng.normal(0, 0.005, n)) * close
    frame = pd.DataFrame(
        {"open": open_, "high": np.maximum(open_, close) + spread,
         "low": np.minimum(open_, close) - spread, "close": close,
         "volume": rng.lognormal(10, 0.5, n)},
        index=pd.date_range(start, periods=n, freq=freq, tz="UTC"),
    )
    return make_candles(frame, source="test", symbol=symbol, timeframe=timeframe)


def random_walk(n: int = 260, seed: int = 7, symbol: str = "TEST-USD", **kw: str) -> pd.DataFrame:
    """Fat-tailed random-walk candles (what the contract tests use)."""
    rng = np.random.default_rng(seed)
    ret = 0.0005 + 0.02 * rng.standard_t(4, n) / np.sqrt(2)
    return candles_from_returns(ret, seed, symbol, **kw)


def ar_returns(n: int, coefs: dict[int, float], sigma: float = 0.01, seed: int = 3) -> np.ndarray:
    """Log returns with ``r_t = sum_k coefs[k] * r_{t-k} + noise``."""
    rng = np.random.default_rng(seed)
    eps = rng.normal(0.0, sigma, n)
    ret = np.zeros(n)
    for t in range(n):
        ret[t] = eps[t] + sum(c * ret[t - k] for k, c in coefs.items() if t - k >= 0)
    return ret
