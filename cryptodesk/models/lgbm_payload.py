"""Structural validation of LightGBM text models before LightGBM parses them.

Why: LightGBM's C++ loader trusts its input. A truncated or edited model file makes it read
past the end of its buffer, or throw from inside an OpenMP region, and the process aborts
(``terminate called without an active exception``, exit 134): there is no Python exception to
catch. A bundle's checksum does not help when the file arrives in a shared zip whose manifest
carries the matching checksum. So every text model is parsed here first, against the rules
LightGBM relies on when it loads *and* when it predicts (child indices, feature indices), and a
damaged file becomes a one-line :class:`~cryptodesk.errors.ModelError`.

Only what CryptoDesk writes is accepted: single-output boosters (one class, one tree per
iteration) of numerical, non-linear trees, as printable ASCII with ``\\n`` line ends, no pandas
categoricals. The layout checked (``Booster.model_to_string()``)::

    tree
    version=v4 / num_class=1 / num_tree_per_iteration=1 / label_index=0 / max_feature_idx=N
    objective=... / feature_names=... / feature_infos=... / tree_sizes=S0 S1 ...
    <blank line>
    Tree=0            <- S0 characters from here to the start of "Tree=1"
    num_leaves=L ...  (one key=value per line, a blank line ends the tree)
    ...
    end of trees
    feature_importances: / parameters: [key: value] ... / end of parameters
    pandas_categorical:null
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptodesk.errors import ModelError
from cryptodesk.safejson import read_file_bounded

MAX_MODEL_BYTES = 256 * 1024**2
MAX_LEAVES = 131_072
MAX_FEATURES = 100_000
MAX_TREES = 1_000_000
MAX_HORIZON_KEYS = 100
HEADS = ("point", "q10", "q90", "up")
OBJECTIVES = frozenset({
    "regression", "regression_l1", "huber", "fair", "poisson", "quantile", "mape", "gamma",
    "tweedie", "binary", "cross_entropy", "cross_entropy_lambda",
})
_HEADER_KEYS = frozenset({
    "version", "num_class", "num_tree_per_iteration", "label_index", "max_feature_idx",
    "objective", "feature_names", "feature_infos", "tree_sizes", "monotone_constraints",
})
_REQUIRED_HEADER = _HEADER_KEYS - {"monotone_constraints"}
_INTERNAL_ARRAYS = ("split_feature", "split_gain", "threshold", "decision_type", "left_child",
                    "right_child", "internal_value", "internal_weight", "internal_count")
_LEAF_ARRAYS = ("leaf_value", "leaf_weight", "leaf_count")
_TREE_KEYS = frozenset({"num_leaves", "num_cat", "is_linear", "shrinkage",
                        *_INTERNAL_ARRAYS, *_LEAF_ARRAYS})
_INT = re.compile(r"-?\d{1,10}")
_FLOAT = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d{1,4})?")
_NOT_PRINTABLE = re.compile(r"[^\x20-\x7e\n]")
_FEATURE_INFO = re.compile(r"none|\[[-+.\deE]{1,40}:[-+.\deE]{1,40}\]|-?\d{1,10}(?::-?\d{1,10})*")
_IMPORTANCE = re.compile(r"[^=\s]{1,256}=\d{1,12}")
_PARAMETER = re.compile(r"\[([a-z0-9_]{1,64}): ([^\[\]{}\"\\]{0,4096})\]")
_OBJECTIVE_ARG = re.compile(r"[a-z_]{1,40}:([-+.\deE]{1,40})")
_BOOSTER_KEY = re.compile(r"([a-z0-9]{1,8})_h([1-9]\d{0,2})")


@dataclass(frozen=True)
class TextModelShape:
    """What a validated text model holds (for callers and tests)."""

    trees: int
    features: int


class _Invalid(Exception):
    """Internal: a structural problem; turned into a ModelError naming the file."""


def read_lgbm_model(path: Path, *, n_features: int | None = None) -> str:
    """Read the LightGBM text model at ``path`` and validate it; returns text that is safe to
    hand to ``lightgbm.Booster(model_str=...)``. ``n_features``: the number of columns the
    model must expect (from its config); None skips that check."""
    try:
        data = read_file_bounded(path, MAX_MODEL_BYTES)
    except OSError as exc:
        raise ModelError(f"cannot read {path.name}: {exc.strerror or exc}") from None
    if len(data) > MAX_MODEL_BYTES:
        raise ModelError(f"{path.name} is larger than {MAX_MODEL_BYTES // 1024**2} MiB; refused")
    text = data.decode("latin-1")  # 1:1 on bytes; the validator refuses anything not ASCII
    validate_lgbm_text(text, n_features=n_features, where=path.name)
    return text


def validate_lgbm_text(
    text: str, *, n_features: int | None = None, where: str = "LightGBM model"
) -> TextModelShape:
    """Check a LightGBM text model's structure; raise :class:`ModelError` naming the problem."""
    try:
        return _validate(text, n_features)
    except _Invalid as exc:
        raise ModelError(f"{where} is not a valid LightGBM model ({exc}); refusing to load it") \
            from None


