"""Refits side by side (cryptodesk.evaluation.refits_ahead): a net's walk-forward with two
refits training at once in threads gives exactly the forecasts of one refit after another; the
nets' dropout draws from each fit's own stream (StreamDropout, bit for bit torch's dropout);
epochs reach the job in refit order, progress never runs backwards, cancel and failures stop
every fit, and the policy of how many refits run at once follows the cores and settings."""

from __future__ import annotations

import threading
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from cryptodesk.data.schema import make_candles  # noqa: E402
from cryptodesk.errors import ModelError  # noqa: E402
from cryptodesk.evaluation.walkforward import WalkForwardSpec, walk_forward  # noqa: E402
from cryptodesk.jobs import Cancelled, TaskContext  # noqa: E402
from cryptodesk.models.epochs import EpochReport  # noqa: E402
from cryptodesk.models.threads import THREADS_ENV  # noqa: E402
from cryptodesk.models.torch_models import GruForecaster, LstmForecaster  # noqa: E402
from cryptodesk.models.torch_nets import StreamDropout, stream_dropouts  # noqa: E402

SPEC = WalkForwardSpec(horizon=2, test_size=40, refit_every=10)  # 4 refits


def _walk(n: int = 400, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(0.02 * rng.standard_normal(n)))
    frame = pd.DataFrame({"open": close, "high": close * 1.01, "low": close * 0.99,
                          "close": close, "volume": 1.0},
                         index=pd.date_range("2019-01-01", periods=n, freq="D", tz="UTC"))
    return make_candles(frame, source="test", symbol="SYN", timeframe="1d")


class _Recording(LstmForecaster):
    """The LSTM, told how many refits may run at once, noting the thread of each fit."""

    at_once: ClassVar[int] = 2
    threads: ClassVar[list[str]] = []

    def parallel_refits(self) -> int:
        return self.at_once

    def _fit(self, train: pd.DataFrame, ctx: TaskContext, horizon: int) -> None:
        type(self).threads.append(threading.current_thread().name)
        super()._fit(train, ctx, horizon)


def _config(**changes: object) -> object:
    return LstmForecaster.fast_config(**{"max_epochs": 3, "dropout": 0.3, **changes})


def _refit_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if " refit" in t.name]


def test_two_refits_at_once_give_the_forecasts_of_one_after_another() -> None:
    candles = _walk()
    results = {}
    for at_once in (1, 2):
        _Recording.at_once, _Recording.threads = at_once, []
        results[at_once] = walk_forward(_Recording(_config()), candles, SPEC)
        threads = set(_Recording.threads)
        assert len(_Recording.threads) == 4
        assert (len(threads) == 2) if at_once == 2 else threads == {"MainThread"}
    one, two = results[1], results[2]
    pd.testing.assert_frame_equal(one.forecasts, two.forecasts, check_exact=True)
    assert [f["train_rows"] for f in one.fits] == [f["train_rows"] for f in two.fits]
    assert [f["epochs"] for f in one.fits] == [f["epochs"] for f in two.fits]
    assert two.n_fits == 4 and not _refit_threads()


def test_stream_dropout_is_torch_dropout_bit_for_bit() -> None:
    x = torch.randn(64, 30, 16, requires_grad=True)
    state = torch.random.get_rng_state()
    module = StreamDropout(0.2)
    module.generator = torch.Generator().set_state(state.clone())
    ours = module(x)
    ours.sum().backward()
    grad_ours = x.grad.clone()
    x.grad = None
    torch.random.set_rng_state(state)
    theirs = torch.nn.functional.dropout(x, 0.2, True)
    theirs.sum().backward()
    assert torch.equal(ours, theirs) and torch.equal(grad_ours, x.grad)
    module.eval()
    assert module(x) is x


def test_every_net_draws_dropout_from_its_own_stream() -> None:
    from cryptodesk.models.registry import create

    for name in ("lstm", "gru", "cnn", "cnn_gru", "transformer"):
        model = create(name, type(create(name)).fast_config())
        net = model.build_net(1, 2)
        assert stream_dropouts(net), name  # raises on a dropout on the global generator
    with pytest.raises(ValueError, match="global generator"):
        stream_dropouts(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout(0.1)))


def test_epochs_arrive_in_refit_order_and_progress_never_goes_back() -> None:
    _Recording.at_once, _Recording.threads = 2, []
    epochs: list[int] = []
    fractions: list[float] = []
    ctx = TaskContext(lambda f, m: f is not None and fractions.append(f),
                      lambda obj: isinstance(obj, EpochReport) and epochs.append(obj.epoch))
    result = walk_forward(_Recording(_config(patience=0)), _walk(), SPEC, ctx, fit_share=0.9)
    assert epochs == [1, 2, 3] * result.n_fits  # one fit's epochs after the other's
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)


def test_cancel_stops_every_refit() -> None:
    _Recording.at_once, _Recording.threads = 2, []
    ctx = TaskContext()

    def on_partial(obj: object) -> None:
        if isinstance(obj, EpochReport):
            ctx.cancel()

    ctx = TaskContext(None, on_partial)
    with pytest.raises(Cancelled):
        walk_forward(_Recording(_config(max_epochs=50, patience=0)), _walk(), SPEC, ctx)
    assert not _refit_threads()


def test_a_failing_refit_fails_the_walk_forward_and_stops_the_others() -> None:
    class _Failing(_Recording):
        def _fit(self, train: pd.DataFrame, ctx: TaskContext, horizon: int) -> None:
            if len(train) > 280:  # the third and fourth refits (fitted before their tails)
                raise ModelError("lstm: training diverged (loss nan); lower the learning rate")
            super()._fit(train, ctx, horizon)

    _Failing.at_once = 2
    with pytest.raises(ModelError, match="diverged"):
        walk_forward(_Failing(_config()), _walk(), SPEC)
    assert not _refit_threads()


def test_how_many_refits_run_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(THREADS_ENV, "1")  # a study cell's share: one core
    assert LstmForecaster(_config()).parallel_refits() == 1
    monkeypatch.setenv(THREADS_ENV, "8")
    import os

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert GruForecaster(GruForecaster.fast_config()).parallel_refits() == min(2, cores or 1)
    assert LstmForecaster(_config(num_threads=None)).parallel_refits() == 1  # torch's own pool
    assert LstmForecaster(_config(pretrain=("BTC-USD",))).parallel_refits() == 1
