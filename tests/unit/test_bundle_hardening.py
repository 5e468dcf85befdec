"""Hardening of model bundles against crafted or damaged manifests and zips (issue 13).

Every reproducer from the fuzzing session is here: a zip whose manifest id is a path, damaged
zip members, manifests that used to crash ``models list``, deleting a bundle whose id is
garbage. Each asserts the one-line error (or the described handling), that nothing outside the
library was created and that the library's other bundles did not change. The property-based
tests then throw random manifests and zips at the library with the same three assertions.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import stat
import struct
import warnings
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cryptodesk.cli import main
from cryptodesk.data.demo import generate_demo
from cryptodesk.io import bundle_zip
from cryptodesk.io.bundles import BundleError, ModelLibrary
from cryptodesk.models.registry import create
from tests.support.bundle_tools import assert_one_line_error, rehash_payload, run_cli, snapshot

GOLDEN = Path(__file__).parent / "golden" / "bundles_v1"
FUZZ = settings(max_examples=100, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def candles() -> pd.DataFrame:
    return generate_demo("1d", bars=400)


class Lab:
    """A library at ``base/home/data/models`` (the one ``CRYPTODESK_HOME=base/home`` opens, and
    deep enough that ``../../..`` from a bundle lands in ``base``, where it is seen), with two
    good bundles, and the checks every test makes."""

    def __init__(self, base: Path, candles: pd.DataFrame) -> None:
        self.base = base
        self.home = base / "home"
        self.lib = ModelLibrary(self.home / "data" / "models")
        self.good = [
            self.lib.save(create("naive").fit(candles, None, 1), candles, label="good naive"),
            self.lib.save(create("drift").fit(candles, None, 1), candles, label="good drift"),
        ]
        self.scratch = base / "scratch"  # zips the tests build and export
        self.scratch.mkdir()
        self.archive = self.lib.export_zip(self.good[0].id, self.scratch / "good.zip")
        self.library_before = snapshot(self.root)
        self.outside_before = self.outside()

    @property
    def root(self) -> Path:
        return self.lib.root

    def outside(self) -> dict[str, str]:
        """Everything under ``base`` but the library, the scratch folder and the CLI's log."""
        return {k: v for k, v in snapshot(self.base, skip=self.root).items()
                if not k.startswith(("scratch", "home/log"))}

    def assert_untouched(self) -> None:
        """Nothing outside the library changed, the library is as before, no temp leftovers."""
        assert self.outside() == self.outside_before
        assert snapshot(self.root) == self.library_before
        assert not [p.name for p in self.root.iterdir() if p.name.startswith(".")]


@pytest.fixture()
def lab(tmp_path: Path, candles: pd.DataFrame) -> Lab:
    return Lab(tmp_path, candles)


def _one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text and 0 < len(text) < 600, text
    return text


# --------------------------------------------------------------------------- zip building
def _members(archive: Path) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(archive) as zf:
        return [(i.filename, zf.read(i)) for i in zf.infolist()]


