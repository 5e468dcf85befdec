"""Helpers shared by the GUI tests."""

from __future__ import annotations


def tiny_run(win, models: list[str], test_size: int = 40, refit_every: int = 0) -> None:
    """Tick ``models`` and set a small walk-forward."""
    win.training.set_checked(models)
    win.training.set_spec(test_size=test_size, refit_every=refit_every, horizon=1, stride=1,
                          window="expanding")
