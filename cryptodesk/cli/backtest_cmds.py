"""``cryptodesk backtest``: walk-forward evaluation from the command line (forecasting core)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the backtest command (filled in by the forecasting-core work)."""
