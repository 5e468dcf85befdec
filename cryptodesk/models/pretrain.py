"""Cross-asset pre-training of a net: pooled, per-asset-normalised windows of other series.

A net with ``pretrain=("BTC-USD", "ETH-USD")`` first trains on the windows of those series, then
is fine-tuned on the target with fewer epochs and a lower learning rate
(:meth:`~cryptodesk.models.torch_configs.TorchConfig.finetune_settings`). The other series
arrive as ``pt_<asset>_*`` columns of the training frame (joined causally by the app layer,
:mod:`cryptodesk.features.cross_asset`), so at a walk-forward refit they hold only bars that
closed before the target's origin: no asset's future reaches the net.

Each asset is prepared exactly like the target (:meth:`TorchForecaster.prepare`): its own
windows, its own chronological validation tail (early stopping of the pre-training), its own
scaling statistics from its own training rows. So a BTC window and an XRP window look alike to
the net (standardised returns), which is what lets knowledge transfer. External columns the
target has and the other assets lack are fed as zeros (their standardised mean).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from torch import nn

from cryptodesk.errors import CryptoDeskError, ModelError
from cryptodesk.features.cross_asset import pretrain_frame
from cryptodesk.jobs import TaskContext
from cryptodesk.models.torch_train import train_network

if TYPE_CHECKING:
    from cryptodesk.models.torch_models import Prepared, TorchForecaster


def pretrain(model: TorchForecaster, train: pd.DataFrame, horizon: int, n_features: int,
             ctx: TaskContext) -> tuple[nn.Module, dict[str, Any]]:
    """Pre-train a fresh net of ``model``'s architecture on the pooled other assets; returns it
    (CPU, eval mode) and a summary (assets used, windows, epochs run)."""
    from cryptodesk.models.torch_models import make_inputs

    cfg = model.config
    parts: list[Prepared] = []
    used: list[str] = []
    skipped: dict[str, str] = {}
    for symbol in cfg.pretrain:
        frame = pretrain_frame(train, symbol)
        raw = make_inputs(frame, cfg.inputs, cfg.target, ())
        raw = np.hstack([raw, np.zeros((raw.shape[0], len(cfg.external)))])
        try:
            parts.append(model.prepare(raw, frame["close"].to_numpy(np.float64), horizon))
        except CryptoDeskError as exc:  # too little history of that asset before the origin
            skipped[symbol] = str(exc)
            continue
        used.append(symbol)
    if not parts:
        raise ModelError(f"{model.name}: no pre-training series has enough bars before "
                         f"{train.index[-1]:%Y-%m-%d} ({'; '.join(skipped.values())})")
    x, y, naive, train_rows, val_rows = _pool(parts)
    net, result = train_network(
        lambda: model.build_net(n_features, horizon), x, y, train_rows, val_rows, cfg.lookback,
        cfg.loss, cfg.pretrain_settings(), ctx, f"{model.name} pre-training", naive,
    )
    summary = {"assets": used, "windows": len(train_rows),
               "epochs": len(result.history), "best_epoch": result.best_epoch}
    if skipped:
        summary["skipped"] = sorted(skipped)
    return net, summary


def _pool(parts: list[Prepared]) -> tuple[np.ndarray, ...]:
    """Stack the assets' rows into one matrix; window numbers are offset per asset, so no
    window spans two assets (windows are only ever taken from the listed rows)."""
    offsets = np.cumsum([0] + [p.x.shape[0] for p in parts[:-1]])
    x = np.vstack([p.x for p in parts])
    y = np.vstack([p.y for p in parts])
    naive = np.vstack([p.naive for p in parts])
    train_rows = np.concatenate([p.train_rows + o for p, o in zip(parts, offsets, strict=True)])
    val_rows = np.concatenate([p.val_rows + o for p, o in zip(parts, offsets, strict=True)])
    return x, y, naive, train_rows, val_rows
