"""CSV import: the real files, the common layouts, fatal errors, and fuzzing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cryptodesk.data.csv_import import parse_candles_csv, read_candles_csv
from cryptodesk.data.schema import meta_of, validate_candles
from cryptodesk.data.store import CandleStore
from cryptodesk.errors import CsvImportError

REAL = {
    "daily/BTC-USD.csv": (3212, "2014-09-17", "2023-07-03", "1d"),
    "daily/ETH-USD.csv": (2063, "2017-11-09", "2023-07-03", "1d"),
    "daily/XRP-USD.csv": (2063, "2017-11-09", "2023-07-03", "1d"),
    "hourly/BTC-USDT-1h.csv": (26_279, "2022-04-29 08:00", "2025-04-28 07:00", "1h"),
    "hourly/ETH-USDT-1h.csv": (26_279, "2022-04-29 08:00", "2025-04-28 07:00", "1h"),
    "hourly/XRP-USDT-1h.csv": (26_279, "2022-04-29 08:00", "2025-04-28 07:00", "1h"),
}


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_files_import_with_counts_ranges_and_gaps(shared_data: Path, name: str) -> None:
    rows, first, last, tf = REAL[name]
    candles, report = read_candles_csv(shared_data / name, symbol=Path(name).stem)
    validate_candles(candles)
    assert len(candles) == rows == report.rows
    assert candles.index[0] == pd.Timestamp(first, tz="UTC")
    assert candles.index[-1] == pd.Timestamp(last, tz="UTC")
    assert meta_of(candles).timeframe == tf == report.timeframe
    assert report.duplicates == 0 and report.missing_values == 0 and report.dropped_rows == 0
    if tf == "1h":
        # Each hourly file has exactly one real gap of one missing hour.
        assert len(report.gaps) == 1 and report.missing_bars == 1
        gap = report.gaps[0]
        assert gap.before - gap.after == pd.Timedelta(hours=2)
        assert gap.after == pd.Timestamp("2023-03-24 12:00", tz="UTC")
    else:
        assert report.gaps == []
    # Yahoo: "Close" is used, never "Adj Close"
    raw = pd.read_csv(shared_data / name)
    close_col = "Close" if "Close" in raw else "close"
    np.testing.assert_allclose(candles.close.to_numpy(), raw[close_col].to_numpy())


def _parse(text: str, **kw: str) -> tuple[pd.DataFrame, object]:
    return parse_candles_csv(text.encode(), name="t.csv", symbol="X", **kw)


HOURS = ["2024-01-01 00:00:00", "2024-01-01 01:00:00", "2024-01-01 02:00:00"]


def test_any_column_order_case_extra_columns_and_semicolons() -> None:
    text = "VOLUME;Close;extra;LOW;Open;High;Date\n" + "\n".join(
        f"{10 + i};{100 + i};x;{99 + i};{100 + i};{101 + i};{t}" for i, t in enumerate(HOURS)
    )
    candles, report = _parse(text)
    assert list(candles.close) == [100, 101, 102] and list(candles.volume) == [10, 11, 12]
    assert report.timeframe == "1h"


@pytest.mark.parametrize("unit,scale", [("s", 1), ("ms", 1000), ("us", 1_000_000)])
def test_epoch_timestamps(unit: str, scale: int) -> None:
    start = int(pd.Timestamp("2024-01-01", tz="UTC").timestamp())
    lines = [f"{(start + 60 * i) * scale},1,2,0.5,1.5,3" for i in range(4)]
    candles, report = _parse("open_time,open,high,low,close,volume\n" + "\n".join(lines))
    assert candles.index[0] == pd.Timestamp("2024-01-01", tz="UTC")
    assert report.timeframe == "1m" and any(f"epoch {unit}" in n for n in report.notes)


def test_time_zones_are_converted_to_utc() -> None:
    text = "timestamp,open,high,low,close,volume\n" + "\n".join(
        f"2024-01-01T0{i}:00:00+02:00,1,2,0.5,1.5,3" for i in range(3)
    )
    candles, report = _parse(text)
    assert candles.index[0] == pd.Timestamp("2023-12-31 22:00", tz="UTC")
    assert not any("assumed UTC" in n for n in report.notes)


def test_cryptodatadownload_layout_with_url_line_and_decimal_commas() -> None:
    text = (
        "https://www.example.com\n"
        "unix;date;symbol;open;high;low;close;Volume BTC;Volume USDT\n"
        "1704067200;2024-01-01 00:00:00;BTC/USDT;42000,5;42100,0;41900,0;42050,25;12,5;525000\n"
        "1704070800;2024-01-01 01:00:00;BTC/USDT;42050,25;42200,0;42000,0;42150,0;10,0;421500\n"
    )
    candles, _ = _parse(text)
    assert candles.close.tolist() == [42050.25, 42150.0]
    assert candles.volume.tolist() == [12.5, 10.0]  # base volume, not quote


def test_duplicates_keep_last_and_bad_bars_reported() -> None:
    text = "date,open,high,low,close,volume\n" + "\n".join([
        "2024-01-01,1,2,0.5,1.5,3",
        "2024-01-02,1,2,0.5,1.5,3",
        "2024-01-02,1,2,0.5,1.7,3",  # duplicate: this one wins
        "2024-01-03,1,0.5,2,1.5,3",  # high < low
        "2024-01-04,1,2,0.5,5,3",  # close above high
        "2024-01-07,-1,2,0.5,1.5,3",  # gap of two days, non-positive open
    ])
    candles, report = _parse(text)
    assert candles.loc["2024-01-02", "close"].item() == 1.7
    assert report.duplicates == 1 and report.high_below_low == 1
    assert report.close_outside_range == 1 and report.non_positive == 1
    assert len(report.gaps) == 1 and report.gaps[0].missing_bars == 2
    assert len(candles) == 5  # nothing invented, nothing silently dropped


def test_unparseable_rows_are_dropped_and_reported_with_line() -> None:
    text = "date,open,high,low,close,volume\n" + "\n".join([
        "2024-01-01,1,2,0.5,1.5,3",
        "2024-01-02,1,2,0.5,abc,3",
        "not a date,1,2,0.5,1.5,3",
        "2024-01-04,1,2,0.5,1.5,3",
        "2024-01-05,1,2,0.5,1.5,3",
    ])
    candles, report = _parse(text, timeframe="1d")
    assert len(candles) == 3 and report.dropped_rows == 2
    assert any("file line 3" in note for note in report.notes)


@pytest.mark.parametrize(
    "text,match",
    [
        ("", "empty"),
        ("open,high,low,close\n1,2,0.5,1.5\n", "no time column"),
        ("date,open,high,low,volume\n2024-01-01,1,2,0.5,3\n", "no close column"),
        ("date,close\nfoo,bar\nbaz,qux\n", "no parseable rows"),
        ("date,close\n", "no data rows"),
        ("just some prose without any delimiters\nmore prose\n", "not a CSV"),
        ("date,close\n2024-01-01,1\n", "timeframe"),
    ],
)
def test_fatal_problems_raise_one_clear_error(text: str, match: str) -> None:
    with pytest.raises(CsvImportError, match=match) as info:
        _parse(text)
    assert "t.csv" in str(info.value)


def test_binary_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(CsvImportError, match="binary"):
        parse_candles_csv(b"\x89PNG\r\n\x1a\n\x00\x00\x00", name="x.png", symbol="X")
    with pytest.raises(CsvImportError, match="cannot read"):
        read_candles_csv(tmp_path / "nope.csv", symbol="X")


_CELL = st.one_of(
    st.text(alphabet="0123456789.,-;eE:TZ+ abc\"", max_size=12),
    st.sampled_from(["2024-01-01", "2024-01-01 01:00:00", "1704067200000", "nan", "", "1e308"]),
)
_LINE = st.lists(_CELL, min_size=0, max_size=8).map(lambda cells: ",".join(cells))
_HEADER = st.lists(
    st.sampled_from(["date", "time", "open", "high", "low", "close", "volume", "x", "Close", ""]),
    min_size=0, max_size=8,
).map(lambda cells: ",".join(cells))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    header=_HEADER,
    lines=st.lists(_LINE, max_size=12),
    junk=st.binary(max_size=64),
    use_junk=st.booleans(),
)
def test_fuzz_importer_raises_only_its_own_error_and_store_unchanged(
    tmp_path: Path, header: str, lines: list[str], junk: bytes, use_junk: bool
) -> None:
    store = CandleStore(tmp_path / "fuzzstore")
    if not store.exists(_key()):
        seed_text = "date,open,high,low,close,volume\n2024-01-01,1,2,0.5,1.5,3\n2024-01-02,1,2,0.5,1.5,3\n"
        store.write(parse_candles_csv(seed_text.encode(), symbol="FUZZ")[0])
    before = store.load(_key())
    raw = junk if use_junk else ("\n".join([header, *lines])).encode()
    try:
        candles, _ = parse_candles_csv(raw, name="fuzz.csv", symbol="FUZZ")
    except CsvImportError:
        after = store.load(_key())
        pd.testing.assert_frame_equal(before, after)
        return
    validate_candles(candles)


def _key():
    from cryptodesk.data.schema import SeriesKey

    return SeriesKey("csv", "FUZZ", "1d")
