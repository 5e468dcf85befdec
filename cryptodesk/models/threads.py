"""How many cores this process may use: its CPU affinity, capped by ``CRYPTODESK_THREADS``.

A study's worker process sets ``CRYPTODESK_THREADS`` to the threads each of its cells may use
(one by default), so a model that would spread over every core (LightGBM's calibration copy
beside the model, a net's refits side by side) stays on its share.
"""

from __future__ import annotations

import os

THREADS_ENV = "CRYPTODESK_THREADS"


def available_cores() -> int:
    """Cores this process may run on: the affinity mask on Linux (a container or ``taskset``
    may allow fewer than the machine has), else the machine's count; at most
    ``CRYPTODESK_THREADS`` when that is set to a positive number."""
    try:
        cores = max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # macOS and Windows have no affinity call
        cores = max(1, os.cpu_count() or 1)
    cap = os.environ.get(THREADS_ENV, "").strip()
    if cap.isdigit() and int(cap) > 0:
        cores = min(cores, int(cap))
    return cores
