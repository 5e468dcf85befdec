"""Volatility WF1: realised-variance forecasts on BTC, ETH and XRP, daily and hourly.

Daily series: each bar's realised variance from Parkinson's high–low range; hourly series:
the sum of the day's squared hourly log returns (realised variance), forecast one day ahead.
Protocol WF1 on the daily bars (last 365 days as test, refit every 30, expanding window).
Models: naive (the last realised value: the baseline), EWMA (RiskMetrics, lambda 0.94),
GARCH(1,1), HAR-RV and LightGBM on log variance; default settings, seed 0, fixed before the
run. Prints QLIKE, MSE on variance, Mincer–Zarnowitz R² and the Diebold–Mariano p-value on
QLIKE against naive volatility.

    .venv/bin/python bench/volatility.py [--data ../shared/data] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.calibration import ASSETS, _c, series  # noqa: E402
from cryptodesk.evaluation.backtest import run_backtest  # noqa: E402
from cryptodesk.evaluation.leaderboard import describe_run, format_leaderboard  # noqa: E402
from cryptodesk.evaluation.presets import preset_spec  # noqa: E402
from cryptodesk.features.volatility import volatility_frame  # noqa: E402

MODELS = ("ewma", "garch", "har", "lightgbm")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    out: dict[str, dict] = {}
    for freq in ("daily", "hourly"):
        for asset in ASSETS:
            frame = volatility_frame(series(args.data, freq, asset))
            t0 = time.perf_counter()
            report = run_backtest(frame, list(MODELS), preset_spec("wf1", "1d"), seed=0,
                                  preset="wf1", target="volatility")
            print(f"\n{asset} {freq} ({frame.attrs['rv_method']}), {time.perf_counter() - t0:.1f} s")
            print(describe_run(report))
            print(format_leaderboard(report))
            out[f"{asset} {freq}"] = {
                name: {k: _c(report.metrics[name][k]) for k in ("qlike", "mse_var", "mz_r2",
                                                                "dm_p_value")}
                | {"tier": tier, "rank": rank}
                for rank, name, tier in report.ranked()}
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
