"""Interval calibration on protocol WF1: 80 % coverage of every model on BTC, ETH and XRP,
daily and hourly, with Theil's U, the PIT histogram and P(up)'s Brier score.

The 80 % intervals are conformal by default (cryptodesk.models.conformal); a calibrated model
covers 75–85 % out of sample. Settings are fixed before the run: default configs, seed 0; on
hourly data the LSTM trains on its most recent ``--hourly-windows`` windows per refit (the
default configuration would take hours per asset on a 2-core CPU).

    .venv/bin/python bench/calibration.py [--data ../shared/data] [--freq daily,hourly]
        [--models drift,arima,lightgbm,lstm] [--json out.json]
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
from cryptodesk.evaluation.backtest import ModelRun, run_backtest  # noqa: E402
from cryptodesk.evaluation.calibration import calibration_summary  # noqa: E402
from cryptodesk.evaluation.presets import preset_spec  # noqa: E402

ASSETS = ("BTC", "ETH", "XRP")


def series(data: Path, freq: str, asset: str):
    """One of the six WF1 series."""
    if freq == "daily":
        return read_candles_csv(data / "daily" / f"{asset}-USD.csv", symbol=f"{asset}-USD",
                                source="yahoo", timeframe="1d")[0]
    return read_candles_csv(data / "hourly" / f"{asset}-USDT-1h.csv", symbol=f"{asset}/USDT",
                            source="binance", timeframe="1h")[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--freq", default="daily,hourly")
    parser.add_argument("--assets", default=",".join(ASSETS))
    parser.add_argument("--models", default="drift,arima,lightgbm,lstm")
    parser.add_argument("--hourly-windows", type=int, default=5000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    names = [n for n in args.models.split(",") if n]
    out: dict[str, dict] = {}
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    for freq in args.freq.split(","):
        for asset in args.assets.split(","):
            candles = series(args.data, freq, asset)
            tf = candles.attrs["timeframe"]
            runs = [ModelRun(n, {"max_train_windows": args.hourly_windows}
                             if freq == "hourly" and n in ("lstm", "gru", "cnn", "cnn_gru",
                                                           "transformer") else {})
                    for n in names]
            t0 = time.perf_counter()
            report = run_backtest(candles, runs, preset_spec("wf1", tf), seed=0, preset="wf1")
            key = f"{asset} {freq}"
            out[key] = {}
            print(f"\n{key} ({len(candles):,} bars, {time.perf_counter() - t0:.0f} s)")
            print(f"{'model':<10}{'Cov80%':>8}{'TheilU':>8}{'Brier':>8}{'PIT counts (10 bins)':>28}")
            for name in report.ranking():
                m = report.metrics[name]
                cal = calibration_summary(report.results[name].forecasts)
                pit = (cal["pit_histogram"] or {}).get("counts")
                out[key][name] = {"coverage": _c(m["coverage"]), "theils_u": _c(m["theils_u"]),
                                  "brier": _c(m["brier"]), "dm_p_value": _c(m["dm_p_value"]),
                                  "pit": pit, "seconds": report.results[name].total_seconds}
                print(f"{name:<10}{_f(m['coverage'], '.1f'):>8}{_f(m['theils_u'], '.4f'):>8}"
                      f"{_f(m['brier'], '.4f'):>8}   {pit}")
            if args.json:
                args.json.write_text(json.dumps(out, indent=2))
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")
    return 0


def _c(v):
    return None if v is None or not math.isfinite(v) else float(v)


def _f(v, fmt):
    return "-" if v is None or not math.isfinite(v) else format(v, fmt)


if __name__ == "__main__":
    raise SystemExit(main())
