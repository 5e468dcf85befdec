"""Garbage is collected in the GUI thread only (cryptodesk.gui.gc_guard), and job relays never
call Qt from their threads (cryptodesk.gui.compute)."""

from __future__ import annotations

import gc
import threading
import weakref

import pytest

pytestmark = pytest.mark.gui


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_the_app_collects_cycles_on_its_own_timer_with_automatic_collection_off(qtbot) -> None:
    from cryptodesk.gui import gc_guard
    from cryptodesk.gui.app import application

    application()
    assert gc_guard.current() is not None and not gc.isenabled()
    cycle = _Cycle()
    ref = weakref.ref(cycle)
    del cycle
    for _ in range(3 * gc.get_threshold()[0]):  # fill generation 0 past its threshold
        _Cycle()
    assert ref() is not None  # nothing collected it outside the GUI thread's timer
    qtbot.waitUntil(lambda: ref() is None, timeout=5_000)


def test_a_job_relay_is_a_plain_thread_and_its_slot_delivers_in_order(qtbot) -> None:
    """The relay's thread only fills an outbox; the slot, on the GUI thread, delivers the events
    and then the end, and no Qt object is touched from the relay thread."""
    from cryptodesk.gui.app import application
    from cryptodesk.gui.compute import Compute, JobRelay, JobSlot

    application()
    assert not any(cls.__module__.startswith("PySide6") for cls in JobRelay.__mro__)
    compute = Compute()
    slot = JobSlot(compute, "warm-up")
    delivered: list[str] = []
    threads: set[str] = set()
    slot.events.connect(lambda ev: (delivered.append("events"),
                                    threads.add(threading.current_thread().name)))
    slot.finished.connect(lambda _r: (delivered.append("finished"),
                                      threads.add(threading.current_thread().name)))
    try:
        with qtbot.waitSignal(slot.finished, timeout=60_000):
            slot.start("warm_up", {"modules": ["json"]})
        assert delivered[-1] == "finished" and threads == {threading.main_thread().name}
        assert not slot.busy and slot.relay is None
    finally:
        slot.shutdown()
        compute.shutdown()
