"""Axes a trader reads at a glance: time with its context, volumes in K/M/B, prices on a log
scale in prices.

* :class:`ContextDateAxis` labels ticks in UTC like TradingView: the fine unit on the first
  line (``14:00``, the day ``5``, the month ``Mar``) and, under it, the context whenever it
  changes from the previous tick (the day and month under hours, month and year under days,
  the year under months). A lone ``17`` on an hourly chart no longer leaves the reader to
  guess the month.
* :class:`CompactAxis` writes ``2.5M`` instead of ``2.5e+06`` (pyqtgraph's SI prefix is off
  for the chart's axes: ``3e+09`` was what users saw).
* :class:`PriceAxis` writes the prices a log scale stands for (``100``, ``1K``, ``10K``)
  instead of pyqtgraph's exponents.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor, QFontMetrics, QPen

HOUR, DAY = 3_600.0, 86_400.0


class OpaqueGrid:
    """Grid lines in the colour they would have over the background, but opaque, drawn
    behind the data (the row puts its axes under the view box).

    pyqtgraph draws grid lines with a translucent pen over the plot: every line is blended
    across the whole row on every pan frame, which was a third of a frame's time on a
    million-bar chart. An opaque line of the blended colour looks the same and takes the
    raster engine's fast path."""

    grid_background: QColor | None = None

    def generateDrawSpecs(self, p):
        specs = super().generateDrawSpecs(p)  # type: ignore[misc]
        bg = self.grid_background
        if specs is None or bg is None:
            return specs
        axis_spec, ticks, texts = specs
        pens: dict[int, QPen] = {}
        out = []
        for pen, p1, p2 in ticks:
            color = pen.color()
            if color.alpha() < 255:
                key = color.rgba()
                if key not in pens:
                    a = color.alphaF()
                    solid = QPen(pen)
                    solid.setColor(QColor(round(color.red() * a + bg.red() * (1 - a)),
                                          round(color.green() * a + bg.green() * (1 - a)),
                                          round(color.blue() * a + bg.blue() * (1 - a))))
                    pens[key] = solid
                pen = pens[key]
            out.append((pen, p1, p2))
        return axis_spec, out, texts


def _utc(value: float) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (OverflowError, OSError, ValueError):
        return None


def context_labels(values: list[float], spacing: float, first_hidden: bool = False) -> list[str]:
    """Two-line labels of time ticks ``values`` (epoch seconds) ``spacing`` seconds apart:
    the unit that changes from tick to tick, and under it the larger unit whenever it differs
    from the previous tick's (always under the first tick, and under the second as well when
    ``first_hidden``: the axis drops a label that would stick out of its left end)."""
    out: list[str] = []
    prev: str | None = None
    for i, value in enumerate(values):
        t = _utc(value)
        if t is None:
            out.append("")
            continue
        if spacing < 60:
            fine, context = t.strftime("%H:%M:%S"), f"{t.day} {t:%b %Y}"
        elif spacing < DAY:
            fine, context = t.strftime("%H:%M"), f"{t.day} {t:%b %Y}"
        elif spacing < 28 * DAY:
            fine, context = str(t.day), t.strftime("%b %Y")
        elif spacing < 365 * DAY:
            fine, context = t.strftime("%b"), t.strftime("%Y")
        else:
            out.append(t.strftime("%Y"))
            continue
        out.append(fine if context == prev and not (first_hidden and i == 1)
                   else f"{fine}\n{context}")
        prev = context
    return out


class ContextDateAxis(OpaqueGrid, pg.DateAxisItem):
    """UTC time axis whose labels carry their context (see module docstring)."""

    EDGE = 0.03  # a first tick this close (share of the range) to the left end loses its label
    LABEL_PX = 40  # room one label needs ("22:00", "Sep", "2019") with a gap

    def __init__(self, orientation: str = "bottom", **kwargs: object) -> None:
        super().__init__(orientation, utcOffset=0, **kwargs)

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list:
        """One level of ticks (the major and minor ones together): the labels' context is
        worked out across all of them, so a month and its first day never stack."""
        levels = [lv for lv in super().tickValues(minVal, maxVal, size) if len(lv[1])]
        levels = levels[: int(self.style.get("maxTickLevel", 1)) + 1]
        if not levels:
            return []
        # the finer level only while its labels fit side by side; otherwise the coarser alone
        room = max(1, int(size / self.LABEL_PX))
        for depth in range(len(levels), 0, -1):
            values = sorted({float(v) for _spacing, vs in levels[:depth] for v in vs
                             if minVal <= v <= maxVal})
            if len(values) <= room or depth == 1:
                return [(levels[depth - 1][0], values)]
        return []

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        lo, hi = self.range
        first_hidden = bool(values) and (values[0] - lo) < self.EDGE * (hi - lo)
        return context_labels(list(values), float(spacing), first_hidden)

    def _updateHeight(self) -> None:
        """Room for two lines of labels when the axis shows values."""
        super()._updateHeight()
        if self.fixedHeight is None and self.style["showValues"] and self.isVisible():
            font = self.style.get("tickFont") or self.font()
            h = 2 * QFontMetrics(font).height() + 2 + self.style["tickTextOffset"][1]
            h += max(0, self.style["tickLength"])
            if self.label.isVisible():
                h += int(self.label.boundingRect().height() * 0.8)
            if h > self.maximumHeight():
                self.setMaximumHeight(h)
                self.setMinimumHeight(h)
                self.picture = None


def compact(value: float) -> str:
    """1234567 -> ``1.23M`` (K, M, B, T); small numbers as they are."""
    if not np.isfinite(value):
        return ""
    for limit, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.3g}" if value else "0"


class CompactAxis(OpaqueGrid, pg.AxisItem):
    """A value axis in K/M/B (volumes)."""

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        return [compact(v * scale) for v in values]


class PriceAxis(OpaqueGrid, pg.AxisItem):
    """A price axis; on a log scale its ticks read as prices (``10K``), not exponents."""

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        if self.logMode:
            return self.logTickStrings(values, scale, spacing)
        if values and max(abs(v * scale) for v in values) >= 10_000 and spacing * scale >= 1:
            return [f"{v * scale:,.0f}" for v in values]  # 140,000 reads faster than 140000
        return super().tickStrings(values, scale, spacing)

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list:
        """On a log scale: 1-2-5 steps of each decade labelled (``200``, ``500``, ``2K``...)
        when there is room, the other whole multiples as unlabelled minor ticks."""
        if not self.logMode or not (np.isfinite(minVal) and np.isfinite(maxVal)):
            return super().tickValues(minVal, maxVal, size)
        lo, hi = sorted((minVal, maxVal))
        decades = range(int(np.floor(lo)), int(np.ceil(hi)) + 1)
        major, minor = [], []
        for d in decades:
            for m in range(1, 10):
                v = d + float(np.log10(m))
                if lo <= v <= hi:
                    (major if m in (1, 2, 5) else minor).append(v)
        if len(major) * 22 > size:  # too tight for 1-2-5: decades only
            minor = sorted(minor + [v for v in major if abs(v - round(v)) > 1e-9])
            major = [v for v in major if abs(v - round(v)) <= 1e-9]
        return [(1.0, major), (None, minor)]

    def logTickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        out = []
        for v in values:
            price = 10.0 ** (v * scale)
            out.append(compact(price) if price >= 1000 else f"{price:.4g}")
        return out
