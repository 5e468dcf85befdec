"""Issue 13 items 4 and 6: every fuzzing reproducer for the CSV, text and series importers.

Each reproducer is a real file (bytes) fed to the real importer or the real CLI. A refusal
must be one line (``cryptodesk: error: ...``, exit 1, no traceback, nothing printed by
pyarrow) and leave the store or dataset byte for byte as it was; anything else must import
with a report that says what was dropped and on which lines.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cryptodesk.cli import main
from cryptodesk.data.csv_import import parse_candles_csv
from cryptodesk.data.schema import validate_candles
from cryptodesk.data.timeparse import TimeRange
from cryptodesk.errors import CryptoDeskError, CsvImportError
from cryptodesk.paths import app_paths
from cryptodesk.sentiment import text_import, text_rows
from cryptodesk.sentiment.errors import TextImportError
from cryptodesk.sentiment.series_import import parse_series_csv
from cryptodesk.sentiment.text_import import parse_texts

REPO = Path(__file__).resolve().parents[2]
GOOD = b"date,close\n2024-01-01,1\n2024-01-02,2\n2024-01-03,3\n"


# --------------------------------------------------------------------------- helpers
@pytest.fixture
def unraisable(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What would have been printed as "Exception ignored in ..." during the test."""
    seen: list[str] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: seen.append(f"{u.exc_type.__name__}: {u.exc_value}"))
    return seen


