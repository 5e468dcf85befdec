"""Keeping saved models current from the model library: the Retrain button and the start-up
offer.

:class:`LibraryRetrain` belongs to the library panel. "Retrain" runs the app layer's
``retrain`` job (:func:`~cryptodesk.app.retrain.retrain_bundle`: the challenger against the
current model on the bars added since the last fit, a DM decision, lineage in the bundle) in a
worker process; the decision and the lineage show in the panel, and the listing is reloaded
with the kept bundle selected. After the first listing with saved models, the
``retrain_suggestions`` job says which are worth retraining (degraded, or newer bars stored);
the Health column shows it and, when there are any, :class:`RetrainOffer`, a bar at the top of
the panel (never a dialog), offers to update the stored series from their exchange and retrain
them. Dismissing it keeps the badges.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

from cryptodesk.gui.compute import JobSlot

if TYPE_CHECKING:
    from cryptodesk.gui.panels.library_panel import LibraryPanel

log = logging.getLogger(__name__)


class RetrainOffer(QFrame):
    """The non-modal offer: a line of text, "Update data && retrain", and a close button.
    Signals ``accepted()`` and ``dismissed()``."""

    accepted = Signal()
    dismissed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("retrainOffer")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.text = QLabel("")
        self.text.setWordWrap(True)
        self.accept_button = QPushButton("Update data && retrain")
        self.accept_button.setToolTip("Fetch newer bars of their series (exchange series; demo "
                                      "and CSV series need an import), then retrain each model "
                                      "that has new bars as a challenger")
        self.close_button = QToolButton()
        self.close_button.setText("✕")
        self.close_button.setToolTip("Dismiss (the Health column keeps the suggestion)")
        self.accept_button.clicked.connect(self.accepted)
        self.close_button.clicked.connect(self._dismiss)
        row = QHBoxLayout(self)
        row.setContentsMargins(6, 3, 3, 3)
        row.addWidget(self.text, 1)
        row.addWidget(self.accept_button, 0, Qt.AlignmentFlag.AlignVCenter)
        row.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignVCenter)
        self.setVisible(False)

    def offer(self, text: str) -> None:
        self.text.setText(text)
        self.setVisible(bool(text))

    def _dismiss(self) -> None:
        self.setVisible(False)
        self.dismissed.emit()


class LibraryRetrain(QObject):
    """Retrain jobs of a library panel (see module docstring). Signals
    ``suggested(list of dicts)``, ``retrained(RetrainResult)``, ``queue_done()``."""

    suggested = Signal(list)
    retrained = Signal(object)
    queue_done = Signal()

    def __init__(self, panel: LibraryPanel) -> None:
        super().__init__(panel)
        self.panel = panel
        self.slot = JobSlot(panel.compute, "retrain", self)
        self.suggest_slot = JobSlot(panel.compute, "retrain suggestions", self)
        self.suggestions: dict[str, dict[str, Any]] = {}
        self.queue: list[str] = []
        self.checked = False  # the start-up check ran (once per app start)
        self._updating = False  # fetching newer bars for the offer
        self.slot.progress.connect(lambda _f, m, _e: m and panel.message.setText(f"Retrain: {m}"))
        self.slot.finished.connect(self._on_retrained)
        self.slot.failed.connect(self._on_failed)
        self.slot.cancelled.connect(lambda _n: self._end_queue("Retrain cancelled."))
        self.suggest_slot.finished.connect(self._on_suggestions)
        self.suggest_slot.failed.connect(
            lambda f: log.warning("retrain suggestions failed: %s", f.message))
        panel.offer.accepted.connect(self.update_and_retrain)
        panel.retrain_button.clicked.connect(self._retrain_selected)
        panel.listed.connect(self._on_listed)

    @property
    def busy(self) -> bool:
        return self.slot.busy or bool(self.queue) or self._updating

    # ---------------------------------------------------------------- suggestions
    def _on_listed(self, listing: Any) -> None:
        if not self.checked and any(b.ok for b in listing.bundles):
            self.check()

    def check(self) -> None:
        """Ask a worker which saved models are worth retraining."""
        self.checked = True
        self.suggest_slot.start("retrain_suggestions", {}, "retrain suggestions")

    def _on_suggestions(self, rows: list[dict[str, Any]]) -> None:
        from cryptodesk.app.retrain_view import offer_text

        self.suggestions = {r["id"]: r for r in rows}
        self.panel.show_health(self.suggestions)
        text = offer_text(rows)
        self.panel.offer.offer(text)
        if text:
            self.panel.status.emit(text + " See the model library.")
        self.suggested.emit(rows)

    # ---------------------------------------------------------------- retraining
    def _retrain_selected(self) -> None:
        info = self.panel.selected_info()
        if info is not None and info.ok:
            self.retrain([info.id])

    def retrain(self, refs: list[str]) -> bool:
        """Retrain ``refs`` one after the other in a worker."""
        if not refs:
            return False
        self.queue = list(refs)
        self._next()
        return True

    def _next(self) -> None:
        if not self.queue:
            self._end_queue("")
            return
        ref = self.queue[0]
        info = next((b for b in self.panel.bundles if b.id == ref), None)
        name = info.label if info is not None and info.label else ref
        self.panel.message.setText(f"Retraining {name} on the newest stored bars…")
        self.panel.retrain_button.setEnabled(False)
        self.slot.start("retrain", {"ref": ref}, f"retrain {name}")

    def _on_retrained(self, result: Any) -> None:
        from cryptodesk.app.retrain_view import result_line

        self.queue = self.queue[1:]
        line = result_line(result)
        self.panel.show_retrain(line)
        self.panel.status.emit(line)
        self.suggestions.pop(result.previous, None)
        self.panel.refresh(select=result.kept)
        self.retrained.emit(result)
        self._next()

    def _on_failed(self, failed: Any) -> None:
        first = failed.message.splitlines()[0][:240] if failed.message else "unknown error"
        self.queue = self.queue[1:]
        self.panel.message.setText(f"Retrain failed: {first}")
        self.panel.error.emit("Retrain failed", first, failed.details)
        self._next()

    def _end_queue(self, text: str) -> None:
        self.queue = []
        self.panel._update_buttons()
        if text:
            self.panel.message.setText(text)
        self.queue_done.emit()

    # ---------------------------------------------------------------- the offer
    def update_and_retrain(self) -> None:
        """Fetch newer bars of the suggested models' exchange series (an I/O thread), check
        again, and retrain every suggested model that has new bars."""
        from cryptodesk.app.retrain_view import LOCAL_SOURCES

        rows = list(self.suggestions.values())
        self.panel.offer.setVisible(False)
        series = {}
        for row in rows:
            info = next((b for b in self.panel.bundles if b.id == row["id"]), None)
            if info is not None and info.source not in LOCAL_SOURCES:
                series[(info.source, info.symbol, info.timeframe)] = None
        if not series:
            self._retrain_suggested(rows, [])
            return
        self._updating = True
        settings = getattr(self.panel.window(), "settings", None)  # the main window's
        options = {source: ({} if settings is None else {
            "api_url": settings.exchange(source).api_url,
            "timeout_ms": settings.exchange(source).timeout_ms}) for source, _s, _t in series}

        def update(ctx: Any) -> list[str]:
            from cryptodesk.data.exchange import fetch_candles
            from cryptodesk.data.store import CandleStore
            from cryptodesk.errors import CryptoDeskError

            store, notes = CandleStore(), []
            for i, (source, symbol, timeframe) in enumerate(series):
                ctx.check_cancelled()
                sub = ctx.child(i / len(series), (i + 1) / len(series), f"{symbol}: ")
                try:
                    got = fetch_candles(store, source, symbol, timeframe, ctx=sub,
                                        **options[source])
                    notes.append(f"{symbol} {timeframe}: {got.added:,} new bars")
                except CryptoDeskError as exc:
                    notes.append(f"{symbol} {timeframe}: not updated ({exc})")
            return notes

        self.panel._start(update, "Updating the stored series", self._on_updated)

    def _on_updated(self, notes: list[str]) -> None:
        self._updating = False
        self.panel.message.setText("Updated: " + "; ".join(notes))
        self.suggested.connect(self._after_update)
        self.check()

    def _after_update(self, rows: list[dict[str, Any]]) -> None:
        self.suggested.disconnect(self._after_update)
        self._retrain_suggested(rows, [])

    def _retrain_suggested(self, rows: list[dict[str, Any]], _notes: list[str]) -> None:
        refs = [r["id"] for r in rows if r.get("new_bars")]
        stale = [r.get("label") or r["id"] for r in rows if not r.get("new_bars")]
        if stale:
            self.panel.status.emit(
                f"Not retrained: {', '.join(stale)}: no bars after the training window in the "
                "store (import or download newer bars first).")
        if not self.retrain(refs) and stale:
            self.panel.message.setText(f"Nothing to retrain on: {', '.join(stale)} "
                                       "ha(s) no newer bars in the store.")

    def cancel(self) -> bool:
        self.queue = self.queue[:1]
        return self.slot.cancel()

    def shutdown(self) -> None:
        self.queue = []
        self.slot.shutdown()
        self.suggest_slot.shutdown()
