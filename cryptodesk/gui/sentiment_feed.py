"""Keeps the session's sentiment view in step with the series shown and the dataset picked.

Joining a dataset's texts onto the candles reads Parquet and aggregates with pandas (no model),
so it runs in an I/O thread; a stale view (the series or dataset changed meanwhile) is dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from cryptodesk.app.session import Change, Session
from cryptodesk.gui.tasks import TaskRunner


class SentimentFeed(QObject):
    """Signals: ``ready(SentimentView)`` once a view is in the session, ``status(text)``,
    ``error(title, message, details)``."""

    ready = Signal(object)
    status = Signal(str)
    error = Signal(str, str, str)

    def __init__(self, session: Session, dataset: Callable[[], str | None],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session, self._dataset = session, dataset
        self.runner = TaskRunner("sentiment", self)
        self.runner.finished.connect(self._on_view)
        self.runner.failed.connect(self._on_failed)
        session.subscribe(self._on_change, ("series",))

    def _on_change(self, _change: Change) -> None:
        if self._dataset():
            self.update()

    def update(self) -> None:
        """Join the picked dataset onto the series shown (none picked: hide the row)."""
        dataset, series = self._dataset(), self.session.series
        if not dataset or series is None:
            self.runner.cancel()
            self.session.set_sentiment(None)
            return
        frame = series.frame

        def job(ctx: Any) -> Any:
            from cryptodesk.app.external import sentiment_view

            return sentiment_view(frame, dataset, ctx)

        self.runner.start(job, f"sentiment {dataset}")

    def _on_view(self, view: Any) -> None:
        if view.series_key != self.session.key or view.dataset != self._dataset():
            return  # stale: another series or dataset meanwhile
        self.session.set_sentiment(view)
        self.status.emit(f"Sentiment {view.dataset}: columns " + ", ".join(view.feature_columns))
        self.ready.emit(view)

    def _on_failed(self, message: str, details: str) -> None:
        self.session.set_sentiment(None)
        self.error.emit("Cannot use the sentiment dataset", message, details)

    def shutdown(self) -> None:
        self.session.unsubscribe(self._on_change)
        self.runner.shutdown(15_000)
