"""Each panel opens alone, on a session (and what else it needs: a store, the worker pool),
draws that session's state, and is not blank. With ``CRYPTODESK_SCREENSHOT_DIR`` set, the
pictures are kept for a look."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QWidget

from cryptodesk.app.ingest import series_data
from cryptodesk.app.run import execute_run
from cryptodesk.app.runspec import build_run_spec
from cryptodesk.app.session import Session
from cryptodesk.data.demo import ensure_demo
from cryptodesk.data.store import CandleStore
from cryptodesk.evaluation.strategy import StrategySpec
from cryptodesk.evaluation.walkforward import WalkForwardSpec
from cryptodesk.gui.charts.series import chart_series
from cryptodesk.gui.compute import Compute
from cryptodesk.models.epochs import EpochReport

pytestmark = pytest.mark.gui
SIZES = {"chart": (1000, 620), "results": (1000, 220), "losses": (320, 220),
         "training": (330, 760), "data": (330, 760), "library": (1000, 260)}


def _distinct_colours(image: QImage, step: int = 5) -> int:
    colours = set()
    for y in range(0, image.height(), step):
        for x in range(0, image.width(), step):
            colours.add(image.pixel(x, y))
    return len(colours)


@pytest.fixture
def session() -> Session:
    """The demo series shown, with a finished run of naive and drift (and seeded loss curves
    for drift, so the loss chart has something to draw)."""
    store = CandleStore()
    ensure_demo(store)
    frame = store.load(store.find("DEMO/USD", "1d"))
    loaded = chart_series(series_data(frame))
    spec = build_run_spec(frame, [("drift", {})], WalkForwardSpec(test_size=60, refit_every=20),
                          seed=0, strategy=StrategySpec(), data=loaded.ref)
    session = Session()
    session.show_series(loaded)
    session.begin_run(loaded.key, spec, "walk-forward")
    session.apply_events(loaded.key, [EpochReport("drift", e, 5, 1 / e, 1.2 / e, 0.5, e, 0.1)
                                      for e in range(1, 6)])
    session.finish_run(loaded.key, execute_run(spec, candles=frame).result(), "Run finished")
    return session


def _chart(s: Session, _c: Compute) -> QWidget:
    from cryptodesk.gui.charts.chart_area import ChartArea

    return ChartArea(s)


def _results(s: Session, _c: Compute) -> QWidget:
    from cryptodesk.gui.panels.results_panel import ResultsPanel

    return ResultsPanel(s)


def _losses(s: Session, _c: Compute) -> QWidget:
    from cryptodesk.gui.charts.loss_chart import LossChart

    return LossChart(s)


def _training(s: Session, _c: Compute) -> QWidget:
    from cryptodesk.gui.panels.training_panel import TrainingPanel

    return TrainingPanel(s)


def _data(s: Session, _c: Compute) -> QWidget:
    from cryptodesk.gui.panels.data_panel import DataPanel

    return DataPanel(s, CandleStore(), ("demo", "DEMO/USD", "1d"))


def _library(s: Session, c: Compute) -> QWidget:
    from cryptodesk.gui.panels.library_panel import LibraryPanel

    return LibraryPanel(s, c)


PANELS: dict[str, Callable[[Session, Compute], QWidget]] = {
    "chart": _chart, "results": _results, "losses": _losses, "training": _training,
    "data": _data, "library": _library,
}


def _ready(name: str, panel: Any, qtbot) -> None:
    """Wait for what a panel loads itself (forms, store listing, saved models)."""
    if name == "training":
        qtbot.waitUntil(lambda: panel.wf_form is not None, timeout=30_000)
    elif name == "data":
        with qtbot.waitSignal(panel.series_loaded, timeout=30_000):
            panel.refresh()
    elif name == "library":
        with qtbot.waitSignal(panel.listed, timeout=30_000):
            panel.refresh()
    elif name in ("chart", "losses"):
        qtbot.wait(250)  # two ticks of the 10 Hz redraw


@pytest.mark.parametrize("name", list(PANELS))
def test_each_panel_opens_alone_and_draws_the_session(name: str, session: Session,
                                                      qtbot) -> None:
    compute = Compute()
    panel = PANELS[name](session, compute)
    qtbot.addWidget(panel)
    panel.resize(*SIZES[name])
    panel.show()
    _ready(name, panel, qtbot)
    if name == "chart":
        assert panel.overlays() == ["drift"] and panel.price.forecast_points == 60
        assert panel.equity.shown and panel.drawdown.shown
    elif name == "results":
        assert [r["model"] for r in panel.rows()] == ["naive", "drift", "buy & hold"]
        assert panel.selected() == "drift" and "seed 0" in panel.summary.text()
    elif name == "losses":
        assert panel.shown_model() == "drift" and np.array_equal(panel.train.xData, np.arange(1, 6))
    elif name == "data":
        assert panel.current.key == session.key
    image = panel.grab().toImage()
    assert image.width() == SIZES[name][0] and _distinct_colours(image) > 12
    keep = os.environ.get("CRYPTODESK_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        image.save(str(Path(keep) / f"panel_{name}.png"))
    assert not compute.started  # none of these needed a worker
    compute.shutdown()
