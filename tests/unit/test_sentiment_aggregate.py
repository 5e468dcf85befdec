"""Per-bar aggregation: exact against a brute-force definition, and free of look-ahead."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cryptodesk.data.schema import make_candles
from cryptodesk.errors import DataError
from cryptodesk.sentiment.aggregate import (
    AggregationConfig,
    _window_sum,
    aggregate_texts,
    divergence,
    feature_columns,
    sentiment_features,
)
from cryptodesk.sentiment.datasets import TextDatasets
from cryptodesk.sentiment.errors import SentimentError

HOUR = pd.Timedelta("1h")
T0 = pd.Timestamp("2024-01-01", tz="UTC")


def brute_force(times, scores, weights, opens, step, half_life_s, k_bars, threshold=-0.05):
    """The definition, one bar at a time: texts in [close - k·step, close), decayed to the close."""
    rows = []
    for o in opens:
        close = o + step
        inside = (times >= close - k_bars * step) & (times < close)
        age = np.array([(close - t).total_seconds() for t in times[inside]])
        w = weights[inside] * (0.5 ** (age / half_life_s) if half_life_s else 1.0)
        s = scores[inside]
        n = int(inside.sum())
        score = float((w * s).sum() / w.sum()) if n and w.sum() > 0 else 0.0
        rows.append((score, n, float((s < threshold).sum() / n) if n else 0.0))
    return np.array(rows)


@settings(max_examples=60, deadline=None)
@given(
    offsets=st.lists(st.integers(-5 * 3600, 30 * 3600), min_size=0, max_size=60),
    data=st.data(),
    k_bars=st.integers(1, 6),
    half_life_h=st.sampled_from([None, 0.5, 1.0, 3.0]),
)
def test_matches_brute_force(offsets, data, k_bars, half_life_h) -> None:
    n = len(offsets)
    scores = np.array(data.draw(st.lists(st.floats(-1, 1), min_size=n, max_size=n)), dtype=float)
    weights = np.array(data.draw(st.lists(st.floats(0.1, 5), min_size=n, max_size=n)), dtype=float)
    times = pd.DatetimeIndex([T0 + pd.Timedelta(seconds=s) for s in offsets], tz="UTC")
    opens = pd.date_range(T0, periods=24, freq="h", tz="UTC").delete([5, 6, 11])  # gaps are fine
    config = AggregationConfig(
        half_life="0" if half_life_h is None else f"{half_life_h * 3600:.0f}s", window=f"{k_bars}h"
    )
    got = aggregate_texts(times, scores, opens, "1h", config, weights=weights)
    want = brute_force(times, scores, weights, opens, HOUR,
                       None if half_life_h is None else half_life_h * 3600, k_bars)
    np.testing.assert_allclose(got["score"], want[:, 0], atol=1e-9)
    np.testing.assert_array_equal(got["count"], want[:, 1])
    np.testing.assert_allclose(got["neg_share"], want[:, 2], atol=1e-12)


def test_text_at_the_close_or_later_never_enters_the_bar() -> None:
    opens = pd.date_range(T0, periods=4, freq="h", tz="UTC")
    close0 = T0 + HOUR
    base_t = pd.DatetimeIndex([T0 + pd.Timedelta("10min")])
    base = aggregate_texts(base_t, np.array([0.5]), opens, "1h", AggregationConfig(window="3h"))
    for stamp in (close0, close0 + pd.Timedelta("1ns"), close0 + pd.Timedelta("2h")):
        t = base_t.append(pd.DatetimeIndex([stamp]))
        got = aggregate_texts(t, np.array([0.5, -1.0]), opens, "1h", AggregationConfig(window="3h"))
        assert got.iloc[0].equals(base.iloc[0]), stamp  # bar 0 untouched
    # one nanosecond before the close it does enter
    t = base_t.append(pd.DatetimeIndex([close0 - pd.Timedelta("1ns")]))
    got = aggregate_texts(t, np.array([0.5, -1.0]), opens, "1h", AggregationConfig(window="3h"))
    assert got["count"].iloc[0] == 2 and got["score"].iloc[0] < base["score"].iloc[0]


@settings(max_examples=40, deadline=None)
@given(cut=st.integers(0, 20), seed=st.integers(0, 10_000))
def test_changing_texts_after_a_close_leaves_that_bar_and_earlier_unchanged(cut: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    opens = pd.date_range(T0, periods=24, freq="h", tz="UTC")
    times = pd.DatetimeIndex(T0 + pd.to_timedelta(rng.integers(0, 24 * 3600, 300), unit="s"))
    scores = rng.uniform(-1, 1, 300)
    config = AggregationConfig(half_life="2h", window="5h")
    before = aggregate_texts(times, scores, opens, "1h", config)
    close = opens[cut] + HOUR
    later = np.asarray(times >= close)
    scores2 = scores.copy()
    scores2[later] = rng.uniform(-1, 1, later.sum())
    extra = pd.DatetimeIndex([close, close + pd.Timedelta("17min")])
    after = aggregate_texts(times.append(extra), np.append(scores2, [1.0, -1.0]), opens, "1h", config)
    pd.testing.assert_frame_equal(before.iloc[: cut + 1], after.iloc[: cut + 1])


def test_long_window_recursion_equals_direct_convolution() -> None:
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, 2000)
    for delta in (1.0, 0.999, 0.97):
        direct = np.convolve(x, delta ** np.arange(400))[: len(x)]
        np.testing.assert_allclose(_window_sum(x, 400, delta), direct, atol=1e-9)


def test_source_weights_and_empty_policy() -> None:
    opens = pd.date_range(T0, periods=3, freq="h", tz="UTC")
    times = pd.DatetimeIndex([T0 + pd.Timedelta("10min"), T0 + pd.Timedelta("20min")])
    scores = np.array([1.0, -1.0])
    sources = np.array(["news", "forum"], dtype=object)
    cfg = AggregationConfig(half_life="0", window="1h", source_weights={"news": 3.0})
    got = aggregate_texts(times, scores, opens, "1h", cfg, sources=sources)
    assert got["score"].iloc[0] == pytest.approx(0.5)  # (3 - 1) / 4
    assert got["neg_share"].iloc[0] == 0.5 and got["count"].iloc[0] == 2
    assert got["score"].iloc[1] == 0.0 and got["count"].iloc[1] == 0  # neutral when empty
    nan_cfg = AggregationConfig(half_life="0", window="1h", empty="nan")
    got = aggregate_texts(times, scores, opens, "1h", nan_cfg)
    assert np.isnan(got["score"].iloc[1]) and np.isnan(got["neg_share"].iloc[1])


def test_texts_with_nan_score_are_ignored() -> None:
    opens = pd.date_range(T0, periods=1, freq="h", tz="UTC")
    times = pd.DatetimeIndex([T0, T0 + pd.Timedelta("1min")])
    got = aggregate_texts(times, np.array([np.nan, 0.4]), opens, "1h", AggregationConfig(window="1h"))
    assert got["count"].iloc[0] == 1 and got["score"].iloc[0] == pytest.approx(0.4)


def test_config_validation_and_defaults() -> None:
    assert AggregationConfig().resolve("1h") == (3600.0, 4)  # half-life 1 bar, 4 half-lives
    assert AggregationConfig(half_life="6h").resolve("1h") == (21600.0, 24)
    assert AggregationConfig(half_life="0").resolve("1d") == (None, 1)
    assert AggregationConfig(window="90m").resolve("1h")[1] == 2  # rounded up to bars
    for bad in ({"half_life": "soon"}, {"empty": "zero"}, {"divergence_window": 1},
                {"source_weights": {"x": -1}}):
        with pytest.raises(SentimentError):
            AggregationConfig(**bad)
    assert AggregationConfig(source_weights={"a": 2}).to_dict()["source_weights"] == {"a": 2.0}


def test_misaligned_bars_are_refused() -> None:
    opens = pd.DatetimeIndex([T0, T0 + pd.Timedelta("90min")])
    with pytest.raises(DataError, match="grid"):
        aggregate_texts(pd.DatetimeIndex([T0]), np.array([0.1]), opens, "1h")


def test_divergence_is_causal_and_signed() -> None:
    rng = np.random.default_rng(3)
    score = rng.uniform(-1, 1, 120)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 120)))
    base = divergence(score, close, 20)
    assert np.isnan(base[:20]).all() and np.isfinite(base[21:]).all()
    close2, score2 = close.copy(), score.copy()
    close2[80:] *= 1.5
    score2[80:] = -score2[80:]
    np.testing.assert_array_equal(divergence(score2, close2, 20)[:80], base[:80])
    # mood jumps while price is flat -> positive divergence
    s = np.zeros(60)
    s[-1] = 0.9
    c = 100 * np.exp(np.cumsum(np.r_[0, rng.normal(0, 0.01, 59)]))
    c[-1] = c[-2]
    assert divergence(s + rng.normal(0, 0.01, 60), c, 30)[-1] > 1


def _candles(n: int = 72) -> pd.DataFrame:
    idx = pd.date_range(T0, periods=n, freq="h", tz="UTC")
    close = 100 * np.exp(np.cumsum(np.random.default_rng(0).normal(0, 0.01, n)))
    frame = pd.DataFrame({"open": close, "high": close * 1.01, "low": close * 0.99, "close": close,
                          "volume": np.ones(n)}, index=idx)
    return make_candles(frame, source="test", symbol="BTC-USD", timeframe="1h")


def test_sentiment_features_feed_the_feature_builder() -> None:
    from cryptodesk.features.builders import build_features
    from cryptodesk.features.spec import FeatureSpec

    rng = np.random.default_rng(5)
    times = T0 + pd.to_timedelta(rng.integers(0, 72 * 3600, 500), unit="s")
    texts = pd.DataFrame({"time": times, "text": [f"t{i}" for i in range(500)], "source": "x",
                          "weight": 1.0, "score": rng.uniform(-1, 1, 500)})
    store = TextDatasets()
    store.merge("tweets", texts)  # scores come with the frame here (a scorer's job otherwise)
    candles = _candles()
    out = sentiment_features(candles, "tweets", config=AggregationConfig(divergence_window=10))
    cols = feature_columns("sent_tweets")
    assert list(out.columns[:5]) == ["open", "high", "low", "close", "volume"]
    assert all(c in out.columns for c in cols.values())
    assert out.attrs["timeframe"] == "1h" and out.attrs["external_sources"]["sent_tweets"]["dataset"] == "tweets"
    assert out[cols["count"]].sum() > 0
    spec = FeatureSpec(return_lags=2, volatility_windows=(), rsi_window=None, macd_fast=None,
                       bollinger_window=None, atr_window=None, volume_z_window=None, calendar=False,
                       external=tuple(cols.values()))
    feats = build_features(out, spec)
    assert feats.shape == (72, 6)
    np.testing.assert_array_equal(feats[f"ext_{cols['score']}"], out[cols["score"]])
    with pytest.raises(DataError, match="already in the candles"):
        sentiment_features(out, "tweets")


def test_sentiment_features_refuse_unscored_and_unknown_datasets() -> None:
    store = TextDatasets()
    store.merge("raw", pd.DataFrame({"time": [T0], "text": ["hello"]}))
    with pytest.raises(SentimentError, match="not scored"):
        sentiment_features(_candles(), "raw")
    with pytest.raises(SentimentError, match="no sentiment dataset"):
        sentiment_features(_candles(), "missing")


def test_end_to_end_texts_at_or_after_a_close_do_not_change_that_bar() -> None:
    """Through the store and the join: later texts never move earlier feature rows."""
    rng = np.random.default_rng(9)
    candles = _candles(48)
    times = T0 + pd.to_timedelta(rng.integers(0, 48 * 3600, 400), unit="s")
    base = pd.DataFrame({"time": times, "text": [f"t{i}" for i in range(400)],
                         "score": rng.uniform(-1, 1, 400)})
    store = TextDatasets()
    store.merge("a", base)
    config = AggregationConfig(half_life="2h", window="6h", divergence_window=5)
    before = sentiment_features(candles, "a", config=config, prefix="s")
    t = 20
    close = candles.index[t] + HOUR
    late = pd.DataFrame({"time": [close, close + pd.Timedelta("1s"), close + pd.Timedelta("5h")],
                         "text": ["moon", "rekt", "x"], "score": [1.0, -1.0, -1.0]})
    store.merge("a", late)
    after = sentiment_features(candles, "a", config=config, prefix="s")
    pd.testing.assert_frame_equal(before.iloc[: t + 1], after.iloc[: t + 1])
    assert not before.iloc[t + 1:].equals(after.iloc[t + 1:])


def test_divergence_is_empty_where_there_is_no_mood() -> None:
    store = TextDatasets()
    store.merge("sparse", pd.DataFrame({"time": [T0 + pd.Timedelta("30h")], "text": ["x"], "score": [0.8]}))
    cfg = AggregationConfig(half_life="0", window="1h", divergence_window=5)
    out = sentiment_features(_candles(48), "sparse", config=cfg, prefix="s")
    assert out["s_count"].sum() == 1
    silent = (out["s_count"] == 0) & (out["s_count"].shift(1, fill_value=0) == 0)
    assert (out.loc[silent, "s_divergence"] == 0).all()
    assert out["s_divergence"].iloc[30] != 0 and out["s_divergence"].iloc[31] != 0


def test_recorded_sources_rebuild_the_same_columns_after_a_json_round_trip() -> None:
    import json

    from cryptodesk.sentiment.datasets import score_dataset
    from cryptodesk.sentiment.features import external_sources, rebuild_external
    from cryptodesk.sentiment.scorers import LexiconScorer
    from cryptodesk.sentiment.series_import import SeriesStore, join_series, parse_series_csv

    rng = np.random.default_rng(4)
    times = T0 + pd.to_timedelta(rng.integers(0, 48 * 3600, 200), unit="s")
    words = np.array(["moon", "rekt", "hodl", "scam", "fine"], dtype=object)
    store = TextDatasets()
    store.merge("news", pd.DataFrame({"time": times, "text": rng.choice(words, 200)}))
    score_dataset(store, "news", LexiconScorer())
    rows = "".join(f"{(T0 + pd.Timedelta(hours=h)).isoformat()},{h}\n" for h in range(0, 48, 6))
    frame, report = parse_series_csv(f"time,oi\n{rows}".encode(), name="oi")
    SeriesStore().write("oi", frame, report)

    cfg = AggregationConfig(half_life="3h", window="12h", source_weights={"x": 2.0}, divergence_window=6)
    built = join_series(sentiment_features(_candles(48), "news", config=cfg), "oi")
    sources = json.loads(json.dumps(external_sources(built)))
    assert set(sources) == {"sent_news", "oi"}
    again = rebuild_external(_candles(48), sources)
    pd.testing.assert_frame_equal(again, built)
    # a dataset rescored by another scorer is refused, not silently mixed
    store.set_scores("news", np.zeros(200), {"scorer": "other"})
    with pytest.raises(SentimentError, match="rescore"):
        rebuild_external(_candles(48), sources)
    with pytest.raises(SentimentError, match="unknown setting"):
        AggregationConfig.from_dict({"half_lfe": "1h"})
