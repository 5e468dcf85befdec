"""``cryptodesk train``, ``cryptodesk forecast`` and ``cryptodesk models ...``: the model
library from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from cryptodesk.errors import DataError, ModelError


def register(sub: argparse._SubParsersAction) -> None:
    """Add the train, forecast and models commands."""
    p = sub.add_parser("train", help="fit a model on stored data and save it in the library")
    _data_args(p)
    p.add_argument("--model", required=True, help="model kind, e.g. lightgbm, arima, lstm")
    p.add_argument("--config", help="model settings as JSON, e.g. '{\"n_estimators\": 200}'")
    p.add_argument("--name", help="label for the saved model (unique)")
    p.add_argument("--horizon", type=int, default=None,
                   help="longest horizon to forecast, in bars (default: 7 for daily bars, 24 "
                        "for hourly: a day of intraday bars, 4 for weekly)")
    p.add_argument("--start", help="first bar to train on (ISO date; default: all)")
    p.add_argument("--end", help="last bar to train on (ISO date; default: all)")
    p.add_argument("--seed", type=int, help="random seed for stochastic models")
    p.add_argument("--no-eval", action="store_true",
                   help="skip the walk-forward evaluation on the last bars before the final fit")
    _tune_args(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("forecast", help="forecast the next bars with a saved model")
    p.add_argument("--model", required=True, help="saved model id, id prefix or label")
    p.add_argument("--symbol", help="stored series to forecast (default: the model's own)")
    p.add_argument("--timeframe", help="pick the timeframe when several are stored")
    p.add_argument("--source", help="pick the source when several are stored")
    p.add_argument("--horizon", type=int, default=None,
                   help="bars ahead (default: the horizon the model was trained for)")
    p.add_argument("--out", type=Path, help="write the forecast path as CSV")
    p.set_defaults(func=cmd_forecast)

    models = sub.add_parser("models", help="the saved-model library")
    msub = models.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    p = msub.add_parser("list", help="list saved models")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)
    p = msub.add_parser("show", help="details of one saved model")
    p.add_argument("model", help="id, id prefix or label")
    p.set_defaults(func=cmd_show)
    p = msub.add_parser("rename", help="change a saved model's label")
    p.add_argument("model")
    p.add_argument("label")
    p.set_defaults(func=cmd_rename)
    p = msub.add_parser("delete", help="delete a saved model")
    p.add_argument("model")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(func=cmd_delete)
    p = msub.add_parser("export", help="export a saved model as one zip file")
    p.add_argument("model")
    p.add_argument("--out", type=Path, required=True)
    p.set_defaults(func=cmd_export)
    p = msub.add_parser("import", help="import a model zip exported by CryptoDesk")
    p.add_argument("path", type=Path)
    p.set_defaults(func=cmd_import)
    p = msub.add_parser(
        "retrain", help="refit a saved model on the newest stored candles, as a challenger",
        description="Scores the challenger (same settings, refitted) and the current model on "
                    "the bars added since the last fit; keeps the challenger unless it is "
                    "significantly worse (Diebold–Mariano p < 0.05); records the lineage.")
    p.add_argument("model", help="id, id prefix or label")
    p.add_argument("--refit-every", type=int, metavar="N",
                   help="the challenger's refit cadence over the new bars (default: WF1's)")
    p.set_defaults(func=cmd_retrain)


def cmd_retrain(args: argparse.Namespace) -> int:
    """Retrain one saved model as a challenger and print the decision with its scores."""
    from cryptodesk.app.retrain import retrain_bundle
    from cryptodesk.cli.progress import console_context

    ctx, drawer = console_context()
    try:
        result = retrain_bundle(args.model, ctx, library=_library(), refit_every=args.refit_every)
    finally:
        if drawer:
            drawer.close()
    first, last = result.new_range
    print(f"{result.label}: {result.new_bars:,} new bars ({first[:16]} .. {last[:16]})")
    for who in ("current", "challenger", "naive"):
        print(f"  {who:<11} " + _metric_line(result.scores[who]))
    print(f"Decision: {result.reason}.")
    if result.decision == "challenger":
        print(f"Saved {result.kept} as {result.label!r}; the previous version {result.previous} "
              f"stays loadable as {result.label!r} (v{len(result.lineage['versions'])}).")
    return 0


def _tune_args(p: argparse.ArgumentParser) -> None:
    """``train``'s tuning and cross-asset options."""
    g = p.add_argument_group("tuning (nested: the evaluation tunes inside each training window)")
    g.add_argument("--tune", type=int, metavar="N",
                   help="tune first with N Optuna trials; the bundle keeps the chosen settings "
                        "and the studies")
    g.add_argument("--timeout", type=float, metavar="S", help="time limit per tuning (s)")
    g.add_argument("--tune-every", type=int, default=1, metavar="K",
                   help="in the evaluation: tune at every K-th refit (0 = once); default 1")
    g.add_argument("--tune-only", help="tune only these settings (comma-separated)")
    g.add_argument("--inner-folds", type=int, default=3, help="inner folds (default 3)")
    g.add_argument("--inner-fold-bars", type=int, default=30,
                   help="forecasts per inner fold (default 30)")
    g.add_argument("--storage", metavar="sqlite:///FILE.db", help="keep the studies in sqlite")
    from cryptodesk.cli.backtest_cmds import add_cross_arguments

    add_cross_arguments(g)


