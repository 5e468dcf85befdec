"""Downloading candles through the data panel, from a local fake Binance (no internet)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.fake_binance import FakeBinance

pytestmark = [pytest.mark.gui, pytest.mark.network]


def test_download_through_panel(window, qtbot, shared_data: Path) -> None:
    assert window.data_panel.download_button.isEnabled()
    with FakeBinance(shared_data / "hourly") as server:
        request = {"exchange_id": "binance", "symbol": "BTC/USDT", "timeframe": "1h",
                   "since": "2024-01-01", "until": "2024-01-05", "api_url": server.base_url}
        progress: list[str] = []
        window.data_panel.runner.progress.connect(lambda f, m, eta: progress.append(m))
        with qtbot.waitSignal(window.data_panel.series_loaded, timeout=60_000) as blocker:
            window.data_panel.download(request, window.settings)
    loaded = blocker.args[0]
    assert loaded.meta.source == "binance" and loaded.meta.symbol == "BTC/USDT"
    assert len(loaded.frame) == 96 and "downloaded 96 bars" in loaded.note
    assert progress, "the download reports progress"
    qtbot.waitUntil(lambda: window.data_panel.tree.topLevelItemCount() == 3, timeout=10_000)


def test_download_error_shows_dialog(window, qtbot, shared_data: Path) -> None:
    with FakeBinance(shared_data / "hourly") as server:
        request = {"exchange_id": "binance", "symbol": "NOPE/USDT", "timeframe": "1h",
                   "since": "2024-01-01", "until": "2024-01-02", "api_url": server.base_url}
        with qtbot.waitSignal(window.error_shown, timeout=60_000) as blocker:
            window.data_panel.download(request, window.settings)
    assert "NOPE" in blocker.args[0]
    assert window.data_panel.current.meta.symbol == "DEMO/USD"
