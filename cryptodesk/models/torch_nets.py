"""The network architectures behind the deep forecasters, as plain ``nn.Module`` classes.

Every net maps a batch of input windows ``(batch, lookback, features)`` (oldest row first, the
forecast origin last) to ``(batch, horizon, n_quantiles)``: one output per forecast step (direct
multi-step) and per quantile (1 for the MSE loss, 3 for the pinball loss). They know nothing of
candles, scaling or training; :mod:`cryptodesk.models.torch_train` trains them and
:mod:`cryptodesk.models.torch_models` wraps them as forecasters.

Why these shapes (the literature the product answers to):

- :class:`RecurrentNet`: stacked LSTM or GRU layers of *different* widths (the classic
  "LSTM 64 -> dropout 0.2 -> LSTM 32 -> dropout 0.2 -> dense" design), so each layer is its own
  ``nn.LSTM``/``nn.GRU`` (a single multi-layer module forces equal widths);
- :class:`CnnNet`: Conv1d blocks (convolution, ReLU, max-pooling) that pick up local patterns,
  then a dense head on the flattened feature maps;
- :class:`CnnGruNet`: the hybrid: the same convolutional feature extractor, whose pooled
  sequence feeds stacked GRUs, then a dense head;
- :class:`TransformerNet`: a linear embedding plus sinusoidal positional encoding, a causal
  Transformer encoder (position i attends to positions <= i only, so no step of the window
  attends to a later one) and a head on the last position, the forecast origin.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class StreamDropout(nn.Module):
    """``nn.Dropout`` that draws its masks from a generator of its own when one is attached.

    Why: the default dropout draws from torch's one global generator, so two nets training at
    once in two threads (a walk-forward fitting refits side by side) would take each other's
    random numbers and neither fit would be reproducible. The training loop attaches a
    generator that starts where the global one stood after the net was built, and this module
    makes its masks exactly as ``torch.nn.functional.dropout`` does on the CPU (a Bernoulli
    noise tensor, scaled, multiplied in), so the weights are the same bit for bit as with
    ``nn.Dropout``. Without a generator (on a GPU, or outside the loop) it is ``nn.Dropout``.
    """

    def __init__(self, p: float) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability must be in [0, 1], got {p}")
        self.p = float(p)
        self.generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        gen = self.generator
        if gen is None or gen.device != x.device:
            return nn.functional.dropout(x, self.p, True)
        if self.p == 1.0:
            return x * torch.zeros((), dtype=x.dtype, device=x.device)
        noise = torch.empty_like(x).bernoulli_(1.0 - self.p, generator=gen)
        noise.div_(1.0 - self.p)
        return x * noise

    def extra_repr(self) -> str:
        return f"p={self.p}"


def stream_dropouts(net: nn.Module) -> list[StreamDropout]:
    """Every dropout of ``net``, all of them :class:`StreamDropout`; raises ValueError when a
    module draws from the global generator (a plain ``nn.Dropout``)."""
    plain = [name for name, m in net.named_modules() if isinstance(m, nn.Dropout)]
    if plain:
        raise ValueError(f"dropout modules on the global generator: {', '.join(plain)}")
    return [m for m in net.modules() if isinstance(m, StreamDropout)]


def _head(in_size: int, dense: tuple[int, ...], dropout: float, horizon: int, n_q: int) -> nn.Sequential:
    """Dense head: optional hidden layers (ReLU, dropout), then one output per step and quantile."""
    layers: list[nn.Module] = []
    size = in_size
    for width in dense:
        layers += [nn.Linear(size, width), nn.ReLU(), StreamDropout(dropout)]
        size = width
    layers.append(nn.Linear(size, horizon * n_q))
    return nn.Sequential(*layers)


class RecurrentStack(nn.Module):
    """Stacked LSTM/GRU layers of arbitrary widths with dropout between layers.

    Returns the full output sequence of the last layer, ``(batch, steps, hidden[-1])``. The
    dropout after the last layer is left to the caller, which applies it to the last step only
    (the only one the head reads), instead of to the whole sequence.
    """

    def __init__(self, cell: str, n_in: int, hidden: tuple[int, ...], dropout: float) -> None:
        super().__init__()
        if cell not in ("lstm", "gru"):
            raise ValueError(f"unknown recurrent cell {cell!r}")
        rnn = nn.LSTM if cell == "lstm" else nn.GRU
        sizes = (n_in, *hidden)
        self.layers = nn.ModuleList(
            rnn(sizes[i], sizes[i + 1], batch_first=True) for i in range(len(hidden))
        )
        self.dropout = StreamDropout(dropout)
        self.out_size = hidden[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            if i:
                x = self.dropout(x)
            x, _ = layer(x)
        return x


class RecurrentNet(nn.Module):
    """LSTM or GRU stack; the last step's output feeds a linear head."""

    def __init__(
        self, cell: str, n_features: int, hidden: tuple[int, ...], dropout: float,
        horizon: int, n_quantiles: int, dense: tuple[int, ...] = (),
    ) -> None:
        super().__init__()
        self.horizon, self.n_quantiles = horizon, n_quantiles
        self.rnn = RecurrentStack(cell, n_features, hidden, dropout)
        self.dropout = StreamDropout(dropout)
        self.head = _head(self.rnn.out_size, dense, dropout, horizon, n_quantiles)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        last = self.dropout(self.rnn(x)[:, -1, :])
        return self.head(last).view(-1, self.horizon, self.n_quantiles)


