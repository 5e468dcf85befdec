"""Bundle zips: export a bundle as one file, and take a shared zip apart safely.

Why this is careful: a model zip is something people send each other, so its every byte is
untrusted. The rules, each tested:

- *Member names are never paths.* The archive is only ever searched for the names the
  manifest lists (after :func:`~cryptodesk.io.manifest.payload_path` checked them); files are
  written to paths built from those checked names, never from a member's own name. Members
  that are links, absolute, contain ``..`` or backslashes, or repeat a name make the whole zip
  refused; members the manifest does not list are ignored, never copied.
- *Bounded.* At most :data:`MAX_MEMBERS` members, :data:`MAX_MEMBER_BYTES` per member,
  :data:`MAX_TOTAL_BYTES` in all, and no member above 1 MiB that expands more than
  :data:`MAX_RATIO` times (zip bombs). Sizes are counted while reading, so a member whose
  header lies about its size cannot write more than it declared.
- *Verified by reading.* Every byte is read through ``zipfile``, which checks CRCs; a bad CRC,
  broken deflate data or a lying size is a :class:`~cryptodesk.io.manifest.BundleError` with
  one line, and each payload file's SHA-256 must match the manifest.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

from cryptodesk.atomic import atomic_path
from cryptodesk.io.manifest import (
    MANIFEST,
    MAX_MANIFEST_BYTES,
    PAYLOAD_DIR,
    BundleError,
    Manifest,
    payload_path,
    shown,
)

MAX_MEMBERS = 2_000
MAX_MEMBER_BYTES = 256 * 1024**2
MAX_TOTAL_BYTES = 512 * 1024**2
MAX_RATIO = 100  # model text deflates ~5x and weights ~1.1x; a bomb deflates ~1000x
RATIO_FLOOR = 1024**2  # small members may compress well (repetitive JSON); only big ones count
_CHUNK = 1 << 20
# What a damaged archive can raise while being read: bad CRC / header (BadZipFile), broken
# deflate data (zlib.error), data ending early (EOFError), I/O, and encrypted or unsupported
# members (RuntimeError, NotImplementedError).
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError,
                NotImplementedError, ValueError)

ParseManifest = Callable[[bytes, str], Manifest]


def write_bundle_zip(bundle: Path, manifest: Manifest, out: Path) -> Path:
    """Write the bundle's manifest and listed payload files (nothing else) as ``out``, atomically.

    Members are ``<id>/manifest.json`` and ``<id>/model/<name>``.
    """
    out = Path(out)
    with atomic_path(out) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(bundle / MANIFEST, f"{manifest.id}/{MANIFEST}")
        for name in sorted(manifest.files):
            zf.write(bundle / PAYLOAD_DIR / payload_path(name, manifest.id),
                     f"{manifest.id}/{PAYLOAD_DIR}/{name}")
    return out


def extract_bundle_zip(archive: Path, dest: Path, parse: ParseManifest) -> Manifest:
    """Unpack a bundle zip into the empty folder ``dest``: the payload files the manifest lists
    go to ``dest/model/``, checked against their SHA-256. Returns the parsed manifest (the caller
    writes the manifest it keeps; the zip's manifest bytes are never copied as they are).
    """
    archive = Path(archive)
    where = f"zip {shown(archive.name)}"
    zf = _open(archive, where)
    with zf:
        members = _checked_members(zf, where)
        top = _single_top(members, where)
        info = members.get(f"{top}/{MANIFEST}")
        if info is None:
            raise BundleError(f"{where}: no {top}/{MANIFEST} in the archive")
        if info.file_size > MAX_MANIFEST_BYTES:
            raise BundleError(f"{where}: {MANIFEST} is larger than {MAX_MANIFEST_BYTES:,} bytes")
        manifest = parse(_read_member(zf, info, where), f"{where}: {top}")
        for name, digest in manifest.files.items():
            info = members.get(f"{top}/{PAYLOAD_DIR}/{name}")
            if info is None:
                raise BundleError(f"{where}: payload file {name} listed in the manifest is missing")
            target = dest / PAYLOAD_DIR / payload_path(name, where)
            target.parent.mkdir(parents=True, exist_ok=True)
            if _copy_member(zf, info, target, where) != digest:
                raise BundleError(
                    f"{where}: payload file {name} does not match its recorded checksum "
                    "(truncated, damaged or replaced); refused"
                )
    return manifest


# --------------------------------------------------------------------------- internals
def _open(archive: Path, where: str) -> zipfile.ZipFile:
    try:
        mode = os.stat(archive).st_mode
        if not stat.S_ISREG(mode):
            raise BundleError(f"{where}: not a regular file")
        if os.stat(archive).st_size > MAX_TOTAL_BYTES + 16 * 1024**2:
            raise BundleError(f"{where}: larger than {MAX_TOTAL_BYTES // 1024**2} MiB; refused")
        return zipfile.ZipFile(archive)
    except BundleError:
        raise
    except (*_READ_ERRORS, zipfile.LargeZipFile) as exc:
        raise BundleError(f"{where}: not a readable zip file ({_first_line(exc)})") from None


def _checked_members(zf: zipfile.ZipFile, where: str) -> dict[str, zipfile.ZipInfo]:
    """Every member checked (name, type, size); returns file members by name."""
    members = zf.infolist()
    if not members:
        raise BundleError(f"{where}: empty archive")
    if len(members) > MAX_MEMBERS:
        raise BundleError(f"{where}: {len(members):,} members (a bundle has at most {MAX_MEMBERS:,})")
    files: dict[str, zipfile.ZipInfo] = {}
    seen: set[str] = set()
    total = 0
    for member in members:
        name = _member_name(member.filename, where)
        if name in seen:
            raise BundleError(f"{where}: member {shown(name)} appears twice; refused")
        seen.add(name)
        if stat.S_ISLNK(member.external_attr >> 16):
            raise BundleError(f"{where}: member {shown(name)} is a link; refused")
        if member.is_dir():
            continue
        if member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise BundleError(f"{where}: member {shown(name)} uses an unsupported compression")
        if member.flag_bits & 0x1:
            raise BundleError(f"{where}: member {shown(name)} is encrypted; refused")
        if member.file_size > MAX_MEMBER_BYTES:
            raise BundleError(f"{where}: member {shown(name)} unpacks to more than "
                              f"{MAX_MEMBER_BYTES // 1024**2} MiB; refused")
        if member.file_size > RATIO_FLOOR and member.file_size > MAX_RATIO * max(member.compress_size, 1):
            raise BundleError(f"{where}: member {shown(name)} expands more than {MAX_RATIO}x "
                              "(a zip bomb?); refused")
        total += member.file_size
        if total > MAX_TOTAL_BYTES:
            raise BundleError(f"{where}: archive unpacks to more than "
                              f"{MAX_TOTAL_BYTES // 1024**2} MiB; refused")
        files[name] = member
    return files


def _member_name(name: str, where: str) -> str:
    """A member's name if it is a plain relative path (a folder's trailing '/' dropped)."""
    if not name or "\x00" in name or re.search(r"[\x00-\x1f\x7f]", name):
        raise BundleError(f"{where}: invalid member name {shown(name)}")
    if "\\" in name or name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise BundleError(f"{where}: member {shown(name)} points outside the bundle; refused")
    parts = name.rstrip("/").split("/")
    if ".." in parts:
        raise BundleError(f"{where}: member {shown(name)} points outside the bundle; refused")
    if any(part in ("", ".") for part in parts):
        raise BundleError(f"{where}: invalid member name {shown(name)}")
    return "/".join(parts)


def _single_top(members: dict[str, zipfile.ZipInfo], where: str) -> str:
    tops = {name.split("/", 1)[0] for name in members}
    if len(tops) != 1 or any("/" not in name for name in members):
        listed = ", ".join(shown(t, 30) for t in sorted(tops)[:5])
        raise BundleError(f"{where}: expected one bundle folder, found {listed}")
    return tops.pop()


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, where: str) -> bytes:
    chunks: list[bytes] = []
    _stream(zf, info, where, chunks.append)
    return b"".join(chunks)


def _copy_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, where: str) -> str:
    """Copy one member to ``target`` (a new file); return the SHA-256 of what was written."""
    digest = hashlib.sha256()
    with open(target, "xb") as out:
        def write(block: bytes) -> None:
            digest.update(block)
            out.write(block)

        _stream(zf, info, where, write)
    return digest.hexdigest()


def _stream(zf: zipfile.ZipFile, info: zipfile.ZipInfo, where: str,
            sink: Callable[[bytes], object]) -> None:
    """Read a member to its end (so ``zipfile`` checks its CRC), at most its declared size."""
    name = shown(info.filename)
    count = 0
    try:
        src = zf.open(info)
    except _READ_ERRORS as exc:
        raise BundleError(f"{where}: member {name} is damaged ({_first_line(exc)})") from None
    with src:
        while True:
            try:
                block = src.read(_CHUNK)
            except _READ_ERRORS as exc:
                raise BundleError(f"{where}: member {name} is damaged ({_first_line(exc)})") from None
            if not block:
                break
            count += len(block)
            if count > info.file_size:
                raise BundleError(f"{where}: member {name} is larger than its header says; refused")
            sink(block)  # a write error here (disk full) is the environment's, not the zip's
    if count != info.file_size:
        raise BundleError(f"{where}: member {name} is shorter than its header says; refused")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else type(exc).__name__
    return first[:200]