def _tuning_from_args(args: argparse.Namespace) -> Any:
    if not args.tune:
        return None
    from cryptodesk.evaluation.tuning_spec import TuningSpec

    return TuningSpec(
        trials=args.tune, timeout_s=args.timeout, tune_every=args.tune_every,
        inner_folds=args.inner_folds, inner_fold_bars=args.inner_fold_bars,
        seed=args.seed or 0, storage=args.storage,
        only=tuple(s.strip() for s in (args.tune_only or "").split(",") if s.strip()),
    )


def _data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--symbol", required=True, help="stored symbol, e.g. BTC-USD")
    p.add_argument("--timeframe", help="pick the timeframe when several are stored")
    p.add_argument("--source", help="pick the source when several are stored")


def _library():
    from cryptodesk.io.bundles import ModelLibrary

    return ModelLibrary()


def _load_series(symbol: str, timeframe: str | None, source: str | None,
                 start: str | None = None, end: str | None = None):
    from cryptodesk.data.store import CandleStore

    store = CandleStore()
    key = store.find(symbol, timeframe, source)
    candles = store.load(key, start=start, end=end)
    if candles.empty:
        raise DataError(f"no bars of {key} in the requested range")
    return candles


def cmd_train(args: argparse.Namespace) -> int:
    """Evaluate, fit on all data and save a bundle; print its id and the honest metrics."""
    from cryptodesk.app.library import train_and_save
    from cryptodesk.cli.progress import console_context

    try:
        config = json.loads(args.config) if args.config else {}
    except json.JSONDecodeError as exc:
        raise ModelError(f"--config is not valid JSON: {exc}") from None
    if not isinstance(config, dict):
        raise ModelError("--config must be a JSON object of setting -> value")
    if args.horizon is not None and args.horizon < 1:
        raise ModelError("--horizon must be at least 1")
    candles = _load_series(args.symbol, args.timeframe, args.source, args.start, args.end)
    from cryptodesk.app.defaults import default_horizon

    horizon = args.horizon or default_horizon(str(candles.attrs.get("timeframe", "1d")))
    ctx, drawer = console_context()
    try:
        result = train_and_save(candles, args.model, config, horizon=horizon,
                                label=args.name, evaluate=not args.no_eval, seed=args.seed,
                                ctx=ctx, tuning=_tuning_from_args(args),
                                with_symbols=tuple(args.with_symbols))
    finally:
        if drawer:
            drawer.close()
    info = result.bundle
    print(f"Saved model {info.id} ({info.label!r}): {info.kind} on {info.symbol} {info.timeframe}, "
          f"{candles.index[0]:%Y-%m-%d} .. {candles.index[-1]:%Y-%m-%d}, {len(candles):,} bars, "
          f"forecasts up to {horizon} bar{'s' if horizon != 1 else ''} ahead")
    tuning = info.manifest.get("tuning")
    if tuning:
        final = tuning["studies"][-1]
        print(f"Settings tuned on inner folds of all the data ({final['complete']} trials "
              f"done, {final['pruned']} pruned; inner Theil's U {final['default_value']} with "
              f"the defaults, {final['best_value']} chosen): "
              + ", ".join(f"{k}={v}" for k, v in final["best_params"].items()))
    if result.metrics:
        print("Walk-forward evaluation before the final fit (same points, model vs naive):")
        rows = [(info.kind, result.metrics)]
        if info.kind != "naive":
            rows.append(("naive", result.naive_metrics))
        for name, values in rows:
            print(f"  {name:<12} " + _metric_line(values))
        monitoring = result.metrics.get("monitoring") or {}
        if monitoring:
            reasons = "; ".join(monitoring.get("reasons") or [])
            print(f"Monitoring at the end of the evaluation: {monitoring.get('status')}"
                  + (f" ({reasons})" if reasons else ""))
    return 0