class ConvBlocks(nn.Module):
    """Conv1d (same padding) -> ReLU -> MaxPool1d, once per entry of ``channels``.

    Works on ``(batch, steps, features)`` and returns ``(batch, steps', channels[-1])``.
    Pooling is skipped where the sequence is already shorter than the pool size, so any
    lookback works with any depth.
    """

    def __init__(
        self, n_in: int, channels: tuple[int, ...], kernel_size: int, pool: int, steps: int
    ) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        size = n_in
        for width in channels:
            blocks += [nn.Conv1d(size, width, kernel_size, padding="same"), nn.ReLU()]
            if pool > 1 and steps >= pool:
                blocks.append(nn.MaxPool1d(pool))
                steps //= pool
            size = width
        self.blocks = nn.Sequential(*blocks)
        self.out_channels = size
        self.out_steps = steps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(x.transpose(1, 2)).transpose(1, 2)


class CnnNet(nn.Module):
    """Convolutional feature extractor, flattened into a dense head."""

    def __init__(
        self, n_features: int, lookback: int, channels: tuple[int, ...], kernel_size: int,
        pool: int, dense: tuple[int, ...], dropout: float, horizon: int, n_quantiles: int,
    ) -> None:
        super().__init__()
        self.horizon, self.n_quantiles = horizon, n_quantiles
        self.conv = ConvBlocks(n_features, channels, kernel_size, pool, lookback)
        self.dropout = StreamDropout(dropout)
        flat = self.conv.out_channels * self.conv.out_steps
        self.head = _head(flat, dense, dropout, horizon, n_quantiles)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.dropout(self.conv(x)).flatten(1)
        return self.head(z).view(-1, self.horizon, self.n_quantiles)


class CnnGruNet(nn.Module):
    """Conv1d feature extractor -> stacked GRUs -> dense head (the CNN-GRU hybrid)."""

    def __init__(
        self, n_features: int, lookback: int, channels: tuple[int, ...], kernel_size: int,
        pool: int, hidden: tuple[int, ...], dense: tuple[int, ...], dropout: float,
        horizon: int, n_quantiles: int,
    ) -> None:
        super().__init__()
        self.horizon, self.n_quantiles = horizon, n_quantiles
        self.conv = ConvBlocks(n_features, channels, kernel_size, pool, lookback)
        self.rnn = RecurrentStack("gru", self.conv.out_channels, hidden, dropout)
        self.dropout = StreamDropout(dropout)
        self.head = _head(self.rnn.out_size, dense, dropout, horizon, n_quantiles)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        last = self.dropout(self.rnn(self.conv(x))[:, -1, :])
        return self.head(last).view(-1, self.horizon, self.n_quantiles)


class PositionalEncoding(nn.Module):
    """Fixed sinusoidal positional encoding (Vaswani et al.), added to the embeddings.

    A buffer, not a parameter, and not saved: it is a function of the shape only.
    """

    def __init__(self, d_model: int, max_len: int) -> None:
        super().__init__()
        pos = torch.arange(max_len, dtype=torch.float32).unsqueeze(1)
        div = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, d_model)
        pe[:, 0::2] = torch.sin(pos * div)
        pe[:, 1::2] = torch.cos(pos * div[: d_model // 2])
        self.register_buffer("pe", pe, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.pe[: x.shape[1]]


class TransformerNet(nn.Module):
    """Causal Transformer encoder over the lookback window; the origin's output feeds the head."""

    def __init__(
        self, n_features: int, lookback: int, d_model: int, heads: int, layers: int,
        ff_size: int, dropout: float, horizon: int, n_quantiles: int,
    ) -> None:
        super().__init__()
        self.horizon, self.n_quantiles = horizon, n_quantiles
        self.embed = nn.Linear(n_features, d_model)
        self.pos = PositionalEncoding(d_model, lookback)
        layer = nn.TransformerEncoderLayer(
            d_model, heads, dim_feedforward=ff_size, dropout=dropout, batch_first=True,
            norm_first=True,
        )
        # Dropout on the attention weights sends CPU attention down a path about ten times
        # slower than the fused kernel; dropout stays on the residual and feed-forward paths.
        layer.self_attn.dropout = 0.0
        # the residual and feed-forward dropouts draw from the fit's own stream too
        layer.dropout = StreamDropout(dropout)
        layer.dropout1 = StreamDropout(dropout)
        layer.dropout2 = StreamDropout(dropout)
        # nested tensors only help with padding masks; they warn with norm_first
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, horizon * n_quantiles)
        mask = nn.Transformer.generate_square_subsequent_mask(lookback)
        self.register_buffer("causal_mask", mask, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        steps = x.shape[1]
        z = self.pos(self.embed(x))
        mask = self.causal_mask[:steps, :steps]
        z = self.encoder(z, mask=mask, is_causal=True)
        return self.head(self.norm(z[:, -1, :])).view(-1, self.horizon, self.n_quantiles)
