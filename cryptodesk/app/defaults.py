"""The defaults the GUI and the CLI share, so the same run gives the same numbers from both.

The seed comes from the user's settings (``seed``, default 0: the seed behind the README's WF1
tables); the protocol defaults to the WF1 preset for the data's timeframe; the strategy to the
sign rule with 10 bps fee and 5 bps slippage; the CLI's model list to the classic line-up.
"""

from __future__ import annotations

from typing import Any

DEFAULT_MODELS = ("naive", "drift", "arima", "lightgbm")
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