def _snapshot() -> dict[str, bytes]:
    """Every stored file (candles, datasets, series) with its bytes; the log is not data."""
    root = app_paths().data
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _cli(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def _assert_one_line_refusal(rc: int, err: str, *, contains: str = "") -> None:
    assert rc == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cryptodesk: error: "), err
    assert "Traceback" not in err and "Exception ignored" not in err
    assert contains in lines[0]


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _import_good(tmp_path: Path, capsys: pytest.CaptureFixture[str], symbol: str = "X") -> None:
    assert _cli(capsys, "data", "import", _write(tmp_path, "good.csv", GOOD), "--symbol", symbol)[0] == 0


def _ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


# --------------------------------------------------------------------------- CSV reproducers
def test_rows_dated_9999_or_before_1970_are_dropped_and_reported_with_their_lines() -> None:
    raw = GOOD + b"9999-01-03,4\n0001-01-01,5\n1969-12-31,6\n"
    candles, report = parse_candles_csv(raw, name="t.csv", symbol="X")
    assert list(candles.index) == [_ts("2024-01-01"), _ts("2024-01-02"), _ts("2024-01-03")]
    assert report.dropped_rows == 3 and report.timeframe == "1d"
    note = next(n for n in report.notes if "outside the supported range" in n)
    assert "dropped 3 row(s)" in note and "first at file line 5 (line(s) 5, 6, 7)" in note


def test_a_file_dated_entirely_out_of_range_is_refused_and_the_store_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _import_good(tmp_path, capsys)
    before = _snapshot()
    path = _write(tmp_path, "far.csv", b"date,close\n9999-01-03,1\n9999-01-04,2\n")
    rc, _, err = _cli(capsys, "data", "import", path, "--symbol", "X")
    _assert_one_line_refusal(rc, err, contains="far.csv, row 2: no parseable rows: 2 dated outside")
    assert _snapshot() == before


def test_a_bad_byte_in_the_time_column_drops_that_row_only(unraisable: list[str]) -> None:
    raw = b"date,close,note\n2024-01-01,1,a\n2024-01-02,2,b\n2024-01-0\xff,3,c\n2024-01-04,4,caf\xe9\n"
    candles, report = parse_candles_csv(raw, name="t.csv", symbol="X")
    assert list(candles.close) == [1, 2, 4]  # the Latin-1 byte in a column not imported costs nothing
    assert report.dropped_rows == 1
    assert any("cannot be parsed, first at file line 4" in n for n in report.notes)
    assert any("not UTF-8 with U+FFFD on 2 line(s) (4, 5)" in n for n in report.notes)
    assert unraisable == []


def test_a_bad_byte_in_a_row_with_the_wrong_field_count_is_dropped_not_fatal(unraisable: list[str]) -> None:
    # Before: pyarrow's row handler failed to decode the row ("Exception ignored in ...") and
    # then the whole file was refused, although such rows are documented as dropped.
    raw = GOOD + b"2024-01-0\xff,3,4\n2024-01-05,5\n"
    candles, report = parse_candles_csv(raw, name="t.csv", symbol="X")
    assert list(candles.close) == [1, 2, 3, 5]
    assert any("wrong number of fields, first at file line 5 (line(s) 5)" in n for n in report.notes)
    assert unraisable == []


def test_line_numbers_count_url_lines_blank_lines_and_skipped_rows() -> None:
    raw = (
        b"https://www.example.com\n"  # 1
        b"date,close,volume\n"  # 2
        b"2024-01-01,1,1\n"  # 3
        b"\n"  # 4: blank, not a row
        b"2024-01-02,2,1,extra\n"  # 5: wrong field count
        b"2024-01-03,x,1\n"  # 6: bad close
        b",,\n"  # 7: empty row, nothing to lose
        b"2024-01-04,4,1\n"  # 8
        b"2300-01-01,5,1\n"  # 9: out of range
        b"2024-01-05,6,1\n"  # 10
    )
    candles, report = parse_candles_csv(raw, name="t.csv", symbol="X", timeframe="1d")
    assert list(candles.close) == [1, 4, 6]
    notes = "\n".join(report.notes)
    assert "wrong number of fields, first at file line 5 (line(s) 5)" in notes
    assert "cannot be parsed, first at file line 6 (line(s) 6)" in notes
    assert "outside the supported range" in notes and "first at file line 9 (line(s) 9)" in notes
    assert report.dropped_rows == 3


def test_eight_digit_dates_are_daily_dates_not_epoch_seconds_in_1970() -> None:
    candles, report = parse_candles_csv(b"date,close\n20240101,1\n20240102,2\n20240103,3\n", symbol="X")
    assert candles.index[0] == _ts("2024-01-01") and report.timeframe == "1d"
    assert "time stamps are YYYYMMDD dates (daily, UTC midnight)" in report.notes


@pytest.mark.parametrize(("scale", "unit"), [(1, "s"), (1000, "ms"), (1_000_000, "us"), (10**9, "ns")])
def test_epoch_columns_say_their_unit(scale: int, unit: str) -> None:
    rows = "\n".join(f"{(1704067200 + 3600 * i) * scale},{i + 1}" for i in range(3))
    candles, report = parse_candles_csv(f"time,close\n{rows}\n".encode(), symbol="X")
    assert candles.index[0] == _ts("2024-01-01") and report.timeframe == "1h"
    assert f"time stamps are epoch {unit}" in report.notes


@pytest.mark.parametrize(("raw", "problem"), [
    (b"date,close", "no data rows below the header"),  # no line break after the header
    ("date,close\n2024-01-01,1\n".encode("utf-16"), "not UTF-8 (UTF-16 text)"),
])
def test_header_only_and_utf16_files_get_their_own_message(raw: bytes, problem: str) -> None:
    with pytest.raises(CsvImportError) as info:
        parse_candles_csv(raw, name="t.csv", symbol="X")
    assert str(info.value).startswith(f"t.csv: {problem}")


def test_infinite_closes_are_unparseable_not_prices() -> None:
    candles, report = parse_candles_csv(GOOD + b"2024-01-04,1e400\n", symbol="X")
    assert len(candles) == 3 and report.dropped_rows == 1


@pytest.mark.parametrize("command", [
    ["data", "import", "{file}", "--symbol", "X", "--timeframe", "99999999999999999999d"],
    ["data", "show", "X", "--timeframe", "99999999999999999999d"],
    ["data", "resample", "X", "--to", "400d"],
])
def test_absurd_timeframe_arguments_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    _import_good(tmp_path, capsys)
    before = _snapshot()
    file = _write(tmp_path, "again.csv", GOOD)
    rc, _, err = _cli(capsys, *[file if part == "{file}" else part for part in command])
    _assert_one_line_refusal(rc, err, contains="is out of range: a bar lasts from 1s to 366d")
    assert _snapshot() == before


def test_an_inferred_bar_longer_than_a_year_is_a_clear_error() -> None:
    with pytest.raises(CsvImportError, match=r"t\.csv: the rows are 1461d apart, longer than the longest timeframe"):
        parse_candles_csv(b"date,close\n2016-01-01,1\n2020-01-01,2\n", name="t.csv", symbol="X")


# --------------------------------------------------------------------------- parallel refusals
_REFUSALS: dict[str, tuple[bytes, list[str]]] = {
    "far.csv": (b"date,close\n9999-01-03,1\n2300-01-01,2\n", []),
    "words.csv": (b"date,close\nfoo,bar\nbaz,qux\n", []),
    "bytes.csv": (b"date,close\n" + b"2024-01-0\xff,\xfe,3\n" * 20_000, []),
    "tf.csv": (GOOD, ["--timeframe", "99999999999999999999d"]),
    "empty.csv": (b"", []),
    "noclose.csv": (b"date,open\n2024-01-01,1\n", []),
}


def _parallel_refusals(tmp_path: Path, copies: int) -> None:
    procs = []
    for i in range(copies):
        name = sorted(_REFUSALS)[i % len(_REFUSALS)]
        data, extra = _REFUSALS[name]
        path = _write(tmp_path, f"{i}-{name}", data)
        env = {**os.environ, "CRYPTODESK_HOME": str(tmp_path / f"home{i}")}
        cmd = [sys.executable, "-m", "cryptodesk", "data", "import", str(path), "--symbol", "X", *extra]
        procs.append((name, subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                                             stderr=subprocess.PIPE, text=True)))
    for name, proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 1, f"{name}: exit {proc.returncode}\n{err}"
        _assert_one_line_refusal(proc.returncode, err)
        assert out == ""


