"""Other numeric series: import, quality report, storage and the causal as-of join."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cryptodesk.data.schema import make_candles
from cryptodesk.errors import CsvImportError, DataError
from cryptodesk.paths import app_paths
from cryptodesk.sentiment.series_import import SeriesStore, join_series, parse_series_csv

T0 = pd.Timestamp("2024-01-01", tz="UTC")


def _csv(rows: list[str], header: str = "time,funding") -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def test_import_quality_report() -> None:
    times = pd.date_range("2024-01-01", periods=40, freq="8h", tz="UTC").delete([10, 11, 12])
    values = np.full(len(times), 0.0001)
    values[::2] = 0.0002
    values[5] = 0.5  # an outlier
    rows = [f"{t.isoformat()},{v}" for t, v in zip(times, values, strict=True)]
    rows.insert(3, rows[3])  # duplicate time
    rows.append("garbage,1")
    rows.append(f"{times[-1] + pd.Timedelta('8h')},n/a")
    frame, report = parse_series_csv(_csv(rows), name="funding")
    assert list(frame.columns) == ["funding"] and frame.index.is_monotonic_increasing
    assert str(frame.index.tz) == "UTC" and frame["funding"].dtype == np.float64
    assert report.spacing == "8h" and report.gaps == 1 and report.longest_gap == "1 days 08:00:00"
    assert report.duplicates == 1 and report.dropped_bad_time == 1
    assert report.missing == {"funding": 1} and report.outliers["funding"] == 1
    text = "\n".join(report.lines())
    assert "gaps (> 1.5 x spacing): 1" in text and "publication delay applied: none" in text


def test_multi_column_names_decimal_comma_and_skipped_text_columns() -> None:
    raw = _csv(["2024-01-01;1,5;10;a", "2024-01-02;2,5;11;b"], header="date;Active Addresses;tx count;note")
    frame, report = parse_series_csv(raw, name="onchain-btc", delay="1d")
    assert list(frame.columns) == ["onchain_btc_active_addresses", "onchain_btc_tx_count"]
    assert frame.iloc[0].tolist() == [1.5, 10.0]
    assert frame.index[0] == pd.Timestamp("2024-01-02", tz="UTC")  # delay applied
    assert any("'note' skipped" in n for n in report.notes)
    assert report.delay == "1d"


def test_period_stamped_daily_series_gets_a_warning() -> None:
    rows = [f"2024-01-{d:02d},{d}" for d in range(1, 20)]
    _, report = parse_series_csv(_csv(rows, "date,trend"), name="trend")
    assert any("--delay 1d" in n for n in report.notes)
    _, report = parse_series_csv(_csv(rows, "date,trend"), name="trend", delay="1d")
    assert not any("--delay 1d" in n for n in report.notes)


@pytest.mark.parametrize(
    ("raw", "kwargs", "match"),
    [
        (b"x,y\n1,2\n", {}, "no time column"),
        (b"time,label\n2024-01-01,abc\n", {}, "no numeric value column"),
        (b"time,v\n2024-01-01,1\n", {"columns": ["w"]}, "no column 'w'"),
        (b"time,v\nnever,1\n", {}, "no row has a parseable time"),
        (b"time,v\n2024-01-01,1\n", {"delay": "-1d"}, "must not be negative"),
        ("time,v\n2024-01-01,\xe9\n".encode("latin-1"), {}, "row 2: not UTF-8"),
    ],
)
def test_series_errors(raw: bytes, kwargs: dict, match: str) -> None:
    with pytest.raises(CsvImportError, match=match):
        parse_series_csv(raw, name="s", source="s.csv", **kwargs)


def _candles(n: int = 48) -> pd.DataFrame:
    idx = pd.date_range(T0, periods=n, freq="h", tz="UTC")
    c = np.linspace(100, 110, n)
    frame = pd.DataFrame({"open": c, "high": c, "low": c, "close": c, "volume": np.ones(n)}, index=idx)
    return make_candles(frame, source="test", symbol="ETH-USD", timeframe="1h")


def test_store_and_causal_join() -> None:
    rows = [f"{(T0 + pd.Timedelta(hours=h)).isoformat()},{h}" for h in range(0, 48, 4)]
    frame, report = parse_series_csv(_csv(rows, "time,oi"), name="oi")
    store = SeriesStore()
    assert store.root == app_paths().data / "series"
    store.write("oi", frame, report, source_file="oi.csv")
    back, meta = store.read("oi")
    pd.testing.assert_frame_equal(back, frame, check_freq=False)
    assert meta["quality"]["rows"] == 12 and store.info("oi").columns == ["oi"]
    joined = join_series(_candles(), "oi")
    # bar opening at 04:00 closes at 05:00: the value stamped 04:00 is known; at 03:00 (close
    # 04:00) it is not, because a value stamped at the close itself is excluded.
    assert joined.loc[T0 + pd.Timedelta("4h"), "oi"] == 4
    assert joined.loc[T0 + pd.Timedelta("3h"), "oi"] == 0
    assert store.delete("oi") and store.names() == []
    with pytest.raises(DataError, match="no imported series"):
        store.read("oi")
