"""Named walk-forward protocols, so results quoted in docs and issues are reproducible by name.

WF1: one-step-ahead forecasts over the last year, refitted monthly, expanding window. For daily
bars: the last 365 bars are the test window, refit every 30 forecasts (13 fits); for intraday
bars: the last 720 bars (30 days of hours), refit every 168 (weekly). Timeframes of a day or
longer use the daily numbers, shorter ones the hourly numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptodesk.data.timeframes import timeframe_seconds
from cryptodesk.errors import DataError
from cryptodesk.evaluation.walkforward import WalkForwardSpec


@dataclass(frozen=True)
class Preset:
    """A protocol: its description and the spec for daily and for intraday bars."""

    name: str
    description: str
    daily: WalkForwardSpec
    intraday: WalkForwardSpec

    def spec_for(self, timeframe: str) -> WalkForwardSpec:
        """The spec for data of ``timeframe``."""
        return self.daily if timeframe_seconds(timeframe) >= 86_400 else self.intraday


PRESETS: dict[str, Preset] = {
    "wf1": Preset(
        name="wf1",
        description="horizon 1; last 365 daily bars (720 hourly) as test; refit every 30 "
                    "steps (168 hourly); expanding window",
        daily=WalkForwardSpec(horizon=1, test_size=365, stride=1, refit_every=30,
                              window="expanding"),
        intraday=WalkForwardSpec(horizon=1, test_size=720, stride=1, refit_every=168,
                                 window="expanding"),
    ),
}


def preset_names() -> list[str]:
    """Known preset names."""
    return sorted(PRESETS)


def preset_spec(name: str, timeframe: str) -> WalkForwardSpec:
    """The walk-forward spec of preset ``name`` for ``timeframe`` data."""
    preset = PRESETS.get(name.strip().lower())
    if preset is None:
        raise DataError(f"unknown preset {name!r}; known: {', '.join(preset_names())}")
    return preset.spec_for(timeframe)
