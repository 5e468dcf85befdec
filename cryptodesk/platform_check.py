"""Can Qt open a window here? A Qt-free check that runs before the QApplication exists.

Why: on a bare Linux desktop, Qt's X11 platform plugin (``libqxcb.so``) cannot load because
system libraries it links are missing (``libxcb-icccm4``, ``libxcb-keysyms1``, ...). Qt then
prints a hint naming one library, which is often not the missing one, and aborts the process
(a core dump). This module finds *every* missing library with ``ldd`` on the plugin (``ldd``
follows the plugin's ``libQt6XcbQpa.so.6`` and everything else it links) and turns them into
one line naming the libraries and the ``apt`` / ``dnf`` packages that provide them.

It never imports Qt: :func:`importlib.util.find_spec` locates the ``PySide6`` folder without
running any of it. It only acts where Qt would try the ``xcb`` plugin first: on Linux, with
``QT_QPA_PLATFORM`` unset (and no Wayland session, see :func:`qt_platform_order`) or set to
``xcb``. ``offscreen``, ``wayland``, macOS and Windows skip it. With neither ``DISPLAY`` nor
``WAYLAND_DISPLAY`` set there is no display at all, and the message says so instead.

Start-up cost: ``ldd`` is a shell script that needs ~20 ms of CPU. :func:`start` launches it
without waiting (the CLI does that before importing Qt, which takes longer), and :func:`problem`
collects the answer just before the QApplication is created, so it runs once per process and
the app itself spends about 1 ms on it (measured: 0.5-1 ms to spawn, 0.2-0.5 ms waiting; the
``--debug`` log shows both). Nothing is cached on disk.

Tests (and curious users) may point the check at another shared object with
``CRYPTODESK_QT_PLUGIN_CHECK=/path/to/lib.so``; it is then checked instead of ``libqxcb.so``.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

PLUGIN_ENV = "CRYPTODESK_QT_PLUGIN_CHECK"
LDD_TIMEOUT_S = 10.0
PYSIDE_DIST = "PySide6-Essentials"


@dataclass(frozen=True)
class Package:
    """The package that provides one shared library, per distribution family."""

    debian: str  # Debian / Ubuntu (apt); checked with dpkg -S on Debian 12
    fedora: str  # Fedora / RHEL (dnf)
    arch: str  # Arch Linux (pacman)


# soname -> package. Everything the xcb plugin links (directly, through libQt6XcbQpa.so.6,
# libQt6Gui.so.6 and libQt6DBus.so.6) outside PySide6's own folder, plus the libraries Qt
# loads at run time on X11. Debian names verified with `dpkg -S` on Debian 12 (bookworm);
# Debian 13 and Ubuntu 24.04 renamed a few (libglib2.0-0t64, libpng16-16t64), and apt picks
# the renamed package when given the old name.
PACKAGES: dict[str, Package] = {
    "libxcb-cursor.so.0": Package("libxcb-cursor0", "xcb-util-cursor", "xcb-util-cursor"),
    "libxcb-icccm.so.4": Package("libxcb-icccm4", "xcb-util-wm", "xcb-util-wm"),
    "libxcb-ewmh.so.2": Package("libxcb-ewmh2", "xcb-util-wm", "xcb-util-wm"),
    "libxcb-keysyms.so.1": Package("libxcb-keysyms1", "xcb-util-keysyms", "xcb-util-keysyms"),
    "libxcb-image.so.0": Package("libxcb-image0", "xcb-util-image", "xcb-util-image"),
    "libxcb-render-util.so.0": Package("libxcb-render-util0", "xcb-util-renderutil",
                                       "xcb-util-renderutil"),
    "libxcb-util.so.1": Package("libxcb-util1", "xcb-util", "xcb-util"),
    "libxcb.so.1": Package("libxcb1", "libxcb", "libxcb"),
    "libxcb-randr.so.0": Package("libxcb-randr0", "libxcb", "libxcb"),
    "libxcb-render.so.0": Package("libxcb-render0", "libxcb", "libxcb"),
    "libxcb-shape.so.0": Package("libxcb-shape0", "libxcb", "libxcb"),
    "libxcb-shm.so.0": Package("libxcb-shm0", "libxcb", "libxcb"),
    "libxcb-sync.so.1": Package("libxcb-sync1", "libxcb", "libxcb"),
    "libxcb-xfixes.so.0": Package("libxcb-xfixes0", "libxcb", "libxcb"),
    "libxcb-xinerama.so.0": Package("libxcb-xinerama0", "libxcb", "libxcb"),
    "libxcb-xinput.so.0": Package("libxcb-xinput0", "libxcb", "libxcb"),
    "libxcb-xkb.so.1": Package("libxcb-xkb1", "libxcb", "libxcb"),
    "libxcb-glx.so.0": Package("libxcb-glx0", "libxcb", "libxcb"),
    "libxkbcommon.so.0": Package("libxkbcommon0", "libxkbcommon", "libxkbcommon"),
    "libxkbcommon-x11.so.0": Package("libxkbcommon-x11-0", "libxkbcommon-x11",
                                     "libxkbcommon-x11"),
    "libX11.so.6": Package("libx11-6", "libX11", "libx11"),
    "libX11-xcb.so.1": Package("libx11-xcb1", "libX11-xcb", "libx11"),
    "libXau.so.6": Package("libxau6", "libXau", "libxau"),
    "libXdmcp.so.6": Package("libxdmcp6", "libXdmcp", "libxdmcp"),
    "libGL.so.1": Package("libgl1", "libglvnd-glx", "libglvnd"),
    "libGLX.so.0": Package("libglx0", "libglvnd-glx", "libglvnd"),
    "libEGL.so.1": Package("libegl1", "libglvnd-egl", "libglvnd"),
    "libOpenGL.so.0": Package("libopengl0", "libglvnd-opengl", "libglvnd"),
    "libGLdispatch.so.0": Package("libglvnd0", "libglvnd", "libglvnd"),
    "libfontconfig.so.1": Package("libfontconfig1", "fontconfig", "fontconfig"),
    "libfreetype.so.6": Package("libfreetype6", "freetype", "freetype2"),
    "libdbus-1.so.3": Package("libdbus-1-3", "dbus-libs", "dbus"),
    "libglib-2.0.so.0": Package("libglib2.0-0", "glib2", "glib2"),
    "libgthread-2.0.so.0": Package("libglib2.0-0", "glib2", "glib2"),
    "libpng16.so.16": Package("libpng16-16", "libpng", "libpng"),
    "libexpat.so.1": Package("libexpat1", "expat", "expat"),
    "libz.so.1": Package("zlib1g", "zlib", "zlib"),
    "libzstd.so.1": Package("libzstd1", "libzstd", "zstd"),
    "libpcre2-8.so.0": Package("libpcre2-8-0", "pcre2", "pcre2"),
}

# Libraries that ship inside the PySide6 wheel: missing ones mean a broken install, which
# pip (not apt) repairs.
_BUNDLED = re.compile(r"^lib(Qt6|icu|shiboken6|pyside6)")
_NOT_FOUND = re.compile(r"^\s*(\S+)\s*=>\s*not found\s*$")


@dataclass(frozen=True)
class LibraryCheck:
    """What ``ldd`` said about one shared object."""

    target: Path
    missing: tuple[str, ...] = ()  # sonames the dynamic loader cannot find, in ldd's order
    error: str | None = None  # set when ldd could not answer (then ``missing`` is empty)
    seconds: float = 0.0  # how long ldd ran
    found: int = 0  # libraries ldd resolved


def qt_platform_order(env: Mapping[str, str]) -> list[str]:
    """The platform plugins Qt 6 will try, in order, on Linux (names without ``:options``).

    Mirrors ``QGuiApplicationPrivate::createPlatformIntegration`` (Qt 6.5+): an explicit
    ``QT_QPA_PLATFORM`` ("wayland;xcb") wins; otherwise Wayland comes first when
    ``WAYLAND_DISPLAY`` is set or ``XDG_SESSION_TYPE=wayland``, then xcb (PySide6's default).
    So a Wayland session with XWayland (both displays set) starts on Wayland, where the xcb
    libraries are not needed, and the check stays out of its way.
    """
    explicit = env.get("QT_QPA_PLATFORM", "")
    if explicit:
        names = explicit.split(";")
    else:
        names = []
        if "WAYLAND_DISPLAY" in env or env.get("XDG_SESSION_TYPE") == "wayland":
            names.append("wayland")
        names.append("xcb")
    return [name.split(":", 1)[0].strip() for name in names if name.strip()]


def uses_xcb(env: Mapping[str, str] | None = None, system: str | None = None) -> bool:
    """True when Qt would load the xcb plugin first: Linux and xcb first in
    :func:`qt_platform_order`. macOS, Windows, ``offscreen`` and ``wayland`` are False."""
    env = os.environ if env is None else env
    system = sys.platform if system is None else system
    if not system.startswith("linux"):
        return False
    order = qt_platform_order(env)
    return bool(order) and order[0] == "xcb"


def xcb_plugin(env: Mapping[str, str] | None = None) -> Path | None:
    """The file to check: ``$CRYPTODESK_QT_PLUGIN_CHECK`` if set, else PySide6's
    ``Qt/plugins/platforms/libqxcb.so`` (None where PySide6 or the plugin is absent)."""
    env = os.environ if env is None else env
    override = env.get(PLUGIN_ENV)
    if override:
        return Path(override)
    try:
        spec = importlib.util.find_spec("PySide6")  # finds the folder, runs no Qt code
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        plugin = Path(folder) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
        if plugin.is_file():
            return plugin
    return None


class _Pending:
    """One ``ldd`` run in flight (started by :func:`start`, collected by :meth:`result`)."""

    def __init__(self, target: Path, env: Mapping[str, str] | None) -> None:
        self.target = target
        self.started = time.perf_counter()
        self._result: LibraryCheck | None = None
        self._proc: subprocess.Popen[str] | None = None
        run_env = dict(os.environ if env is None else env, LC_ALL="C")
        try:
            self._proc = subprocess.Popen(["ldd", str(target)], stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                          text=True, env=run_env)
        except OSError as exc:  # no ldd (musl, minimal containers): cannot tell
            self._result = LibraryCheck(target, error=f"cannot run ldd: {exc.strerror or exc}")
        self.spawn_seconds = time.perf_counter() - self.started

    def result(self) -> LibraryCheck:
        if self._result is not None:
            return self._result
        assert self._proc is not None
        try:
            out, err = self._proc.communicate(timeout=LDD_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.communicate()
            self._result = LibraryCheck(self.target, error=f"ldd took over {LDD_TIMEOUT_S:.0f} s")
            return self._result
        seconds = time.perf_counter() - self.started
        missing = _parse_ldd(out)
        if self._proc.returncode != 0 and not missing:
            detail = (err or out).strip().splitlines()
            self._result = LibraryCheck(self.target, seconds=seconds,
                                        error=f"ldd failed: {detail[-1] if detail else 'no output'}")
        else:
            self._result = LibraryCheck(self.target, tuple(missing), seconds=seconds,
                                        found=out.count("=> /"))
        return self._result


def _parse_ldd(out: str) -> list[str]:
    """Sonames on ``ldd``'s ``libfoo.so.1 => not found`` lines, each once, in order."""
    missing: list[str] = []
    for line in out.splitlines():
        match = _NOT_FOUND.match(line)
        if match and match.group(1) not in missing:
            missing.append(match.group(1))
    return missing


def check_library(target: Path, env: Mapping[str, str] | None = None) -> LibraryCheck:
    """Run ``ldd`` on ``target`` now and wait for it (``env``: its environment, e.g. another
    ``LD_LIBRARY_PATH``; default: this process's)."""
    if not target.is_file():
        return LibraryCheck(target, error=f"{target} does not exist")
    return _Pending(target, env).result()


_pending: _Pending | None = None


def start() -> None:
    """Launch ``ldd`` on the xcb plugin in the background, if the app will need xcb here.

    Called as early as possible (the CLI calls it before importing Qt) so that ``ldd`` runs
    while Python is busy importing; :func:`problem` then waits only for what is left. Calling
    it again does nothing: ``ldd`` runs at most once per process.
    """
    global _pending
    if _pending is not None or not uses_xcb() or not os.environ.get("DISPLAY"):
        return
    plugin = xcb_plugin()
    if plugin is not None and plugin.is_file():
        _pending = _Pending(plugin, None)


def problem() -> str | None:
    """Why the desktop window cannot open here, as one line; None when nothing is known to be
    wrong (including: not xcb, or the check itself could not run)."""
    if not uses_xcb():
        return None
    if not os.environ.get("DISPLAY"):
        return no_display_message()
    start()
    if _pending is None:  # no PySide6 / no plugin file: Qt reports that itself
        return None
    waited = time.perf_counter()
    check = _pending.result()
    log.debug("platform check: ldd on %s ran %.1f ms; cost here: %.1f ms to start it, "
              "%.1f ms waiting for it; missing: %s", check.target, check.seconds * 1000,
              _pending.spawn_seconds * 1000, (time.perf_counter() - waited) * 1000,
              ", ".join(check.missing) or "none")
    if check.error:
        log.warning("could not check the Qt platform plugin's libraries: %s", check.error)
        return None
    return missing_message(check.missing) if check.missing else None


def no_display_message() -> str:
    """The one line for a session with no display at all."""
    return ("no display to open the window on (DISPLAY and WAYLAND_DISPLAY are unset): use the "
            "command line (cryptodesk --help), or run the app with QT_QPA_PLATFORM=offscreen")


def install_commands(sonames: Iterable[str]) -> tuple[str | None, str | None, list[str]]:
    """``(apt command, dnf command, sonames with no known package)`` for missing system
    libraries; Qt's own libraries are left out (pip, not apt, reinstalls those)."""
    debian: list[str] = []
    fedora: list[str] = []
    unknown: list[str] = []
    for soname in sonames:
        if _BUNDLED.match(soname):
            continue
        package = PACKAGES.get(soname)
        if package is None:
            unknown.append(soname)
            continue
        if package.debian not in debian:
            debian.append(package.debian)
        if package.fedora not in fedora:
            fedora.append(package.fedora)
    apt = f"sudo apt install {' '.join(debian)}" if debian else None
    dnf = f"sudo dnf install {' '.join(fedora)}" if fedora else None
    return apt, dnf, unknown


def missing_message(missing: Iterable[str]) -> str:
    """One line: which libraries Qt's X11 plugin lacks and what installs them."""
    missing = list(missing)
    bundled = [s for s in missing if _BUNDLED.match(s)]
    system = [s for s in missing if not _BUNDLED.match(s)]
    apt, dnf, unknown = install_commands(system)
    if system:
        reason = ("Qt's X11 (xcb) platform plugin needs system libraries that are missing: "
                  + ", ".join(system))
    else:
        reason = f"PySide6 is incomplete ({', '.join(bundled)} not found)"
    parts = [f"the desktop window cannot start: {reason}"]
    if apt and dnf:
        parts.append(f"install them with `{apt}` (Debian/Ubuntu) or `{dnf}` (Fedora/RHEL)")
    if unknown:
        parts.append(f"find the package for {', '.join(unknown)} with `apt-file search "
                     f"{unknown[0]}` or `dnf provides '*/{unknown[0]}'`")
    if bundled:
        also = f"{', '.join(bundled)} not found: " if system else ""
        parts.append(f"{also}reinstall PySide6 with `pip install --force-reinstall {PYSIDE_DIST}`")
    parts.append("the command line works without a window (cryptodesk --help)")
    return "; ".join(parts)


def diagnose(env: Mapping[str, str] | None = None,
             system: str | None = None) -> tuple[bool, str]:
    """For ``cryptodesk doctor``: ``(ok, one line)`` about the desktop window's platform.

    Runs ``ldd`` on the xcb plugin on every Linux machine (an installation check, whatever the
    current session), but fails only where the app would use xcb: missing X11 libraries are a
    note, not a failure, when ``QT_QPA_PLATFORM`` or a Wayland session picks another plugin.
    A missing display is a note too: doctor is often run over ssh.
    """
    env = os.environ if env is None else env
    system = sys.platform if system is None else system
    if not system.startswith("linux"):
        return True, f"Qt's platform plugin ships with PySide6 on {system}: nothing to check"
    plugin = xcb_plugin(env)
    if plugin is None:
        return True, "not checked: PySide6's xcb platform plugin (libqxcb.so) not found"
    check = check_library(plugin, env)
    if check.error:
        return True, f"not checked: {check.error}"
    order = ";".join(qt_platform_order(env))
    if check.missing:
        apt, dnf, unknown = install_commands(check.missing)
        fix = [f"`{apt}` (Debian/Ubuntu) or `{dnf}` (Fedora/RHEL)"] if apt and dnf else []
        fix += [f"no known package for {soname}" for soname in unknown]
        if any(_BUNDLED.match(s) for s in check.missing):
            fix.append(f"reinstall PySide6: `pip install --force-reinstall {PYSIDE_DIST}`")
        text = (f"Qt's X11 (xcb) plugin is missing {', '.join(check.missing)}; install with "
                + "; ".join(fix))
        if uses_xcb(env, system):
            return False, text
        return True, f"{text} (not needed now: Qt will try {order} first)"
    text = f"all {check.found} libraries of Qt's X11 (xcb) plugin found"
    if not uses_xcb(env, system):
        return True, f"{text}; Qt will use {order.split(';')[0]} here"
    if not env.get("DISPLAY"):
        return True, (f"{text}; no display in this session (DISPLAY and WAYLAND_DISPLAY unset): "
                      "the window opens in a desktop session, or with QT_QPA_PLATFORM=offscreen")
    return True, f"{text}; display {env['DISPLAY']}"
