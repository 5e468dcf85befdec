"""The desktop app (PySide6 + pyqtgraph). The only package allowed to import Qt."""
