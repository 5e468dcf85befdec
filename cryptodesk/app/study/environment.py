"""What a study ran on: versions and machine, written to ``environment.json`` and compared
across the nodes of a Ray cluster.

The versions that decide a cell's numbers are CryptoDesk's, Python's and those of the numeric
libraries (:data:`CHECKED`); they are read from package metadata, so nothing heavy is imported
to learn them.
"""

from __future__ import annotations

import os
import platform
import socket
from typing import Any

from cryptodesk import __version__

CHECKED = ("cryptodesk", "numpy", "pandas", "pyarrow", "scipy", "statsmodels", "lightgbm",
           "torch", "ray")


def versions() -> dict[str, str]:
    """Python's and each checked library's version ("not installed" when absent)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in CHECKED:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = __version__ if name == "cryptodesk" else "not installed"
    return out


def mismatches(local: dict[str, str], nodes: dict[str, dict[str, str]]) -> list[str]:
    """``node X: torch 2.12.0 (here 2.13.0)`` for each node whose versions differ."""
    out = []
    for node, env in sorted(nodes.items()):
        diffs = [f"{k} {env.get(k, '?')} (here {v})" for k, v in local.items() if env.get(k) != v]
        if diffs:
            out.append(f"node {node}: {', '.join(diffs)}")
    return out


def environment_doc(runner: dict[str, Any]) -> dict[str, Any]:
    """The ``environment.json`` document: app, versions, this machine and the runner."""
    return {
        "app": {"name": "cryptodesk", "version": __version__},
        "versions": versions(),
        "machine": {"host": socket.gethostname(), "platform": platform.platform(),
                    "processor": platform.machine(), "cpus": os.cpu_count()},
        "runner": runner,
    }