def check_booster_keys(keys: object, heads: Iterable[str], horizon: int) -> list[str]:
    """The saved booster names (``model.json`` state) as a checked list.

    They name files (``lgb_<key>.txt``), so each must be ``<head>_h<step>``; and predict looks
    up every head for every step up to the fitted horizon, so exactly that set must be present.
    """
    wanted = {f"{head}_h{step}" for head in heads for step in range(1, horizon + 1)}
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise ModelError("model.json: the booster list is malformed")
    for key in keys:
        match = _BOOSTER_KEY.fullmatch(key)
        if not match or match.group(1) not in HEADS or int(match.group(2)) > MAX_HORIZON_KEYS:
            raise ModelError(f"model.json: {key[:40]!r} is not a booster name")
    if set(keys) != wanted or len(keys) != len(wanted):
        missing = sorted(wanted - set(keys))[:3]
        raise ModelError("model.json: the booster list does not match the config and horizon "
                         f"(missing {', '.join(missing) or 'none'}, {len(keys)} listed, "
                         f"{len(wanted)} expected)")
    return sorted(keys)


# --------------------------------------------------------------------------- the checks
def _validate(text: str, n_features: int | None) -> TextModelShape:
    bad = _NOT_PRINTABLE.search(text)
    if bad:
        raise _Invalid(f"byte {ord(bad.group()):#04x} at offset {bad.start():,} is not printable "
                       "ASCII")
    cut = text.find("\nTree=")
    if cut < 0:
        raise _Invalid("no trees (file truncated?)")
    header = _header(text[:cut + 1])
    pos = cut + 1
    for index, size in enumerate(header["tree_sizes"]):
        block = text[pos:pos + size]
        if len(block) != size:
            raise _Invalid(f"tree {index} is cut off (file truncated)")
        try:
            _tree(block, index, header["max_feature_idx"])
        except _Invalid as exc:
            raise _Invalid(f"tree {index}: {exc}") from None
        pos += size
    if not text.startswith("end of trees\n", pos):
        raise _Invalid("no 'end of trees' after the last tree (truncated, or tree_sizes do not "
                       "match the trees)")
    _trailer(text[pos + len("end of trees\n"):])
    features = header["max_feature_idx"] + 1
    if n_features is not None and features != n_features:
        raise _Invalid(f"it takes {features} features; its configuration builds {n_features}")
    return TextModelShape(trees=len(header["tree_sizes"]), features=features)


