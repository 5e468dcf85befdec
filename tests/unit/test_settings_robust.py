"""Settings survive whatever sits at the settings path, and saving fails in one clear line.

Real files, folders, FIFOs, sockets and symlinks; permissions through what root cannot bypass
either (``chattr +i``, or a file where a folder should be), skipped with the reason where the
machine does not allow them. Every load runs under a deadline: a hang is a failure, not a stall.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import socket
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cryptodesk.cli import main
from cryptodesk.errors import CryptoDeskError, SettingsError
from cryptodesk.paths import app_paths
from cryptodesk.settings import (
    DEVICES,
    LOG_LEVELS,
    THEMES,
    Settings,
    SettingsSaveError,
    from_dict,
    load_settings,
    migrate,
    save_settings,
    validate,
)

ROOT = os.geteuid() == 0


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Fail (instead of hanging the run) if the block takes longer than ``seconds``. SIGALRM
    interrupts even a blocking ``open()`` of a FIFO."""

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s: it blocks")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def immutable(path: Path) -> Iterator[None]:
    """``chattr +i``: no rename, no write, no new entry (for a folder) even for root."""
    done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"chattr +i is not permitted here ({done.stderr.strip()}); it needs "
                    "CAP_LINUX_IMMUTABLE and a file system with attributes")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


@contextlib.contextmanager
def read_only_folder(folder: Path) -> Iterator[None]:
    """A folder in which nothing can be renamed or created: ``chattr +i`` as root (root ignores
    mode bits), mode 0555 otherwise."""
    if ROOT:
        with immutable(folder):
            yield
        return
    folder.chmod(0o555)
    try:
        yield
    finally:
        folder.chmod(0o755)


def load(path: Path) -> tuple[Settings, list[str]]:
    with deadline(10):
        return load_settings(path)


def assert_defaults_with_one_warning(result: tuple[Settings, list[str]], path: Path, *words: str) -> str:
    loaded, warnings = result
    assert loaded == Settings()
    assert len(warnings) == 1, warnings
    warning = warnings[0]
    assert str(path) in warning and warning.endswith("using defaults") and "\n" not in warning
    for word in words:
        assert word in warning
    return warning


# ------------------------------------------------------------------------------ reproducers
def test_a_directory_in_place_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.mkdir()
    warning = assert_defaults_with_one_warning(load(path), path, "is a directory")
    assert "left in place" in warning and path.is_dir()


def test_a_named_pipe_is_never_opened_blocking(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    os.mkfifo(path)
    assert_defaults_with_one_warning(load(path), path, "named pipe (FIFO)", "left in place")
    assert stat.S_ISFIFO(path.lstat().st_mode)


def test_a_socket_a_symlink_loop_and_a_file_in_place_of_the_folder(tmp_path: Path) -> None:
    sock_path = tmp_path / "a" / "settings.json"
    sock_path.parent.mkdir()
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(sock_path))
        assert_defaults_with_one_warning(load(sock_path), sock_path, "is a socket")
    loop = tmp_path / "b" / "settings.json"
    loop.parent.mkdir()
    loop.symlink_to(loop)
    assert_defaults_with_one_warning(load(loop), loop, "cannot be read (too many levels")
    blocker = tmp_path / "config"
    blocker.write_text("a file where the config folder should be")
    path = blocker / "settings.json"
    assert_defaults_with_one_warning(load(path), path, f"({blocker} is not a folder)")


