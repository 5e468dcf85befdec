"""External inputs: sentiment datasets (and, through them, other series) as model features.

A run that uses a sentiment dataset joins the dataset's per-bar features onto the candles
causally (bar t sees only texts stamped before its close) and feeds their columns to every
model that takes external inputs: LightGBM through its feature spec, the nets through their
``external`` list. The column names are known before the join, so a run spec records them in
each model's full config and a replay rebuilds exactly the same inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cryptodesk.jobs import TaskContext

SENTIMENT_SHOWN = ("score", "neg_share")


def sentiment_prefix(dataset: str) -> str:
    """Column prefix of a dataset's features (``sent_<name>``)."""
    from cryptodesk.sentiment.datasets import normalize_name

    return f"sent_{normalize_name(dataset).replace('-', '_')}"


def sentiment_columns(dataset: str) -> tuple[str, ...]:
    """The feature columns joining ``dataset`` adds (score, count, share negative, divergence)."""
    from cryptodesk.sentiment.aggregate import feature_columns

    return tuple(feature_columns(sentiment_prefix(dataset)).values())


def join_sentiment(candles: pd.DataFrame, dataset: str, config: Any = None) -> pd.DataFrame:
    """The candles with ``dataset``'s features joined causally (see module docstring)."""
    from cryptodesk.sentiment.aggregate import sentiment_features

    return sentiment_features(candles, dataset, config=config)


def add_external(models: list[tuple[str, dict[str, Any]]],
                 columns: tuple[str, ...]) -> list[tuple[str, dict[str, Any]]]:
    """``models`` with ``columns`` added to the inputs of each model that takes external
    columns (the feature spec's ``external`` or the nets' ``external`` list; an ensemble's
    members that take them); other models are unchanged. Configs without the field start
    from the model's defaults."""
    from cryptodesk.models.registry import config_class, model_entry

    out = []
    for name, config in models:
        caps = model_entry(name).capabilities
        config = dict(config)
        if caps.composite:
            full = config_class(name).from_dict(config).to_dict()
            members = add_external(list(full["member_configs"].items()), columns)
            config["member_configs"] = dict(members)
        elif caps.uses_features:
            if "features" not in config:
                config["features"] = config_class(name)().to_dict()["features"]
            features = dict(config["features"])
            features["external"] = _merged(features.get("external"), columns)
            config["features"] = features
        elif caps.external_inputs:
            config["external"] = _merged(config.get("external"), columns)
        out.append((name, config))
    return out


def external_of(config: dict[str, Any]) -> list[str]:
    """External columns a model config feeds its model (feature spec or the nets' list)."""
    features = config.get("features") or {}
    return list(features.get("external") or config.get("external") or [])


def _merged(current: Any, columns: tuple[str, ...]) -> list[str]:
    have = list(current or [])
    return have + [c for c in columns if c not in have]


# ---------------------------------------------------------------------- datasets for the GUI
@dataclass(frozen=True)
class DatasetChoice:
    """A sentiment dataset a run can use (``scored=False``: not usable yet)."""

    name: str
    rows: int
    scored: bool
    first: str = ""
    last: str = ""


def list_datasets(ctx: TaskContext) -> list[DatasetChoice]:
    """Stored sentiment datasets (Parquet footers only: no text is read)."""
    from cryptodesk.sentiment.datasets import TextDatasets

    ctx.progress(None, "listing sentiment datasets")
    return [DatasetChoice(info.name, info.rows, info.scored,
                          str(info.first)[:10] if info.first is not None else "",
                          str(info.last)[:10] if info.last is not None else "")
            for info in TextDatasets().list()]


@dataclass(frozen=True)
class SentimentView:
    """A dataset's per-bar features on one series, for the sentiment chart row."""

    dataset: str
    series_key: Any
    columns: dict[str, tuple[np.ndarray, np.ndarray]]
    feature_columns: tuple[str, ...]


def sentiment_view(candles: pd.DataFrame, dataset: str, ctx: TaskContext) -> SentimentView:
    """Join ``dataset`` onto ``candles`` and keep the chart's series (score, share negative)."""
    from cryptodesk.data.schema import meta_of

    ctx.progress(None, f"aggregating sentiment of {dataset}")
    before = set(candles.columns)
    out = join_sentiment(candles, dataset)
    cols = tuple(c for c in out.columns if c not in before)
    x = out.index.as_unit("ns").asi8 / 1e9
    shown = {}
    for col in cols:
        if any(col.endswith("_" + s) for s in SENTIMENT_SHOWN):
            shown[col] = (x, out[col].to_numpy(np.float64))
    return SentimentView(dataset, meta_of(candles).key, shown, cols)
