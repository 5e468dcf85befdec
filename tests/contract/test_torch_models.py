"""Contract tests of the deep forecasters (lstm, gru, cnn, cnn_gru, transformer).

On top of the registry-wide contract (``test_models_contract.py``) each net must:

- learn: on a synthetic AR(1)-plus-noise return series its validation loss ends clearly below
  the naive (no-change) forecast's;
- not look ahead: forecasts ignore everything after the origin and everything before the
  lookback tail, and scaling statistics ignore the validation tail;
- be deterministic under a seed; save -> load gives identical predictions, from a
  ``state_dict`` read with ``weights_only=True`` and JSON;
- stop within one batch when cancelled, leaving no fitted or saved model behind;
- report every epoch (``EpochReport`` partials, progress, ``history_``);
- train on a CUDA GPU without code changes (skipped without one).

Nets are tiny (hidden 8-16, lookback 16, a few epochs, a few hundred bars) and torch runs on
one thread, so the file stays fast on two cores.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from cryptodesk.data.schema import make_candles  # noqa: E402
from cryptodesk.errors import ModelError  # noqa: E402
from cryptodesk.jobs import Cancelled, TaskContext  # noqa: E402
from cryptodesk.models.epochs import EpochReport  # noqa: E402
from cryptodesk.models.registry import (  # noqa: E402
    default_registry,
    load_model,
    model_class,
)

NETS = sorted(e.name for e in default_registry().entries() if e.library == "PyTorch")


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One torch thread: faster for tiny nets on a shared 2-core machine, and steadier."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def ar1_candles(n: int = 420, phi: float = 0.6, sigma: float = 0.01, seed: int = 3) -> pd.DataFrame:
    """Daily candles whose log returns follow r_t = phi r_{t-1} + noise (predictable)."""
    rng = np.random.default_rng(seed)
    eps = rng.normal(0.0, sigma, n)
    ret = np.zeros(n)
    for t in range(1, n):
        ret[t] = phi * ret[t - 1] + eps[t]
    close = 100.0 * np.exp(np.cumsum(ret))
    open_ = np.concatenate([[100.0], close[:-1]])
    spread = np.abs(rng.normal(0, 0.003, n)) * close
    frame = pd.DataFrame(
        {"open": open_, "high": np.maximum(open_, close) + spread,
         "low": np.minimum(open_, close) - spread, "close": close,
         "volume": rng.lognormal(10, 0.3, n)},
        index=pd.date_range("2021-01-01", periods=n, freq="D", tz="UTC"),
    )
    return make_candles(frame, source="test", symbol="AR1-USD", timeframe="1d")


@pytest.fixture(scope="module")
def candles() -> pd.DataFrame:
    return ar1_candles()


def small(name: str, **changes):
    """A tiny model of kind ``name``."""
    cls = model_class(name)
    return cls(cls.fast_config(**changes))


# ---------------------------------------------------------------------- learning
@pytest.mark.parametrize("name", NETS)
def test_learns_ar1_better_than_naive(name: str, candles: pd.DataFrame) -> None:
    model = small(name, max_epochs=12, patience=4, learning_rate=5e-3)
    model.fit(candles, horizon=1)
    best = model.history_[model.best_epoch - 1]
    assert best["val_loss"] == min(h["val_loss"] for h in model.history_)
    # phi = 0.6: the best possible MSE is 1 - phi^2 = 64 % of the naive forecast's
    assert best["val_loss"] < 0.85 * best["naive_val_loss"], model.history_


@pytest.mark.parametrize("name", ["lstm", "cnn_gru"])
def test_pinball_loss_gives_ordered_quantiles(name: str, candles: pd.DataFrame) -> None:
    model = small(name, loss="pinball")
    model.fit(candles, horizon=3)
    fc = model.predict(candles, 3)
    assert fc.q10 is not None and fc.q90 is not None and fc.p_up is not None
    assert np.all(fc.q10 <= fc.point) and np.all(fc.point <= fc.q90)
    assert np.all((fc.p_up >= 0) & (fc.p_up <= 1))


def test_price_level_target_runs_and_reports_prices(candles: pd.DataFrame) -> None:
    model = small("lstm", target="price", inputs="ohlcv")
    model.fit(candles, horizon=2)
    fc = model.predict(candles, 2)
    assert np.all(np.isfinite(fc.point)) and np.all(fc.point > 0)
    assert np.all(fc.q10 <= fc.q90)


# ---------------------------------------------------------------------- look-ahead
@pytest.mark.parametrize("name", NETS)
def test_no_look_ahead(name: str, candles: pd.DataFrame) -> None:
    origin = 360
    model = small(name, max_epochs=2)
    model.fit(candles.iloc[: origin + 1], horizon=2)
    base = model.predict(candles.iloc[: origin + 1], 2)
    # everything after the origin changed: it is never passed, and must not matter
    later = candles.copy()
    later.iloc[origin + 1 :, :5] = later.iloc[origin + 1 :, :5].to_numpy() * 3.0
    assert np.array_equal(model.predict(later.iloc[: origin + 1], 2).point, base.point)
    # everything before the tail it reads changed (the lookback, widened to the conformal
    # band's volatility window): the forecast uses that tail only
    older = candles.copy()
    keep = model.history_window()
    older.iloc[: origin + 1 - keep, :5] = older.iloc[: origin + 1 - keep, :5].to_numpy() * 0.5
    again = model.predict(older.iloc[: origin + 1], 2)
    assert np.array_equal(again.point, base.point) and np.array_equal(again.q90, base.q90)


def test_scaler_statistics_ignore_the_validation_tail(candles: pd.DataFrame) -> None:
    a = small("cnn", max_epochs=1)
    a.fit(candles, horizon=1)
    wild = candles.copy()
    tail = int(len(wild) * 0.1)  # inside the 15 % validation tail
    wild.iloc[-tail:, :5] = wild.iloc[-tail:, :5].to_numpy() * np.linspace(1, 5, tail)[:, None]
    b = small("cnn", max_epochs=1)
    b.fit(wild, horizon=1)
    assert a.x_scaler.to_dict() == b.x_scaler.to_dict()
    assert a.y_scaler.to_dict() == b.y_scaler.to_dict()


# ---------------------------------------------------------------------- determinism, persistence
@pytest.mark.parametrize("name", NETS)
def test_deterministic_under_a_seed(name: str, candles: pd.DataFrame) -> None:
    torch.manual_seed(123)  # the global RNG state must not matter ...
    a = small(name, max_epochs=2).fit(candles, horizon=2)
    torch.manual_seed(456)
    b = small(name, max_epochs=2).fit(candles, horizon=2)
    fa, fb = a.predict(candles, 2), b.predict(candles, 2)
    assert np.array_equal(fa.point, fb.point) and np.array_equal(fa.q10, fb.q10)
    for (ka, va), (kb, vb) in zip(a.net.state_dict().items(), b.net.state_dict().items(), strict=True):
        assert ka == kb and torch.equal(va, vb)
    c = small(name, max_epochs=2, seed=1).fit(candles, horizon=2)  # ... the seed must
    assert not np.array_equal(c.predict(candles, 2).point, fa.point)


@pytest.mark.parametrize("name", NETS)
def test_save_load_identical_predictions(name: str, candles: pd.DataFrame, tmp_path) -> None:
    model = small(name, max_epochs=2, loss="pinball" if name == "gru" else "mse")
    model.fit(candles.iloc[:380], horizon=2)
    model.save(tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["model.json", "net.pt"]
    doc = json.loads((tmp_path / "m" / "model.json").read_text())
    assert doc["state"]["x_scaler"]["mean"] and len(doc["state"]["history"]) == 2
    # the weights file is a plain state_dict that loads with weights_only=True
    state = torch.load(tmp_path / "m" / "net.pt", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    loaded = load_model(tmp_path / "m")
    assert type(loaded) is type(model) and loaded.config == model.config
    assert loaded.history_ == model.history_
    for end in (380, 400, 420):
        fa, fb = model.predict(candles.iloc[:end], 2), loaded.predict(candles.iloc[:end], 2)
        for field in ("point", "q10", "q90", "p_up"):
            assert np.array_equal(getattr(fa, field), getattr(fb, field)), field


def test_load_rejects_weights_of_another_config(candles: pd.DataFrame, tmp_path) -> None:
    model = small("lstm", max_epochs=1).fit(candles, horizon=1)
    model.save(tmp_path / "m")
    doc = json.loads((tmp_path / "m" / "model.json").read_text())
    doc["config"]["hidden"] = [5]
    (tmp_path / "m" / "model.json").write_text(json.dumps(doc))
    with pytest.raises(ModelError):
        load_model(tmp_path / "m")


# ---------------------------------------------------------------------- reporting, cancellation
class CancelAt(TaskContext):
    """Cancels itself at its ``at``-th safe-point check and counts the net's training batches."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at, self.checks, self.batches, self.batches_at_cancel = at, 0, 0, None

    def check_cancelled(self) -> None:
        self.checks += 1
        super().check_cancelled()
        if self.checks == self.at:
            self.cancel()
            self.batches_at_cancel = self.batches

    def child(self, start: float, end: float, prefix: str = "") -> TaskContext:
        """Sub-jobs (the calibration fit, the final fit) count their safe points here too."""
        kid = super().child(start, end, prefix)
        kid.check_cancelled = self.check_cancelled  # type: ignore[method-assign]
        kid.child = self.child  # type: ignore[method-assign]
        return kid


