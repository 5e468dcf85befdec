"""Our LSTM and GRU next to Darts' on protocol WF1, in one run on the same machine.

For each daily asset it runs ``bench/wf1_nets.py`` (our nets at their default configs) and
then ``../shared/peers/run_peers.py`` (Darts 0.48.1 BlockRNN LSTM/GRU, in its own virtual
environment; see ``../shared/peers/README.md``), each in a fresh process, and prints per net:
both wall-clock seconds for the whole walk-forward (13 fits + 365 forecasts; imports and
Darts' warm-up excluded, as each script reports them), the speed ratio, and both Theil's U
with their Diebold–Mariano p-values against naive, and a head-to-head Diebold–Mariano test of
our one-step forecasts against Darts' on the same dates (is a difference in U more than
noise?). The load average before and after each
step is printed too: wall-clock grows with load, so quote ratios from one run and say what else
was running. ``--repeats N`` repeats the whole sequence and prints the median ratio.

    .venv/bin/python bench/nets_vs_darts.py [--assets BTC-USD,ETH-USD,XRP-USD]
        [--models lstm,gru] [--repeats 1] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
PEERS = REPO.parent / "shared" / "peers" / "run_peers.py"
sys.path.insert(0, str(REPO))
PEERS_PYTHON = Path.home() / ".cache" / "cryptodesk-peers" / "venv" / "bin" / "python"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", default="BTC-USD,ETH-USD,XRP-USD")
    parser.add_argument("--models", default="lstm,gru")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--peers", type=Path, default=PEERS)
    parser.add_argument("--peers-python", type=Path, default=PEERS_PYTHON)
    parser.add_argument("--darts-threads", type=int, default=2,
                        help="torch threads for Darts (its protocol's setting: 2; on a machine "
                             "shared with other jobs use 1, as ours do: two OpenMP threads "
                             "spin-wait for a core and a fit takes tens of times longer)")
    parser.add_argument("--json", type=Path, help="write every figure as JSON")
    args = parser.parse_args(argv)
    if not args.peers_python.exists():
        sys.exit(f"no peer environment at {args.peers_python}: see {PEERS.parent / 'README.md'}")
    assets = [a.strip() for a in args.assets.split(",") if a.strip()]
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    runs = []
    with tempfile.TemporaryDirectory(prefix="nets-vs-darts-") as tmp:
        for rep in range(args.repeats):
            for asset in assets:
                runs.append({"repeat": rep, "asset": asset,
                             **one_asset(asset, models, Path(tmp), args)})
                print_run(runs[-1], models)
    print_summary(runs, assets, models)
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1))
    return 0


def one_asset(asset: str, models: list[str], tmp: Path, args: argparse.Namespace) -> dict:
    """Ours, then Darts, on one asset; each in a fresh process."""
    out: dict = {}
    ours_json = tmp / f"ours-{asset}.json"
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    subprocess.run([sys.executable, str(REPO / "bench" / "wf1_nets.py"), "--assets", asset,
                    "--models", ",".join(["naive", *models]), "--json", str(ours_json)],
                   check=True, stdout=subprocess.DEVNULL)
    out["ours_process_s"] = time.perf_counter() - t0
    ours = json.loads(ours_json.read_text())["figures"][asset]
    out["ours"] = {m: {"seconds": ours[m]["seconds"], "theils_u": ours[m]["theils_u"],
                       "dm_p": ours[m]["dm_p_value"], "fits": ours[m].get("n_fits")}
                   for m in models}
    our_forecasts = {m: ours[m]["forecasts"] for m in models}
    out["load_before_ours"], out["load_after_ours"] = load, os.getloadavg()[0]
    short = asset.split("-")[0]
    t0 = time.perf_counter()
    threads = str(args.darts_threads)
    env = {**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
    subprocess.run([str(args.peers_python), str(args.peers), "--freq", "daily", "--assets",
                    short, "--models", ",".join(models), "--threads", threads,
                    "--out-dir", str(tmp), "--tag", f"_{short}"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    out["darts_process_s"] = time.perf_counter() - t0
    darts = json.loads((tmp / f"daily_{short}.json").read_text())["results"][short]
    out["darts"] = {m: {"seconds": darts[m]["wall_s"], "theils_u": darts[m]["metrics"]["TheilU"],
                        "dm_p": darts[m]["metrics"]["DM_p_vs_naive"]} for m in models}
    out["load_after_darts"] = os.getloadavg()[0]
    peer = pd.read_csv(tmp / f"daily_{short}_predictions.csv")
    out["head_to_head"] = {
        m: head_to_head(our_forecasts[m], peer[(peer["asset"] == short) & (peer["model"] == m)])
        for m in models}
    return out


def head_to_head(ours: dict[str, float], peer: pd.DataFrame) -> dict:
    """Diebold–Mariano on squared errors, ours against Darts' on the same target dates:
    whether a difference in Theil's U is more than noise (p < 0.05), and which way."""
    from cryptodesk.evaluation.significance import dm_test

    frame = peer.assign(ours=peer["date"].map(ours)).dropna(subset=["ours", "yhat", "y"])
    result = dm_test((frame["y"] - frame["ours"]).to_numpy(),
                     (frame["y"] - frame["yhat"]).to_numpy())
    mse_ours = float(((frame["y"] - frame["ours"]) ** 2).mean())
    mse_darts = float(((frame["y"] - frame["yhat"]) ** 2).mean())
    return {"n": len(frame), "dm_p": None if math.isnan(result.p_value) else result.p_value,
            "rmse_ratio": math.sqrt(mse_ours / mse_darts)}


def print_run(run: dict, models: list[str]) -> None:
    print(f"\n{run['asset']} (repeat {run['repeat'] + 1}; load average {run['load_before_ours']:.1f}"
          f" before ours, {run['load_after_ours']:.1f} after ours, "
          f"{run['load_after_darts']:.1f} after Darts)")
    print(f"  {'net':<6}{'ours s':>9}{'Darts s':>9}{'speed x':>9}   {'ours U (DM p)':<20}"
          f"{'Darts U (DM p)':<20}{'ours vs Darts: RMSE ratio, DM p (n)'}")
    for m in models:
        a, b, h = run["ours"][m], run["darts"][m], run["head_to_head"][m]
        p = "n/a" if h["dm_p"] is None else f"{h['dm_p']:.3f}"
        print(f"  {m:<6}{a['seconds']:>9.1f}{b['seconds']:>9.1f}{b['seconds'] / a['seconds']:>9.2f}"
              f"   {_u(a):<20}{_u(b):<20}{h['rmse_ratio']:.4f}, {p} ({h['n']})", flush=True)


def print_summary(runs: list[dict], assets: list[str], models: list[str]) -> None:
    print("\nmedian speed ratio (Darts seconds / ours) over repeats:")
    for asset in assets:
        for m in models:
            ratios = [r["darts"][m]["seconds"] / r["ours"][m]["seconds"] for r in runs
                      if r["asset"] == asset]
            print(f"  {asset} {m}: {statistics.median(ratios):.2f}x ({len(ratios)} run(s))")


def _u(fig: dict) -> str:
    p = fig["dm_p"]
    return f"{fig['theils_u']:.4f} ({'n/a' if p is None else f'{p:.3f}'})"


if __name__ == "__main__":
    raise SystemExit(main())
