"""What a bundle records about how its model was made: the manifest of a freshly trained model.

Why its own module: building a manifest needs the model, the training frame and package
metadata; reading one (:mod:`cryptodesk.io.manifest`) must not. The schema there checks what
is built here before it is written (:meth:`~cryptodesk.io.bundles.ModelLibrary.save`).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import platform
from typing import Any

import pandas as pd

from cryptodesk import __version__
from cryptodesk.io.manifest import BUNDLE_FORMAT, PAYLOAD_DIR
from cryptodesk.safejson import to_jsonable

_LIBRARIES = ("numpy", "pandas", "pyarrow", "lightgbm", "torch", "statsmodels", "scipy")


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
        "external_sources": to_jsonable(train.attrs.get("external_sources") or {}),
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
        **to_jsonable(model.manifest_sections()),
    }