def _header(text: str) -> dict[str, object]:
    lines = text.split("\n")
    if lines[0] != "tree":
        raise _Invalid("it does not start with 'tree'")
    fields: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        key, sep, value = line.partition("=")
        if not sep or key not in _HEADER_KEYS or ("=" in value and key != "feature_names"):
            raise _Invalid(f"unexpected header line {line[:40]!r}")
        if key in fields:
            raise _Invalid(f"header field {key} appears twice")
        fields[key] = value
    missing = sorted(_REQUIRED_HEADER - set(fields))
    if missing:
        raise _Invalid(f"header lacks {', '.join(missing)}")
    if fields["version"] not in ("v2", "v3", "v4"):
        raise _Invalid(f"unknown version {fields['version'][:20]!r}")
    for key in ("num_class", "num_tree_per_iteration"):
        if _one_int(fields[key], key, 0, 2**31 - 1) != 1:
            raise _Invalid(f"{key} must be 1 (CryptoDesk boosters are single-output)")
    _one_int(fields["label_index"], "label_index", 0, 2**31 - 1)
    max_feature = _one_int(fields["max_feature_idx"], "max_feature_idx", 0, MAX_FEATURES - 1)
    _objective(fields["objective"])
    n = max_feature + 1
    if len(_tokens(fields["feature_names"], "feature_names")) != n:
        raise _Invalid(f"feature_names does not list {n} names")
    infos = _tokens(fields["feature_infos"], "feature_infos")
    if len(infos) != n or not all(_FEATURE_INFO.fullmatch(t) for t in infos):
        raise _Invalid(f"feature_infos does not hold {n} feature ranges")
    if "monotone_constraints" in fields:
        signs = _ints(fields["monotone_constraints"], "monotone_constraints", -1, 1)
        if len(signs) != n:
            raise _Invalid(f"monotone_constraints does not hold {n} values")
    sizes = _ints(fields["tree_sizes"], "tree_sizes", 1, MAX_MODEL_BYTES)
    if not 1 <= len(sizes) <= MAX_TREES:
        raise _Invalid("tree_sizes lists no trees")
    return {"max_feature_idx": max_feature, "tree_sizes": sizes}


def _objective(value: str) -> None:
    name, *args = value.split(" ")
    if name not in OBJECTIVES:
        raise _Invalid(f"unknown objective {name[:30]!r}")
    for arg in args:
        match = _OBJECTIVE_ARG.fullmatch(arg)
        if not match or not _finite(match.group(1)):
            raise _Invalid(f"objective argument {arg[:30]!r} is malformed")


def _tree(block: str, index: int, max_feature: int) -> None:
    lines = block.split("\n")
    if lines[0] != f"Tree={index}":
        raise _Invalid(f"starts with {lines[0][:30]!r}, not 'Tree={index}' (tree_sizes do not "
                       "match the trees)")
    fields: dict[str, str] = {}
    end = 1
    while end < len(lines) and lines[end]:
        key, sep, value = lines[end].partition("=")
        if not sep or key not in _TREE_KEYS:
            raise _Invalid(f"unexpected line {lines[end][:40]!r}")
        if key in fields:
            raise _Invalid(f"{key} appears twice")
        fields[key] = value
        end += 1
    if end >= len(lines) or any(lines[end:]):
        raise _Invalid("no blank line ends it, or text follows it (tree_sizes do not match)")
    missing = sorted(_TREE_KEYS - set(fields))
    if missing:
        raise _Invalid(f"lacks {', '.join(missing)}")
    leaves = _one_int(fields["num_leaves"], "num_leaves", 1, MAX_LEAVES)
    if _one_int(fields["num_cat"], "num_cat", 0, 2**31 - 1) != 0:
        raise _Invalid("categorical splits are not used by CryptoDesk models")
    if _one_int(fields["is_linear"], "is_linear", 0, 1) != 0:
        raise _Invalid("linear trees are not used by CryptoDesk models")
    _floats(fields["shrinkage"], "shrinkage", 1)
    _floats(fields["leaf_value"], "leaf_value", leaves)
    if leaves == 1:  # LightGBM reads nothing else of a one-leaf tree; still well-formed
        for key in _INTERNAL_ARRAYS:
            if fields[key]:
                raise _Invalid(f"{key} must be empty in a one-leaf tree")
        for key in ("leaf_weight", "leaf_count"):
            if len(_floats(fields[key], key, None)) > 1:
                raise _Invalid(f"{key} has more than one value in a one-leaf tree")
        return
    nodes = leaves - 1
    for key in ("split_gain", "threshold", "internal_value", "internal_weight"):
        _floats(fields[key], key, nodes)
    _floats(fields["leaf_weight"], "leaf_weight", leaves)
    _expect(_ints(fields["leaf_count"], "leaf_count", 0, 2**31 - 1), leaves, "leaf_count")
    _expect(_ints(fields["internal_count"], "internal_count", 0, 2**31 - 1), nodes, "internal_count")
    _expect(_ints(fields["split_feature"], "split_feature", 0, max_feature), nodes, "split_feature")
    for decision in _expect(_ints(fields["decision_type"], "decision_type", 0, 15), nodes,
                            "decision_type"):
        if decision & 1 or (decision >> 2) & 3 == 3:
            raise _Invalid(f"decision_type {decision} is categorical or unknown")
    left = _expect(_ints(fields["left_child"], "left_child", -leaves, nodes - 1), nodes, "left_child")
    right = _expect(_ints(fields["right_child"], "right_child", -leaves, nodes - 1), nodes,
                    "right_child")
    _check_structure(left, right, leaves)


