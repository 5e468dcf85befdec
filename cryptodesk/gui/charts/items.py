"""pyqtgraph items for big candle series: candlesticks, volume bars and gap markers.

Both bar items draw from an :class:`~cryptodesk.gui.charts.levels.OhlcPyramid`: on every
repaint they pick the level that gives each visible bar about two pixels, take only the visible
slice, and draw it as two or four vectorised paths (wicks and bodies per colour) with cosmetic
pens whose width is the bar width in pixels. The paths are cached per (level, slice, scale), so
a pan that stays inside the cached slice costs one ``drawPath``.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QLineF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPen

from cryptodesk.gui.charts.levels import Level, OhlcPyramid

PIXELS_PER_BAR = 1.2
BODY_FRACTION = 0.7
VOLUME_HEADROOM = 1.08  # the tallest volume bar stays below the row's top edge


def _lines(x: np.ndarray, y0: np.ndarray, y1: np.ndarray) -> list[QLineF]:
    """Vertical 1-px lines at pixel columns ``x`` from ``y0`` to ``y1`` (device units)."""
    return [QLineF(a, b, a, c) for a, b, c in zip(x.tolist(), y0.tolist(), y1.tolist(),
                                                   strict=True)]


def _rects(x0: np.ndarray, w: float, y0: np.ndarray, y1: np.ndarray) -> list[QRectF]:
    """Rectangles ``[x0, x0 + w] x [min(y0, y1), max(y0, y1)]`` at least one pixel tall."""
    top = np.minimum(y0, y1)
    height = np.maximum(np.abs(y1 - y0), 1.0)
    return [QRectF(a, b, w, c) for a, b, c in zip(x0.tolist(), top.tolist(), height.tolist(),
                                                  strict=True)]


class _PyramidItem(pg.GraphicsObject):
    """Shared machinery: data, bounds, level choice and path cache."""

    def __init__(self) -> None:
        super().__init__()
        self._pyr: OhlcPyramid | None = None
        self._bounds = QRectF()
        self._cache_key: tuple | None = None
        self._paths: list[tuple[list[QLineF], list[QRectF], QColor]] = []
        self._colors = (QColor("#16a34a"), QColor("#dc2626"))
        self.log_y = False
        # bars the last paint allowed across the view: auto-range must measure the level that
        # is drawn (a coarser level's summed volumes are taller than a finer one's bars)
        self._max_bars = 1000.0
        self.setFlag(self.GraphicsItemFlag.ItemUsesExtendedStyleOption)

    def _bounds_changed(self) -> None:
        try:
            self.informViewBoundsChanged()
        except RuntimeError:  # the item was deleted before the timer fired
            pass

    def setLogMode(self, x: bool, y: bool) -> None:
        """Called by the PlotItem when its axes switch scale: draw log10 of the prices."""
        del x
        if bool(y) != self.log_y:
            self.prepareGeometryChange()
            self.log_y = bool(y)
            self._cache_key = None
            if self._pyr is not None and len(self._pyr):
                self._bounds = self._compute_bounds()
            self.informViewBoundsChanged()
            self.update()

    def _ty(self, a: np.ndarray) -> np.ndarray:
        """``a`` in the view's y units (log10 on a log scale; non-positive values vanish)."""
        if not self.log_y:
            return a
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(a > 0, np.log10(np.where(a > 0, a, 1.0)), np.nan)

    def set_colors(self, up: str, down: str) -> None:
        self._colors = (QColor(up), QColor(down))
        self._cache_key = None
        self.update()

    def set_pyramid(self, pyramid: OhlcPyramid | None) -> None:
        self.prepareGeometryChange()
        self._pyr = pyramid
        self._cache_key = None
        self._bounds = self._compute_bounds() if pyramid is not None and len(pyramid) else QRectF()
        self.informViewBoundsChanged()
        self.update()

    @property
    def pyramid(self) -> OhlcPyramid | None:
        return self._pyr

    def _compute_bounds(self) -> QRectF:  # pragma: no cover - overridden
        raise NotImplementedError

    def _y_extent(self, level: Level, j0: int, j1: int) -> tuple[float, float]:  # pragma: no cover
        raise NotImplementedError

    def _build(self, level: Level, j0: int, j1: int, sx: float, sy: float) -> None:  # pragma: no cover
        raise NotImplementedError

    def boundingRect(self) -> QRectF:
        return self._bounds

    def dataBounds(self, ax: int, frac: float = 1.0, orthoRange=None):
        """Bounds for auto-range; the y extent covers only the bars inside ``orthoRange``."""
        if self._pyr is None or not len(self._pyr):
            return None
        if ax == 0:
            return (self._bounds.left(), self._bounds.right())
        if orthoRange is None:
            return (self._bounds.top(), self._bounds.bottom())
        level, j0, j1 = self._pyr.pick(orthoRange[0], orthoRange[1], self._max_bars)
        return self._y_extent(level, j0, j1)

    def paint(self, p: QPainter, *args) -> None:
        """Draw in device pixels: 1-px wick lines and filled body rectangles.

        Wide cosmetic pens and transformed paths send Qt's raster engine through its slow
        stroker; axis-aligned lines and rectangles in device coordinates take its fast paths.
        """
        if self._pyr is None or not len(self._pyr):
            return
        view = self.viewRect()
        if view is None:
            return
        tr = p.transform()
        sx, sy, dx, dy = tr.m11(), tr.m22(), tr.dx(), tr.dy()
        if sx == 0 or sy == 0:
            return
        width_px = max(1.0, view.width() * abs(sx))
        max_bars = width_px / PIXELS_PER_BAR
        if abs(max_bars - self._max_bars) > 1:  # resized: auto-range must follow the new level
            self._max_bars = max_bars
            # not from inside a paint: the view re-ranges once this frame is drawn
            QTimer.singleShot(0, self._bounds_changed)
        level, j0, j1 = self._pyr.pick(view.left(), view.right(), max_bars)
        key = (id(level), j0, j1, sx, sy, self.log_y)
        if key != self._cache_key:
            self._build(level, j0, j1, sx, sy)
            self._cache_key = key
        p.save()
        p.resetTransform()
        p.translate(dx, dy)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        for lines, rects, color in self._paths:
            if lines:
                pen = QPen(color)
                pen.setWidth(0)
                p.setPen(pen)
                p.drawLines(lines)
            if rects:
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(color)
                p.drawRects(rects)
        p.restore()



