"""pyqtgraph charts by composition: one class per chart row (price, volume, residual, equity,
drawdown, sentiment, volatility), a crosshair that asks each row for its readout, the desk's
session-driven chart, the loss curves, and PNG/SVG export."""
