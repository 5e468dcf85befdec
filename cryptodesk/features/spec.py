"""The feature spec: which causal features to build from a candle frame, as a JSON-able value.

A model that uses features stores its :class:`FeatureSpec` in its config, so a saved model
rebuilds exactly the inputs it was trained on (``spec.to_dict()`` is plain JSON). It is a
:class:`~cryptodesk.params.Params`, so it validates itself and the GUI can draw it
as a sub-form of the model's hyperparameters.

Every feature is *causal with a finite window*: the value at row t is a function of rows
``t - warmup + 1 .. t`` only (:meth:`FeatureSpec.warmup`). Two things follow. No feature can
see the future. And a forecast needs only the last ``warmup`` rows, so walk-forward predictions
between refits compute features on that short tail instead of the whole series, and get the
same numbers as the full-series computation used for training. Exponential averages (MACD) are
therefore truncated to ``EMA_SPAN_MULTIPLE * span`` bars, where the dropped weight is < 0.1 %.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from cryptodesk.data.timeframes import timeframe_seconds
from cryptodesk.errors import CryptoDeskError, ModelError
from cryptodesk.params import Params, param

# An EMA of span s is computed as a finite weighted average over this many spans of bars.
EMA_SPAN_MULTIPLE = 4


@dataclass(frozen=True)
class FeatureSpec(Params):
    """Which features to build. Set a window to None (or 0 lags) to switch a feature off."""

    error_cls: ClassVar[type[CryptoDeskError]] = ModelError  # part of a model's config

    return_lags: int = param(
        10, min=0, max=500, label="Lagged returns",
        help="Log returns of the last N bars (ret_0 = the bar just closed).",
    )
    volatility_windows: tuple[int, ...] = param(
        (5, 20), min=2, max=1000, label="Volatility windows",
        help="Rolling standard deviation of log returns over each window.",
    )
    rsi_window: int | None = param(14, min=2, max=500, label="RSI window",
                                   help="Relative strength index (simple averages), 0..100.")
    macd_fast: int | None = param(12, min=2, max=500, label="MACD fast span",
                                  help="MACD line = EMA(fast) - EMA(slow), divided by the close.")
    macd_slow: int = param(26, min=3, max=1000, label="MACD slow span")
    macd_signal: int = param(9, min=2, max=500, label="MACD signal span")
    bollinger_window: int | None = param(20, min=2, max=1000, label="Bollinger window",
                                         help="Bollinger %B: where the close sits in the bands.")
    bollinger_k: float = param(2.0, min=0.1, max=10.0, label="Bollinger width (sd)")
    atr_window: int | None = param(14, min=1, max=1000, label="ATR window",
                                   help="Average true range divided by the close.")
    volume_z_window: int | None = param(20, min=2, max=1000, label="Volume z-score window",
                                        help="z-score of log(1 + volume) over the window.")
    calendar: bool = param(True, label="Calendar",
                           help="Hour of day (intraday bars) and weekday, as sin/cos pairs.")
    external: tuple[str, ...] = param(
        (), label="External columns",
        help="Extra numeric columns of the candle frame (joined as-of with "
             "cryptodesk.features.external.join_asof), used as they are.",
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.macd_fast is not None and self.macd_fast >= self.macd_slow:
            raise ModelError("MACD fast span must be shorter than the slow span")

    # ------------------------------------------------------------------ derived facts
    def warmup(self) -> int:
        """Rows needed for the last row's features to be defined (and exact)."""
        need = [1]
        if self.return_lags:
            need.append(self.return_lags + 1)
        need += [w + 1 for w in self.volatility_windows]
        if self.rsi_window:
            need.append(self.rsi_window + 1)
        if self.macd_fast is not None:
            need.append(ema_length(self.macd_slow) + ema_length(self.macd_signal) - 1)
        if self.bollinger_window:
            need.append(self.bollinger_window)
        if self.atr_window:
            need.append(self.atr_window + 1)
        if self.volume_z_window:
            need.append(self.volume_z_window)
        return max(need)

    def columns(self, timeframe: str = "1d") -> list[str]:
        """Feature column names, in the order the builder produces them."""
        cols = [f"ret_{k}" for k in range(self.return_lags)]
        cols += [f"vol_{w}" for w in self.volatility_windows]
        if self.rsi_window:
            cols.append(f"rsi_{self.rsi_window}")
        if self.macd_fast is not None:
            cols += ["macd", "macd_signal", "macd_hist"]
        if self.bollinger_window:
            cols.append(f"bb_pctb_{self.bollinger_window}")
        if self.atr_window:
            cols.append(f"atr_{self.atr_window}")
        if self.volume_z_window:
            cols.append(f"volume_z_{self.volume_z_window}")
        if self.calendar:
            seconds = timeframe_seconds(timeframe)
            if seconds < 86_400:
                cols += ["hour_sin", "hour_cos"]
            if seconds < 7 * 86_400:
                cols += ["weekday_sin", "weekday_cos"]
        cols += [f"ext_{name}" for name in self.external]
        return cols


def ema_length(span: int) -> int:
    """Bars in the truncated EMA of ``span`` (see module docstring)."""
    return EMA_SPAN_MULTIPLE * span
