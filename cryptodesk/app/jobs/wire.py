"""The job wire format: typed values as bytes, without pickle.

Jobs cross a process boundary (a local worker, later a Ray cluster), so what goes in and comes
out must be data, never code: a JSON header plus binary blobs. :func:`encode` /
:func:`decode` handle plain JSON values (floats may be NaN or infinite), tuples, dicts with
non-text keys, numpy arrays and scalars (``.npy`` with ``allow_pickle=False``), pandas
timestamps, time indexes and frames (Parquet), and the dataclasses registered with
:func:`register` (events, results). Decoding builds only registered classes, so a message can
never make the receiver import or run anything.

Frame layout: ``b"CDW1"``, a 4-byte big-endian header length, the UTF-8 JSON header, then each
blob as an 8-byte big-endian length and its bytes.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import struct
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

MAGIC = b"CDW1"
MAX_HEADER_BYTES = 64 * 1024 * 1024

_TYPES: dict[str, type] = {}
_TAGS: dict[type, str] = {}
_CODECS: dict[type, tuple[Callable[[Any], dict[str, Any]], Callable[[dict[str, Any]], Any]]] = {}


class WireError(ValueError):
    """A frame is damaged or holds a type that is not registered."""


def register(cls: type, tag: str | None = None, *,
             to_fields: Callable[[Any], dict[str, Any]] | None = None,
             from_fields: Callable[[dict[str, Any]], Any] | None = None) -> type:
    """Allow ``cls`` on the wire under ``tag`` (default: its class name).

    Dataclasses need nothing else; other classes give ``to_fields`` / ``from_fields`` (a
    :class:`~cryptodesk.params.Params` uses its ``to_dict`` / ``from_dict``). Returns ``cls``, so
    it also works as a decorator.
    """
    tag = tag or cls.__name__
    if _TYPES.get(tag, cls) is not cls:
        raise ValueError(f"wire tag {tag!r} is already taken by {_TYPES[tag].__qualname__}")
    _TYPES[tag] = cls
    _TAGS[cls] = tag
    if to_fields is not None and from_fields is not None:
        _CODECS[cls] = (to_fields, from_fields)
    elif hasattr(cls, "from_dict") and hasattr(cls, "params"):
        _CODECS[cls] = (lambda obj: obj.to_dict(), cls.from_dict)
    elif not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls.__qualname__} is not a dataclass: give to_fields/from_fields")
    return cls


def encode(value: Any) -> bytes:
    """``value`` as one frame of bytes."""
    blobs: list[bytes] = []
    header = json.dumps(_pack(value, blobs), allow_nan=False, separators=(",", ":"))
    head = header.encode("utf-8")
    out = io.BytesIO()
    out.write(MAGIC)
    out.write(struct.pack(">I", len(head)))
    out.write(head)
    for blob in blobs:
        out.write(struct.pack(">Q", len(blob)))
        out.write(blob)
    return out.getvalue()


def decode(data: bytes) -> Any:
    """The value :func:`encode` turned into ``data``; WireError when the frame is damaged."""
    view = memoryview(data)
    if bytes(view[:4]) != MAGIC or len(view) < 8:
        raise WireError("not a CryptoDesk job frame")
    (size,) = struct.unpack(">I", view[4:8])
    if size > MAX_HEADER_BYTES or 8 + size > len(view):
        raise WireError("job frame header is damaged")
    try:
        header = json.loads(bytes(view[8 : 8 + size]).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WireError(f"job frame header is not JSON ({exc})") from None
    blobs: list[memoryview] = []
    pos = 8 + size
    while pos < len(view):
        if pos + 8 > len(view):
            raise WireError("job frame is truncated")
        (n,) = struct.unpack(">Q", view[pos : pos + 8])
        if pos + 8 + n > len(view):
            raise WireError("job frame is truncated")
        blobs.append(view[pos + 8 : pos + 8 + n])
        pos += 8 + n
    try:
        return _unpack(header, blobs)
    except WireError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
        raise WireError(f"job frame holds a malformed value ({type(exc).__name__})") from None


# ---------------------------------------------------------------------- packing
def _pack(value: Any, blobs: list[bytes]) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else {"~f": repr(value)}
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, list):
        return [_pack(v, blobs) for v in value]
    if isinstance(value, tuple):
        return {"~t": [_pack(v, blobs) for v in value]}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value) and not any(k.startswith("~") for k in value):
            return {k: _pack(v, blobs) for k, v in value.items()}
        return {"~m": [[_pack(k, blobs), _pack(v, blobs)] for k, v in value.items()]}
    if isinstance(value, np.ndarray):
        return {"~a": _blob(blobs, _npy(value))}
    if isinstance(value, pd.Timestamp):
        return {"~ts": value.isoformat()}
    if isinstance(value, pd.DatetimeIndex):
        tz = None if value.tz is None else str(value.tz)
        return {"~dti": _blob(blobs, _npy(value.as_unit("ns").asi8)), "tz": tz}
    if isinstance(value, pd.DataFrame):
        return {"~df": _blob(blobs, _parquet(value))}
    cls = type(value)
    tag = _TAGS.get(cls)
    if tag is None:
        raise TypeError(f"{cls.__qualname__} cannot go on the job wire (not registered)")
    if cls in _CODECS:
        fields = _CODECS[cls][0](value)
    else:
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    return {"~o": tag, "f": {k: _pack(v, blobs) for k, v in fields.items()}}


def _blob(blobs: list[bytes], data: bytes) -> int:
    blobs.append(data)
    return len(blobs) - 1


def _npy(array: np.ndarray) -> bytes:
    if array.dtype == object:
        raise TypeError("object arrays cannot go on the job wire")
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array), allow_pickle=False)
    return buf.getvalue()


def _parquet(frame: pd.DataFrame) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=True)
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), b"cryptodesk.attrs": _attrs_json(frame)})
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd", compression_level=1)
    return buf.getvalue()


def _attrs_json(frame: pd.DataFrame) -> bytes:
    from cryptodesk.safejson import to_jsonable

    try:
        return json.dumps(to_jsonable(dict(frame.attrs)), allow_nan=False).encode("utf-8")
    except (TypeError, ValueError):
        return b"{}"


# ---------------------------------------------------------------------- unpacking
def _unpack(value: Any, blobs: list[memoryview]) -> Any:
    if isinstance(value, list):
        return [_unpack(v, blobs) for v in value]
    if not isinstance(value, dict):
        return value
    if "~f" in value:
        return float(value["~f"])
    if "~t" in value:
        return tuple(_unpack(v, blobs) for v in value["~t"])
    if "~m" in value:
        return {_hashable(_unpack(k, blobs)): _unpack(v, blobs) for k, v in value["~m"]}
    if "~a" in value:
        return _load_npy(_get(blobs, value["~a"]))
    if "~ts" in value:
        return pd.Timestamp(value["~ts"])
    if "~dti" in value:
        index = pd.DatetimeIndex(_load_npy(_get(blobs, value["~dti"])).astype("datetime64[ns]"))
        return index if value.get("tz") is None else index.tz_localize("UTC").tz_convert(
            value["tz"])
    if "~df" in value:
        return _load_parquet(_get(blobs, value["~df"]))
    if "~o" in value:
        cls = _TYPES.get(value["~o"])
        if cls is None:
            raise WireError(f"unknown type {value['~o']!r} on the job wire")
        fields = {k: _unpack(v, blobs) for k, v in value.get("f", {}).items()}
        if cls in _CODECS:
            return _CODECS[cls][1](fields)
        return cls(**fields)
    return {k: _unpack(v, blobs) for k, v in value.items()}


def _hashable(key: Any) -> Any:
    return tuple(key) if isinstance(key, list) else key


def _get(blobs: list[memoryview], index: Any) -> memoryview:
    if not isinstance(index, int) or not 0 <= index < len(blobs):
        raise WireError("job frame refers to a missing blob")
    return blobs[index]


def _load_npy(data: memoryview) -> np.ndarray:
    try:
        return np.load(io.BytesIO(bytes(data)), allow_pickle=False)
    except ValueError as exc:
        raise WireError(f"damaged array on the job wire ({exc})") from None


def _load_parquet(data: memoryview) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(pa.BufferReader(bytes(data)))
    except (pa.ArrowException, OSError) as exc:
        raise WireError(f"damaged table on the job wire ({exc})") from None
    frame = table.to_pandas()
    raw = (table.schema.metadata or {}).get(b"cryptodesk.attrs")
    if raw:
        try:
            frame.attrs.update(json.loads(raw.decode("utf-8")))
        except (UnicodeDecodeError, json.JSONDecodeError):
            pass
    return frame