def test_deep_nesting_is_refused_before_the_parser_recurses(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    content = "[" * 100_000 + "]" * 100_000
    path.write_text(content)
    assert_defaults_with_one_warning(load(path), path, "nested", "kept it as settings.json.bad-")
    [bad] = tmp_path.glob("settings.json.bad-*")
    assert bad.read_text() == content


@pytest.mark.parametrize("content", [
    '{"seed": ' + "9" * 5000 + "}",  # longer than any number Python parses by default
    '{"seed": ' + "9" * 4000 + "}",  # parses, and is far out of range
    '{"seed": 1e999}',
    '{"seed": NaN}',
    '{"exchanges": {"binance": {"timeout_ms": 100000000000000000000000000000}}}',
    '{"exchanges": {"binance": {"max_retries": 1000000000}}}',
    '{"schema_version": -1}',
    '{"schema_version": 100000000000000000000000000000000000}',
    '{"default_symbol": "\\ud800"}',
    '{"theme": "' + "x" * 500_000 + '"}',
])
def test_huge_numbers_and_odd_values_give_defaults_and_a_short_warning(
    tmp_path: Path, content: str
) -> None:
    path = tmp_path / "settings.json"
    path.write_text(content)
    warning = assert_defaults_with_one_warning(load(path), path, "is invalid")
    assert len(warning) < 600
    [bad] = tmp_path.glob("settings.json.bad-*")
    assert bad.read_text() == content


def test_a_file_over_the_size_limit_is_not_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    with path.open("wb") as handle:
        handle.truncate(1 << 30)  # a 1 GiB sparse file: reading it would cost a gigabyte
    assert_defaults_with_one_warning(load(path), path, "larger than 1024 KiB")


def test_an_invalid_file_in_a_read_only_folder_is_left_in_place(tmp_path: Path) -> None:
    folder = tmp_path / "config"
    folder.mkdir()
    path = folder / "settings.json"
    path.write_text("{not json")
    with read_only_folder(folder):
        warning = assert_defaults_with_one_warning(load(path), path, "is invalid")
        reason = "operation not permitted" if ROOT else "permission denied"
        assert f": {reason}; left in place" in warning
        assert "could not be kept as settings.json.bad-" in warning
    assert path.read_text() == "{not json" and list(folder.iterdir()) == [path]


def test_an_immutable_file(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text('{"theme": "dark"}')
    with immutable(path):
        assert load(path) == (dataclasses.replace(Settings(), theme="dark"), [])
        with pytest.raises(SettingsSaveError, match=r"cannot save settings to .*: operation not permitted"):
            save_settings(Settings(), path)
    path.write_text('{"theme": "neon"}')
    with immutable(path):
        assert_defaults_with_one_warning(load(path), path, "'theme' must be one of", "left in place")
    assert path.read_text() == '{"theme": "neon"}'


def test_a_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"theme": "dark"}).encode())
    assert load(path) == (dataclasses.replace(Settings(), theme="dark"), [])


# ------------------------------------------------------------------------------ saving
def test_saving_where_it_cannot_be_written_is_one_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "config"
    blocker.write_text("x")
    with pytest.raises(SettingsSaveError) as info:
        save_settings(Settings(), blocker / "settings.json")
    assert str(info.value) == f"cannot save settings to {blocker / 'settings.json'}: {blocker} is not a folder"
    # one error for both kinds of caller: the CLI's CryptoDeskError and the GUI's OSError
    assert isinstance(info.value, CryptoDeskError) and isinstance(info.value, OSError)
    assert isinstance(info.value, SettingsError)

    folder = tmp_path / "ro"
    folder.mkdir()
    with read_only_folder(folder), pytest.raises(SettingsSaveError, match="cannot save settings"):
        save_settings(Settings(), folder / "settings.json")
    assert list(folder.iterdir()) == []  # no temp file left behind


def test_saving_never_replaces_a_directory_or_a_fifo(tmp_path: Path) -> None:
    directory = tmp_path / "d" / "settings.json"
    directory.mkdir(parents=True)
    with pytest.raises(SettingsSaveError, match="it is a directory, not a regular file"):
        save_settings(Settings(), directory)
    fifo = tmp_path / "settings.json"
    os.mkfifo(fifo)
    with deadline(10), pytest.raises(SettingsSaveError, match=r"it is a named pipe \(FIFO\)"):
        save_settings(Settings(), fifo)
    assert stat.S_ISFIFO(fifo.lstat().st_mode) and directory.is_dir()
    assert not list(tmp_path.glob(".settings.json.*"))


# ------------------------------------------------------------------------------ the commands
@pytest.fixture
def fifo_settings() -> Path:
    path = app_paths().settings_file
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)
    return path


def test_doctor_reports_a_fifo_instead_of_hanging(fifo_settings: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with deadline(60):
        code = main(["doctor", "--no-cuda"])
    out = capsys.readouterr().out
    assert code == 1
    assert f"settings       FAILED: settings file {fifo_settings} is a named pipe (FIFO)" in out


@pytest.mark.gui
def test_gui_starts_on_defaults_and_survives_a_failed_save(qtbot, caplog: pytest.LogCaptureFixture) -> None:
    from cryptodesk.gui.app import application, create_window

    path = app_paths().settings_file
    path.mkdir(parents=True)  # a directory where the file should be: unreadable and unsavable
    app = application()
    with deadline(60):
        window = create_window(app, start=False)
    qtbot.addWidget(window)
    assert window.settings == Settings()
    assert "is a directory" in window.statusBar().currentMessage()
    window.apply_theme("dark")  # saves the theme: fails, is logged, does not raise
    assert any("cannot save settings" in r.getMessage() for r in caplog.records)
    assert path.is_dir()


# ------------------------------------------------------------------------------ property
_leaves = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12))
JSON = st.recursive(_leaves, lambda kids: st.lists(kids, max_size=4)
                    | st.dictionaries(st.text(max_size=8), kids, max_size=4), max_leaves=12)
