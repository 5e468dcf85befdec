"""LightGBM text payloads are validated before LightGBM parses them: a damaged file is a
one-line error, never an abort of the whole process (LightGBM's own loader aborts with
"terminate called without an active exception" on a truncated model).

The fuzz loops run in a subprocess: a validator bug would abort the process running it, and
the test must see that as a failure, not die with it."""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from cryptodesk.cli import main
from cryptodesk.data.demo import generate_demo
from cryptodesk.errors import ModelError
from cryptodesk.io.bundles import ModelLibrary
from cryptodesk.models.lgbm import LightGBMForecaster
from cryptodesk.models.lgbm_payload import check_booster_keys, validate_lgbm_text
from tests.support.bundle_tools import assert_one_line_error, rehash_payload, run_cli, snapshot

BOOSTER = "lgb_point_h1.txt"


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, int]:
    """A real fitted LightGBM model saved by ``Forecaster.save`` (one booster: horizon 1, no
    quantile heads), the candles parquet to predict from, and its feature count."""
    candles = generate_demo("1d", bars=400)
    config = dataclasses.replace(LightGBMForecaster.fast_config(), quantiles=False)
    model = LightGBMForecaster(config).fit(candles, None, 1)
    root = tmp_path_factory.mktemp("lgbm")
    model.save(root / "model")
    candles.to_parquet(root / "history.parquet")
    return root / "model", root / "history.parquet", len(config.features.columns("1d"))


@pytest.fixture()
def text(saved: tuple[Path, Path, int]) -> str:
    return (saved[0] / BOOSTER).read_text()


def test_a_saved_booster_passes_and_loads(saved: tuple[Path, Path, int], text: str) -> None:
    shape = validate_lgbm_text(text, n_features=saved[2])
    assert shape.trees == LightGBMForecaster.fast_config().n_estimators
    assert shape.features == saved[2]
    model = LightGBMForecaster.load(saved[0])
    history = pd.read_parquet(saved[1])
    assert model.predict(history, 1).point.shape == (1,)


def _edit(text: str, pattern: str, replacement: str, count: int = 1) -> str:
    """Edit the model as an attacker would: then recompute ``tree_sizes`` so the file stays
    self-consistent and only the deeper checks can catch the edit."""
    edited = re.sub(pattern, replacement, text, count=count, flags=re.MULTILINE)
    assert edited != text, pattern
    starts = [m.start() for m in re.finditer(r"^Tree=", edited, flags=re.MULTILINE)]
    bounds = [*starts, edited.index("end of trees")]
    sizes = " ".join(str(b - a) for a, b in itertools.pairwise(bounds))
    return re.sub(r"^tree_sizes=.*$", f"tree_sizes={sizes}", edited, count=1, flags=re.MULTILINE)