def test_refusing_imports_in_parallel_subprocesses_all_exit_1_with_one_line(tmp_path: Path) -> None:
    """Before: 1 refusal in 24 printed its error and then aborted (exit 134) at shutdown."""
    _parallel_refusals(tmp_path, copies=len(_REFUSALS))


@pytest.mark.slow
@pytest.mark.parametrize("round_no", range(3))
def test_many_refusing_imports_in_parallel_never_abort(tmp_path: Path, round_no: int) -> None:
    _parallel_refusals(tmp_path, copies=24)


# --------------------------------------------------------------------------- texts
def _texts_report_text(raw: bytes, **kw: object) -> tuple[pd.DataFrame, str]:
    frame, report = parse_texts(raw, name="t", **kw)
    return frame, "\n".join(report.lines())


def test_texts_dated_2300_9999_year_1_or_2099_are_dropped_and_reported() -> None:
    raw = (b"time,text\n2024-01-01,kept\n2300-01-01,a\n9999-12-31,b\n0001-01-01,c\n"
           b"2099-05-01T00:00:00Z,d\n")
    frame, text = _texts_report_text(raw)
    assert frame["text"].tolist() == ["kept"]
    assert "dropped (dated in the future): 3 (line(s) 3, 4, 6)" in text
    assert "dropped (dated before 1970): 1 (line(s) 5)" in text
    assert "a text cannot have been published after it was exported" in text


def test_an_all_future_text_file_is_refused_and_the_dataset_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ok = _write(tmp_path, "ok.csv", b"time,text\n2024-01-01,hello\n")
    assert _cli(capsys, "sentiment", "import", ok, "--dataset", "d", "--no-score")[0] == 0
    before = _snapshot()
    future = _write(tmp_path, "future.csv", b"time,text\n2099-01-01,a\n2099-01-02,b\n")
    rc, _, err = _cli(capsys, "sentiment", "import", future, "--dataset", "d", "--no-score")
    _assert_one_line_refusal(rc, err, contains="future.csv, line 2: no usable rows")
    assert "2 dated in the future" in err
    assert _snapshot() == before


def test_jsonl_with_a_5000_digit_number_imports_the_rest() -> None:
    digits = "1" * 5000
    raw = (f'{{"time": 1704067200, "text": "ok"}}\n{{"time": {digits}, "text": "a"}}\n'
           f'{{"time": 1704070800, "text": {digits}}}\n'
           f'{{"time": 1704074400, "text": "w", "weight": {digits}}}\n').encode()
    frame, text = _texts_report_text(raw)
    assert frame["text"].tolist() == ["ok", digits]  # a huge number as text is kept as written
    assert "dropped (no parseable time): 1 (line(s) 2)" in text
    assert "dropped (negative or non-numeric weight): 1 (line(s) 4)" in text


