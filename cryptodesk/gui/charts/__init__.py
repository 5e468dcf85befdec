"""pyqtgraph charts: candles + volume + forecast overlay + residuals, and loss curves."""