class CandlestickItem(_PyramidItem):
    """Candlesticks: green/red bodies from open to close, wicks from low to high."""

    def _compute_bounds(self) -> QRectF:
        base = self._pyr.base  # type: ignore[union-attr]
        top = self._pyr.levels[-1]  # type: ignore[union-attr]
        lo, hi = float(np.nanmin(top.low)), float(np.nanmax(top.high))
        if self.log_y:  # the smallest positive low: log10 of zero has no place on the axis
            positive = top.low[top.low > 0]
            lo = float(np.log10(positive.min())) if positive.size else 0.0
            hi = float(np.log10(hi)) if hi > 0 else lo + 1.0
        x0, x1 = float(base.x[0]), float(base.x[-1]) + base.width
        return QRectF(x0 - base.width, lo, x1 - x0 + 2 * base.width, max(hi - lo, 1e-9))

    def _y_extent(self, level: Level, j0: int, j1: int) -> tuple[float, float] | None:
        if j1 <= j0:
            return None
        low, high = self._ty(level.low[j0:j1]), self._ty(level.high[j0:j1])
        lo = np.nanmin(low) if np.isfinite(low).any() else np.nan
        hi = np.nanmax(high) if np.isfinite(high).any() else np.nan
        if not (np.isfinite(lo) and np.isfinite(hi)):
            return None
        return (float(lo), float(hi))

    def _build(self, level: Level, j0: int, j1: int, sx: float, sy: float) -> None:
        # device units relative to the painter's translation: x' = sx * x, y' = sy * y
        xc = np.round((level.x[j0:j1] + level.width / 2) * sx) + 0.5
        o, h, lo, c = (a[j0:j1] for a in (level.open, level.high, level.low, level.close))
        up = c >= o
        o, h, lo, c = (self._ty(a) for a in (o, h, lo, c))
        ok = np.isfinite(o) & np.isfinite(h) & np.isfinite(lo) & np.isfinite(c)
        body = BODY_FRACTION * level.width * abs(sx)
        self._paths = []
        for mask, color in ((ok & up, self._colors[0]), (ok & ~up, self._colors[1])):
            if not mask.any():
                continue
            x = xc[mask]
            lines = _lines(x, lo[mask] * sy, h[mask] * sy)
            rects = []
            if body >= 2.5:
                w = float(np.floor(body))
                rects = _rects(x - 0.5 - np.floor(w / 2), w, o[mask] * sy, c[mask] * sy)
            self._paths.append((lines, rects, color))