def cmd_forecast(args: argparse.Namespace) -> int:
    """Forecast with a saved model; print the path and optionally write it as CSV."""
    from cryptodesk.app.forecast import forecast_from_bundle
    from cryptodesk.io.exports import forecast_frame, write_forecasts_csv

    if args.horizon is not None and args.horizon < 1:
        raise ModelError("--horizon must be at least 1")
    library = _library()
    info = library.resolve(args.model)
    horizon = args.horizon or int((info.manifest.get("target") or {}).get("horizon") or 1)
    symbol = args.symbol or info.symbol
    timeframe = args.timeframe or (None if args.symbol else info.timeframe)
    source = args.source or (None if args.symbol else info.source)
    candles = _load_series(symbol, timeframe, source)
    table, manifest, notes = forecast_from_bundle(library, info.id, candles, horizon)
    for note in notes:
        print(note, file=sys.stderr)
    if args.out:
        write_forecasts_csv(table, args.out)
    out = forecast_frame(table)
    print(f"{manifest['label']}: {len(out)} step(s) after {candles.index[-1]:%Y-%m-%d %H:%M} UTC "
          f"(last close {candles['close'].iloc[-1]:.6g})")
    print(f"{'timestamp':<22}{'h':>3}{'forecast':>14}{'lower':>14}{'upper':>14}{'p_up':>7}")
    for row in out.itertuples():
        print(f"{row.timestamp:<22}{row.horizon:>3}{row.forecast:>14.6g}{_f(row.lower):>14}"
              f"{_f(row.upper):>14}{_f(row.p_up, '.2f'):>7}")
    if args.out:
        print(f"Wrote {args.out}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """Table of saved models (damaged ones with their error)."""
    from cryptodesk.app.retrain_view import headline_scores

    infos = _library().list()
    if args.json:
        print(json.dumps([_summary(i) for i in infos], indent=2))
        return 0
    if not infos:
        print("No saved models. Train one with 'cryptodesk train --symbol SYM --model KIND'.")
        return 0
    print(f"{'id':<44}{'label':<26}{'kind':<11}{'symbol':<12}{'tf':>4}  {'created':<17}"
          f"{'RMSE':>11}{'Theil U':>9}  status")
    for i in infos:
        if i.error:
            print(f"{i.id:<44}DAMAGED: {i.error}")
            continue
        scores, _scored_by = headline_scores(i.metrics)  # a retrained one: its newest scores
        print(f"{i.id:<44}{i.label[:25]:<26}{i.kind:<11}{i.symbol:<12}{i.timeframe:>4}  "
              f"{i.created[:16].replace('T', ' '):<17}{_f(scores.get('rmse')):>11}"
              f"{_f(scores.get('theils_u'), '.3f'):>9}  {_status(i.metrics)}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """Print a saved model's manifest."""
    info = _library().resolve(args.model, allow_damaged=True)
    if info.error:
        print(f"{info.id}: DAMAGED: {info.error}")
        return 1
    print(json.dumps(info.manifest, indent=2))
    return 0


def cmd_rename(args: argparse.Namespace) -> int:
    info = _library().rename(args.model, args.label)
    print(f"Renamed {info.id} to {info.label!r}")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    library = _library()
    info = library.resolve(args.model, allow_damaged=True)
    from cryptodesk.cli.confirm import confirmed

    if not confirmed(f"Delete saved model {info.id} ({info.label})?", info.id, args.yes,
                     ModelError):
        print("Nothing deleted.")
        return 0
    library.delete(info.id)
    print(f"Deleted {info.id}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    out = _library().export_zip(args.model, args.out)
    print(f"Exported to {out}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    info = _library().import_zip(args.path)
    print(f"Imported {info.id} ({info.label!r})")
    return 0


def _status(metrics: dict[str, Any]) -> str:
    """The degradation verdict recorded at training time (monitoring of the holdout)."""
    monitoring = metrics.get("monitoring") or {}
    return str(monitoring.get("status", "-"))


def _summary(info: Any) -> dict[str, Any]:
    return {"id": info.id, "label": info.label, "kind": info.kind, "symbol": info.symbol,
            "timeframe": info.timeframe, "source": info.source, "created": info.created,
            "metrics": info.metrics, "error": info.error}


def _metric_line(values: dict[str, Any]) -> str:
    keys = (("MAE", "mae", ".6g"), ("RMSE", "rmse", ".6g"), ("MAPE%", "mape", ".3f"),
            ("DirAcc", "directional_accuracy", ".3f"), ("TheilU", "theils_u", ".3f"),
            ("DM p", "dm_p_value", ".3f"))
    return "  ".join(f"{label} {_f(values.get(key), fmt)}" for label, key, fmt in keys)


def _f(value: Any, fmt: str = ".6g") -> str:
    if value is None:
        return "-"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if number != number:  # NaN
        return "-"
    return format(number, fmt)
