"""The one training loop every deep forecaster uses, plus device choice and the pinball loss.

Why one loop: the claims this product tests ("CNN-GRU beats LSTM") are only meaningful when the
nets differ in architecture and nothing else. So every net is trained by :func:`train_network`
with the same optimiser (AdamW), gradient clipping, early stopping on a chronological
validation tail (best weights restored), seeding, float32 and batching.

Batches come from *strided views of one tensor*: the scaled ``(n, f)`` input matrix is moved
to the device once, ``unfold`` turns it into a ``(n - L + 1, L, f)`` view without copying, and
only a mini-batch of windows is gathered (copied) at a time. Memory therefore stays
``O(n * f)`` instead of the ``O(n * L * f)`` of a materialised window array.

Reporting: after every epoch the loop calls ``ctx.partial(EpochReport(...))`` (the GUI draws
live train/validation loss curves from these; a walk-forward run forwards them too, mixed with
its own forecast batches, so consumers dispatch on the type) and
``ctx.progress(fraction, message)``. Cancellation is checked before every batch, so a cancel
stops training within one batch; the loop then raises :class:`~cryptodesk.jobs.Cancelled` and
the caller never sees a half-trained net.

Determinism: the net is built with torch's global generator forked and seeded (weight
initialisation, under a lock); dropout then draws from a private generator that continues from
that state (:class:`~cryptodesk.models.torch_nets.StreamDropout`), and batch order from another
private seeded generator. So the same seed and data give bit-identical weights on CPU, other
code's random state is untouched, and fits running at once in several threads (a walk-forward
fitting refits side by side) do not disturb each other.
"""

from __future__ import annotations

import contextlib
import copy
import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from cryptodesk.errors import ModelError
from cryptodesk.jobs import TaskContext
from cryptodesk.models.epochs import EpochReport
from cryptodesk.models.torch_configs import TrainSettings

QUANTILES: tuple[float, ...] = (0.1, 0.5, 0.9)
DEVICES = ("auto", "cpu", "cuda", "mps")
# progress messages within an epoch at most this often (seconds); epoch ends always report
PROGRESS_INTERVAL_S = 0.25


@dataclass
class TrainResult:
    """What a training run did: per-epoch reports, the kept epoch, device and throughput."""

    history: list[EpochReport] = field(default_factory=list)
    best_epoch: int = 0
    best_val_loss: float | None = None
    naive_val_loss: float | None = None
    stopped_early: bool = False
    device: str = "cpu"
    train_windows: int = 0
    seconds: float = 0.0

    @property
    def windows_per_second(self) -> float:
        """Training windows processed per second of training (validation passes included)."""
        done = self.train_windows * len(self.history)
        return done / self.seconds if self.seconds > 0 else math.nan


# ---------------------------------------------------------------------- device
def choose_device(preference: str = "auto") -> torch.device:
    """The device to train on: CUDA, then Apple MPS, then CPU for ``"auto"``.

    An explicit ``"cuda"`` or ``"mps"`` that is not available raises ModelError rather than
    silently falling back: a user who asked for the GPU should know they are not getting it.
    """
    pref = (preference or "auto").lower()
    if pref not in DEVICES:
        raise ModelError(f"unknown device {preference!r}; choose one of {', '.join(DEVICES)}")
    cuda = torch.cuda.is_available()
    mps = bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()
    if pref == "auto":
        return torch.device("cuda" if cuda else "mps" if mps else "cpu")
    if pref == "cuda" and not cuda:
        raise ModelError("device 'cuda' was requested but no CUDA GPU is available")
    if pref == "mps" and not mps:
        raise ModelError("device 'mps' was requested but Apple MPS is not available")
    return torch.device(pref)


# ---------------------------------------------------------------------- losses
def pinball_loss(pred: torch.Tensor, target: torch.Tensor, quantiles: torch.Tensor) -> torch.Tensor:
    """Mean pinball (quantile) loss.

    ``pred`` is ``(batch, horizon, n_q)``, ``target`` ``(batch, horizon)``, ``quantiles``
    ``(n_q,)``. For quantile q the loss of error ``e = y - pred`` is ``max(q e, (q - 1) e)``:
    minimised by the q-quantile of y, which is why a net trained on it outputs an interval.
    """
    err = target.unsqueeze(-1) - pred
    return torch.maximum(quantiles * err, (quantiles - 1.0) * err).mean()


