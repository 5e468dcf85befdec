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
- *Stay inside the bundle.* Every file name in a manifest, and every member of an imported zip,
  must be a plain relative path inside the bundle (no ``..``, no absolute paths, no links).
- *Atomic.* A bundle is assembled in a hidden temp folder and renamed into place once complete;
  the library lists only complete bundles, so a crash never leaves a half-written model listed.
- *Damage stays local.* A bundle with invalid JSON or a missing file is listed with its error;
  the others still load.
- *Upgrades.* ``bundle_format`` is versioned; :data:`MIGRATIONS` brings every earlier format up
  to the current one, and a bundle from a newer CryptoDesk is refused naming both versions.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import os
import platform
import re
import shutil
import stat
import tempfile
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd

from cryptodesk import __version__
from cryptodesk.atomic import atomic_path, write_text_atomic
from cryptodesk.errors import ModelError

MANIFEST = "manifest.json"
PAYLOAD_DIR = "model"
BUNDLE_FORMAT = 1
MAX_ZIP_BYTES = 2 * 1024**3  # refuse zip bombs: no bundle is anywhere near this
_LIBRARIES = ("numpy", "pandas", "pyarrow", "lightgbm", "torch", "statsmodels", "scipy")

# MIGRATIONS[v] turns a format-v manifest dict into a format-(v+1) one. Format 1 is the first
# released format, so the table is empty; each future format change adds one entry and a test
# that loads a bundle written in the old format.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


class BundleError(ModelError):
    """A bundle is damaged, unsafe, or from an incompatible version."""


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

    @property
    def ok(self) -> bool:
        return self.error is None


# --------------------------------------------------------------------------- manifests
def library_versions(kind: str | None = None) -> dict[str, str]:
    """Versions of the libraries a model depends on (read from package metadata: no imports)."""
    versions = {"python": platform.python_version(), "cryptodesk": __version__}
    for name in _LIBRARIES:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[name] = importlib.metadata.version(name)
    return versions


