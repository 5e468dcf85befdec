"""Text import (CSV / JSON Lines) and the per-dataset store."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cryptodesk.paths import app_paths
from cryptodesk.sentiment.datasets import TextDatasets, normalize_name, score_dataset
from cryptodesk.sentiment.errors import SentimentError, TextImportError
from cryptodesk.sentiment.scorers import LexiconScorer
from cryptodesk.sentiment.text_import import parse_texts, read_texts

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "sentiment_examples.csv"


def test_example_file_imports_cleanly() -> None:
    frame, report = read_texts(EXAMPLES)
    assert report.rows_kept == report.rows_read == len(frame) >= 250
    assert report.columns["time"] == "timestamp" and report.columns["text"] == "text"
    assert list(frame.columns) == ["time", "text", "source", "weight"]
    assert str(frame["time"].dt.tz) == "UTC" and frame["time"].is_monotonic_increasing
    assert (frame["weight"] == 1.0).all()


def test_csv_detection_quoting_duplicates_and_drops() -> None:
    raw = (
        "created_at;body;subreddit;weight\n"
        '2024-01-01T10:00:00Z;"BTC to the moon; 🚀";bitcoin;2\n'
        '2024-01-01T09:00:00Z;"multi\nline, text";cc;\n'
        '2024-01-01T09:00:00Z;"multi\nline, text";cc;\n'
        "not a time;x;y;1\n"
        "2024-01-01T11:00:00Z;;cc;1\n"
        "2024-01-01T12:00:00Z;neg weight;cc;-1\n"
        "2024-01-01T13:00:00Z;too;many;fields;here\n"
    ).encode()
    frame, report = parse_texts(raw, name="posts.csv")
    assert report.columns == {"time": "created_at", "text": "body", "source": "subreddit", "weight": "weight"}
    assert frame["text"].tolist() == ["multi\nline, text", "BTC to the moon; 🚀"]
    assert frame["weight"].tolist() == [1.0, 2.0]  # missing weight -> 1
    assert frame["source"].tolist() == ["cc", "bitcoin"]
    assert (report.duplicates, report.dropped_bad_time, report.dropped_empty_text,
            report.dropped_bad_weight, report.dropped_malformed) == (1, 1, 1, 1, 1)
    assert report.first_bad_line == 7  # the "not a time" row (multi-line rows counted right)
    assert any("duplicates removed: 1" in line for line in report.lines())


def test_jsonl_epoch_times_and_chosen_columns() -> None:
    lines = [
        {"created_utc": 1704067200, "title": "Bitcoin", "selftext": "is great", "sub": "a"},
        {"created_utc": 1704070800, "title": "ETH", "selftext": None, "sub": "b"},
        "not an object",
    ]
    raw = "\n".join(json.dumps(x) for x in lines).encode()
    frame, report = parse_texts(raw, name="x.jsonl", text_col="title,selftext", source_col="sub")
    assert report.format == "JSON Lines" and report.dropped_malformed == 1
    assert frame["text"].tolist() == ["Bitcoin is great", "ETH"]
    assert frame["time"].iloc[0] == pd.Timestamp("2024-01-01", tz="UTC")
    assert "times are epoch s" in report.notes
    # a JSON array of objects works too, and epoch milliseconds are recognised
    arr = json.dumps([{"ts": 1704067200000, "text": "ok"}]).encode()
    frame, report = parse_texts(arr)
    assert frame["time"].iloc[0] == pd.Timestamp("2024-01-01", tz="UTC")


def test_naive_times_are_utc_and_noted_and_default_source() -> None:
    frame, report = parse_texts(b"date,headline\n2024-05-01 12:00,Markets calm\n", default_source="news")
    assert frame["time"].iloc[0] == pd.Timestamp("2024-05-01 12:00", tz="UTC")
    assert any("assumed UTC" in n for n in report.notes)
    assert frame["source"].iloc[0] == "news"


@pytest.mark.parametrize(
    ("raw", "match", "row"),
    [
        ("time,text\n2024-01-01,caf\xe9 au lait\n".encode("latin-1"), "Windows-1252/Latin-1", 2),
        ("time,text\n2024-01-01,x\n".encode("utf-16"), "UTF-16", None),
        (b"   \n", "empty", None),
        (b"when,what\n2024-01-01,x\n", "no time column found.*when, what", None),
        (b"time,what\n2024-01-01,x\n", "no text column found", None),
        (b"time,text\nnope,x\n", "no usable rows", 2),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "binary", None),
    ],
)
def test_clear_errors(raw: bytes, match: str, row: int | None) -> None:
    with pytest.raises(TextImportError, match=match) as info:
        parse_texts(raw, name="f.csv")
    assert info.value.row == row
    assert str(info.value).startswith("f.csv")


def test_explicit_column_that_does_not_exist() -> None:
    with pytest.raises(TextImportError, match="no column 'body'"):
        parse_texts(b"time,text\n2024-01-01,x\n", text_col="body")


def test_read_texts_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TextImportError, match="cannot read"):
        read_texts(tmp_path / "none.csv")


# --------------------------------------------------------------------------- store
def test_store_round_trip_merge_and_scoring() -> None:
    store = TextDatasets()
    assert store.root == app_paths().data / "sentiment"
    frame, _ = read_texts(EXAMPLES)
    result = store.merge("Examples", frame.iloc[:200], source_file="a.csv")
    assert (result.added, result.already_stored, result.rows_after) == (200, 0, 200)
    result = store.merge("examples", frame.iloc[150:], source_file="b.csv")  # overlapping export
    assert result.added == len(frame) - 200 and result.already_stored == 50
    back, meta = store.read("examples")
    assert len(back) == len(frame) and back["time"].is_monotonic_increasing
    assert back["score"].isna().all() and not store.info("examples").scored
    assert [i["file"] for i in meta["imports"]] == ["a.csv", "b.csv"]

    scorer = LexiconScorer()
    scored, identity = score_dataset(store, "examples", scorer)
    assert scored == len(frame) and store.info("examples").scored
    assert store.info("examples").scorer == identity
    # new rows: only those are scored by the same scorer; stored scores are kept
    extra = pd.DataFrame({"time": [pd.Timestamp("2030-01-01", tz="UTC")], "text": ["moon"]})
    store.merge("examples", extra)
    scored, _ = score_dataset(store, "examples", scorer)
    assert scored == 1
    back, _ = store.read("examples")
    np.testing.assert_allclose(back["score"], scorer.score(back["text"].tolist()))
    assert not [p for p in store.root.iterdir() if p.suffix == ".tmp"]  # no temp files left
    assert store.delete("examples") and not store.exists("examples")


def test_replace_and_names() -> None:
    store = TextDatasets()
    one = pd.DataFrame({"time": [pd.Timestamp("2024-01-01", tz="UTC")], "text": ["a"]})
    two = pd.DataFrame({"time": [pd.Timestamp("2024-01-02", tz="UTC")], "text": ["b"]})
    store.merge("d", one)
    store.merge("d", two, replace=True)
    assert store.read("d")[0]["text"].tolist() == ["b"]
    assert normalize_name(" News-1 ") == "news-1"
    for bad in ("", "../x", "a b", "-x"):
        with pytest.raises(SentimentError):
            normalize_name(bad)
    with pytest.raises(SentimentError, match="stored: d"):
        store.read("other")


def test_compact_dates_are_dates_not_epoch_seconds() -> None:
    frame, report = parse_texts(b"date,text\n20240131,hello\n20240201,world\n")
    assert frame["time"].tolist() == [pd.Timestamp("2024-01-31", tz="UTC"), pd.Timestamp("2024-02-01", tz="UTC")]
    assert any("YYYYMMDD" in n for n in report.notes)


def test_lone_surrogate_escapes_in_json_become_storable_text() -> None:
    frame, _ = parse_texts(b'{"time": "2024-01-01", "text": "bad \\ud800 byte"}\n')
    assert frame["text"].iloc[0] == "bad ? byte"
    TextDatasets().merge("j", frame)
    assert TextDatasets().read("j")[0]["text"].iloc[0] == "bad ? byte"


def test_concurrent_imports_into_one_dataset_lose_nothing() -> None:
    import threading

    store = TextDatasets()
    batches = [
        pd.DataFrame({"time": pd.date_range("2024-01-01", periods=50, freq="min", tz="UTC"),
                      "text": [f"batch {b} text {i}" for i in range(50)]})
        for b in range(4)
    ]
    threads = [threading.Thread(target=store.merge, args=("shared", b)) for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store.read("shared")[0]) == 200
