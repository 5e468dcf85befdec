"""Cold start-up time of the desktop app: process start to the main window shown.

Starts ``python -m cryptodesk gui`` (the real entry point: CLI parsing, logging, Qt,
pyqtgraph, settings, the window) five times in fresh processes, each on an empty temporary
CRYPTODESK_HOME (a first start: the welcome panel opens, the demo series is written in a worker
after the window is shown), offscreen, with ``CRYPTODESK_SMOKE_EXIT_MS`` closing it right after.
The time is the wall clock from just before the process is spawned to the app's own log line
"window shown ... (at EPOCH)", written after the window's first paint. Also reports whether
torch / LightGBM / ccxt were imported by then (they must not be), using a separate probe.

Usage: ``.venv/bin/python bench/startup.py [--runs N]``. Target: median < 1.5 s.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_S = 1.5
SHOWN = re.compile(r"window shown [0-9.]+ s after start \(at ([0-9.]+)\)")
PROBE = r"""
import sys
from cryptodesk.gui import app as appmod
q = appmod.application()
w = appmod.create_window(q)
w.show()
q.processEvents()
print(",".join(m for m in ("torch", "lightgbm", "ccxt") if m in sys.modules) or "-")
w.close()
"""


def _env(home: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ, CRYPTODESK_HOME=home, QT_QPA_PLATFORM="offscreen",
               PYTHONPATH=str(REPO), **extra)
    return env


def one_start() -> float:
    """Seconds from spawning ``python -m cryptodesk gui`` to its window shown."""
    with tempfile.TemporaryDirectory(prefix="cryptodesk-startup-") as home:
        env = _env(home, CRYPTODESK_SMOKE_EXIT_MS="200")
        t0 = time.time()
        out = subprocess.run([sys.executable, "-m", "cryptodesk", "gui"], env=env, cwd=REPO,
                             capture_output=True, text=True, timeout=120)
        log = Path(home, "log", "cryptodesk.log")
        text = log.read_text(encoding="utf-8") if log.exists() else ""
        match = SHOWN.search(text)
        if out.returncode != 0 or match is None:
            raise SystemExit(f"start-up run failed (exit {out.returncode}):\n{out.stderr[-2000:]}"
                             f"\n{text[-2000:]}")
        return float(match.group(1)) - t0


def heavy_modules() -> str:
    with tempfile.TemporaryDirectory(prefix="cryptodesk-startup-") as home:
        out = subprocess.run([sys.executable, "-c", PROBE], env=_env(home), cwd=REPO,
                             capture_output=True, text=True, timeout=120)
    lines = out.stdout.strip().splitlines()
    return lines[-1] if out.returncode == 0 and lines else f"probe failed: {out.stderr[-500:]}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    one_start()  # not counted: compiles .pyc files after an edit
    times = [one_start() for _ in range(args.runs)]
    median = statistics.median(times)
    ok = "OK" if median < TARGET_S else "OVER TARGET"
    heavy = heavy_modules()
    print(f"start-up to main window shown: median {median:.2f} s over {args.runs} cold starts "
          f"(min {min(times):.2f}, max {max(times):.2f}; target < {TARGET_S} s: {ok}); "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; heavy modules imported by "
          f"then: {'none' if heavy == '-' else heavy}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
