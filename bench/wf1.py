"""Protocol WF1 on real daily data: every registered model on BTC, ETH and XRP.

WF1 = horizon 1, the last 365 daily bars as test window, refit every 30 forecasts (13 fits),
expanding training window. Prints, per asset, the leaderboard (MAE, RMSE, MAPE, directional
accuracy, Theil's U, Diebold–Mariano p-value against naive) and the wall-clock seconds of each
model's whole walk-forward run (fits + 365 forecasts), then a seconds summary.

Library import time is paid once, before timing starts, and printed separately: it is a cost
of starting the program, not of the model.

    .venv/bin/python bench/wf1.py [--data ../shared/data/daily] [--models a,b] [--json out.json]

Against Darts, in the same run (``../shared/peers/README.md`` sets up its venv): ``--peers
PYTHON`` runs ``run_peers.py --freq daily --models lgbm`` with that interpreter after each of
``--repeats`` rounds of ours, and prints each round's seconds, the medians and the speed ratio
(Darts' LightGBM wall-clock over ours) per asset, with the load average:

    .venv/bin/python bench/wf1.py --models lightgbm --repeats 3 \
        --peers ~/.cache/cryptodesk-peers/venv/bin/python

On these data a Theil's U near 1.0 is the honest expectation; a model far below 1.0 means a
leak until proven otherwise.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cryptodesk.data.csv_import import read_candles_csv  # noqa: E402
from cryptodesk.evaluation.backtest import run_backtest  # noqa: E402
from cryptodesk.evaluation.leaderboard import describe_run, format_leaderboard  # noqa: E402
from cryptodesk.evaluation.presets import preset_spec  # noqa: E402
from cryptodesk.evaluation.strategy import StrategySpec  # noqa: E402
from cryptodesk.evaluation.trading_report import format_trading, trading_from_report  # noqa: E402
from cryptodesk.models.registry import available_models, model_class  # noqa: E402

ASSETS = ("BTC-USD", "ETH-USD", "XRP-USD")
COLUMNS = (
    ("MAE", "mae", "{:.4g}"),
    ("RMSE", "rmse", "{:.4g}"),
    ("MAPE%", "mape", "{:.3f}"),
    ("DirAcc%", "directional_accuracy", "{:.1f}"),
    ("TheilU", "theils_u", "{:.4f}"),
    ("DM p", "dm_p_value", "{:.3f}"),
    ("Cov80%", "coverage", "{:.1f}"),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "daily")
    parser.add_argument("--models", default=",".join(available_models()))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="write the figures as JSON")
    parser.add_argument("--peers", metavar="PYTHON",
                        help="also run Darts' LightGBM (run_peers.py) with this interpreter")
    parser.add_argument("--repeats", type=int, default=1, help="rounds (medians are printed)")
    args = parser.parse_args(argv)
    if args.peers:
        return versus_darts(args)
    names = [n.strip() for n in args.models.split(",") if n.strip()]

    t0 = time.perf_counter()
    for name in names:  # import every model module (and its library) before timing
        model_class(name)
    import lightgbm  # noqa: F401
    import scipy.optimize
    import scipy.signal
    import scipy.stats  # noqa: F401

    print(f"imports: {time.perf_counter() - t0:.2f} s (once per process, not timed below)")
    spec = preset_spec("wf1", "1d")
    seconds: dict[str, dict[str, float]] = {}
    cpu: dict[str, dict[str, float]] = {}
    figures: dict[str, dict] = {}
    for asset in ASSETS:
        path = args.data / f"{asset}.csv"
        candles, _quality = read_candles_csv(path, symbol=asset, source="yahoo", timeframe="1d")
        report = run_backtest(candles, names, spec, seed=args.seed, preset="wf1")
        print()
        print(describe_run(report))
        print(format_leaderboard(report, COLUMNS))
        # The trading table on the same forecasts: sign strategy, 10 bps fee, 5 bps slippage,
        # buy-and-hold beside (hourly assets: bench/trading.py).
        trading = trading_from_report(report, candles, StrategySpec(fee_bps=10, slippage_bps=5))
        print(format_trading(trading, regimes=False))
        seconds[asset] = {n: r.total_seconds for n, r in report.results.items()}
        cpu[asset] = {n: r.cpu_seconds for n, r in report.results.items()}
        figures[asset] = {
            n: {**{k: _clean(report.metrics[n][k]) for _, k, _ in COLUMNS},
                "seconds": report.results[n].total_seconds,
                "cpu_seconds": report.results[n].cpu_seconds,
                "fit_seconds": report.results[n].fit_seconds,
                "n_fits": report.results[n].n_fits}
            for n in report.ranking()
        }
        figures[asset]["trading"] = trading.to_json(series=False)
    models = list(next(iter(seconds.values())))
    print()
    print("seconds per model and asset, wall-clock (CPU), WF1: 13 fits + 365 one-step forecasts")
    print(f"{'model':<10}" + "".join(f"{a:>16}" for a in ASSETS))
    for name in models:
        cells = "".join(f"{f'{seconds[a][name]:.2f} ({cpu[a][name]:.2f})':>16}" for a in ASSETS)
        print(f"{name:<10}{cells}")
    load = _load_average()
    if load is not None:
        print(f"load average (1 min) at the end: {load:.2f} on {os.cpu_count()} CPUs; wall-clock "
              "figures grow when other processes share the machine, CPU seconds much less")
    if args.json:
        args.json.write_text(json.dumps({"protocol": "wf1", "seed": args.seed,
                                         "figures": figures}, indent=2))
    return 0


def versus_darts(args: argparse.Namespace) -> int:
    """Our LightGBM (default config: point model, conformal interval, P(up)) and Darts' on
    the same three daily series, alternating, ``--repeats`` rounds; medians and ratios."""
    import statistics
    import subprocess
    import tempfile

    model_class("lightgbm")
    import lightgbm  # noqa: F401

    spec = preset_spec("wf1", "1d")
    ours: dict[str, list[float]] = {a: [] for a in ASSETS}
    ours_cpu: dict[str, list[float]] = {a: [] for a in ASSETS}
    darts: dict[str, list[float]] = {a: [] for a in ASSETS}
    u_ours: dict[str, float] = {}
    u_darts: dict[str, float] = {}
    peers = REPO.parent / "shared" / "peers" / "run_peers.py"
    for r in range(args.repeats):
        for asset in ASSETS:  # ours then Darts' on the same asset: both see the same load
            candles, _q = read_candles_csv(args.data / f"{asset}.csv", symbol=asset,
                                           source="yahoo", timeframe="1d")
            report = run_backtest(candles, ["lightgbm"], spec, seed=args.seed, preset="wf1")
            ours[asset].append(report.results["lightgbm"].total_seconds)
            ours_cpu[asset].append(report.results["lightgbm"].cpu_seconds)
            u_ours[asset] = report.metrics["lightgbm"]["theils_u"]
            short = asset.split("-")[0]
            with tempfile.TemporaryDirectory() as out:
                subprocess.run([args.peers, str(peers), "--freq", "daily", "--assets", short,
                                "--models", "lgbm", "--out-dir", out], check=True,
                               stdout=subprocess.DEVNULL)
                entry = json.loads((Path(out) / "daily.json").read_text())["results"][short]["lgbm"]
            darts[asset].append(float(entry["wall_s"]))
            u_darts[asset] = float(entry["metrics"]["TheilU"])
            print(f"round {r + 1} {asset}: ours {ours[asset][-1]:.2f}s, darts "
                  f"{darts[asset][-1]:.2f}s, load {_load_average() or float('nan'):.2f}",
                  flush=True)
    print(f"\nLightGBM WF1, medians of {args.repeats} round(s), wall-clock seconds (ours: "
          "the calibration copy trains beside the model where there are two cores; CPU "
          "seconds beside)")
    print(f"{'asset':<10}{'ours':>8}{'CPU':>8}{'darts':>8}{'ratio':>8}{'U ours':>9}"
          f"{'U darts':>9}")
    for asset in ASSETS:
        mo, md = statistics.median(ours[asset]), statistics.median(darts[asset])
        mc = statistics.median(ours_cpu[asset])
        print(f"{asset:<10}{mo:>8.2f}{mc:>8.2f}{md:>8.2f}{md / mo:>7.1f}x{u_ours[asset]:>9.4f}"
              f"{u_darts[asset]:>9.4f}")
    load = _load_average()
    if load is not None:
        print(f"load average (1 min) at the end: {load:.2f} on {os.cpu_count()} CPUs")
    return 0


def _load_average() -> float | None:
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def _clean(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


if __name__ == "__main__":
    raise SystemExit(main())
