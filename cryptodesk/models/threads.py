"""How many cores this process may use (its CPU affinity, where the system tells)."""

from __future__ import annotations

import os


def available_cores() -> int:
    """Cores this process may run on: the affinity mask on Linux (a container or ``taskset``
    may allow fewer than the machine has), else the machine's count."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # macOS and Windows have no affinity call
        return max(1, os.cpu_count() or 1)
