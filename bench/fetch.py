"""Exchange download speed: our layer vs a bare ccxt ``fetch_ohlcv`` loop, same local server.

    .venv/bin/python bench/fetch.py [--repeats 5] [--symbol BTC/USDT] [--skip-rate-limited]

A local Binance-speaking server (tests/support/fake_binance.py, in its own process) serves the
real 26,279 hourly candles from ../shared/data/hourly. Both contenders create a client, load the
markets and download the whole history in pages of 1,000:

- bare: ``fetch_ohlcv`` in a loop, rows appended to a list (what a script would do);
- ours: :func:`cryptodesk.data.exchange.fetch_candles` into a fresh store: validation, retries,
  closed-candle filter, de-duplication and a store write (Parquet segment) per page.

It prints candles per second (median of the repeats) and the overhead ratio (ours / bare time;
target <= 1.2x). Two modes: ccxt's rate limiter off (pure overhead of our layer) and on (what
users run; the limiter's pauses then dominate both).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

HOURLY = REPO.parent / "shared" / "data" / "hourly"


def bare_ccxt(base_url: str, symbol: str, rate_limit: bool) -> int:
    """The baseline: a plain ccxt pagination loop into a Python list."""
    import ccxt

    from cryptodesk.data.exchange_client import rewrite_api_urls

    ex = ccxt.binance({"enableRateLimit": rate_limit,
                       "options": {"fetchMarkets": {"types": ["spot"]}}})
    ex.urls["api"] = rewrite_api_urls(ex.urls["api"], base_url)
    ex.load_markets()
    rows: list[list] = []
    since = 0
    while True:
        page = ex.fetch_ohlcv(symbol, "1h", since, 1000)
        if not page:
            break
        rows += page
        since = page[-1][0] + 3_600_000
    return len(rows)


def ours(base_url: str, symbol: str, rate_limit: bool, root: Path) -> int:
    """CryptoDesk's job: everything `cryptodesk data fetch` does, minus the console."""
    from cryptodesk.data.exchange import fetch_candles
    from cryptodesk.data.store import CandleStore

    result = fetch_candles(CandleStore(root), "binance", symbol, "1h", api_url=base_url,
                           client_config={"enableRateLimit": rate_limit})
    return result.received


def measure(base_url: str, symbol: str, rate_limit: bool, repeats: int) -> tuple[float, float, int]:
    bare_times, our_times, counts = [], [], set()
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeats):  # alternate, so drift (caches, CPU clock) hits both alike
            t0 = time.perf_counter()
            counts.add(bare_ccxt(base_url, symbol, rate_limit))
            bare_times.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            counts.add(ours(base_url, symbol, rate_limit, Path(tmp) / f"run{i}"))
            our_times.append(time.perf_counter() - t0)
    if len(counts) != 1:
        raise SystemExit(f"contenders disagree on the candle count: {sorted(counts)}")
    return statistics.median(bare_times), statistics.median(our_times), counts.pop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--symbol", default="BTC/USDT")
    parser.add_argument("--skip-rate-limited", action="store_true",
                        help="only the run without ccxt's rate limiter")
    args = parser.parse_args()
    if not HOURLY.is_dir():
        print(f"real data not found at {HOURLY}", file=sys.stderr)
        return 1
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.support.fake_binance", str(HOURLY)],
        cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        base_url = server.stdout.readline().strip()
        if not base_url.startswith("http://127.0.0.1:"):
            raise SystemExit("the local server did not start")
        bare_ccxt(base_url, args.symbol, False)  # warm-up: imports, server-side caches
        modes = [("rate limiter off", False, args.repeats)]
        if not args.skip_rate_limited:
            modes.append(("rate limiter on", True, args.repeats))
        print(f"{args.symbol} 1h, full history from a local server ({HOURLY}), "
              "median of repeats")
        print(f"{'mode':<18}{'candles':>9}{'bare ccxt':>16}{'cryptodesk':>16}{'ratio':>8}")
        for label, rate_limit, repeats in modes:
            bare_s, ours_s, n = measure(base_url, args.symbol, rate_limit, repeats)
            print(f"{label:<18}{n:>9,}{n / bare_s:>11,.0f} c/s{n / ours_s:>11,.0f} c/s"
                  f"{ours_s / bare_s:>7.2f}x   ({bare_s:.2f}s vs {ours_s:.2f}s, x{repeats})")
    finally:
        if server.stdin:
            server.stdin.close()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
