"""Candle data: canonical schema, CSV import, quality checks, local store, demo series,
resampling and (in :mod:`cryptodesk.data.exchange`) exchange downloads."""
