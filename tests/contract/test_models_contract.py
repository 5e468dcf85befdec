"""The contract every registered model keeps (run over the whole registry, torch models too).

- fit/predict give the asked horizon, finite prices, ordered quantiles, P(up) in [0, 1], and
  exactly the outputs the model's capabilities declare;
- inputs are never modified;
- no look-ahead: changing every candle after a forecast origin (scaled, shuffled, NaN) leaves
  every forecast made at or before that origin bit-for-bit unchanged, refits included;
- determinism: the same config and data give identical forecasts;
- save -> load (JSON + native payload, no pickle) gives identical predictions, in this process
  and in a fresh one;
- configs round-trip through JSON.

Models run with their ``fast_config()`` on a short synthetic series, so the file stays quick.
Besides the registry's models, :data:`VARIANTS` holds a pre-trained net: an LSTM pre-trained
on another asset whose bars are joined onto the candles (``pt_aux_usd_*`` columns), so the
look-ahead check perturbs that asset's future too (every column after the cut changes).
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from cryptodesk.data.schema import make_candles
from cryptodesk.errors import ModelError
from cryptodesk.evaluation.walkforward import WalkForwardSpec, origins_of, walk_forward
from cryptodesk.features.cross_asset import join_pretrain
from cryptodesk.models.registry import available_models, load_model, model_class

# model variants that are not registry names: name -> (registry model, config changes)
VARIANTS = {"lstm+pretrain": ("lstm", {"pretrain": ("AUX-USD",), "pretrain_epochs": 2,
                                       "finetune_epochs": 2})}
MODELS = [*available_models(), *VARIANTS]
N_BARS = 260
# 24 origins, refits at origins 0 and 12: the look-ahead cut (origin 13) follows a refit
SPEC = WalkForwardSpec(horizon=2, test_size=24, refit_every=12, window="expanding")
CUT_ORIGIN = 13


def _candles(n: int = N_BARS, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ret = 0.0005 + 0.02 * rng.standard_t(4, n) / np.sqrt(2)
    close = 100 * np.exp(np.cumsum(ret))
    open_ = np.concatenate([[100.0], close[:-1]])
    spread = np.abs(rng.normal(0, 0.01, n)) * close
    frame = pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) + spread,
            "low": np.minimum(open_, close) - spread,
            "close": close,
            "volume": rng.lognormal(10, 0.5, n),
        },
        index=pd.date_range("2020-01-01", periods=n, freq="D", tz="UTC"),
    )
    return make_candles(frame, source="test", symbol="TEST-USD", timeframe="1d")


@pytest.fixture(scope="module")
def candles() -> pd.DataFrame:
    """The target's candles with another asset's bars joined causally (for pre-training)."""
    return join_pretrain(_candles(), _candles(seed=11), "AUX-USD", "1d")


def _model(name: str):
    kind, changes = VARIANTS.get(name, (name, {}))
    cls = model_class(kind)
    config = cls.fast_config()
    return cls(config.replace(**changes) if changes else config)


def _run(name: str, data: pd.DataFrame) -> pd.DataFrame:
    return walk_forward(_model(name), data, SPEC).forecasts


@pytest.fixture(scope="module")
def baseline_runs(candles: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """One reference walk-forward per model, shared by the look-ahead and determinism tests
    (model fits are the slow part of this file)."""
    cache: dict[str, pd.DataFrame] = {}
    return cache


def _baseline(cache: dict[str, pd.DataFrame], name: str, data: pd.DataFrame) -> pd.DataFrame:
    if name not in cache:
        cache[name] = _run(name, data)
    return cache[name]


@pytest.mark.parametrize("name", MODELS)
def test_fit_predict_shapes_and_capabilities(name: str, candles: pd.DataFrame) -> None:
    model = _model(name)
    caps = model.capabilities
    model.fit(candles.iloc[:220], horizon=3)
    fc = model.predict(candles.iloc[:220], 3)
    assert fc.horizon == 3
    assert np.all(np.isfinite(fc.point)) and np.all(fc.point > 0)
    assert (fc.q10 is not None) == caps.quantiles == (fc.q90 is not None)
    assert (fc.p_up is not None) == caps.p_up
    if caps.quantiles:
        assert np.all(fc.q10 <= fc.q90)
    if caps.p_up:
        assert np.all((fc.p_up >= 0) & (fc.p_up <= 1))
    shorter = model.predict(candles.iloc[:220], 1)
    assert shorter.horizon == 1
    np.testing.assert_array_equal(shorter.point, fc.point[:1])


@pytest.mark.parametrize("name", MODELS)
def test_inputs_untouched(name: str, candles: pd.DataFrame) -> None:
    data = candles.iloc[:230]
    before, attrs = data.copy(deep=True), dict(data.attrs)
    model = _model(name)
    model.fit(data, horizon=2)
    model.predict(data, 2)
    pd.testing.assert_frame_equal(data, before, check_exact=True)
    assert data.attrs == attrs


@pytest.mark.parametrize("name", MODELS)
def test_predict_before_fit_and_bad_horizon_raise(name: str, candles: pd.DataFrame) -> None:
    model = _model(name)
    with pytest.raises(ModelError):
        model.predict(candles, 1)
    model.fit(candles.iloc[:220], horizon=1)
    with pytest.raises(ModelError):
        model.predict(candles.iloc[:220], 0)
    if model.capabilities.direct:
        with pytest.raises(ModelError):
            model.predict(candles.iloc[:220], 2)


def _perturb(data: pd.DataFrame, after: int, how: str) -> pd.DataFrame:
    out = data.copy()
    cols = list(data.columns)  # the candles and every joined column (other assets' bars)
    tail = out.iloc[after + 1 :][cols].to_numpy()
    if how == "scale":
        tail = tail * 10.0
    elif how == "shuffle":
        tail = tail[np.random.default_rng(0).permutation(tail.shape[0])[::-1]]
    elif how == "nan":
        tail = np.full_like(tail, np.nan)
    out.iloc[after + 1 :, [out.columns.get_loc(c) for c in cols]] = tail
    out.attrs.update(data.attrs)
    return out


@pytest.mark.parametrize("how", ["scale", "shuffle", "nan"])
@pytest.mark.parametrize("name", MODELS)
def test_no_look_ahead(
    name: str, how: str, candles: pd.DataFrame, baseline_runs: dict[str, pd.DataFrame]
) -> None:
    origins = origins_of(candles, SPEC)
    cut = int(origins[CUT_ORIGIN])
    base = _baseline(baseline_runs, name, candles)
    data = _perturb(candles, cut, how)
    if how == "nan":
        # Models may rightly refuse NaN inputs, so stop the run at the cut: the data end one
        # NaN bar after it (the last origin is the cut itself).
        data = data.iloc[: cut + 2].copy()
        data.attrs.update(candles.attrs)
        spec = WalkForwardSpec.from_dict({**SPEC.to_dict(), "test_size": None,
                                          "test_start": str(candles.index[origins[0] + 1])})
        changed = walk_forward(_model(name), data, spec).forecasts
    else:
        changed = _run(name, data)
    cut_time = candles.index[cut]
    a = base[base["origin"] <= cut_time]
    assert len(a) == (CUT_ORIGIN + 1) * SPEC.horizon
    a = a[a["target_time"] <= data.index[-1]]  # the NaN run's data end one bar after the cut
    a = a.drop(columns=["actual"]).reset_index(drop=True)
    b = changed[changed["origin"] <= cut_time].drop(columns=["actual"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_exact=True)


@pytest.mark.parametrize("name", MODELS)
def test_deterministic(
    name: str, candles: pd.DataFrame, baseline_runs: dict[str, pd.DataFrame]
) -> None:
    base = _baseline(baseline_runs, name, candles)
    pd.testing.assert_frame_equal(base, _run(name, candles), check_exact=True)


@pytest.mark.parametrize("name", MODELS)
def test_save_load_identical(name: str, candles: pd.DataFrame, tmp_path) -> None:
    model = _model(name)
    model.fit(candles.iloc[:220], horizon=2)
    model.save(tmp_path / "m")
    assert not list((tmp_path / "m").glob("*.pkl")) and not list((tmp_path / "m").glob("*.pickle"))
    loaded = load_model(tmp_path / "m")
    assert type(loaded) is type(model) and loaded.config == model.config
    for end in (220, 240, 260):
        a, b = model.predict(candles.iloc[:end], 2), loaded.predict(candles.iloc[:end], 2)
        for field in ("point", "q10", "q90", "p_up"):
            x, y = getattr(a, field), getattr(b, field)
            assert (x is None) == (y is None)
            if x is not None:
                np.testing.assert_array_equal(x, y)


FRESH = ["ensemble", *VARIANTS]  # the registry's other models: tests/unit/test_bundles.py


def test_save_load_in_a_fresh_process_is_bit_identical(candles: pd.DataFrame, tmp_path) -> None:
    """The ensemble (learned weights, members as sub-folders) and the pre-trained net, saved
    here and loaded by a new Python process, forecast the same bits: nothing depends on state
    that lives only in the saving process."""
    expected = {}
    for i, name in enumerate(FRESH):
        model = _model(name)
        model.fit(candles.iloc[:220], horizon=2)
        model.save(tmp_path / f"m{i}")
        fc = model.predict(candles.iloc[:240], 2)
        expected[i] = [getattr(fc, f) for f in ("point", "q10", "q90", "p_up")]
    candles.iloc[:240].to_parquet(tmp_path / "candles.parquet")
    code = (
        "import sys, numpy as np, pandas as pd\n"
        "from cryptodesk.models.registry import load_model\n"
        "root = sys.argv[1]; data = pd.read_parquet(root + '/candles.parquet')\n"
        f"for i in range({len(FRESH)}):\n"
        "    fc = load_model(f'{root}/m{i}').predict(data, 2)\n"
        "    np.savez(f'{root}/out{i}.npz', **{k: v for k in ('point', 'q10', 'q90', 'p_up')\n"
        "             if (v := getattr(fc, k)) is not None})\n"
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True, timeout=300)
    for i, name in enumerate(FRESH):
        got = np.load(tmp_path / f"out{i}.npz")
        for field, want in zip(("point", "q10", "q90", "p_up"), expected[i], strict=True):
            assert (want is None) == (field not in got), (name, field)
            if want is not None:
                assert want.tobytes() == got[field].tobytes(), (name, field)


@pytest.mark.parametrize("name", available_models())
def test_config_json_round_trip(name: str) -> None:
    cls = model_class(name)
    for config in (cls.config_cls(), cls.fast_config()):
        text = json.dumps(config.to_dict())
        assert cls.config_cls.from_dict(json.loads(text)) == config
    for spec in cls.config_cls.params():
        json.dumps(spec.to_dict())
        assert spec.label


@pytest.mark.parametrize("name", MODELS)
def test_history_tail_is_enough(name: str, candles: pd.DataFrame) -> None:
    """predict on a long history equals predict on the tail the model says it needs (the
    point and the calibrated band)."""
    model = _model(name)
    model.fit(candles.iloc[:220], horizon=1)
    need = max(model.history_window(), 300 if name == "arima" else 0)
    full = model.predict(candles, 1)
    tail = model.predict(candles.iloc[-min(len(candles), need):], 1)
    if name != "arima":  # ARIMA's MA filter runs over ``filter_tail`` returns (longer here)
        for part in ("point", "q10", "q90"):
            a, b = getattr(full, part), getattr(tail, part)
            if a is not None:
                np.testing.assert_allclose(a, b, rtol=0, atol=1e-9 * full.point[0])


def test_registry_import_is_light() -> None:
    code = (
        "import sys, cryptodesk, cryptodesk.models.registry as r, cryptodesk.models.base, "
        "cryptodesk.evaluation.walkforward, cryptodesk.cli.backtest_cmds\n"
        "r.available_models()\n"
        "heavy = [m for m in ('torch', 'lightgbm', 'statsmodels', 'scipy') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_unknown_model_and_bad_config() -> None:
    from cryptodesk.models.registry import create

    with pytest.raises(ModelError, match="unknown model"):
        create("no-such-model")
    with pytest.raises(ModelError, match="unknown setting"):
        create("arima", {"max_pp": 3})
    with pytest.raises(ModelError):
        create("arima", {"max_p": 99})


@pytest.mark.parametrize("name", MODELS)
def test_predict_many_equals_predict_per_origin(name: str, candles: pd.DataFrame) -> None:
    # walk-forward predicts a block of origins in one call; each forecast must be exactly the
    # one predict() gives from the history up to its own origin
    model = _model(name)
    model.fit(candles.iloc[:200], horizon=2)
    origins = np.arange(200, 212)
    many = model.predict_many(candles.iloc[:212], origins, 2)
    for o, fc in zip(origins, many, strict=True):
        one = model.predict(candles.iloc[: o + 1], 2)
        for field in ("point", "q10", "q90", "p_up"):
            a, b = getattr(fc, field), getattr(one, field)
            assert (a is None) == (b is None)
            if a is not None:
                np.testing.assert_array_equal(a, b)
