"""Work around a reference-count bug of PySide6 6.12 on Python < 3.12.

This PySide6 build hands Python ``None`` (every Qt method returning ``void``) and ``True``
(every ``Signal.emit``) without taking a reference, as if they were immortal, which they are
only from Python 3.12 on. Each call lowers the object's reference count by one; after some
hundred thousand repaints or signals it reaches zero and the interpreter aborts with ``Fatal
Python error: none_dealloc`` (or ``bool_dealloc``). Measured here: 1,000 ``QPainter.translate``
calls lower ``None``'s count by 1,000, and 1,000 signal emissions lower ``True``'s by 1,000.

The fix makes ``None``, ``True`` and ``False`` practically immortal, as Python 3.12 does: each
reference count is raised once by 2**40, which no run can exhaust. It is applied only when the
leak is detected, and never on Python 3.12+, where these objects are immortal already.
"""

from __future__ import annotations

import sys

BUMP = 1 << 40
PROBES = 200


def leaked_singletons() -> list[str]:
    """Which of None/True lose a reference per void call / signal emission in this PySide6."""
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        ping = Signal()

    probe = _Probe()
    out = []
    before = sys.getrefcount(None)
    for _ in range(PROBES):
        probe.setObjectName("probe")
    if sys.getrefcount(None) < before - PROBES // 2:
        out.append("None")
    before = sys.getrefcount(True)
    for _ in range(PROBES):
        probe.ping.emit()
    if sys.getrefcount(True) < before - PROBES // 2:
        out.append("True")
    return out


def make_singletons_immortal() -> list[str]:
    """Apply the work-around if needed; returns what leaked (empty: nothing was changed)."""
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return []
    leaked = leaked_singletons()
    if leaked:
        import ctypes

        for obj in (None, True, False):
            ctypes.c_ssize_t.from_address(id(obj)).value += BUMP
    return leaked


APPLIED = make_singletons_immortal()
