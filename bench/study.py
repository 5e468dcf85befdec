"""Study throughput: the speed-up of 2 local workers over 1, and Ray's overhead against the
local pool on the same cores.

The study: WF1 on the real daily BTC, ETH and XRP series (``--data``, default
``../shared/data``); LightGBM and the CNN with 2 seeds each, ARIMA once: 15 cells, each a
full walk-forward next to naive. Two phases, each run into fresh folders:

1. the speed-up, with no Ray cluster up (its idle daemons take about 3 % of a core, which
   would burden the 2-worker run and not the 1-worker one): each repeat runs ``--workers 1``
   and ``--workers 2`` in turn, alternating which goes first;
2. Ray's overhead, with a local Ray cluster of one node with 2 CPUs started once before any
   timing (as a user's cluster would be): each repeat runs the local pool with 2 workers and
   the Ray runner in turn, so both share the cluster's idle load.

The figures are ratios within one repeat, then the median over repeats; every run prints its
time and the load average around it, because on a shared machine the load decides the wall
clock.

    .venv/bin/python bench/study.py [--data ../shared/data] [--repeats 3] [--no-ray]

Targets (issue 18): speed-up >= 1.8x on a 2-core machine; Ray overhead <= 15 %.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SPEC = """
name = "bench"
seeds = [0, 1]
[protocol]
preset = "wf1"
{series}
[[models]]
name = "lightgbm"
[[models]]
name = "arima"
[[models]]
name = "cnn"
"""


SUMMARIES: dict[str, bytes] = {}  # every run must give the first run's summary, byte for byte


def make_spec(data: Path, folder: Path) -> Path:
    """Write the bench study's spec into ``folder``."""
    series = "".join(
        f'[[series]]\ncsv = "{data / "daily" / f"{s}-USD.csv"}"\nsymbol = "{s}-USD"\n'
        'timeframe = "1d"\n' for s in ("BTC", "ETH", "XRP"))
    path = folder / "bench.toml"
    path.write_text(SPEC.format(series=series), encoding="utf-8")
    return path


def timed(label: str, run) -> float:
    """Run a study; print its wall time, the CPU the driver (this process) used, the cells'
    own CPU seconds and the load average around it."""
    load = os.getloadavg()[0]
    started, cpu = time.perf_counter(), time.process_time()
    outcome = run()
    seconds = time.perf_counter() - started
    driver = time.process_time() - cpu
    assert outcome.done == outcome.cells and not outcome.failed, outcome.failed
    summary = (Path(outcome.out) / "summary.csv").read_bytes()
    assert SUMMARIES.setdefault("first", summary) == summary, "a run's summary differs"
    cells = sum(_cell_cpu(Path(outcome.out)))
    print(f"  {label:<22} {seconds:7.1f} s  ({outcome.cells} cells, {cells:.0f} CPU s in cells, "
          f"driver {driver:.1f} CPU s; load {load:.1f} -> {os.getloadavg()[0]:.1f})", flush=True)
    return seconds


def _cell_cpu(folder: Path) -> list[float]:
    import json

    return [json.loads(p.read_text())["ran"]["cpu_seconds"]
            for p in folder.glob("cells/*/cell.json")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray figure")
    args = parser.parse_args()
    if not (args.data / "daily" / "BTC-USD.csv").is_file():
        print(f"no daily data at {args.data}/daily", file=sys.stderr)
        return 1
    from cryptodesk.app.study.engine import run_study
    from cryptodesk.app.study.local import LocalRunner
    from cryptodesk.app.study.ray_runner import RayRunner
    from cryptodesk.app.study.spec import StudySpec

    work = Path(tempfile.mkdtemp(prefix="cryptodesk-bench-study-"))
    os.environ["CRYPTODESK_HOME"] = str(work / "home")
    spec = StudySpec.read(make_spec(args.data, work))
    print(f"study: 3 daily series x (LightGBM, CNN: 2 seeds; ARIMA: once), WF1; "
          f"{os.cpu_count()} CPUs; {args.repeats} repeats")

    def local(workers: int, out: str) -> float:
        return timed(f"local, {workers} worker(s)",
                     lambda: run_study(spec, work / out, LocalRunner(workers)))

    one, two = [], []
    print("speed-up (no Ray cluster up):")
    for repeat in range(1, args.repeats + 1):
        print(f"repeat {repeat}:")
        for workers in ((1, 2) if repeat % 2 else (2, 1)):
            (one if workers == 1 else two).append(local(workers, f"r{repeat}-w{workers}"))
    ratios = [a / b for a, b in zip(one, two, strict=True)]
    print(f"speed-up, 2 workers vs 1: median {statistics.median(ratios):.2f}x (per repeat "
          f"{', '.join(f'{r:.2f}x' for r in ratios)}; target >= 1.8x)", flush=True)
    if args.no_ray:
        print("every run gave the same summary.csv, byte for byte")
        return 0
    from tests.support.ray_cluster import LocalRayCluster

    cluster = LocalRayCluster(cpus=2, extra=0)
    started = time.perf_counter()
    cluster.start()
    print(f"Ray overhead: local Ray cluster (1 node, 2 CPUs) at {cluster.address}, started in "
          f"{time.perf_counter() - started:.0f} s (not timed)")
    pool, ray = [], []
    try:
        for repeat in range(1, args.repeats + 1):
            print(f"repeat {repeat}:")
            pool.append(local(2, f"r{repeat}-w2-beside-ray"))
            ray.append(timed("Ray, 2 CPUs", lambda repeat=repeat: run_study(
                spec, work / f"r{repeat}-ray", RayRunner(cluster.address))))
    finally:
        cluster.stop()
    per = [100 * (r / b - 1) for r, b in zip(ray, pool, strict=True)]
    print(f"Ray overhead vs the local pool on the same 2 cores: median "
          f"{statistics.median(per):+.1f} % (per repeat "
          f"{', '.join(f'{p:+.1f} %' for p in per)}; target <= 15 %)")
    print("every run gave the same summary.csv, byte for byte")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