def make_loss(kind: str, device: torch.device) -> tuple[Callable[[torch.Tensor, torch.Tensor], torch.Tensor], int]:
    """(loss function of ``(pred (b, H, n_q), target (b, H))``, n_q) for ``"mse"`` or ``"pinball"``."""
    if kind == "mse":
        return (lambda pred, target: torch.mean((pred[..., 0] - target) ** 2)), 1
    if kind == "pinball":
        q = torch.tensor(QUANTILES, dtype=torch.float32, device=device)
        return (lambda pred, target: pinball_loss(pred, target, q)), len(QUANTILES)
    raise ModelError(f"unknown loss {kind!r}; choose 'mse' or 'pinball'")


def n_outputs(loss: str) -> int:
    """Outputs per forecast step for a loss: 1 (MSE) or one per quantile (pinball)."""
    return 1 if loss == "mse" else len(QUANTILES)


# ---------------------------------------------------------------------- windows
class WindowSource:
    """Mini-batches of windows gathered from a strided view of one ``(n, f)`` tensor.

    ``windows`` is ``x.unfold(0, L, 1)`` transposed to ``(n - L + 1, L, f)``: a view, no copy.
    Window ``i`` ends at row ``i + L - 1`` and is paired with ``targets[i + L - 1]``.
    Indexing it with a batch of window numbers copies only those windows.
    """

    def __init__(self, x: np.ndarray, targets: np.ndarray | None, lookback: int, device: torch.device) -> None:
        xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(device)
        if xt.ndim != 2:
            raise ValueError(f"expected an (n, f) input matrix, got shape {tuple(xt.shape)}")
        self.x = xt
        self.windows = xt.unfold(0, lookback, 1).transpose(1, 2)
        self.targets = (
            None if targets is None
            else torch.from_numpy(np.ascontiguousarray(targets, dtype=np.float32)).to(device)
        )
        self.lookback = lookback
        self.device = device

    def batch(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Inputs ``(b, L, f)`` and targets ``(b, H)`` of the window numbers ``rows``."""
        xb = self.windows[rows]
        yb = None if self.targets is None else self.targets[rows + (self.lookback - 1)]
        return xb, yb


def predict_windows(
    net: nn.Module, source: WindowSource, rows: np.ndarray, batch_size: int = 1024
) -> np.ndarray:
    """Net outputs ``(len(rows), H, n_q)`` for the given window numbers (eval mode, no grad)."""
    net.eval()
    outs = []
    idx = torch.as_tensor(np.asarray(rows, dtype=np.int64), device=source.device)
    with torch.no_grad():
        for start in range(0, idx.shape[0], batch_size):
            xb, _ = source.batch(idx[start : start + batch_size])
            outs.append(net(xb).float().cpu())
    if not outs:
        return np.empty((0, 0, 0), dtype=np.float32)
    return torch.cat(outs).numpy()


# ---------------------------------------------------------------------- the loop
def train_network(
    build: Callable[[], nn.Module],
    source_x: np.ndarray,
    targets: np.ndarray,
    train_rows: np.ndarray,
    val_rows: np.ndarray,
    lookback: int,
    loss: str,
    settings: TrainSettings,
    ctx: TaskContext,
    name: str = "net",
    naive: np.ndarray | None = None,
) -> tuple[nn.Module, TrainResult]:
    """Train the net made by ``build()`` and return it (on the CPU, eval mode) with a report.

    ``source_x`` is the scaled ``(n, f)`` input matrix and ``targets`` the scaled ``(n, H)``
    targets; ``train_rows`` / ``val_rows`` are window numbers (window i ends at row
    ``i + lookback - 1``), the validation rows being the chronological tail. ``naive`` is the
    ``(n, H)`` no-change forecast in target units, for the ``naive_val_loss`` reference line.
    Raises :class:`~cryptodesk.jobs.Cancelled` when ``ctx`` is cancelled (checked every batch).
    """
    if len(train_rows) == 0:
        raise ModelError(f"{name}: no training windows (series too short for the lookback)")
    device = choose_device(settings.device)
    if device.type != "cpu":
        # dropout on the GPU draws from the device's generator: fork it and the CPU one for
        # the whole fit (one fit at a time per process there)
        with torch.random.fork_rng(devices=[device.index or 0]):
            torch.manual_seed(settings.seed)
            return _train(build(), source_x, targets, train_rows, val_rows, lookback, loss,
                          settings, ctx, name, naive, device)
    net, stream = build_seeded(build, settings.seed)
    with cpu_threads(settings.num_threads), _dropout_stream(net, stream):
        return _train(net, source_x, targets, train_rows, val_rows, lookback, loss,
                      settings, ctx, name, naive, device)


_BUILD_LOCK = threading.Lock()  # the global generator is seeded and read under it


def build_seeded(build: Callable[[], nn.Module], seed: int) -> tuple[nn.Module, torch.Generator]:
    """``build()`` with torch's global generator seeded with ``seed`` (weight initialisation),
    and a private generator that continues from where the global one stopped: the dropout
    stream of the fit. The global generator is forked, seeded and read under a lock, so fits
    running at once in several threads each get exactly what a lone fit gets."""
    with _BUILD_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = build()
        stream = torch.Generator().set_state(torch.random.get_rng_state())
    return net, stream


@contextlib.contextmanager
def _dropout_stream(net: nn.Module, stream: torch.Generator) -> Iterator[None]:
    """Attach ``stream`` to every dropout of ``net`` for the fit, detach it after."""
    from cryptodesk.models.torch_nets import stream_dropouts

    try:
        modules = stream_dropouts(net)
    except ValueError as exc:
        raise ModelError(f"the net cannot train on its own random stream ({exc})") from None
    for module in modules:
        module.generator = stream
    try:
        yield
    finally:
        for module in modules:
            module.generator = None


@contextlib.contextmanager
def cpu_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``n`` torch CPU threads (None: leave torch's setting), then restore.

    Why the nets default to one: these nets are small (a few thousand windows of 30 steps), so
    a second thread buys little, and when another process holds a core, OpenMP's spin-waiting
    threads wait for each other: one WF1 LSTM fit on XRP took 144 s with two threads on a
    2-core machine shared with other jobs (load average 8), and 3.5 s with one."""
    old = torch.get_num_threads()
    if n is not None and n != old:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != old:
            torch.set_num_threads(old)


def _train(
    net: nn.Module, source_x: np.ndarray, targets: np.ndarray,
    train_rows: np.ndarray, val_rows: np.ndarray, lookback: int, loss: str,
    settings: TrainSettings, ctx: TaskContext, name: str, naive: np.ndarray | None,
    device: torch.device,
) -> tuple[nn.Module, TrainResult]:
    started = time.perf_counter()
    net = net.to(device=device, dtype=torch.float32)
    loss_fn, _ = make_loss(loss, device)
    source = WindowSource(source_x, targets, lookback, device)
    # foreach: one grouped update for all parameters instead of a Python loop over them (the
    # default on the CPU); the same arithmetic, so the same weights bit for bit
    opt = torch.optim.AdamW(net.parameters(), lr=settings.learning_rate,
                            weight_decay=settings.weight_decay, foreach=True)
    gen = torch.Generator().manual_seed(settings.seed)  # batch order, private to this fit
    train_idx = torch.as_tensor(np.asarray(train_rows, dtype=np.int64))
    val_idx = torch.as_tensor(np.asarray(val_rows, dtype=np.int64), device=device)
    result = TrainResult(device=str(device), train_windows=len(train_idx))
    naive_val = _naive_loss(naive, val_rows, lookback, targets, loss) if len(val_rows) else None
    result.naive_val_loss = naive_val
    best_state: dict[str, torch.Tensor] | None = None
    best_score, bad_epochs = math.inf, 0
    bs = settings.batch_size
    n_batches = math.ceil(len(train_idx) / bs)
    last_report = 0.0
    for epoch in range(1, settings.max_epochs + 1):
        t0 = time.perf_counter()
        net.train()
        order = train_idx[torch.randperm(len(train_idx), generator=gen)].to(device)
        total, count = torch.zeros((), device=device), 0
        for b in range(n_batches):
            ctx.check_cancelled()
            rows = order[b * bs : (b + 1) * bs]
            xb, yb = source.batch(rows)
            opt.zero_grad(set_to_none=True)
            batch_loss = loss_fn(net(xb), yb)
            batch_loss.backward()
            if settings.grad_clip is not None:
                nn.utils.clip_grad_norm_(net.parameters(), settings.grad_clip)
            opt.step()
            total += batch_loss.detach() * len(rows)  # no device sync per batch
            count += len(rows)
            now = time.perf_counter()
            if now - last_report >= PROGRESS_INTERVAL_S:
                last_report = now
                ctx.progress(((epoch - 1) + (b + 1) / n_batches) / settings.max_epochs,
                             f"{name}: epoch {epoch}/{settings.max_epochs}, batch {b + 1}/{n_batches}")
        train_loss = float(total) / max(count, 1)
        val_loss = _evaluate(net, source, val_idx, loss_fn, bs, ctx) if len(val_idx) else None
        score = val_loss if val_loss is not None else train_loss
        if not math.isfinite(score):
            raise ModelError(f"{name}: training diverged (loss {score}); lower the learning rate")
        if score < best_score:
            best_score, bad_epochs, result.best_epoch = score, 0, epoch
            best_state = copy.deepcopy(net.state_dict())
        else:
            bad_epochs += 1
        report = EpochReport(
            model=name, epoch=epoch, max_epochs=settings.max_epochs, train_loss=train_loss,
            val_loss=val_loss, naive_val_loss=naive_val, best_epoch=result.best_epoch,
            seconds=time.perf_counter() - t0,
        )
        result.history.append(report)
        ctx.partial(report)
        val_text = "n/a" if val_loss is None else f"{val_loss:.4g}"
        ctx.progress(epoch / settings.max_epochs,
                     f"{name}: epoch {epoch}/{settings.max_epochs} train {train_loss:.4g} val {val_text}")
        last_report = time.perf_counter()
        if settings.patience and val_loss is not None and bad_epochs >= settings.patience:
            result.stopped_early = epoch < settings.max_epochs
            break
    if best_state is not None:
        net.load_state_dict(best_state)
    result.best_val_loss = best_score if len(val_idx) else None
    result.seconds = time.perf_counter() - started
    ctx.progress(1.0, f"{name}: trained, best epoch {result.best_epoch}")
    return net.to("cpu").eval(), result


def _evaluate(
    net: nn.Module, source: WindowSource, idx: torch.Tensor,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], bs: int, ctx: TaskContext,
) -> float:
    """Mean loss over the validation windows (eval mode: no dropout)."""
    net.eval()
    total, count = torch.zeros((), device=source.device), 0
    with torch.no_grad():
        for start in range(0, idx.shape[0], bs * 4):
            ctx.check_cancelled()
            rows = idx[start : start + bs * 4]
            xb, yb = source.batch(rows)
            total += loss_fn(net(xb), yb) * len(rows)
            count += len(rows)
    return float(total) / max(count, 1)


def _naive_loss(
    naive: np.ndarray | None, val_rows: np.ndarray, lookback: int, targets: np.ndarray, loss: str
) -> float | None:
    """The loss the no-change forecast scores on the validation windows (a reference line)."""
    if naive is None:
        return None
    ends = np.asarray(val_rows) + lookback - 1
    y = torch.from_numpy(np.ascontiguousarray(targets[ends], dtype=np.float32))
    pred = torch.from_numpy(np.ascontiguousarray(naive[ends], dtype=np.float32))
    loss_fn, n_q = make_loss(loss, torch.device("cpu"))
    return float(loss_fn(pred.unsqueeze(-1).expand(-1, -1, n_q), y))