@pytest.mark.parametrize(("damage", "message"), [
    (lambda t: t[: len(t) // 2], "tree .* cut off"),
    (lambda t: t[:300], "no trees"),
    (lambda t: t[: t.index("end of trees")], "no 'end of trees'"),
    (lambda t: t.replace("tree_sizes=", "tree_sizes=1", 1), "tree_sizes do not match"),
    (lambda t: re.sub(r"tree_sizes=(\d+) ", "tree_sizes=", t, count=1), "tree 0: unexpected line"),
    (lambda t: t.replace("\nTree=1\n", "\nTree=1\nnum_leaves=2\n", 1), "num_leaves appears twice"),
    (lambda t: _edit(t, r"^left_child=\S+", "left_child=99"), "left_child"),
    (lambda t: _edit(t, r"^left_child=(\S+) (\S+)", r"left_child=\1 0"), "reached twice|not a tree"),
    (lambda t: _edit(t, r"^split_feature=\S+", "split_feature=9999"), "split_feature"),
    (lambda t: _edit(t, r"^leaf_value=\S+", "leaf_value=nan"), "finite"),
    (lambda t: _edit(t, r"^leaf_value=\S+", "leaf_value=1e999"), "finite"),
    (lambda t: _edit(t, r"^num_leaves=\d+", "num_leaves=3"), "num_leaves needs"),
    (lambda t: _edit(t, r"^num_leaves=\d+\n", ""), "lacks num_leaves"),
    (lambda t: _edit(t, r"^num_class=1", "num_class=2"), "single-output"),
    (lambda t: _edit(t, r"^num_tree_per_iteration=1", "num_tree_per_iteration=0"), "single-output"),
    (lambda t: _edit(t, r"^objective=\S+", "objective=lambdarank"), "unknown objective"),
    (lambda t: _edit(t, r"^num_cat=0", "num_cat=1"), "categorical"),
    (lambda t: _edit(t, r"^decision_type=\d+", "decision_type=1"), "categorical"),
    (lambda t: _edit(t, r"^max_feature_idx=\d+", "max_feature_idx=3"), "feature_names"),
    (lambda t: _edit(t, r"^\[boosting: gbdt\]", "[boosting gbdt]"), "parameter line"),
    (lambda t: _edit(t, r"^pandas_categorical:null", "pandas_categorical:[[[1]]]"), "pandas"),
    (lambda t: t.replace("\n", "\r\n"), "not printable ASCII"),
    (lambda t: t[:100] + "\x00" + t[101:], "0x00"),
    (lambda t: "", "no trees"),
])
def test_structural_damage_is_one_clear_line(text: str, damage, message: str) -> None:
    with pytest.raises(ModelError, match=message) as caught:
        validate_lgbm_text(damage(text), where=BOOSTER)
    error = str(caught.value)
    assert "\n" not in error and error.startswith(f"{BOOSTER} is not a valid LightGBM model")


def test_the_feature_count_must_match_the_configuration(saved: tuple[Path, Path, int], text: str) -> None:
    with pytest.raises(ModelError, match=rf"takes {saved[2]} features; its configuration builds 5"):
        validate_lgbm_text(text, n_features=5)


def test_booster_names_from_model_json_are_checked() -> None:
    assert check_booster_keys(["q10_h1", "point_h1"], ["point", "q10"], 1) == ["point_h1", "q10_h1"]
    for keys in (["../../../etc/passwd"], ["point_h1/../x"], [3], "point_h1", ["point_h0"]):
        with pytest.raises(ModelError, match="booster"):
            check_booster_keys(keys, ["point"], 1)
    with pytest.raises(ModelError, match="missing point_h2"):
        check_booster_keys(["point_h1"], ["point"], 2)  # predict would KeyError at step 2


# The mutate -> validate -> load -> predict loop, run in a child process (argv: model folder,
# history parquet, seed, number of cut positions (0: every byte), number of byte edits).
_FUZZ = r'''
import json, random, re, sys
from pathlib import Path
import pandas as pd
from cryptodesk.errors import ModelError
from cryptodesk.models.lgbm import LightGBMForecaster

folder, history = Path(sys.argv[1]), pd.read_parquet(sys.argv[2])
history.attrs.update({"source": "demo", "symbol": "DEMO/USD", "timeframe": "1d"})
seed, n_cut, n_edit = (int(a) for a in sys.argv[3:6])
target = folder / "lgb_point_h1.txt"
original = target.read_bytes()
rng = random.Random(seed)
size = len(original)
marks = [m.start() for m in re.finditer(rb"Tree=|end of trees|\n\n|parameters:", original)]
near = {p + d for p in marks for d in (-2, -1, 0, 1, 2, 6) if 0 <= p + d < size}
cuts = range(size) if n_cut == 0 else sorted(set(rng.sample(range(size), min(n_cut, size))) | near)
numbers = [m.span() for m in re.finditer(rb"-?\d+(\.\d+)?(e-?\d+)?", original)]
swaps = [b"0", b"-1", b"7", b"99999", b"1e400", b"nan", b"inf", b"-", b"", b" ", b"1 2", b"x"]

def edit(data):
    data = bytearray(data)
    kind = rng.randrange(7)
    i = rng.randrange(len(data))
    if kind == 0:
        data[i] = rng.randrange(256)
    elif kind == 1:
        start, end = rng.choice(numbers)
        data[start:end] = rng.choice(swaps)
    elif kind == 2:
        digits = [j for j in range(max(0, i - 400), min(len(data), i + 400)) if 48 <= data[j] <= 57]
        if digits:
            data[rng.choice(digits)] = rng.randrange(48, 58)
    elif kind == 3:
        del data[i:i + rng.randrange(1, 40)]
    elif kind == 4:
        data[i:i] = bytes([rng.choice(b"0123456789 -=.\nTree")])
    else:
        lines = bytes(data).split(b"\n")
        a, b = rng.randrange(len(lines)), rng.randrange(len(lines))
        if kind == 5:
            lines.insert(a, lines[b])
        else:
            lines[a], lines[b] = lines[b], lines[a]
        data = bytearray(b"\n".join(lines))
    return bytes(data)

counts = {"cases": 0, "refused": 0, "loaded": 0}
cases = [original[:p] for p in cuts] + [edit(original) for _ in range(n_edit)]
for data in cases:
    target.write_bytes(data)
    counts["cases"] += 1
    try:
        model = LightGBMForecaster.load(folder)
    except ModelError:
        counts["refused"] += 1
        continue
    model.predict(history, 1)  # a model that loads must also predict without crashing
    counts["loaded"] += 1
target.write_bytes(original)
print(json.dumps(counts))
'''


def _run_fuzz(saved: tuple[Path, Path, int], seed: int, cuts: int, edits: int, timeout: float) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", _FUZZ, str(saved[0]), str(saved[1]), str(seed), str(cuts), str(edits)],
        capture_output=True, text=True, timeout=timeout,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr[-3000:]}"
    assert "terminate called" not in proc.stderr
    counts = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"lgbm payload fuzz: {counts}")
    assert counts["refused"] + counts["loaded"] == counts["cases"]
    assert counts["refused"] > 0 and counts["loaded"] > 0  # both paths were exercised
    return counts


