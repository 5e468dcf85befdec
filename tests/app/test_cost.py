"""A model's expected walk-forward cost: fits × epochs × windows (or rounds), plus forecasts."""

from __future__ import annotations

from cryptodesk.app.cost import expected_cost, n_refits
from cryptodesk.app.runspec import ModelSpec
from cryptodesk.evaluation.walkforward import WalkForwardSpec

WF = WalkForwardSpec(test_size=365, refit_every=30)


def _cost(name: str, **config):
    return expected_cost(ModelSpec(name, config), WF, 3000, 365)


def test_costs_follow_fits_epochs_and_windows() -> None:
    assert n_refits(WF, 365) == 13 and n_refits(WalkForwardSpec(test_size=365, refit_every=0),
                                                365) == 1
    naive, trees, net = _cost("naive"), _cost("lightgbm", n_estimators=100), _cost("lstm")
    assert naive.total < trees.total < net.total
    assert naive.forecasts > naive.fits  # naive's time is its forecasts: the bar moves with them
    assert net.fit_share > 0.9  # a net's time is its training: the bar moves with its epochs
    # twice the epochs, twice the fitting; twice the trees, twice the fitting
    assert _cost("lstm", max_epochs=20).fits == 2 * _cost("lstm", max_epochs=10).fits
    assert _cost("lightgbm", n_estimators=200).fits == 2 * trees.fits
    # fewer training windows (a rolling window) cost less
    rolling = WalkForwardSpec(test_size=365, refit_every=30, window="rolling", train_size=500)
    assert expected_cost(ModelSpec("lstm", {}), rolling, 3000, 365).fits < net.fits


def test_an_ensemble_costs_its_members_once_per_inner_fold_and_once_more() -> None:
    members = _cost("lstm").fits + _cost("arima").fits
    ensemble = _cost("ensemble", members=["lstm", "arima"], oof_folds=3)
    assert ensemble.fits == 4 * members
    assert _cost("ensemble", members=["lstm", "arima"], oof_folds=1).fits == 2 * members
    smaller = _cost("ensemble", members=["lstm", "arima"],
                    member_configs={"lstm": {"max_epochs": 5}, "arima": {}})
    assert smaller.fits < ensemble.fits  # a member's own config counts
