"""Shared plumbing of panels that run their jobs through one :class:`TaskRunner`."""

from __future__ import annotations

from typing import Any


class RunnerPanelMixin:
    """Start a job with a status message, and report failures the same way in every panel.

    The panel provides ``runner`` (a TaskRunner), ``message`` (a QLabel) and the signals
    ``status(str)`` and ``error(str, str, str)``.
    """

    runner: Any
    message: Any
    status: Any
    error: Any

    def _start(self, fn: Any, label: str, on_done: Any) -> None:
        self._on_done = on_done
        self._say(label + "…")
        self.runner.start(fn, label)

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.status.emit(text)

    def _on_failed(self, message: str, details: str) -> None:
        self._say("Failed: " + message.splitlines()[0][:200])
        self.error.emit(f"{self.runner.label} failed", message, details)
