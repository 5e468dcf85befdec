"""The job wire format carries data, never code."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cryptodesk.app.jobs import wire
from cryptodesk.app.jobs.events import Failed, Progress
from cryptodesk.evaluation.walkforward import WalkForwardSpec

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**62, 2**62) | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
    | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    | st.dictionaries(st.integers(0, 9), inner, max_size=3),
    max_leaves=20,
)


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_values_round_trip(value: object) -> None:
    assert _same(wire.decode(wire.encode(value)), value)


def test_arrays_frames_times_and_registered_types_round_trip() -> None:
    index = pd.date_range("2024-01-01", periods=3, freq="h", tz="UTC")
    frame = pd.DataFrame({"a": [1.0, np.nan, 3.0], "b": ["x", "y", "z"]}, index=index)
    frame.attrs["symbol"] = "BTC-USD"
    value = {"arr": np.arange(6).reshape(2, 3), "frame": frame, "ts": index[1], "idx": index,
             "events": [Progress(None, "x"), Failed("m", "d", "bug")],
             "spec": WalkForwardSpec(horizon=3, test_size=10)}
    back = wire.decode(wire.encode(value))
    np.testing.assert_array_equal(back["arr"], value["arr"])
    pd.testing.assert_frame_equal(back["frame"], frame, check_freq=False)
    assert back["frame"].attrs["symbol"] == "BTC-USD"
    assert back["ts"] == index[1] and back["idx"].equals(index)
    assert back["events"] == value["events"] and back["spec"] == value["spec"]


def test_unregistered_types_and_object_arrays_are_refused() -> None:
    class Thing:
        pass

    with pytest.raises(TypeError):
        wire.encode(Thing())
    with pytest.raises(TypeError):
        wire.encode(np.array([object()], dtype=object))
    frame = wire.encode({"~o": "x"})  # a key that looks like a tag is escaped, not obeyed
    assert wire.decode(frame) == {"~o": "x"}


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_damaged_frames_raise_wire_errors_only(data: bytes) -> None:
    frame = wire.encode({"a": np.arange(3.0), "t": (1, 2)})
    for candidate in (data, frame[: len(data) % len(frame)], wire.MAGIC + data):
        try:
            wire.decode(candidate)
        except wire.WireError:
            pass


def test_an_unknown_type_tag_is_refused() -> None:
    data = wire.encode(Progress(0.5, "x")).replace(b'"Progress"', b'"Exploit!"')
    with pytest.raises(wire.WireError, match="unknown type"):
        wire.decode(data)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_json_header_decodes_or_raises_a_wire_error(header: object) -> None:
    import json
    import struct

    def tagged(value: object) -> object:  # make tag-shaped objects likely
        if isinstance(value, dict):
            return {(("~" + k) if k and k[0] in "ftmadso" else k): tagged(v)
                    for k, v in value.items() if isinstance(k, str)}
        if isinstance(value, (list, tuple)):
            return [tagged(v) for v in value]
        return value

    try:
        text = json.dumps(tagged(header)).encode()
    except ValueError:
        return
    frame = wire.MAGIC + struct.pack(">I", len(text)) + text
    try:
        wire.decode(frame)
    except wire.WireError:
        pass