class VolumeItem(_PyramidItem):
    """Volume bars from zero, coloured by the candle's direction. Zoomed out, a merged bar is
    as tall as the largest bar it stands for (peak downsampling, as the candles' wicks): the
    axis keeps reading volume per bar, and no spike is hidden."""

    def _compute_bounds(self) -> QRectF:
        base = self._pyr.base  # type: ignore[union-attr]
        top = self._pyr.levels[-1]  # type: ignore[union-attr]
        hi = float(np.nanmax(top.peak_volume)) if np.isfinite(top.peak_volume).any() else 1.0
        x0, x1 = float(base.x[0]), float(base.x[-1]) + base.width
        return QRectF(x0 - base.width, 0.0, x1 - x0 + 2 * base.width, max(hi, 1e-9))

    def _y_extent(self, level: Level, j0: int, j1: int) -> tuple[float, float] | None:
        part = level.peak_volume[j0:j1]
        if not np.isfinite(part).any():
            return None
        return (0.0, float(np.nanmax(part)) * VOLUME_HEADROOM)

    def _build(self, level: Level, j0: int, j1: int, sx: float, sy: float) -> None:
        xc = np.round((level.x[j0:j1] + level.width / 2) * sx) + 0.5
        o, c, v = level.open[j0:j1], level.close[j0:j1], level.peak_volume[j0:j1]
        ok = np.isfinite(v)
        bar = 0.8 * level.width * abs(sx)
        self._paths = []
        for mask, color in ((ok & (c >= o), self._colors[0]), (ok & (c < o), self._colors[1])):
            if not mask.any():
                continue
            col = QColor(color)
            col.setAlpha(160)
            x, y = xc[mask], v[mask] * sy
            if bar >= 2.5:
                w = float(np.floor(bar))
                self._paths.append(([], _rects(x - 0.5 - np.floor(w / 2), w, np.zeros_like(y), y),
                                    col))
            else:
                self._paths.append((_lines(x, np.zeros_like(y), y), [], col))


class GapsItem(pg.GraphicsObject):
    """Shaded vertical bands over missing stretches of a series (from the quality report)."""

    def __init__(self, color: str = "#f59e0b40") -> None:
        super().__init__()
        self._x0 = np.array([])
        self._x1 = np.array([])
        self._level = np.array([], dtype=np.int64)
        self._brush = pg.mkBrush(color)
        self._brushes: list[object] = []
        self._bounds = QRectF()

    def set_color(self, color: str) -> None:
        self._brush = pg.mkBrush(color)
        self.update()

    def set_gaps(self, x0: np.ndarray, x1: np.ndarray) -> None:
        self.prepareGeometryChange()
        self._x0, self._x1 = np.asarray(x0, float), np.asarray(x1, float)
        if self._x0.size:
            self._bounds = QRectF(float(self._x0.min()), 0.0,
                                  float(self._x1.max() - self._x0.min()), 0.0)
        else:
            self._bounds = QRectF()
        self.update()

    @property
    def count(self) -> int:
        return int(self._x0.size)

    def boundingRect(self) -> QRectF:
        view = self.viewRect()
        if view is None or not self._x0.size:
            return QRectF()
        return QRectF(self._bounds.left(), view.top(), max(self._bounds.width(), 1e-9),
                      view.height())

    def dataBounds(self, ax: int, frac: float = 1.0, orthoRange=None):
        return None  # never drives auto-range

    def viewRangeChanged(self) -> None:
        self.prepareGeometryChange()
        super().viewRangeChanged()

    def paint(self, p: QPainter, *args) -> None:
        view = self.viewRect()
        if view is None or not self._x0.size:
            return
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(self._brush)
        sel = (self._x1 >= view.left()) & (self._x0 <= view.right())
        px = abs(p.deviceTransform().m11()) or 1.0
        min_w = 3.0 / px  # at least 3 px wide, or a one-bar gap vanishes when zoomed out
        levels = self._level[sel][:2000] if self._level.size == self._x0.size else None
        for i, (a, b) in enumerate(zip(self._x0[sel][:2000], self._x1[sel][:2000], strict=True)):
            if levels is not None and self._brushes:
                p.setBrush(self._brushes[min(int(levels[i]), len(self._brushes)) - 1])
            w = max(b - a, min_w)
            p.drawRect(QRectF(a - (w - (b - a)) / 2, view.top(), w, view.height()))


class RegimeItem(GapsItem):
    """Shaded spans of the calmer-than-turbulent regimes: level 1 light, the top level darker."""

    def __init__(self, color: str = "#7c3aed22") -> None:
        super().__init__(color)
        self.set_color(color)

    def set_color(self, color: str) -> None:
        base = pg.mkColor(color)  # "#RRGGBBAA" (QColor would read "#AARRGGBB")
        self._brushes = []
        for k in (1, 2, 3):
            c = QColor(base)
            c.setAlpha(min(255, base.alpha() * k))
            self._brushes.append(pg.mkBrush(c))
        super().set_color(color)

    def set_spans(self, x0: np.ndarray, x1: np.ndarray, level: np.ndarray) -> None:
        self._level = np.asarray(level, dtype=np.int64)
        self.set_gaps(x0, x1)