def test_deeply_nested_json_is_a_malformed_row_or_a_clear_error() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    raw = (f'{{"time": "2024-01-01", "text": "ok"}}\n{{"time": 1, "text": {deep}}}\n'
           f'{{"time": "2024-01-02", "text": {"[" * 300 + "]" * 300}}}\n'
           f'{{"time": {{"a": [1]}}, "text": "x"}}\n').encode()
    frame, report = parse_texts(raw, name="t")
    assert frame["text"].tolist() == ["ok"]
    assert (report.dropped_malformed, report.dropped_empty_text, report.dropped_bad_time) == (1, 1, 1)
    assert report.dropped_lines == {"malformed": [2], "empty_text": [3], "bad_time": [4]}
    with pytest.raises(TextImportError, match=r"^t: not valid JSON: nested too deeply$"):
        parse_texts(deep.encode(), name="t")


@pytest.mark.parametrize("raw", [
    b'{"date": 20240131, "text": "a"}\n{"date": 20240201, "text": "b"}\n',
    b"date,text\n20240131,a\n20240201,b\n",
])
def test_yyyymmdd_text_times_are_dates(raw: bytes) -> None:
    frame, text = _texts_report_text(raw)
    assert frame["time"].tolist() == [_ts("2024-01-31"), _ts("2024-02-01")]
    assert "times are YYYYMMDD dates (daily, UTC midnight)" in text


def test_a_csv_text_longer_than_128_kib_imports_like_the_same_jsonl_text() -> None:
    long_text = "moon " * 60_000  # 300,000 characters
    as_csv = f'time,text\n2024-01-01,"{long_text}"\n2024-01-02,short\n'.encode()
    as_jsonl = "\n".join(json.dumps({"time": t, "text": x}) for t, x in
                         [("2024-01-01", long_text), ("2024-01-02", "short")]).encode()
    from_csv, _ = parse_texts(as_csv, name="t.csv")
    from_jsonl, _ = parse_texts(as_jsonl, name="t.jsonl")
    pd.testing.assert_frame_equal(from_csv, from_jsonl)
    assert len(from_csv["text"].iloc[0]) == len(long_text.strip())


def test_text_files_above_the_size_bound_are_refused_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(text_rows, "MAX_FILE_BYTES", 1024)
    path = _write(tmp_path, "big.csv", b"time,text\n" + b"2024-01-01,x\n" * 200)
    with pytest.raises(TextImportError, match=r"big\.csv: the file is 2\.5 KiB; texts are imported from files of at most 1\.0 KiB: split it"):
        text_import.read_texts(path)


def test_column_names_with_line_breaks_stay_on_one_line() -> None:
    with pytest.raises(TextImportError) as info:
        parse_texts(b'{"a\\nb": 1, "text": "x"}\n', name="t")
    assert "\n" not in str(info.value) and "a\\nb" in str(info.value)


# --------------------------------------------------------------------------- series
def test_series_rows_out_of_range_or_ragged_are_dropped_with_lines() -> None:
    raw = b"time,v\n2024-01-01,1\n9999-01-01,2\n0001-01-01,3\n2024-01-02,1,2\n2024-01-03,4\n"
    frame, report = parse_series_csv(raw, name="s")
    assert frame["s"].tolist() == [1.0, 4.0]
    text = "\n".join(report.lines())
    assert "rows dropped (dated in the future): 1 (line(s) 3)" in text
    assert "rows dropped (dated before 1970): 1 (line(s) 4)" in text
    assert "rows dropped (wrong number of fields): 1 (line(s) 5)" in text


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"delay": "100000d"}, "longer than a year"),
    ({}, "no row has a parseable time inside 1970-01-01"),
])
def test_series_refusals_are_one_line(kwargs: dict, match: str) -> None:
    raw = b"time,v\n2024-01-01,1\n" if kwargs else b"time,v\n9999-01-01,1\n"
    with pytest.raises(CsvImportError, match=match) as info:
        parse_series_csv(raw, name="s", source="s.csv", **kwargs)
    assert "\n" not in str(info.value)


