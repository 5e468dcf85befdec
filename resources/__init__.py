"""Files that ship with CryptoDesk (icons, desktop entry, metainfo, lexicons, stylesheets).

They live in the repository's top-level ``resources/`` folder, which setup.py maps into the
package as ``cryptodesk.resources``: so they are in the wheel (``package-data``) and in the
PyInstaller bundle (the spec stages this folder at ``cryptodesk/resources``) and are found the
same way everywhere: relative to this module's file. Use :func:`resource_path`; never build
paths from the current directory.
"""

from __future__ import annotations

from pathlib import Path

RESOURCES = Path(__file__).resolve().parent


def resource_path(*parts: str) -> Path:
    """Absolute path of a shipped resource; raises FileNotFoundError naming it if missing."""
    path = RESOURCES.joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"CryptoDesk resource missing: {'/'.join(parts)} (looked in {RESOURCES})")
    return path


def icon_path(size: int | None = None) -> Path:
    """The app icon: the SVG, or the PNG of ``size`` pixels (16 ... 512)."""
    if size is None:
        return resource_path("icons", "cryptodesk.svg")
    return resource_path("icons", f"cryptodesk-{size}.png")
