"""Helpers for the bundle hardening tests: snapshots of folders, re-hashing a tampered payload
the way an attacker sharing a zip would, and running the real CLI in a subprocess."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path


def snapshot(root: Path, skip: Path | None = None) -> dict[str, str]:
    """Relative path -> sha256 (or ``<dir>``/``<link>``) of everything under ``root``.

    ``skip``: a folder under ``root`` left out (the library, when checking what lies outside).
    """
    out: dict[str, str] = {}
    if not root.exists():
        return out
    for path in sorted(root.rglob("*")):
        if skip is not None and (path == skip or skip in path.parents):
            continue
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            out[rel] = "<link>"
        elif path.is_dir():
            out[rel] = "<dir>"
        else:
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def rehash_payload(bundle: Path, name: str) -> None:
    """Record the current SHA-256 of ``model/<name>`` in the bundle's manifest."""
    manifest_path = bundle / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["payload"]["files"][name] = hashlib.sha256((bundle / "model" / name).read_bytes()).hexdigest()
    manifest_path.write_text(json.dumps(manifest, indent=2))


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``python -m cryptodesk ARGS`` in a fresh process (inherits ``CRYPTODESK_HOME``)."""
    return subprocess.run([sys.executable, "-m", "cryptodesk", *args], capture_output=True,
                          text=True, timeout=timeout, env=dict(os.environ))


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """Exit 1, exactly one line on stderr (``cryptodesk: error: ...``), no traceback/abort."""
    err = proc.stderr.strip()
    assert proc.returncode == 1, (proc.returncode, proc.stderr[-2000:])
    assert len(err.splitlines()) == 1, err
    assert err.startswith("cryptodesk: error: "), err
    assert "Traceback" not in err and "terminate called" not in err
    for fragment in fragments:
        assert fragment in err, err
    return err