@pytest.mark.parametrize("name", NETS)
def test_cancel_mid_epoch_stops_within_one_batch(name: str, candles: pd.DataFrame, tmp_path) -> None:
    model = small(name, max_epochs=3, batch_size=16)  # ~20 batches per epoch
    model.fit(candles, horizon=1)  # a previous fit, which the cancelled refit must discard
    ctx = CancelAt(at=6)
    hook = torch.nn.modules.module.register_module_forward_hook(
        lambda mod, args, out: setattr(ctx, "batches", ctx.batches + 1)
        if mod.training and type(mod).__module__.endswith("torch_nets")
        and type(mod).__name__.endswith("Net") else None
    )
    try:
        with pytest.raises(Cancelled):
            model.fit(candles, ctx, horizon=1)
    finally:
        hook.remove()
    assert ctx.batches_at_cancel is not None
    assert ctx.batches - ctx.batches_at_cancel <= 1  # at most the batch already under way
    assert ctx.batches < 20  # mid-epoch: the first epoch never finished
    assert not model.is_fitted
    with pytest.raises(ModelError):
        model.save(tmp_path / "cancelled")
    assert not (tmp_path / "cancelled").exists() or not any((tmp_path / "cancelled").iterdir())
    with pytest.raises(ModelError):
        model.predict(candles, 1)


