"""Export any chart as PNG or SVG (pyqtgraph's ImageExporter / SVGExporter).

pyqtgraph 0.14's SVGExporter rewrites the path data Qt writes and expects every token to be a
coordinate pair; Qt 6.12 closes paths with a bare ``Z`` and the exporter fails (``ValueError:
not enough values to unpack``). :func:`_patch_svg_exporter` wraps its coordinate correction:
the ``Z`` tokens are taken out before and put back after, at the same places. (Qt's own
QSvgGenerator is no way out: pyqtgraph items that clip and draw in device pixels come out
misplaced.)

:func:`install_export_menu` gives a chart a right-click menu with "Export chart as PNG/SVG…"
without disturbing right-drag zooming: the menu opens on a right *click* (press and release
without a drag), which pyqtgraph's scene reports by ``sigMouseClicked``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QFileDialog, QMenu, QWidget

FILTERS = "PNG image (*.png);;SVG drawing (*.svg)"


def export_item(item: Any, path: str | Path, width: int | None = None) -> Path:
    """Write ``item`` (a PlotItem or a GraphicsLayout) to ``path``; the suffix picks the format
    (``.svg``: vector, anything else: PNG). Returns the path written."""
    import pyqtgraph.exporters as pgx

    path = Path(path)
    if path.suffix.lower() == ".svg":
        _patch_svg_exporter()
        exporter = pgx.SVGExporter(item)
    else:
        if path.suffix.lower() != ".png":
            path = path.with_suffix(".png")
        exporter = pgx.ImageExporter(item)
        if width:
            exporter.parameters()["width"] = int(width)
    exporter.export(str(path))
    return path


def _patch_svg_exporter() -> None:
    """Make pyqtgraph's SVG coordinate correction accept Qt 6's ``Z`` (close path) tokens."""
    import importlib

    # the package re-exports the class under the module's name: fetch the module itself
    module = importlib.import_module("pyqtgraph.exporters.SVGExporter")
    original = module.correctCoordinates
    if getattr(original, "_cryptodesk_patched", False):
        return

    def correct(node: Any, defs: Any, item: Any, options: Any) -> Any:
        closes: list[tuple[Any, list[int]]] = []
        for path in node.getElementsByTagName("path"):
            tokens = path.getAttribute("d").split()
            if "Z" not in tokens and "z" not in tokens:
                continue
            where, kept = [], []
            for tok in tokens:
                if tok in ("Z", "z"):
                    where.append(len(kept) - 1)
                else:
                    kept.append(tok)
            path.setAttribute("d", " ".join(kept))
            closes.append((path, where))
        result = original(node, defs, item, options)
        for path, where in closes:
            tokens = path.getAttribute("d").split()
            for i in sorted(where, reverse=True):
                if 0 <= i < len(tokens):
                    tokens.insert(i + 1, "Z")
            path.setAttribute("d", " ".join(tokens))
        return result

    correct._cryptodesk_patched = True  # type: ignore[attr-defined]
    module.correctCoordinates = correct


def ask_export(parent: QWidget, item: Any, name: str, on_done: Callable[[Path], None] | None = None,
               suffix: str = ".png") -> Path | None:
    """Ask for a file name and export ``item`` there."""
    start = str(Path.home() / f"{name}{suffix}")
    chosen = FILTERS if suffix == ".png" else ";;".join(reversed(FILTERS.split(";;")))
    path, selected = QFileDialog.getSaveFileName(parent, f"Export {name}", start, chosen)
    if not path:
        return None
    if not Path(path).suffix:
        path += ".svg" if "svg" in selected.lower() else ".png"
    out = export_item(item, path)
    if on_done is not None:
        on_done(out)
    return out


def install_export_menu(view: QWidget, item: Any, name: str,
                        on_done: Callable[[Path], None] | None = None) -> Callable[[Any], None]:
    """Right-click (no drag) on ``view``'s scene opens "Export chart as PNG/SVG…" for ``item``.
    Returns the handler (tests call it with a fake event)."""

    def on_click(event: Any) -> None:
        if event.button() != Qt.MouseButton.RightButton:
            return
        menu = QMenu(view)
        menu.setObjectName("chartExportMenu")
        menu.addAction("Export chart as PNG…",
                       lambda: ask_export(view, item, name, on_done, ".png"))
        menu.addAction("Export chart as SVG…",
                       lambda: ask_export(view, item, name, on_done, ".svg"))
        pos = event.screenPos()
        menu.popup(QPoint(int(pos.x()), int(pos.y())))
        view._export_menu = menu  # type: ignore[attr-defined]  (kept alive while open)

    view.scene().sigMouseClicked.connect(on_click)
    return on_click