def test_fuzz_truncations_and_byte_edits_never_abort(saved: tuple[Path, Path, int]) -> None:
    counts = _run_fuzz(saved, seed=1, cuts=150, edits=300, timeout=300)
    assert counts["cases"] >= 450


@pytest.mark.slow
def test_fuzz_every_truncation_and_many_edits_never_abort(saved: tuple[Path, Path, int]) -> None:
    size = (saved[0] / BOOSTER).stat().st_size
    counts = _run_fuzz(saved, seed=2, cuts=0, edits=5000, timeout=1800)
    assert counts["cases"] == size + 5000


def test_without_validation_lightgbm_itself_aborts(saved: tuple[Path, Path, int], text: str) -> None:
    """The control: the hazard is real, so the tests above would catch a validator that lets a
    truncated model through (LightGBM kills the process; no Python exception)."""
    code = ("import sys, lightgbm\n"
            "lightgbm.Booster(model_str=open(sys.argv[1]).read()[:int(sys.argv[2])])\n")
    proc = subprocess.run([sys.executable, "-c", code, str(saved[0] / BOOSTER),
                           str(len(text) // 3)], capture_output=True, text=True, timeout=120)
    assert proc.returncode not in (0, 1), proc.stderr[-500:]  # killed by a signal, not an exception


def test_cli_forecast_with_a_truncated_booster_is_one_line(
    capsys: pytest.CaptureFixture[str], cryptodesk_home: Path
) -> None:
    """Reproducer 2: truncate a saved booster, fix its sha256 as a shared zip would, forecast."""
    assert main(["data", "demo"]) == 0
    config = json.dumps(LightGBMForecaster.fast_config().to_dict())
    assert main(["train", "--symbol", "DEMO/USD", "--timeframe", "1d", "--model", "lightgbm",
                 "--config", config, "--no-eval", "--name", "gbm"]) == 0
    assert main(["forecast", "--model", "gbm", "--horizon", "1"]) == 0  # healthy before
    capsys.readouterr()
    [info] = ModelLibrary().list()
    booster = info.path / "model" / BOOSTER
    booster.write_bytes(booster.read_bytes()[: booster.stat().st_size // 2])
    rehash_payload(info.path, BOOSTER)
    before = snapshot(cryptodesk_home, skip=cryptodesk_home / "log")
    proc = run_cli("forecast", "--model", "gbm", "--horizon", "1")
    assert_one_line_error(proc, info.id, f"{BOOSTER} is not a valid LightGBM model")
    assert snapshot(cryptodesk_home, skip=cryptodesk_home / "log") == before  # nothing changed
