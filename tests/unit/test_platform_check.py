"""The start-up check of Qt's X11 platform plugin (cryptodesk/platform_check.py).

Everything here runs the real ``ldd``: on shared objects that gcc builds for the test (linking
libraries that are then deleted, so the loader cannot find them) and on a copy of PySide6's own
``libqxcb.so`` moved away from the Qt libraries it links. The app and ``cryptodesk doctor`` run
in subprocesses, pointed at such a file with ``CRYPTODESK_QT_PLUGIN_CHECK``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cryptodesk import platform_check
from cryptodesk.platform_check import (
    PACKAGES,
    check_library,
    install_commands,
    missing_message,
    qt_platform_order,
    uses_xcb,
    xcb_plugin,
)

REPO = Path(__file__).resolve().parents[2]
UNKNOWN = "libcryptodesk-nowhere.so.7"  # no distribution ships this
BUNDLED = "libQt6CryptodeskNowhere.so.6"  # looks like one of PySide6's own libraries

needs_linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ldd is Linux's")


def _run(*args: str | Path) -> None:
    subprocess.run([str(a) for a in args], check=True, capture_output=True, text=True, timeout=60)


def _uninstalled_soname() -> str:
    """A soname from the package table that this machine's loader cannot find (ldconfig's
    cache knows every library in the system folders). CI installs only what Qt needs, so
    libxcb-xinerama.so.0 and others stay absent there."""
    known = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    for soname in ("libxcb-xinerama.so.0", "libxcb-ewmh.so.2", "libxcb-xinput.so.0", *PACKAGES):
        if f"{soname} " not in known:
            return soname
    pytest.skip("every library in the package table is installed here: none can be missing")


def build_plugin(folder: Path, needed: list[str]) -> Path:
    """A real shared object whose DT_NEEDED lists ``needed``: gcc links it against stub
    libraries with those sonames, which are then deleted."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc not installed: cannot build a test shared object")
    stubs = folder / "stubs"
    stubs.mkdir(parents=True)
    source = folder / "stub.c"
    source.write_text("int cryptodesk_stub(void) { return 0; }\n", encoding="utf-8")
    for soname in needed:
        _run("gcc", "-shared", "-fPIC", "-o", stubs / soname, source, f"-Wl,-soname,{soname}")
    plugin = folder / "libfakeqxcb.so"
    _run("gcc", "-shared", "-fPIC", "-o", plugin, source, f"-L{stubs}", "-Wl,--no-as-needed",
         *[f"-l:{soname}" for soname in needed])
    shutil.rmtree(stubs)
    return plugin


