"""Protocol WF1 for the deep nets on real daily data, next to naive and ARIMA.

WF1 = horizon 1, the last 365 daily bars as test window, refit every 30 forecasts (13 fits),
expanding training window (``cryptodesk.evaluation.presets``). For each asset it prints the
leaderboard (MAE, RMSE, MAPE, directional accuracy, Theil's U, Diebold–Mariano p against naive)
and each model's wall-clock seconds for its whole walk-forward run (13 fits + 365 forecasts),
with the nets at their *default* configs (the default training budget).

Why a separate script from ``bench/wf1.py``: that one runs every registered model on every
asset in one go; this one answers the deep-learning question ("does CNN-GRU beat LSTM, CNN,
ARIMA and naive?") and lets the nets be run one asset or one net at a time.

    .venv/bin/python bench/wf1_nets.py [--assets BTC-USD,ETH-USD,XRP-USD]
        [--models naive,arima,lstm,gru,cnn,cnn_gru,transformer] [--threads N] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from wf1 import COLUMNS as WF1_COLUMNS  # noqa: E402  (bench/wf1.py)

from cryptodesk.data.csv_import import read_candles_csv  # noqa: E402
from cryptodesk.evaluation.backtest import ModelRun, run_backtest  # noqa: E402
from cryptodesk.evaluation.leaderboard import format_leaderboard  # noqa: E402
from cryptodesk.evaluation.presets import preset_spec  # noqa: E402
from cryptodesk.models.registry import model_class  # noqa: E402

ASSETS = "BTC-USD,ETH-USD,XRP-USD"
MODELS = "naive,arima,lstm,gru,cnn,cnn_gru,transformer"
# WF1's leaderboard columns; the nets' walk-forward has no interval to cover
COLUMNS = tuple(c for c in WF1_COLUMNS if c[1] != "coverage")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "daily")
    parser.add_argument("--assets", default=ASSETS)
    parser.add_argument("--models", default=MODELS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads for the whole run (default: torch's choice)")
    parser.add_argument("--price-demo", action="store_true",
                        help="also run the LSTM with target='price' (the tutorial variant that "
                             "hugs the chart) and print its scores next to naive")
    parser.add_argument("--json", type=Path, help="write the figures as JSON")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    t0 = time.perf_counter()
    for name in names:  # import every model module (torch, statsmodels) before timing
        model_class(name)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    print(f"imports: {time.perf_counter() - t0:.2f} s (once per process, not timed below)")
    spec = preset_spec("wf1", "1d")
    started = time.perf_counter()
    figures: dict[str, dict] = {}
    for asset in [a.strip() for a in args.assets.split(",") if a.strip()]:
        candles, _ = read_candles_csv(args.data / f"{asset}.csv", symbol=asset, source="yahoo",
                                      timeframe="1d")
        report = run_backtest(candles, names, spec, seed=args.seed, preset="wf1")
        print(f"\n{asset}: {len(candles)} daily bars, WF1")
        print(format_leaderboard(report, COLUMNS))
        figures[asset] = {
            n: {**{k: _clean(report.metrics[n][k]) for _, k, _ in COLUMNS},
                "seconds": report.results[n].total_seconds,
                "fit_seconds": report.results[n].fit_seconds,
                "n_fits": report.results[n].n_fits,
                # one-step forecasts by target date: for a head-to-head test against a peer's
                "forecasts": _one_step(report.results[n].forecasts)}
            for n in report.ranking()
        }
        print("seconds: " + ", ".join(f"{n} {v['seconds']:.1f}" for n, v in figures[asset].items()),
              flush=True)
        if args.price_demo:
            demo = run_backtest(candles, [ModelRun("lstm", {"target": "price"})], spec,
                                seed=args.seed, preset="wf1")
            print("LSTM trained on price levels (target='price'):")
            print(format_leaderboard(demo, COLUMNS), flush=True)
            figures[asset]["lstm_price_level"] = {
                k: _clean(demo.metrics["lstm"][k]) for _, k, _ in COLUMNS}
    print(f"\ntotal wall-clock: {time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({"protocol": "wf1", "seed": args.seed,
                                         "figures": figures}, indent=2))
    return 0


def _one_step(frame) -> dict[str, float]:
    rows = frame[frame["horizon"] == 1]
    return {t.strftime("%Y-%m-%d"): float(v)
            for t, v in zip(rows["target_time"], rows["forecast"], strict=True)}


def _clean(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


if __name__ == "__main__":
    raise SystemExit(main())
