"""Per-epoch loss reports of epoch-trained models (a light module: no torch).

The training loop hands one :class:`EpochReport` out per epoch as a partial result; worker
processes stream them as events and the GUI draws the live loss curves from them, so the class
must be importable where torch is not.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class EpochReport:
    """Losses after one epoch: the partial result behind the GUI's live loss chart.

    ``train_loss`` is the mean loss over the epoch's training batches; ``val_loss`` the loss on
    the chronological validation tail (None without one); ``naive_val_loss`` the same loss for
    the no-change forecast on that tail, the line a useful net must get under. ``best_epoch``
    is the epoch whose weights are kept so far (1-based).
    """

    model: str
    epoch: int
    max_epochs: int
    train_loss: float
    val_loss: float | None
    naive_val_loss: float | None
    best_epoch: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (kept in the model's ``history_`` and saved with it)."""
        return asdict(self)
