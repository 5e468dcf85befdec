"""Training speed and memory of the deep nets on hourly BTC, against a bare PyTorch loop.

For each net (default configs, lookback 48, batch 256, a fixed number of epochs, early stopping
off) on ``../shared/data/hourly/BTC-USDT-1h.csv`` it prints:

- training windows per second of our shared loop (``torch_train.train_network``: AdamW,
  gradient clipping, a validation pass per epoch, cancellation checks, progress reports);
- peak resident memory above the process's baseline (sampled every 2 ms while training), next
  to the budget ``2 x (raw float32 data + model)``, where "model" is its parameters plus their
  gradients and the two AdamW moments; plus one LSTM run on a quarter of the series, to show
  that the extra memory does not grow with the data (it is one batch's activations);

and the same figures for a *bare* hand-written loop of the same LSTM (64 -> 32, dropout 0.2):
windows materialised up front as one ``(n, lookback, 1)`` float32 array (as tutorials do),
Adam, MSE, nothing else. The ratio ours / bare is the price of the loop's features; the target
is >= 0.9. Each measurement runs in a fresh child process so peak memory is its own; the LSTM
pair is run ``--repeats`` times alternately and the best run of each is kept, because other
work on the machine adds noise that only ever slows a run down.

    .venv/bin/python bench/torch_train.py [--epochs 2] [--threads 1] [--nets lstm,gru,...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = REPO.parent / "shared" / "data" / "hourly" / "BTC-USDT-1h.csv"
LOOKBACK, BATCH = 48, 256


class PeakRss:
    """Samples this process's resident memory in a thread; ``peak`` is the highest seen."""

    def __init__(self, interval: float = 0.002) -> None:
        self.interval, self.peak, self._stop = interval, rss_bytes(), threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, rss_bytes())


