"""The real thing: the app opens its window through Qt's X11 (xcb) plugin on an X server.

Every other GUI test runs on the ``offscreen`` plugin, which needs none of the system libraries
that a bare Linux desktop lacks (issue 13: ``libxcb-cursor0``, ``libxcb-icccm4``, ...). This one
starts ``Xvfb`` on a free display number and runs ``cryptodesk`` on it with
``QT_QPA_PLATFORM=xcb``, so a missing library or a start-up abort fails the test. ``.ci/run``
installs Xvfb and the libraries; without the ``Xvfb`` binary the test is skipped.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cryptodesk import __version__

pytestmark = pytest.mark.gui
REPO = Path(__file__).resolve().parents[2]
TITLE = f"CryptoDesk {__version__}"
SMOKE_MS = 4000


@pytest.fixture
def xvfb(tmp_path: Path) -> Iterator[str]:
    """A fresh Xvfb server (1280x800, 24-bit) on a display number it picks itself."""
    exe = shutil.which("Xvfb")
    if exe is None:
        pytest.skip("Xvfb is not installed (Debian: apt-get install xvfb; .ci/run installs it)")
    read_end, write_end = os.pipe()
    log = (tmp_path / "xvfb.log").open("wb")
    # -displayfd: Xvfb takes a free display and writes its number. -noreset: by default the
    # server resets each time its last client leaves, and the test's xwininfo polls connect and
    # leave every 0.2 s while the app starts; an app connecting during such a reset is refused
    # ("could not connect to display"), which failed this test once in a clean-clone CI run.
    server = subprocess.Popen(
        [exe, "-displayfd", str(write_end), "-screen", "0", "1280x800x24", "-nolisten", "tcp",
         "-noreset"],
        pass_fds=(write_end,), stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    os.close(write_end)
    try:
        ready, _, _ = select.select([read_end], [], [], 30)
        number = os.read(read_end, 32).decode().strip() if ready else ""
        if not number.isdigit():
            server.kill()
            pytest.fail(f"Xvfb did not start: {(tmp_path / 'xvfb.log').read_text()[-1000:]}")
        yield f":{number}"
    finally:
        os.close(read_end)
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def _window_state(display: str) -> str | None:
    """``Map State`` of the main window on the X server, per xwininfo (None: not there yet)."""
    out = subprocess.run(["xwininfo", "-display", display, "-name", TITLE],
                         capture_output=True, text=True, timeout=10)
    for line in out.stdout.splitlines():
        if "Map State:" in line:
            return line.split(":", 1)[1].strip()
    return None


def test_window_opens_on_a_real_x_server(xvfb: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("WAYLAND_DISPLAY", "XDG_SESSION_TYPE", "CRYPTODESK_QT_PLUGIN_CHECK")}
    env.update(QT_QPA_PLATFORM="xcb", DISPLAY=xvfb, CRYPTODESK_HOME=str(tmp_path / "home"),
               CRYPTODESK_SMOKE_EXIT_MS=str(SMOKE_MS))
    errors = tmp_path / "stderr.txt"
    with errors.open("wb") as sink:  # a file, not a pipe: nobody reads while the app runs
        app = subprocess.Popen([sys.executable, "-m", "cryptodesk", "gui"], env=env, cwd=REPO,
                               stdout=subprocess.DEVNULL, stderr=sink)
    states: set[str] = set()
    xwininfo = shutil.which("xwininfo")
    deadline = time.monotonic() + 120
    while app.poll() is None and time.monotonic() < deadline:
        if xwininfo:  # what the X server itself says about the window, while it is up
            state = _window_state(xvfb)
            if state:
                states.add(state)
        time.sleep(0.2)
    try:
        app.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        app.kill()
        app.wait()
    stderr = errors.read_text(encoding="utf-8", errors="replace")
    assert app.returncode == 0, (
        f"exit code {app.returncode} (the smoke exit is {SMOKE_MS} ms): {stderr[-3000:]}")
    log = (tmp_path / "home" / "log" / "cryptodesk.log").read_text(encoding="utf-8")
    shown = [line for line in log.splitlines() if "window shown" in line]
    assert shown and shown[0].endswith(" on xcb"), log[-2000:]
    assert f"closing after {SMOKE_MS} ms" in log
    if xwininfo:
        assert "IsViewable" in states, f"xwininfo saw {states or 'no window'} titled {TITLE!r}"