EXCHANGE = st.fixed_dictionaries({}, optional={
    "api_url": st.sampled_from([None, "http://127.0.0.1:1", "ftp://x"]) | JSON,
    "timeout_ms": st.integers(-1, 10**40) | JSON,
    "max_retries": st.integers(-1, 10**6) | JSON,
})
SETTINGS_LIKE = st.fixed_dictionaries({}, optional={
    "schema_version": st.integers(-2, 3) | JSON,
    "style": st.sampled_from(THEMES) | JSON,
    "theme": st.sampled_from(THEMES) | JSON,
    "device": st.sampled_from(DEVICES) | JSON,
    "seed": st.integers(-1, 2**33) | JSON,
    "default_symbol": st.text(max_size=10) | JSON,
    "log_level": st.sampled_from(LOG_LEVELS) | JSON,
    "exchanges": st.dictionaries(st.text(max_size=8), EXCHANGE | JSON, max_size=3) | JSON,
    "extra": JSON,
})
NON_FILES = ("missing", "directory", "fifo", "socket", "symlink loop", "dangling symlink",
             "symlink to a directory", "file as folder", "deep", "long number")
THING = st.one_of(
    st.binary(max_size=300).map(lambda b: ("bytes", b)),
    JSON.map(lambda v: ("bytes", json.dumps(v).encode())),
    SETTINGS_LIKE.map(lambda v: ("bytes", json.dumps(v).encode())),
    st.sampled_from(NON_FILES).map(lambda kind: (kind, b"")),
)


def _make(folder: Path, kind: str, content: bytes) -> Path:
    path = folder / "settings.json"
    if kind == "bytes":
        path.write_bytes(content)
    elif kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind(str(path))  # the socket file stays after close
    elif kind == "symlink loop":
        path.symlink_to(path)
    elif kind == "dangling symlink":
        path.symlink_to(folder / "nowhere")
    elif kind == "symlink to a directory":
        (folder / "d").mkdir()
        path.symlink_to(folder / "d")
    elif kind == "file as folder":
        (folder / "cfg").write_text("x")
        path = folder / "cfg" / "settings.json"
    elif kind == "deep":
        path.write_text('{"exchanges": ' + "[" * 50_000)
    elif kind == "long number":
        path.write_text('{"seed": -' + "1" * 100_000 + "}")
    return path


def _expected(content: bytes) -> Settings | None:
    """What a correct loader returns for these bytes, by the plain route; None if invalid."""
    try:
        raw = json.loads(content.decode("utf-8-sig"))
        if not isinstance(raw, dict):
            return None
        return from_dict(migrate(raw))
    except (ValueError, TypeError, KeyError, SettingsError, RecursionError):
        return None


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(thing=THING)
def test_any_thing_at_the_settings_path_gives_settings_never_an_exception(
    thing: tuple[str, bytes]
) -> None:
    kind, content = thing
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = _make(folder, kind, content)
        mode_before = path.lstat().st_mode if os.path.lexists(path) else None
        loaded, warnings = load(path)
        validate(loaded)
        assert len(warnings) <= 1
        if warnings:
            assert loaded == Settings() and str(path) in warnings[0]
            assert warnings[0].endswith("using defaults") and "\n" not in warnings[0]
        if kind == "bytes":
            expected = _expected(content)
            if expected is not None:  # valid: read as the plain route reads it, file untouched
                assert (loaded, warnings) == (expected, []) and path.read_bytes() == content
            else:  # invalid: kept aside byte for byte, never lost
                assert warnings and "is invalid" in warnings[0]
                [bad] = folder.glob("settings.json.bad-*")
                assert bad.read_bytes() == content and not path.exists()
        elif kind in ("missing", "dangling symlink"):  # no settings yet: defaults, silently
            assert (loaded, warnings) == (Settings(), [])
        elif kind in ("deep", "long number"):
            assert warnings and "is invalid" in warnings[0]
            assert len(list(folder.glob("settings.json.bad-*"))) == 1
        else:  # not a regular file, or not reachable: reported, and left exactly as it was
            assert warnings and ("cannot be read" in warnings[0] or "left in place" in warnings[0])
            assert (path.lstat().st_mode if os.path.lexists(path) else None) == mode_before
