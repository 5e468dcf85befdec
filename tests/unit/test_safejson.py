"""The bounded JSON reader: every bound refused with JsonInputError, and nothing else ever
escapes it, whatever the input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cryptodesk.errors import CryptoDeskError
from cryptodesk.safejson import (
    JsonInputError,
    loads_bounded,
    nesting_depth,
    read_json_bounded,
)

MB = 1024**2


def test_plain_json_round_trips() -> None:
    doc = {"a": [1, 2.5, None, True, "x\"[{"], "b": {"c": -3, "d": 1e-300}}
    assert loads_bounded(json.dumps(doc), MB, 8) == doc
    assert loads_bounded(json.dumps(doc).encode(), MB, 8) == doc


@pytest.mark.parametrize(("text", "message"), [
    ("1" * 5000, "number with 5,000 characters"),  # int() would raise ValueError past 4,300
    ("[" * 100_000 + "]" * 100_000, "nested 100,000 levels"),  # json would raise RecursionError
    ('{"x": 1e999}', "out of range"),
    ('{"x": NaN}', "NaN, which is not standard JSON"),
    ('[-Infinity]', "-Infinity"),
    ('{"a": 1, "a": 2}', "repeats the key 'a'"),
    ("{not json", "not valid JSON"),
    ("", "not valid JSON"),
])
def test_each_bound_is_one_clear_line(text: str, message: str) -> None:
    with pytest.raises(JsonInputError, match=message) as caught:
        loads_bounded(text, MB, 64)
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 200
    assert isinstance(caught.value, CryptoDeskError)  # the CLI prints it as one line


def test_size_and_encoding_bounds(tmp_path: Path) -> None:
    with pytest.raises(JsonInputError, match="larger than 10 bytes"):
        loads_bounded('["12345678901"]', 10, 8)
    with pytest.raises(JsonInputError, match="larger than 10 bytes"):
        loads_bounded("€€€€", 10, 8)  # 4 chars, 12 bytes
    with pytest.raises(JsonInputError, match="not UTF-8"):
        loads_bounded(b'["\xff"]', MB, 8)
    big = tmp_path / "big.json"
    big.write_text("[" + "0," * 100 + "0]")
    with pytest.raises(JsonInputError, match="larger than"):
        read_json_bounded(big, 50, 8)
    assert read_json_bounded(big, MB, 8) == [0] * 101


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "manifest.json"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="not a regular file"):
        read_json_bounded(fifo, MB, 8)


def test_depth_scan_ignores_brackets_in_strings() -> None:
    assert nesting_depth('{"a": "[[[[[[[[", "b": ["]]]]\\"[["]}') == 2
    assert loads_bounded('{"a": "[[[[[[[[[[[[[["}', MB, 2) == {"a": "[[[[[[[[[[[[[["}


_json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(st.one_of(
    st.binary(max_size=300),
    st.text(alphabet='[]{}",:0123456789.eE+-tnfalsru \\', max_size=300),
    _json_like.map(json.dumps),
    st.integers(min_value=1, max_value=3000).map(lambda n: "[" * n + "]" * n),
    st.integers(min_value=60, max_value=6000).map(lambda n: "9" * n),
))
def test_fuzz_only_json_input_error_escapes(data: str | bytes) -> None:
    try:
        value = loads_bounded(data, 4096, 32)
    except JsonInputError as exc:
        assert "\n" not in str(exc)
        return
    # what is accepted writes back as standard JSON (no inf/NaN, no huge ints)
    json.dumps(value, allow_nan=False)
