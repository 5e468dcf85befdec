"""The shared time parser (candles, texts, series) and the bounded timeframe names."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cryptodesk.data.timeframes import (
    MAX_SECONDS,
    normalize_timeframe,
    timeframe_delta,
    timeframe_seconds,
)
from cryptodesk.data.timeparse import TimeRange, line_list, parse_times
from cryptodesk.errors import DataError

NOW = pd.Timestamp("2025-06-01 12:00", tz="UTC")
BOUNDS = TimeRange.default(now=NOW)  # 1970-01-01 .. 2025-06-03 12:00


def _ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def _arrow(csv_body: str) -> pa.ChunkedArray:
    """The time column exactly as the candle importer gets it from pyarrow."""
    return pacsv.read_csv(pa.BufferReader(("t\n" + csv_body).encode())).column(0)


def test_default_range_is_1970_to_now_plus_two_days() -> None:
    assert BOUNDS.earliest == _ts("1970-01-01")
    assert BOUNDS.latest == _ts("2025-06-03 12:00")
    assert BOUNDS.describe() == "1970-01-01 .. 2025-06-03 12:00 UTC"
    live = TimeRange.default()
    assert pd.Timestamp.now(tz="UTC") < live.latest <= pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=2)


@pytest.mark.parametrize(
    ("values", "reading", "first", "second"),
    [
        ([20240101, 20240102, 20240103], "YYYYMMDD", "2024-01-01", "2024-01-02"),
        (["20240131", "20240201"], "YYYYMMDD", "2024-01-31", "2024-02-01"),
        ([1704067200, 1704067260], "epoch s", "2024-01-01 00:00", "2024-01-01 00:01"),
        ([1704067200000, 1704070800000], "epoch ms", "2024-01-01 00:00", "2024-01-01 01:00"),
        ([1704067200000000, 1704153600000000], "epoch us", "2024-01-01", "2024-01-02"),
        ([1704067200000000000, 1704067201000000000], "epoch ns", "2024-01-01", "2024-01-01 00:00:01"),
        # 1e9 s is 2001; read as ms it would be 1970-01-12 with 86.4 s steps: not a timeframe
        ([1_000_000_000, 1_000_086_400], "epoch s", "2001-09-09 01:46:40", "2001-09-10 01:46:40"),
        (["2024-01-01T00:00:00+02:00", "2024-01-01T01:00:00+02:00"], "ISO-8601", "2023-12-31 22:00", "2023-12-31 23:00"),
    ],
)
def test_each_reading_is_chosen_where_it_fits(values: list, reading: str, first: str, second: str) -> None:
    parsed = parse_times(values, bounds=BOUNDS)
    assert parsed.reading.startswith(reading)
    assert list(parsed.index[:2]) == [_ts(first), _ts(second)]
    assert parsed.ok.all()


def test_compact_dates_are_dates_even_when_some_are_out_of_range() -> None:
    # 8-digit numbers are also valid epoch seconds (all in 1970-1973, 1 s apart): the reading
    # that lands after 1990 on a calendar wins, and 9999-01-03 is out of range, not 1970.
    parsed = parse_times([20240101, 20240102, 99990103], bounds=BOUNDS, subject="time stamps")
    assert parsed.reading.startswith("YYYYMMDD")
    assert parsed.index[1] == _ts("2024-01-02")
    assert parsed.too_late.tolist() == [False, False, True]
    assert "time stamps are YYYYMMDD dates (daily, UTC midnight)" in parsed.notes


def test_impossible_calendar_days_are_unparseable_not_shifted() -> None:
    days = [20240120 + d for d in range(10)] + [20240230, 20240301]  # 30 February among dates
    parsed = parse_times(days, bounds=BOUNDS)
    assert parsed.reading.startswith("YYYYMMDD")
    assert parsed.unparseable.tolist() == [False] * 10 + [True, False]
    assert parsed.index[-1] == _ts("2024-03-01")


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("9999-01-03", "late"), ("2300-05-01T00:00:00Z", "late"), ("2099-01-01", "late"),
        ("0001-01-01", "early"), ("1969-12-31T23:59:59Z", "early"),
        (-1, "early"), (10**22, "late"), (1e300, "late"),
        ("not a time", "bad"), (None, "bad"), ({"a": 1}, "bad"), ([1, 2], "bad"), (True, "bad"),
        (float("nan"), "bad"), (float("inf"), "bad"),
        pytest.param(10**5000, "bad", id="5000-digit-int"), pytest.param("1" * 5000, "bad", id="5000-digits"),
    ],
)
def test_values_outside_the_range_or_unparseable_are_flagged_never_raised(value: object, kind: str) -> None:
    parsed = parse_times([value, "2024-01-01"] if isinstance(value, str) or value is None else [value],
                         bounds=BOUNDS)
    flags = {"late": parsed.too_late[0], "early": parsed.too_early[0], "bad": parsed.unparseable[0]}
    assert [k for k, v in flags.items() if v] == [kind]
    assert parsed.index[0] is pd.NaT


@pytest.mark.parametrize(
    ("body", "expected", "kind"),
    [
        ("9999-01-03\n2024-01-01\n", "2024-01-01", [True, False]),  # date32
        ("2024-01-01 00:00:00\n9999-12-31 23:59:59\n", "2024-01-01", [False, True]),  # timestamp[s]
        ("0001-01-01\n2024-01-01\n", "2024-01-01", [True, False]),
        ("2024-01-01T00:00:00.123456789\n", "2024-01-01 00:00:00.123456789", [False]),
        ("20240101\n20240102\n", "2024-01-01", [False, False]),  # int64
    ],
)
def test_typed_arrow_columns_never_overflow_nanoseconds(body: str, expected: str, kind: list[bool]) -> None:
    parsed = parse_times(_arrow(body), bounds=BOUNDS)
    assert parsed.out_of_range.tolist() == kind
    assert parsed.index[parsed.ok][0] == _ts(expected)


def test_millisecond_epochs_with_gaps_stay_exact() -> None:
    parsed = parse_times(["1704067200123", None, "1704067201123"], bounds=BOUNDS)
    ok = parsed.index[parsed.ok]
    assert list(ok) == [_ts("2024-01-01 00:00:00.123"), _ts("2024-01-01 00:00:01.123")]
    assert parsed.unparseable.tolist() == [False, True, False]


def test_naive_times_are_noted_and_zoned_ones_are_not() -> None:
    assert "times have no time zone: assumed UTC" in parse_times(["2024-01-01"], bounds=BOUNDS).notes
    assert parse_times(["2024-01-01T00:00:00Z"], bounds=BOUNDS).notes == []


def test_line_list() -> None:
    assert line_list([3, 4]) == "3, 4"
    assert line_list(range(1, 16), limit=3) == "1, 2, 3 and 12 more"


_VALUE = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=30),
    st.integers(10_000_101, 99_991_231), st.integers(-10**20, 10**20).map(str),
    st.datetimes(timezones=st.none()).map(lambda d: d.isoformat()),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@settings(max_examples=120, deadline=None)
@given(values=st.lists(_VALUE, max_size=30))
def test_fuzz_parse_times_partitions_every_value(values: list[object]) -> None:
    parsed = parse_times(values, bounds=BOUNDS)
    masks = np.vstack([parsed.ok, parsed.unparseable, parsed.too_early, parsed.too_late])
    assert (masks.sum(axis=0) == 1).all()  # each value is exactly one of the four
    kept = parsed.index[parsed.ok]
    assert kept.isna().sum() == 0 and parsed.index[~parsed.ok].isna().all()
    assert ((kept >= BOUNDS.earliest) & (kept <= BOUNDS.latest)).all()


# --------------------------------------------------------------------------- timeframes
@pytest.mark.parametrize(
    "name", ["99999999999999999999d", pytest.param("1" * 5000 + "d", id="5000-digits"), "367d", "53w", "0h", "0s"]
)
def test_timeframes_out_of_range_are_refused_everywhere(name: str) -> None:
    for parse in (timeframe_seconds, normalize_timeframe, timeframe_delta):
        with pytest.raises(DataError, match="out of range: a bar lasts from 1s to 366d") as info:
            parse(name)
        assert "\n" not in str(info.value) and len(str(info.value)) < 200


@pytest.mark.parametrize("name", ["1M", "1y", "x", "", "1.5h", "-1h", "١h"])
def test_malformed_timeframes_are_refused(name: str) -> None:
    with pytest.raises(DataError, match="unknown timeframe"):
        timeframe_seconds(name)


def test_timeframes_at_the_bounds() -> None:
    assert timeframe_seconds("1s") == 1
    assert timeframe_seconds("366d") == MAX_SECONDS
    assert normalize_timeframe("52w") == "52w" and normalize_timeframe("0001h") == "1h"
    assert timeframe_delta(" 4h ") == pd.Timedelta(hours=4)
