"""Chart images that say what they show: a title band (symbol, timeframe, models, date range)
above the plots, in PNG or SVG.

A bare exported chart travels without its window: a reader of a report or a chat message
cannot tell the symbol, the timeframe or which model the lines are. The PNG is pyqtgraph's
image with a band painted above it; the SVG is pyqtgraph's document (with the ``Z`` fix of
:mod:`cryptodesk.gui.charts.export`) shifted down under a ``<text>`` title.
"""

from __future__ import annotations

import re
from html import escape
from pathlib import Path
from typing import Any

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter

from cryptodesk.atomic import write_bytes_atomic
from cryptodesk.gui.charts.export import _patch_svg_exporter

TITLE_PX = 24
SUBTITLE_PX = 18
PAD = 8


def header_height() -> int:
    return PAD + TITLE_PX + SUBTITLE_PX + PAD // 2


def export_titled(item: Any, path: str | Path, title: str, subtitle: str,
                  background: str = "#ffffff", foreground: str = "#111827",
                  width: int | None = None) -> Path:
    """Write ``item`` (a GraphicsLayout or PlotItem) to ``path`` with ``title`` and
    ``subtitle`` above it; ``.svg`` writes a vector file, anything else a PNG. Returns the
    path written (atomically)."""
    import pyqtgraph.exporters as pgx

    path = Path(path)
    if path.suffix.lower() == ".svg":
        _patch_svg_exporter()
        svg = pgx.SVGExporter(item).export(toBytes=True).decode("utf-8")
        write_bytes_atomic(path, _svg_with_title(svg, title, subtitle, foreground).encode())
        return path
    if path.suffix.lower() != ".png":
        path = path.with_suffix(".png")
    exporter = pgx.ImageExporter(item)
    if width:
        exporter.parameters()["width"] = int(width)
    image: QImage = exporter.export(toBytes=True)
    out = QImage(image.width(), image.height() + header_height(), QImage.Format.Format_RGB32)
    out.fill(QColor(background))
    painter = QPainter(out)
    try:
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
        painter.setPen(QColor(foreground))
        font = QFont()
        font.setPixelSize(TITLE_PX - 8)
        font.setBold(True)
        painter.setFont(font)
        flags = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        painter.drawText(QRectF(PAD, PAD, out.width() - 2 * PAD, TITLE_PX), flags, title)
        font.setBold(False)
        font.setPixelSize(SUBTITLE_PX - 6)
        painter.setFont(font)
        painter.drawText(QRectF(PAD, PAD + TITLE_PX, out.width() - 2 * PAD, SUBTITLE_PX), flags,
                         subtitle)
        painter.drawImage(0, header_height(), image)
    finally:
        painter.end()
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice

    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not out.save(buffer, "PNG"):
        raise OSError(f"cannot encode the chart as PNG for {path}")
    write_bytes_atomic(path, bytes(data.data()))
    return path


def _svg_with_title(svg: str, title: str, subtitle: str, foreground: str) -> str:
    """pyqtgraph's SVG with the plots moved down and a title band above them."""
    h = header_height()
    box = re.search(r'viewBox\s*="0 0 (\d+) (\d+)"', svg)
    if box is None:  # not the document pyqtgraph writes: leave it untitled rather than broken
        return svg
    width, height = int(box.group(1)), int(box.group(2))
    svg = svg.replace(box.group(0), f'viewBox ="0 0 {width} {height + h}"', 1)
    defs_end = svg.find("</defs>")
    close = svg.rfind("</svg>")
    if defs_end < 0 or close < 0:
        return svg
    defs_end += len("</defs>")
    text = (f'<text x="{PAD}" y="{PAD + TITLE_PX - 8}" font-family="sans-serif" '
            f'font-size="{TITLE_PX - 8}" font-weight="bold" fill="{foreground}">'
            f"{escape(title)}</text>\n"
            f'<text x="{PAD}" y="{PAD + TITLE_PX + SUBTITLE_PX - 6}" font-family="sans-serif" '
            f'font-size="{SUBTITLE_PX - 6}" fill="{foreground}">{escape(subtitle)}</text>\n')
    return (svg[:defs_end] + "\n" + text + f'<g transform="translate(0,{h})">'
            + svg[defs_end:close] + "</g>\n" + svg[close:])
