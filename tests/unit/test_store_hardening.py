"""Temp files of a writer that died mid-write are removed on the next open, and nothing else is;
and the time-column read the exchange download checks its work with.

The dead writer is a real process killed with SIGKILL at the moment its temp files are complete
and about to be renamed; the live writer is a real lock held on the series' lock file.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from cryptodesk.data.schema import SeriesKey
from cryptodesk.data.store import LOCK, CandleStore
from tests.unit.test_store import candles

REPO = Path(__file__).resolve().parents[2]
MAIN_KEY = SeriesKey("test", "BTC/USDT", "1h")
SEG_KEY = SeriesKey("test", "ETH/USDT", "1h")

# Two threads write two series; each stops where its temp file is complete and about to be
# renamed over the real one (one a full rewrite of main.parquet, one an appended segment). Once
# both are there, the process is killed: exactly what a power cut or `kill -9` leaves behind.
_KILLED_WRITER = textwrap.dedent('''
    import os, signal, sys, threading
    from cryptodesk.data.store import CandleStore
    from tests.unit.test_store import candles

    store = CandleStore(sys.argv[1])
    store.write(candles("2024-01-01", 500))
    store.write(candles("2024-01-01", 500, symbol="ETH/USDT"))
    barrier = threading.Barrier(2)

    def die_at_rename(src, dst):
        barrier.wait(timeout=30)
        os.kill(os.getpid(), signal.SIGKILL)

    os.replace = die_at_rename
    threads = [
        threading.Thread(target=store.write, args=(candles("2023-12-01", 20_000, value=7.0),)),
        threading.Thread(target=store.write,
                         args=(candles("2024-01-21 20:00", 20_000, symbol="ETH/USDT"),)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sys.exit("not killed")
''')


def _temps(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.fixture(scope="module")
def killed_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store folder as a killed writer left it (made once: it costs a Python start-up)."""
    root = tmp_path_factory.mktemp("killed") / "candles"
    done = subprocess.run([sys.executable, "-c", _KILLED_WRITER, str(root)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == -9, done.stderr
    return root


def _copy(src: Path, dst: Path) -> Path:
    subprocess.run(["cp", "-a", str(src), str(dst)], check=True)
    return dst


def test_a_killed_writers_temp_files_are_removed_on_the_next_open(
    killed_store: Path, tmp_path: Path
) -> None:
    root = _copy(killed_store, tmp_path / "candles")
    main_dir = root / "test" / "BTC%2FUSDT" / "1h"
    seg_dir = root / "test" / "ETH%2FUSDT" / "1h"
    [main_tmp] = _temps(main_dir)
    [seg_tmp] = _temps(seg_dir)
    assert main_tmp.name.startswith(".main.parquet.") and seg_tmp.name.startswith(".seg-000001.")
    for tmp in (main_tmp, seg_tmp):  # whole Parquet files, just never renamed into place
        data = tmp.read_bytes()
        assert data[:4] == data[-4:] == b"PAR1" and len(data) > 5_000

    store = CandleStore(root)

    assert _temps(main_dir) == [] and _temps(seg_dir) == []
    # the data are what they were before the killed writes, and writing goes on normally
    pd.testing.assert_frame_equal(store.load(MAIN_KEY), candles("2024-01-01", 500), check_freq=False)
    assert store.info(SEG_KEY).rows == 500
    store.write(candles("2024-01-21 20:00", 10, symbol="ETH/USDT"))
    assert store.info(SEG_KEY).rows == 510


def test_temp_files_of_a_live_writer_are_kept_until_it_lets_go(
    killed_store: Path, tmp_path: Path
) -> None:
    root = _copy(killed_store, tmp_path / "candles")
    folder = root / "test" / "BTC%2FUSDT" / "1h"
    temps = _temps(folder)
    with open(folder / LOCK, "rb") as held:  # a writer at work (another fd: flock conflicts)
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        CandleStore(root)
        assert _temps(folder) == temps  # not ours to remove: its writer is alive
        fcntl.flock(held.fileno(), fcntl.LOCK_UN)
    assert CandleStore(root).remove_stale_temps() == [] and _temps(folder) == []


def test_a_writer_sweeps_its_folder_on_its_first_write(tmp_path: Path) -> None:
    CandleStore(tmp_path).write(candles("2024-01-01", 5))
    store = CandleStore(tmp_path)
    folder = store.series_dir(MAIN_KEY)
    dead = folder / ".seg-000002.parquet.k3j2h1xz.tmp"
    dead.write_bytes(b"PAR1" * 1000)  # a writer elsewhere died after this store was opened
    store.write(candles("2024-01-01 05:00", 5))  # holds the lock: every temp file is dead
    assert not dead.exists() and store.info(MAIN_KEY).rows == 10


def test_only_the_stores_own_temp_names_in_its_own_folders_are_touched(tmp_path: Path) -> None:
    store = CandleStore(tmp_path)
    store.write(candles("2024-01-01", 5))
    folder = store.series_dir(MAIN_KEY)
    keep = [
        folder / "notes.tmp",
        folder / ".main.parquet.tmp",  # no random part: not a name atomic_path gives
        folder / ".settings.json.abc123.tmp",
        folder / ".main.parquet.abc.def.tmp",
        tmp_path / ".main.parquet.abc123.tmp",  # not in a series folder
        tmp_path / "test" / ".main.parquet.abc123.tmp",
    ]
    for path in keep:
        path.write_text("not ours")
    link = folder / ".seg-000009.parquet.zz9.tmp"
    link.symlink_to(folder / "notes.tmp")  # a link, not a regular file
    a_dir = folder / ".main.parquet.dir1.tmp"
    a_dir.mkdir()
    no_lock = tmp_path / "other" / "X" / "1h"  # looks like a series folder, but no lock file
    no_lock.mkdir(parents=True)
    (no_lock / ".main.parquet.abc123.tmp").write_text("not ours either")
    dead = folder / ".main.parquet.r4nd0m_x.tmp"
    dead.write_text("a dead writer's")

    removed = CandleStore(tmp_path).remove_stale_temps()

    assert removed == [] and not dead.exists()  # the open already removed it
    assert all(p.exists() for p in keep) and link.is_symlink() and a_dir.is_dir()
    assert (no_lock / ".main.parquet.abc123.tmp").exists()


def test_delete_removes_the_folder_even_after_a_crash_left_a_temp_file(tmp_path: Path) -> None:
    store = CandleStore(tmp_path)
    store.write(candles("2024-01-01", 5))
    folder = store.series_dir(MAIN_KEY)
    (folder / ".main.parquet.c0ffee.tmp").write_text("dead")  # after this store's sweeps
    assert store.delete(MAIN_KEY)
    assert not folder.exists() and not (tmp_path / "test").exists()


def test_opening_a_store_whose_root_is_missing_or_unlistable_is_fine(tmp_path: Path) -> None:
    assert CandleStore(tmp_path / "nowhere").list() == []
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert CandleStore(blocker).remove_stale_temps() == []
    assert os.path.isfile(blocker)


def test_timestamps_reads_one_range_end_exclusive_across_main_and_segments(tmp_path: Path) -> None:
    store = CandleStore(tmp_path)
    store.write(candles("2024-01-01", 10))
    store.write(candles("2024-01-01 12:00", 5))  # a segment, after a two-hour hole
    store.write(candles("2024-01-01 14:00", 3))  # overlaps the segment: a full merge
    every = store.load(MAIN_KEY).index
    assert store.timestamps(MAIN_KEY).equals(every)
    part = store.timestamps(MAIN_KEY, "2024-01-01 09:00", "2024-01-01 13:00")
    assert list(part.strftime("%H")) == ["09", "12"] and str(part.tz) == "UTC"
    assert len(store.timestamps(MAIN_KEY, "2025-01-01")) == 0
    assert len(store.timestamps(SeriesKey("test", "NONE/USD", "1h"))) == 0
