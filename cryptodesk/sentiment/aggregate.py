"""Per-bar sentiment features, causal by construction.

For a bar with open time ``o`` and close ``c = o + bar`` (the candle index holds open times),
the texts that enter it are those stamped in ``[c - window, c)``: strictly before the close,
because the forecast made at the close of the bar must not see a text published at that very
instant or later. Each text gets the weight

    w_i = weight_i × source_weight(source_i) × 0.5 ** ((c - t_i) / half_life)

and the bar gets

- ``score``     S = Σ w_i s_i / Σ w_i (decayed, weighted mean polarity; see ``empty`` below),
- ``count``     the number of texts in the window (undecayed: "how much is being said"),
- ``neg_share`` the share of those texts with s_i < -0.05 (VADER's negative threshold),
- ``divergence`` z(ΔS) - z(Δ log close): the bar's change in sentiment minus its price change,
  each standardised by its own rolling mean and standard deviation over the last
  ``divergence_window`` bars. Positive when mood improves more than price does (or holds up
  while price falls), negative when price runs ahead of mood. Needs candles. Where neither
  the bar nor the one before it has texts, it takes the ``empty`` value (no mood to compare).

How it is computed, and why it is fast: texts are bucketed into the bars on a regular grid
(``bucket = floor((t - origin) / bar)``: a text stamped exactly at a close falls into the next
bar), the decay from each text to *its own* bar's close is applied per text, and the per-bar
sums are then carried over the window with the kernel ``δ^k`` (``δ = 0.5 ** (bar/half_life)``)
for k = 0 .. window_bars - 1. That is exact, and costs one pass over the texts plus one
convolution over the bars: a million texts aggregate in well under a second.

The window is a whole number of bars: ``window`` is rounded up to bars. Defaults: half-life one
bar, window four half-lives (94 % of the decayed weight).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
import pandas as pd

from cryptodesk.data.timeframes import timeframe_seconds
from cryptodesk.errors import CryptoDeskError, DataError
from cryptodesk.params import Params, param
from cryptodesk.sentiment.errors import SentimentError

NEGATIVE_THRESHOLD = -0.05
FEATURES = ("score", "count", "neg_share", "divergence")
_NS = 1_000_000_000
_DIRECT_KERNEL_MAX = 256  # longer windows use the recursive form (see _window_sum)


@dataclass(frozen=True)
class AggregationConfig(Params):
    """How texts become per-bar features. JSON-able (``to_dict``) so it can be saved with a model.

    ``half_life`` and ``window`` are durations (``"6h"``, ``"2d"``); ``half_life=None`` means one
    bar and ``"0"`` switches the decay off; ``window=None`` means four half-lives (one bar when
    the decay is off). ``source_weights`` maps a source name to its weight (others get
    ``default_source_weight``). ``empty`` decides the score of a bar whose window holds no texts:
    ``"neutral"`` (0.0, the default: models then see count 0 and can learn to ignore it, and no
    training rows are lost) or ``"nan"``.
    """

    error_cls: ClassVar[type[CryptoDeskError]] = SentimentError

    half_life: str | None = param(None, label="Half-life",
                                  help="Decay half-life of a text's weight, e.g. 6h; empty: one "
                                       "bar; 0: no decay.")
    window: str | None = param(None, label="Window",
                               help="How far back texts count, e.g. 2d; empty: four half-lives.")
    negative_threshold: float = param(NEGATIVE_THRESHOLD, min=-1.0, max=1.0,
                                      label="Negative below",
                                      help="Scores below this count as negative texts.")
    source_weights: dict[str, float] = param({}, min=0.0, label="Source weights",
                                             advanced=True,
                                             help="Weight per source name (others: the default).")
    default_source_weight: float = param(1.0, min=0.0, label="Default source weight",
                                         advanced=True)
    divergence_window: int = param(30, min=3, max=100_000, label="Divergence window (bars)")
    empty: Literal["neutral", "nan"] = param("neutral", label="Empty bars",
                                             help="Score of a bar with no texts: neutral 0 or NaN.")

    def __post_init__(self) -> None:
        super().__post_init__()  # types and ranges
        self.resolve("1d")  # validates the durations early

    def resolve(self, timeframe: str) -> tuple[float | None, int]:
        """(half-life in seconds or None for no decay, window length in bars) for a timeframe."""
        bar = timeframe_seconds(timeframe)
        if self.half_life is None:
            half_life: float | None = float(bar)
        else:
            seconds = _duration_seconds(self.half_life, "half_life")
            half_life = None if seconds == 0 else seconds
        if self.window is None:
            span = 4 * half_life if half_life else bar
        else:
            span = _duration_seconds(self.window, "window")
            if span <= 0:
                raise SentimentError("window must be positive")
        return half_life, max(1, math.ceil(span / bar - 1e-9))


def parse_duration(text: str, what: str = "duration") -> pd.Timedelta:
    """``"30m"``, ``"6h"``, ``"2d"``, ``"1w"`` (timeframe spelling) or any pandas duration."""
    value = str(text).strip()
    sign = -1 if value.startswith("-") else 1
    try:
        return sign * pd.Timedelta(seconds=timeframe_seconds(value.lstrip("+-")))
    except DataError:
        pass
    try:
        return pd.Timedelta(value)
    except ValueError:
        raise SentimentError(f"{what} {text!r} is not a duration (e.g. 30m, 6h, 2d)") from None


def _duration_seconds(text: str, what: str) -> float:
    if str(text).strip().lower() in ("0", "none", "off"):
        return 0.0
    return parse_duration(text, what).total_seconds()


def feature_columns(prefix: str) -> dict[str, str]:
    """Column names of the features: ``{feature: f"{prefix}_{feature}"}``."""
    return {f: f"{prefix}_{f}" for f in FEATURES}


def aggregate_texts(
    times: pd.DatetimeIndex | np.ndarray,
    scores: np.ndarray,
    bar_opens: pd.DatetimeIndex,
    timeframe: str,
    config: AggregationConfig | None = None,
    *,
    weights: np.ndarray | None = None,
    sources: np.ndarray | None = None,
) -> pd.DataFrame:
    """Per-bar ``score``, ``count``, ``neg_share`` (and ``weight``) for bars opening at ``bar_opens``.

    ``times`` are the texts' UTC stamps (any order), ``scores`` their polarity; texts with a
    NaN score are ignored. ``bar_opens`` must be sorted and lie on one grid of the timeframe
    (gaps are fine). See the module docstring for the definitions.
    """
    config = config or AggregationConfig()
    half_life, k_bars = config.resolve(timeframe)
    step = timeframe_seconds(timeframe) * _NS
    opens = _ns(bar_opens)
    n_bars = len(opens)
    out_index = pd.DatetimeIndex(bar_opens)
    if n_bars == 0:
        return pd.DataFrame({c: np.array([], dtype=np.float64) for c in ("score", "count", "neg_share", "weight")},
                            index=out_index)
    if np.any(np.diff(opens) <= 0):
        raise DataError("bar open times must be sorted and unique")
    if np.any((opens - opens[0]) % step):
        raise DataError(f"bar open times are not on one {timeframe} grid; resample the candles first")
    t = _ns(times)
    s = np.asarray(scores, dtype=np.float64)
    if len(t) != len(s):
        raise DataError("times and scores differ in length")
    w = np.ones(len(t)) if weights is None else np.asarray(weights, dtype=np.float64)
    if sources is not None and config.source_weights:
        src = pd.Categorical(np.asarray(sources, dtype=object))
        table = np.array([config.source_weights.get(str(c), config.default_source_weight)
                          for c in src.categories] + [config.default_source_weight])
        w = w * table[np.where(src.codes < 0, len(table) - 1, src.codes)]
    elif config.default_source_weight != 1.0:
        w = w * config.default_source_weight

    origin = opens[0] - (k_bars - 1) * step  # texts this early still reach the first bar
    n_grid = int((opens[-1] - origin) // step) + 1
    bucket = (t - origin) // step  # floor: a text stamped at a close lands in the next bar
    ok = (t >= origin) & (bucket < n_grid) & np.isfinite(s) & np.isfinite(w)
    bucket, t, s, w = bucket[ok], t[ok], s[ok], w[ok]
    if half_life is not None:
        age = (origin + (bucket + 1) * step - t).astype(np.float64)  # > 0: stamped before close
        w = w * np.exp2(-age / (half_life * _NS))
        delta = 2.0 ** (-(step / _NS) / half_life)
    else:
        delta = 1.0
    sum_ws = _window_sum(np.bincount(bucket, weights=w * s, minlength=n_grid), k_bars, delta)
    sum_w = _window_sum(np.bincount(bucket, weights=w, minlength=n_grid), k_bars, delta)
    count = _window_sum(np.bincount(bucket, minlength=n_grid).astype(np.float64), k_bars, 1.0)
    negative = (s < config.negative_threshold).astype(np.float64)
    n_neg = _window_sum(np.bincount(bucket, weights=negative, minlength=n_grid), k_bars, 1.0)
    rows = ((opens - origin) // step).astype(np.int64)
    sum_ws, sum_w, count, n_neg = sum_ws[rows], sum_w[rows], np.rint(count[rows]), np.rint(n_neg[rows])
    has = (count > 0) & (sum_w > 0)
    fill = 0.0 if config.empty == "neutral" else np.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(has, sum_ws / np.where(has, sum_w, 1.0), fill)
        neg_share = np.where(count > 0, n_neg / np.where(count > 0, count, 1.0), fill)
    return pd.DataFrame(
        {"score": np.clip(score, -1.0, 1.0), "count": count, "neg_share": neg_share, "weight": sum_w},
        index=out_index,
    )


def divergence(score: np.ndarray, close: np.ndarray, window: int) -> np.ndarray:
    """z(ΔS) - z(Δ log close) with rolling (trailing, causal) mean and sd over ``window`` bars."""
    score = np.asarray(score, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        log_close = np.log(np.asarray(close, dtype=np.float64))
    d_score = np.diff(score, prepend=np.nan)
    d_price = np.diff(log_close, prepend=np.nan)
    return _rolling_z(d_score, window) - _rolling_z(d_price, window)


def _rolling_z(x: np.ndarray, window: int) -> np.ndarray:
    series = pd.Series(x)
    roll = series.rolling(window, min_periods=window)
    mean, sd = roll.mean().to_numpy(), roll.std(ddof=1).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (x - mean) / sd
    z[~np.isfinite(z)] = np.nan
    # a flat window (sd 0) means "no change relative to normal": 0, not undefined
    z[(sd == 0) & np.isfinite(x)] = 0.0
    return z


def _window_sum(x: np.ndarray, k: int, delta: float) -> np.ndarray:
    """y[t] = Σ_{j<k} delta**j · x[t-j] (x before the start counts as 0)."""
    if k == 1:
        return x.astype(np.float64, copy=True)
    if k <= _DIRECT_KERNEL_MAX:
        kernel = delta ** np.arange(k, dtype=np.float64)
        return np.convolve(x, kernel)[: len(x)]
    # Long windows: the infinite geometric sum y∞[t] = delta·y∞[t-1] + x[t], minus what left
    # the window: y[t] = y∞[t] - delta**k · y∞[t-k]. O(n) instead of O(n·k).
    if delta == 1.0:
        full = np.cumsum(x, dtype=np.float64)
    else:
        from scipy.signal import lfilter

        full = lfilter([1.0], [1.0, -delta], x.astype(np.float64))
    out = full.copy()
    out[k:] -= (delta ** k) * full[:-k]
    return out


def _ns(values: pd.DatetimeIndex | np.ndarray | pd.Series) -> np.ndarray:
    if isinstance(values, pd.Series):
        values = pd.DatetimeIndex(values)
    if isinstance(values, pd.DatetimeIndex):
        if values.tz is None:
            values = values.tz_localize("UTC")
        return values.tz_convert("UTC").as_unit("ns").asi8
    arr = np.asarray(values)
    if np.issubdtype(arr.dtype, np.datetime64):
        return arr.astype("datetime64[ns]").view(np.int64)
    return arr.astype(np.int64)


def sentiment_features(
    candles: pd.DataFrame,
    dataset: str,
    *,
    config: AggregationConfig | None = None,
    prefix: str | None = None,
    datasets: object | None = None,
) -> pd.DataFrame:
    """Candles with the dataset's per-bar sentiment features joined causally.

    Adds ``{prefix}_score``, ``{prefix}_count``, ``{prefix}_neg_share`` and
    ``{prefix}_divergence`` (prefix default ``sent_<dataset>``), ready for
    ``FeatureSpec(external=(...))``. Bar t uses only texts stamped before its close. The
    dataset must be scored (``cryptodesk sentiment score``). Returns a new frame; the candles'
    metadata is kept, and ``attrs["external_sources"][prefix]`` records dataset, scorer and
    config (JSON-able), so a saved model can store how its inputs were made and
    :func:`cryptodesk.sentiment.features.rebuild_external` can make them again.
    """
    from cryptodesk.sentiment.datasets import TextDatasets, normalize_name

    config = config or AggregationConfig()
    store = datasets if datasets is not None else TextDatasets()
    name = normalize_name(dataset)
    frame, meta = store.read(name, ["score", "weight", "source"])  # type: ignore[attr-defined]
    unscored = int(frame["score"].isna().sum())
    if unscored:  # never aggregate a silently partial dataset
        raise SentimentError(
            f"{unscored:,} of {len(frame):,} texts in dataset {name!r} are not scored yet: "
            f"run 'cryptodesk sentiment score {name}'"
        )
    timeframe = candles.attrs.get("timeframe")
    if not timeframe:
        raise DataError("candles carry no timeframe (attrs['timeframe'])")
    prefix = prefix or f"sent_{name.replace('-', '_')}"
    cols = feature_columns(prefix)
    clash = [c for c in cols.values() if c in candles.columns]
    if clash:
        raise DataError(f"column(s) {', '.join(clash)} already in the candles")
    per_bar = aggregate_texts(
        frame["time"], frame["score"].to_numpy(dtype=np.float64, na_value=np.nan), candles.index,
        timeframe, config, weights=frame["weight"].to_numpy(dtype=np.float64),
        sources=frame["source"].to_numpy(dtype=object),
    )
    out = candles.copy()
    out[cols["score"]] = per_bar["score"].to_numpy()
    out[cols["count"]] = per_bar["count"].to_numpy()
    out[cols["neg_share"]] = per_bar["neg_share"].to_numpy()
    div = divergence(per_bar["score"].to_numpy(), candles["close"].to_numpy(), config.divergence_window)
    # No texts in this bar's window nor the previous one: there is no change of mood to
    # compare, so the divergence is the empty value too rather than a price-only signal.
    count = per_bar["count"].to_numpy()
    silent = (count == 0) & (np.r_[0.0, count[:-1]] == 0)
    div[silent] = 0.0 if config.empty == "neutral" else np.nan
    out[cols["divergence"]] = div
    out.attrs.update(candles.attrs)
    sources = dict(candles.attrs.get("external_sources", {}))
    sources[prefix] = {
        "kind": "sentiment", "dataset": name, "scorer": meta.get("scorer"),
        "config": config.to_dict(), "columns": list(cols.values()),
    }
    out.attrs["external_sources"] = sources
    return out