# --------------------------------------------------------------------------- fuzzing
_ENCODINGS = ["utf-8", "utf-8", "utf-8", "utf-8-sig", "latin-1", "cp1252", "utf-16"]
_TIME_TEXT = st.one_of(
    st.datetimes().map(lambda d: d.isoformat(sep=" ")),  # years 1 .. 9999: many out of range
    st.dates().map(lambda d: d.strftime("%Y%m%d")),  # eight digits
    st.integers(-(10**20), 10**20).map(str),  # epoch-like, any unit, or none
    st.sampled_from(["", "nan", "-", "2024-01-01T00:00:00Z", "1704067200000", "20240101", "2099-01-01"]),
    st.text(max_size=8),
)
_NUMBER_TEXT = st.one_of(st.floats().map(repr), st.integers().map(str), st.text(max_size=6), st.just(""))
_RAW_CELL = st.binary(max_size=6)  # random bytes, mostly not UTF-8


_TIME_STYLES: dict[str, Callable[[pd.Timestamp], str]] = {
    "iso": lambda t: str(t),
    "yyyymmdd": lambda t: t.strftime("%Y%m%d"),
    **{unit: (lambda t, d=d: str(int(t.value // d))) for unit, d in
       (("s", 10**9), ("ms", 10**6), ("us", 10**3), ("ns", 1))},
}


@st.composite
def _candle_csv(draw: st.DrawFn) -> bytes:
    """A candle CSV from clean to pure noise: one time style per column (ISO, YYYYMMDD, epoch
    s/ms/us/ns, starting anywhere from 1968 to 2027), then, in a drawn share of the rows,
    random times and values, wrong field counts and random bytes; in a random encoding."""
    encoding = draw(st.sampled_from(_ENCODINGS))
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    header = draw(st.sampled_from([["date", "close"], ["timestamp", "open", "high", "low", "close", "volume"],
                                   ["Date", "Close", "note"]]))
    damage = draw(st.sampled_from([0, 5, 20, 100]))  # percent of rows (and cells) damaged

    def hit() -> bool:
        return draw(st.integers(0, 99)) < damage

    style = draw(st.sampled_from(list(_TIME_STYLES)))
    days = draw(st.integers(-400, 21_000) | st.integers(16_000, 20_000))  # 1968 .. 2027, often 2013 .. 2024
    start = pd.Timestamp("1970-01-01") + pd.Timedelta(days=days)
    step = pd.Timedelta(draw(st.sampled_from(["1min", "1h", "1D", "7D"])))
    lines = [delimiter.join(header).encode(encoding, "replace")]
    for i in range(draw(st.integers(0, 25))):
        cells: list[bytes | str] = [_TIME_STYLES[style](start + i * step), *[str(1 + i)] * (len(header) - 1)]
        if hit():
            cells = [draw(_TIME_TEXT), *[draw(_NUMBER_TEXT) for _ in header[1:]]]
        if hit():  # a wrong field count: cells added or cut
            cells = [*cells, draw(_NUMBER_TEXT)] if draw(st.booleans()) else cells[: draw(st.integers(0, len(cells) - 1))]
        if cells and hit():
            cells[draw(st.integers(0, len(cells) - 1))] = draw(_RAW_CELL)
        encoded = [c if isinstance(c, bytes) else c.encode(encoding, "replace") for c in cells]
        lines.append(delimiter.encode(encoding, "replace").join(encoded))
    newline = draw(st.sampled_from(["\n", "\r\n"])).encode(encoding, "replace")
    return newline.join(lines)


def _check_no_traceback_and_store(
    rc: int, err: str, before: dict[str, bytes], unraisable: list[str]
) -> None:
    assert unraisable == []
    assert "Traceback" not in err and "Exception ignored" not in err
    if rc != 0:
        _assert_one_line_refusal(rc, err)
        assert _snapshot() == before


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=_candle_csv())
def test_fuzz_candle_csv_bytes_import_or_refuse_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], unraisable: list[str], raw: bytes
) -> None:
    if not (app_paths().data / "candles").exists():
        _import_good(tmp_path, capsys, symbol="FUZZ")  # something stored that must survive
    before = _snapshot()
    path = _write(tmp_path, "fuzz.csv", raw)
    rc, _, err = _cli(capsys, "data", "import", path, "--symbol", "FUZZ")
    _check_no_traceback_and_store(rc, err, before, unraisable)
    if rc == 0:
        candles, report = parse_candles_csv(raw, name="fuzz.csv", symbol="FUZZ")
        validate_candles(candles)
        bounds = TimeRange.default()
        assert report.rows == len(candles) >= 2
        assert candles.index[0] >= bounds.earliest and candles.index[-1] <= bounds.latest


