"""Light and dark themes: one palette for the widgets (Fusion style) and one for the charts."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication


@dataclass(frozen=True)
class Theme:
    """Colours of one theme (hex strings, as pyqtgraph and QColor take them)."""

    name: str
    window: str
    base: str
    alt_base: str
    text: str
    muted: str
    button: str
    highlight: str
    highlight_text: str
    chart_bg: str
    chart_fg: str
    grid_alpha: float
    up: str
    down: str
    actual: str
    forecast: str
    band: str
    residual: str
    gap: str
    crosshair: str
    loss_train: str
    loss_val: str
    series_colors: tuple[str, ...]
    future: str = "#d97706"
    future_band: str = "#d9770640"
    equity: str = "#2563eb"
    benchmark: str = "#6b7280"
    drawdown: str = "#dc2626"
    regime: str = "#7c3aed1c"
    sentiment: str = "#0891b2"

    @property
    def dark(self) -> bool:
        return self.name == "dark"


LIGHT = Theme(
    name="light", window="#f3f4f6", base="#ffffff", alt_base="#f6f7f9", text="#1f2328",
    muted="#6b7280", button="#e9ebef", highlight="#2f6fdf", highlight_text="#ffffff",
    chart_bg="#ffffff", chart_fg="#3b4048", grid_alpha=0.25, up="#16a34a", down="#dc2626",
    actual="#1f2328", forecast="#2563eb", band="#2563eb40", residual="#7c3aed",
    gap="#f59e0b40", crosshair="#6b7280", loss_train="#2563eb", loss_val="#ea580c",
    series_colors=("#2563eb", "#ea580c", "#7c3aed", "#0891b2", "#db2777", "#65a30d"),
)
DARK = Theme(
    name="dark", window="#2b2d31", base="#35373c", alt_base="#3a3c42", text="#e6e7ea",
    muted="#9ca3af", button="#40424a", highlight="#3b82f6", highlight_text="#ffffff",
    chart_bg="#131417", chart_fg="#c9ccd1", grid_alpha=0.18, up="#22c55e", down="#ef4444",
    actual="#e6e7ea", forecast="#60a5fa", band="#60a5fa45", residual="#c084fc",
    gap="#f59e0b38", crosshair="#9ca3af", loss_train="#60a5fa", loss_val="#fb923c",
    series_colors=("#60a5fa", "#fb923c", "#c084fc", "#22d3ee", "#f472b6", "#a3e635"),
    future="#fbbf24", future_band="#fbbf2438", equity="#60a5fa", benchmark="#9ca3af",
    drawdown="#f87171", regime="#c084fc26", sentiment="#22d3ee",
)
THEMES = {"light": LIGHT, "dark": DARK}


def theme_named(name: str) -> Theme:
    """The theme called ``name`` (light when unknown)."""
    return THEMES.get(name, LIGHT)


def palette_for(theme: Theme) -> QPalette:
    """A full QPalette for the Fusion style."""
    pal = QPalette()
    role = QPalette.ColorRole
    group = QPalette.ColorGroup
    colors = {
        role.Window: theme.window, role.WindowText: theme.text, role.Base: theme.base,
        role.AlternateBase: theme.alt_base, role.ToolTipBase: theme.base,
        role.ToolTipText: theme.text, role.Text: theme.text, role.Button: theme.button,
        role.ButtonText: theme.text, role.BrightText: "#ff5555", role.Highlight: theme.highlight,
        role.HighlightedText: theme.highlight_text, role.Link: theme.highlight,
        role.PlaceholderText: theme.muted, role.Mid: theme.muted,
        role.Light: theme.base if not theme.dark else "#3a3c41",
        role.Midlight: theme.button, role.Dark: "#9aa0a8" if not theme.dark else "#0d0e10",
        role.Shadow: "#7a7f87" if not theme.dark else "#000000",
    }
    for r, c in colors.items():
        pal.setColor(r, QColor(c))
    for r in (role.Text, role.WindowText, role.ButtonText):
        pal.setColor(group.Disabled, r, QColor(theme.muted))
    return pal


def apply_theme(app: QApplication, theme: Theme) -> None:
    """Fusion style with the theme's palette on the whole application."""
    app.setStyle("Fusion")
    app.setPalette(palette_for(theme))
    app.setStyleSheet(
        "QDockWidget::title { padding: 4px 6px; font-weight: 600; }"
        f"QToolTip {{ color: {theme.text}; background: {theme.base}; "
        f"border: 1px solid {theme.muted}; }}"
    )
