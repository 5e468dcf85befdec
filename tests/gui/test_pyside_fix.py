"""The PySide6 reference-count work-around keeps long sessions alive (see gui/_pyside_fix.py)."""

from __future__ import annotations

import sys

import pytest

pytestmark = pytest.mark.gui


def test_none_and_true_survive_many_qt_calls(qtbot) -> None:
    from PySide6.QtCore import QObject, Signal

    from cryptodesk.gui import _pyside_fix

    class Pinger(QObject):
        ping = Signal(bool)

    pinger = Pinger()
    pinger.ping.connect(lambda _flag: None)
    for _ in range(20_000):  # more than a small script's references to None/True
        pinger.setObjectName("x")
        pinger.ping.emit(True)
    if sys.version_info < (3, 12) and _pyside_fix.APPLIED:
        assert sys.getrefcount(None) > 2**39 and sys.getrefcount(True) > 2**39
