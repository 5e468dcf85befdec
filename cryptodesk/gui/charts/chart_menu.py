"""The chart's right-click menu: reset zoom, log price scale, legends, rows shown, copy the values
at the cursor, export with a title.

It opens on a right *click* (press and release without a drag), which pyqtgraph's scene
reports by ``sigMouseClicked``, so right-drag zooming keeps working. Every entry calls a public
method of :class:`~cryptodesk.gui.charts.chart_widget.ChartWidget`; the menu holds no state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtWidgets import QMenu

if TYPE_CHECKING:
    from cryptodesk.gui.charts.chart_widget import ChartWidget


def build_menu(chart: ChartWidget, scene_pos: QPointF | None) -> QMenu:
    """The menu for a click at ``scene_pos`` (None: no cursor position, nothing to copy)."""
    menu = QMenu(chart.glw)
    menu.setObjectName("chartMenu")
    menu.addAction("Reset zoom (Home)", chart.show_all)
    log = menu.addAction("Log price scale (L)")
    log.setCheckable(True)
    log.setChecked(chart.log_scale)
    log.toggled.connect(chart.set_log_scale)
    legends = menu.addAction("Show legends")
    legends.setCheckable(True)
    legends.setChecked(chart.legends_shown)
    legends.toggled.connect(chart.set_legends_shown)
    rows = menu.addMenu("Rows")
    rows.setObjectName("chartRowsMenu")
    lead = chart.lead
    for row in chart.rows.values():
        act = rows.addAction(row.title or row.name)
        act.setCheckable(True)
        act.setChecked(not row.hidden)
        act.setEnabled(row is not lead)  # the price row leads the time axis: always there
        act.toggled.connect(lambda on, name=row.name: chart.set_row_hidden(name, not on))
    menu.addSeparator()
    copy = menu.addAction("Copy values at cursor")
    at = None if scene_pos is None else chart.cursor_at(scene_pos)
    copy.setEnabled(at is not None)
    if at is not None:
        copy.triggered.connect(lambda _=False: chart.copy_values(*at))
    menu.addSeparator()
    menu.addAction("Export chart as PNG…", lambda: chart.ask_export(".png"))
    menu.addAction("Export chart as SVG…", lambda: chart.ask_export(".svg"))
    return menu


def install_chart_menu(chart: ChartWidget) -> Callable[[Any], None]:
    """Right-click (no drag) on the chart opens :func:`build_menu`. Returns the handler
    (tests call it with a click event)."""

    def on_click(event: Any) -> None:
        if event.button() != Qt.MouseButton.RightButton:
            return
        scene_pos = event.scenePos() if hasattr(event, "scenePos") else None
        menu = build_menu(chart, scene_pos)
        pos = event.screenPos()
        menu.popup(QPoint(int(pos.x()), int(pos.y())))
        chart.glw._export_menu = menu  # type: ignore[attr-defined]  (kept alive while open)

    chart.glw.scene().sigMouseClicked.connect(on_click)
    return on_click