def build_manifest(
    model: Any,
    train: pd.DataFrame,
    *,
    bundle_id: str,
    label: str,
    metrics: dict[str, Any] | None = None,
    seed: int | None = None,
    evaluation: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The manifest of a freshly trained model (payload hashes are added by :meth:`save`)."""
    from cryptodesk.data.fingerprint import data_fingerprint

    config = model.config.to_dict()
    features = config.get("features") if isinstance(config, dict) else None
    return {
        "bundle_format": BUNDLE_FORMAT,
        "id": bundle_id,
        "label": label,
        "created": pd.Timestamp.now(tz="UTC").isoformat(),
        "app_version": __version__,
        "libraries": library_versions(model.name),
        "model": {"kind": model.name, "config": config,
                  "capabilities": model.capabilities.to_dict()},
        "feature_spec": features,
        "external_columns": list((features or {}).get("external", [])
                                 or (config.get("external") if isinstance(config, dict) else None)
                                 or []),
        # How those columns were made (sentiment datasets, imported series), so forecasting
        # later can rebuild them the same way (cryptodesk.sentiment.features.rebuild_external).
        "external_sources": _jsonable(train.attrs.get("external_sources") or {}),
        "target": {"kind": "log_return", "horizon": int(model.fitted_horizon)},
        "data": data_fingerprint(train),
        "training_window": {
            "start": train.index[0].isoformat(), "end": train.index[-1].isoformat(),
            "rows": len(train),
        },
        "metrics": metrics or {},
        "evaluation": evaluation or {},
        "seed": seed if seed is not None else config.get("seed") if isinstance(config, dict) else None,
        "payload": {"dir": PAYLOAD_DIR, "files": {}},
        # model-specific sections: an ensemble's member sub-bundles, a tuned model's studies
        **_jsonable(model.manifest_sections()),
    }


def migrate_manifest(manifest: dict[str, Any], where: str = "bundle") -> dict[str, Any]:
    """Bring a manifest up to :data:`BUNDLE_FORMAT`, or refuse one from a newer version."""
    version = manifest.get("bundle_format")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise BundleError(f"{where}: manifest has no valid bundle_format")
    if version > BUNDLE_FORMAT:
        raise BundleError(
            f"{where} was saved by a newer CryptoDesk (bundle format {version}, app "
            f"{manifest.get('app_version', '?')}); this CryptoDesk {__version__} reads bundle "
            f"formats up to {BUNDLE_FORMAT}. Upgrade CryptoDesk to load it."
        )
    while version < BUNDLE_FORMAT:
        manifest = MIGRATIONS[version](dict(manifest))
        version = manifest["bundle_format"]
    return manifest


# --------------------------------------------------------------------------- path safety
def safe_relative(name: str, where: str) -> PurePosixPath:
    """Check that ``name`` is a plain relative path with no way out of its folder."""
    if not isinstance(name, str) or not name or "\x00" in name:
        raise BundleError(f"{where}: invalid file name {name!r}")
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or re.match(r"^[A-Za-z]:", name) or ".." in path.parts:
        raise BundleError(f"{where}: file name {name!r} points outside the bundle; refused")
    return path


def _inside(root: Path, relative: PurePosixPath, where: str) -> Path:
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
        bundle_id = f"{model.name}-{slug}-{meta.get('timeframe', '')}-{stamp}-{uuid.uuid4().hex[:4]}"
        if label:
            label = label.strip()
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
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{bundle_id}-", dir=self.root))
        try:
            model.save(tmp / PAYLOAD_DIR)
            manifest["payload"]["files"] = self._hash_payload(tmp / PAYLOAD_DIR)
            write_text_atomic(tmp / MANIFEST, json.dumps(manifest, indent=2, allow_nan=False,
                                                         default=_json_default))
            final = self.root / bundle_id
            os.replace(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return self._info(final)

    def rename(self, ref: str, label: str) -> BundleInfo:
        """Give a bundle a new label (labels are unique in the library)."""
        info = self.resolve(ref)
        label = label.strip()
        if not label:
            raise BundleError("a label must not be empty")
        self._check_label_free(label, except_id=info.id)
        manifest = dict(info.manifest, label=label)
        write_text_atomic(info.path / MANIFEST, json.dumps(manifest, indent=2, default=_json_default))
        return self._info(info.path)

    def delete(self, ref: str) -> BundleInfo:
        """Delete a bundle (damaged ones too). The folder is renamed away first, so a crash
        mid-delete never leaves a half-deleted bundle listed."""
        info = self.resolve(ref, allow_damaged=True)
        trash = self.root / f".deleted-{info.id}-{uuid.uuid4().hex[:6]}"
        os.replace(info.path, trash)
        shutil.rmtree(trash, ignore_errors=True)
        return info

    # ---------------------------------------------------------------- reading
    def list(self) -> list[BundleInfo]:
        """Every complete bundle, newest first; damaged ones carry their error."""
        if not self.root.exists():
            return []
        infos = [
            self._info(path) for path in self.root.iterdir()
            if path.is_dir() and not path.name.startswith(".")
        ]
        return sorted(infos, key=lambda i: (i.created, i.id), reverse=True)

    def resolve(self, ref: str, allow_damaged: bool = False) -> BundleInfo:
        """Find a bundle by id, unique id prefix, or label (case-insensitive)."""
        infos = self.list()
        ref_l = ref.strip().lower()
        for rule in (
            lambda i: i.id == ref,
            lambda i: i.label.lower() == ref_l,
            lambda i: i.id.lower().startswith(ref_l),
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
            raise BundleError(f"model {info.id}: {exc}") from exc
        try:
            model = cls.load(payload)
        except BundleError:
            raise
        except ModelError as exc:
            raise BundleError(f"model {info.id}: {exc}") from exc
        except Exception as exc:
            raise BundleError(
                f"model {info.id}: its {kind} payload cannot be loaded safely "
                f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
            ) from exc
        return model, manifest

    # ---------------------------------------------------------------- zip export / import
    def export_zip(self, ref: str, out: Path) -> Path:
        """Write a bundle as one zip file (members under ``<id>/``), atomically."""
        info = self.resolve(ref)
        self._verify_payload(info.path, info.manifest)
        out = Path(out)
        with atomic_path(out) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            for file in sorted(info.path.rglob("*")):
                if file.is_file():
                    zf.write(file, f"{info.id}/{file.relative_to(info.path).as_posix()}")
        return out

    def import_zip(self, path: Path) -> BundleInfo:
        """Import a bundle zip. Refuses unsafe members, links, oversize archives, manifests
        from newer versions, and payloads that do not match their recorded hashes."""
        path = Path(path)
        where = f"zip {path.name}"
        try:
            zf = zipfile.ZipFile(path)
        except (OSError, zipfile.BadZipFile) as exc:
            raise BundleError(f"{where}: not a readable zip file ({exc})") from exc
        with zf:
            members = zf.infolist()
            if not members:
                raise BundleError(f"{where}: empty archive")
            if sum(m.file_size for m in members) > MAX_ZIP_BYTES:
                raise BundleError(f"{where}: archive unpacks to more than 2 GB; refused")
            tops = set()
            for member in members:
                rel = safe_relative(member.filename, where)
                if stat.S_ISLNK(member.external_attr >> 16):
                    raise BundleError(f"{where}: member {member.filename} is a link; refused")
                tops.add(rel.parts[0])
            if len(tops) != 1:
                raise BundleError(f"{where}: expected one bundle folder, found {sorted(tops)}")
            top = tops.pop()
            self.root.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=".import-", dir=self.root))
            try:
                for member in members:
                    rel = safe_relative(member.filename, where)
                    if member.is_dir():
                        continue
                    target = _inside(tmp, rel, where)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(member) as src, open(target, "wb") as dst:
                        shutil.copyfileobj(src, dst)
                bundle = tmp / top
                manifest = self._read_manifest(bundle)
                self._verify_payload(bundle, manifest)
                new_id = manifest["id"] if not (self.root / manifest["id"]).exists() else (
                    f"{manifest['id']}-imported-{uuid.uuid4().hex[:4]}"
                )
                label = manifest.get("label") or new_id
                taken = {i.label.lower() for i in self.list() if i.ok}
                if label.lower() in taken:
                    label = f"{label} (imported {uuid.uuid4().hex[:4]})"
                if new_id != manifest["id"] or label != manifest.get("label"):
                    manifest = dict(manifest, id=new_id, label=label)
                    write_text_atomic(bundle / MANIFEST, json.dumps(manifest, indent=2))
                final = self.root / new_id
                os.replace(bundle, final)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        return self._info(final)

    # ---------------------------------------------------------------- internals
    def _info(self, path: Path) -> BundleInfo:
        try:
            manifest = self._read_manifest(path)
            for name in manifest.get("payload", {}).get("files", {}):
                file = _inside(path / PAYLOAD_DIR, safe_relative(name, path.name), path.name)
                if not file.is_file():
                    raise BundleError(f"payload file {name} is missing")
        except BundleError as exc:
            return BundleInfo(id=path.name, path=path, error=str(exc))
        model = manifest.get("model", {})
        data = manifest.get("data", {})
        return BundleInfo(
            id=manifest.get("id", path.name), path=path, label=manifest.get("label", ""),
            kind=model.get("kind", ""), symbol=data.get("symbol") or "",
            timeframe=data.get("timeframe") or "", source=data.get("source") or "",
            created=manifest.get("created", ""), metrics=manifest.get("metrics") or {},
            manifest=manifest,
        )

    def _read_manifest(self, path: Path) -> dict[str, Any]:
        file = path / MANIFEST
        try:
            manifest = json.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BundleError(f"{path.name}: {MANIFEST} is missing") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BundleError(f"{path.name}: {MANIFEST} is not valid JSON ({exc})") from None
        if not isinstance(manifest, dict):
            raise BundleError(f"{path.name}: {MANIFEST} is not a JSON object")
        manifest = migrate_manifest(manifest, path.name)
        if not isinstance(manifest.get("model"), dict) or "kind" not in manifest["model"]:
            raise BundleError(f"{path.name}: {MANIFEST} names no model kind")
        files = manifest.get("payload", {}).get("files", {})
        if not isinstance(files, dict):
            raise BundleError(f"{path.name}: payload file list is malformed")
        for name in files:
            safe_relative(name, path.name)
        return manifest

    def _hash_payload(self, payload: Path) -> dict[str, str]:
        return {
            file.relative_to(payload).as_posix(): _sha256(file)
            for file in sorted(payload.rglob("*")) if file.is_file()
        }

    def _verify_payload(self, bundle: Path, manifest: dict[str, Any]) -> None:
        payload = bundle / PAYLOAD_DIR
        files = manifest.get("payload", {}).get("files", {})
        if not files:
            raise BundleError(f"{bundle.name}: manifest lists no payload files")
        for name, digest in files.items():
            file = _inside(payload, safe_relative(name, bundle.name), bundle.name)
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


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=_json_default))


def _json_default(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    raise TypeError(f"not JSON-able: {type(value).__name__}")
