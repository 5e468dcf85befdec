"""Configs of the PyTorch nets, in a light module: no torch import.

The registry names these classes so the GUI can draw a net's form and the CLI can validate its
settings without importing torch (seconds, and hundreds of MB); the nets themselves live in
:mod:`cryptodesk.models.torch_models`. ``tests/unit/test_package.py`` checks that importing
this module leaves torch unimported.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from cryptodesk.errors import ModelError
from cryptodesk.models.config import ModelConfig, param
from cryptodesk.params import Choice, Range


@dataclass(frozen=True)
class TrainSettings:
    """Optimisation settings shared by every net (taken from the model config)."""

    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    batch_size: int = 64
    max_epochs: int = 30
    patience: int = 5  # epochs without validation improvement before stopping; 0 = never
    grad_clip: float | None = 1.0
    seed: int = 0
    device: str = "auto"
    num_threads: int | None = None



@dataclass(frozen=True)
class TorchConfig(ModelConfig):
    """Settings every net shares: data, target, loss and the training budget."""

    lookback: int = param(30, min=2, max=4096, label="Lookback (bars)",
                          help="Bars of history the network sees per forecast (30: a month of "
                               "daily bars). Training time grows in proportion.",
                          search=Choice(15, 30, 60))
    inputs: Literal["close", "ohlcv"] = param(
        "close", label="Inputs",
        help="'close': the log return of each bar; 'ohlcv': also high/low range, candle body "
             "and log volume change.",
    )
    external: tuple[str, ...] = param(
        (), label="External columns",
        help="Extra numeric columns of the candle frame (sentiment, on-chain series joined "
             "as-of) fed to the net beside the price inputs, scaled on the training window.",
    )
    target: Literal["returns", "price"] = param(
        "returns", label="Target",
        help="'returns': next-step log returns (recommended). 'price': the raw price level, as "
             "in many tutorials; it looks good on a chart and is no better than naive.",
    )
    loss: Literal["mse", "pinball"] = param(
        "mse", label="Loss",
        help="'mse': squared error, intervals from validation residuals; 'pinball': quantile "
             "loss, the net itself outputs the 10/50/90 % quantiles.",
    )
    dropout: float = param(0.2, min=0.0, max=0.9, label="Dropout", search=Range(0.0, 0.5))
    learning_rate: float = param(2e-3, min=1e-6, max=1.0, log=True, label="Learning rate",
                                 search=Range(3e-4, 1e-2, log=True))
    weight_decay: float = param(1e-4, min=0.0, max=1.0, advanced=True, label="Weight decay",
                                help="AdamW decoupled weight decay.",
                                search=Range(1e-6, 1e-2, log=True))
    batch_size: int = param(64, min=1, max=65_536, label="Batch size",
                            search=Choice(32, 64, 128))
    max_epochs: int = param(10, min=1, max=10_000, label="Max epochs",
                            help="Upper bound of the training budget; early stopping usually "
                                 "ends sooner on daily returns.")
    patience: int = param(2, min=0, max=10_000, label="Patience (epochs)",
                          help="Stop after this many epochs without a better validation loss "
                               "(best weights are restored); 0 = train all epochs.")
    valid_fraction: float = param(0.15, min=0.0, max=0.5, label="Validation tail",
                                  help="Share of the latest training windows used for early "
                                       "stopping (chronological, never shuffled in).")
    grad_clip: float | None = param(1.0, min=1e-6, max=1e6, advanced=True,
                                    label="Gradient clip (norm)")
    max_train_windows: int | None = param(
        None, min=32, max=100_000_000, advanced=True, label="Max training windows",
        help="Train on the most recent windows only (faster refits on long series).",
    )
    seed: int = param(0, min=0, max=2**31 - 1, label="Seed")
    device: Literal["auto", "cpu", "cuda", "mps"] = param(
        "auto", label="Device", advanced=True,
        help="'auto': CUDA if present, then Apple MPS, then CPU.",
    )
    num_threads: int | None = param(1, min=1, max=256, advanced=True, label="CPU threads",
                                    help="Torch CPU threads while training and forecasting "
                                         "(empty: torch's default, all cores). One is fastest "
                                         "for these small nets and robust on a busy machine.")
    pretrain: tuple[str, ...] = param(
        (), label="Pre-train on",
        help="Other stored series (e.g. BTC-USD, ETH-USD) to pre-train on first: pooled "
             "windows, each asset scaled on its own bars, only bars before the target's origin. "
             "Then the net is fine-tuned on the target.")
    pretrain_epochs: int = param(5, min=1, max=10_000, label="Pre-training epochs",
                                 help="Most epochs on the pooled assets (early stopping on "
                                      "each asset's validation tail).")
    finetune_epochs: int = param(4, min=1, max=10_000, label="Fine-tuning epochs",
                                 help="Most epochs on the target after pre-training.")
    finetune_lr_scale: float = param(0.3, min=1e-4, max=1.0, log=True,
                                     label="Fine-tuning learning rate (x)",
                                     help="Fine-tuning learning rate as a share of the "
                                          "learning rate.")

    def train_settings(self) -> TrainSettings:
        """The optimisation part of the config, for the shared loop."""
        return TrainSettings(
            learning_rate=self.learning_rate, weight_decay=self.weight_decay,
            batch_size=self.batch_size, max_epochs=self.max_epochs, patience=self.patience,
            grad_clip=self.grad_clip, seed=self.seed, device=self.device,
            num_threads=self.num_threads,
        )

    def pretrain_settings(self) -> TrainSettings:
        """The loop's settings for pre-training on the pooled other assets."""
        return replace(self.train_settings(), max_epochs=self.pretrain_epochs)

    def finetune_settings(self) -> TrainSettings:
        """The loop's settings for fine-tuning a pre-trained net: fewer epochs, lower rate."""
        return replace(self.train_settings(), max_epochs=self.finetune_epochs,
                       learning_rate=self.learning_rate * self.finetune_lr_scale)


