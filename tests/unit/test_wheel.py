"""The wheel is complete: built from the repository, installed into a fresh virtual
environment, it runs, finds its resources, and works on its embedded defaults."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _build_wheel(out: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(REPO)],
        check=True, capture_output=True, text=True, timeout=300,
    )
    [wheel] = out.glob("cryptodesk-*.whl")
    return wheel


def _run(exe: Path, *args: str, home: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["CRYPTODESK_HOME"] = str(home)
    return subprocess.run([str(exe), *args], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=300)


def _check_installed(bindir: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    out = _run(bindir / "cryptodesk", "--version", home=home, cwd=tmp_path)
    assert out.returncode == 0 and out.stdout.startswith("cryptodesk "), out.stderr
    out = _run(bindir / "cryptodesk", "doctor", "--no-cuda", home=home, cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "icons" in out.stdout and "[ok]" in out.stdout and str(REPO) not in out.stdout
    out = _run(bindir / "cryptodesk", "data", "demo", home=home, cwd=tmp_path)
    assert out.returncode == 0 and "SYNTHETIC" in out.stdout, out.stderr
    code = ("import cryptodesk, cryptodesk.resources as r; "
            "print(cryptodesk.__file__); print(r.icon_path(256)); print(r.resource_path("
            "'linux', 'io.github.cryptodesk.CryptoDesk.desktop'))")
    out = _run(bindir / "python", "-c", code, home=home, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    module_file, icon, desktop = out.stdout.split()
    assert str(REPO) not in module_file and "site-packages" in module_file
    assert Path(icon).is_file() and Path(desktop).is_file()


def test_wheel_installs_into_fresh_venv_and_runs(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path / "dist")
    fresh = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(fresh)
    bindir = fresh / ("Scripts" if os.name == "nt" else "bin")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(bindir / "python"), "install", "-q",
         "--no-deps", str(wheel)],
        check=True, capture_output=True, text=True, timeout=300,
    )
    # Dependencies come from this test environment (reinstalling torch, Qt and LightGBM per
    # test run would take minutes); the cryptodesk package itself only from the wheel.
    fresh_site = Path(subprocess.run(
        [str(bindir / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True).stdout.strip())
    (fresh_site / "zz_deps_from_test_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _check_installed(bindir, tmp_path)


@pytest.mark.slow
def test_wheel_with_all_dependencies_from_the_index(tmp_path: Path) -> None:
    """The full install a user does (minutes: downloads Qt, LightGBM, ccxt...)."""
    wheel = _build_wheel(tmp_path / "dist")
    fresh = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(fresh)
    bindir = fresh / ("Scripts" if os.name == "nt" else "bin")
    subprocess.run([str(bindir / "python"), "-m", "pip", "install", "-q", "torch==2.13.0", str(wheel)],
                   check=True, capture_output=True, text=True, timeout=1800)
    _check_installed(bindir, tmp_path)
