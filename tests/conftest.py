"""Test set-up shared by every test.

- Qt runs offscreen (set before any Qt import).
- ``CRYPTODESK_HOME`` points at a fresh temporary folder for every test, so no test reads or
  writes the real user directories.
- ``shared_data`` gives the folder of real market data beside the repository
  (``../shared/data``), skipping with a clear reason where it is absent.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("CRYPTODESK_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(autouse=True)
def cryptodesk_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own empty CryptoDesk home."""
    home = tmp_path_factory.mktemp("cryptodesk_home")
    monkeypatch.setenv("CRYPTODESK_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (real market data); skip where it is not beside the repository."""
    if not (SHARED_DATA / "daily").is_dir() or not (SHARED_DATA / "hourly").is_dir():
        pytest.skip(f"real market data not found at {SHARED_DATA} (../shared/data beside the repo)")
    return SHARED_DATA


@pytest.fixture(scope="module")
def _binance_server(shared_data: Path) -> Iterator[Any]:
    from tests.support.fake_binance import FakeBinance

    with FakeBinance(shared_data / "hourly") as server:
        yield server


@pytest.fixture
def server(_binance_server: Any) -> Any:
    """A local Binance-speaking server on the shared hourly data (one per test module), with no
    faults and no recorded requests (the exchange tests' fault injection starts from here)."""
    from tests.support.fake_binance import Faults

    _binance_server.faults = Faults()
    _binance_server.on_request = None
    _binance_server.reset_counters()
    return _binance_server


@pytest.fixture(autouse=True)
def _collect_garbage_in_the_main_thread() -> Iterator[None]:
    """Once a GUI test has made the app, automatic garbage collection is off in this process
    (cryptodesk.gui.gc_guard: only the GUI thread may collect). After each test, collect here,
    in the main thread, what the automatic collector would have, so later tests do not pile up
    garbage while no event loop runs the app's collection timer."""
    yield
    guard = sys.modules.get("cryptodesk.gui.gc_guard")
    collector = guard.current() if guard is not None else None
    if collector is not None and not gc.isenabled():
        collector.collect_if_due()
