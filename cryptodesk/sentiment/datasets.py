"""Text datasets in the user data directory: one Parquet file per dataset, written atomically.

Layout: ``<data>/sentiment/<name>.parquet`` with columns ``time`` (UTC), ``text``, ``source``,
``weight`` and ``score`` (NaN until scored). Everything else (when and from which files it was
imported, which scorer produced the scores, with its lexicon versions and hashes) lives in the
Parquet footer's key-value metadata under ``cryptodesk``, so a dataset is one self-describing
file that is replaced in one atomic rename: a crash mid-import leaves the previous version.

Importing into an existing dataset merges (overlapping exports are the normal case) and removes
duplicates by (time, source, text), keeping the stored row and its score. Read-modify-write
steps (merge, scoring) hold an advisory file lock per dataset, so the GUI's worker and a CLI
command cannot interleave and lose each other's rows (POSIX; elsewhere the last writer wins).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from cryptodesk.atomic import write_with
from cryptodesk.paths import app_paths
from cryptodesk.sentiment.errors import SentimentError

SCHEMA_VERSION = 1
META_KEY = b"cryptodesk"
COLUMNS = ("time", "text", "source", "weight", "score")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def normalize_name(name: str) -> str:
    """Dataset names are lower-case slugs (they become file names and column prefixes)."""
    text = str(name).strip().lower()
    if not _NAME.match(text):
        raise SentimentError(
            f"invalid dataset name {name!r}: use 1-64 letters, digits, '-' or '_' "
            "(starting with a letter or digit)"
        )
    return text


@dataclass(frozen=True)
class DatasetInfo:
    """One line of ``sentiment list``."""

    name: str
    rows: int
    first: pd.Timestamp | None
    last: pd.Timestamp | None
    scored: bool
    scorer: dict | None
    size_bytes: int
    meta: dict


@dataclass(frozen=True)
class MergeResult:
    """What an import did to the stored dataset."""

    added: int
    already_stored: int
    rows_after: int


class TextDatasets:
    """The store of text datasets under ``root`` (default ``app_paths().data / 'sentiment'``)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else app_paths().data / "sentiment"

    def path(self, name: str) -> Path:
        return self.root / f"{normalize_name(name)}.parquet"

    def exists(self, name: str) -> bool:
        return self.path(name).is_file()

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.stem for p in self.root.glob("*.parquet") if _NAME.match(p.stem))

    # ------------------------------------------------------------------ read
    def read(self, name: str, columns: list[str] | None = None) -> tuple[pd.DataFrame, dict]:
        """The dataset frame (sorted by time) and its metadata; clear error if unknown.

        ``columns`` reads only those (``time`` always): aggregation needs no text, and the text
        column is most of the file.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = self.path(name)
        if not path.is_file():
            known = ", ".join(self.names()) or "none"
            raise SentimentError(f"no sentiment dataset {name!r} (stored: {known})")
        try:
            wanted = None if columns is None else list(dict.fromkeys(["time", *columns]))
            table = pq.read_table(path, columns=wanted)
        except (OSError, pa.ArrowException) as exc:  # corrupt file: the user's data, explain it
            raise SentimentError(f"cannot read sentiment dataset {name!r} ({path}): {exc}") from None
        meta = _meta_of(table.schema.metadata)
        frame = table.to_pandas()
        frame["time"] = pd.DatetimeIndex(frame["time"]).tz_convert("UTC").as_unit("ns")
        return frame, meta

    def info(self, name: str) -> DatasetInfo:
        """Summary from the Parquet footer (cheap: no text is read)."""
        import pyarrow.parquet as pq

        path = self.path(name)
        if not path.is_file():
            raise SentimentError(f"no sentiment dataset {name!r}")
        meta = _meta_of(pq.read_schema(path).metadata)
        first = pd.Timestamp(meta["first"]) if meta.get("first") else None
        last = pd.Timestamp(meta["last"]) if meta.get("last") else None
        return DatasetInfo(
            name=normalize_name(name), rows=int(meta.get("rows", 0)), first=first, last=last,
            scored=bool(meta.get("scored")), scorer=meta.get("scorer"),
            size_bytes=path.stat().st_size, meta=meta,
        )

    def list(self) -> list[DatasetInfo]:
        return [self.info(n) for n in self.names()]

    # ------------------------------------------------------------------ write
    @contextlib.contextmanager
    def locked(self, name: str) -> Iterator[None]:
        """Hold the dataset's advisory lock (not re-entrant: take it once per operation)."""
        try:
            import fcntl
        except ImportError:  # Windows: no advisory locks; atomic writes still protect files
            yield
            return
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / f".{normalize_name(name)}.lock", "a+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def write(self, name: str, frame: pd.DataFrame, meta: dict) -> None:
        """Replace the dataset atomically with ``frame`` (columns :data:`COLUMNS`)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        name = normalize_name(name)
        frame = _canonical(frame)
        meta = dict(meta)
        meta.update(
            schema_version=SCHEMA_VERSION, name=name, rows=len(frame),
            first=_iso(frame["time"].iloc[0]) if len(frame) else None,
            last=_iso(frame["time"].iloc[-1]) if len(frame) else None,
            scored=bool(len(frame)) and bool(frame["score"].notna().all()),
            updated=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        )
        table = pa.Table.from_pandas(frame, preserve_index=False)
        schema_meta = dict(table.schema.metadata or {})
        schema_meta[META_KEY] = json.dumps(meta).encode("utf-8")
        table = table.replace_schema_metadata(schema_meta)
        write_with(self.path(name), lambda tmp: pq.write_table(table, tmp, compression="zstd"))

    def merge(
        self, name: str, new: pd.DataFrame, *, replace: bool = False, source_file: str | None = None
    ) -> MergeResult:
        """Add imported rows to a dataset (or replace it); duplicates keep the stored row."""
        name = normalize_name(name)
        with self.locked(name):
            return self._merge(name, new, replace, source_file)

    def _merge(self, name: str, new: pd.DataFrame, replace: bool, source_file: str | None) -> MergeResult:
        new = new.copy()
        if "score" not in new.columns:
            new["score"] = np.nan
        if self.exists(name) and not replace:
            old, meta = self.read(name)
            both = pd.concat([old, _canonical(new)], ignore_index=True)
            both = both.drop_duplicates(subset=["time", "source", "text"], keep="first")
            added = len(both) - len(old)
        else:
            meta, both, added = {}, _canonical(new), len(new)
        both = both.sort_values("time", kind="stable").reset_index(drop=True)
        imports = list(meta.get("imports", []))
        imports.append({
            "file": source_file, "rows": len(new), "added": added,
            "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        })
        meta["imports"] = imports[-50:]
        self.write(name, both, meta)
        return MergeResult(added=added, already_stored=len(new) - added, rows_after=len(both))

    def set_scores(self, name: str, scores: np.ndarray, identity: dict) -> None:
        """Store a full set of scores with the identity of the scorer that made them."""
        with self.locked(name):
            self._set_scores(name, scores, identity)

    def _set_scores(self, name: str, scores: np.ndarray, identity: dict) -> None:
        frame, meta = self.read(name)
        if len(scores) != len(frame):
            raise SentimentError("score count does not match the dataset")  # a bug, not data
        frame["score"] = np.asarray(scores, dtype=np.float64)
        meta["scorer"] = identity
        self.write(name, frame, meta)

    def delete(self, name: str) -> bool:
        path = self.path(name)
        if not path.is_file():
            return False
        with self.locked(name):
            path.unlink()
        (self.root / f".{normalize_name(name)}.lock").unlink(missing_ok=True)
        return True


def score_dataset(
    datasets: TextDatasets, name: str, scorer: object, *, only_missing: bool = True
) -> tuple[int, dict]:
    """Score a stored dataset with ``scorer`` and store the result; returns (texts scored, identity).

    When the stored scores come from the same scorer (same identity), only unscored rows are
    scored; otherwise every row is, so one dataset never mixes two scorers.
    """
    with datasets.locked(name):
        frame, meta = datasets.read(name)
        identity = scorer.identity()  # type: ignore[attr-defined]
        scores = frame["score"].to_numpy(dtype=np.float64, na_value=np.nan).copy()
        if only_missing and meta.get("scorer") == identity:
            todo = np.flatnonzero(np.isnan(scores))
        else:
            todo = np.arange(len(frame))
        if todo.size:
            texts = frame["text"].to_numpy(dtype=object)[todo].tolist()
            scores[todo] = scorer.score(texts)  # type: ignore[attr-defined]
        frame["score"] = scores
        meta["scorer"] = identity
        datasets.write(name, frame, meta)
    return int(todo.size), identity


def _canonical(frame: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in ("time", "text") if c not in frame.columns]
    if missing:
        raise SentimentError(f"text frame lacks column(s) {', '.join(missing)}")
    out = pd.DataFrame({
        "time": pd.DatetimeIndex(frame["time"]).tz_convert("UTC").as_unit("ns"),
        "text": pd.array(frame["text"], dtype="string"),
        "source": pd.array(frame["source"] if "source" in frame else [""] * len(frame), dtype="string"),
        "weight": np.asarray(frame["weight"] if "weight" in frame else np.ones(len(frame)), dtype=np.float64),
        "score": np.asarray(frame["score"] if "score" in frame else np.full(len(frame), np.nan), dtype=np.float64),
    })
    out["source"] = out["source"].fillna("")
    return out


def _meta_of(schema_meta: dict | None) -> dict:
    raw = (schema_meta or {}).get(META_KEY)
    if not raw:
        return {}
    try:
        return json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return {}


def _iso(ts: pd.Timestamp) -> str:
    return pd.Timestamp(ts).isoformat().replace("+00:00", "Z")
