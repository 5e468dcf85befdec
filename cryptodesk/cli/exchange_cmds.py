"""``cryptodesk data fetch|exchanges|markets``: exchange downloads through ccxt."""

from __future__ import annotations

import argparse


def register(data_sub: argparse._SubParsersAction) -> None:
    """Add the exchange commands under ``data`` (filled in by the exchange-download work)."""
