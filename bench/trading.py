"""The WF1 trading table: do the forecasts make money after costs, next to buy-and-hold?

For BTC, ETH and XRP, daily (``../shared/data/daily``) and hourly (``../shared/data/hourly``):
WF1 walk-forward forecasts of naive, drift, arima and lightgbm (see
:mod:`cryptodesk.evaluation.presets`), traded with the sign strategy (long when the forecast is
above the last close, else flat), decided at the close of bar t and filled at the open of t+1,
10 bps fee + 5 bps slippage per fill; buy-and-hold over the same bars beside them. Metrics are
annualised with a 24/7 365-day year. Prints per series the full trading table (with the
degradation flags and the per-volatility-regime split), then one summary table.

    .venv/bin/python bench/trading.py [--timeframes 1d,1h] [--assets BTC,ETH,XRP]
        [--models naive,drift,arima,lightgbm] [--cache DIR] [--json out.json]

``--cache DIR`` keeps each series' forecasts (keyed by the data's SHA-256, the preset and the
model list), so a second run only re-trades: the walk-forwards (mostly LightGBM fits) are
what take minutes.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cryptodesk.data.csv_import import read_candles_csv  # noqa: E402
from cryptodesk.evaluation.backtest import data_fingerprint, run_backtest  # noqa: E402
from cryptodesk.evaluation.presets import preset_spec  # noqa: E402
from cryptodesk.evaluation.strategy import StrategySpec  # noqa: E402
from cryptodesk.evaluation.trading_report import (  # noqa: E402
    BUY_HOLD,
    fmt,
    format_table,
    format_trading,
    trading_from_forecasts,
)

SERIES = {
    "1d": ("daily", "{asset}-USD.csv", "{asset}-USD", "yahoo"),
    "1h": ("hourly", "{asset}-USDT-1h.csv", "{asset}/USDT", "binance"),
}


def load_forecasts(candles: pd.DataFrame, models: list[str], cache: Path | None,
                   seed: int) -> tuple[dict[str, pd.DataFrame], float]:
    """WF1 forecasts per model (from the cache when it has them) and the seconds spent."""
    tf = candles.attrs["timeframe"]
    key = f"{candles.attrs['symbol'].replace('/', '-')}_{tf}_wf1_s{seed}_" \
          f"{data_fingerprint(candles)['sha256'][:12]}"
    names = ["naive", *[m for m in models if m != "naive"]]
    paths = {m: cache / f"{key}_{m}.csv" for m in names} if cache else {}
    if cache and all(p.exists() for p in paths.values()):
        out = {}
        for m, p in paths.items():
            f = pd.read_csv(p)
            for col in ("origin", "target_time"):
                f[col] = pd.to_datetime(f[col], utc=True).dt.as_unit("ns")
            out[m] = f
        return out, 0.0
    t0 = time.perf_counter()
    report = run_backtest(candles, names, preset_spec("wf1", tf), seed=seed, preset="wf1")
    seconds = time.perf_counter() - t0
    out = {m: report.results[m].forecasts for m in names}
    if cache:
        cache.mkdir(parents=True, exist_ok=True)
        for m, p in paths.items():
            out[m].to_csv(p, index=False)
    return out, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--assets", default="BTC,ETH,XRP")
    parser.add_argument("--timeframes", default="1d,1h")
    parser.add_argument("--models", default="naive,drift,arima,lightgbm")
    parser.add_argument("--strategy", default="sign")
    parser.add_argument("--fee-bps", type=float, default=10.0)
    parser.add_argument("--slippage-bps", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", type=Path, help="reuse / keep the WF1 forecasts here")
    parser.add_argument("--json", type=Path, help="write the figures as JSON")
    args = parser.parse_args(argv)

    from cryptodesk.evaluation.strategy import parse_strategy

    spec = StrategySpec(**parse_strategy(args.strategy), fee_bps=args.fee_bps,
                        slippage_bps=args.slippage_bps)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    started = time.perf_counter()
    summary: list[tuple[str, str, dict]] = []
    figures: dict[str, dict] = {}
    for tf in [t.strip() for t in args.timeframes.split(",") if t.strip()]:
        folder, pattern, symbol, source = SERIES[tf]
        for asset in [a.strip().upper() for a in args.assets.split(",") if a.strip()]:
            path = args.data / folder / pattern.format(asset=asset)
            candles, _ = read_candles_csv(path, symbol=symbol.format(asset=asset),
                                          source=source, timeframe=tf)
            forecasts, wf_seconds = load_forecasts(candles, models, args.cache, args.seed)
            t0 = time.perf_counter()
            tr = trading_from_forecasts(forecasts, candles, spec, regimes="volatility")
            trade_seconds = time.perf_counter() - t0
            print()
            print(f"== {symbol.format(asset=asset)} {tf}: walk-forward {wf_seconds:.0f} s"
                  f"{' (cached)' if wf_seconds == 0 else ''}, trading {trade_seconds:.2f} s")
            print(format_trading(tr))
            summary.append((asset, tf, {m: tr.metrics[m] for m in tr.models}))
            figures[f"{asset} {tf}"] = tr.to_json(series=False)
    print()
    print(f"Summary: {spec.label()}; Sharpe (total return %) over the WF1 test window "
          f"(365 days / 720 hours); 24/7 annualisation")
    names = [*(m for m in models if m != "naive"), BUY_HOLD]
    names = ["naive", *names] if "naive" in models else names
    body = []
    for asset, tf, metrics in summary:
        body.append([asset, tf, *(
            f"{fmt(metrics[m].sharpe, '{:.2f}')} ({fmt(metrics[m].total_return, '{:+.1f}', 100)})"
            for m in names)])
    print(format_table(["asset", "tf", *names], body, left=2))
    print(f"total {time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({"strategy": spec.to_dict(), "figures": figures},
                                        indent=2, allow_nan=False, default=_num))
    return 0


def _num(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return str(value)


if __name__ == "__main__":
    raise SystemExit(main())
