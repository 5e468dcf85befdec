"""Retrain in the model library (issue 15): the Health column shows "degraded — retrain
suggested" and newer stored bars; on start a non-modal bar offers to update the store and
retrain; Retrain runs the retrain job in a worker and shows the decision and the lineage."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PySide6.QtWidgets import QDialog

from cryptodesk.data.schema import SeriesKey, make_candles

pytestmark = pytest.mark.gui

DEGRADED = {"degraded": True, "status": "degraded — retrain suggested",
            "reasons": ["rolling coverage 55 % below 70 %"]}


def _candles(n: int, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(0.0005 + 0.02 * rng.standard_normal(n)))
    frame = pd.DataFrame({"open": close, "high": close * 1.01, "low": close * 0.99,
                          "close": close, "volume": 1.0},
                         index=pd.date_range("2019-01-01", periods=n, freq="D", tz="UTC"))
    return make_candles(frame, source="test", symbol="SYN-USD", timeframe="1d")


@pytest.fixture
def library_window(qtbot) -> Iterator[object]:
    """A saved drift model flagged degraded, and 60 newer bars in the store; then the app."""
    from cryptodesk.app.library import train_and_save
    from cryptodesk.data.store import CandleStore
    from cryptodesk.gui.app import application, create_window, init_logging
    from cryptodesk.io.bundles import ModelLibrary

    full = _candles(560)
    store = CandleStore()
    store.write(full.iloc[:500])
    train_and_save(store.load(SeriesKey("test", "SYN-USD", "1d")), "drift", horizon=3,
                   label="drift syn", evaluate=False, library=ModelLibrary(),
                   metrics={"rmse": 3.2, "monitoring": DEGRADED})
    store.write(full)  # newer bars, as after `data fetch`
    init_logging()
    win = create_window(application())
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    qtbot.waitUntil(lambda: win.data_panel.current is not None, timeout=15_000)
    yield win
    win.close()


def test_start_offer_then_retrain_shows_decision_and_lineage(library_window, qtbot) -> None:
    win = library_window
    lib = win.library
    qtbot.waitUntil(lambda: lib.offer.isVisible(), timeout=30_000)
    text = lib.offer.text.text()
    assert text == "1 saved model is worth retraining: drift syn (degraded, 60 new bars)."
    assert not any(isinstance(w, QDialog) and w.isModal() and w.isVisible()
                   for w in win.findChildren(QDialog))  # an offer, never a blocking dialog
    item = lib.tree.topLevelItem(0)
    assert item.text(7) == "degraded — retrain suggested · 60 new bars"
    old_id = lib.bundles[0].id
    if os.environ.get("CRYPTODESK_SCREENSHOT_DIR"):
        win.docks.library.raise_()
        qtbot.wait(150)
        keep = Path(os.environ["CRYPTODESK_SCREENSHOT_DIR"])
        keep.mkdir(parents=True, exist_ok=True)
        win.grab().toImage().save(str(keep / "library_retrain_offer.png"))
    with qtbot.waitSignal(lib.retraining.retrained, timeout=90_000) as blocker:
        lib.offer.accept_button.click()  # demo/test series: nothing to fetch, retrain at once
    result = blocker.args[0]
    assert not lib.offer.isVisible()
    assert result.previous == old_id and result.new_bars == 60
    assert result.decision == "challenger"  # on these bars: DM p = 0.07, not significantly worse
    kept = "kept the challenger" if result.decision == "challenger" else "kept the current model"
    note = lib.retrain_note.text()
    assert lib.retrain_note.isVisible() and note.startswith("drift syn: " + kept)
    assert "60 new bars" in note and "RMSE current" in note
    qtbot.waitUntil(lambda: lib.selected_id() == result.kept, timeout=15_000)
    labels = sorted(b.label for b in lib.bundles)
    details = lib.details.toPlainText()
    assert "Retrain " in details and kept in details  # the lineage of the kept bundle
    if result.decision == "challenger":
        assert labels == ["drift syn", "drift syn (v1)"]
        by_label = {lib.tree.topLevelItem(i).text(0): lib.tree.topLevelItem(i)
                    for i in range(lib.tree.topLevelItemCount())}
        assert by_label["drift syn"].text(7) == ""  # the challenger was not found degraded
        # RMSE: the kept challenger's on the new bars, not the first version's 3.2
        assert by_label["drift syn"].text(5) == f"{result.scores['challenger']['rmse']:,.4g}"
        n = result.scores["challenger"]["n"]  # forecasts: 60 origins x the horizon's steps
        assert by_label["drift syn"].toolTip(5) == (
            f"Out of sample: the challenger's score on the bars new at its retrain ({n} "
            "forecasts)")
        assert by_label["drift syn (v1)"].text(5) == "3.2"
        assert by_label["drift syn (v1)"].text(7).startswith("degraded")
        assert "Lineage: 1 previous version (still loadable)" in details
        assert f"v1: {old_id} trained on 2019-01-01 → 2020-05-14" in details
    else:
        assert labels == ["drift syn"]
    # the kept model is up to date now: Retrain says so in one line
    shown: list[str] = []
    win.error_shown.connect(shown.append)
    assert lib.retrain_button.isEnabled()
    lib.retrain_button.click()
    qtbot.waitUntil(lambda: bool(shown), timeout=60_000)
    assert "is up to date" in shown[-1] and "\n" not in shown[-1]
    if os.environ.get("CRYPTODESK_SCREENSHOT_DIR"):
        win.last_error.close()
        qtbot.wait(150)
        win.grab().toImage().save(str(Path(os.environ["CRYPTODESK_SCREENSHOT_DIR"])
                                      / "library_retrained.png"))


def test_offer_can_be_dismissed(library_window, qtbot) -> None:
    lib = library_window.library
    qtbot.waitUntil(lambda: lib.offer.isVisible(), timeout=30_000)
    with qtbot.waitSignal(lib.offer.dismissed, timeout=2_000):
        lib.offer.close_button.click()
    assert not lib.offer.isVisible()
    assert lib.tree.topLevelItem(0).text(7).startswith("degraded")  # the badge stays
    assert not lib.retraining.busy


def test_no_offer_without_saved_models(window, qtbot) -> None:
    lib = window.library
    qtbot.waitUntil(lambda: not lib.runner.busy, timeout=10_000)
    qtbot.wait(300)
    assert not lib.retraining.checked and not lib.offer.isVisible()


@pytest.mark.network
def test_offer_updates_exchange_series_then_retrains(qtbot, shared_data: Path) -> None:
    """A model on a Binance series (local fake exchange): "Update data & retrain" fetches the
    bars after the stored ones, then retrains the model on them."""
    import dataclasses

    from cryptodesk.app.library import train_and_save
    from cryptodesk.data.exchange import fetch_candles
    from cryptodesk.data.store import CandleStore
    from cryptodesk.gui.app import application, create_window, init_logging
    from cryptodesk.io.bundles import ModelLibrary
    from cryptodesk.paths import app_paths
    from cryptodesk.settings import ExchangeSettings, Settings, save_settings
    from tests.support.fake_binance import FakeBinance

    with FakeBinance(shared_data / "hourly") as server:
        store = CandleStore()
        fetch_candles(store, "binance", "BTC/USDT", "1h", since="2025-04-01",
                      until="2025-04-25", api_url=server.base_url)
        key = SeriesKey("binance", "BTC/USDT", "1h")
        stored = store.load(key)
        train_and_save(stored, "drift", horizon=1, label="drift btc", evaluate=False,
                       library=ModelLibrary(), metrics={"monitoring": DEGRADED})
        save_settings(dataclasses.replace(Settings(), exchanges={
            "binance": ExchangeSettings(api_url=server.base_url)}), app_paths().settings_file)
        init_logging()
        win = create_window(application())
        qtbot.addWidget(win)
        win.show()
        lib = win.library
        qtbot.waitUntil(lambda: lib.offer.isVisible(), timeout=30_000)
        assert lib.offer.text.text() == ("1 saved model is worth retraining: drift btc "
                                         "(degraded).")
        with qtbot.waitSignal(lib.retraining.retrained, timeout=120_000) as blocker:
            lib.offer.accept_button.click()
        result = blocker.args[0]
        win.close()
    after = store.load(key)
    added = len(after) - len(stored)
    assert after.index[-1] == pd.Timestamp("2025-04-28 07:00", tz="UTC")  # the exchange's last
    assert added == 80 and result.new_bars == added  # retrained on exactly the fetched bars
    assert "scored on 80 new bars (2025-04-25 → 2025-04-28)" in lib.retrain_note.text()
