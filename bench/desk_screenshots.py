"""Screenshots of the desk at 1280×800, light and dark, from real data (docs/screenshots/).

* ``desk-log-btc-<theme>.png``: BTC-USD daily from 2014 on a log price scale;
* ``desk-hourly-axis-<theme>.png``: XRP-USDT hourly, three days: hours with the day and month
  under them;
* ``desk-results-switch-<theme>.png``: the results table after switching from XRP hourly (its
  run) back to BTC daily (its own run), with two models' forecasts overlaid and their
  residuals compared.

Usage: ``.venv/bin/python bench/desk_screenshots.py --data /work/shared/data [--out DIR]``.
The data are imported into a temporary CRYPTODESK_HOME (never into the repository).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gui import _spin, _window  # noqa: E402  (bench/gui.py: start the window, wait on it)


def _settle(app: Any, seconds: float = 0.6) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def _show(app: Any, win: Any, key: Any) -> None:
    win.data_panel.refresh(select=key)
    _spin(app, lambda: win.session.key == key, 60)
    _settle(app)


def _run(app: Any, win: Any, models: list[str], **spec: Any) -> None:
    done: list[Any] = []
    win.training.set_checked(models)
    win.training.set_spec(**spec)
    _spin(app, lambda: not win.runs.warm_slot.busy, 120)
    for signal in (win.run_finished, win.run_failed, win.run_cancelled):
        signal.connect(lambda value, _d=done: _d.append(value))
    win.start_training()
    _spin(app, lambda: bool(done), 600)
    if isinstance(done[0], str):
        raise SystemExit(f"run failed: {done[0]}")
    _settle(app)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the shared data folder")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    args = parser.parse_args()
    os.environ["CRYPTODESK_HOME"] = tempfile.mkdtemp(prefix="cryptodesk-shots-")
    from cryptodesk.app import ingest
    from cryptodesk.data.schema import SeriesKey
    from cryptodesk.data.store import CandleStore
    from cryptodesk.gui.window_layout import size_docks
    from cryptodesk.jobs import null_context

    store = CandleStore()
    btc = ingest.import_csv(store, args.data / "daily" / "BTC-USD.csv", null_context(),
                            symbol="BTC-USD", source="yahoo")
    xrp = ingest.import_csv(store, args.data / "hourly" / "XRP-USDT-1h.csv", null_context(),
                            symbol="XRP/USDT", source="binance")
    btc_key = SeriesKey("yahoo", "BTC-USD", "1d")
    xrp_key = SeriesKey("binance", "XRP/USDT", "1h")
    del btc, xrp
    app, win = _window()
    size_docks(win, win.docks, 1280, 800)
    args.out.mkdir(parents=True, exist_ok=True)
    # the runs: XRP hourly first, then BTC daily (two models beside naive)
    _show(app, win, xrp_key)
    _run(app, win, ["drift", "arima"], test_size=240, refit_every=48, horizon=1)
    _show(app, win, btc_key)
    _run(app, win, ["drift", "arima"], test_size=180, refit_every=30, horizon=1)

    def shot(name: str) -> None:
        for theme in ("light", "dark"):
            win.apply_theme(theme, save=False)
            _settle(app, 0.8)
            path = args.out / f"{name}-{theme}.png"
            win.grab().save(str(path), "PNG", 9)
            print(f"{path} ({path.stat().st_size / 1024:.0f} kB)")
        win.apply_theme("light", save=False)

    # 1. BTC daily from 2014 on a log scale
    win.session.select([])
    win.chart.set_log_scale(True)
    win.chart.show_all()
    _settle(app)
    shot("desk-log-btc")
    win.chart.set_log_scale(False)
    # 2. hourly axis labels: XRP, three days
    _show(app, win, xrp_key)
    win.session.select(["arima"])
    win.chart.show_last(48)
    _settle(app)
    shot("desk-hourly-axis")
    # 3. back to BTC: its own results; two models overlaid, residuals compared
    _show(app, win, btc_key)
    win.session.select(["arima", "drift"])
    win.chart.show_last(240)
    _settle(app)
    shot("desk-results-switch")
    win.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
