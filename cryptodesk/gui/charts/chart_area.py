"""The desk's chart: the session's series, forecasts, trading view and sentiment, drawn in rows.

It subscribes to the :class:`~cryptodesk.app.session.Session` and draws only what the session
holds for the series on show: another series' run never reaches it. Forecasts of a running
walk-forward arrive many times a second; they only mark the chart dirty, and a ~10 Hz timer
redraws. Several selected models are overlaid on the price row, each with its band; the first
one's residuals and trading curves fill the rows below.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QLabel, QWidget

from cryptodesk.app.session import BENCHMARK_ROW, Change, Session
from cryptodesk.gui.charts.chart_widget import ChartWidget
from cryptodesk.gui.charts.future_paths import PathView
from cryptodesk.gui.charts.price_row import Overlay, PriceRow
from cryptodesk.gui.charts.rows import (
    DrawdownRow,
    EquityRow,
    ResidualRow,
    SentimentRow,
    VolatilityRow,
    VolumeRow,
)
from cryptodesk.gui.session_view import follow, redraw_timer
from cryptodesk.gui.theme import Theme

VISIBLE_BARS_ON_LOAD = 200
# The rows, top to bottom. A new row: its class in rows.py (or its own module) and one line here.
ROWS = (PriceRow, VolumeRow, ResidualRow, EquityRow, DrawdownRow, SentimentRow, VolatilityRow)


class ChartArea(ChartWidget):
    """Draws a :class:`Session` (see module docstring)."""

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        for row_cls in ROWS:
            self.add_row(row_cls)
        self.price: PriceRow = self.rows["price"]  # type: ignore[assignment]
        self.volume: VolumeRow = self.rows["volume"]  # type: ignore[assignment]
        self.residual: ResidualRow = self.rows["residual"]  # type: ignore[assignment]
        self.equity: EquityRow = self.rows["equity"]  # type: ignore[assignment]
        self.drawdown: DrawdownRow = self.rows["drawdown"]  # type: ignore[assignment]
        self.sentiment: SentimentRow = self.rows["sentiment"]  # type: ignore[assignment]
        self.volatility: VolatilityRow = self.rows["volatility"]  # type: ignore[assignment]
        self.regime_toggle = QCheckBox("Shade regimes")
        self.regime_toggle.setObjectName("regimeToggle")
        self.regime_toggle.setToolTip("Shade the volatility regimes of the last run on the price "
                                      "chart (darker = more turbulent; fitted before the test "
                                      "window)")
        self.regime_toggle.setEnabled(False)
        self.regime_toggle.toggled.connect(self.price.show_regimes)
        self.forecast_legend = QLabel("")  # Run ▸ Forecast's legend: outside the data
        self.forecast_legend.setObjectName("forecastLegend")
        self.forecast_legend.setTextFormat(Qt.TextFormat.RichText)
        self.forecast_legend.setVisible(False)
        self.layout().insertWidget(1, self.forecast_legend)  # its own line under the title
        self.head.addWidget(self.regime_toggle)
        self.session = session
        self._dirty: set[str] = set()  # "forecasts", "signals": what the next tick redraws
        self._timer = redraw_timer(self, self.redraw)
        follow(session, self, self._on_change)
        self.draw_series()

    # ---------------------------------------------------------------- session changes
    def _on_change(self, change: Change) -> None:
        session = self.session
        if change.topic == "series":
            self.draw_series()
        elif change.topic == "sentiment":
            self.draw_sentiment()
        elif change.key != session.key:
            return  # another series' results
        elif change.topic == "future":
            self.draw_future(reveal=True)
        elif change.topic == "run":  # a run started or ended: its results changed wholesale
            self._dirty.update(("forecasts", "signals"))
            self.redraw()
            if session.progress.running:  # watch the test window fill in
                self._show_test_window()
        elif change.topic == "selection":
            self._dirty.update(("forecasts", "signals"))
            self.redraw()
        elif change.topic in ("forecasts", "model") and change.model in self.shown_models():
            self._dirty.add("forecasts")

    def redraw(self) -> None:
        """The throttled redraw: what changed since the last tick."""
        dirty, self._dirty = self._dirty, set()
        with self.batch():
            if "forecasts" in dirty:
                self.draw_forecasts()
            if "signals" in dirty:
                self.draw_signals()
        if dirty:
            self.refresh_readout()  # the values under the cursor changed with them

    # ---------------------------------------------------------------- drawing
    def draw_series(self) -> None:
        """The series on show (or none), with whatever the session holds for it."""
        series = self.session.series
        pyramid = None if series is None else series.pyramid
        gaps = None if series is None else (series.gaps_x0, series.gaps_x1)
        with self.batch():
            self.price.plot(pyramid, gaps)
            self.volume.plot(pyramid)
            self.title.setText("No series loaded" if series is None else series.meta.label)
            self.draw_forecasts()
            self.draw_signals()
            self.draw_future(reveal=False)
            self.draw_sentiment()
        self.show_last(VISIBLE_BARS_ON_LOAD)
        self.readout.setText(" " if pyramid is None or not len(pyramid)
                             else self.crosshair.text(float(pyramid.base.x[-1])))

    def shown_models(self) -> list[str]:
        """Models whose forecasts are drawn: the selection, else the model running now."""
        current = self.session.current
        if current is None:
            return []
        names = [n for n in current.selection if n in current.models]
        if not names and current.live_model:
            names = [current.live_model]
        return names

    def draw_forecasts(self) -> None:
        current = self.session.current
        volatility = (current is not None and current.spec is not None
                      and current.spec.target == "volatility")
        self.residual.set_applies(not volatility)
        if volatility:
            self.draw_volatility()  # variances: their own row, never on the price axis
            return
        self.volatility.clear()
        overlays = []
        for name in self.shown_models():
            x, point, lo, hi, _actual = current.models[name].forecasts.arrays()
            overlays.append(Overlay(name, x.copy(), point.copy(),
                                    None if lo is None else lo.copy(),
                                    None if hi is None else hi.copy()))
        self.price.plot_forecasts(overlays)
        if overlays:
            first = current.models[overlays[0].name].forecasts.arrays()
            self.residual.plot(first[0].copy(), first[4] - first[1], overlays[0].name)
            # two or more picked: the second one's residuals beside the first (comparison)
            other = (current.models[overlays[1].name].forecasts.arrays()
                     if len(overlays) > 1 else None)
            self.residual.compare(*((other[0].copy(), other[4] - other[1], overlays[1].name)
                                    if other is not None else (np.array([]), np.array([]))))
        else:
            self.residual.clear()

    def draw_volatility(self) -> None:
        """A volatility run: the first shown model's one-step volatility forecast against the
        realised volatility (square roots of the variances), filling in while it runs."""
        self.price.plot_forecasts([])
        self.residual.clear()
        names = self.shown_models()
        if not names:
            self.volatility.clear()
            return
        x, point, _lo, _hi, actual = self.session.current.models[names[0]].forecasts.arrays()
        with np.errstate(invalid="ignore"):
            self.volatility.plot(x.copy(), np.sqrt(actual), np.sqrt(point), model=names[0])

    def draw_signals(self) -> None:
        """Equity and drawdown of the first selected row, regimes for the shading."""
        current = self.session.current
        signals = None if current is None else current.signals
        progress = self.session.progress
        waiting = (signals is None and current is not None and progress.running
                   and progress.key == current.key and current.spec is not None
                   and current.spec.strategy is not None)
        for row in (self.equity, self.drawdown):  # their place is kept while the run goes on
            row.reserve(waiting)
        if signals is None:
            self.equity.clear()
            self.drawdown.clear()
            self.price.plot_regimes(np.array([]), np.array([]), np.array([], dtype=np.int64))
            self.regime_toggle.setEnabled(False)
            return
        name = current.selection[0] if current.selection else None
        key = signals.benchmark if name == BENCHMARK_ROW else name
        if key in signals.curves:
            x, equity, drawdown = signals.curves[key]
            bench = signals.curves.get(signals.benchmark) if key != signals.benchmark else None
            label = "buy & hold" if key == signals.benchmark else key
            rule = signals.strategy.split(";")[0]
            self.equity.plot(label, x, equity, None if bench is None else bench[:2],
                             strategy=f"{rule}, after costs")
            self.drawdown.plot(x, drawdown, None if bench is None else (bench[0], bench[2]))
        else:
            self.equity.clear()
            self.drawdown.clear()
        self.price.plot_regimes(signals.regime_x0, signals.regime_x1, signals.regime_level,
                                signals.regime_order)
        has = bool(np.asarray(signals.regime_x0).size)
        self.regime_toggle.setEnabled(has)
        if signals.regime_order:
            self.regime_toggle.setToolTip(
                "Shade the volatility regimes of the last run on the price chart: "
                + " < ".join(signals.regime_order)
                + " (darker = more turbulent; fitted before the test window)")
        self.price.show_regimes(self.regime_toggle.isChecked())

    def draw_future(self, reveal: bool) -> None:
        """A saved model's forecast after the last bar; ``reveal`` scrolls it into view."""
        current = self.session.current
        many = None if current is None else current.forecast  # Run ▸ Forecast
        self.price.plot_paths([] if many is None else [PathView.of(p) for p in many.paths])
        self.forecast_legend.setText(self.price.paths.legend_html())
        self.forecast_legend.setVisible(bool(self.price.paths.paths))
        self.readout.setWordWrap(bool(self.price.paths.paths))  # one readout per model
        fc = None if current is None else current.future
        if fc is None:
            self.price.plot_future("", np.array([]), np.array([]))
        else:
            self.price.plot_future(fc.label, fc.x, fc.point, fc.lower, fc.upper)
        ends = [float(p.x[-1]) for p in self.price.paths.paths if p.x.size]
        if fc is not None and len(fc.x):
            ends.append(float(fc.x[-1]))
        if reveal and ends:
            steps = max(len(p.x) for p in self.price.paths.paths) if many is not None else 0
            self.show_last(max(60, 4 * steps) if steps else 120, until=max(ends))

    def draw_sentiment(self) -> None:
        view = self.session.sentiment
        ok = view is not None and view.series_key == self.session.key
        self.sentiment.plot(view.columns if ok else {})

    def _show_test_window(self) -> None:
        """Show the run's test window and as much history again (and a bit more)."""
        spec, series = self.session.spec, self.session.series
        if spec is None or series is None:
            return
        protocol = spec.protocol
        test = protocol.test_size
        if not test and protocol.test_start is not None:
            import pandas as pd

            start = pd.Timestamp(protocol.test_start)
            start = start.tz_localize("UTC") if start.tzinfo is None else start
            test = len(series.frame) - int(series.frame.index.searchsorted(start))
        self.show_last(max(60, int((test or 60) * 2.5)))

    def future_band_visible(self) -> bool:
        return self.price.future.fill.isVisible()

    def overlays(self) -> list[str]:
        return [o.name for o in self.price.overlays]

    def apply_theme(self, theme: Theme) -> None:
        super().apply_theme(theme)
        self.forecast_legend.setText(self.price.paths.legend_html())  # its colours follow