@dataclass(frozen=True)
class LstmConfig(TorchConfig):
    """The literature's workhorse: LSTM 64 -> dropout 0.2 -> LSTM 32 -> dropout 0.2 -> dense."""

    hidden: tuple[int, ...] = param((64, 32), min=1, max=4096, label="LSTM units per layer",
                                    help="One entry per stacked layer.",
                                    search=Choice((32,), (64, 32), (64, 64)))


@dataclass(frozen=True)
class GruConfig(TorchConfig):
    """Stacked GRUs, the LSTM's lighter cousin.

    Batches of 256 windows: PyTorch's CPU GRU has no fused kernel (its LSTM has one), so small
    batches pay per-step overhead; an epoch at 256 costs 0.36 CPU s against 0.57 at 64 (1,408
    windows of XRP, one thread). Chosen on training data only: on the validation tails of the
    first two WF1 training windows of BTC, ETH and XRP (3 seeds each), 256 cost 2.5x less CPU
    and reached validation loss / naive 0.9969 against 0.9945 at 64 (seed-to-seed sd 0.003)."""

    hidden: tuple[int, ...] = param((64, 32), min=1, max=4096, label="GRU units per layer",
                                    help="One entry per stacked layer.",
                                    search=Choice((32,), (64, 32), (64, 64)))
    batch_size: int = param(256, min=1, max=65_536, label="Batch size",
                            search=Choice(64, 128, 256))


@dataclass(frozen=True)
class CnnConfig(TorchConfig):
    """Conv1d blocks (conv, ReLU, max-pool) and a dense head."""

    channels: tuple[int, ...] = param((32, 32), min=1, max=4096, label="Conv channels",
                                      help="One entry per convolution block.",
                                      search=Choice((16, 16), (32, 32), (32,)))
    kernel_size: int = param(3, min=1, max=64, label="Kernel size")
    pool: int = param(2, min=1, max=16, label="Pool size")
    dense: tuple[int, ...] = param((32,), min=1, max=4096, label="Dense units",
                                   help="Hidden dense layers before the output.")


@dataclass(frozen=True)
class CnnGruConfig(TorchConfig):
    """The hybrid: conv feature extractor -> stacked GRUs -> dense head."""

    channels: tuple[int, ...] = param((32,), min=1, max=4096, label="Conv channels",
                                      help="One entry per convolution block.")
    kernel_size: int = param(3, min=1, max=64, label="Kernel size")
    pool: int = param(2, min=1, max=16, label="Pool size")
    hidden: tuple[int, ...] = param((64, 32), min=1, max=4096, label="GRU units per layer",
                                    search=Choice((32,), (64, 32), (64, 64)))
    dense: tuple[int, ...] = param((16,), min=1, max=4096, label="Dense units")


@dataclass(frozen=True)
class TransformerConfig(TorchConfig):
    """A causal Transformer encoder over the lookback window."""

    lookback: int = param(30, min=2, max=4096, label="Lookback (bars)",
                          help="Bars the encoder attends over. Attention cost grows with the "
                               "square of this; try 96-512 on a GPU.",
                          search=Choice(15, 30, 60))
    d_model: int = param(32, min=4, max=1024, label="Model width",
                         help="Embedding size; must be a multiple of the heads.",
                         search=Choice(16, 32, 64))
    heads: int = param(4, min=1, max=64, label="Attention heads")
    layers: int = param(1, min=1, max=24, label="Encoder layers",
                        help="One layer keeps a walk-forward on CPU fast; add layers on a GPU.")
    ff_size: int = param(64, min=4, max=8192, label="Feed-forward units")
    dropout: float = param(0.1, min=0.0, max=0.9, label="Dropout", search=Range(0.0, 0.5))

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.d_model % self.heads or self.d_model % 2:
            raise ModelError("model width must be even and a multiple of the number of heads")
