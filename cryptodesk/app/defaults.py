"""The defaults the GUI and the CLI share, so the same run gives the same numbers from both.

The seed comes from the user's settings (``seed``, default 0: the seed behind the README's WF1
tables); the protocol defaults to the WF1 preset for the data's timeframe; the strategy to the
sign rule with 10 bps fee and 5 bps slippage; the CLI's model list to the classic line-up.
"""

from __future__ import annotations

from typing import Any

DEFAULT_MODELS = ("naive", "drift", "arima", "lightgbm")
# --target volatility: the volatility baselines and LightGBM on the same target
DEFAULT_VOLATILITY_MODELS = ("naive", "ewma", "garch", "har", "lightgbm")
DEFAULT_PRESET = "wf1"


def default_seed(settings: Any = None) -> int:
    """The seed of the user's settings: ``settings`` when the caller holds them (the GUI),
    else the settings file (a bad one gives the defaults)."""
    if settings is None:
        from cryptodesk.paths import app_paths
        from cryptodesk.settings import load_settings

        settings, _warnings = load_settings(app_paths().settings_file)
    return int(settings.seed)


def default_protocol(timeframe: str) -> Any:
    """The walk-forward protocol a run uses unless told otherwise: WF1 for the timeframe."""
    from cryptodesk.evaluation.presets import preset_spec

    return preset_spec(DEFAULT_PRESET, timeframe)


def default_strategy() -> Any:
    """The strategy a desk shows beside the forecasts: long when the forecast is up, flat
    otherwise, 10 bps fee + 5 bps slippage (the StrategySpec defaults)."""
    from cryptodesk.evaluation.strategy import StrategySpec

    return StrategySpec()


# Forecast horizon a saved model is trained for unless told otherwise, per timeframe: a week of
# daily bars, a month of weekly bars, a day of intraday bars (at most MAX_DEFAULT_HORIZON, the
# longest horizon LightGBM and the nets train outputs for).
MAX_DEFAULT_HORIZON = 100


def default_horizon(timeframe: str) -> int:
    """Bars ahead ``train`` fits for by default: 7 for daily, 4 for weekly, one day of bars for
    intraday data (24 for hourly, 6 for 4-hour bars), at most 100."""
    from cryptodesk.data.timeframes import timeframe_seconds

    seconds = timeframe_seconds(timeframe)
    if seconds >= 7 * 86_400:
        return 4
    if seconds >= 86_400:
        return 7
    return max(1, min(MAX_DEFAULT_HORIZON, 86_400 // seconds))
