"""The desktop app (PySide6 + pyqtgraph). The only package allowed to import Qt.

Importing this package applies :mod:`._pyside_fix` (a work-around for a PySide6 reference-count
bug on Python < 3.12) before any Qt call can run.
"""

from cryptodesk.gui import _pyside_fix  # noqa: F401  (applied on import)
