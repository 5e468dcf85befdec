"""Offline text scorers: one small interface, three implementations.

Every scorer maps a batch of texts to polarity scores in [-1, 1] (negative .. positive, 0 for
neutral or unknown) and describes itself with :meth:`Scorer.identity`, a JSON-able dict that is
stored with the scores: a dataset scored by one scorer is never silently mixed with another's.

- :class:`LexiconScorer` (``"lexicon"``, the default): VADER's lexicon plus our crypto lexicon
  with a simplified VADER rule set (negation, boosters, "but", caps emphasis, exclamation and
  question marks, emoji, multi-word phrases), normalised like VADER's compound score
  ``x / sqrt(x² + 15)``. It is vectorised with pyarrow string kernels and numpy: tokenising,
  lower-casing and lexicon look-ups run in C over all tokens of a batch at once, and each rule
  is an array operation over token neighbours: about 100,000 post-length texts per second on
  the shared 2-core machine, against about 10,000 for pure-Python VADER (``bench/sentiment.py``).
  It agrees with VADER's sign on plain English (tested) and adds phrases, crypto words and
  clause-bounded negation ("not now. good times" is positive).
- :class:`VaderScorer` (``"vader"``): the exact VADER ``SentimentIntensityAnalyzer`` compound
  score (optionally with our crypto words added to its lexicon). Slower; for users who want the
  published reference behaviour.
- :class:`TransformerScorer` (``"transformer"``): a FinBERT-style sequence classifier from a
  local folder the user provides, run with ``transformers`` if installed. Score = P(positive) -
  P(negative). :func:`load_transformer_scorer` returns ``None`` with a reason when the package
  or the folder is missing: the absence of a model is never an error for the app.

The rule constants (boost 0.293, caps 0.733, negation -0.74, "but" 0.5/1.5, exclamation 0.292,
question 0.18, normalisation alpha 15) are the empirically derived values published with VADER
(Hutto & Gilbert, ICWSM 2014), so our scores sit on VADER's scale and thresholds (±0.05).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from cryptodesk.sentiment.errors import SentimentError
from cryptodesk.sentiment.lexicon import Lexicon, load_lexicon

# VADER's published constants (see module docstring).
BOOST = 0.293
CAPS_BOOST = 0.733
NEGATION_SCALAR = -0.74
BUT_BEFORE, BUT_AFTER = 0.5, 1.5
EXCLAMATION_BOOST, MAX_EXCLAMATIONS = 0.292, 4
QUESTION_BOOST, MAX_QUESTIONS_SMALL, QUESTION_CAP = 0.18, 3, 0.96
ALPHA = 15.0
# Distance weights of a booster 1, 2, 3 tokens before the word (as in VADER).
NEIGHBOUR_SCALE = (1.0, 0.95, 0.9)
NEVER_SO = 1.25  # "never so good": VADER's intensifying exception to negation
NEGATIVE_THRESHOLD = -0.05  # VADER's convention for "negative"

# Our own short lists of English intensifiers, dampeners and negators.
BOOSTERS_UP = (
    "absolutely", "amazingly", "awfully", "completely", "considerably", "decidedly", "deeply",
    "enormously", "entirely", "especially", "exceptionally", "extremely", "fabulously",
    "greatly", "highly", "hugely", "incredibly", "intensely", "majorly", "more", "most",
    "particularly", "purely", "quite", "really", "remarkably", "so", "substantially",
    "thoroughly", "totally", "tremendously", "uber", "unbelievably", "unusually", "utterly",
    "very", "super", "insanely", "mega", "hella", "massively", "fr", "af", "wildly",
)
BOOSTERS_DOWN = (
    "almost", "barely", "hardly", "kinda", "kindof", "less", "little", "marginally",
    "occasionally", "partly", "scarcely", "slightly", "somewhat", "sorta", "sortof", "bit",
)
NEGATIONS = (
    "not", "never", "none", "nobody", "nothing", "nowhere", "neither", "nor", "cannot",
    "aint", "arent", "cant", "couldnt", "didnt", "doesnt", "dont", "hadnt", "hasnt", "havent",
    "isnt", "mightnt", "mustnt", "neednt", "shouldnt", "wasnt", "werent", "wont", "wouldnt",
    "without", "nope", "nah",
)
_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~…“”‘’«»"
# Emoji and pictographs get spaces around them so "moon🚀🚀" gives three tokens (RE2 syntax).
_EMOJI_PATTERN = (
    r"([\x{1F000}-\x{1FAFF}\x{2600}-\x{27BF}\x{2B00}-\x{2BFF}\x{2190}-\x{21FF}"
    r"\x{2300}-\x{23FF}\x{3297}\x{3299}\x{203C}\x{2049}])"
)
DEFAULT_CHUNK = 65_536
CLAUSE_END = (",", ".", ";", ":", "!", "?")


@runtime_checkable
class Scorer(Protocol):
    """What every scorer offers."""

    name: str

    def score(self, texts: Sequence[str | None]) -> np.ndarray:
        """float64 scores in [-1, 1], one per text; missing or empty texts score 0."""
        ...

    def identity(self) -> dict[str, object]:
        """JSON-able description (kind, versions, lexicon hashes) stored with the scores."""
        ...


@dataclass(frozen=True)
class ScorerInfo:
    """One entry of :func:`available_scorers`: can it run here, and if not, why not."""

    name: str
    available: bool
    description: str
    reason: str = ""


# ============================================================================ fast lexicon
class LexiconScorer:
    """VADER-like lexicon-and-rules scorer, vectorised over a batch (see module docstring)."""

    name = "lexicon"
    version = 1  # bump when a rule changes: part of identity(), stored with the scores

    def __init__(self, lexicon: Lexicon | None = None, *, chunk_size: int = DEFAULT_CHUNK) -> None:
        import pyarrow as pa

        self.lexicon = lexicon if lexicon is not None else load_lexicon()
        self.chunk_size = max(1, int(chunk_size))
        words = self.lexicon.words
        boosters = {w: BOOST for w in BOOSTERS_UP} | {w: -BOOST for w in BOOSTERS_DOWN}
        phrases = self.lexicon.phrases
        # One vocabulary for every word-level role, so each token is hashed once: its id then
        # indexes numpy tables of valence, booster value and flags. The last id means "unknown".
        vocab = list(dict.fromkeys(
            [*words, *boosters, *NEGATIONS, "no", "but", "so", "this", *(p[0] for p in phrases)]
        ))
        self._vocab = pa.array(vocab, pa.large_string())
        size = len(vocab) + 1
        self._valence = np.zeros(size)
        self._booster = np.zeros(size)
        self._negation = np.zeros(size, dtype=bool)
        self._phrase_start = np.zeros(size, dtype=bool)
        for i, word in enumerate(vocab):
            self._valence[i] = words.get(word, 0.0)
            self._booster[i] = boosters.get(word, 0.0)
        position = {w: i for i, w in enumerate(vocab)}
        self._negation[[position[w] for w in NEGATIONS]] = True
        self._phrase_start[[position[p[0]] for p in phrases]] = True
        self._no_id, self._but_id = position["no"], position["but"]
        self._never_id = position["never"]
        self._so_this = np.zeros(size, dtype=bool)
        self._so_this[[position["so"], position["this"]]] = True
        # Emoticons (":)", "<3", ":-(") keep their punctuation, so they are looked up raw.
        emoticons = [w for w in words if w.strip(_PUNCTUATION) != w]
        self._emoticons = pa.array(emoticons, pa.large_string())
        self._emoticon_values = np.array([words[w] for w in emoticons] + [0.0])
        self._phrase_lengths = sorted({len(p) for p in phrases}, reverse=True)
        self._phrase_keys = pa.array([" ".join(p) for p in phrases], pa.large_string())
        self._phrase_values = np.array([*phrases.values(), 0.0])
        self._clause_end = pa.array(CLAUSE_END, pa.large_string())

    @property
    def notes(self) -> list[str]:
        """Caveats about this installation (e.g. VADER's lexicon missing)."""
        return list(self.lexicon.notes)

    def identity(self) -> dict[str, object]:
        return {"scorer": self.name, "version": self.version, "lexicon": self.lexicon.identity}

    def score(self, texts: Sequence[str | None]) -> np.ndarray:
        n = len(texts)
        out = np.zeros(n, dtype=np.float64)
        for start in range(0, n, self.chunk_size):
            chunk = texts[start:start + self.chunk_size]
            out[start:start + len(chunk)] = self._score_chunk(list(chunk))
        return out

    def score_one(self, text: str) -> float:
        """Convenience for one text (the CLI's ``--text``, tests)."""
        return float(self.score([text])[0])

    # ------------------------------------------------------------------ the vectorised rules
    def _score_chunk(self, texts: list[str | None]) -> np.ndarray:
        import pyarrow as pa
        import pyarrow.compute as pc

        n = len(texts)
        try:
            arr = pa.array(texts, pa.large_string(), from_pandas=True)  # no 2 GiB limit per chunk
        except (UnicodeEncodeError, pa.ArrowException):
            arr = pa.array([_clean(t) for t in texts], pa.large_string(), from_pandas=True)
        arr = pc.replace_substring(arr, "\ufe0f", "")
        arr = pc.replace_substring(arr, "\u2019", "'")  # typographic apostrophe: don’t -> don't
        exclaim = _filled(pc.count_substring(arr, "!"))
        question = _filled(pc.count_substring(arr, "?"))
        if not pc.all(pc.string_is_ascii(arr)).as_py():
            arr = pc.replace_substring_regex(arr, pattern=_EMOJI_PATTERN, replacement=r" \1 ")
        lists = pc.utf8_split_whitespace(arr)
        raw = pc.list_flatten(lists)
        m = len(raw)
        if m == 0:
            return np.zeros(n)
        parent = np.asarray(pc.list_parent_indices(lists), dtype=np.int64)
        stripped = pc.utf8_trim(raw, characters=_PUNCTUATION)
        lower = pc.utf8_lower(stripped)
        unknown = len(self._valence) - 1
        ids = _index(pc.index_in(lower, value_set=self._vocab), unknown)
        valence = self._valence[ids]
        raw_len = _filled(pc.binary_length(raw))
        punctuated = np.flatnonzero(_filled(pc.binary_length(stripped)) < raw_len)
        if punctuated.size and len(self._emoticons):
            candidates = pc.utf8_lower(raw.take(pa.array(punctuated)))
            emo = _index(pc.index_in(candidates, value_set=self._emoticons), len(self._emoticons))
            found = emo < len(self._emoticons)
            valence[punctuated[found]] = self._emoticon_values[emo[found]]
        self._apply_phrases(lower, ids, parent, valence)

        # Caps emphasis only counts when the text mixes all-caps and other words (VADER).
        upper = _mask(pc.utf8_is_upper(stripped))
        n_upper = np.bincount(parent, weights=upper, minlength=n)
        n_tokens = np.bincount(parent, minlength=n)
        emph = upper & ((n_upper > 0) & (n_upper < n_tokens))[parent]
        has = valence != 0.0
        valence = valence + np.where(emph & has, np.sign(valence) * CAPS_BOOST, 0.0)

        # "no" directly before a sentiment word negates it (only that word) and carries no
        # valence of its own, as in VADER.
        is_no = ids == self._no_id
        nxt_has = np.zeros(m, dtype=bool)
        nxt_has[:-1] = has[1:] & (parent[1:] == parent[:-1])
        valence[is_no & nxt_has] = 0.0
        has = valence != 0.0
        sign = np.sign(valence)
        booster = self._booster[ids]
        negator = self._negation[ids] | _mask(pc.ends_with(lower, "n't"))

        # Negation and boosters act within a clause: they never reach across , . ; : ! ?
        # (a token whose raw form ends in one of those closes the clause).
        clause_end = np.zeros(m, dtype=bool)
        if punctuated.size:
            last = pc.utf8_slice_codeunits(raw.take(pa.array(punctuated)), -1)
            clause_end[punctuated] = _mask(pc.is_in(last, value_set=self._clause_end))
        clause = np.concatenate(([0], np.cumsum(clause_end[:-1])))
        boost_total = np.zeros(m)
        flips = np.zeros(m, dtype=np.int64)
        # "never so/this <word>" intensifies instead of negating ("never been this happy").
        never_so = np.zeros(m, dtype=np.int64)
        is_never = ids == self._never_id
        so_this = self._so_this[ids]
        for d, scale in enumerate(NEIGHBOUR_SCALE, start=1):
            if m <= d:
                break
            same = (parent[d:] == parent[:-d]) & (clause[d:] == clause[:-d])
            b = booster[:-d]
            b = b + np.where(emph[:-d] & (b != 0.0), np.sign(b) * CAPS_BOOST, 0.0)
            boost_total[d:] += np.where(same, b * scale, 0.0)
            neg = negator[:-d] | is_no[:-d] if d == 1 else negator[:-d]
            if d >= 2:
                between = np.zeros(m - d, dtype=bool)
                for k in range(1, d):
                    between |= so_this[d - k: m - k]
                intensify = same & is_never[:-d] & between
                never_so[d:] += intensify
                neg = neg & ~intensify
            flips[d:] += same & neg
        valence = valence + np.where(has, sign * boost_total, 0.0)
        valence = valence * np.where(has, NEGATION_SCALAR ** flips * NEVER_SO ** never_so, 1.0)

        # "but": what follows it weighs more than what precedes it.
        but_at = np.flatnonzero(ids == self._but_id)
        if but_at.size:
            first_but = np.full(n, -1, dtype=np.int64)
            texts_with, first = np.unique(parent[but_at], return_index=True)
            first_but[texts_with] = but_at[first]
            pos = np.arange(m)
            fb = first_but[parent]
            factor = np.where(pos < fb, BUT_BEFORE, np.where(pos > fb, BUT_AFTER, 1.0))
            valence = valence * np.where(fb < 0, 1.0, factor)

        total = np.bincount(parent, weights=valence, minlength=n)
        emphasis = np.minimum(exclaim, MAX_EXCLAMATIONS) * EXCLAMATION_BOOST
        emphasis += np.where(
            question > 1,
            np.where(question <= MAX_QUESTIONS_SMALL, question * QUESTION_BOOST, QUESTION_CAP),
            0.0,
        )
        total = total + np.sign(total) * emphasis
        return np.clip(total / np.sqrt(total * total + ALPHA), -1.0, 1.0)

    def _apply_phrases(
        self, lower: object, ids: np.ndarray, parent: np.ndarray, valence: np.ndarray
    ) -> None:
        """Multi-word phrases ("rug pull", "to the moon"), longest first, in place.

        The phrase valence goes on its first token and its other tokens are silenced, so "rug"
        is not counted twice. Only tokens that can start a phrase are joined and looked up,
        which keeps this cheap.
        """
        import pyarrow as pa
        import pyarrow.compute as pc

        m = len(ids)
        starts_all = np.flatnonzero(self._phrase_start[ids])
        consumed = np.zeros(m, dtype=bool)
        for length in self._phrase_lengths:
            starts = starts_all[starts_all <= m - length]
            if not starts.size:
                continue
            starts = starts[parent[starts] == parent[starts + length - 1]]
            for k in range(length):
                starts = starts[~consumed[starts + k]]
            if not starts.size:
                continue
            joined = lower.take(pa.array(starts))
            space = pa.scalar(" ", pa.large_string())
            for k in range(1, length):
                joined = pc.binary_join_element_wise(joined, lower.take(pa.array(starts + k)), space)
            pidx = _index(pc.index_in(joined, value_set=self._phrase_keys), len(self._phrase_values) - 1)
            hit = pidx < len(self._phrase_values) - 1
            at = starts[hit]
            valence[at] = self._phrase_values[pidx[hit]]
            for k in range(length):
                consumed[at + k] = True
                if k:
                    valence[at + k] = 0.0


def _clean(text: object) -> str | None:
    """A text pyarrow can hold: lone surrogates (from JSON escapes) replaced, non-strings as str."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return None
    value = text if isinstance(text, str) else str(text)
    return value.encode("utf-8", "replace").decode("utf-8")


def _filled(array: object) -> np.ndarray:
    """A numeric pyarrow array (nulls -> 0) as a float64 numpy array."""
    import pyarrow.compute as pc

    return np.asarray(pc.fill_null(array, 0).to_numpy(zero_copy_only=False), dtype=np.float64)


def _mask(array: object) -> np.ndarray:
    """A boolean pyarrow array (nulls -> False) as a numpy bool array."""
    import pyarrow.compute as pc

    return np.asarray(pc.fill_null(array, False).to_numpy(zero_copy_only=False), dtype=bool)


def _index(array: object, missing: int) -> np.ndarray:
    """index_in result with nulls (not found) mapped to ``missing`` (a trailing 0-valence slot)."""
    import pyarrow.compute as pc

    return np.asarray(pc.fill_null(array, missing).to_numpy(zero_copy_only=False), dtype=np.int64)


# ============================================================================ exact VADER
class VaderScorer:
    """VADER's own compound score (pure Python; exact reference behaviour, slower)."""

    name = "vader"

    def __init__(self, *, crypto_words: bool = True) -> None:
        try:
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
        except ImportError:
            raise SentimentError(
                "the 'vader' scorer needs the vaderSentiment package (pip install vaderSentiment); "
                "the default 'lexicon' scorer works without it"
            ) from None
        self._analyzer = SentimentIntensityAnalyzer()
        self.crypto_words = crypto_words
        from cryptodesk.sentiment.lexicon import crypto_lexicon_text, parse_lexicon_tsv

        lex = load_lexicon()
        self._identity = {"scorer": self.name, "crypto_words": crypto_words, "lexicon": lex.identity}
        if crypto_words:
            # VADER replaces emoji by their descriptions before look-up and has no phrases, so
            # only our single plain words can join its lexicon.
            crypto = parse_lexicon_tsv(crypto_lexicon_text())
            self._analyzer.lexicon.update(
                {w: v for w, v in crypto.items() if w.isascii() and w.isalpha()}
            )

    def identity(self) -> dict[str, object]:
        return dict(self._identity)

    def score(self, texts: Sequence[str | None]) -> np.ndarray:
        polarity = self._analyzer.polarity_scores
        return np.array(
            [polarity(t)["compound"] if t else 0.0 for t in texts], dtype=np.float64
        )


# ============================================================================ local transformer
POSITIVE_LABELS = ("positive", "pos", "bullish", "label_2")
NEGATIVE_LABELS = ("negative", "neg", "bearish", "label_0")


class TransformerScorer:
    """A local sequence-classification model (FinBERT-style): score = P(pos) - P(neg).

    Built by :func:`load_transformer_scorer`; runs on CPU in batches. Labels are matched by
    name (positive/negative/bullish/bearish), so 3-class and 2-class models both work.
    """

    name = "transformer"

    def __init__(self, pipeline: object, path: Path, *, batch_size: int = 32) -> None:
        self._pipeline = pipeline
        self.path = Path(path)
        self.batch_size = batch_size

    def identity(self) -> dict[str, object]:
        return {"scorer": self.name, "model_path": str(self.path)}

    def score(self, texts: Sequence[str | None]) -> np.ndarray:
        out = np.zeros(len(texts), dtype=np.float64)
        todo = [(i, t) for i, t in enumerate(texts) if t]
        for start in range(0, len(todo), self.batch_size):
            batch = todo[start:start + self.batch_size]
            results = self._pipeline([t for _, t in batch], top_k=None, truncation=True,
                                     batch_size=self.batch_size)
            for (i, _), labels in zip(batch, results, strict=True):
                out[i] = _polarity_from_labels(labels)
        return np.clip(out, -1.0, 1.0)


def _polarity_from_labels(labels: object) -> float:
    """P(positive) - P(negative) from a pipeline's ``[{label, score}, ...]``."""
    if isinstance(labels, dict):
        labels = [labels]
    pos = neg = 0.0
    for item in labels:  # type: ignore[union-attr]
        label = str(item["label"]).strip().lower()
        if label in POSITIVE_LABELS:
            pos += float(item["score"])
        elif label in NEGATIVE_LABELS:
            neg += float(item["score"])
    return pos - neg


def load_transformer_scorer(path: str | Path | None) -> tuple[TransformerScorer | None, str]:
    """Load a local classifier folder; ``(None, reason)`` when it cannot be used here.

    Never downloads anything: the folder must hold the model (``config.json`` and weights) and
    its tokenizer, e.g. a FinBERT checkpoint the user saved with ``save_pretrained``.
    """
    if path is None:
        return None, "no local transformer model configured (pass the model folder)"
    folder = Path(path).expanduser()
    if not (folder / "config.json").is_file():
        return None, f"{folder} is not a model folder (no config.json)"
    try:
        import transformers
    except ImportError:
        return None, "the transformers package is not installed (pip install transformers)"
    try:
        pipe = transformers.pipeline(
            "text-classification", model=str(folder), tokenizer=str(folder), device=-1,
            model_kwargs={"local_files_only": True},
        )
    except Exception as exc:  # a broken folder is the user's data: explain, don't crash
        return None, f"could not load the model in {folder}: {exc}"
    return TransformerScorer(pipe, folder), ""


# ============================================================================ registry
def available_scorers(model_path: str | Path | None = None) -> list[ScorerInfo]:
    """Which scorers can run on this installation, with the reason when one cannot."""
    import importlib.util

    infos = [ScorerInfo("lexicon", True, "fast VADER-style lexicon + crypto vocabulary (default)")]
    vader = importlib.util.find_spec("vaderSentiment") is not None
    infos.append(ScorerInfo(
        "vader", vader, "exact VADER compound score (slower)",
        "" if vader else "vaderSentiment is not installed",
    ))
    reason = ""
    if model_path is None:
        reason = "no local model folder given"
    elif importlib.util.find_spec("transformers") is None:
        reason = "the transformers package is not installed"
    elif not (Path(model_path).expanduser() / "config.json").is_file():
        reason = f"{model_path} is not a model folder (no config.json)"
    infos.append(ScorerInfo("transformer", not reason, "local FinBERT-style classifier", reason))
    return infos


def get_scorer(name: str = "lexicon", *, model_path: str | Path | None = None) -> Scorer:
    """The scorer called ``name``; a clear :class:`SentimentError` when it cannot run here."""
    key = name.strip().lower()
    if key in ("lexicon", "fast", "default"):
        return LexiconScorer()
    if key == "vader":
        return VaderScorer()
    if key in ("transformer", "finbert"):
        scorer, reason = load_transformer_scorer(model_path)
        if scorer is None:
            raise SentimentError(f"transformer scorer unavailable: {reason}")
        return scorer
    raise SentimentError(f"unknown scorer {name!r}; choose lexicon, vader or transformer")


def compound(total: float) -> float:
    """VADER's normalisation of a summed valence into [-1, 1] (exposed for tests/docs)."""
    return max(-1.0, min(1.0, total / math.sqrt(total * total + ALPHA)))
