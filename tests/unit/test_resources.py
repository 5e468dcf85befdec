"""Shipped resources: icons in every size, a valid desktop entry and AppStream metainfo."""

from __future__ import annotations

import configparser
import struct
import xml.etree.ElementTree as ET

import pytest
from cryptodesk.resources import icon_path, resource_path

APP_ID = "io.github.cryptodesk.CryptoDesk"


@pytest.mark.parametrize("size", [16, 24, 32, 48, 64, 128, 256, 512])
def test_png_icons_have_their_size(size: int) -> None:
    data = icon_path(size).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (size, size)


def test_svg_icon_parses() -> None:
    root = ET.parse(icon_path()).getroot()
    assert root.tag.endswith("svg") and root.get("viewBox") == "0 0 256 256"


def test_desktop_entry() -> None:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(resource_path("linux", f"{APP_ID}.desktop"), encoding="utf-8")
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application" and entry["Name"] == "CryptoDesk"
    assert entry["Exec"].startswith("cryptodesk") and entry["Icon"] == APP_ID
    assert entry["Categories"].endswith(";") and "Finance" in entry["Categories"]


def test_metainfo() -> None:
    root = ET.parse(resource_path("linux", f"{APP_ID}.metainfo.xml")).getroot()
    assert root.tag == "component" and root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert root.find("launchable").text == f"{APP_ID}.desktop"
    assert root.findtext("metadata_license") and root.findtext("summary")


def test_missing_resource_names_itself() -> None:
    with pytest.raises(FileNotFoundError, match=r"nope\.txt"):
        resource_path("nope.txt")
