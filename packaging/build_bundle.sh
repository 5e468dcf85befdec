#!/usr/bin/env bash
# Build the one-folder desktop bundle with PyInstaller (not part of the test run).
#   bash packaging/build_bundle.sh            -> dist/cryptodesk/cryptodesk
# Uses the project's .venv (created by the README's set-up command) and installs PyInstaller
# into it. Then smoke-tests the bundle: --version, doctor, and the window opened offscreen.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
[ -x "$PY" ] || { echo "run the README set-up command first (.venv missing)" >&2; exit 1; }
"$PY" -m pip install -q "pyinstaller>=6.10"
"$PY" -m PyInstaller --noconfirm --clean --distpath dist --workpath build/pyinstaller \
    packaging/cryptodesk.spec
BIN=dist/cryptodesk/cryptodesk
echo "bundle size: $(du -sh dist/cryptodesk | cut -f1)"
home=$(mktemp -d)
CRYPTODESK_HOME="$home" "$BIN" --version
CRYPTODESK_HOME="$home" "$BIN" doctor --no-cuda | tail -n 12
CRYPTODESK_HOME="$home" QT_QPA_PLATFORM=offscreen CRYPTODESK_SMOKE_EXIT_MS=3000 "$BIN" gui \
    && echo "bundled app started offscreen and closed cleanly"
