#!/usr/bin/env bash
# Install CryptoDesk's desktop entry, AppStream metainfo and icons for the current user, so it
# appears in the application menu. Run after installing CryptoDesk (pip or the bundle).
#   bash packaging/install_linux_desktop.sh [PATH_TO_cryptodesk_EXECUTABLE]
set -euo pipefail
cd "$(dirname "$0")/.."
RES=resources
APP_ID=io.github.cryptodesk.CryptoDesk
DATA=${XDG_DATA_HOME:-$HOME/.local/share}
EXE=${1:-$(command -v cryptodesk || true)}
[ -n "$EXE" ] || { echo "cryptodesk is not on PATH; pass its full path" >&2; exit 1; }
mkdir -p "$DATA/applications" "$DATA/metainfo" "$DATA/icons/hicolor/scalable/apps"
sed "s|^Exec=cryptodesk|Exec=$EXE|" "$RES/linux/$APP_ID.desktop" > "$DATA/applications/$APP_ID.desktop"
cp "$RES/linux/$APP_ID.metainfo.xml" "$DATA/metainfo/"
cp "$RES/icons/cryptodesk.svg" "$DATA/icons/hicolor/scalable/apps/$APP_ID.svg"
for size in 16 24 32 48 64 128 256 512; do
  mkdir -p "$DATA/icons/hicolor/${size}x${size}/apps"
  cp "$RES/icons/cryptodesk-$size.png" "$DATA/icons/hicolor/${size}x${size}/apps/$APP_ID.png"
done
command -v update-desktop-database >/dev/null && update-desktop-database "$DATA/applications" || true
echo "installed $APP_ID for $(whoami)"