@pytest.fixture(scope="module")
def fake_plugin(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """(shared object missing a table soname, an unknown one and a Qt one; the table soname)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("ldd is Linux's")
    soname = _uninstalled_soname()
    return build_plugin(tmp_path_factory.mktemp("fake"), [soname, UNKNOWN, BUNDLED]), soname


# -- which platform plugin Qt will try first -------------------------------------------------

@pytest.mark.parametrize(("env", "order"), [
    ({}, ["xcb"]),
    ({"DISPLAY": ":0"}, ["xcb"]),
    ({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, ["wayland", "xcb"]),  # XWayland too
    ({"XDG_SESSION_TYPE": "wayland"}, ["wayland", "xcb"]),
    ({"QT_QPA_PLATFORM": "offscreen", "DISPLAY": ":0"}, ["offscreen"]),
    ({"QT_QPA_PLATFORM": "xcb:nograb", "WAYLAND_DISPLAY": "w"}, ["xcb"]),
    ({"QT_QPA_PLATFORM": "wayland;xcb"}, ["wayland", "xcb"]),
])
def test_platform_order_follows_qt(env: dict[str, str], order: list[str]) -> None:
    assert qt_platform_order(env) == order


def test_only_linux_xcb_is_checked() -> None:
    assert uses_xcb({"DISPLAY": ":0"}, "linux")
    assert uses_xcb({}, "linux")  # no display at all: Qt still tries xcb (and aborts)
    assert uses_xcb({"QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": "w"}, "linux")
    assert not uses_xcb({"QT_QPA_PLATFORM": "offscreen"}, "linux")
    assert not uses_xcb({"QT_QPA_PLATFORM": "wayland", "DISPLAY": ":0"}, "linux")
    assert not uses_xcb({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, "linux")
    assert not uses_xcb({"DISPLAY": ":0"}, "darwin")
    assert not uses_xcb({}, "win32")


def test_plugin_is_found_without_importing_qt() -> None:
    code = ("import sys; from cryptodesk import platform_check as p; plugin = p.xcb_plugin(); "
            "print(plugin); print(sorted(m for m in sys.modules if m.startswith('PySide6')))")
    env = {k: v for k, v in os.environ.items() if k != platform_check.PLUGIN_ENV}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=REPO, timeout=60, check=True).stdout.splitlines()
    if sys.platform.startswith("linux"):
        assert out[0].endswith("PySide6/Qt/plugins/platforms/libqxcb.so")
    assert out[1] == "[]"  # not even the PySide6 package ran


# -- the package table and the message -------------------------------------------------------

def test_table_maps_the_libraries_of_the_reported_bug() -> None:
    apt, dnf, unknown = install_commands(
        ["libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libxcb-shape.so.0",
         "libxcb-randr.so.0", UNKNOWN, "libQt6Gui.so.6"])
    assert apt == ("sudo apt install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 "
                   "libxcb-randr0")
    assert dnf == "sudo dnf install xcb-util-cursor xcb-util-wm xcb-util-keysyms libxcb"
    assert unknown == [UNKNOWN]  # Qt's own library is pip's business, not the distribution's
    assert PACKAGES["libEGL.so.1"].debian == "libegl1"
    assert PACKAGES["libxkbcommon-x11.so.0"].fedora == "libxkbcommon-x11"


def test_message_is_one_line_with_both_package_managers() -> None:
    text = missing_message(["libxcb-icccm.so.4", "libxcb-keysyms.so.1"])
    assert "\n" not in text
    assert "libxcb-icccm.so.4, libxcb-keysyms.so.1" in text
    assert "`sudo apt install libxcb-icccm4 libxcb-keysyms1` (Debian/Ubuntu)" in text
    assert "`sudo dnf install xcb-util-wm xcb-util-keysyms` (Fedora/RHEL)" in text


# -- real ldd --------------------------------------------------------------------------------

@needs_linux
def test_ldd_finds_the_hidden_libraries(fake_plugin: tuple[Path, str]) -> None:
    plugin, soname = fake_plugin
    check = check_library(plugin)
    assert check.error is None
    assert check.missing == (soname, UNKNOWN, BUNDLED)
    assert check.found >= 1  # libc
    text = missing_message(check.missing)
    package = PACKAGES[soname]
    assert soname in text and UNKNOWN in text
    assert f"sudo apt install {package.debian}`" in text
    assert f"sudo dnf install {package.fedora}`" in text
    assert f"apt-file search {UNKNOWN}" in text
    assert f"{BUNDLED} not found: reinstall PySide6" in text


@needs_linux
def test_copy_of_the_real_plugin_misses_the_qt_library_it_links(tmp_path: Path) -> None:
    real = xcb_plugin({})
    if real is None:
        pytest.skip("PySide6's libqxcb.so not found")
    platforms = tmp_path / "plugins" / "platforms"
    platforms.mkdir(parents=True)
    copy = Path(shutil.copy2(real, platforms / "libqxcb.so"))  # RUNPATH $ORIGIN/../../lib: empty
    env = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
    check = check_library(copy, env)
    assert "libQt6XcbQpa.so.6" in check.missing and "libQt6Gui.so.6" in check.missing
    assert "reinstall PySide6 with `pip install --force-reinstall PySide6-Essentials`" in (
        missing_message(check.missing))
    # the loader's search path is honoured: with Qt's folder on it, the Qt libraries resolve
    env["LD_LIBRARY_PATH"] = str(real.parents[2] / "lib")
    again = check_library(copy, env)
    assert again.error is None
    assert not [s for s in again.missing if s.startswith("libQt6")]
    assert again.found > check.found


@needs_linux
def test_ldd_errors_are_reported_not_raised(tmp_path: Path) -> None:
    assert "does not exist" in str(check_library(tmp_path / "nothing.so").error)
    text_file = tmp_path / "not-elf.so"
    text_file.write_text("hello\n", encoding="utf-8")
    broken = check_library(text_file)
    assert broken.error is not None and broken.missing == ()


# -- the app and doctor, end to end ----------------------------------------------------------

def _cryptodesk(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cryptodesk", *args], capture_output=True,
                          text=True, env=env, cwd=REPO, timeout=120)


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    drop = ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE",
            platform_check.PLUGIN_ENV)
    env = {k: v for k, v in os.environ.items() if k not in drop}
    return {**env, "CRYPTODESK_HOME": str(tmp_path / "home"), **extra}


@needs_linux
def test_app_exits_1_with_one_line_when_libraries_are_missing(
        tmp_path: Path, fake_plugin: tuple[Path, str]) -> None:
    plugin, soname = fake_plugin
    out = _cryptodesk(env=_env(tmp_path, QT_QPA_PLATFORM="xcb", DISPLAY=":31999",
                               CRYPTODESK_QT_PLUGIN_CHECK=str(plugin)))
    assert out.returncode == 1, out.stderr  # not -6 (SIGABRT): Qt was never asked
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("cryptodesk: error: the desktop window cannot start")
    assert soname in lines[0] and f"sudo apt install {PACKAGES[soname].debian}" in lines[0]
    assert "Aborted" not in out.stderr and "qt.qpa" not in out.stderr


@needs_linux
def test_app_without_any_display_says_so(tmp_path: Path) -> None:
    out = _cryptodesk(env=_env(tmp_path))
    assert out.returncode == 1, out.stderr
    assert out.stderr.strip() == f"cryptodesk: error: {platform_check.no_display_message()}"
    assert "QT_QPA_PLATFORM=offscreen" in out.stderr


@needs_linux
def test_doctor_fails_with_the_install_command(tmp_path: Path,
                                               fake_plugin: tuple[Path, str]) -> None:
    plugin, soname = fake_plugin
    env = _env(tmp_path, CRYPTODESK_QT_PLUGIN_CHECK=str(plugin), DISPLAY=":31999")
    out = _cryptodesk("doctor", "--no-cuda", env=env)
    assert out.returncode == 1, out.stdout + out.stderr
    [line] = [x for x in out.stdout.splitlines() if x.strip().startswith("desktop window")]
    assert "FAILED" in line and soname in line
    assert f"sudo apt install {PACKAGES[soname].debian}" in line
    assert f"sudo dnf install {PACKAGES[soname].fedora}" in line

    out = _cryptodesk("doctor", "--no-cuda", env={**env, "QT_QPA_PLATFORM": "offscreen"})
    assert out.returncode == 0, out.stdout  # not used offscreen: a note, not a failure
    assert "not needed now" in out.stdout


@needs_linux
def test_doctor_passes_on_the_real_plugin_here(tmp_path: Path) -> None:
    """CI installs the libraries (.ci/run), so the real plugin must resolve completely."""
    out = _cryptodesk("doctor", "--no-cuda", env=_env(tmp_path, DISPLAY=":31999"))
    [line] = [x for x in out.stdout.splitlines() if x.strip().startswith("desktop window")]
    assert " ok - all " in line and "libraries of Qt's X11 (xcb) plugin found" in line, line
