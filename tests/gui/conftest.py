"""Fixtures for the GUI tests: a main window on the test's empty CryptoDesk home."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture
def window(qtbot) -> Iterator[object]:
    """The main window after start-up: demo series written, listed and loaded."""
    from cryptodesk.gui.app import application, create_window, init_logging

    init_logging()
    app = application()
    win = create_window(app)
    qtbot.addWidget(win)
    win.resize(1440, 900)
    win.show()
    qtbot.waitUntil(lambda: win.data_panel.current is not None
                    and win.training.wf_form is not None, timeout=15_000)
    yield win
    win.close()
