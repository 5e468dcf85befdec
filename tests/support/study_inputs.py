"""A small study's inputs shared by the app-layer and GUI study tests: two synthetic daily
series written as CSV files beside a ``study.toml`` whose protocol, series and first models
are common, and whose name, extra models and comparisons each test picks."""

from __future__ import annotations

from pathlib import Path

SERIES = (("AAA", 11), ("BBB", 12))

_HEAD = """
name = "{name}"
seeds = [0, 1]

[protocol]
test_size = 24
refit_every = 24

[[series]]
csv = "AAA.csv"
symbol = "AAA-USD"
timeframe = "1d"

[[series]]
csv = "BBB.csv"
symbol = "BBB-USD"
timeframe = "1d"

[[models]]
name = "drift"

[[models]]
name = "lightgbm"
config = {{ n_estimators = 15 }}
"""


def study_spec(name: str, rest: str) -> str:
    """The spec text: the common head (2 series; drift and a small LightGBM; 2 seeds), then
    ``rest`` (more models, the comparisons)."""
    return _HEAD.format(name=name) + rest


def write_study_inputs(folder: Path, spec: str, bars: int) -> Path:
    """Write the two series (``bars`` daily candles each) and ``study.toml`` into ``folder``."""
    from cryptodesk.data.demo import generate_demo
    from cryptodesk.io.csv_export import write_candles_csv

    folder.mkdir(parents=True, exist_ok=True)
    for name, seed in SERIES:
        write_candles_csv(generate_demo("1d", bars=bars, seed=seed), folder / f"{name}.csv")
    (folder / "study.toml").write_text(spec, encoding="utf-8")
    return folder
