"""The app layer: the workflows a user runs, written once and called by both front ends.

The middle floor of the house (see ``docs/architecture.md``): it imports the core (data,
features, models, evaluation, sentiment, io) and is imported by the CLI and the GUI, never the
other way round; it imports no Qt. Its modules:

- :mod:`.ingest`: import CSV files, download from exchanges, list and load stored series;
- :mod:`.runspec` / :mod:`.run`: the JSON run spec and the walk-forward run it describes;
- :mod:`.signals`: trading signals, equity curves, regimes and health from a run's forecasts;
- :mod:`.forecast`: forecasts after the last candle;
- :mod:`.library`: saving, listing and managing model bundles;
- :mod:`.external`: sentiment and other external series as model inputs;
- :mod:`.session`: the Qt-free state of a desk session that the GUI's panels draw;
- :mod:`.jobs`: running any of these as a job in a worker process, with typed events.
"""
