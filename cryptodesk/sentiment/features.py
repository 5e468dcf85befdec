"""Rebuild external feature columns from their JSON description, for saved models.

A model trained with ``FeatureSpec(external=(...))`` needs the same external columns, made the
same way, when it forecasts later. :func:`cryptodesk.sentiment.aggregate.sentiment_features`
and :func:`cryptodesk.sentiment.series_import.join_series` record what they added in
``candles.attrs["external_sources"]`` (plain JSON: kind, dataset or series, aggregation config,
scorer identity, column names). Store that dict with the model (the bundle manifest), and
:func:`rebuild_external` turns fresh candles into the same feature columns: same dataset, same
half-life and window, same prefix.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from cryptodesk.sentiment.errors import SentimentError


def external_sources(frame: pd.DataFrame) -> dict:
    """The JSON-able description of the external columns a frame carries (may be empty)."""
    return dict(frame.attrs.get("external_sources", {}))


def rebuild_external(candles: pd.DataFrame, sources: Mapping[str, Mapping]) -> pd.DataFrame:
    """Apply each recorded source to ``candles`` again; returns a new frame.

    Warns nothing and guesses nothing: an unknown kind, a deleted dataset or a scorer that no
    longer matches raises a :class:`~cryptodesk.errors.CryptoDeskError` naming the source.
    """
    from cryptodesk.sentiment.aggregate import AggregationConfig, sentiment_features
    from cryptodesk.sentiment.datasets import TextDatasets
    from cryptodesk.sentiment.series_import import join_series

    out = candles
    for key, spec in sources.items():
        kind = spec.get("kind")
        if kind == "sentiment":
            dataset = str(spec["dataset"])
            recorded = spec.get("scorer")
            if recorded is not None:
                current = TextDatasets().info(dataset).scorer
                if current != recorded:
                    raise SentimentError(
                        f"dataset {dataset!r} is now scored by {(current or {}).get('scorer')!r}, "
                        f"the model was trained on {recorded.get('scorer')!r} scores; rescore it "
                        "with the same scorer"
                    )
            config = AggregationConfig.from_dict(spec.get("config", {}))
            out = sentiment_features(out, dataset, config=config, prefix=key)
        elif kind == "series":
            out = join_series(out, str(spec["series"]), max_age=spec.get("max_age"))
        else:
            raise SentimentError(f"unknown external source kind {kind!r} for {key!r}")
    return out
