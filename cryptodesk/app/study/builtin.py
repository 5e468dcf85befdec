"""Built-in studies: specs that ship with CryptoDesk (``resources/studies/*.toml``).

``seed-claims`` checks claims 1 and 3 of the seed studies on BTC, ETH and XRP daily, and
``combinations`` claim 2 (fitted ensembles; hours of CPU, so a study of its own). Their
series are resolved against the store when it runs: the stored ones are used; when none of
them is stored, the study runs on the synthetic demo series instead (labelled SYNTHETIC), so
the command works on a fresh install and says what to import for the real thing.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from cryptodesk.app.study.spec import SeriesSpec, StudySpec, StudySpecError
from cryptodesk.errors import StoreError

NOT_CHECKED = {
    "seed-claims": (
        "claim 2 (tuned combinations of RNNs, transformers and statistical methods improve "
        "accuracy by 15-20 %) is checked by its own built-in study, which takes hours: "
        "cryptodesk study run --builtin combinations",
    ),
}


def builtin_names() -> list[str]:
    """The names of the built-in studies."""
    from cryptodesk.resources import resource_path

    return sorted(p.stem for p in resource_path("studies").glob("*.toml"))


def builtin_text(name: str) -> str:
    """The TOML text of built-in study ``name``."""
    from cryptodesk.resources import resource_path

    if name not in builtin_names():
        raise StudySpecError(f"no built-in study {name!r}; built in: {', '.join(builtin_names())}")
    return resource_path("studies", f"{name}.toml").read_text(encoding="utf-8")


def builtin_spec(name: str, store: Any = None) -> tuple[StudySpec, str, list[str]]:
    """The spec of built-in study ``name`` with its series resolved against the store, its
    text, and notes for the user (what is synthetic, missing or not checked)."""
    text = builtin_text(name)
    spec = StudySpec.from_toml(text, where=f"built-in study {name}")
    notes = list(NOT_CHECKED.get(name, ()))
    if store is None:
        from cryptodesk.data.store import CandleStore

        store = CandleStore()
    present, missing = [], []
    for series in spec.series:
        try:
            store.find(str(series.symbol), series.timeframe, series.source)
            present.append(series)
        except StoreError:
            missing.append(series.label)
    if not present:
        from cryptodesk.data.demo import DEMO_SOURCE, DEMO_SYMBOL, ensure_demo

        ensure_demo(store)
        present = [SeriesSpec(symbol=DEMO_SYMBOL, timeframe="1d", source=DEMO_SOURCE)]
        notes.append(f"{', '.join(missing)} are not in the store: running on the SYNTHETIC demo "
                     "series instead (import the real ones with 'cryptodesk data import "
                     "FILE.csv')")
    elif missing:
        notes.append(f"not in the store, left out: {', '.join(missing)}")
    return replace(spec, series=tuple(present)), text, notes
