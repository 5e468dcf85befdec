"""Local Parquet store: merge rules, atomic writes, crash safety, concurrent readers."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cryptodesk.data import store as store_module
from cryptodesk.data.schema import SeriesKey, make_candles, meta_of, validate_candles
from cryptodesk.data.store import MAX_SEGMENTS, CandleStore
from cryptodesk.data.timeframes import timeframe_delta
from cryptodesk.errors import StoreError


def candles(start: str, n: int, value: float = 1.0, tf: str = "1h", symbol: str = "BTC/USDT") -> pd.DataFrame:
    index = pd.date_range(start, periods=n, freq=timeframe_delta(tf), tz="UTC")
    base = value + np.arange(n, dtype=float)
    frame = pd.DataFrame(
        {"open": base, "high": base + 1, "low": base - 1, "close": base, "volume": base}, index=index
    )
    return make_candles(frame, source="test", symbol=symbol, timeframe=tf)


KEY = SeriesKey("test", "BTC/USDT", "1h")


def test_write_load_roundtrip_and_list(tmp_path: Path) -> None:
    store = CandleStore(tmp_path)
    data = candles("2024-01-01", 48)
    result = store.write(data)
    assert (result.rows_before, result.rows_after, result.added) == (0, 48, 48)
    loaded = store.load(KEY)
    validate_candles(loaded)
    pd.testing.assert_frame_equal(loaded, data, check_freq=False)
    assert meta_of(loaded) == meta_of(data)
    [info] = store.list()
    assert info.rows == 48 and info.first == data.index[0] and info.last == data.index[-1]
    part = store.load(KEY, start="2024-01-01 10:00", end="2024-01-01 12:00")
    assert len(part) == 3 and part.index[0].hour == 10


def test_merge_dedupes_and_newest_wins(tmp_path: Path) -> None:
    store = CandleStore(tmp_path)
    store.write(candles("2024-01-01", 10, value=1.0))
    result = store.write(candles("2024-01-01 05:00", 10, value=100.0))  # overlaps 5 bars
    assert result.added == 5 and result.replaced == 5 and result.rows_after == 15
    loaded = store.load(KEY)
    assert not loaded.index.has_duplicates and len(loaded) == 15
    assert loaded.loc["2024-01-01 05:00", "close"] == 100.0
    assert loaded.loc["2024-01-01 04:00", "close"] == 5.0


def test_appended_pages_become_segments_then_compact(tmp_path: Path) -> None:
    store = CandleStore(tmp_path)
    store.write(candles("2024-01-01", 5))
    start = pd.Timestamp("2024-01-01 05:00", tz="UTC")
    for page in range(MAX_SEGMENTS + 3):
        store.write(candles(str(start + pd.Timedelta(hours=5 * page)), 5, value=page))
    folder = store.series_dir(KEY)
    assert len(list(folder.glob("seg-*.parquet"))) <= MAX_SEGMENTS
    loaded = store.load(KEY)
    assert len(loaded) == 5 * (MAX_SEGMENTS + 4) and loaded.index.is_unique
    assert store.last_timestamp(KEY) == loaded.index[-1]
    # an overlapping write folds every segment into main
    store.write(candles("2024-01-01 02:00", 3, value=-1.0))
    assert not list(folder.glob("seg-*.parquet"))
    assert len(store.load(KEY)) == len(loaded)


def test_crash_after_temp_file_leaves_old_data_intact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = CandleStore(tmp_path)
    original = candles("2024-01-01", 24)
    store.write(original)

    def boom(src: object, dst: object) -> None:
        assert Path(str(src)).exists()  # the temp file was fully written...
        raise OSError("simulated crash before rename")  # ...and then the process "died"

    monkeypatch.setattr(store_module.os if hasattr(store_module, "os") else __import__("os"), "replace", boom)
    with pytest.raises(OSError, match="simulated crash"):
        store.write(candles("2023-12-31", 48, value=7.0))  # overlapping: full rewrite
    monkeypatch.undo()
    pd.testing.assert_frame_equal(store.load(KEY), original, check_freq=False)
    assert not list(store.series_dir(KEY).glob(".*.tmp"))  # temp file cleaned up


def test_crash_during_compaction_does_not_apply_old_segments_twice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = CandleStore(tmp_path)
    store.write(candles("2024-01-01", 5, value=1.0))
    store.write(candles("2024-01-01 05:00", 5, value=10.0))  # segment
    folder = store.series_dir(KEY)
    [segment] = folder.glob("seg-*.parquet")
    kept = segment.read_bytes()
    store.write(candles("2024-01-01 07:00", 2, value=500.0))  # overlap -> compaction
    segment.write_bytes(kept)  # as if the crash happened before the segment was deleted
    loaded = store.load(KEY)
    assert loaded.loc["2024-01-01 07:00", "close"] == 500.0  # the newer value still wins
    assert len(loaded) == 10


def test_readers_never_see_half_written_files(tmp_path: Path) -> None:
    store = CandleStore(tmp_path)
    store.write(candles("2024-01-01", 2000))
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                frame = store.load(KEY)
                assert len(frame) >= 2000 and frame.index.is_unique
            except BaseException as exc:  # collected and re-raised below
                errors.append(exc)
                return

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for i in range(15):
        store.write(candles("2024-01-01", 2000 + 10 * i, value=float(i)))
    stop.set()
    for t in threads:
        t.join(10)
    assert not errors, errors[0]


def test_find_resolves_loose_symbols_and_explains_failures(tmp_path: Path) -> None:
    store = CandleStore(tmp_path)
    store.write(candles("2024-01-01", 5))
    store.write(candles("2024-01-01", 5, tf="1d"))
    assert store.find("btc-usdt", "1h") == KEY
    assert store.find("BTCUSDT", timeframe="1d").timeframe == "1d"
    with pytest.raises(StoreError, match="ambiguous"):
        store.find("BTC/USDT")
    with pytest.raises(StoreError, match="stored symbols: BTC/USDT"):
        store.find("ETH")
    assert store.find("BTC", "1h") == KEY


def test_delete(tmp_path: Path) -> None:
    store = CandleStore(tmp_path)
    store.write(candles("2024-01-01", 5))
    assert store.delete(KEY) and not store.exists(KEY) and store.list() == []
    assert not store.delete(KEY)
    with pytest.raises(StoreError):
        store.load(KEY)


def test_synthetic_flag_is_sticky(tmp_path: Path) -> None:
    store = CandleStore(tmp_path)
    fake = candles("2024-01-01", 5)
    fake.attrs["synthetic"] = True
    store.write(fake)
    store.write(candles("2024-01-01 05:00", 5))
    assert meta_of(store.load(KEY)).synthetic
