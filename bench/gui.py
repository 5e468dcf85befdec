"""Responsiveness of the desktop app, measured offscreen.

Prints:

(a) event-loop stalls while a LightGBM walk-forward and an LSTM training run go on in the
    training worker: a 10 ms QTimer heartbeat records how late each beat fires; the p99 and
    the max lateness are the stall figures (target p99 < 50 ms);
(b) frame times for panning and zooming a 1,000,000-bar candle series (each frame: change the
    x range, then repaint the chart synchronously; target median < 33 ms);
(c) seconds from process start to the main window shown, in a fresh process (target < 2.5 s),
    and whether torch / LightGBM / ccxt were imported by then (they must not be).

Usage: ``.venv/bin/python bench/gui.py [--quick]`` (``--quick``: smaller runs, for a smoke test).
Runs on a temporary CRYPTODESK_HOME; never touches the user's folders.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


# ----------------------------------------------------------------------------- (a) stalls
def bench_stalls(quick: bool, screenshot: Path | None = None) -> dict[str, float]:
    from PySide6.QtCore import QElapsedTimer, QTimer

    from cryptodesk.gui.app import application, create_window, init_logging

    init_logging()
    app = application()
    win = create_window(app)
    win.resize(1440, 900)
    win.show()
    deadline = time.monotonic() + 60
    while win.data_panel.current is None and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.005)
    tp = win.training
    tp.set_checked(["lightgbm", "lstm"])
    for name in ("lightgbm", "lstm"):
        tp.ensure_form(name)
    while (tp.form("lightgbm") is None or tp.form("lstm") is None) and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.005)
    tp.form("lightgbm").set_values({"n_estimators": 60 if quick else 150})
    tp.form("lstm").set_values({"max_epochs": 2 if quick else 5, "patience": 0,
                                "lookback": 32, "num_threads": 1})
    tp.set_spec(test_size=60 if quick else 180, refit_every=30 if quick else 60, horizon=1)

    lateness: list[float] = []
    clock = QElapsedTimer()
    beat = QTimer()
    beat.setInterval(10)
    beat.setTimerType(beat.timerType().PreciseTimer)
    last = [0]

    def on_beat() -> None:
        now = clock.nsecsElapsed()
        if last[0]:
            lateness.append(max(0.0, (now - last[0]) / 1e6 - 10.0))
        last[0] = now

    beat.timeout.connect(on_beat)
    done: list[object] = []
    win.run_finished.connect(done.append)
    win.run_failed.connect(done.append)
    clock.start()
    beat.start()
    t0 = time.monotonic()
    win.start_training()
    while not done and time.monotonic() - t0 < 900:
        app.processEvents()
        time.sleep(0.001)
    seconds = time.monotonic() - t0
    beat.stop()
    rows = {r["model"]: r for r in win.results.rows()}
    if screenshot is not None and done and not isinstance(done[0], str):
        win.results.select("lstm")  # its forecasts, band and loss curve
        win.training.select_model("lstm")  # and its hyperparameter form
        for _ in range(30):
            app.processEvents()
            time.sleep(0.01)
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        win.grab().save(str(screenshot), "PNG", 9)
        print(f"    screenshot: {screenshot} ({screenshot.stat().st_size / 1024:.0f} kB)")
    win.close()
    if not done or isinstance(done[0], str):
        raise SystemExit(f"training run did not finish: {done}")
    return {
        "run_seconds": seconds,
        "beats": len(lateness),
        "p50_ms": _pct(lateness, 50),
        "p99_ms": _pct(lateness, 99),
        "max_ms": max(lateness) if lateness else float("nan"),
        "rmse_lightgbm": rows["lightgbm"]["rmse"],
        "rmse_lstm": rows["lstm"]["rmse"],
        "rmse_naive": rows["naive"]["rmse"],
    }


# ----------------------------------------------------------------------------- (b) frames
def million_bars(n: int = 1_000_000, seed: int = 7):
    """A random-walk candle series of ``n`` one-minute bars (a fast stand-in for real data)."""
    from cryptodesk.gui.charts.levels import build_pyramid

    rng = np.random.default_rng(seed)
    ret = rng.standard_t(4, n) * 0.0008
    close = 30_000 * np.exp(np.cumsum(ret))
    open_ = np.concatenate([[30_000.0], close[:-1]])
    wick = np.abs(rng.normal(0, 0.0005, (2, n)))
    high = np.maximum(open_, close) * (1 + wick[0])
    low = np.minimum(open_, close) * (1 - wick[1])
    volume = np.abs(rng.normal(10, 3, n))
    x = 1_600_000_000.0 + 60.0 * np.arange(n)
    t = time.perf_counter()
    pyr = build_pyramid(x, open_, high, low, close, volume, 60.0)
    return pyr, time.perf_counter() - t


def bench_frames(quick: bool) -> dict[str, float]:
    from cryptodesk.gui.app import application
    from cryptodesk.gui.charts.chart_area import ChartArea

    app = application()
    pyr, build_s = million_bars()
    chart = ChartArea()
    chart.resize(1200, 760)
    chart.show()
    t = time.perf_counter()
    chart.set_series(pyr, "1,000,000 bars")
    app.processEvents()
    chart.glw.viewport().repaint()
    first_s = time.perf_counter() - t
    n = len(pyr)
    x0, x1 = float(pyr.base.x[0]), float(pyr.base.x[-1])
    span = x1 - x0
    frames: dict[str, list[float]] = {"pan": [], "zoom": []}
    steps = 40 if quick else 120

    from PySide6.QtCore import QEvent, QObject

    class PaintCounter(QObject):
        paints = 0

        def eventFilter(self, obj: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint:
                PaintCounter.paints += 1
            return False

    counter = PaintCounter()
    chart.glw.viewport().installEventFilter(counter)

    def frame(kind: str, lo: float, hi: float) -> None:
        """One frame: the range change, the auto-range, and the repaint it causes."""
        before = PaintCounter.paints
        t0 = time.perf_counter()
        chart.price.setXRange(lo, hi, padding=0)
        app.processEvents()
        if PaintCounter.paints == before:  # the platform did not paint yet: force it
            chart.glw.viewport().repaint()
        frames[kind].append((time.perf_counter() - t0) * 1000)

    # zoom from everything down to ~100 bars and back out, about the middle
    mid = x0 + span / 2
    widths = np.geomspace(span, 100 * 60.0, steps // 2)
    for w in np.concatenate([widths, widths[::-1]]):
        frame("zoom", mid - w / 2, mid + w / 2)
    # pan at three zoom levels: whole series, 20,000 bars, 500 bars
    for width in (span, 20_000 * 60.0, 500 * 60.0):
        for i in range(steps // 3):
            lo = x0 + (span - width) * i / max(steps // 3 - 1, 1) if width < span else x0 + i * 60.0
            frame("pan", lo, lo + width)
    chart.close()
    out = {"bars": float(n), "pyramid_build_s": build_s, "first_draw_s": first_s}
    for kind, values in frames.items():
        out[f"{kind}_median_ms"] = _pct(values, 50)
        out[f"{kind}_p95_ms"] = _pct(values, 95)
        out[f"{kind}_max_ms"] = max(values)
    return out


# ----------------------------------------------------------------------------- (c) start-up
CHILD = r"""
import sys, time
from cryptodesk.gui import app as appmod
appmod.init_logging()
qapp = appmod.application()
win = appmod.create_window(qapp)
win.show()
qapp.processEvents()
shown = time.time()
heavy = [m for m in ("torch", "lightgbm", "ccxt") if m in sys.modules]
print(f"SHOWN {shown!r} {','.join(heavy) or '-'}", flush=True)
win.close()
"""


def bench_startup(runs: int) -> dict[str, object]:
    times, heavy = [], set()
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as home:
            env = dict(os.environ, CRYPTODESK_HOME=home, QT_QPA_PLATFORM="offscreen",
                       PYTHONPATH=str(REPO))
            t0 = time.time()
            out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True,
                                 text=True, timeout=120, cwd=REPO)
            line = next((x for x in out.stdout.splitlines() if x.startswith("SHOWN")), None)
            if line is None:
                raise SystemExit(f"start-up child failed:\n{out.stderr[-2000:]}")
            _, stamp, mods = line.split()
            times.append(float(stamp) - t0)
            if mods != "-":
                heavy.update(mods.split(","))
    return {"runs": runs, "median_s": _pct(times, 50), "max_s": max(times),
            "heavy_imported": ", ".join(sorted(heavy)) or "none"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs (smoke test)")
    parser.add_argument("--only", choices=("stalls", "frames", "startup"), default=None)
    parser.add_argument("--screenshot", type=Path, default=None,
                        help="save the main window after the training run as this PNG")
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="cryptodesk-bench-")
    os.environ["CRYPTODESK_HOME"] = home
    print(f"CryptoDesk GUI bench ({'quick' if args.quick else 'full'}), "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, Qt platform "
          f"{os.environ['QT_QPA_PLATFORM']}")
    if args.only in (None, "startup"):
        s = bench_startup(3 if args.quick else 5)
        ok = "OK" if s["median_s"] < 2.5 else "OVER TARGET"
        print(f"(c) start-up to window shown: median {s['median_s']:.2f} s, max {s['max_s']:.2f} s "
              f"over {s['runs']} runs (target < 2.5 s: {ok}); heavy modules imported by then: "
              f"{s['heavy_imported']}")
    if args.only in (None, "frames"):
        f = bench_frames(args.quick)
        ok = "OK" if f["pan_median_ms"] < 33 and f["zoom_median_ms"] < 33 else "OVER TARGET"
        print(f"(b) 1,000,000-bar candles: pyramid built in {f['pyramid_build_s']:.2f} s, "
              f"first draw {f['first_draw_s'] * 1000:.0f} ms; "
              f"pan median {f['pan_median_ms']:.1f} ms (p95 {f['pan_p95_ms']:.1f}, max "
              f"{f['pan_max_ms']:.1f}); zoom median {f['zoom_median_ms']:.1f} ms (p95 "
              f"{f['zoom_p95_ms']:.1f}, max {f['zoom_max_ms']:.1f}) (target median < 33 ms: {ok})")
    if args.only in (None, "stalls"):
        a = bench_stalls(args.quick, args.screenshot)
        ok = "OK" if a["p99_ms"] < 50 else "OVER TARGET"
        print(f"(a) event-loop stall during a LightGBM walk-forward + LSTM training run "
              f"({a['run_seconds']:.1f} s, {a['beats']:,} heartbeats of 10 ms): p50 "
              f"{a['p50_ms']:.1f} ms, p99 {a['p99_ms']:.1f} ms, max {a['max_ms']:.1f} ms "
              f"(target p99 < 50 ms: {ok}); RMSE naive {a['rmse_naive']:.1f}, lightgbm "
              f"{a['rmse_lightgbm']:.1f}, lstm {a['rmse_lstm']:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