def _check_structure(left: list[int], right: list[int], leaves: int) -> None:
    """From the root every internal node and every leaf is reached exactly once: a tree, so
    prediction always ends at a leaf (no cycle, no index out of range)."""
    seen_nodes = [False] * len(left)
    seen_leaves = [False] * leaves
    seen_nodes[0] = True
    stack = [0]
    while stack:
        node = stack.pop()
        for child in (left[node], right[node]):
            if child >= 0:
                if seen_nodes[child]:
                    raise _Invalid(f"node {child} is reached twice (not a tree)")
                seen_nodes[child] = True
                stack.append(child)
            else:
                if seen_leaves[~child]:
                    raise _Invalid(f"leaf {~child} is reached twice (not a tree)")
                seen_leaves[~child] = True
    if not all(seen_nodes) or not all(seen_leaves):
        raise _Invalid("some nodes or leaves are unreachable (not a tree)")


def _trailer(text: str) -> None:
    """After 'end of trees': importances, parameters, the pandas line, blank lines; nothing else
    (LightGBM turns the parameters into JSON, Python parses the last line as JSON)."""
    section = "start"
    for line in text.split("\n"):
        if section == "parameters":
            if line == "end of parameters":
                section = "after"
                continue
            if not line:
                continue
            match = _PARAMETER.fullmatch(line)
            if not match:
                raise _Invalid(f"unexpected parameter line {line[:40]!r}")
            if match.group(1) == "linear_tree" and match.group(2) not in ("0", "false"):
                raise _Invalid("linear trees are not used by CryptoDesk models")
        elif section == "done":
            if line:
                raise _Invalid(f"text after the pandas line: {line[:40]!r}")
        elif not line:
            continue
        elif line == "feature_importances:" and section == "start":
            section = "importances"
        elif line == "parameters:" and section in ("start", "importances"):
            section = "parameters"
        elif line.startswith("pandas_categorical:"):
            if line != "pandas_categorical:null":
                raise _Invalid("pandas categoricals are not used by CryptoDesk models")
            section = "done"
        elif section == "importances" and _IMPORTANCE.fullmatch(line):
            continue
        else:
            raise _Invalid(f"unexpected line after the trees: {line[:40]!r}")
    if section == "parameters":
        raise _Invalid("the parameters section never ends (file truncated?)")


# --------------------------------------------------------------------------- tokens
def _tokens(value: str, key: str) -> list[str]:
    if not value:
        return []
    tokens = value.split(" ")
    if not all(tokens):
        raise _Invalid(f"{key} has an empty value (double or trailing space)")
    return tokens


def _ints(value: str, key: str, low: int, high: int) -> list[int]:
    out = []
    for token in _tokens(value, key):
        if not _INT.fullmatch(token) or not low <= int(token) <= high:
            raise _Invalid(f"{key} value {token[:20]!r} is not a whole number from {low} to {high}")
        out.append(int(token))
    return out


def _one_int(value: str, key: str, low: int, high: int) -> int:
    values = _ints(value, key, low, high)
    if len(values) != 1:
        raise _Invalid(f"{key} must be one whole number")
    return values[0]


def _floats(value: str, key: str, count: int | None) -> list[float]:
    tokens = _tokens(value, key)
    for token in tokens:
        if not _FLOAT.fullmatch(token) or not _finite(token):
            raise _Invalid(f"{key} value {token[:20]!r} is not a finite number")
    if count is not None:
        _expect(tokens, count, key)
    return [float(t) for t in tokens]


def _expect(values: list, count: int, key: str) -> list:
    if len(values) != count:
        raise _Invalid(f"{key} has {len(values)} values, num_leaves needs {count}")
    return values


def _finite(token: str) -> bool:
    try:
        return math.isfinite(float(token))
    except ValueError:
        return False