def test_epoch_reports_progress_and_history(candles: pd.DataFrame) -> None:
    reports, fractions = [], []
    ctx = TaskContext(lambda f, m: fractions.append(f), reports.append)
    model = small("gru", max_epochs=4, patience=0)
    model.fit(candles, ctx, horizon=1)
    epochs = [r for r in reports if isinstance(r, EpochReport)]
    assert [r.epoch for r in epochs] == [1, 2, 3, 4]
    assert all(r.model == "gru" and np.isfinite(r.train_loss) and r.val_loss is not None
               for r in epochs)
    assert [h["epoch"] for h in model.history_] == [1, 2, 3, 4]
    assert model.history_[-1] == epochs[-1].to_dict()
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    best = int(np.argmin([r.val_loss for r in epochs])) + 1
    assert model.best_epoch == best


def test_early_stopping_stops_and_restores_best(candles: pd.DataFrame) -> None:
    # a learning rate this high makes the validation loss stall or worsen quickly
    model = small("cnn", max_epochs=30, patience=2, learning_rate=0.3)
    model.fit(candles, horizon=1)
    result = model.train_result
    assert len(model.history_) < 30 and result.stopped_early
    assert len(model.history_) - model.best_epoch == 2
    assert result.best_val_loss == min(h["val_loss"] for h in model.history_)


def test_too_short_series_is_a_clear_error(candles: pd.DataFrame) -> None:
    model = small("lstm")
    with pytest.raises(ModelError, match="at least"):
        model.fit(candles.iloc[:20], horizon=1)


# ---------------------------------------------------------------------- GPU
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")
def test_trains_on_cuda_without_code_changes(candles: pd.DataFrame) -> None:
    model = small("cnn_gru", max_epochs=2)
    model.fit(candles, horizon=1)
    assert model.trained_on.startswith("cuda")
    cpu = small("cnn_gru", max_epochs=2, device="cpu").fit(candles, horizon=1)
    assert np.all(np.isfinite(model.predict(candles, 1).point))
    assert cpu.trained_on == "cpu"


def test_nets_take_external_columns_causally() -> None:
    """External columns (sentiment, on-chain) feed the nets: the forecast depends on their
    values in the lookback window, and a missing column is a clear error."""
    import numpy as np

    from cryptodesk.data.demo import generate_demo
    from cryptodesk.errors import ModelError
    from cryptodesk.models.registry import create

    candles = generate_demo("1d", bars=260).copy()
    candles["ext_signal"] = np.sin(np.arange(len(candles)) / 5.0)
    model = create("gru", {"lookback": 8, "max_epochs": 2, "hidden": [8], "external": ["ext_signal"],
                           "batch_size": 32})
    model.fit(candles.iloc[:200], None, 1)
    assert model.n_features == 2
    base = model.predict(candles.iloc[:220], 1).point
    changed = candles.copy()
    changed.loc[changed.index[215:220], "ext_signal"] = 5.0  # inside the lookback window
    assert not np.array_equal(model.predict(changed.iloc[:220], 1).point, base)
    with pytest.raises(ModelError, match="ext_signal"):
        model.predict(candles.drop(columns=["ext_signal"]).iloc[:220], 1)