def rss_bytes() -> int:
    """Current resident set size (Linux /proc; falls back to the peak so far elsewhere)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def model_bytes(net: Any) -> int:
    """Parameters + gradients + two AdamW moments, float32."""
    return 4 * sum(p.numel() for p in net.parameters()) * 4


# ---------------------------------------------------------------------- children
def child_ours(name: str, epochs: int, rows: int = 0) -> dict:
    import numpy as np

    from cryptodesk.data.csv_import import read_candles_csv
    from cryptodesk.models.registry import create

    candles, _ = read_candles_csv(DATA, symbol="BTC/USDT", timeframe="1h")
    if rows:
        candles = candles.iloc[-rows:]
    model = create(name, {"lookback": LOOKBACK, "batch_size": BATCH, "max_epochs": epochs,
                          "patience": 0, "device": "cpu"})
    model.fit(candles.iloc[:600], horizon=1)  # warm up kernels and allocator, like the bare run
    base = rss_bytes()
    with PeakRss() as mem:
        t0 = time.perf_counter()
        model.fit(candles, horizon=1)
        wall = time.perf_counter() - t0
    res = model.train_result
    data = len(candles) * (model.n_features + 1) * np.dtype(np.float32).itemsize
    return {"kind": f"ours:{name}" + (f"@{rows}rows" if rows else ""), "windows": res.train_windows, "epochs": len(res.history),
            "loop_seconds": res.seconds, "fit_seconds": wall,
            "windows_per_s": res.windows_per_second,
            "fit_windows_per_s": res.train_windows * len(res.history) / wall,
            "peak_delta": mem.peak - base, "data_bytes": data, "model_bytes": model_bytes(model.net),
            "val_loss": res.history[-1].val_loss}


def child_bare(epochs: int, windows: int) -> dict:
    """The reference: a plain loop a tutorial would write, same LSTM, same data and batches."""
    import numpy as np
    import torch
    from torch import nn

    from cryptodesk.data.csv_import import read_candles_csv

    class Lstm(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.l1, self.l2 = nn.LSTM(1, 64, batch_first=True), nn.LSTM(64, 32, batch_first=True)
            self.drop, self.out = nn.Dropout(0.2), nn.Linear(32, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x, _ = self.l1(x)
            x, _ = self.l2(self.drop(x))
            return self.out(self.drop(x[:, -1]))

    candles, _ = read_candles_csv(DATA, symbol="BTC/USDT", timeframe="1h")
    ret = np.diff(np.log(candles["close"].to_numpy()))
    ret = ((ret - ret.mean()) / ret.std()).astype(np.float32)

    def run(n_windows: int, n_epochs: int) -> tuple[float, nn.Module]:
        torch.manual_seed(0)
        net = Lstm()
        opt = torch.optim.Adam(net.parameters(), lr=2e-3)
        x = np.stack([ret[i : i + LOOKBACK] for i in range(n_windows)])[:, :, None]  # materialised
        y = ret[LOOKBACK : LOOKBACK + n_windows, None]
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        t0 = time.perf_counter()
        for _ in range(n_epochs):
            net.train()
            perm = torch.randperm(n_windows)
            for s in range(0, n_windows, BATCH):
                idx = perm[s : s + BATCH]
                opt.zero_grad()
                loss = nn.functional.mse_loss(net(xt[idx]), yt[idx])
                loss.backward()
                opt.step()
        return time.perf_counter() - t0, net

    run(500, 1)  # warm-up, as for ours
    base = rss_bytes()
    with PeakRss() as mem:
        seconds, net = run(windows, epochs)
    data = len(ret) * 2 * 4
    return {"kind": "bare:lstm", "windows": windows, "epochs": epochs, "loop_seconds": seconds,
            "fit_seconds": seconds, "windows_per_s": windows * epochs / seconds,
            "fit_windows_per_s": windows * epochs / seconds, "peak_delta": mem.peak - base,
            "data_bytes": data, "model_bytes": model_bytes(net), "val_loss": None}


def spawn(args: list[str], threads: int) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, __file__, *args, "--threads", str(threads)],
                         capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (1: steadiest on a shared 2-core machine)")
    parser.add_argument("--repeats", type=int, default=2, help="alternating LSTM/bare pairs")
    parser.add_argument("--nets", default="lstm,gru,cnn,cnn_gru,transformer")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--windows", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.child:
        import torch

        torch.set_num_threads(args.threads)
        kind, _, name = args.child.partition(":")
        result = child_bare(args.epochs, args.windows) if kind == "bare" \
            else child_ours(name, args.epochs, args.rows)
        print(json.dumps(result))
        return 0

    print(f"hourly BTC ({DATA.name}), lookback {LOOKBACK}, batch {BATCH}, {args.epochs} epochs, "
          f"{args.threads} torch thread(s), CPU")
    nets = [n.strip() for n in args.nets.split(",") if n.strip()]
    rows: dict[str, dict] = {}
    best = lambda a, b: a if b is None or a["windows_per_s"] >= b["windows_per_s"] else b  # noqa: E731
    for _ in range(args.repeats):
        ours = spawn(["--child", "ours:lstm", "--epochs", str(args.epochs)], args.threads)
        rows["ours:lstm"] = best(ours, rows.get("ours:lstm"))
        bare = spawn(["--child", "bare:lstm", "--epochs", str(args.epochs),
                      "--windows", str(ours["windows"])], args.threads)
        rows["bare:lstm"] = best(bare, rows.get("bare:lstm"))
    for name in nets:
        if name != "lstm":
            rows[f"ours:{name}"] = spawn(["--child", f"ours:{name}", "--epochs", str(args.epochs)],
                                         args.threads)
    # memory scaling check: a quarter of the data should need about the same extra memory,
    # because only a batch of windows is ever materialised (the rest is activations)
    quarter = spawn(["--child", "ours:lstm", "--epochs", "1", "--rows", "6570"], args.threads)
    rows[quarter["kind"]] = quarter
    mib = 1024 * 1024
    head = (f"{'run':<18}{'windows/s':>11}{'fit win/s':>11}{'peak dRSS':>11}"
            f"{'budget':>9}{'data':>9}{'model':>9}")
    print(head)
    for kind, r in rows.items():
        budget = 2 * (r["data_bytes"] + r["model_bytes"])
        print(f"{kind:<18}{r['windows_per_s']:>11.0f}{r['fit_windows_per_s']:>11.0f}"
              f"{r['peak_delta'] / mib:>9.1f}Mi{budget / mib:>7.2f}Mi{r['data_bytes'] / mib:>7.2f}Mi"
              f"{r['model_bytes'] / mib:>7.2f}Mi")
    ratio = rows["ours:lstm"]["windows_per_s"] / rows["bare:lstm"]["windows_per_s"]
    print(f"LSTM throughput ours / bare: {ratio:.3f} (target >= 0.9); "
          f"materialised windows of the bare loop: "
          f"{rows['bare:lstm']['windows'] * LOOKBACK * 4 / mib:.1f} MiB, ours: 0")
    print("peak dRSS is dominated by one batch's activations and autograd buffers (independent "
          "of the series length: compare the full run with the quarter-length run), which the "
          "budget 2 x (data + model) does not count")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "ratio": ratio}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
