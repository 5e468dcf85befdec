"""Reading a text file's rows for the importers of texts and of sentiment series: strict
UTF-8 decoding that explains other encodings, CSV with a sniffed delimiter and fields as long
as the file, and JSON Lines (or one JSON array) with over-long integers kept as text. Sizes are
bounded before anything is read; every problem is a :class:`TextImportError` with its line."""

from __future__ import annotations

import codecs
import csv
import io
import json

from cryptodesk.data.csv_import import one_line
from cryptodesk.sentiment.errors import TextImportError

DELIMITERS = (",", ";", "\t", "|")
# The whole file is held in memory a few times over while it is read; beyond this, split it.
MAX_FILE_BYTES = 512 * 1024 * 1024
# JSON integers longer than this stay text: int() refuses thousands of digits, and no time,
# weight or text needs them as a number.
MAX_INT_DIGITS = 100


def check_size(size: int, name: object) -> None:
    """Refuse a file larger than :data:`MAX_FILE_BYTES` (held in memory a few times over)."""
    if size > MAX_FILE_BYTES:
        raise TextImportError(
            name, f"the file is {_size(size)}; texts are imported from files of at most "
            f"{_size(MAX_FILE_BYTES)}: split it (imports merge into the dataset)"
        )


def _size(n: int) -> str:
    return f"{n / 2**20:,.0f} MiB" if n >= 2**20 else f"{n / 2**10:,.1f} KiB"


# --------------------------------------------------------------------------- decoding
def decode_utf8(raw: bytes, name: str) -> str:
    """Decode strictly as UTF-8 (BOM allowed); explain other encodings instead of guessing."""
    if not raw.strip():
        raise TextImportError(name, "the file is empty")
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise TextImportError(name, "not UTF-8 (UTF-16 text); save the file as UTF-8")
    if b"\x00" in raw[:65536]:
        raise TextImportError(name, "not a text file (binary content, or UTF-16 without a BOM)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        byte = raw[exc.start:exc.start + 1].hex()
        hint = "save the file as UTF-8"
        try:
            raw.decode("cp1252")
            hint = "it looks like Windows-1252/Latin-1; " + hint
        except UnicodeDecodeError:
            pass
        raise TextImportError(
            name, f"not UTF-8 (byte 0x{byte} at offset {exc.start}); {hint}", row=line
        ) from None


# --------------------------------------------------------------------------- readers
def read_csv_rows(text: str, name: str) -> tuple[list[str], list[list[str]], list[int], list[int]]:
    """Header, rows, the file line of each row, and the lines of rows with a wrong field count.

    Shared with the series importer, so both read quoting, long fields and ragged rows alike.
    """
    first_line = next((ln for ln in text.splitlines() if ln.strip()), "")
    delimiter = max(DELIMITERS, key=first_line.count)
    if first_line.count(delimiter) == 0:
        delimiter = ","
    _allow_fields_of(len(text))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
        while not any(h.strip() for h in header):
            header = next(reader)
    except StopIteration:
        raise TextImportError(name, "no header line") from None
    except csv.Error as exc:
        raise TextImportError(name, f"not a readable CSV header: {one_line(str(exc))}", row=1) from None
    header = [h.strip() for h in header]
    width = len(header)
    rows: list[list[str]] = []
    lines: list[int] = []
    malformed: list[int] = []
    start = reader.line_num
    try:
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                start = reader.line_num
                continue
            if len(row) != width:
                malformed.append(start + 1)
            else:
                rows.append(row)
                lines.append(start + 1)
            start = reader.line_num
    except csv.Error as exc:
        raise TextImportError(name, f"CSV syntax error: {one_line(str(exc))}", row=reader.line_num) from None
    return header, rows, lines, malformed


def _allow_fields_of(length: int) -> None:
    """Let the csv module read a field as long as the whole text (its default stops at 128 KiB,
    which refused long CSV texts that import from JSON Lines). The limit is process-wide, so it
    is only ever raised, never lowered under another reader's feet."""
    if csv.field_size_limit() <= length:
        csv.field_size_limit(length + 1)


def read_jsonl_rows(text: str, name: str) -> tuple[list[str], list[list[object]], list[int], list[int]]:
    """Header (every key seen, in order), rows, the line of each row, and the lines that are
    not JSON objects; a single JSON array of objects also works."""
    records: list[dict] = []
    lines: list[int] = []
    malformed: list[int] = []
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            data = _json(text)
        except json.JSONDecodeError as exc:
            raise TextImportError(name, f"not valid JSON: {exc.msg}", row=exc.lineno) from None
        except (ValueError, RecursionError):
            raise TextImportError(name, "not valid JSON: nested too deeply") from None
        for i, item in enumerate(data if isinstance(data, list) else []):
            if isinstance(item, dict):
                records.append(item)
                lines.append(i + 1)
            else:
                malformed.append(i + 1)
    else:
        # Lines end at "\n" only: str.splitlines() would also break at U+2028 and the like,
        # which JSON allows unescaped inside strings.
        for number, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            try:
                item = _json(line)
            except (ValueError, RecursionError):  # bad JSON, or nested beyond the recursion limit
                item = None
            if isinstance(item, dict):
                records.append(item)
                lines.append(number)
            else:
                malformed.append(number)
    if not records:
        raise TextImportError(name, "no JSON objects found (expected one object per line)", row=malformed[0] if malformed else None)
    header = list(dict.fromkeys(k for r in records for k in r))
    rows = [[r.get(k) for k in header] for r in records]
    return header, rows, lines, malformed


def _json_int(digits: str) -> int | str:
    return int(digits) if len(digits) <= MAX_INT_DIGITS else digits


# One decoder for every line: ``json.loads`` with a hook would build a new one per line.
_DECODER = json.JSONDecoder(parse_int=_json_int)


def _json(text: str) -> object:
    """``json.loads`` that keeps integers of more than :data:`MAX_INT_DIGITS` digits as text."""
    return _DECODER.decode(text)