_JSON_TIME = st.one_of(
    _TIME_TEXT, st.integers(), st.floats(), st.none(), st.booleans(),
    st.integers(1, 40).map(lambda depth: json.loads("[" * depth + "]" * depth)),  # nested values
)


@st.composite
def _text_file(draw: st.DrawFn) -> tuple[bytes, str]:
    fmt = draw(st.sampled_from(["csv", "jsonl"]))
    rows = []
    for _ in range(draw(st.integers(0, 8))):
        time = draw(_JSON_TIME)
        long_text = st.integers(131_000, 140_000).map(lambda n: "x" * n)  # past csv's 128 KiB limit
        text = draw(st.one_of(st.text(max_size=20), st.text(max_size=20), long_text, st.none(), st.integers()))
        rows.append({"time": time, "text": text, "weight": draw(st.one_of(st.none(), st.floats(), st.text(max_size=4)))})
    if fmt == "jsonl":
        lines = [json.dumps(r) for r in rows]
        depth = draw(st.sampled_from([0, 0, 50, 5000, 100_000]))  # a line nested beyond recursion
        if depth:
            lines.append('{"time": "2024-01-01", "text": ' + "[" * depth + "]" * depth + "}")
        if draw(st.booleans()):  # a number int() refuses to convert
            lines.append('{"time": ' + "9" * draw(st.integers(4000, 6000)) + ', "text": "huge"}')
        return "\n".join(lines).encode(), fmt
    body = ["time,text,weight"]
    for r in rows:
        cells = ["" if v is None else str(v) if not isinstance(v, list) else json.dumps(v)
                 for v in (r["time"], r["text"], r["weight"])]
        body.append(",".join('"' + c.replace('"', '""') + '"' for c in cells))
    return "\n".join(body).encode(), fmt


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=_text_file())
def test_fuzz_text_import_csv_and_jsonl_import_or_refuse_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], unraisable: list[str], case: tuple[bytes, str]
) -> None:
    raw, fmt = case
    if not (app_paths().data / "sentiment").exists():
        ok = _write(tmp_path, "ok.csv", b"time,text\n2024-01-01,hello\n")
        assert _cli(capsys, "sentiment", "import", ok, "--dataset", "fz", "--no-score")[0] == 0
    before = _snapshot()
    path = _write(tmp_path, f"fuzz.{fmt}", raw)
    rc, _, err = _cli(capsys, "sentiment", "import", path, "--dataset", "fz", "--no-score")
    _check_no_traceback_and_store(rc, err, before, unraisable)
    try:
        frame, report = parse_texts(raw, name="fuzz", fmt=fmt)
    except CryptoDeskError as exc:
        assert rc == 1 and "\n" not in str(exc)
        return
    assert rc == 0 and report.rows_kept == len(frame) >= 1
    bounds = TimeRange.default()
    assert frame["time"].between(bounds.earliest, bounds.latest).all()
    assert frame["text"].str.len().min() > 0


@settings(max_examples=60, deadline=None)
@given(times=st.lists(_TIME_TEXT, max_size=12), values=st.lists(_NUMBER_TEXT, max_size=12),
       junk=st.binary(max_size=8))
def test_fuzz_series_import_raises_only_its_own_error(times: list[str], values: list[str], junk: bytes) -> None:
    rows = [f"{t.replace(',', ' ')},{v.replace(',', ' ')}" for t, v in zip(times, values, strict=False)]
    raw = ("time,v\n" + "\n".join(rows)).encode() + junk
    try:
        frame, report = parse_series_csv(raw, name="s", source="s.csv")
    except CsvImportError as exc:
        assert "\n" not in str(exc)
        return
    bounds = TimeRange.default()
    assert report.rows == len(frame) and frame.index.is_monotonic_increasing
    assert ((frame.index >= bounds.earliest) & (frame.index <= bounds.latest)).all()
