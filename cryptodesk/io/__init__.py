"""Reading and writing files other than the candle store: CSV exports, model bundles."""
