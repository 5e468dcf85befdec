"""``cryptodesk doctor``: what is installed, where files live, and whether they are readable.

The first thing to run when something is off, and what a bug report should include. Prints
versions (reading package metadata, so nothing heavy is imported except torch for the CUDA
check), the four user directories and whether they are writable, optional parts, and checks
that the settings file, the candle store and the model library can be read, and that Qt's X11
platform plugin finds its system libraries (naming the packages to install when it does not).
Exit code 1 when a check fails.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import importlib.util
import os
import platform
import sys
import tempfile
from pathlib import Path

CORE = ("numpy", "pandas", "pyarrow", "appdirs", "PySide6-Essentials", "pyqtgraph", "ccxt",
        "lightgbm", "torch", "statsmodels", "scipy")
OPTIONAL = {"vaderSentiment": "exact VADER sentiment scorer", "pytest": "running the tests",
            "pyinstaller": "building the desktop bundle"}


def register(sub: argparse._SubParsersAction) -> None:
    """Add the doctor command."""
    p = sub.add_parser("doctor", help="check the installation: versions, folders, data")
    p.add_argument("--no-cuda", action="store_true", help="skip importing torch for the CUDA check")
    p.set_defaults(func=cmd_doctor)


def cmd_doctor(args: argparse.Namespace) -> int:
    """Print the report; return 1 if any check failed."""
    from cryptodesk import __version__
    from cryptodesk.paths import HOME_ENV, app_paths

    failures: list[str] = []
    print(f"CryptoDesk {__version__} on Python {platform.python_version()} "
          f"({platform.system()} {platform.machine()})")
    print(f"executable: {sys.executable}")
    print("\nLibraries:")
    for name in CORE:
        print(f"  {name:<20} {_version(name) or 'MISSING'}")
        if _version(name) is None:
            failures.append(f"{name} is not installed")
    print("\nOptional:")
    for name, why in OPTIONAL.items():
        print(f"  {name:<20} {_version(name) or 'not installed'}  ({why})")
    print("\nCompute:")
    if args.no_cuda:
        print("  CUDA: not checked (--no-cuda)")
    else:
        print(f"  {_accelerators()}")

    paths = app_paths()
    home = os.environ.get(HOME_ENV)
    print(f"\nFolders{f' (under {HOME_ENV}={home})' if home else ''}:")
    for label, folder in (("data", paths.data), ("config", paths.config), ("cache", paths.cache),
                          ("log", paths.log)):
        state = _writable(folder)
        print(f"  {label:<7} {folder}  [{state}]")
        if state != "ok":
            failures.append(f"{label} folder {folder}: {state}")

    print("\nResources:")
    try:
        from cryptodesk.resources import icon_path

        print(f"  icons   {icon_path().parent}  [ok]")
    except FileNotFoundError as exc:
        print(f"  {exc}")
        failures.append(str(exc))

    print("\nChecks:")
    failures += _check("settings", _check_settings)
    failures += _check("candle store", _check_store)
    failures += _check("model library", _check_models)
    failures += _check("desktop window", _check_desktop)
    if failures:
        print(f"\n{len(failures)} problem(s):")
        for failure in failures:
            print(f"  - {failure}")
        return 1
    print("\nAll checks passed.")
    return 0


_MODULES = {"PySide6-Essentials": "PySide6", "vaderSentiment": "vaderSentiment"}


def _version(name: str) -> str | None:
    """Installed version from package metadata; in a frozen bundle without metadata, from the
    module itself (or "installed" when it has no version attribute)."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        pass
    module = _MODULES.get(name, name.lower())
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        return None
    if getattr(sys, "frozen", False):
        try:
            return str(getattr(importlib.import_module(module), "__version__", "installed"))
        except Exception:
            return "installed (fails to import)"
    return "installed"


def _accelerators() -> str:
    if importlib.util.find_spec("torch") is None:
        return "PyTorch not installed: neural models unavailable"
    import torch

    build = f"PyTorch {torch.__version__}"
    if torch.cuda.is_available():
        names = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        return f"{build}: CUDA available ({names}); neural models train on the GPU"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return f"{build}: Apple MPS available; neural models train on it"
    cuda = "CPU-only build" if torch.version.cuda is None else f"CUDA {torch.version.cuda} build, no GPU found"
    return f"{build} ({cuda}): neural models train on the CPU"


def _writable(folder: Path) -> str:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-"):
            pass
    except OSError as exc:
        return f"not writable: {exc.strerror or exc}"
    return "ok"


def _check(label: str, func) -> list[str]:
    try:
        message = func()
    except Exception as exc:
        print(f"  {label:<14} FAILED: {exc}")
        return [f"{label}: {exc}"]
    print(f"  {label:<14} ok - {message}")
    return []


def _check_desktop() -> str:
    """Can Qt's X11 platform plugin load here (ldd on it; see cryptodesk.platform_check)?"""
    from cryptodesk import platform_check

    ok, text = platform_check.diagnose()
    if not ok:
        raise RuntimeError(text)
    return text


def _check_settings() -> str:
    from cryptodesk.paths import app_paths
    from cryptodesk.settings import load_settings

    path = app_paths().settings_file
    settings, warnings = load_settings(path)  # never blocks, even on a FIFO in the file's place
    if warnings:
        raise RuntimeError(warnings[0])
    if not path.exists():
        return f"no settings file yet (defaults); would be {path}"
    return f"{path} (theme {settings.theme}, device {settings.device})"


def _check_store() -> str:
    from cryptodesk.data.store import CandleStore

    store = CandleStore()
    infos = store.list()
    for info in infos:
        store.last_timestamp(info.key)  # reads every file of the series
    bars = sum(i.rows for i in infos)
    return f"{len(infos)} series, {bars:,} bars in {store.root}"


def _check_models() -> str:
    from cryptodesk.io.bundles import ModelLibrary

    library = ModelLibrary()
    infos = library.list()
    damaged = [i for i in infos if i.error]
    if damaged:
        raise RuntimeError(f"{len(damaged)} of {len(infos)} saved models are damaged: "
                           f"{damaged[0].id}: {damaged[0].error}")
    return f"{len(infos)} saved models in {library.root}"
