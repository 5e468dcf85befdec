"""Model bundles and the model library: trained models saved safely, readable after upgrades.

A bundle is one folder under ``<user data>/models``::

    <id>/
      manifest.json     what the model is and how it was made (see :func:`build_manifest`)
      model/            the model's own files from Forecaster.save(): model.json plus the
                        native payload (LightGBM text model, torch state_dict loaded with
                        ``weights_only=True``, JSON for statistical models)

Safety rules, each tested:

- *Never execute a file.* Nothing is unpickled; payloads load through their library's safe
  loader. Every payload file's SHA-256 is recorded in the manifest and checked before loading,
  so a swapped or truncated weight file is refused with a clear message.
- *Stay inside the library.* The manifest is checked against one typed schema
  (:mod:`cryptodesk.io.manifest`): ids are plain folder names and every payload file name a
  plain relative path inside the bundle. The folder name *is* the id; an imported bundle gets a
  fresh id, never one taken from the zip (:mod:`cryptodesk.io.bundle_zip`), and delete only
  ever removes a folder directly inside the library.
- *Bounded reading.* Manifests and ``model.json`` go through :mod:`cryptodesk.safejson` (size,
  depth and number bounds); native payloads are validated before their library parses them
  (LightGBM text models: :mod:`cryptodesk.models.lgbm_payload`).
- *Atomic.* A bundle is assembled in a hidden temp folder and renamed into place once complete;
  the library lists only complete bundles, so a crash never leaves a half-written model listed.
- *Damage stays local.* A bundle with an invalid manifest or a missing file is listed with its
  error and can be deleted; the others still list and load.
- *Upgrades.* ``bundle_format`` is versioned; :data:`MIGRATIONS` brings every earlier format up
  to the current one, and a bundle from a newer CryptoDesk is refused naming both versions.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from cryptodesk import __version__
from cryptodesk.atomic import write_text_atomic
from cryptodesk.errors import ModelError
from cryptodesk.io.bundle_zip import extract_bundle_zip, write_bundle_zip
from cryptodesk.io.manifest import (
    BUNDLE_FORMAT,
    MANIFEST,
    MAX_MANIFEST_BYTES,
    MAX_MANIFEST_DEPTH,
    PAYLOAD_DIR,
    BundleError,
    Manifest,
    check_bundle_id,
    check_label,
    id_prefix,
    payload_path,
    shown,
    validate_manifest,
)
from cryptodesk.io.provenance import build_manifest, library_versions
from cryptodesk.safejson import JsonInputError, dumps, loads_bounded, read_json_bounded

__all__ = [
    "BUNDLE_FORMAT", "MANIFEST", "MIGRATIONS", "PAYLOAD_DIR", "BundleError", "BundleInfo",
    "ModelLibrary", "build_manifest", "library_versions", "migrate_manifest",
]

_OLDEST = datetime.min.replace(tzinfo=timezone.utc)  # damaged bundles sort last

# MIGRATIONS[v] turns a format-v manifest dict into a format-(v+1) one. Format 1 is the first
# released format, so the table is empty; each future format change adds one entry and a test
# that loads a bundle written in the old format.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


@dataclass(frozen=True)
class BundleInfo:
    """One row of the model library. ``error`` is set (and most fields empty) when the bundle
    is damaged: the library still lists it so the user can see and delete it."""

    id: str
    path: Path
    label: str = ""
    kind: str = ""
    symbol: str = ""
    timeframe: str = ""
    source: str = ""
    created: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    created_at: datetime = _OLDEST

    @property
    def ok(self) -> bool:
        return self.error is None


# --------------------------------------------------------------------------- manifests
def migrate_manifest(manifest: dict[str, Any], where: str = "bundle") -> dict[str, Any]:
    """Bring a manifest up to :data:`BUNDLE_FORMAT`, or refuse one from a newer version."""
    version = manifest.get("bundle_format")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise BundleError(f"{where}: manifest has no valid bundle_format")
    if version > BUNDLE_FORMAT:
        app = manifest.get("app_version")
        app = app if isinstance(app, str) and re.fullmatch(r"[\w.+-]{1,40}", app) else "?"
        raise BundleError(
            f"{where} was saved by a newer CryptoDesk (bundle format {version}, app "
            f"{app}); this CryptoDesk {__version__} reads bundle "
            f"formats up to {BUNDLE_FORMAT}. Upgrade CryptoDesk to load it."
        )
    while version < BUNDLE_FORMAT:
        try:
            manifest = MIGRATIONS[version](dict(manifest))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise BundleError(f"{where}: bundle format {version} manifest cannot be upgraded "
                              f"({type(exc).__name__}: {shown(str(exc))})") from None
        version = manifest["bundle_format"]
    return manifest


# --------------------------------------------------------------------------- path safety
def _inside(root: Path, relative: Path, where: str) -> Path:
    """``root / relative`` resolved, refused if a link inside the bundle leads out of it."""
    target = (root / relative).resolve()
    if root.resolve() not in target.parents:
        raise BundleError(f"{where}: {relative} resolves outside the bundle; refused")
    return target


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------------------- the library
class ModelLibrary:
    """Saved model bundles under one folder (``<user data>/models`` by default)."""

    def __init__(self, root: Path | None = None) -> None:
        if root is None:
            from cryptodesk.paths import app_paths

            root = app_paths().models
        self.root = Path(root)

    # ---------------------------------------------------------------- writing
    def save(
        self,
        model: Any,
        train: pd.DataFrame,
        *,
        label: str | None = None,
        metrics: dict[str, Any] | None = None,
        evaluation: dict[str, Any] | None = None,
        seed: int | None = None,
    ) -> BundleInfo:
        """Save a fitted model as a new bundle; returns its library entry."""
        if not model.is_fitted:
            raise BundleError(f"{model.name}: cannot save a model that was never fitted")
        meta = train.attrs
        stamp = pd.Timestamp.now(tz="UTC").strftime("%Y%m%d-%H%M%S")
        slug = re.sub(r"[^A-Za-z0-9]+", "", str(meta.get("symbol", "data")))[:16] or "data"
        tf = re.sub(r"[^A-Za-z0-9]+", "", str(meta.get("timeframe", "")))[:8]
        bundle_id = check_bundle_id(
            f"{model.name}-{slug}-{tf}-{stamp}-{uuid.uuid4().hex[:4]}", model.name)
        if label:
            label = check_label(label.strip(), "label")
            self._check_label_free(label)
        else:  # a default label, numbered until it is unique
            base = f"{model.name} {meta.get('symbol', '')} {meta.get('timeframe', '')}".strip()
            taken = {i.label.lower() for i in self.list() if i.ok}
            label, n = base, 2
            while label.lower() in taken:
                label, n = f"{base} #{n}", n + 1
        manifest = build_manifest(model, train, bundle_id=bundle_id, label=label,
                                  metrics=metrics, seed=seed, evaluation=evaluation)
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=self.root))
        try:
            model.save(tmp / PAYLOAD_DIR)
            manifest["payload"]["files"] = self._hash_payload(tmp / PAYLOAD_DIR)
            write_text_atomic(tmp / MANIFEST, self._manifest_text(manifest, bundle_id))
            final = self.root / bundle_id
            os.replace(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return self._info(final)

    def rename(self, ref: str, label: str) -> BundleInfo:
        """Give a bundle a new label (labels are unique in the library)."""
        info = self.resolve(ref)
        label = check_label(label.strip(), "label")
        if not label:
            raise BundleError("a label must not be empty")
        self._check_label_free(label, except_id=info.id)
        text = self._manifest_text(dict(info.manifest, label=label), info.id)
        write_text_atomic(info.path / MANIFEST, text)
        return self._info(info.path)

    def delete(self, ref: str) -> BundleInfo:
        """Delete a bundle (damaged ones too), found by its folder name, id prefix or label.

        Only a folder directly inside the library is ever removed: whatever a manifest says,
        the folder is the one the library listed. It is renamed away first, so a crash
        mid-delete never leaves a half-deleted bundle listed.
        """
        info = self.resolve(ref, allow_damaged=True)
        folder = self.root / info.path.name
        if info.path != folder or info.path.name.startswith(".") or not os.path.lexists(folder):
            raise BundleError(f"model {shown(info.id)} is not a folder of the library; not deleted")
        trash = self.root / f".deleted-{uuid.uuid4().hex}"
        os.replace(folder, trash)
        if trash.is_symlink():  # a link put in the library: remove the link, never its target
            trash.unlink()
        else:
            shutil.rmtree(trash, ignore_errors=True)
        return info

    # ---------------------------------------------------------------- reading
    def list(self) -> list[BundleInfo]:
        """Every complete bundle, newest first; damaged ones carry their error (and sort last)."""
        if not self.root.is_dir():
            return []
        infos = [
            self._info(path) for path in self.root.iterdir()
            if not path.name.startswith(".") and (path.is_dir() or path.is_symlink())
        ]
        return sorted(infos, key=lambda i: (i.created_at, i.id), reverse=True)

    def resolve(self, ref: str, allow_damaged: bool = False) -> BundleInfo:
        """Find a bundle by id, unique id prefix, or label (case-insensitive)."""
        infos = self.list()
        ref_l = ref.strip().lower()
        for rule in (
            lambda i: i.id == ref,
            lambda i: i.ok and i.label.lower() == ref_l,
            lambda i: bool(ref_l) and i.id.lower().startswith(ref_l),
        ):
            hits = [i for i in infos if rule(i)]
            if len(hits) == 1:
                hit = hits[0]
                if hit.error and not allow_damaged:
                    raise BundleError(f"model {hit.id} cannot be loaded: {hit.error}")
                return hit
            if len(hits) > 1:
                raise BundleError(
                    f"{ref!r} matches several models: {', '.join(h.id for h in hits)}; use the id"
                )
        names = ", ".join(f"{i.id} ({i.label})" for i in infos[:10]) or "none saved yet"
        raise BundleError(f"no saved model {ref!r}; saved models: {names}")

    def load(self, ref: str) -> tuple[Any, dict[str, Any]]:
        """Load a bundle's model (after verifying every payload file) and its manifest."""
        from cryptodesk.models.registry import model_class

        info = self.resolve(ref)
        manifest = info.manifest
        payload = info.path / PAYLOAD_DIR
        self._verify_payload(info.path, manifest)
        kind = manifest["model"]["kind"]
        try:
            cls = model_class(kind)
        except ModelError as exc:
            raise BundleError(f"model {info.id}: {_one_line(exc)}") from exc
        try:
            model = cls.load(payload)
        except BundleError:
            raise
        except ModelError as exc:
            raise BundleError(f"model {info.id}: {_one_line(exc)}") from exc
        except Exception as exc:
            raise BundleError(
                f"model {info.id}: its {kind} payload cannot be loaded safely "
                f"({type(exc).__name__}: {_one_line(exc)})"
            ) from exc
        return model, manifest

    # ---------------------------------------------------------------- zip export / import
    def export_zip(self, ref: str, out: Path) -> Path:
        """Write a bundle (manifest and listed payload files) as one zip file, atomically."""
        info = self.resolve(ref)
        self._verify_payload(info.path, info.manifest)
        return write_bundle_zip(info.path, self._parse(info.manifest, info.id), Path(out))

    def import_zip(self, path: Path) -> BundleInfo:
        """Import a bundle zip under a fresh id (never one taken from the zip).

        Refuses unsafe or oversize archives, damaged members, manifests that fail the schema or
        come from a newer version, and payloads that do not match their recorded hashes;
        nothing is written outside the library's own temp folder until the bundle is complete.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".import-", dir=self.root))
        try:
            manifest = extract_bundle_zip(Path(path), tmp, self._parse_bytes)
            new_id = self._fresh_id(manifest.id)
            label = manifest.label or new_id
            taken = {i.label.lower() for i in self.list() if i.ok}
            if label.lower() in taken:
                label = f"{label[:150]} (imported {uuid.uuid4().hex[:4]})"
            text = self._manifest_text(dict(manifest.doc, id=new_id, label=label), new_id)
            write_text_atomic(tmp / MANIFEST, text)
            final = self.root / new_id
            os.replace(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return self._info(final)

    # ---------------------------------------------------------------- internals
    def _info(self, path: Path) -> BundleInfo:
        try:
            manifest = self._read_manifest(path)
            for name in manifest.files:
                file = _inside(path / PAYLOAD_DIR, payload_path(name, path.name), path.name)
                if not file.is_file():
                    raise BundleError(f"payload file {name} is missing")
        except BundleError as exc:
            return BundleInfo(id=path.name, path=path, error=str(exc))
        return BundleInfo(
            id=manifest.id, path=path, label=manifest.label, kind=manifest.kind,
            symbol=manifest.symbol, timeframe=manifest.timeframe, source=manifest.source,
            created=manifest.created, metrics=manifest.metrics, manifest=manifest.doc,
            created_at=manifest.created_at,
        )

    def _read_manifest(self, path: Path) -> Manifest:
        """The bundle folder's manifest, validated; its id must be the folder's name."""
        where = shown(path.name) if not re.fullmatch(r"[\w.-]{1,200}", path.name) else path.name
        if path.is_symlink():
            raise BundleError(f"{where}: the bundle folder is a link; refused")
        try:
            doc = read_json_bounded(path / MANIFEST, MAX_MANIFEST_BYTES, MAX_MANIFEST_DEPTH)
        except FileNotFoundError:
            raise BundleError(f"{where}: {MANIFEST} is missing") from None
        except JsonInputError as exc:
            raise BundleError(f"{where}: {MANIFEST} {exc}") from None
        except OSError as exc:
            raise BundleError(f"{where}: {MANIFEST} cannot be read ({exc.strerror})") from None
        manifest = self._parse(doc, where)
        if manifest.id != path.name:
            raise BundleError(f"{where}: {MANIFEST} names the id {shown(manifest.id)}, "
                              "not its folder's name")
        return manifest

    def _parse(self, doc: Any, where: str) -> Manifest:
        if isinstance(doc, dict):
            doc = migrate_manifest(doc, where)
        return validate_manifest(doc, where)

    def _parse_bytes(self, raw: bytes, where: str) -> Manifest:
        try:
            doc = loads_bounded(raw, MAX_MANIFEST_BYTES, MAX_MANIFEST_DEPTH)
        except JsonInputError as exc:
            raise BundleError(f"{where}: {MANIFEST} {exc}") from None
        return self._parse(doc, where)

    def _manifest_text(self, doc: dict[str, Any], bundle_id: str) -> str:
        """The JSON text to write, checked by the same reader and schema that will read it."""
        text = dumps(doc)
        self._parse_bytes(text.encode("utf-8"), bundle_id)
        return text

    def _fresh_id(self, original: str) -> str:
        """A new id for an imported bundle: the original's safe prefix plus a random suffix."""
        prefix = re.sub(r"-imp[0-9a-f]{8}$", "", id_prefix(original))
        while True:
            new_id = check_bundle_id(f"{prefix}-imp{uuid.uuid4().hex[:8]}", "import")
            if not os.path.lexists(self.root / new_id):
                return new_id

    def _hash_payload(self, payload: Path) -> dict[str, str]:
        return {
            file.relative_to(payload).as_posix(): _sha256(file)
            for file in sorted(payload.rglob("*")) if file.is_file()
        }

    def _verify_payload(self, bundle: Path, manifest: dict[str, Any]) -> None:
        payload = bundle / PAYLOAD_DIR
        files = self._parse(manifest, bundle.name).files
        for name, digest in files.items():
            file = _inside(payload, payload_path(name, bundle.name), bundle.name)
            if not file.is_file():
                raise BundleError(f"{bundle.name}: payload file {name} is missing")
            if _sha256(file) != digest:
                raise BundleError(
                    f"{bundle.name}: payload file {name} does not match its recorded checksum "
                    "(truncated, damaged or replaced); refusing to load it"
                )

    def _check_label_free(self, label: str, except_id: str | None = None) -> None:
        for info in self.list():
            if info.ok and info.id != except_id and info.label.lower() == label.lower():
                raise BundleError(f"a saved model is already labelled {label!r}; pick another label")


def _one_line(exc: BaseException, limit: int = 300) -> str:
    """An exception's message as one bounded line (torch and LightGBM write paragraphs)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    return text if len(text) <= limit else text[:limit] + "…"