def _write_zip(path: Path, members: list[tuple[Any, bytes]],
               compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns on duplicate names: we want them
        with zipfile.ZipFile(path, "w", compression) as zf:
            for name, data in members:
                zf.writestr(name, data)
    return path


def _with_manifest(members: list[tuple[str, bytes]], **changes: Any) -> list[tuple[str, bytes]]:
    out = []
    for name, data in members:
        if name.endswith("/manifest.json"):
            doc = json.loads(data)
            doc.update(changes)
            data = json.dumps(doc).encode()
        out.append((name, data))
    return out


def _patch_central(raw: bytes, name: str, *, size: int | None = None, crc: int | None = None,
                   flags: int | None = None) -> bytes:
    """Overwrite fields of ``name``'s central-directory entry (what zipfile trusts)."""
    data = bytearray(raw)
    pos = data.find(b"PK\x01\x02")
    while pos >= 0:
        length = struct.unpack_from("<H", data, pos + 28)[0]
        if data[pos + 46:pos + 46 + length].decode() == name:
            if flags is not None:
                struct.pack_into("<H", data, pos + 8, flags)
            if crc is not None:
                struct.pack_into("<I", data, pos + 16, crc)
            if size is not None:
                struct.pack_into("<I", data, pos + 24, size)
            return bytes(data)
        pos = data.find(b"PK\x01\x02", pos + 4)
    raise AssertionError(f"{name} not in the central directory")


# --------------------------------------------------------------------------- reproducer 1
@pytest.mark.parametrize("bad_id", [
    "../../../ESCAPED", "../../ESCAPED", "..", ".", "a/b", "a\\b", "", ".hidden", "-dash",
    "x" * 200, "évil", "a\nb", 5, None, ["x"], {"a": 1}, True,
])
def test_import_refuses_a_path_or_garbage_id_and_writes_nothing(lab: Lab, bad_id: Any) -> None:
    top = lab.good[0].id
    members = _with_manifest(_members(lab.archive), id=bad_id)
    members.append((f"{top}/extra/autostart.desktop", b"[Desktop Entry]\nExec=evil"))
    evil = _write_zip(lab.scratch / "evil.zip", members)
    with pytest.raises(BundleError, match="id") as caught:
        lab.lib.import_zip(evil)
    assert "not a valid bundle id" in _one_line(caught.value)
    lab.assert_untouched()


def test_import_refuses_an_absolute_id(lab: Lab) -> None:
    target = lab.base / "ABSOLUTE"
    evil = _write_zip(lab.scratch / "abs.zip", _with_manifest(_members(lab.archive), id=str(target)))
    with pytest.raises(BundleError, match="not a valid bundle id"):
        lab.lib.import_zip(evil)
    assert not target.exists()
    lab.assert_untouched()


def test_cli_import_of_an_escaping_id_is_one_line(tmp_path: Path, cryptodesk_home: Path,
                                                   candles: pd.DataFrame) -> None:
    library = ModelLibrary()
    info = library.save(create("naive").fit(candles, None, 1), candles, label="a")
    archive = library.export_zip(info.id, tmp_path / "m.zip")
    evil = _write_zip(tmp_path / "evil.zip",
                      _with_manifest(_members(archive), id="../../../ESCAPED"))
    before = snapshot(cryptodesk_home, skip=cryptodesk_home / "log")
    proc = run_cli("models", "import", str(evil))
    assert_one_line_error(proc, "'../../../ESCAPED' is not a valid bundle id")
    assert snapshot(cryptodesk_home, skip=cryptodesk_home / "log") == before
    for up in (cryptodesk_home, *cryptodesk_home.parents[:3]):
        assert not (up / "ESCAPED").exists()


def test_import_gives_a_fresh_id_and_copies_only_listed_files(lab: Lab) -> None:
    top = lab.good[0].id
    members = _members(lab.archive) + [(f"{top}/model/unlisted-{i}.bin", b"x" * 100) for i in range(50)]
    members.append((f"{top}/extra/autostart.desktop", b"x"))
    imported = lab.lib.import_zip(_write_zip(lab.scratch / "extra.zip", members))
    assert imported.ok and imported.id != top and imported.id.startswith(f"{top}-imp")
    assert imported.path == lab.root / imported.id and imported.manifest["id"] == imported.id
    files = sorted(p.relative_to(imported.path).as_posix() for p in imported.path.rglob("*")
                   if p.is_file())
    assert files == ["manifest.json", *(f"model/{n}" for n in sorted(imported.manifest["payload"]["files"]))]
    assert imported.label.startswith("good naive (imported ")  # the label is taken: renamed
    model, _ = lab.lib.load(imported.id)
    assert model.name == "naive"


def test_export_writes_only_the_manifest_and_listed_files(lab: Lab) -> None:
    (lab.good[0].path / "stray.txt").write_text("not part of the bundle")
    (lab.good[0].path / "model" / "stray.bin").write_bytes(b"\0")
    out = lab.lib.export_zip(lab.good[0].id, lab.scratch / "again.zip")
    names = sorted(n for n, _ in _members(out))
    top = lab.good[0].id
    assert names == sorted([f"{top}/manifest.json",
                            *(f"{top}/model/{n}" for n in lab.good[0].manifest["payload"]["files"])])


# --------------------------------------------------------------------------- reproducer 3: import
def _stored(lab: Lab) -> tuple[bytes, str]:
    """The good bundle re-zipped without compression (so bytes can be edited in place)."""
    path = _write_zip(lab.scratch / "stored.zip", _members(lab.archive), zipfile.ZIP_STORED)
    return path.read_bytes(), f"{lab.good[0].id}/model/model.json"


def _bad_crc(lab: Lab) -> bytes:
    raw, _ = _stored(lab)
    at = raw.index(b'"name"')  # inside model.json's stored data
    return raw[:at] + b"X" + raw[at + 1:]


def _lying_size(smaller: bool):
    def make(lab: Lab) -> bytes:
        raw, name = _stored(lab)
        with zipfile.ZipFile(lab.scratch / "stored.zip") as zf:
            size = zf.getinfo(name).file_size
        return _patch_central(raw, name, size=size - 7 if smaller else size + 7)
    return make


def _encrypted(lab: Lab) -> bytes:
    raw, name = _stored(lab)
    return _patch_central(raw, name, flags=0x1)


def _symlink(lab: Lab) -> bytes:
    info = zipfile.ZipInfo(f"{lab.good[0].id}/model/link")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    path = lab.scratch / "link.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in _members(lab.archive):
            zf.writestr(name, data)
        zf.writestr(info, "/etc/passwd")
    return path.read_bytes()


def _zip_of(members_fn):
    def make(lab: Lab) -> bytes:
        return _write_zip(lab.scratch / "made.zip", members_fn(lab)).read_bytes()
    return make


def _bomb(lab: Lab) -> list[tuple[str, bytes]]:
    top = lab.good[0].id
    return [*_members(lab.archive), (f"{top}/model/zeros.bin", b"\0" * (8 * 1024**2))]


def _declared_huge(lab: Lab) -> bytes:
    raw, name = _stored(lab)
    return _patch_central(raw, name, size=600 * 1024**2)


def _big_manifest(lab: Lab) -> list[tuple[str, bytes]]:
    noise = random.Random(0).randbytes(1_200_000).hex()  # 2.4 MB that does not deflate away
    return _with_manifest(_members(lab.archive), padding=noise)


@pytest.mark.parametrize(("make", "message"), [
    (_bad_crc, "damaged.*(CRC|Error)"),
    (_lying_size(smaller=True), "damaged|larger than its header"),
    (_lying_size(smaller=False), "damaged|shorter than its header"),
    (_encrypted, "encrypted"),
    (_symlink, "is a link"),
    (_declared_huge, "more than 256 MiB|512 MiB"),
    (_zip_of(_bomb), "expands more than 100x"),
    (_zip_of(_big_manifest), "larger than 2,097,152 bytes"),
    (_zip_of(lambda lab: _with_manifest(_members(lab.archive), id=12345)), "not a valid bundle id"),
    (_zip_of(lambda lab: [*_members(lab.archive), *_members(lab.archive)]), "appears twice"),
    (_zip_of(lambda lab: [(f"b/f{i}", b"") for i in range(bundle_zip.MAX_MEMBERS + 1)]),
     "members"),
    (_zip_of(lambda lab: [(n, d) for n, d in _members(lab.archive) if "manifest" not in n]),
     "no .*manifest.json"),
    (_zip_of(lambda lab: [(n, d) for n, d in _members(lab.archive) if "manifest" in n]),
     "listed in the manifest is missing"),
    (_zip_of(lambda lab: [*_members(lab.archive), ("other/x", b"")]), "one bundle folder"),
    (_zip_of(lambda lab: [(n, d.replace(b'"naive"', b'"drift"')) for n, d in _members(lab.archive)]),
     "checksum"),
    (_zip_of(lambda lab: [(n, b"{" * 5000 if "manifest" in n else d)
                          for n, d in _members(lab.archive)]), "nested"),
    (lambda lab: lab.archive.read_bytes()[:-30], "not a readable zip"),
    (lambda lab: b"", "not a readable zip"),
    (lambda lab: b"PK\x05\x06" + b"\0" * 18, "empty archive"),
])
def test_damaged_or_unsafe_zips_are_one_line_errors(lab: Lab, make, message: str) -> None:
    bad = lab.scratch / "bad.zip"
    bad.write_bytes(make(lab))
    with pytest.raises(BundleError, match=message) as caught:
        lab.lib.import_zip(bad)
    _one_line(caught.value)
    lab.assert_untouched()


def test_cli_import_of_a_bad_crc_is_one_line(lab: Lab, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRYPTODESK_HOME", str(lab.home))
    bad = lab.scratch / "crc.zip"
    bad.write_bytes(_bad_crc(lab))
    assert main(["models", "import", str(bad)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("cryptodesk: error: zip 'crc.zip'")
    assert "CRC" in err or "damaged" in err


# --------------------------------------------------------------------------- reproducer 3: list
_BAD_MANIFESTS = {
    "huge-number": ('"metrics": {}', '"metrics": {"rmse": ' + "7" * 5000 + "}", "5,000 characters"),
    "deep-nesting": ('"metrics": {}', '"metrics": {}, "later": ' + "[" * 100_000 + "]" * 100_000,
                     "nested 100,00"),
    "payload-text": (None, {"payload": "x"}, "payload"),
    "numeric-created": (None, {"created": 1234}, "created"),
    "numeric-label": (None, {"label": 42}, "label"),
    "list-metrics": (None, {"metrics": [1, 2]}, "metrics"),
    "id-is-a-path": (None, {"id": "../../../x"}, "not a valid bundle id"),
    "other-folder-id": (None, {"id": "somebody-else"}, "not its folder's name"),
    "missing-payload": (None, {"payload": {"dir": "model", "files": {"gone.bin": "0" * 64}}},
                        "gone.bin is missing"),
    "bad-sha": (None, {"payload": {"dir": "model", "files": {"model.json": "xyz"}}}, "sha256"),
}


def _damage(info: Any, how: tuple[Any, Any, str]) -> None:
    path = info.path / "manifest.json"
    old, new, _ = how
    if old is None:
        doc = json.loads(path.read_text())
        doc.update(new)
        path.write_text(json.dumps(doc))
    else:
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new, 1))


def test_list_shows_each_damaged_bundle_with_its_reason(
    tmp_path: Path, candles: pd.DataFrame, cryptodesk_home: Path
) -> None:
    library = ModelLibrary()
    good = library.save(create("drift").fit(candles, None, 1), candles, label="still fine")
    damaged = {}
    for name, how in _BAD_MANIFESTS.items():
        info = library.save(create("naive").fit(candles, None, 1), candles, label=name)
        _damage(info, how)
        damaged[info.id] = how[2]
    infos = library.list()  # never a TypeError from sorting mixed types
    assert len(infos) == len(_BAD_MANIFESTS) + 1 and infos[0].id == good.id  # damaged sort last
    by_id = {i.id: i for i in infos}
    for bundle_id, reason in damaged.items():
        assert by_id[bundle_id].error and reason in by_id[bundle_id].error, (reason, by_id[bundle_id])
        _one_line(BundleError(by_id[bundle_id].error))
        with pytest.raises(BundleError, match="cannot be loaded"):
            library.load(bundle_id)
    assert library.load("still fine")[0].predict(candles, 1).point.size == 1
    before = snapshot(library.root)
    proc = run_cli("models", "list")
    assert proc.returncode == 0 and not proc.stderr, proc.stderr
    assert snapshot(library.root) == before
    lines = proc.stdout.splitlines()
    assert any("still fine" in line for line in lines)
    assert sum("DAMAGED: " in line for line in lines) == len(_BAD_MANIFESTS)
    assert main(["models", "list", "--json"]) == 0


# --------------------------------------------------------------------------- reproducer 3: delete
def test_delete_works_by_folder_name_whatever_the_manifest_says(
    lab: Lab, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    victim = lab.base / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("precious")
    target = lab.good[1]
    _damage(target, (None, {"id": "../../../victim"}, ""))
    [listed] = [i for i in lab.lib.list() if i.error]
    assert listed.id == target.path.name  # listed under its folder name
    monkeypatch.setenv("CRYPTODESK_HOME", str(lab.home))
    assert main(["models", "delete", target.path.name, "--yes"]) == 0
    assert f"Deleted {target.path.name}" in capsys.readouterr().out
    assert not target.path.exists() and (victim / "keep.txt").read_text() == "precious"
    assert [i.id for i in lab.lib.list()] == [lab.good[0].id]
    for ref in ("..", "../victim", str(victim), ".", ""):
        with pytest.raises(BundleError, match="no saved model"):
            lab.lib.delete(ref)
    assert (victim / "keep.txt").exists()


def test_delete_of_a_linked_bundle_removes_only_the_link(lab: Lab) -> None:
    outside = lab.base / "elsewhere"
    shutil.copytree(lab.good[0].path, outside)
    link = lab.root / "linked"
    link.symlink_to(outside, target_is_directory=True)
    [info] = [i for i in lab.lib.list() if i.id == "linked"]
    assert info.error and "link" in info.error
    lab.lib.delete("linked")
    assert not link.exists() and not link.is_symlink() and (outside / "manifest.json").exists()


# --------------------------------------------------------------------------- torch payloads
def test_a_damaged_torch_payload_is_one_clear_line(tmp_path: Path, candles: pd.DataFrame) -> None:
    """A truncated or foreign ``net.pt`` whose checksum was fixed up (as a shared zip's would
    be): one line, and never torch's advice to reload with ``weights_only=False``."""
    library = ModelLibrary(tmp_path / "models")
    model = create("lstm", {"max_epochs": 1, "lookback": 8, "hidden": [4]})
    info = library.save(model.fit(candles.iloc[-100:], None, 1), candles.iloc[-100:], label="net")
    weights = info.path / "model" / "net.pt"
    original = weights.read_bytes()
    for damaged in (original[: len(original) // 2], b"", b"not a torch file" * 40,
                    original[:64] + b"\0" * 200):
        weights.write_bytes(damaged)
        rehash_payload(info.path, "net.pt")
        with pytest.raises(BundleError, match=r"net\.pt is not a valid weights file") as caught:
            library.load(info.id)
        assert "weights_only" not in _one_line(caught.value)


# --------------------------------------------------------------------------- compatibility
def test_bundles_saved_by_the_previous_code_still_load(tmp_path: Path, candles: pd.DataFrame) -> None:
    root = tmp_path / "models"
    shutil.copytree(GOLDEN, root, ignore=shutil.ignore_patterns("expected.json"))
    expected = json.loads((GOLDEN / "expected.json").read_text())
    library = ModelLibrary(root)
    infos = library.list()
    assert sorted(i.id for i in infos) == sorted(expected) and all(i.ok for i in infos)
    for bundle_id, points in expected.items():
        model, manifest = library.load(bundle_id)
        assert model.predict(candles, len(points)).point.tolist() == points
        assert manifest["id"] == bundle_id
    out = library.export_zip(sorted(expected)[0], tmp_path / "old.zip")
    assert ModelLibrary(tmp_path / "again").import_zip(out).ok


def test_save_refuses_a_label_that_would_break_one_line_output(lab: Lab, candles: pd.DataFrame) -> None:
    for label in ("two\nlines", "x" * 300, "bell\x07"):
        with pytest.raises(BundleError, match="label"):
            lab.lib.save(create("naive").fit(candles, None, 1), candles, label=label)
    with pytest.raises(BundleError, match="label"):
        lab.lib.rename(lab.good[0].id, "a\rb")
    lab.assert_untouched()


# --------------------------------------------------------------------------- property-based
_scalars = (st.none() | st.booleans() | st.integers() | st.integers(min_value=10**60)
            | st.floats(allow_nan=False, allow_infinity=False)
            | st.text(max_size=30) | st.sampled_from(["../../x", "/etc", "..", "a\\b", "\n", "0" * 64]))
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4)
                       | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=12)
_PATHS = [("id",), ("label",), ("created",), ("bundle_format",), ("app_version",), ("libraries",),
          ("model",), ("model", "kind"), ("model", "config"), ("model", "capabilities"),
          ("feature_spec",), ("external_columns",), ("external_sources",), ("target",),
          ("target", "horizon"), ("data",), ("data", "symbol"), ("data", "rows"),
          ("data", "synthetic"), ("training_window",), ("training_window", "rows"), ("metrics",),
          ("metrics", "rmse"), ("metrics", "monitoring"), ("metrics", "monitoring", "status"),
          ("metrics", "monitoring", "reasons"), ("evaluation",), ("seed",), ("payload",),
          ("payload", "dir"), ("payload", "files"), ("payload", "files", "model.json"),
          ("payload", "files", "../../escape"), ("a_new_section",), ("lineage", "parent")]
_raw_edits = st.sampled_from([
    lambda t: t[: len(t) // 2],
    lambda t: t.replace('"metrics": {}', '"metrics": {"x": ' + "9" * 5000 + "}"),
    lambda t: t.replace('"seed"', '"deep": ' + "[" * 50_000 + "]" * 50_000 + ', "seed"'),
    lambda t: t.replace('"label"', '"label": 1, "label"'),
    lambda t: t.replace("{", "[", 1),
    lambda t: t + "garbage",
    lambda t: "\ufeff" + t,
    lambda t: t.replace('"bundle_format": 1', '"bundle_format": 99'),
    lambda t: t.replace('"bundle_format": 1', '"bundle_format": 1e999'),
])


def _set_path(doc: dict, path: tuple[str, ...], value: Any) -> dict:
    node = doc
    for key in path[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    node[path[-1]] = value
    return doc


@FUZZ
@given(edits=st.lists(st.tuples(st.sampled_from(_PATHS), _values), min_size=1, max_size=3),
       raw=st.none() | _raw_edits)
def test_fuzz_manifests_only_ever_give_bundle_errors(lab: Lab, edits: list, raw: Any) -> None:
    victim = lab.root / "victim-bundle"
    shutil.copytree(lab.good[0].path, victim)
    doc = json.loads((victim / "manifest.json").read_text())
    doc["id"] = victim.name
    for path, value in edits:
        _set_path(doc, path, value)
    text = json.dumps(doc, indent=1)
    if raw is not None:
        text = raw(text)
    (victim / "manifest.json").write_text(text, encoding="utf-8")
    infos = {i.id: i for i in lab.lib.list()}
    info = infos[victim.name]
    assert info.error is None or _one_line(BundleError(info.error))
    event("listed as damaged" if info.error else "listed as valid")
    try:
        lab.lib.load(victim.name)
        lab.lib.export_zip(victim.name, lab.scratch / "fuzz.zip")
        lab.lib.rename(victim.name, "fuzzed")
    except BundleError as exc:
        _one_line(exc)
    assert all(infos[g.id].ok for g in lab.good)
    lab.lib.delete(victim.name)  # any bundle can be deleted, damaged or not
    lab.assert_untouched()


_bad_names = st.one_of(
    st.sampled_from(["../x", "../../../ESCAPED/x", "/abs/x", "C:/x", "top\\..\\x", "a//b", "./a",
                     "a/./b", "", "a/", "a/../../x", "\x00x", "x\n", "~/.config/autostart/x",
                     "TOP/model/model.json", "TOP/manifest.json", "TOP/../TOP/x", "TOP\\model\\x"]),
    st.text(min_size=1, max_size=20),
)
_plain_names = st.builds(lambda tail: f"TOP/{tail}", st.from_regex(r"[a-z]{1,8}(/[a-z][a-z.]{0,7}){0,2}",
                                                                   fullmatch=True))
_CATEGORIES = ("expands", "unpacks", "outside", "invalid member name", "appears twice", "is a link", "one bundle folder",
               "not a readable zip", "header says", "damaged", "checksum", "missing", "manifest")


def _category(message: str) -> str:
    return next((c for c in _CATEGORIES if c in message), "other")


@settings(FUZZ, max_examples=150)
@given(extra=st.lists(st.tuples(_plain_names, st.binary(max_size=64)), max_size=3,
                      unique_by=lambda member: member[0]),
       bad=st.lists(st.tuples(_bad_names, st.binary(max_size=16)), max_size=2),
       corrupt=st.just([]) | st.lists(st.tuples(st.floats(0, 1, exclude_max=True),
                                                st.integers(0, 255)), min_size=1, max_size=3),
       lie=st.none() | st.none() | st.integers(0, 2**32 - 1),
       stored=st.booleans(), drop=st.sampled_from([False] * 4 + [True]),
       link=st.sampled_from([False] * 4 + [True]))
def test_fuzz_zips_only_ever_give_bundle_errors(lab: Lab, extra: list, bad: list, corrupt: list,
                                                lie: Any, stored: bool, drop: bool, link: bool) -> None:
    top = lab.good[0].id
    members = _members(lab.archive)
    if drop:
        members = members[1:]
    members += [(name.replace("TOP", top), data) for name, data in extra + bad]
    path = lab.scratch / "fuzz.zip"
    try:
        _write_zip(path, members, zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED)
        if link:
            with zipfile.ZipFile(path, "a") as zf:
                info = zipfile.ZipInfo(f"{top}/model/model.json.lnk")
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                zf.writestr(info, "../../../../etc/passwd")
    except (ValueError, OSError, IndexError):
        event("zipfile cannot write the name")
        return  # zipfile itself cannot write such a name (e.g. one starting with NUL)
    raw = path.read_bytes()
    if lie is not None and members:  # a member that lies about its unpacked size
        with zipfile.ZipFile(path) as zf:
            raw = _patch_central(raw, zf.infolist()[-1].filename, size=lie)
    raw = bytearray(raw)
    for where, byte in corrupt:
        raw[int(where * len(raw))] = byte
    path.write_bytes(bytes(raw))
    try:
        info = lab.lib.import_zip(path)
    except BundleError as exc:
        event(f"refused: {_category(str(exc))}")
        _one_line(exc)
        lab.assert_untouched()
        return
    event("imported")
    # accepted: a fresh, complete bundle directly in the library holding only listed files
    assert info.ok and info.path.parent == lab.root and info.path.name == info.id
    files = {p.relative_to(info.path).as_posix() for p in info.path.rglob("*") if p.is_file()}
    assert files == {"manifest.json", *(f"model/{n}" for n in info.manifest["payload"]["files"])}
    digest = {n: hashlib.sha256((info.path / "model" / n).read_bytes()).hexdigest()
              for n in info.manifest["payload"]["files"]}
    assert digest == info.manifest["payload"]["files"]
    lab.lib.load(info.id)
    lab.lib.delete(info.id)
    lab.assert_untouched()
